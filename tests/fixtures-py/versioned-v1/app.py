"""Hot-swap fixture in Python, version 1 (the Rust fixture's twin,
tests/fixtures/versioned-v1): Pinned waits for a "go" signal and answers
"v1"; Upgrading first sleeps 10 ms, a command later versions must keep.
This app re-exports ``Versioning`` itself."""

from polyworker import Activities, Versioning, Workflows, register  # noqa: F401 - the exports
from polyworker import workflow
from polyworker.common import VersioningBehavior


class _WaitsToGo:
    def __init__(self):
        self.went = False

    @workflow.signal(name="go")
    def go(self, _=None):
        self.went = True

    async def _go(self):
        await workflow.wait_condition(lambda: self.went)


@workflow.defn(name="Pinned", versioning_behavior=VersioningBehavior.PINNED)
class Pinned(_WaitsToGo):
    @workflow.run
    async def run(self):
        await self._go()
        return "v1"


@workflow.defn(name="Upgrading", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class Upgrading(_WaitsToGo):
    @workflow.run
    async def run(self):
        await workflow.sleep(0.01)
        await self._go()
        return "v1"


register(workflows=[Pinned, Upgrading])
