package polyworker

import (
	"reflect"
	"time"

	wt "wit_component/polyworker_worker_workflow_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

func (r *run) answerQuery(q wt.Query) {
	answer := func() wt.QueryAnswer {
		h, ok := r.queries[q.QueryType]
		if !ok {
			return wt.MakeQueryAnswerFailed(*failureRecord("unknown query "+q.QueryType, "QueryNotFound", true))
		}
		t := h.Type()
		types := make([]reflect.Type, t.NumIn())
		for i := range types {
			types[i] = t.In(i)
		}
		args, err := decodeArgs(q.Arguments, types)
		if err != nil {
			return wt.MakeQueryAnswerFailed(toFailure(err))
		}
		out := h.Call(args)
		if e := out[1]; !e.IsNil() {
			return wt.MakeQueryAnswerFailed(toFailure(e.Interface().(error)))
		}
		p, err := toPayload(out[0].Interface())
		if err != nil {
			return wt.MakeQueryAnswerFailed(toFailure(err))
		}
		return wt.MakeQueryAnswerSucceeded(p)
	}()
	// Queries are answered even after the run finished.
	r.commands = append(r.commands, wt.MakeCommandRespondToQuery(wt.RespondToQuery{QueryId: q.QueryId, Answer: answer}))
}

func (r *run) cancel() {
	r.cancelled = true
	for seq, f := range r.timers {
		r.command(wt.MakeCommandCancelTimer(seq))
		f.settle(nil, &CanceledError{Message: "cancelled"})
	}
	r.timers = map[uint32]*Future{}
	// Activities settle when core resolves them as cancelled.
	for seq := range r.activities {
		r.command(wt.MakeCommandRequestCancelActivity(seq))
	}
}

func (r *run) apply(job wt.Job) {
	switch job.Tag() {
	case wt.JobFireTimer:
		if f, ok := r.timers[job.FireTimer()]; ok {
			delete(r.timers, job.FireTimer())
			f.settle(nil, nil)
		}
	case wt.JobResolveActivity:
		ra := job.ResolveActivity()
		f, ok := r.activities[ra.Seq]
		if !ok {
			return
		}
		delete(r.activities, ra.Seq)
		switch res := ra.Resolution; res.Tag() {
		case wt.ActivityResolutionCompleted:
			if p := res.Completed(); p.IsSome() {
				v := p.Some()
				f.settle(&v, nil)
			} else {
				f.settle(nil, nil)
			}
		case wt.ActivityResolutionFailed:
			f.settle(nil, fromFailure(res.Failed()))
		case wt.ActivityResolutionCancelled:
			f.settle(nil, fromFailure(res.Cancelled()))
		}
	case wt.JobSignal:
		s := job.Signal()
		var first payload
		if len(s.Input) > 0 {
			first = s.Input[0]
		} else {
			first, _ = toPayload(nil)
		}
		r.signals[s.Name] = append(r.signals[s.Name], first)
	case wt.JobQuery:
		r.answerQuery(job.Query())
	case wt.JobCancel:
		r.cancel()
	case wt.JobNotifyHasPatch:
		r.known[job.NotifyHasPatch()] = true
	case wt.JobUpdate:
		r.pendingUpdates = append(r.pendingUpdates, job.Update())
	}
}

// Activate applies an activation's jobs, runs the workflow until it is
// blocked, and returns the new commands; a failure fails the task.
func (run_ *Run) Activate(a wt.Activation) ([]wt.Command, *failure) {
	r := run_.r
	r.now = time.Unix(0, int64(a.Timestamp))
	r.replaying = a.IsReplaying
	i := 0
	for ; i < len(a.Jobs) && a.Jobs[i].Tag() == wt.JobNotifyHasPatch; i++ {
		r.apply(a.Jobs[i])
	}
	if !r.started {
		r.started = true
		r.start()
	}
	for ; i < len(a.Jobs); i++ {
		r.apply(a.Jobs[i])
	}
	r.runUntilBlocked()
	for len(r.pendingUpdates) > 0 && r.taskFailure == nil {
		r.dispatchUpdates()
		r.runUntilBlocked()
	}
	if r.taskFailure != nil {
		f := toFailure(r.taskFailure)
		r.taskFailure = nil
		return nil, &f
	}
	out := r.commands
	r.commands = nil
	if out == nil {
		out = []wt.Command{}
	}
	return out, nil
}

var _ = witTypes.None[uint64]
