package polyworker

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
)

// VersioningBehavior says how runs of a workflow type move between module
// versions when a new one becomes current on the task queue (Temporal's
// Worker Versioning), as in the Go SDK's workflow.VersioningBehavior.
type VersioningBehavior int

const (
	// VersioningBehaviorUnspecified leaves the type to the host's
	// configured default_versioning.
	VersioningBehaviorUnspecified VersioningBehavior = iota
	// VersioningBehaviorPinned keeps a run on the version it started on.
	VersioningBehaviorPinned
	// VersioningBehaviorAutoUpgrade moves a run to the current version at
	// its next workflow task; changed code must be guarded with Patched.
	VersioningBehaviorAutoUpgrade
)

// RegisterOptions as in the Go SDK's workflow.RegisterOptions.
type RegisterOptions struct {
	// The workflow type's name; empty means the function's name.
	Name               string
	VersioningBehavior VersioningBehavior
}

var versioning = map[string]VersioningBehavior{}

// RegisterWorkflowWithOptions registers fn (see RegisterWorkflowWithName)
// under options.Name, declaring its versioning behaviour.
func RegisterWorkflowWithOptions(fn any, options RegisterOptions) {
	name := options.Name
	if name == "" {
		name = funcName(fn)
	}
	RegisterWorkflowWithName(name, fn)
	switch options.VersioningBehavior {
	case VersioningBehaviorUnspecified:
		delete(versioning, name)
	case VersioningBehaviorPinned, VersioningBehaviorAutoUpgrade:
		versioning[name] = options.VersioningBehavior
	default:
		panic(fmt.Sprintf("workflow %s: unknown versioning behaviour %d", name, options.VersioningBehavior))
	}
}

// funcName is a function's own name, without its package path.
func funcName(fn any) string {
	full := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	return full[strings.LastIndex(full, ".")+1:]
}

// DeclaredVersioning is one workflow type's declared behaviour.
type DeclaredVersioning struct {
	WorkflowType string
	Behavior     VersioningBehavior
}

// WorkflowVersioning lists the declared behaviours in registration order
// (for the exports).
func WorkflowVersioning() []DeclaredVersioning {
	out := []DeclaredVersioning{}
	for _, name := range workflowOrder {
		if b, ok := versioning[name]; ok {
			out = append(out, DeclaredVersioning{name, b})
		}
	}
	return out
}
