// The Go SDK's fixture for the shared SDK suite (tests/e2e/sdks.rs):
// determinism with Go's own clock and randomness, signals, queries,
// updates, conditions, patches, cancellation and heartbeats.
package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"time"

	"wit_component/polyworker"
)

type sample struct {
	Now  float64 `json:"now"`
	Rand float64 `json:"rand"`
	UUID string  `json:"uuid"`
}

func take() sample {
	return sample{
		Now:  float64(time.Now().UnixMilli()),
		Rand: rand.Float64(),
		UUID: fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64()),
	}
}

// Determinism samples time.Now and math/rand before and after a timer; the
// first sample is also recorded in history (as an activity's input).
func Determinism(ctx polyworker.Context) (map[string]any, error) {
	before := take()
	opts := polyworker.ActivityOptions{StartToCloseTimeout: 10 * time.Second, RetryPolicy: &polyworker.RetryPolicy{MaximumAttempts: 1}}
	if err := polyworker.ExecuteActivity(polyworker.WithActivityOptions(ctx, opts), "Echo", before).Get(ctx, nil); err != nil {
		return nil, err
	}
	if err := polyworker.Sleep(ctx, time.Second); err != nil {
		return nil, err
	}
	after := take()
	start := float64(polyworker.GetInfo(ctx).StartTime.UnixMilli())
	return map[string]any{"before": before, "after": after, "start": start}, nil
}

func Echo(ctx context.Context, x any) (any, error) { return x, nil }

func init() {
	polyworker.RegisterWorkflowWithName("Determinism", Determinism)
	polyworker.RegisterActivityWithName("Echo", Echo)
}

// Approval: signals, queries and patches, as every SDK's fixture has them.
func Approval(ctx polyworker.Context) (map[string]any, error) {
	var approvedBy *string
	if err := polyworker.SetQueryHandler(ctx, "status", func() (map[string]any, error) {
		return map[string]any{"approvedBy": approvedBy}, nil
	}); err != nil {
		return nil, err
	}
	var who string
	if err := polyworker.GetSignalChannel(ctx, "approve").Receive(ctx, &who); err != nil {
		return nil, err
	}
	approvedBy = &who
	v2 := polyworker.Patched(ctx, "shout-twice")
	times := 1
	if v2 {
		times = 2
	}
	var shouted string
	if err := polyworker.ExecuteActivity(quick(ctx), "Shout", "a", times).Get(ctx, &shouted); err != nil {
		return nil, err
	}
	return map[string]any{"approvedBy": who, "shouted": shouted, "v2": v2}, nil
}

// Cancellable sleeps for an hour; cancelled, it runs a cleanup activity
// and reports the cancellation.
func Cancellable(ctx polyworker.Context) (string, error) {
	err := polyworker.Sleep(ctx, time.Hour)
	var cancelled *polyworker.CanceledError
	if errors.As(err, &cancelled) {
		if cerr := polyworker.ExecuteActivity(quick(ctx), "Echo", "cleaned up").Get(ctx, nil); cerr != nil {
			return "", cerr
		}
		return "", err
	}
	return "slept", err
}

// CallActivity runs any activity with a retry limit.
func CallActivity(ctx polyworker.Context, activityType string, args []any, maxAttempts int32) (any, error) {
	if maxAttempts == 0 {
		maxAttempts = 1
	}
	ctx = polyworker.WithActivityOptions(ctx, polyworker.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &polyworker.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: maxAttempts},
	})
	var result any
	err := polyworker.ExecuteActivity(ctx, activityType, args...).Get(ctx, &result)
	return result, err
}

func quick(ctx polyworker.Context) polyworker.Context {
	return polyworker.WithActivityOptions(ctx, polyworker.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second, RetryPolicy: &polyworker.RetryPolicy{MaximumAttempts: 1},
	})
}

func Shout(ctx context.Context, s string, times int) (string, error) {
	return strings.Repeat(strings.ToUpper(s), times), nil
}

// Resume heartbeats progress, then fails its first attempt; the retry
// resumes from the last heartbeat.
func Resume(ctx context.Context, total int) (map[string]any, error) {
	info := polyworker.GetActivityInfo(ctx)
	done := 0
	if polyworker.HasHeartbeatDetails(ctx) {
		if err := polyworker.GetHeartbeatDetails(ctx, &done); err != nil {
			return nil, err
		}
	}
	resumedFrom := done
	for ; done < total; done++ {
		polyworker.RecordHeartbeat(ctx, done+1)
		if info.Attempt == 1 && done == 2 {
			return nil, polyworker.NewApplicationError("crashed", "Crash")
		}
	}
	return map[string]any{"attempt": info.Attempt, "resumedFrom": resumedFrom}, nil
}

