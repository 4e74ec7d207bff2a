// Hot-swap fixture in Go, version 1 (the Rust fixture's twin,
// tests/fixtures/versioned-v1): Pinned waits for a "go" signal and answers
// "v1"; Upgrading first sleeps 10 ms, a command later versions must keep.
// Each declares its versioning behaviour.
package main

import (
	"time"

	"wit_component/polyworker"
)

func Pinned(ctx polyworker.Context) (string, error) {
	polyworker.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return "v1", nil
}

func Upgrading(ctx polyworker.Context) (string, error) {
	if err := polyworker.Sleep(ctx, 10*time.Millisecond); err != nil {
		return "", err
	}
	polyworker.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return "v1", nil
}

func init() {
	polyworker.RegisterWorkflowWithOptions(Pinned, polyworker.RegisterOptions{VersioningBehavior: polyworker.VersioningBehaviorPinned})
	polyworker.RegisterWorkflowWithOptions(Upgrading, polyworker.RegisterOptions{VersioningBehavior: polyworker.VersioningBehaviorAutoUpgrade})
}

