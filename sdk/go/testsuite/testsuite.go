// Package testsuite unit-tests polyworker workflows the way Temporal's Go
// SDK's testsuite does: mock activities with OnActivity(...).Return(...),
// run with ExecuteWorkflow, then check IsWorkflowCompleted,
// GetWorkflowError and GetWorkflowResult. What runs is the built component
// (the artifact that will be deployed) in polyworker's real sandbox, on
// Temporal's time-skipping test server; each run's history is replayed
// against it, so a test also checks determinism.
//
// The environment is a child process, polyworker-test (found through
// $POLYWORKER_TEST_BIN, the PATH, or target/debug above the working
// directory), speaking JSON lines over stdin and stdout; it stops with the
// test (t.Cleanup), or when the test process ends.
package testsuite

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// WorkflowTestSuite makes test environments, as in Temporal's Go SDK.
type WorkflowTestSuite struct{}

// ApplicationError is what a mock returns to fail an attempt (retried
// unless NonRetryable), as temporal.NewApplicationError builds one.
type ApplicationError struct {
	Message      string
	Type         string
	NonRetryable bool
}

func (e *ApplicationError) Error() string { return e.Message }

// NewApplicationError is a retryable failure of type errType.
func NewApplicationError(message, errType string) error {
	return &ApplicationError{Message: message, Type: errType}
}

// NewNonRetryableApplicationError is a failure no retry follows.
func NewNonRetryableApplicationError(message, errType string) error {
	return &ApplicationError{Message: message, Type: errType, NonRetryable: true}
}

// ErrHang, returned by a mock, makes the attempt never complete: its
// timeout fires (in skipped time).
var ErrHang = errors.New("polyworker testsuite: hang")

// Failure is a failure as the server recorded it, with its cause chain.
type Failure struct {
	Message      string   `json:"message"`
	Type         string   `json:"type,omitempty"`
	NonRetryable bool     `json:"non_retryable,omitempty"`
	TimeoutType  string   `json:"timeout_type,omitempty"`
	ActivityType string   `json:"activity_type,omitempty"`
	Cause        *Failure `json:"cause,omitempty"`
}

func (f *Failure) Error() string {
	if f.Cause != nil {
		return f.Message + ": " + f.Cause.Error()
	}
	return f.Message
}

// ErrNondeterministic is wrapped by GetWorkflowError when the run's
// history does not replay against the component.
var ErrNondeterministic = errors.New("the workflow does not replay its own history")

// Call is one activity attempt the run caused.
type Call struct {
	ActivityType string            `json:"activity_type"`
	Input        []json.RawMessage `json:"input"`
	Attempt      int               `json:"attempt"`
	ActivityID   string            `json:"activity_id"`
	// The last heartbeat details of an earlier attempt, each as JSON.
	HeartbeatDetails []json.RawMessage `json:"heartbeat_details"`
}

// TestWorkflowEnvironment is one component under test.
type TestWorkflowEnvironment struct {
	t       testing.TB
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	mu      sync.Mutex
	mocks   map[string][]*MockCall
	replies map[int]chan reply
	nextID  int
	// Callbacks for the next run, and its workflow id while it runs.
	callbacks  []delayed
	workflowID string
	// The last run.
	done   bool
	result json.RawMessage
	err    error
	calls  []Call
}

