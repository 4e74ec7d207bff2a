"""polyworker's Python SDK: Temporal workflows and activities in Python,
built into a polyworker component with componentize-py.

An app module (the component's entry) registers its workflows and
activities and re-exports the host-facing classes::

    from polyworker import Activities, Workflows, register  # noqa: F401
    from myapp import MyWorkflow, my_activity
    register(workflows=[MyWorkflow], activities=[my_activity])

Build with ``guest-sdk/python/polyworker-py build APP_DIR -o out.wasm``.
"""

from ._exports import Activities, Workflows, register
from .exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    FailureError,
    ServerError,
    TimeoutError,
)

__all__ = [
    "Activities",
    "Workflows",
    "register",
    "ActivityError",
    "ApplicationError",
    "CancelledError",
    "FailureError",
    "ServerError",
    "TimeoutError",
]
