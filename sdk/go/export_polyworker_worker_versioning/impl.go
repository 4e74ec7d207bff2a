// The `versioning` export, delegating to the SDK. It sits beside the
// bindings `polyworker-go generate` writes into this package.
package export_polyworker_worker_versioning

import (
	"wit_component/polyworker"
	v "wit_component/polyworker_worker_versioning"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

func WorkflowVersioning() []witTypes.Tuple2[string, v.VersioningBehavior] {
	declared := polyworker.WorkflowVersioning()
	out := make([]witTypes.Tuple2[string, v.VersioningBehavior], 0, len(declared))
	for _, d := range declared {
		b := v.VersioningBehaviorPinned
		if d.Behavior == polyworker.VersioningBehaviorAutoUpgrade {
			b = v.VersioningBehaviorAutoUpgrade
		}
		out = append(out, witTypes.Tuple2[string, v.VersioningBehavior]{F0: d.WorkflowType, F1: b})
	}
	return out
}
