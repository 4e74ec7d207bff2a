package testsuite

import (
	"encoding/json"
	"sort"
	"time"
)

// EncodedValue is a query's or update's answer, decoded with Get.
type EncodedValue struct{ raw json.RawMessage }

// Get decodes the value into valuePtr.
func (v *EncodedValue) Get(valuePtr any) error { return json.Unmarshal(v.raw, valuePtr) }

type delayed struct {
	at time.Duration
	fn func()
}

// RegisterDelayedCallback runs fn once delay of virtual time has passed
// since ExecuteWorkflow started the run (as in Temporal's Go SDK); fn may
// call SignalWorkflow, QueryWorkflow and UpdateWorkflow.
func (e *TestWorkflowEnvironment) RegisterDelayedCallback(fn func(), delay time.Duration) {
	e.callbacks = append(e.callbacks, delayed{delay, fn})
}

func (e *TestWorkflowEnvironment) about(name string, args []any) map[string]any {
	if args == nil {
		args = []any{}
	}
	return map[string]any{"workflow_id": e.workflowID, "name": name, "args": args}
}

// SignalWorkflow sends the signal name to the running workflow.
func (e *TestWorkflowEnvironment) SignalWorkflow(name string, arg any) {
	if _, err := e.request(map[string]any{"signal": e.about(name, []any{arg})}); err != nil {
		e.t.Errorf("signal %s: %v", name, err)
	}
}

// QueryWorkflow asks the running workflow the query queryType.
func (e *TestWorkflowEnvironment) QueryWorkflow(queryType string, args ...any) (*EncodedValue, error) {
	ok, err := e.request(map[string]any{"query": e.about(queryType, args)})
	if err != nil {
		return nil, err
	}
	var out struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(ok, &out); err != nil {
		return nil, err
	}
	return &EncodedValue{out.Result}, nil
}

// UpdateWorkflow runs the update name and waits for it: its result, or a
// *Failure when its validator rejects it or its handler fails.
func (e *TestWorkflowEnvironment) UpdateWorkflow(name string, args ...any) (*EncodedValue, error) {
	ok, err := e.request(map[string]any{"update": e.about(name, args)})
	if err != nil {
		return nil, err
	}
	var out struct {
		Result  json.RawMessage `json:"result"`
		Failure *Failure        `json:"failure"`
	}
	if err := json.Unmarshal(ok, &out); err != nil {
		return nil, err
	}
	if out.Failure != nil {
		return nil, out.Failure
	}
	return &EncodedValue{out.Result}, nil
}

// runCallbacks lets virtual time pass up to each callback, in order.
func (e *TestWorkflowEnvironment) runCallbacks() error {
	sort.SliceStable(e.callbacks, func(i, j int) bool { return e.callbacks[i].at < e.callbacks[j].at })
	var now time.Duration
	for _, c := range e.callbacks {
		if c.at > now {
			if _, err := e.request(map[string]any{"sleep": map[string]any{"seconds": (c.at - now).Seconds()}}); err != nil {
				return err
			}
			now = c.at
		}
		c.fn()
	}
	e.callbacks = nil
	return nil
}
