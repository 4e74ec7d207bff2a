// The Go SDK's fixture for the shared SDK suite (tests/e2e/sdks.rs): the
// determinism workflow, with Go's own clock and randomness.
package main

import (
	"context"
	"fmt"
	"math/rand"
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
