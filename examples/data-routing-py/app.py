"""The data-routing example in Python: the component's entry module. Same
workflow and activity types, inputs and outputs as the Rust example."""

from polyworker import Activities, Workflows, register  # noqa: F401 - the exports

from data_routing.activities import get_route, transmit
from data_routing.workflow import DataRoutingWorkflow

register(workflows=[DataRoutingWorkflow], activities=[get_route, transmit])
