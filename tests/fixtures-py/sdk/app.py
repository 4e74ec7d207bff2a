"""Workflows and activities that exercise the Python SDK end to end
(tests/e2e/sdks.rs runs the same suite against every language's version)."""

from polyworker import Activities, Workflows, register  # noqa: F401 - the exports

from sdk_fixture import ACTIVITIES, WORKFLOWS

register(workflows=WORKFLOWS, activities=ACTIVITIES)
