import random
import time
from datetime import timedelta

from polyworker import ApplicationError, CancelledError, activity, workflow
from polyworker.workflow import RetryPolicy

QUICK = dict(start_to_close_timeout=timedelta(seconds=10), retry_policy=RetryPolicy(maximum_attempts=1))


def sample():
    return {"now": time.time() * 1000, "rand": random.random(), "uuid": str(workflow.uuid4())}


@workflow.defn(name="Determinism")
class Determinism:
    """Clock and randomness values before and after a timer; the first sample
    is also recorded in history (as an activity's input)."""

    @workflow.run
    async def run(self):
        before = sample()
        await workflow.execute_activity("Echo", before, **QUICK)
        await workflow.sleep(1)
        after = sample()
        return {"before": before, "after": after, "start": workflow.info().start_time / 1e6}


@workflow.defn(name="Features")
class Features:
    def __init__(self):
        self.approved_by = None
        self.counter = 0

    @workflow.signal(name="approve")
    def approve(self, who):
        self.approved_by = who

    @workflow.query(name="status")
    def status(self):
        return {"approvedBy": self.approved_by, "counter": self.counter}

    @workflow.update(name="bump")
    async def bump(self, n):
        await workflow.sleep(0.01)
        self.counter += n
        return self.counter

    @bump.validator
    def validate_bump(self, n):
        if not n > 0:
            raise ApplicationError("n must be positive", type="BadBump", non_retryable=True)

    @workflow.run
    async def run(self):
        try:
            await workflow.wait_condition(lambda: self.approved_by is not None, timeout=60)
            approved = True
        except TimeoutError:
            approved = False
        v2 = workflow.patched("shout-twice")
        shouted = await workflow.gather(
            *[workflow.execute_activity("Shout", args=[s, 2 if v2 else 1], **QUICK) for s in "ab"]
        )
        return {
            "approved": approved,
            "approvedBy": self.approved_by,
            "counter": self.counter,
            "shouted": shouted,
            "v2": v2,
        }


@workflow.defn(name="Approval")
class Approval:
    """Signals, queries and patches, as every SDK's fixture has them."""

    def __init__(self):
        self.approved_by = None

    @workflow.signal(name="approve")
    def approve(self, who):
        self.approved_by = who

    @workflow.query(name="status")
    def status(self):
        return {"approvedBy": self.approved_by}

    @workflow.run
    async def run(self):
        await workflow.wait_condition(lambda: self.approved_by is not None)
        v2 = workflow.patched("shout-twice")
        shouted = await workflow.execute_activity("Shout", args=["a", 2 if v2 else 1], **QUICK)
        return {"approvedBy": self.approved_by, "shouted": shouted, "v2": v2}


@workflow.defn(name="ConditionTimeout")
class ConditionTimeout:
    @workflow.run
    async def run(self):
        try:
            await workflow.wait_condition(lambda: False, timeout=1)
            return {"met": True}
        except TimeoutError:
            return {"met": False}


@workflow.defn(name="Cancellable")
class Cancellable:
    @workflow.run
    async def run(self):
        try:
            await workflow.sleep(timedelta(hours=1))
            return "slept"
        except CancelledError:
            await workflow.execute_activity("Echo", "cleaned up", **QUICK)
            raise


@workflow.defn(name="Fail")
class Fail:
    @workflow.run
    async def run(self, kind):
        if kind == "application":
            raise ApplicationError("the workflow gives up", type="GiveUp", non_retryable=True)
        # A plain error is a bug in the workflow: the task fails and is retried.
        return None.boom()


@workflow.defn(name="Continue")
class Continue:
    @workflow.run
    async def run(self, n):
        if n < 2:
            workflow.continue_as_new(n + 1)
        return {"n": n, "firstRun": workflow.info().continued_from_run_id is not None}


@workflow.defn(name="CallActivity")
class CallActivity:
    @workflow.run
    async def run(self, activity_type, args, max_attempts=1):
        return await workflow.execute_activity(
            activity_type,
            args=args,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=max_attempts),
        )


@activity.defn(name="Echo")
def echo(x):
    return x


@activity.defn(name="Shout")
def shout(s, times):
    return s.upper() * times


@activity.defn(name="Resume")
def resume(total):
    """Heartbeats progress, then fails its first attempt; the retry resumes
    from the last heartbeat."""
    info = activity.info()
    done = info.heartbeat_details[0] if info.heartbeat_details else 0
    resumed_from = done
    while done < total:
        activity.heartbeat(done + 1)
        if info.attempt == 1 and done == 2:
            raise ApplicationError("crashed", type="Crash")
        done += 1
    return {"attempt": info.attempt, "resumedFrom": resumed_from}


@activity.defn(name="AsyncActivity")
async def async_activity(x):
    return x * 2 + 1


@activity.defn(name="Throws")
def throws():
    raise TypeError("a plain error")


@workflow.defn(name="Sleep")
class Sleep:
    """Sleeps the wrong way: `time.sleep` in workflow code, which the host
    fails at once (workflow.sleep is the durable timer)."""

    @workflow.run
    async def run(self):
        time.sleep(10)
        return "slept"


WORKFLOWS = [Determinism, Features, Approval, ConditionTimeout, Cancellable, Fail, Continue, CallActivity, Sleep]
ACTIVITIES = [echo, shout, resume, async_activity, throws]
