// Workflow authoring: the API a workflow function calls, and the runtime
// behind the `workflow-run` resource.
//
// The host gives every cached run its own component instance, so the state
// here (module-level) belongs to exactly one run. Each activation applies its
// jobs, then runs queued promise jobs until the workflow is blocked again,
// and returns the commands produced on the way.

import * as hostModule from "polyworker:worker/workflow-host@0.1.0";
import { logger } from "./logger.js";
import { drain } from "./promise.js";
import { fromPayload, fromPayloads, toPayload, toPayloads } from "./payload.js";
import { ApplicationFailure, CancelledFailure, fromFailure, toFailure } from "./failure.js";
import { numbers, setBigintU64, toMillis, toNanos, u64 } from "./duration.js";

// componentize-qjs exposes an interface as the default export;
// componentize-js (SpiderMonkey) as named exports.
const host = hostModule.default ?? hostModule;

let run = null;

function current() {
  if (run === null) throw new Error("workflow APIs may only be called from workflow code");
  return run;
}

// ---- the API ------------------------------------------------------------

/** The run's info (ids, type, task queue, attempt, start time, ...). */
export function workflowInfo() {
  return current().info;
}

/** True while the workflow is being asked to cancel. */
export function isCancellationRequested() {
  return current().cancelRequested;
}

/** Sleeps for a duration of workflow time (a durable timer). */
export function sleep(duration) {
  const r = current();
  const seq = r.next("timer");
  r.command("start-timer", { seq, duration: toNanos(duration) ?? u64(0) });
  return new Promise((resolve, reject) => {
    r.timers.set(seq, { resolve, reject });
  });
}

function retryPolicy(retry) {
  if (!retry) return undefined;
  return {
    initialInterval: toNanos(retry.initialInterval),
    backoffCoefficient: retry.backoffCoefficient,
    maximumInterval: toNanos(retry.maximumInterval),
    maximumAttempts: retry.maximumAttempts ?? 0,
    nonRetryableErrorTypes: retry.nonRetryableErrorTypes ?? [],
  };
}

const CANCELLATION_TYPES = {
  TRY_CANCEL: "try-cancel",
  WAIT_CANCELLATION_COMPLETED: "wait-cancellation-completed",
  ABANDON: "abandon",
};

/**
 * Runs an activity and resolves with its result. Options as in Temporal's
 * TypeScript SDK: `startToCloseTimeout` or `scheduleToCloseTimeout` (one is
 * required), `scheduleToStartTimeout`, `heartbeatTimeout`, `retry`,
 * `taskQueue`, `activityId`, `cancellationType`.
 */
export function executeActivity(activityType, args = [], options = {}) {
  const r = current();
  if (options.startToCloseTimeout === undefined && options.scheduleToCloseTimeout === undefined) {
    throw new TypeError(
      `activity ${activityType}: set startToCloseTimeout or scheduleToCloseTimeout`,
    );
  }
  const seq = r.next("activity");
  r.command("schedule-activity", {
    seq,
    activityId: options.activityId ?? String(seq),
    activityType,
    taskQueue: options.taskQueue ?? "",
    arguments: toPayloads(args),
    headers: [],
    scheduleToCloseTimeout: toNanos(options.scheduleToCloseTimeout),
    scheduleToStartTimeout: toNanos(options.scheduleToStartTimeout),
    startToCloseTimeout: toNanos(options.startToCloseTimeout),
    heartbeatTimeout: toNanos(options.heartbeatTimeout),
    retryPolicy: retryPolicy(options.retry),
    cancellationType: CANCELLATION_TYPES[options.cancellationType ?? "TRY_CANCEL"] ?? "try-cancel",
  });
  return new Promise((resolve, reject) => {
    r.activities.set(seq, { resolve, reject });
  });
}

/** `proxyActivities(options).MyActivity(a, b)` is `executeActivity("MyActivity", [a, b], options)`. */
export function proxyActivities(options) {
  return new Proxy(
    {},
    {
      get(_, activityType) {
        if (typeof activityType !== "string") return undefined;
        return (...args) => executeActivity(activityType, args, options);
      },
    },
  );
}

export function defineSignal(name) {
  return { type: "signal", name };
}
export function defineQuery(name) {
  return { type: "query", name };
}
export function defineUpdate(name) {
  return { type: "update", name };
}

/**
 * Sets (or with `undefined`, removes) the handler of a signal, query or
 * update. Signals that arrived before their handler are delivered when it is
 * set. Query handlers must be synchronous and must not change state.
 */
