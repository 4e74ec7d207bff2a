package testsuite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// MockCall is one mocked answer of an activity type; the first one with
// uses left answers each attempt.
type MockCall struct {
	result any
	err    error
	fn     reflect.Value
	times  int // 0: unlimited
	used   int
	after  time.Duration
}

// OnActivity mocks the activity type activityType (by name, as polyworker
// registers types).
func (e *TestWorkflowEnvironment) OnActivity(activityType string) *MockCall {
	m := &MockCall{}
	e.mu.Lock()
	e.mocks[activityType] = append(e.mocks[activityType], m)
	e.mu.Unlock()
	return m
}

// Return sets the answer: a result and an error (nil, an
// *ApplicationError, or ErrHang), or a single function with the activity's
// parameters (after an optional context.Context, for GetActivityInfo and
// RecordHeartbeat), returning (result, error) or error, called with each
// attempt's arguments.
func (m *MockCall) Return(values ...any) *MockCall {
	if len(values) == 1 && reflect.TypeOf(values[0]) != nil && reflect.TypeOf(values[0]).Kind() == reflect.Func {
		m.fn = reflect.ValueOf(values[0])
		return m
	}
	if len(values) > 0 {
		m.result = values[0]
	}
	if len(values) > 1 {
		if err, ok := values[1].(error); ok {
			m.err = err
		}
	}
	return m
}

// After makes each attempt take d of virtual time before it answers (past
// the attempt's timeout, the timeout wins).
func (m *MockCall) After(d time.Duration) *MockCall {
	m.after = d
	return m
}

// Once makes the answer serve one attempt.
func (m *MockCall) Once() *MockCall { return m.Times(1) }

// Times makes the answer serve n attempts.
func (m *MockCall) Times(n int) *MockCall {
	m.times = n
	return m
}

func (e *TestWorkflowEnvironment) next(activityType string) *MockCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.mocks[activityType] {
		if m.times == 0 || m.used < m.times {
			m.used++
			return m
		}
	}
	return nil
}

// answer is what the attempt `call` answers, as the protocol has it.
func (e *TestWorkflowEnvironment) answer(id uint64, call Call) map[string]any {
	out := map[string]any{"call": id}
	m := e.next(call.ActivityType)
	if m == nil {
		out["fails"] = map[string]any{
			"message":       fmt.Sprintf("no mock for activity type %q", call.ActivityType),
			"type":          "PolyworkerTestNoMock",
			"non_retryable": true,
		}
		return out
	}
	if m.after > 0 {
		out["after_seconds"] = m.after.Seconds()
	}
	result, err := m.result, m.err
	if m.fn.IsValid() {
		state := &attempt{call: call}
		result, err = m.call(context.WithValue(context.Background(), attemptKey{}, state), call.Input)
		if state.heartbeat != nil {
			out["heartbeat"] = state.heartbeat
		}
	}
	var app *ApplicationError
	switch {
	case errors.Is(err, ErrHang):
		out["hangs"] = true
	case errors.As(err, &app):
		out["fails"] = map[string]any{"message": app.Message, "type": app.Type, "non_retryable": app.NonRetryable}
	case err != nil:
		out["fails"] = map[string]any{"message": err.Error(), "type": "GenericError"}
	default:
		out["returns"] = result
	}
	return out
}

// call runs a function mock with the attempt's arguments decoded into its
// parameters.
func (m *MockCall) call(ctx context.Context, input []json.RawMessage) (any, error) {
	ft := m.fn.Type()
	args := make([]reflect.Value, ft.NumIn())
	skip := 0
	if ft.NumIn() > 0 && ft.In(0) == contextType {
		args[0] = reflect.ValueOf(ctx)
		skip = 1
	}
	for i := skip; i < len(args); i++ {
		p := reflect.New(ft.In(i))
		if j := i - skip; j < len(input) {
			if err := json.Unmarshal(input[j], p.Interface()); err != nil {
				return nil, fmt.Errorf("the mock's parameter %d cannot take %s: %w", i, input[j], err)
			}
		}
		args[i] = p.Elem()
	}
	outs := m.fn.Call(args)
	var result any
	var err error
	for _, o := range outs {
		if o.Type().Implements(reflect.TypeOf((*error)(nil)).Elem()) {
			if !o.IsNil() {
				err = o.Interface().(error)
			}
		} else {
			result = o.Interface()
		}
	}
	return result, err
}

var contextType = reflect.TypeOf((*context.Context)(nil)).Elem()

type attemptKey struct{}

// attempt is what a function mock's context carries.
type attempt struct {
	call      Call
	heartbeat []any
}

// ActivityInfo is the attempt a function mock answers.
type ActivityInfo struct {
	ActivityType string
	ActivityID   string
	Attempt      int
	// The last heartbeat details of an earlier attempt, each as JSON.
	HeartbeatDetails []json.RawMessage
}

// GetActivityInfo, in a function mock that takes a context.Context: the
// attempt it answers (as activity.GetInfo in a real activity).
func GetActivityInfo(ctx context.Context) ActivityInfo {
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	if a == nil {
		return ActivityInfo{}
	}
	return ActivityInfo{a.call.ActivityType, a.call.ActivityID, a.call.Attempt, a.call.HeartbeatDetails}
}

// RecordHeartbeat, in a function mock that takes a context.Context:
// heartbeats with details before the attempt answers; a later attempt
// sees them in HeartbeatDetails.
func RecordHeartbeat(ctx context.Context, details ...any) {
	if a, _ := ctx.Value(attemptKey{}).(*attempt); a != nil {
		a.heartbeat = details
	}
}