// Sleep sleeps the wrong way: time.Sleep in workflow code, which the host
// fails at once (polyworker.Sleep is the durable timer).
func Sleep(ctx polyworker.Context) (string, error) {
	time.Sleep(10 * time.Second)
	return "slept", nil
}

func init() {
	polyworker.RegisterWorkflowWithName("Sleep", Sleep)
	polyworker.RegisterWorkflowWithName("Approval", Approval)
	polyworker.RegisterWorkflowWithName("Cancellable", Cancellable)
	polyworker.RegisterWorkflowWithName("CallActivity", CallActivity)
	polyworker.RegisterActivityWithName("Shout", Shout)
	polyworker.RegisterActivityWithName("Resume", Resume)
}

// Features: signals, queries, an update with a validator, a condition with
// a timeout, a patch and two concurrent activities.
func Features(ctx polyworker.Context) (map[string]any, error) {
	var approvedBy *string
	counter := 0
	if err := polyworker.SetQueryHandler(ctx, "status", func() (map[string]any, error) {
		return map[string]any{"approvedBy": approvedBy, "counter": counter}, nil
	}); err != nil {
		return nil, err
	}
	bump := func(ctx polyworker.Context, n int) (int, error) {
		if err := polyworker.Sleep(ctx, 10*time.Millisecond); err != nil {
			return 0, err
		}
		counter += n
		return counter, nil
	}
	positive := func(n int) error {
		if n <= 0 {
			return polyworker.NewNonRetryableApplicationError("n must be positive", "BadBump")
		}
		return nil
	}
	if err := polyworker.SetUpdateHandlerWithOptions(ctx, "bump", bump, polyworker.UpdateHandlerOptions{Validator: positive}); err != nil {
		return nil, err
	}
	polyworker.Go(ctx, func(ctx polyworker.Context) {
		var who string
		if polyworker.GetSignalChannel(ctx, "approve").Receive(ctx, &who) == nil {
			approvedBy = &who
		}
	})
	approved, err := polyworker.AwaitWithTimeout(ctx, time.Minute, func() bool { return approvedBy != nil })
	if err != nil {
		return nil, err
	}
	v2 := polyworker.Patched(ctx, "shout-twice")
	times := 1
	if v2 {
		times = 2
	}
	futures := []*polyworker.Future{
		polyworker.ExecuteActivity(quick(ctx), "Shout", "a", times),
		polyworker.ExecuteActivity(quick(ctx), "Shout", "b", times),
	}
	shouted := make([]string, len(futures))
	for i, f := range futures {
		if err := f.Get(ctx, &shouted[i]); err != nil {
			return nil, err
		}
	}
	return map[string]any{"approved": approved, "approvedBy": approvedBy, "counter": counter, "shouted": shouted, "v2": v2}, nil
}

// ConditionTimeout waits a second for a condition that never holds.
func ConditionTimeout(ctx polyworker.Context) (map[string]any, error) {
	met, err := polyworker.AwaitWithTimeout(ctx, time.Second, func() bool { return false })
	return map[string]any{"met": met}, err
}

func init() {
	polyworker.RegisterWorkflowWithName("Features", Features)
	polyworker.RegisterWorkflowWithName("ConditionTimeout", ConditionTimeout)
}

// Fail gives up (a returned error fails the workflow) or has a bug (a
// panic fails only the workflow task, which is retried once fixed).
func Fail(ctx polyworker.Context, kind string) (string, error) {
	if kind == "application" {
		return "", polyworker.NewNonRetryableApplicationError("the workflow gives up", "GiveUp")
	}
	panic(errors.New("boom"))
}

// Continue continues as new twice, then reports the run it ended on.
func Continue(ctx polyworker.Context, n int) (map[string]any, error) {
	if n < 2 {
		return nil, polyworker.NewContinueAsNewError(ctx, n+1)
	}
	return map[string]any{"n": n, "firstRun": polyworker.GetInfo(ctx).ContinuedFromRunID != ""}, nil
}

func init() {
	polyworker.RegisterWorkflowWithName("Fail", Fail)
	polyworker.RegisterWorkflowWithName("Continue", Continue)
}
