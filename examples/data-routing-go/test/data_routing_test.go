package datarouting_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"polyworker/testsuite"
)

type Packet struct {
	ID                   string   `json:"ID"`
	Source               string   `json:"Source"`
	Destination          string   `json:"Destination"`
	Contents             string   `json:"Contents"`
	FailedRouteProviders []string `json:"FailedRouteProviders"`
	CurrentRouteProvider string   `json:"CurrentRouteProvider"`
	Status               string   `json:"Status"`
}

type Receipt struct {
	Provider string `json:"Provider"`
	Status   string `json:"Status"`
}

func component() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "../../../target/guests/go/data-routing-go.wasm")
}

var packet = Packet{ID: "packet-1", Source: "sensor-17", Destination: "dc-eu", Contents: "t=21.5"}

// attempts counts the last run's attempts of one activity type.
func attempts(env *testsuite.TestWorkflowEnvironment, activityType string) int {
	n := 0
	for _, c := range env.ActivityCalls() {
		if c.ActivityType == activityType {
			n++
		}
	}
	return n
}

func run(t *testing.T, env *testsuite.TestWorkflowEnvironment) Packet {
	t.Helper()
	env.ExecuteWorkflow("DataRoutingWorkflow", packet)
	if !env.IsWorkflowCompleted() {
		t.Fatalf("not completed: %v", env.GetWorkflowError())
	}
	var out Packet
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeliveredOnTheFirstRoute(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment(t, component())
	env.OnActivity("GetRouteActivity").Return("goodRoute", nil)
	env.OnActivity("TransmitActivity").Return(Receipt{}, nil)
	out := run(t, env)
	if out.Status != "STATUS_DELIVERED" || out.CurrentRouteProvider != "goodRoute" || len(out.FailedRouteProviders) != 0 {
		t.Fatalf("%+v", out)
	}
}

func TestFirstRouteFailsToTransmitSecondDelivers(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment(t, component())
	env.OnActivity("GetRouteActivity").Return("badRoute", nil).Once()
	env.OnActivity("GetRouteActivity").Return("goodRoute", nil)
	env.OnActivity("TransmitActivity").Return(func(p Packet) (Receipt, error) {
		if p.CurrentRouteProvider == "badRoute" {
			return Receipt{}, testsuite.NewApplicationError("the link dropped", "TransmitFailed")
		}
		return Receipt{}, nil
	})
	out := run(t, env)
	if !reflect.DeepEqual(out.FailedRouteProviders, []string{"badRoute"}) || out.CurrentRouteProvider != "goodRoute" || out.Status != "STATUS_DELIVERED" {
		t.Fatalf("%+v", out)
	}
}

func TestEveryTransmitFails(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment(t, component())
	env.OnActivity("GetRouteActivity").Return("someRoute", nil)
	env.OnActivity("TransmitActivity").Return(nil, testsuite.NewApplicationError("no carrier", "TransmitFailed"))
	out := run(t, env)
	if out.Status != "STATUS_FAILED" {
		t.Fatalf("%+v", out)
	}
	if n := attempts(env, "TransmitActivity"); n != 4 {
		t.Fatalf("%d transmit attempts", n)
	}
}

func TestTransmitThatNeverAcksHitsItsTimeout(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment(t, component())
	env.OnActivity("GetRouteActivity").Return("silentRoute", nil).Once()
	env.OnActivity("GetRouteActivity").Return("goodRoute", nil)
	env.OnActivity("TransmitActivity").Return(nil, testsuite.ErrHang).Once()
	env.OnActivity("TransmitActivity").Return(Receipt{}, nil)
	out := run(t, env)
	if !reflect.DeepEqual(out.FailedRouteProviders, []string{"silentRoute"}) || out.Status != "STATUS_DELIVERED" {
		t.Fatalf("%+v", out)
	}
}

func TestTransmitTooSlowForItsTimeoutMovesOn(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment(t, component())
	env.OnActivity("GetRouteActivity").Return("slowRoute", nil).Once()
	env.OnActivity("GetRouteActivity").Return("slowerRoute", nil)
	env.OnActivity("TransmitActivity").Return(Receipt{}, nil).After(15 * time.Second).Once()
	env.OnActivity("TransmitActivity").Return(Receipt{}, nil).After(8 * time.Second)
	out := run(t, env)
	if !reflect.DeepEqual(out.FailedRouteProviders, []string{"slowRoute"}) || out.CurrentRouteProvider != "slowerRoute" {
		t.Fatalf("%+v", out)
	}
}

func TestGetRouteExhaustsItsRetries(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment(t, component())
	env.OnActivity("GetRouteActivity").Return("", testsuite.NewApplicationError("route service down", "Unavailable"))
	env.ExecuteWorkflow("DataRoutingWorkflow", packet)
	var failure *testsuite.Failure
	if !env.IsWorkflowCompleted() || !errors.As(env.GetWorkflowError(), &failure) {
		t.Fatalf("%v", env.GetWorkflowError())
	}
	if !strings.Contains(failure.Error(), "route service down") {
		t.Fatal(failure.Error())
	}
}

func TestTheTutorialsInputShapeIsAnsweredInItsOutputShape(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment(t, component())
	env.OnActivity("GetRouteActivity").Return("goodRoute", nil)
	env.OnActivity("TransmitActivity").Return(nil, testsuite.NewApplicationError("down", "TransmitFailed"))
	env.ExecuteWorkflow("DataRoutingWorkflow", map[string]any{"Packet": packet, "GetRouteMaxAttempts": 1, "TransmitPacketMaxAttempts": 2})
	var out struct{ Packet Packet }
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Packet.ID != "packet-1" || out.Packet.Status != "STATUS_FAILED" {
		t.Fatalf("%+v", out)
	}
	if n := attempts(env, "TransmitActivity"); n != 2 {
		t.Fatalf("%d transmit attempts", n)
	}
}

func TestInputThatIsNotAPacketFailsTheWorkflowSayingWhy(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment(t, component())
	for _, c := range []struct {
		input any
		says  string
	}{
		{map[string]any{"Source": "s"}, "missing field `ID`"},
		{map[string]any{"ID": 7}, "invalid type"},
		{map[string]any{"ID": "p", "Colour": "red"}, "unknown field `Colour`"},
		{map[string]any{"Packet": map[string]any{"ID": "p"}, "Extra": 1}, "unknown field `Extra`"},
	} {
		env.ExecuteWorkflow("DataRoutingWorkflow", c.input)
		var failure *testsuite.Failure
		if !errors.As(env.GetWorkflowError(), &failure) {
			t.Fatalf("%v: %v", c.input, env.GetWorkflowError())
		}
		if !strings.Contains(failure.Message, c.says) || !failure.NonRetryable || len(env.ActivityCalls()) != 0 {
			t.Fatalf("%v: %+v", c.input, failure)
		}
	}
}