export function setHandler(definition, handler, options = {}) {
  const r = current();
  const { type, name } = definition;
  const table = { signal: r.signalHandlers, query: r.queryHandlers, update: r.updateHandlers }[
    type
  ];
  if (!table) throw new TypeError("setHandler expects defineSignal/defineQuery/defineUpdate");
  if (handler === undefined) {
    table.delete(name);
    return;
  }
  table.set(name, { handler, validator: options.validator });
  if (type === "signal") {
    const buffered = r.bufferedSignals.filter((s) => s.name === name);
    r.bufferedSignals = r.bufferedSignals.filter((s) => s.name !== name);
    for (const s of buffered) r.deliverSignal(s);
  }
}

/**
 * Resolves with true once `fn()` is true; with a timeout, resolves with
 * false if the timeout passes first.
 */
export function condition(fn, timeout) {
  const r = current();
  if (fn()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const waiter = { fn, resolve, timerSeq: undefined };
    r.conditions.push(waiter);
    if (timeout !== undefined) {
      sleep(timeout).then(
        () => {
          const i = r.conditions.indexOf(waiter);
          if (i >= 0) {
            r.conditions.splice(i, 1);
            resolve(false);
          }
        },
        () => {},
      );
      waiter.timerSeq = r.counters.timer;
    }
  });
}

/**
 * Whether this run takes the new code path of change `patchId`. A new run
 * takes it (and records a marker); a replayed run takes it only if its
 * history has the marker.
 */
export function patched(patchId) {
  return current().patch(patchId, false);
}

/** Marks that no run without patch `patchId` is still open (the old path is gone). */
export function deprecatePatch(patchId) {
  current().patch(patchId, true);
}

const VERSIONING = Symbol.for("polyworker.versioningBehavior");
const BEHAVIORS = { PINNED: "pinned", AUTO_UPGRADE: "auto-upgrade" };

/**
 * Declares options of a workflow function, as `@temporalio/workflow` does:
 * `versioningBehavior` (`"PINNED"` or `"AUTO_UPGRADE"`) says how its runs
 * move when a new version of the module becomes current. Call it where the
 * function is defined; types without it follow the host's default.
 */
export function setWorkflowOptions(options, fn) {
  if (typeof fn !== "function") throw new TypeError("setWorkflowOptions expects a workflow function");
  const behavior = options?.versioningBehavior;
  if (behavior === undefined || behavior === "UNSPECIFIED") {
    delete fn[VERSIONING];
    return;
  }
  if (!(behavior in BEHAVIORS)) {
    throw new TypeError(`unknown versioningBehavior ${behavior} (use "PINNED" or "AUTO_UPGRADE")`);
  }
  fn[VERSIONING] = BEHAVIORS[behavior];
}

/** The `versioning` export: the behaviours the workflow functions declare. */
export function versioningExport(workflows) {
  const declared = Object.entries(workflows)
    .filter(([, fn]) => typeof fn === "function" && fn[VERSIONING])
    .map(([name, fn]) => [name, fn[VERSIONING]]);
  return { workflowVersioning: () => declared };
}

/** Thrown to continue the workflow as a new run. */
export class ContinueAsNew extends Error {
  constructor(args, options = {}) {
    super("continue as new");
    this.name = "ContinueAsNew";
    this.args = args;
    this.options = options;
  }
}

/** Ends this run and starts a new one of the same type with `args`. */
export function continueAsNew(...args) {
  return Promise.reject(new ContinueAsNew(args));
}

/** Workflow-side logging; lines are dropped while replaying. */
export const log = logger(host);

