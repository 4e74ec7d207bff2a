package polyworker

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"

	"wit_component/polyworker_worker_activity_host"
	at "wit_component/polyworker_worker_activity_types"
	"wit_component/polyworker_worker_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// ErrResultPending, returned by an activity, leaves it pending: something
// completes it later by task token.
var ErrResultPending = errors.New("the activity completes asynchronously")

// ActivityInfo describes the running attempt.
type ActivityInfo struct {
	ActivityID   string
	ActivityType string
	TaskQueue    string
	WorkflowID   string
	Attempt      uint32
	TaskToken    []byte
	details      []payload
}

type activityEntry struct {
	fn   reflect.Value
	args []reflect.Type
}

var activities = map[string]activityEntry{}
var activityOrder []string

var ctxType = reflect.TypeOf((*context.Context)(nil)).Elem()

type infoKey struct{}

// RegisterActivityWithName registers fn, a func(context.Context, args...)
// returning (R, error) or error, as the activity type name.
func RegisterActivityWithName(name string, fn any) {
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func || t.NumIn() < 1 || t.In(0) != ctxType ||
		t.NumOut() < 1 || t.NumOut() > 2 || t.Out(t.NumOut()-1) != errorType {
		panic(fmt.Sprintf("activity %s: want func(context.Context, ...) (R, error) or error, got %s", name, t))
	}
	args := make([]reflect.Type, 0, t.NumIn()-1)
	for i := 1; i < t.NumIn(); i++ {
		args = append(args, t.In(i))
	}
	if _, ok := activities[name]; !ok {
		activityOrder = append(activityOrder, name)
	}
	activities[name] = activityEntry{fn: v, args: args}
}

// ActivityTypes lists the registered activity types (for the exports).
func ActivityTypes() []string { return append([]string{}, activityOrder...) }

// GetActivityInfo describes the attempt running in ctx.
func GetActivityInfo(ctx context.Context) ActivityInfo {
	i, _ := ctx.Value(infoKey{}).(ActivityInfo)
	return i
}

// TaskTokenBase64 is the task token in standard base64.
func TaskTokenBase64(ctx context.Context) string {
	return base64.StdEncoding.EncodeToString(GetActivityInfo(ctx).TaskToken)
}

// RecordHeartbeat records progress; a retry reads it with GetHeartbeatDetails.
func RecordHeartbeat(ctx context.Context, details ...any) {
	ps, err := toPayloads(details)
	if err == nil {
		polyworker_worker_activity_host.Heartbeat(ps)
	}
}

// HasHeartbeatDetails tells whether a previous attempt heartbeated.
func HasHeartbeatDetails(ctx context.Context) bool { return len(GetActivityInfo(ctx).details) > 0 }

// GetHeartbeatDetails decodes the last attempt's heartbeat details.
func GetHeartbeatDetails(ctx context.Context, ptrs ...any) error {
	d := GetActivityInfo(ctx).details
	for i, p := range ptrs {
		if i < len(d) {
			if err := decode(d[i], p); err != nil {
				return err
			}
		}
	}
	return nil
}

// TraceParent is the W3C traceparent of this attempt (its span, or what
// scheduled it), to forward on the activity's own calls; "" without a trace.
func TraceParent(ctx context.Context) string {
	if tp := polyworker_worker_activity_host.TraceParent(); tp.IsSome() {
		return tp.Some()
	}
	return ""
}

// IsCanceled tells whether the host asked this attempt to stop.
func IsCanceled(ctx context.Context) bool {
	return polyworker_worker_activity_host.Cancellation().IsSome()
}

// ActivityLog logs a line tagged with the activity's ids.
func ActivityLog(ctx context.Context, msg string, keyvals ...any) {
	polyworker_worker_activity_host.Log(polyworker_worker_types.LogLevelInfo, logLine(msg, keyvals))
}

func activityError(err error) at.ActivityError {
	var c *CanceledError
	if errors.As(err, &c) {
		return at.MakeActivityErrorCancelled([]payload{})
	}
	return at.MakeActivityErrorFailed(at.ActivityErrorDetail{Message: err.Error(), Info: applicationInfo(err)})
}

// Execute runs one activity attempt (for the exports).
func Execute(info at.ActivityInfo, input []payload) (outcome at.ActivityOutcome, failed *at.ActivityError) {
	e, ok := activities[info.ActivityType]
	if !ok {
		f := activityError(NewNonRetryableApplicationError("this component has no activity "+info.ActivityType, "ActivityNotFound"))
		return outcome, &f
	}
	defer func() {
		if p := recover(); p != nil {
			f := activityError(NewApplicationError(fmt.Sprintf("activity panicked: %v", p), "Panic"))
			failed = &f
		}
	}()
	ctx := context.WithValue(context.Background(), infoKey{}, ActivityInfo{
		ActivityID: info.ActivityId, ActivityType: info.ActivityType, TaskQueue: info.TaskQueue,
		WorkflowID: info.WorkflowId, Attempt: info.Attempt, TaskToken: info.TaskToken, details: info.HeartbeatDetails,
	})
	args, err := decodeArgs(input, e.args)
	if err != nil {
		f := activityError(NewNonRetryableApplicationError(err.Error(), "BadArguments"))
		return outcome, &f
	}
	out := e.fn.Call(append([]reflect.Value{reflect.ValueOf(ctx)}, args...))
	if errV := out[len(out)-1]; !errV.IsNil() {
		err := errV.Interface().(error)
		if errors.Is(err, ErrResultPending) {
			return at.MakeActivityOutcomePending(), nil
		}
		f := activityError(err)
		return outcome, &f
	}
	var result any
	if len(out) == 2 {
		result = out[0].Interface()
	}
	p, err := toPayload(result)
	if err != nil {
		f := activityError(err)
		return outcome, &f
	}
	return at.MakeActivityOutcomeCompleted(witTypes.Some(p)), nil
}
