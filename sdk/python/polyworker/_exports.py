"""The component's exports: what the host calls. ``register`` fills the
registry; ``Workflows``/``Activities``/``Versioning`` (re-exported by the
app module, or by the build's entry module for it) and
``WorkflowRun`` (re-exported by the top-level ``workflows`` module, where
componentize-py looks for it) read it."""

import dataclasses
from typing import Any, Callable, Dict, Iterable, List, Tuple

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import versioning as versioning_exports
from wit_world.exports import workflows as workflow_exports
from wit_world.imports import activity_types as at
from wit_world.imports import types as t
from wit_world.imports import workflow_types as wt

from . import _run, activity
from .common import VersioningBehavior
from ._scheduler import Task, drain
from .converter import from_payloads, to_payload, to_payloads
from .exceptions import ApplicationError, CancelledError, application_info, to_failure

_workflows: Dict[str, type] = {}
_activities: Dict[str, Callable[..., Any]] = {}


def register(workflows: Iterable[type] = (), activities: Iterable[Callable[..., Any]] = ()) -> None:
    """Makes workflow classes and activity functions available to the host."""
    for cls in workflows:
        name = getattr(cls, "__polyworker_workflow__", None)
        if name is None:
            raise TypeError(f"{cls.__name__} is not decorated with @workflow.defn")
        _workflows[name] = cls
    for fn in activities:
        _activities[getattr(fn, "__polyworker_activity__", fn.__name__)] = fn


class Workflows(exports.Workflows):
    def workflow_types(self) -> List[str]:
        return list(_workflows)


_WIT_BEHAVIOR = {
    VersioningBehavior.PINNED: versioning_exports.VersioningBehavior.PINNED,
    VersioningBehavior.AUTO_UPGRADE: versioning_exports.VersioningBehavior.AUTO_UPGRADE,
}


class Versioning(exports.Versioning):
    def workflow_versioning(self) -> List[Tuple[str, versioning_exports.VersioningBehavior]]:
        declared = ((n, getattr(c, "__polyworker_versioning__", None)) for n, c in _workflows.items())
        return [(n, _WIT_BEHAVIOR[b]) for n, b in declared if b in _WIT_BEHAVIOR]


class WorkflowRun(workflow_exports.WorkflowRun):
    @classmethod
    def create(cls, info: wt.WorkflowInfo) -> "WorkflowRun":
        wf = _workflows.get(info.workflow_type)
        if wf is None:
            err = ApplicationError(
                f"this component has no workflow {info.workflow_type} "
                f"(it has: {', '.join(_workflows) or 'none'})",
                type="WorkflowNotFound",
                non_retryable=True,
            )
            raise Err(to_failure(err))
        run = cls()
        run._run = _run.Run(info, wf)
        return run

    def activate(self, activation: wt.Activation) -> List[wt.Command]:
        try:
            return self._run.activate(activation)
        except BaseException as e:
            raise Err(to_failure(e))


def _error(err: BaseException) -> Err:
    if isinstance(err, CancelledError):
        return Err(at.ActivityError_Cancelled(to_payloads(err.details)))
    return Err(
        at.ActivityError_Failed(at.ActivityErrorDetail(message=str(err), info=application_info(err)))
    )


class Activities(exports.Activities):
    def activity_types(self) -> List[str]:
        return list(_activities)

    def execute(self, info: at.ActivityInfo, input: List[t.Payload]) -> at.ActivityOutcome:
        fn = _activities.get(info.activity_type)
        if fn is None:
            raise _error(
                ApplicationError(
                    f"this component has no activity {info.activity_type}",
                    type="ActivityNotFound",
                    non_retryable=True,
                )
            )
        activity._begin(
            dataclasses.replace(info, heartbeat_details=from_payloads(info.heartbeat_details))
        )
        try:
            result = fn(*from_payloads(input))
            if hasattr(result, "send"):
                # An async activity: what it awaits is synchronous underneath.
                task = Task(result)
                drain()
                if not task.done():
                    raise RuntimeError("the activity awaited something that cannot complete")
                result = task.result()
        except activity.CompleteAsyncError:
            return at.ActivityOutcome_Pending()
        except BaseException as e:
            raise _error(e)
        return at.ActivityOutcome_Completed(to_payload(result))
