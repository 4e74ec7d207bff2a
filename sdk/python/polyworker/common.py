"""Types shared by workflow and worker code, as in ``temporalio.common``.
Nothing here imports the component's bindings, so it also loads outside
componentize-py."""

from enum import IntEnum


class VersioningBehavior(IntEnum):
    """How runs of a workflow type move when a new version of the module
    becomes current on the task queue (Temporal's Worker Versioning)."""

    #: The host's ``default_versioning`` decides.
    UNSPECIFIED = 0
    #: A run stays on the version it started on until it ends.
    PINNED = 1
    #: A run moves to the current version at its next workflow task; changed
    #: code must be guarded with ``workflow.patched``.
    AUTO_UPGRADE = 2
