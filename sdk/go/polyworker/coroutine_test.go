package polyworker

import (
	"reflect"
	"strings"
	"testing"
)

// Workflow goroutines run one at a time, in the order they were started,
// each until it blocks; a blocked one resumes once its condition holds.
func TestGoroutinesInterleaveDeterministically(t *testing.T) {
	for round := 0; round < 20; round++ {
		r := &run{}
		var trace []string
		ready := false
		r.spawn(func(ctx Context) {
			trace = append(trace, "a1")
			ctx.co.block(func() bool { return ready })
			trace = append(trace, "a2")
		})
		r.spawn(func(ctx Context) {
			trace = append(trace, "b1")
			ready = true
			ctx.co.block(func() bool { return false })
		})
		r.runUntilBlocked()
		want := []string{"a1", "b1", "a2"}
		if !reflect.DeepEqual(trace, want) {
			t.Fatalf("round %d: ran %v, want %v", round, trace, want)
		}
		if len(r.coroutines) != 1 {
			t.Fatalf("round %d: %d goroutines left, want the blocked one", round, len(r.coroutines))
		}
		if r.taskFailure != nil {
			t.Fatalf("round %d: %v", round, r.taskFailure)
		}
	}
}

// A panic in workflow code fails the task and stops the dispatch.
func TestAPanicFailsTheTask(t *testing.T) {
	r := &run{}
	r.spawn(func(ctx Context) { panic("boom") })
	r.runUntilBlocked()
	if r.taskFailure == nil || !strings.Contains(r.taskFailure.Error(), "boom") {
		t.Fatalf("task failure = %v, want the panic", r.taskFailure)
	}
}
