package testsuite_test

import (
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
