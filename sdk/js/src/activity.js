// Activity authoring: the API an activity function calls, and the runtime
// behind the `activities` export. Every attempt runs in a fresh instance, so
// the module-level state belongs to one attempt.

import * as hostModule from "polyworker:worker/activity-host@0.1.0";
import * as environmentModule from "wasi:cli/environment@0.2.12";
import * as randomModule from "wasi:random/random@0.2.12";
import { logger } from "./logger.js";
import { drain, inspect } from "./promise.js";
import { fromPayloads, toPayload, toPayloads } from "./payload.js";
import { ApplicationFailure, CancelledFailure } from "./failure.js";
import { numbers, setBigintU64, u64 } from "./duration.js";

// componentize-qjs exposes an interface as the default export;
// componentize-js (SpiderMonkey) as named exports.
const host = hostModule.default ?? hostModule;
const environment = environmentModule.default ?? environmentModule;
const random = randomModule.default ?? randomModule;

let attempt = null;

function current() {
  if (attempt === null) throw new Error("activity APIs may only be called from activity code");
  return attempt;
}

/** Thrown (or returned as a rejection) to leave the activity pending: it is completed later by task token. */
export class CompleteAsyncError extends Error {
  constructor() {
    super("the activity completes asynchronously");
    this.name = "CompleteAsyncError";
  }
}

/**
 * The environment the task queue's configuration grants (`env` in
 * polyworker.toml), as an object. Workflows never see it.
 */
export function env() {
  current();
  return Object.fromEntries(environment.getEnvironment());
}

/** Math.random for an attempt: the snapshot's generator, reseeded from the host. */
function reseedMathRandom() {
  const b = random.getRandomBytes(u64(8));
  let s0 = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0 || 1;
  let s1 = (b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24)) >>> 0 || 2;
  Math.random = () => {
    // xorshift64 on two 32-bit halves
    let t = s0 ^ (s0 << 11);
    s0 = s1;
    s1 = (s1 ^ (s1 >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return s1 / 4294967296;
  };
}

/** This attempt's info: ids, type, attempt number, timeouts, heartbeat details of the last attempt. */
export function activityInfo() {
  return current().info;
}

/** Records progress; a retry sees the last details in `activityInfo().heartbeatDetails`. */
export function heartbeat(...details) {
  current();
  host.heartbeat(toPayloads(details));
}

/**
 * Why the host asked this attempt to stop ("cancelled", "timed-out",
 * "worker-shutdown", ...), or undefined. Learned through heartbeats.
 */
export function cancellationReason() {
  current();
  return host.cancellation() ?? undefined;
}

/**
 * The W3C `traceparent` of this attempt (its span, or what scheduled it),
 * to forward on the activity's own calls; undefined without a trace.
 */
export function traceParent() {
  current();
  return host.traceParent() ?? undefined;
}

/** Throws a CancelledFailure if the host asked this attempt to stop. */
export function throwIfCancelled() {
  const reason = cancellationReason();
  if (reason !== undefined) throw new CancelledFailure(`activity ${reason}`);
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function base64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    s += i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=";
    s += i + 2 < bytes.length ? B64[n & 63] : "=";
  }
  return s;
}

/** The task token (standard base64), for completing the activity elsewhere. */
export function taskTokenBase64() {
  return base64(current().info.taskToken);
}

/** Activity-side logging, tagged by the host with the activity's ids. */
export const log = logger(host);

function errorDetail(err) {
  if (err instanceof ApplicationFailure) {
    return {
      message: err.message,
      info: {
        type: err.type,
        nonRetryable: !!err.nonRetryable,
        details: toPayloads(err.details ?? []),
        nextRetryDelay:
          err.nextRetryDelayMs === undefined ? undefined : u64(err.nextRetryDelayMs * 1e6),
      },
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  const type = err instanceof Error ? err.name : typeof err;
  return { message, info: { type, nonRetryable: false, details: [], nextRetryDelay: undefined } };
}

function outcomeOfError(err) {
  if (err instanceof CompleteAsyncError) return { tag: "pending" };
  if (err instanceof CancelledFailure) throw { tag: "cancelled", val: toPayloads(err.details ?? []) };
  throw { tag: "failed", val: errorDetail(err) };
}

/** The `activities` export for a map of activity type names to functions. */
export function activitiesExport(activities) {
  return {
    activityTypes: () => Object.keys(activities),
    execute(rawInfo, input) {
      setBigintU64(
        ["scheduledTime", "currentAttemptScheduledTime", "startedTime", "startToCloseTimeout"].some(
          (k) => typeof rawInfo[k] === "bigint",
        ),
      );
      const info = { ...numbers({ ...rawInfo, taskToken: undefined }), taskToken: rawInfo.taskToken };
      const fn = activities[info.activityType];
      if (typeof fn !== "function") {
        return outcomeOfError(
          ApplicationFailure.nonRetryable(
            `this component has no activity ${info.activityType}`,
            "ActivityNotFound",
          ),
        );
      }
      reseedMathRandom();
      attempt = { info: { ...info, heartbeatDetails: fromPayloads(info.heartbeatDetails) } };
      let result;
      try {
        result = fn(...fromPayloads(input));
      } catch (e) {
        return outcomeOfError(e);
      }
      if (result && typeof result.then === "function") {
        // An async activity: everything it awaits is synchronous underneath
        // (host calls block), so running the promise jobs settles it.
        const p = Promise.resolve(result);
        drain();
        const { state, value } = inspect(p);
        if (state === "rejected") return outcomeOfError(value);
        if (state === "pending") {
          return outcomeOfError(
            new Error("the activity's promise never settled (it awaited something that cannot complete)"),
          );
        }
        result = value;
      }
      return { tag: "completed", val: toPayload(result) };
    },
  };
}
