// Hot-swap fixture in Go, version 2: Pinned starts with a timer version 1
// did not have (fine: pinned runs never move); Upgrading guards its change
// with a patch, so runs started on version 1 move here and take it.
package main

import (
	"time"

	"wit_component/polyworker"
)

func Pinned(ctx polyworker.Context) (string, error) {
	if err := polyworker.Sleep(ctx, 10*time.Millisecond); err != nil {
		return "", err
	}
	polyworker.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return "v2", nil
}

func Upgrading(ctx polyworker.Context) (string, error) {
	if err := polyworker.Sleep(ctx, 10*time.Millisecond); err != nil {
		return "", err
	}
	polyworker.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	if polyworker.Patched(ctx, "answer-v2") {
		return "v2", nil
	}
	return "v1", nil
}

func init() {
	polyworker.RegisterWorkflowWithOptions(Pinned, polyworker.RegisterOptions{VersioningBehavior: polyworker.VersioningBehaviorPinned})
	polyworker.RegisterWorkflowWithOptions(Upgrading, polyworker.RegisterOptions{VersioningBehavior: polyworker.VersioningBehaviorAutoUpgrade})
}

