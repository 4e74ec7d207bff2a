"""Workflow authoring, shaped like Temporal's Python SDK: a class decorated
with ``@workflow.defn``, an ``async`` ``@workflow.run`` method, and
``@workflow.signal`` / ``@workflow.query`` / ``@workflow.update`` handlers.

The host gives every cached run its own component instance, so the module
state here belongs to one run. ``time.time()`` reads workflow time and
``random`` is seeded from the run, as in every polyworker guest.
"""

import random as _random
import uuid as _uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional, Sequence, Union

from wit_world.imports import types as t
from wit_world.imports import workflow_host
from wit_world.imports import workflow_types as wt

from ._run import current
from .common import VersioningBehavior
from ._scheduler import Future, gather  # noqa: F401 - part of the API
from ._logger import Logger
from .converter import to_payloads
from .exceptions import ApplicationError  # noqa: F401 - convenience

Duration = Union[timedelta, float, int]


def _nanos(d: Optional[Duration]) -> Optional[int]:
    if d is None:
        return None
    seconds = d.total_seconds() if isinstance(d, timedelta) else float(d)
    if seconds < 0:
        raise ValueError(f"negative duration {d!r}")
    return int(seconds * 1e9)


# ---- definitions -----------------------------------------------------------


def defn(
    cls=None,
    *,
    name: Optional[str] = None,
    versioning_behavior: VersioningBehavior = VersioningBehavior.UNSPECIFIED,
):
    """Marks a class as a workflow type (named after the class unless
    ``name``); ``versioning_behavior`` says how its runs move between module
    versions (unspecified: the host's default)."""
    behavior = VersioningBehavior(versioning_behavior)

    def wrap(c):
        c.__polyworker_workflow__ = name or c.__name__
        c.__polyworker_versioning__ = behavior
        return c

    return wrap(cls) if cls is not None else wrap


def run(fn):
    """Marks the workflow's entry method (``async def``)."""
    fn.__polyworker_run__ = True
    return fn


def _handler(kind: str):
    def decorator(fn=None, *, name: Optional[str] = None):
        def wrap(f):
            f.__polyworker_handler__ = (kind, name or f.__name__)
            if kind == "update":

                def validator(v):
                    f.__polyworker_validator__ = v
                    return v

                f.validator = validator
            return f

        return wrap(fn) if fn is not None else wrap

    return decorator


signal = _handler("signal")
query = _handler("query")
update = _handler("update")


# ---- the API ---------------------------------------------------------------


def info():
    """The run's ``workflow-info`` (ids, type, task queue, attempt, ...)."""
    return current().info


def now() -> datetime:
    """Workflow time (the time of the workflow task being processed)."""
    return datetime.fromtimestamp(current().now_ns / 1e9, tz=timezone.utc)


def is_cancellation_requested() -> bool:
    return current().cancel_requested


def sleep(duration: Duration) -> Future:
    """A durable timer: ``await workflow.sleep(timedelta(minutes=5))``."""
    r = current()
    seq = r.next_seq("timer")
    r.command(wt.Command_StartTimer(wt.StartTimer(seq=seq, duration=_nanos(duration) or 0)))
    fut = Future()
    r.timers[seq] = fut
    return fut


class RetryPolicy:
    """How the server retries an activity (unset fields take its defaults)."""

    def __init__(
        self,
        initial_interval: Optional[Duration] = None,
        backoff_coefficient: Optional[float] = None,
        maximum_interval: Optional[Duration] = None,
        maximum_attempts: int = 0,
        non_retryable_error_types: Sequence[str] = (),
    ):
        self.initial_interval = initial_interval
        self.backoff_coefficient = backoff_coefficient
        self.maximum_interval = maximum_interval
        self.maximum_attempts = maximum_attempts
        self.non_retryable_error_types = list(non_retryable_error_types)

    def _wit(self) -> t.RetryPolicy:
        return t.RetryPolicy(
            initial_interval=_nanos(self.initial_interval),
            backoff_coefficient=self.backoff_coefficient,
            maximum_interval=_nanos(self.maximum_interval),
            maximum_attempts=self.maximum_attempts,
            non_retryable_error_types=self.non_retryable_error_types,
        )


