// Workflows and activities that exercise the JavaScript SDK end to end
// (tests/e2e/sdks.rs runs the same suite against every language's version).
import {
  ApplicationFailure,
  CancelledFailure,
  defineWorker,
} from "@polyworker/sdk";
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeActivity,
  patched,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
} from "@polyworker/sdk/workflow";
import { activityInfo, heartbeat } from "@polyworker/sdk/activity";

const quick = { startToCloseTimeout: "10s", retry: { maximumAttempts: 1 } };

function sample() {
  return { now: Date.now(), rand: Math.random(), uuid: uuid4() };
}

const workflowFns = {
  // Clock and randomness values before and after a timer. The first sample is
  // also recorded in history (as an activity's input), so the test can check
  // that a replay computed the very same values.
  async Determinism() {
    const before = sample();
    await executeActivity("Echo", [before], quick);
    await sleep("1s");
    const after = sample();
    return { before, after, start: workflowInfo().startTime.getTime() };
  },

  async Features() {
    let approvedBy;
    let counter = 0;
    setHandler(defineSignal("approve"), (who) => {
      approvedBy = who;
    });
    setHandler(defineQuery("status"), () => ({ approvedBy: approvedBy ?? null, counter }));
    setHandler(
      defineUpdate("bump"),
      async (n) => {
        await sleep(10);
        counter += n;
        return counter;
      },
      {
        validator: (n) => {
          if (!(n > 0)) throw ApplicationFailure.nonRetryable("n must be positive", "BadBump");
        },
      },
    );
    const approved = await condition(() => approvedBy !== undefined, "60s");
    const v2 = patched("shout-twice");
    const shouted = await Promise.all(
      ["a", "b"].map((s) => executeActivity("Shout", [s, v2 ? 2 : 1], quick)),
    );
    return { approved, approvedBy, counter, shouted, v2 };
  },

  // Signals, queries and patches, as every SDK's fixture has them.
  async Approval() {
    let approvedBy = null;
    setHandler(defineSignal("approve"), (who) => {
      approvedBy = who;
    });
    setHandler(defineQuery("status"), () => ({ approvedBy }));
    await condition(() => approvedBy !== null);
    const v2 = patched("shout-twice");
    const shouted = await executeActivity("Shout", ["a", v2 ? 2 : 1], quick);
    return { approvedBy, shouted, v2 };
  },

  async ConditionTimeout() {
    const met = await condition(() => false, "1s");
    return { met };
  },

  async Cancellable() {
    try {
      await sleep("1h");
      return "slept";
    } catch (e) {
      if (!(e instanceof CancelledFailure)) throw e;
      await executeActivity("Echo", ["cleaned up"], quick);
      throw e;
    }
  },

  async Fail(kind) {
    if (kind === "application") {
      throw ApplicationFailure.nonRetryable("the workflow gives up", "GiveUp");
    }
    // A plain error is a bug in the workflow: the task fails and is retried.
    null.boom();
  },

  async Continue(n) {
    if (n < 2) return continueAsNew(n + 1);
    return { n, firstRun: workflowInfo().continuedFromRunId !== undefined };
  },

  async CallActivity(type, args, maxAttempts) {
    return executeActivity(type, args, {
      startToCloseTimeout: "10s",
      retry: { initialInterval: "100ms", maximumAttempts: maxAttempts ?? 1 },
    });
  },
};

const activityFns = {
  Echo(x) {
    return x;
  },
  Shout(s, times) {
    return s.toUpperCase().repeat(times);
  },
  // Heartbeats progress, then fails its first attempt; the retry resumes
  // from the last heartbeat.
  Resume(total) {
    const { attempt, heartbeatDetails } = activityInfo();
    let done = heartbeatDetails[0] ?? 0;
    for (; done < total; done++) {
      heartbeat(done + 1);
      if (attempt === 1 && done === 2) throw ApplicationFailure.retryable("crashed", "Crash");
    }
    return { attempt, resumedFrom: heartbeatDetails[0] ?? 0 };
  },
  async AsyncActivity(x) {
    const doubled = await Promise.resolve(x * 2);
    return doubled + 1;
  },
  Throws() {
    throw new TypeError("a plain error");
  },
};

export const { workflows, activities } = defineWorker({
  workflows: workflowFns,
  activities: activityFns,
});
