package polyworker

import (
	"fmt"
	"reflect"

	wt "wit_component/polyworker_worker_workflow_types"
)

// UpdateHandlerOptions as in the Go SDK's workflow.UpdateHandlerOptions.
type UpdateHandlerOptions struct {
	// Validator, if set, is a func taking the handler's arguments (with or
	// without a leading Context) and returning error. It runs before the
	// update is accepted, must not block or change state, and an error (or
	// a panic) rejects the update: nothing of it enters the history.
	Validator any
}

type updateHandler struct {
	fn          reflect.Value
	args        []reflect.Type
	validator   reflect.Value
	validateCtx bool
}

// SetUpdateHandler handles update name with fn, a func(Context, args...)
// returning (R, error) or error. It runs as a workflow goroutine: it may
// block on timers and activities; its result or error is the update's.
func SetUpdateHandler(ctx Context, name string, fn any) error {
	return SetUpdateHandlerWithOptions(ctx, name, fn, UpdateHandlerOptions{})
}

// SetUpdateHandlerWithOptions is SetUpdateHandler with a validator.
func SetUpdateHandlerWithOptions(ctx Context, name string, fn any, opts UpdateHandlerOptions) error {
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func || t.NumIn() < 1 || t.In(0) != contextType ||
		t.NumOut() < 1 || t.NumOut() > 2 || t.Out(t.NumOut()-1) != errorType {
		return fmt.Errorf("update handler %s: want func(polyworker.Context, ...) (R, error) or error, got %s", name, t)
	}
	h := updateHandler{fn: v}
	for i := 1; i < t.NumIn(); i++ {
		h.args = append(h.args, t.In(i))
	}
	if opts.Validator != nil {
		val := reflect.ValueOf(opts.Validator)
		vt := val.Type()
		h.validateCtx = vt.Kind() == reflect.Func && vt.NumIn() > 0 && vt.In(0) == contextType
		skip := 0
		if h.validateCtx {
			skip = 1
		}
		ok := vt.Kind() == reflect.Func && vt.NumIn()-skip == len(h.args) &&
			vt.NumOut() == 1 && vt.Out(0) == errorType
		for i := 0; ok && i < len(h.args); i++ {
			ok = vt.In(i+skip) == h.args[i]
		}
		if !ok {
			return fmt.Errorf("update validator %s: want func([polyworker.Context,] %v) error, got %s", name, h.args, vt)
		}
		h.validator = val
	}
	ctx.r.updates[name] = h
	return nil
}

func (r *run) respondToUpdate(id string, outcome wt.UpdateOutcome) {
	r.command(wt.MakeCommandUpdateResponse(wt.UpdateResponse{ProtocolInstanceId: id, Outcome: outcome}))
}

// dispatchUpdates runs the updates that arrived, once the workflow has had
// the chance to set its handlers (as the Go SDK does after the workflow
// first yields): validate, accept, then run each handler as a goroutine.
func (r *run) dispatchUpdates() {
	pending := r.pendingUpdates
	r.pendingUpdates = nil
	for _, u := range pending {
		r.dispatchUpdate(u)
	}
}

func (r *run) dispatchUpdate(u wt.Update) {
	id := u.ProtocolInstanceId
	reject := func(err error) { r.respondToUpdate(id, wt.MakeUpdateOutcomeRejected(toFailure(err))) }
	h, ok := r.updates[u.Name]
	if !ok {
		reject(&ApplicationError{Message: "unknown update " + u.Name, Type: "UpdateNotFound"})
		return
	}
	args, err := decodeArgs(u.Input, h.args)
	if err != nil {
		reject(err)
		return
	}
	if u.RunValidator && h.validator.IsValid() {
		if err := h.validate(Context{r: r}, args); err != nil {
			reject(err)
			return
		}
	}
	r.respondToUpdate(id, wt.MakeUpdateOutcomeAccepted())
	r.spawn(func(ctx Context) {
		p, err := callWithContext(h.fn, ctx, args)
		if err != nil {
			reject(err)
			return
		}
		r.respondToUpdate(id, wt.MakeUpdateOutcomeCompleted(p))
	})
}

// validate calls the validator; a panic rejects the update too.
func (h updateHandler) validate(ctx Context, args []reflect.Value) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("update validator panicked: %v", p)
		}
	}()
	in := args
	if h.validateCtx {
		in = append([]reflect.Value{reflect.ValueOf(ctx)}, args...)
	}
	if e := h.validator.Call(in)[0]; !e.IsNil() {
		return e.Interface().(error)
	}
	return nil
}
