package polyworker

import "fmt"

// A deterministic scheduler for workflow code, as in Temporal's Go SDK:
// each workflow goroutine (the workflow function, and any started with
// Go) runs only when the dispatcher hands it control, and hands control
// back when it blocks. So exactly one runs at a time, always in the same
// order, and a replay makes the same progress as the original run.

type coroutine struct {
	resume   chan struct{}
	yield    chan struct{}
	cond     func() bool
	started  bool
	done     bool
	panicked any
}

func (r *run) spawn(fn func(ctx Context)) {
	c := &coroutine{resume: make(chan struct{}), yield: make(chan struct{})}
	r.coroutines = append(r.coroutines, c)
	go func() {
		<-c.resume
		defer func() {
			if p := recover(); p != nil {
				c.panicked = p
			}
			c.done = true
			c.yield <- struct{}{}
		}()
		fn(Context{r: r, co: c})
	}()
}

// block parks the calling workflow goroutine until cond() holds.
func (c *coroutine) block(cond func() bool) {
	for !cond() {
		c.cond = cond
		c.yield <- struct{}{}
		<-c.resume
	}
	c.cond = nil
}

// runUntilBlocked runs workflow goroutines until every one is blocked (or
// done). A panic in workflow code fails the workflow task.
func (r *run) runUntilBlocked() {
	for {
		progressed := false
		for i := 0; i < len(r.coroutines); i++ {
			c := r.coroutines[i]
			if c.done || (c.started && c.cond != nil && !c.cond()) {
				continue
			}
			c.started = true
			c.resume <- struct{}{}
			<-c.yield
			if c.panicked != nil && r.taskFailure == nil {
				r.taskFailure = fmt.Errorf("workflow code panicked: %v", c.panicked)
			}
			progressed = true
		}
		live := r.coroutines[:0]
		for _, c := range r.coroutines {
			if !c.done {
				live = append(live, c)
			}
		}
		r.coroutines = live
		if !progressed || r.taskFailure != nil {
			return
		}
	}
}
