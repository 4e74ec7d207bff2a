package polyworker

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"wit_component/polyworker_worker_types"
	"wit_component/polyworker_worker_workflow_host"
	wt "wit_component/polyworker_worker_workflow_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Context is what workflow code gets instead of context.Context: it ties
// the calling goroutine to the run's deterministic scheduler.
type Context struct {
	r        *run
	co       *coroutine
	activity *ActivityOptions
}

// ActivityOptions as in Temporal's Go SDK. StartToCloseTimeout or
// ScheduleToCloseTimeout is required.
type ActivityOptions struct {
	TaskQueue              string
	ActivityID             string
	ScheduleToCloseTimeout time.Duration
	ScheduleToStartTimeout time.Duration
	StartToCloseTimeout    time.Duration
	HeartbeatTimeout       time.Duration
	RetryPolicy            *RetryPolicy
}

// RetryPolicy: unset fields take the server's defaults.
type RetryPolicy struct {
	InitialInterval        time.Duration
	BackoffCoefficient     float64
	MaximumInterval        time.Duration
	MaximumAttempts        int32
	NonRetryableErrorTypes []string
}

// Info about the run.
type Info struct {
	WorkflowType       string
	WorkflowID         string
	RunID              string
	TaskQueue          string
	Attempt            uint32
	ContinuedFromRunID string
	StartTime          time.Time
}

// Future is the eventual result of an activity or timer.
type Future struct {
	ready bool
	value *payload
	err   error
}

func (f *Future) settle(value *payload, err error) {
	if !f.ready {
		f.ready, f.value, f.err = true, value, err
	}
}

// IsReady tells whether Get would return at once.
func (f *Future) IsReady() bool { return f.ready }

// Get blocks the workflow until the future is ready, then decodes the
// value into valuePtr (if not nil) or returns the error.
func (f *Future) Get(ctx Context, valuePtr any) error {
	ctx.co.block(func() bool { return f.ready })
	if f.err != nil {
		return f.err
	}
	if valuePtr != nil && f.value != nil {
		return decode(*f.value, valuePtr)
	}
	return nil
}

type workflowEntry struct {
	fn   reflect.Value
	args []reflect.Type
}

var workflows = map[string]workflowEntry{}
var workflowOrder []string

var contextType = reflect.TypeOf(Context{})
var errorType = reflect.TypeOf((*error)(nil)).Elem()

// RegisterWorkflowWithName registers fn, a func(polyworker.Context, args...)
// returning (R, error) or error, as the workflow type name.
func RegisterWorkflowWithName(name string, fn any) {
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func || t.NumIn() < 1 || t.In(0) != contextType ||
		t.NumOut() < 1 || t.NumOut() > 2 || t.Out(t.NumOut()-1) != errorType {
		panic(fmt.Sprintf("workflow %s: want func(polyworker.Context, ...) (R, error) or error, got %s", name, t))
	}
	args := make([]reflect.Type, 0, t.NumIn()-1)
	for i := 1; i < t.NumIn(); i++ {
		args = append(args, t.In(i))
	}
	if _, ok := workflows[name]; !ok {
		workflowOrder = append(workflowOrder, name)
	}
	workflows[name] = workflowEntry{fn: v, args: args}
}

// WorkflowTypes lists the registered workflow types (for the exports).
func WorkflowTypes() []string { return append([]string{}, workflowOrder...) }

// ContinueAsNewError, returned from a workflow, continues it as a new run.
type ContinueAsNewError struct{ args []any }

func (e *ContinueAsNewError) Error() string { return "continue as new" }

// NewContinueAsNewError: return it to continue the workflow with args.
func NewContinueAsNewError(ctx Context, args ...any) error { return &ContinueAsNewError{args: args} }

type run struct {
	info        wt.WorkflowInfo
	entry       workflowEntry
	coroutines  []*coroutine
	commands    []wt.Command
	timers      map[uint32]*Future
	activities  map[uint32]*Future
	timerSeq    uint32
	activitySeq uint32
	signals     map[string][]payload
	queries     map[string]reflect.Value
	updates     map[string]updateHandler
	// Updates that arrived in this activation, dispatched once the
	// workflow goroutines are blocked (so that handlers are set).
	pendingUpdates []wt.Update
	known          map[string]bool
	patches        map[string]bool
	now            time.Time
	replaying      bool
	started        bool
	finished       bool
	cancelled      bool
	taskFailure    error
}

// Run is one workflow run (behind the `workflow-run` resource).
type Run struct{ r *run }

func failureRecord(message, errType string, nonRetryable bool) *failure {
	f := toFailure(&ApplicationError{Message: message, Type: errType, NonRetryable: nonRetryable})
	return &f
}

