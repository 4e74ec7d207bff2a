"""The runtime behind one ``workflow-run`` resource: applies activation
jobs, runs the workflow's tasks until they are blocked, collects commands."""

import random
from typing import Any, Dict, List, Optional

from wit_world.imports import workflow_types as wt

from ._scheduler import Future, Task, drain
from .converter import from_payload, from_payloads, to_payload, to_payloads
from .exceptions import ApplicationError, CancelledError, FailureError, from_failure, to_failure

_current: Optional["Run"] = None


def current() -> "Run":
    if _current is None:
        raise RuntimeError("workflow APIs may only be called from workflow code")
    return _current


def _handlers(cls) -> Dict[str, Dict[str, Any]]:
    table: Dict[str, Dict[str, Any]] = {"signal": {}, "query": {}, "update": {}}
    for attr in dir(cls):
        fn = getattr(cls, attr, None)
        spec = getattr(fn, "__polyworker_handler__", None)
        if spec:
            table[spec[0]][spec[1]] = fn
    return table


def _run_method(cls):
    for attr in dir(cls):
        fn = getattr(cls, attr, None)
        if getattr(fn, "__polyworker_run__", False):
            return fn
    raise TypeError(f"workflow class {cls.__name__} has no @workflow.run method")


class Run:
    def __init__(self, info: wt.WorkflowInfo, cls) -> None:
        global _current
        _current = self
        self.info = info
        self.cls = cls
        self.instance = cls()
        self.handlers = _handlers(cls)
        self.entry = _run_method(cls)
        self.now_ns = info.start_time or 0
        self.counters = {"timer": 0, "activity": 0}
        self.commands: List[wt.Command] = []
        self.timers: Dict[int, Future] = {}
        self.activities: Dict[int, Future] = {}
        self.conditions: List[list] = []
        self.buffered_signals: List[wt.Signal] = []
        self.known_patches: set = set()
        self.patches: Dict[str, bool] = {}
        self.cancel_requested = False
        self.is_replaying = False
        self.main: Optional[Task] = None
        self.finished = False
        self.task_failure: Optional[BaseException] = None
        random.seed(info.randomness_seed)

    def next_seq(self, kind: str) -> int:
        self.counters[kind] += 1
        return self.counters[kind]

    def command(self, cmd: wt.Command) -> None:
        if not self.finished:
            self.commands.append(cmd)

    def patch(self, patch_id: str, deprecated: bool) -> bool:
        if patch_id in self.patches:
            return self.patches[patch_id]
        use = not self.is_replaying or patch_id in self.known_patches
        if use:
            self.command(
                wt.Command_SetPatchMarker(wt.SetPatchMarker(patch_id=patch_id, deprecated=deprecated))
            )
        self.patches[patch_id] = use
        return use

    # ---- the main coroutine ------------------------------------------------

    def start(self) -> None:
        args = from_payloads(self.info.arguments)
        self.main = Task(self.entry(self.instance, *args))
        self.main.add_done_callback(self.main_done)

    def finish(self, cmd: wt.Command) -> None:
        if not self.finished:
            self.commands.append(cmd)
            self.finished = True

    def main_done(self) -> None:
        assert self.main is not None
        err = self.main.exception()
        if err is None:
            self.finish(wt.Command_CompleteWorkflow(to_payload(self.main.result())))
        else:
            self.fail(err)

    def fail(self, err: BaseException) -> None:
        from .workflow import ContinueAsNewError

        if isinstance(err, ContinueAsNewError):
            self.finish(
                wt.Command_ContinueAsNew(
                    wt.ContinueAsNew(
                        workflow_type=err.workflow or "",
                        task_queue=err.task_queue or "",
                        arguments=to_payloads(err.args_),
                        workflow_run_timeout=None,
                        workflow_task_timeout=None,
                        memo=[],
                        headers=[],
                        retry_policy=None,
                    )
                )
            )
        elif isinstance(err, CancelledError) and self.cancel_requested:
            self.finish(wt.Command_CancelWorkflow())
        elif isinstance(err, FailureError):
            self.finish(wt.Command_FailWorkflow(to_failure(err)))
        else:
            # As in Temporal's Python SDK, any other exception is a bug: fail
            # the workflow task (retried once a fix is deployed), not the workflow.
            self.task_failure = err

    # ---- jobs --------------------------------------------------------------

    def deliver_signal(self, s: wt.Signal) -> None:
        h = self.handlers["signal"].get(s.name)
        if h is None:
            self.buffered_signals.append(s)
            return
        try:
            out = h(self.instance, *from_payloads(s.input))
        except BaseException as e:
            self.fail(e)
            return
        if hasattr(out, "send"):
            task = Task(out)
            task.add_done_callback(lambda: task.exception() and self.fail(task.exception()))

    def answer_query(self, q: wt.Query) -> None:
        h = self.handlers["query"].get(q.query_type)
        try:
            if h is None:
                known = ", ".join(self.handlers["query"]) or "none"
                raise ApplicationError(
                    f"unknown query {q.query_type} (known: {known})", type="QueryNotFound"
                )
            answer = wt.QueryAnswer_Succeeded(to_payload(h(self.instance, *from_payloads(q.arguments))))
        except BaseException as e:
            answer = wt.QueryAnswer_Failed(to_failure(e))
        self.commands.append(
            wt.Command_RespondToQuery(wt.RespondToQuery(query_id=q.query_id, answer=answer))
        )

    def run_update(self, u: wt.Update) -> None:
        def respond(outcome: wt.UpdateOutcome) -> None:
            self.command(
                wt.Command_UpdateResponse(
                    wt.UpdateResponse(protocol_instance_id=u.protocol_instance_id, outcome=outcome)
                )
            )

        h = self.handlers["update"].get(u.name)
        args = from_payloads(u.input)
        if h is None:
            err = ApplicationError(f"unknown update {u.name}", type="UpdateNotFound")
            respond(wt.UpdateOutcome_Rejected(to_failure(err)))
            return
        validator = getattr(h, "__polyworker_validator__", None)
        if u.run_validator and validator is not None:
            try:
                validator(self.instance, *args)
            except BaseException as e:
                respond(wt.UpdateOutcome_Rejected(to_failure(e)))
                return
        respond(wt.UpdateOutcome_Accepted())

        async def body() -> Any:
            out = h(self.instance, *args)
            return (await out) if hasattr(out, "__await__") else out

        task = Task(body())

        def done() -> None:
            if task.exception() is None:
                respond(wt.UpdateOutcome_Completed(to_payload(task.result())))
            else:
                respond(wt.UpdateOutcome_Rejected(to_failure(task.exception())))

        task.add_done_callback(done)

    def cancel(self, reason: str) -> None:
        self.cancel_requested = True
        for seq, fut in list(self.timers.items()):
            self.command(wt.Command_CancelTimer(seq))
            fut.set_exception(CancelledError(reason or "workflow cancelled"))
        self.timers.clear()
        # Activity futures settle when core resolves them as cancelled.
        for seq in self.activities:
            self.command(wt.Command_RequestCancelActivity(seq))

    def resolve_activity(self, r: wt.ResolveActivity) -> None:
        fut = self.activities.pop(r.seq, None)
        if fut is None:
            raise RuntimeError(f"no activity with seq {r.seq}")
        res = r.resolution
        if isinstance(res, wt.ActivityResolution_Completed):
            fut.set_result(None if res.value is None else from_payload(res.value))
        elif isinstance(res, (wt.ActivityResolution_Failed, wt.ActivityResolution_Cancelled)):
            fut.set_exception(from_failure(res.value))
        else:
            fut.set_exception(RuntimeError(f"unexpected activity resolution {res!r}"))

    def apply(self, job: wt.Job) -> None:
        if isinstance(job, wt.Job_FireTimer):
            fut = self.timers.pop(job.value, None)
            if fut is None:
                raise RuntimeError(f"no timer with seq {job.value}")
            fut.set_result(None)
        elif isinstance(job, wt.Job_ResolveActivity):
            self.resolve_activity(job.value)
        elif isinstance(job, wt.Job_Signal):
            self.deliver_signal(job.value)
        elif isinstance(job, wt.Job_Query):
            self.answer_query(job.value)
        elif isinstance(job, wt.Job_Update):
            self.run_update(job.value)
        elif isinstance(job, wt.Job_Cancel):
            self.cancel(job.value)
        elif isinstance(job, wt.Job_NotifyHasPatch):
            self.known_patches.add(job.value)
        elif isinstance(job, wt.Job_UpdateRandomSeed):
            random.seed(job.value)
        else:
            raise RuntimeError(f"the Python SDK does not handle {type(job).__name__} jobs yet")

    def settle(self) -> None:
        while True:
            drain()
            woke = False
            for waiter in list(self.conditions):
                fn, fut, timer_seq = waiter
                if fn():
                    self.conditions.remove(waiter)
                    if timer_seq is not None and timer_seq in self.timers:
                        self.command(wt.Command_CancelTimer(timer_seq))
                        del self.timers[timer_seq]
                    fut.set_result(None)
                    woke = True
            if not woke:
                return

    def activate(self, activation: wt.Activation) -> List[wt.Command]:
        self.now_ns = activation.timestamp
        self.is_replaying = activation.is_replaying
        jobs = activation.jobs
        i = 0
        while i < len(jobs) and isinstance(jobs[i], (wt.Job_NotifyHasPatch, wt.Job_UpdateRandomSeed)):
            self.apply(jobs[i])
            i += 1
        if self.main is None:
            self.start()
        for job in jobs[i:]:
            self.apply(job)
        self.settle()
        if self.task_failure is not None:
            err, self.task_failure = self.task_failure, None
            raise err
        out, self.commands = self.commands, []
        return out