type reply struct {
	OK    json.RawMessage `json:"ok"`
	Error *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

func binary() (string, error) {
	if p := os.Getenv("POLYWORKER_TEST_BIN"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("polyworker-test"); err == nil {
		return p, nil
	}
	dir, _ := os.Getwd()
	for {
		candidate := filepath.Join(dir, "target", "debug", "polyworker-test")
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("polyworker-test was not found: set POLYWORKER_TEST_BIN or build it (cargo build -p polyworker-testing)")
		}
		dir = parent
	}
}

// NewTestWorkflowEnvironment serves the built component at component; it
// stops when t's test ends.
func (s *WorkflowTestSuite) NewTestWorkflowEnvironment(t testing.TB, component string) *TestWorkflowEnvironment {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	env := &TestWorkflowEnvironment{t: t, cmd: cmd, stdin: stdin, mocks: map[string][]*MockCall{}, replies: map[int]chan reply{}}
	go env.read(stdout)
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	abs, _ := filepath.Abs(component)
	if _, err := env.request(map[string]any{"start": map[string]any{"component": abs}}); err != nil {
		t.Fatal(err)
	}
	return env
}

func (e *TestWorkflowEnvironment) send(v any) {
	line, _ := json.Marshal(v)
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.stdin.Write(append(line, '\n'))
}

func (e *TestWorkflowEnvironment) request(req map[string]any) (json.RawMessage, error) {
	e.mu.Lock()
	e.nextID++
	id := e.nextID
	ch := make(chan reply, 1)
	e.replies[id] = ch
	e.mu.Unlock()
	req["id"] = id
	e.send(req)
	r := <-ch
	if r.Error != nil {
		if r.Error.Kind == "nondeterministic" {
			return nil, fmt.Errorf("%w: %s", ErrNondeterministic, r.Error.Message)
		}
		return nil, errors.New(r.Error.Message)
	}
	return r.OK, nil
}

func (e *TestWorkflowEnvironment) read(stdout io.Reader) {
	scanner := bufio.NewScanner(stdout)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	for scanner.Scan() {
		var msg struct {
			ID       *int             `json:"id"`
			Activity *json.RawMessage `json:"activity"`
		}
		line := scanner.Bytes()
		if json.Unmarshal(line, &msg) != nil {
			continue
		}
		if msg.Activity != nil {
			var call struct {
				Call
				ID uint64 `json:"call"`
			}
			_ = json.Unmarshal(*msg.Activity, &call)
			go e.send(map[string]any{"answer": e.answer(call.ID, call.Call)})
			continue
		}
		if msg.ID != nil {
			var r reply
			_ = json.Unmarshal(line, &r)
			e.mu.Lock()
			ch := e.replies[*msg.ID]
			delete(e.replies, *msg.ID)
			e.mu.Unlock()
			if ch != nil {
				ch <- r
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, ch := range e.replies {
		msg := "polyworker-test exited"
		ch <- reply{Error: &struct {
			Kind    string `json:"kind"`
			Message string `json:"message"`
		}{"environment", msg}}
		delete(e.replies, id)
	}
}

// ExecuteWorkflow runs workflowType with args to its end, in skipped time.
func (e *TestWorkflowEnvironment) ExecuteWorkflow(workflowType string, args ...any) {
	if args == nil {
		args = []any{}
	}
	e.done, e.result, e.err, e.calls = false, nil, nil, nil
	started, err := e.request(map[string]any{"start_workflow": map[string]any{"workflow": workflowType, "args": args}})
	if err != nil {
		e.err = err
		return
	}
	var ids struct {
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
	}
	_ = json.Unmarshal(started, &ids)
	e.workflowID = ids.WorkflowID
	if err := e.runCallbacks(); err != nil {
		e.err = err
		return
	}
	ok, err := e.request(map[string]any{"result": map[string]any{"workflow_id": ids.WorkflowID, "run_id": ids.RunID}})
	if err != nil {
		e.err = err
		return
	}
	var run struct {
		Outcome    string          `json:"outcome"`
		Result     json.RawMessage `json:"result"`
		Failure    *Failure        `json:"failure"`
		Activities []Call          `json:"activities"`
	}
	if err := json.Unmarshal(ok, &run); err != nil {
		e.err = err
		return
	}
	e.done, e.result, e.calls = true, run.Result, run.Activities
	if run.Outcome != "completed" {
		if run.Failure == nil {
			run.Failure = &Failure{Message: run.Outcome}
		}
		e.err = run.Failure
	}
}

// IsWorkflowCompleted says whether the last run ended (completed or failed).
func (e *TestWorkflowEnvironment) IsWorkflowCompleted() bool { return e.done }

// GetWorkflowError is the last run's failure (a *Failure), or why it could
// not run (ErrNondeterministic among them).
func (e *TestWorkflowEnvironment) GetWorkflowError() error { return e.err }

// GetWorkflowResult decodes the last run's result into valuePtr.
func (e *TestWorkflowEnvironment) GetWorkflowResult(valuePtr any) error {
	if e.err != nil {
		return e.err
	}
	return json.Unmarshal(e.result, valuePtr)
}

// ActivityCalls lists the last run's activity attempts, in order.
func (e *TestWorkflowEnvironment) ActivityCalls() []Call { return e.calls }
