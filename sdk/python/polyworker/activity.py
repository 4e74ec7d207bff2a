"""Activity authoring, shaped like Temporal's Python SDK: plain functions
decorated with ``@activity.defn``, and ``activity.info()``,
``activity.heartbeat()``, ``activity.is_cancelled()`` inside them. Every
attempt runs in a fresh instance, so the module state belongs to one attempt."""

import base64
import random as _random
from typing import Any, Dict, Optional

from wit_world.imports import activity_host, environment
from wit_world.imports import random as wasi_random

from ._logger import Logger
from .converter import to_payloads

_info = None


def defn(fn=None, *, name: Optional[str] = None):
    """Marks a function as an activity type (named after the function unless ``name``)."""

    def wrap(f):
        f.__polyworker_activity__ = name or f.__name__
        return f

    return wrap(fn) if fn is not None else wrap


class CompleteAsyncError(BaseException):
    """Raised by ``raise_complete_async``: the activity stays pending and is
    completed later by task token."""


def raise_complete_async() -> None:
    raise CompleteAsyncError()


def _current():
    if _info is None:
        raise RuntimeError("activity APIs may only be called from activity code")
    return _info


def info():
    """This attempt's ``activity-info``; ``heartbeat_details`` are decoded values."""
    return _current()


def heartbeat(*details: Any) -> None:
    """Records progress; a retry sees the last details in ``info().heartbeat_details``."""
    _current()
    activity_host.heartbeat(to_payloads(details))


def cancellation_reason() -> Optional[str]:
    """Why the host asked this attempt to stop ("CANCELLED", "TIMED_OUT", ...), or None."""
    _current()
    reason = activity_host.cancellation()
    return None if reason is None else reason.name


def trace_parent() -> Optional[str]:
    """The W3C ``traceparent`` of this attempt (its span, or what scheduled
    it), to forward on the activity's own calls; None without a trace."""
    _current()
    return activity_host.trace_parent()


def is_cancelled() -> bool:
    return cancellation_reason() is not None


def task_token_base64() -> str:
    """The task token (standard base64), for completing the activity elsewhere."""
    return base64.b64encode(_current().task_token).decode()


def env() -> Dict[str, str]:
    """The environment the task queue's configuration grants (``env`` in polyworker.toml)."""
    _current()
    return dict(environment.get_environment())


# Activity logging, tagged by the host with the activity's ids.
logger = Logger(activity_host.log)


def _begin(info) -> None:
    global _info
    _info = info
    # The interpreter was snapshotted at build time with one random state;
    # an attempt gets fresh host randomness.
    _random.seed(int.from_bytes(wasi_random.get_random_bytes(16), "little"))
