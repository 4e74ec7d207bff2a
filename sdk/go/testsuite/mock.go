package testsuite

import (
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
// parameters, returning (result, error) or error, called with each
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
		result, err = m.call(call.Input)
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
func (m *MockCall) call(input []json.RawMessage) (any, error) {
	ft := m.fn.Type()
	args := make([]reflect.Value, ft.NumIn())
	for i := range args {
		p := reflect.New(ft.In(i))
		if i < len(input) {
			if err := json.Unmarshal(input[i], p.Interface()); err != nil {
				return nil, fmt.Errorf("the mock's parameter %d cannot take %s: %w", i, input[i], err)
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
