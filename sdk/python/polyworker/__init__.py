"""polyworker's Python SDK: Temporal workflows and activities in Python,
built into a polyworker component with componentize-py.

An app module (the component's entry) registers its workflows and
activities and re-exports the host-facing classes::

    from polyworker import Activities, Versioning, Workflows, register  # noqa: F401
    from myapp import MyWorkflow, my_activity
    register(workflows=[MyWorkflow], activities=[my_activity])

Build with ``python -m polyworker build APP_DIR -o out.wasm``.
"""

# The names below live in modules that import the component's bindings,
# which exist only inside componentize-py. They load on first use, so that
# the build tool (``python -m polyworker build``) runs on the host's Python.
_LAZY = {
    "Activities": "._exports",
    "Workflows": "._exports",
    "Versioning": "._exports",
    "VersioningBehavior": ".common",
    "register": "._exports",
    "ActivityError": ".exceptions",
    "ApplicationError": ".exceptions",
    "CancelledError": ".exceptions",
    "FailureError": ".exceptions",
    "ServerError": ".exceptions",
    "TimeoutError": ".exceptions",
}

__all__ = list(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'polyworker' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module, __name__), name)
