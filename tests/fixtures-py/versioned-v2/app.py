"""Hot-swap fixture in Python, version 2: Pinned starts with a timer
version 1 did not have (fine: pinned runs never move); Upgrading guards its
change with a patch, so runs started on version 1 move here and take it.
This app does not re-export ``Versioning`` (as apps from before it): the
build supplies it."""

from polyworker import Activities, Workflows, register  # noqa: F401 - the exports
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
        await workflow.sleep(0.01)
        await self._go()
        return "v2"


@workflow.defn(name="Upgrading", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class Upgrading(_WaitsToGo):
    @workflow.run
    async def run(self):
        await workflow.sleep(0.01)
        await self._go()
        return "v2" if workflow.patched("answer-v2") else "v1"


register(workflows=[Pinned, Upgrading])
