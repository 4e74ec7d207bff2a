"""The benchmark workflow on Temporal's Python SDK (`temporalio`, PyPI):
`python_worker.py http://HOST:PORT TASK_QUEUE`. The same workflow as
bench/src/bin/native_worker.rs and tests/fixtures/bench-workflow."""

import asyncio
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


@activity.defn(name="Step")
async def step(order: dict) -> dict:
    """Counts the steps taken in the order's `steps` field."""
    order["steps"] = int(order.get("steps", 0)) + 1
    return order


@workflow.defn(name="BenchWorkflow")
class BenchWorkflow:
    @workflow.run
    async def run(self, order: dict) -> dict:
        timeout = timedelta(seconds=10)
        first = await workflow.execute_activity(step, order, start_to_close_timeout=timeout)
        await workflow.sleep(timedelta(milliseconds=10))
        return await workflow.execute_activity(step, first, start_to_close_timeout=timeout)


@workflow.defn(name="Parked")
class Parked:
    """Waits for a "go" signal (the density benchmark)."""

    def __init__(self) -> None:
        self._go = False

    @workflow.signal(name="go")
    def go(self) -> None:
        self._go = True

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self._go)
        return "done"


async def main() -> None:
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python_worker.py http://HOST:PORT TASK_QUEUE [MAX_CACHED_WORKFLOWS]")
    address, task_queue = sys.argv[1], sys.argv[2]
    cached = int(sys.argv[3]) if len(sys.argv) == 4 else 1000
    client = await Client.connect(address.removeprefix("http://"))
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BenchWorkflow, Parked],
        activities=[step],
        max_cached_workflows=cached,
    )
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
