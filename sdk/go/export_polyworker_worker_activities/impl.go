// The `activities` export, delegating to the SDK. It sits beside the bindings
// `polyworker-go generate` writes into this package.
package export_polyworker_worker_activities

import (
	"wit_component/polyworker"
	at "wit_component/polyworker_worker_activity_types"
	"wit_component/polyworker_worker_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

func ActivityTypes() []string { return polyworker.ActivityTypes() }

func Execute(info at.ActivityInfo, input []polyworker_worker_types.Payload) witTypes.Result[at.ActivityOutcome, at.ActivityError] {
	out, f := polyworker.Execute(info, input)
	if f != nil {
		return witTypes.Err[at.ActivityOutcome, at.ActivityError](*f)
	}
	return witTypes.Ok[at.ActivityOutcome, at.ActivityError](out)
}