/** A random UUID (v4) from the run's seeded randomness: the same on replay. */
export function uuid4() {
  const hex = [];
  for (let i = 0; i < 16; i++) hex.push(Math.floor(Math.random() * 256));
  hex[6] = (hex[6] & 0x0f) | 0x40;
  hex[8] = (hex[8] & 0x3f) | 0x80;
  const h = hex.map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---- the runtime ----------------------------------------------------------

/** A seeded generator (splitmix32 over the run's seed) behind Math.random. */
function seededRandom(seed) {
  let state = (Number(BigInt.asUintN(32, BigInt(Math.floor(seed)))) ^ 0x9e3779b9) >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}

function failureRecord(message, type = "Error", nonRetryable = false) {
  return toFailure(new ApplicationFailure(message, type, nonRetryable));
}

class Run {
  constructor(info, fn) {
    this.info = {
      ...info,
      startTime: info.startTime === undefined ? undefined : new Date(info.startTime / 1e6),
    };
    this.fn = fn;
    this.counters = { timer: 0, activity: 0 };
    this.commands = [];
    this.timers = new Map();
    this.activities = new Map();
    this.signalHandlers = new Map();
    this.queryHandlers = new Map();
    this.updateHandlers = new Map();
    this.bufferedSignals = [];
    this.conditions = [];
    this.knownPatches = new Set();
    this.patches = new Map();
    this.cancelRequested = false;
    this.started = false;
    this.finished = false;
    this.isReplaying = false;
  }

  next(kind) {
    return ++this.counters[kind];
  }

  command(tag, val) {
    if (!this.finished) this.commands.push(val === undefined ? { tag } : { tag, val });
  }

  patch(patchId, deprecated) {
    if (this.patches.has(patchId)) return this.patches.get(patchId);
    const use = !this.isReplaying || this.knownPatches.has(patchId);
    if (use) this.command("set-patch-marker", { patchId, deprecated });
    this.patches.set(patchId, use);
    return use;
  }

  start() {
    this.started = true;
    let result;
    try {
      result = Promise.resolve(this.fn(...fromPayloads(this.info.arguments)));
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(
      (value) => this.finish("complete-workflow", toPayload(value)),
      (err) => this.finishWithError(err),
    );
  }

  finish(tag, val) {
    if (this.finished) return;
    this.command(tag, val);
    this.finished = true;
  }

  finishWithError(err) {
    if (err instanceof ContinueAsNew) {
      this.finish("continue-as-new", {
        workflowType: err.options.workflowType ?? "",
        taskQueue: err.options.taskQueue ?? "",
        arguments: toPayloads(err.args),
        workflowRunTimeout: undefined,
        workflowTaskTimeout: undefined,
        memo: [],
        headers: [],
        retryPolicy: undefined,
      });
    } else if (err instanceof CancelledFailure && this.cancelRequested) {
      this.finish("cancel-workflow");
    } else if (err instanceof ApplicationFailure || err?.name?.endsWith?.("Failure")) {
      this.finish("fail-workflow", toFailure(err));
    } else {
      // As in Temporal's TypeScript SDK, a plain error is a bug: fail the
      // workflow task (retried after a fix is deployed), not the workflow.
      this.taskFailure = err;
    }
  }

  deliverSignal(signal) {
    const h = this.signalHandlers.get(signal.name);
    if (!h) {
      this.bufferedSignals.push(signal);
      return;
    }
    try {
      const out = h.handler(...fromPayloads(signal.input));
      if (out && typeof out.then === "function") out.then(undefined, (e) => this.finishWithError(e));
    } catch (e) {
      this.finishWithError(e);
    }
  }

  answerQuery(q) {
    let answer;
    const h = this.queryHandlers.get(q.queryType);
    try {
      if (q.queryType === "__stack_trace") {
        answer = { tag: "succeeded", val: toPayload(this.describeBlocked()) };
      } else if (!h) {
        const known = [...this.queryHandlers.keys()].join(", ") || "none";
        throw new ApplicationFailure(`unknown query ${q.queryType} (known: ${known})`, "QueryNotFound");
      } else {
        answer = { tag: "succeeded", val: toPayload(h.handler(...fromPayloads(q.arguments))) };
      }
    } catch (e) {
      answer = { tag: "failed", val: toFailure(e) };
    }
    this.commands.push({ tag: "respond-to-query", val: { queryId: q.queryId, answer } });
  }

  describeBlocked() {
    return [
      ...[...this.timers.keys()].map((s) => `timer ${s}`),
      ...[...this.activities.keys()].map((s) => `activity ${s}`),
      ...(this.conditions.length ? [`${this.conditions.length} condition(s)`] : []),
    ].join("\n");
  }

  runUpdate(u) {
    const respond = (outcome) =>
      this.command("update-response", { protocolInstanceId: u.protocolInstanceId, outcome });
    const h = this.updateHandlers.get(u.name);
    const args = fromPayloads(u.input);
    if (!h) {
      respond({ tag: "rejected", val: failureRecord(`unknown update ${u.name}`, "UpdateNotFound") });
      return;
    }
    if (u.runValidator && h.validator) {
      try {
        h.validator(...args);
      } catch (e) {
        respond({ tag: "rejected", val: toFailure(e) });
        return;
      }
    }
    respond({ tag: "accepted" });
    let result;
    try {
      result = Promise.resolve(h.handler(...args));
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(
      (v) => respond({ tag: "completed", val: toPayload(v) }),
      (e) => respond({ tag: "rejected", val: toFailure(e) }),
    );
  }

  cancel(reason) {
    this.cancelRequested = true;
    const failure = new CancelledFailure(reason || "workflow cancelled");
    for (const [seq, t] of this.timers) {
      this.command("cancel-timer", seq);
      t.reject(failure);
    }
    this.timers.clear();
    // The activities' promises settle when core resolves them as cancelled.
    for (const seq of this.activities.keys()) this.command("request-cancel-activity", seq);
  }

  resolveActivity({ seq, resolution }) {
    const a = this.activities.get(seq);
    if (!a) throw new Error(`no activity with seq ${seq}`);
    this.activities.delete(seq);
    switch (resolution.tag) {
      case "completed":
        a.resolve(fromPayload(resolution.val ?? undefined));
        break;
      case "failed":
      case "cancelled":
        a.reject(fromFailure(resolution.val));
        break;
      default:
        a.reject(new Error(`unexpected activity resolution ${resolution.tag}`));
    }
  }

  apply(job) {
    switch (job.tag) {
      case "fire-timer": {
        const t = this.timers.get(job.val);
        if (!t) throw new Error(`no timer with seq ${job.val}`);
        this.timers.delete(job.val);
        t.resolve();
        break;
      }
      case "resolve-activity":
        this.resolveActivity(job.val);
        break;
      case "signal":
        this.deliverSignal(job.val);
        break;
      case "query":
        this.answerQuery(job.val);
        break;
      case "update":
        this.runUpdate(job.val);
        break;
      case "cancel":
        this.cancel(job.val);
        break;
      case "notify-has-patch":
        this.knownPatches.add(job.val);
        break;
      case "update-random-seed":
        Math.random = seededRandom(job.val);
        break;
      default:
        throw new Error(`the JavaScript SDK does not handle ${job.tag} jobs yet`);
    }
  }

  /** Runs promise jobs and re-checks conditions until nothing moves. */
  settle() {
    for (;;) {
      drain();
      let woke = false;
      for (const c of [...this.conditions]) {
        if (c.fn()) {
          this.conditions.splice(this.conditions.indexOf(c), 1);
          if (c.timerSeq !== undefined && this.timers.has(c.timerSeq)) {
            this.command("cancel-timer", c.timerSeq);
            this.timers.delete(c.timerSeq);
          }
          c.resolve(true);
          woke = true;
        }
      }
      if (!woke) return;
    }
  }

  activate(activation) {
    this.isReplaying = activation.isReplaying;
    // Jobs of kinds that must be seen before the workflow code runs (patch
    // notices, seed updates) come first in core's ordering already.
    const jobs = activation.jobs;
    let i = 0;
    for (; i < jobs.length && ["notify-has-patch", "update-random-seed"].includes(jobs[i].tag); i++) {
      this.apply(jobs[i]);
    }
    if (!this.started) this.start();
    for (; i < jobs.length; i++) this.apply(jobs[i]);
    this.settle();
    if (this.taskFailure !== undefined) {
      const err = this.taskFailure;
      this.taskFailure = undefined;
      throw toFailure(err);
    }
    const out = this.commands;
    this.commands = [];
    return out;
  }
}

/** The `workflows` export for a map of workflow type names to functions. */
export function workflowsExport(workflows) {
  class WorkflowRun {
    static create(rawInfo) {
      setBigintU64(typeof rawInfo.randomnessSeed === "bigint");
      const info = numbers(rawInfo);
      const fn = workflows[info.workflowType];
      if (typeof fn !== "function") {
        throw failureRecord(
          `this component has no workflow ${info.workflowType} (it has: ${Object.keys(workflows).join(", ")})`,
          "WorkflowNotFound",
          true,
        );
      }
      Math.random = seededRandom(info.randomnessSeed);
      run = new Run(info, fn);
      return new WorkflowRun();
    }

    activate(activation) {
      try {
        return run.activate(numbers(activation));
      } catch (e) {
        throw e && e.kind && e.causes ? e : toFailure(e);
      }
    }
  }
  return {
    workflowTypes: () => Object.keys(workflows),
    WorkflowRun,
    // For entries written before the `versioning` export: the build's
    // wrapper falls back to this (bin/polyworker-js.mjs).
    [Symbol.for("polyworker.versioning")]: versioningExport(workflows),
  };
}

export { toMillis };
