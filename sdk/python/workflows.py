# componentize-py looks for the implementation of an exported resource in a
# top-level module named after its interface: `workflows.WorkflowRun`.
from polyworker._exports import WorkflowRun  # noqa: F401