// NewRun starts a run of info.WorkflowType (nothing runs until Activate).
func NewRun(info wt.WorkflowInfo) (*Run, *failure) {
	e, ok := workflows[info.WorkflowType]
	if !ok {
		return nil, failureRecord("this component has no workflow "+info.WorkflowType, "WorkflowNotFound", true)
	}
	r := &run{
		info: info, entry: e,
		timers: map[uint32]*Future{}, activities: map[uint32]*Future{},
		signals: map[string][]payload{}, queries: map[string]reflect.Value{},
		updates: map[string]updateHandler{},
		known:   map[string]bool{}, patches: map[string]bool{},
	}
	if info.StartTime.IsSome() {
		r.now = time.Unix(0, int64(info.StartTime.Some()))
	}
	return &Run{r}, nil
}

func (r *run) command(c wt.Command) {
	if !r.finished {
		r.commands = append(r.commands, c)
	}
}

func (r *run) finish(c wt.Command) {
	r.command(c)
	r.finished = true
}

func (r *run) start() {
	r.spawn(func(ctx Context) {
		args, err := decodeArgs(r.info.Arguments, r.entry.args)
		if err != nil {
			r.finishWithError(NewNonRetryableApplicationError(err.Error(), "BadArguments"))
			return
		}
		p, err := callWithContext(r.entry.fn, ctx, args)
		var encoding *encodeError
		switch {
		case errors.As(err, &encoding):
			r.taskFailure = encoding.err
		case err != nil:
			r.finishWithError(err)
		default:
			r.finish(wt.MakeCommandCompleteWorkflow(witTypes.Some(p)))
		}
	})
}

func (r *run) finishWithError(err error) {
	var can *ContinueAsNewError
	var cancel *CanceledError
	switch {
	case errors.As(err, &can):
		args, perr := toPayloads(can.args)
		if perr != nil {
			r.taskFailure = perr
			return
		}
		r.finish(wt.MakeCommandContinueAsNew(wt.ContinueAsNew{
			Arguments: args, WorkflowRunTimeout: witTypes.None[uint64](), WorkflowTaskTimeout: witTypes.None[uint64](),
			Memo: nil, Headers: nil, RetryPolicy: witTypes.None[polyworker_worker_types.RetryPolicy](),
		}))
	case errors.As(err, &cancel) && r.cancelled:
		r.finish(wt.MakeCommandCancelWorkflow())
	default:
		// As in Temporal's Go SDK, a returned error fails the workflow; a
		// panic fails only the workflow task.
		r.finish(wt.MakeCommandFailWorkflow(toFailure(err)))
	}
}

func option(d time.Duration) witTypes.Option[uint64] {
	if d <= 0 {
		return witTypes.None[uint64]()
	}
	return witTypes.Some(uint64(d.Nanoseconds()))
}

// WithActivityOptions returns a context whose activities use opts.
func WithActivityOptions(ctx Context, opts ActivityOptions) Context {
	ctx.activity = &opts
	return ctx
}

// ExecuteActivity schedules an activity with the context's options.
func ExecuteActivity(ctx Context, activityType string, args ...any) *Future {
	r := ctx.r
	f := &Future{}
	o := ctx.activity
	if o == nil || (o.StartToCloseTimeout <= 0 && o.ScheduleToCloseTimeout <= 0) {
		f.settle(nil, fmt.Errorf("activity %s: set StartToCloseTimeout or ScheduleToCloseTimeout with WithActivityOptions", activityType))
		return f
	}
	ps, err := toPayloads(args)
	if err != nil {
		f.settle(nil, err)
		return f
	}
	r.activitySeq++
	seq := r.activitySeq
	retry := witTypes.None[polyworker_worker_types.RetryPolicy]()
	if p := o.RetryPolicy; p != nil {
		coefficient := witTypes.None[float64]()
		if p.BackoffCoefficient > 0 {
			coefficient = witTypes.Some(p.BackoffCoefficient)
		}
		retry = witTypes.Some(polyworker_worker_types.RetryPolicy{
			InitialInterval: option(p.InitialInterval), BackoffCoefficient: coefficient,
			MaximumInterval: option(p.MaximumInterval), MaximumAttempts: uint32(p.MaximumAttempts),
			NonRetryableErrorTypes: append([]string{}, p.NonRetryableErrorTypes...),
		})
	}
	id := o.ActivityID
	if id == "" {
		id = strconv.FormatUint(uint64(seq), 10)
	}
	r.command(wt.MakeCommandScheduleActivity(wt.ScheduleActivity{
		Seq: seq, ActivityId: id, ActivityType: activityType, TaskQueue: o.TaskQueue,
		Arguments: ps, ScheduleToCloseTimeout: option(o.ScheduleToCloseTimeout),
		ScheduleToStartTimeout: option(o.ScheduleToStartTimeout), StartToCloseTimeout: option(o.StartToCloseTimeout),
		HeartbeatTimeout: option(o.HeartbeatTimeout), RetryPolicy: retry,
		CancellationType: wt.ActivityCancellationTypeTryCancel,
	}))
	r.activities[seq] = f
	return f
}