ActivityCancellationType = wt.ActivityCancellationType

_MISSING = object()


def execute_activity(
    activity: Union[str, Callable[..., Any]],
    arg: Any = _MISSING,
    *,
    args: Sequence[Any] = (),
    task_queue: Optional[str] = None,
    schedule_to_close_timeout: Optional[Duration] = None,
    schedule_to_start_timeout: Optional[Duration] = None,
    start_to_close_timeout: Optional[Duration] = None,
    heartbeat_timeout: Optional[Duration] = None,
    retry_policy: Optional[RetryPolicy] = None,
    cancellation_type: wt.ActivityCancellationType = wt.ActivityCancellationType.TRY_CANCEL,
    activity_id: Optional[str] = None,
) -> Future:
    """Runs an activity (by name or ``@activity.defn`` function); awaiting
    the result raises ``ActivityError`` if it failed."""
    name = activity if isinstance(activity, str) else getattr(
        activity, "__polyworker_activity__", getattr(activity, "__name__", str(activity))
    )
    if start_to_close_timeout is None and schedule_to_close_timeout is None:
        raise ValueError(
            f"activity {name}: set start_to_close_timeout or schedule_to_close_timeout"
        )
    all_args = ([arg] if arg is not _MISSING else []) + list(args)
    r = current()
    seq = r.next_seq("activity")
    r.command(
        wt.Command_ScheduleActivity(
            wt.ScheduleActivity(
                seq=seq,
                activity_id=activity_id or str(seq),
                activity_type=name,
                task_queue=task_queue or "",
                arguments=to_payloads(all_args),
                headers=[],
                schedule_to_close_timeout=_nanos(schedule_to_close_timeout),
                schedule_to_start_timeout=_nanos(schedule_to_start_timeout),
                start_to_close_timeout=_nanos(start_to_close_timeout),
                heartbeat_timeout=_nanos(heartbeat_timeout),
                retry_policy=retry_policy._wit() if retry_policy else None,
                cancellation_type=cancellation_type,
            )
        )
    )
    fut = Future()
    r.activities[seq] = fut
    return fut


async def wait_condition(fn: Callable[[], bool], *, timeout: Optional[Duration] = None) -> None:
    """Returns once ``fn()`` is true; raises ``TimeoutError`` (the builtin)
    if ``timeout`` passes first."""
    r = current()
    if fn():
        return
    fut = Future()
    waiter = [fn, fut, None]
    r.conditions.append(waiter)
    if timeout is not None:
        timer = sleep(timeout)
        waiter[2] = r.counters["timer"]

        def expire() -> None:
            if waiter in r.conditions and timer.exception() is None:
                r.conditions.remove(waiter)
                fut.set_exception(TimeoutError("wait_condition timed out"))

        timer.add_done_callback(expire)
    await fut


def patched(patch_id: str) -> bool:
    """Whether this run takes the new code path of change ``patch_id``."""
    return current().patch(patch_id, deprecated=False)


def deprecate_patch(patch_id: str) -> None:
    """Marks that no run without ``patch_id`` is still open."""
    current().patch(patch_id, deprecated=True)


class ContinueAsNewError(BaseException):
    """Raised by ``continue_as_new``; ends the run and starts a new one."""

    def __init__(self, args: Sequence[Any], workflow: Optional[str], task_queue: Optional[str]):
        super().__init__("continue as new")
        self.args_ = list(args)
        self.workflow = workflow
        self.task_queue = task_queue


def continue_as_new(
    arg: Any = _MISSING,
    *,
    args: Sequence[Any] = (),
    workflow: Optional[str] = None,
    task_queue: Optional[str] = None,
):
    """Ends this run and continues the workflow as a new run."""
    all_args = ([arg] if arg is not _MISSING else []) + list(args)
    raise ContinueAsNewError(all_args, workflow, task_queue)


def uuid4() -> _uuid.UUID:
    """A UUID from the run's seeded randomness: the same on replay."""
    return _uuid.UUID(int=_random.getrandbits(128), version=4)


# Workflow logging through the host; lines are dropped while replaying.
logger = Logger(workflow_host.log)
