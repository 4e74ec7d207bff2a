package testsuite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"polyworker/testsuite"
)

// The SDK's own fixture component (target/guests/go/sdk.wasm).
func component() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "../../../target/guests/go/sdk.wasm")
}

func TestDelayedCallbacksSignalAndQueryTheRunInVirtualTime(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment(t, component())
	env.OnActivity("Shout").Return(func(s string, n int) (string, error) {
		return strings.Repeat(strings.ToUpper(s), n), nil
	})
	var before map[string]any
	began := time.Now()
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow("status")
		if err != nil {
			t.Fatal(err)
		}
		_ = v.Get(&before)
		env.SignalWorkflow("approve", "ana")
	}, time.Hour)
	env.ExecuteWorkflow("Approval")
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("%v", env.GetWorkflowError())
	}
	var out struct {
		ApprovedBy string `json:"approvedBy"`
		Shouted    string `json:"shouted"`
	}
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if before["approvedBy"] != nil || out.ApprovedBy != "ana" || !strings.HasPrefix(out.Shouted, "A") {
		t.Fatalf("before %v, after %+v", before, out)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("an hour of virtual time took %v", took)
	}
}

// A function mock heartbeats, then fails its first attempt; the retry
// resumes from the details (the fixture's CallActivity retries once).
func TestARetryResumesFromTheHeartbeatAMockRecorded(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment(t, component())
	env.OnActivity("Resume").Return(func(ctx context.Context, total int) (map[string]any, error) {
		info := testsuite.GetActivityInfo(ctx)
		if info.Attempt == 1 {
			testsuite.RecordHeartbeat(ctx, 3)
			return nil, testsuite.NewApplicationError("crashed", "Crash")
		}
		var done int
		if err := json.Unmarshal(info.HeartbeatDetails[0], &done); err != nil {
			return nil, err
		}
		return map[string]any{"attempt": info.Attempt, "resumedFrom": done, "total": total}, nil
	})
	env.ExecuteWorkflow("CallActivity", "Resume", []any{5}, 2)
	var out map[string]int
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out["attempt"] != 2 || out["resumedFrom"] != 3 || out["total"] != 5 {
		t.Fatalf("%v", out)
	}
}