// NewTimer is a durable timer; its future is ready when it fires.
func NewTimer(ctx Context, d time.Duration) *Future {
	r := ctx.r
	r.timerSeq++
	f := &Future{}
	r.command(wt.MakeCommandStartTimer(wt.StartTimer{Seq: r.timerSeq, Duration: uint64(d.Nanoseconds())}))
	r.timers[r.timerSeq] = f
	return f
}

// encodeError is a result that would not encode (a bug in the workflow
// code: it fails the task, not the workflow).
type encodeError struct{ err error }

func (e *encodeError) Error() string { return e.err.Error() }

// callWithContext calls a workflow function or handler, fn(ctx, args...)
// returning (R, error) or error: its result as a payload, or its error.
func callWithContext(fn reflect.Value, ctx Context, args []reflect.Value) (payload, error) {
	out := fn.Call(append([]reflect.Value{reflect.ValueOf(ctx)}, args...))
	if e := out[len(out)-1]; !e.IsNil() {
		return payload{}, e.Interface().(error)
	}
	var result any
	if len(out) == 2 {
		result = out[0].Interface()
	}
	p, err := toPayload(result)
	if err != nil {
		return payload{}, &encodeError{err}
	}
	return p, nil
}

// cancelTimer cancels a pending timer (its future never becomes ready).
func cancelTimer(r *run, f *Future) {
	for seq, t := range r.timers {
		if t == f {
			delete(r.timers, seq)
			r.command(wt.MakeCommandCancelTimer(seq))
			return
		}
	}
}

// Sleep blocks the workflow for d of workflow time.
func Sleep(ctx Context, d time.Duration) error { return NewTimer(ctx, d).Get(ctx, nil) }

// Await blocks until cond() holds.
func Await(ctx Context, cond func() bool) { ctx.co.block(cond) }

// AwaitWithTimeout blocks until cond() holds or timeout passes (a durable
// timer); ok tells which. The error is the timer's (a cancellation).
func AwaitWithTimeout(ctx Context, timeout time.Duration, cond func() bool) (ok bool, err error) {
	if cond() {
		return true, nil
	}
	timer := NewTimer(ctx, timeout)
	ctx.co.block(func() bool { return cond() || timer.IsReady() })
	if cond() {
		if !timer.IsReady() {
			cancelTimer(ctx.r, timer)
		}
		return true, nil
	}
	return false, timer.err
}

// Go runs fn as another workflow goroutine under the same scheduler.
func Go(ctx Context, fn func(ctx Context)) { ctx.r.spawn(fn) }

// Now is workflow time (time.Now reads the same clock).
func Now(ctx Context) time.Time { return ctx.r.now }

// IsCancellationRequested tells whether the workflow was asked to cancel.
func IsCancellationRequested(ctx Context) bool { return ctx.r.cancelled }

// GetInfo describes the run.
func GetInfo(ctx Context) Info {
	i := ctx.r.info
	return Info{i.WorkflowType, i.WorkflowId, i.RunId, i.TaskQueue, i.Attempt, i.ContinuedFromRunId.SomeOr(""),
		time.Unix(0, int64(i.StartTime.SomeOr(0)))}
}

// Patched tells whether this run takes the new code path of change
// patchID (like GetVersion in Temporal's Go SDK, reduced to old/new).
func Patched(ctx Context, patchID string) bool {
	r := ctx.r
	if use, ok := r.patches[patchID]; ok {
		return use
	}
	use := !r.replaying || r.known[patchID]
	if use {
		r.command(wt.MakeCommandSetPatchMarker(wt.SetPatchMarker{PatchId: patchID}))
	}
	r.patches[patchID] = use
	return use
}

// Logger logs through the host; lines are dropped while replaying.
type Logger struct{}

// GetLogger returns the workflow logger.
func GetLogger(ctx Context) Logger { return Logger{} }

func logLine(msg string, keyvals []any) string {
	for i := 0; i+1 < len(keyvals); i += 2 {
		msg += fmt.Sprintf(" %v=%v", keyvals[i], keyvals[i+1])
	}
	return msg
}

func (Logger) Info(msg string, keyvals ...any) {
	polyworker_worker_workflow_host.Log(polyworker_worker_types.LogLevelInfo, logLine(msg, keyvals))
}
func (Logger) Warn(msg string, keyvals ...any) {
	polyworker_worker_workflow_host.Log(polyworker_worker_types.LogLevelWarn, logLine(msg, keyvals))
}
func (Logger) Error(msg string, keyvals ...any) {
	polyworker_worker_workflow_host.Log(polyworker_worker_types.LogLevelError, logLine(msg, keyvals))
}
