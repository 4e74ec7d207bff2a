// The data-routing example in Go: the same workflow and activity types,
// inputs and outputs as the Rust example (examples/data-routing). Workflow
// code blocks on futures, as in Temporal's Go SDK; the SDK's scheduler runs
// it deterministically.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"time"

	"wit_component/polyworker"
)

var providers = []string{"RouteA", "RouteB", "RouteC", "RouteD", "RouteE"}

type Packet struct {
	ID                   string   `json:"ID"`
	Source               string   `json:"Source"`
	Destination          string   `json:"Destination"`
	Contents             string   `json:"Contents"`
	FailedRouteProviders []string `json:"FailedRouteProviders"`
	CurrentRouteProvider string   `json:"CurrentRouteProvider"`
	Status               string   `json:"Status"`
}

type RoutingOptions struct {
	RouteMaxAttempts       int32    `json:"RouteMaxAttempts"`
	TransmitMaxAttempts    int      `json:"TransmitMaxAttempts"`
	TransmitTimeoutSeconds int      `json:"TransmitTimeoutSeconds"`
	Providers              []string `json:"Providers"`
}

type RouteRequest struct {
	Packet    Packet   `json:"Packet"`
	Providers []string `json:"Providers"`
}

type TransmitReceipt struct {
	Provider string `json:"Provider"`
	Status   string `json:"Status"`
}

func atLeastOne[T int | int32](v, otherwise T) T {
	if v == 0 {
		v = otherwise
	}
	if v < 1 {
		return 1
	}
	return v
}

// DataRoutingWorkflow finds a route, transmits, and on a transmit failure
// tries the next provider; it answers in the shape its input came in.
func DataRoutingWorkflow(ctx polyworker.Context, input json.RawMessage, options *RoutingOptions) (any, error) {
	packet, options, tutorial, err := parseInput(input, options)
	if err != nil {
		return nil, err
	}
	packet, err = route(ctx, packet, options)
	if err != nil {
		return nil, err
	}
	if tutorial {
		return DataRoutingOutput{packet}, nil
	}
	return packet, nil
}

func route(ctx polyworker.Context, packet Packet, options *RoutingOptions) (Packet, error) {
	if packet.FailedRouteProviders == nil {
		packet.FailedRouteProviders = []string{}
	}
	candidates := options.Providers
	if len(candidates) == 0 {
		candidates = providers
	}
	routeCtx := polyworker.WithActivityOptions(ctx, polyworker.ActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy: &polyworker.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        2 * time.Second,
			MaximumAttempts:        atLeastOne(options.RouteMaxAttempts, 3),
			NonRetryableErrorTypes: []string{"NoRouteAvailable"},
		},
	})
	// One attempt per provider: on failure, move on to the next.
	transmitCtx := polyworker.WithActivityOptions(ctx, polyworker.ActivityOptions{
		StartToCloseTimeout: time.Duration(atLeastOne(options.TransmitTimeoutSeconds, 10)) * time.Second,
		RetryPolicy:         &polyworker.RetryPolicy{MaximumAttempts: 1},
	})
	log := polyworker.GetLogger(ctx)
	for attempt := 1; attempt <= atLeastOne(options.TransmitMaxAttempts, 4); attempt++ {
		var provider string
		err := polyworker.ExecuteActivity(routeCtx, "GetRouteActivity", RouteRequest{packet, candidates}).Get(ctx, &provider)
		var app *polyworker.ApplicationError
		if errors.As(err, &app) && app.Type == "NoRouteAvailable" {
			break
		}
		if err != nil {
			return packet, err
		}
		packet.CurrentRouteProvider = provider
		log.Info("transmit attempt", "packet", packet.ID, "attempt", attempt, "provider", provider)
		var receipt *TransmitReceipt
		if err := polyworker.ExecuteActivity(transmitCtx, "TransmitActivity", packet).Get(ctx, &receipt); err != nil {
			log.Info("transmit failed", "provider", provider, "error", err.Error())
			packet.FailedRouteProviders = append(packet.FailedRouteProviders, provider)
			continue
		}
		packet.Status = "STATUS_DELIVERED"
		if receipt != nil && receipt.Status != "" {
			packet.Status = receipt.Status
		}
		return packet, nil
	}
	packet.Status = "STATUS_FAILED"
	return packet, nil
}

func setting(name string, otherwise float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return otherwise
}

// GetRouteActivity picks the first provider (in preference order) that has
// not failed yet. The first ROUTE_FAIL_FIRST_ATTEMPTS attempts always fail
// (for tests), later ones with probability ROUTE_ERROR_CHANCE (default 0.1).
func GetRouteActivity(ctx context.Context, request RouteRequest) (string, error) {
	attempt := polyworker.GetActivityInfo(ctx).Attempt
	if float64(attempt) <= setting("ROUTE_FAIL_FIRST_ATTEMPTS", 0) || rand.Float64() < setting("ROUTE_ERROR_CHANCE", 0.1) {
		return "", polyworker.NewApplicationError(fmt.Sprintf("route service unreachable (attempt %d)", attempt), "NetworkError")
	}
	for _, p := range request.Providers {
		tried := false
		for _, f := range request.Packet.FailedRouteProviders {
			tried = tried || f == p
		}
		if !tried {
			return p, nil
		}
	}
	return "", polyworker.NewNonRetryableApplicationError(
		"no route available: every provider failed ("+strings.Join(request.Packet.FailedRouteProviders, ", ")+")",
		"NoRouteAvailable")
}

// TransmitActivity posts the packet and the task token to the transmit
// service and leaves the activity pending: the service completes it.
func TransmitActivity(ctx context.Context, packet Packet) (*TransmitReceipt, error) {
	base := os.Getenv("TRANSMIT_SERVICE_URL")
	if base == "" {
		return nil, polyworker.NewNonRetryableApplicationError(
			"TRANSMIT_SERVICE_URL is not set in this task queue's environment", "ConfigurationError")
	}
	body, err := json.Marshal(map[string]any{"Packet": packet, "TaskToken": polyworker.TaskTokenBase64(ctx)})
	if err != nil {
		return nil, err
	}
	resp, err := polyworker.HTTPPost(strings.TrimRight(base, "/")+"/transmit", "application/json", body)
	if err != nil {
		return nil, polyworker.NewApplicationError(err.Error(), "NetworkError")
	}
	if resp.Status < 200 || resp.Status >= 300 {
		return nil, polyworker.NewApplicationError(
			fmt.Sprintf("transmit service answered %d: %s", resp.Status, resp.Body), "TransmitRejected")
	}
	polyworker.ActivityLog(ctx, "packet handed to the transmit service", "packet", packet.ID, "provider", packet.CurrentRouteProvider)
	return nil, polyworker.ErrResultPending
}

func init() {
	polyworker.RegisterWorkflowWithName("DataRoutingWorkflow", DataRoutingWorkflow)
	polyworker.RegisterActivityWithName("GetRouteActivity", GetRouteActivity)
	polyworker.RegisterActivityWithName("TransmitActivity", TransmitActivity)
}
