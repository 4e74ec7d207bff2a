"""Errors in Temporal's vocabulary (named as in Temporal's Python SDK) and
their WIT ``failure`` records."""

import traceback
from datetime import timedelta
from typing import Any, List, Optional

from wit_world.imports import types as t

from .converter import from_payloads, to_payloads


class FailureError(Exception):
    """Base class of failures Temporal carries across process boundaries."""

    def __init__(self, message: str, cause: Optional[BaseException] = None):
        super().__init__(message)
        self.message = message
        self.__cause__ = cause

    @property
    def cause(self) -> Optional[BaseException]:
        return self.__cause__


class ApplicationError(FailureError):
    """Raised on purpose by workflow or activity code. From a workflow it fails
    the workflow; from an activity it fails the attempt (retried unless
    ``non_retryable`` or its type is listed as non-retryable)."""

    def __init__(
        self,
        message: str,
        *details: Any,
        type: Optional[str] = None,
        non_retryable: bool = False,
        next_retry_delay: Optional[timedelta] = None,
    ):
        super().__init__(message)
        self.details = list(details)
        self.type = type or "Error"
        self.non_retryable = non_retryable
        self.next_retry_delay = next_retry_delay


class CancelledError(FailureError):
    """The operation (workflow, activity, timer) was cancelled."""

    def __init__(self, message: str = "cancelled", *details: Any):
        super().__init__(message)
        self.details = list(details)


class ActivityError(FailureError):
    """An activity failed; ``cause`` says why (an ApplicationError, a timeout, ...)."""

    def __init__(self, message, activity_type, activity_id, retry_state, cause=None):
        super().__init__(message, cause)
        self.activity_type = activity_type
        self.activity_id = activity_id
        self.retry_state = retry_state


class TimeoutError(FailureError):  # noqa: A001 - Temporal's name
    def __init__(self, message, timeout_type, last_heartbeat_details=()):
        super().__init__(message)
        self.timeout_type = timeout_type
        self.last_heartbeat_details = list(last_heartbeat_details)


class ServerError(FailureError):
    """Any other failure the server reported (terminated, server error, ...)."""


def _link(message: str, kind: t.FailureKind, cause: Optional[BaseException]) -> FailureError:
    if isinstance(kind, t.FailureKind_Application):
        a = kind.value
        e: FailureError = ApplicationError(
            message, *from_payloads(a.details), type=a.type, non_retryable=a.non_retryable
        )
        e.__cause__ = cause
        return e
    if isinstance(kind, t.FailureKind_Cancelled):
        return CancelledError(message, *from_payloads(kind.value))
    if isinstance(kind, t.FailureKind_Timeout):
        tt, details = kind.value
        return TimeoutError(message, tt.name, from_payloads(details))
    if isinstance(kind, t.FailureKind_Activity):
        a = kind.value
        return ActivityError(message, a.activity_type, a.activity_id, a.retry_state.name, cause)
    return ServerError(message, cause)


def from_failure(failure: t.Failure) -> FailureError:
    cause: Optional[BaseException] = None
    for c in reversed(failure.causes):
        cause = _link(c.message, c.kind, cause)
    return _link(failure.message, failure.kind, cause)


def _nanos(d: Optional[timedelta]) -> Optional[int]:
    return None if d is None else int(d.total_seconds() * 1e9)


def application_info(err: BaseException) -> t.ApplicationFailure:
    if isinstance(err, ApplicationError):
        return t.ApplicationFailure(
            type=err.type,
            non_retryable=err.non_retryable,
            details=to_payloads(err.details),
            next_retry_delay=_nanos(err.next_retry_delay),
        )
    return t.ApplicationFailure(
        type=type(err).__name__, non_retryable=False, details=[], next_retry_delay=None
    )


def _kind(err: BaseException) -> t.FailureKind:
    if isinstance(err, CancelledError):
        return t.FailureKind_Cancelled(to_payloads(err.details))
    return t.FailureKind_Application(application_info(err))


def _stack(err: BaseException) -> str:
    return "".join(traceback.format_exception(type(err), err, err.__traceback__))


def to_failure(err: BaseException) -> t.Failure:
    causes: List[t.FailureCause] = []
    c = err.__cause__
    while c is not None and len(causes) < 16:
        causes.append(t.FailureCause(message=str(c), kind=_kind(c), stack_trace=_stack(c)))
        c = c.__cause__
    return t.Failure(message=str(err), kind=_kind(err), stack_trace=_stack(err), causes=causes)
