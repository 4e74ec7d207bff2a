// The `workflows` export, delegating to the SDK. It sits beside the bindings
// `polyworker-go generate` writes into this package.
package export_polyworker_worker_workflows

import (
	"runtime"

	"wit_component/polyworker"
	"wit_component/polyworker_worker_types"
	wt "wit_component/polyworker_worker_workflow_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

type WorkflowRun struct {
	handle int32
	pinner runtime.Pinner
	run    *polyworker.Run
}

func (r *WorkflowRun) OnDrop() {}

func WorkflowTypes() []string { return polyworker.WorkflowTypes() }

func WorkflowRunCreate(info wt.WorkflowInfo) witTypes.Result[*WorkflowRun, polyworker_worker_types.Failure] {
	run, f := polyworker.NewRun(info)
	if f != nil {
		return witTypes.Err[*WorkflowRun, polyworker_worker_types.Failure](*f)
	}
	return witTypes.Ok[*WorkflowRun, polyworker_worker_types.Failure](&WorkflowRun{run: run})
}

func (r *WorkflowRun) Activate(a wt.Activation) witTypes.Result[[]wt.Command, polyworker_worker_types.Failure] {
	cmds, f := r.run.Activate(a)
	if f != nil {
		return witTypes.Err[[]wt.Command, polyworker_worker_types.Failure](*f)
	}
	return witTypes.Ok[[]wt.Command, polyworker_worker_types.Failure](cmds)
}
