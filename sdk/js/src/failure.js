// Errors in Temporal's vocabulary, and their WIT `failure` records.

import { fromPayloads, toPayloads } from "./payload.js";
import { u64 } from "./duration.js";
import { sourceStack } from "./stack.js";

/** Base class of the failures Temporal carries across process boundaries. */
export class TemporalFailure extends Error {
  constructor(message, cause) {
    super(message);
    this.name = this.constructor.name;
    if (cause !== undefined) this.cause = cause;
  }
}

/**
 * An error raised on purpose by workflow or activity code. Thrown from a
 * workflow it fails the workflow; from an activity it fails the attempt
 * (retried unless `nonRetryable` or its type is listed as non-retryable).
 */
export class ApplicationFailure extends TemporalFailure {
  constructor(message, type = "Error", nonRetryable = false, details = [], nextRetryDelayMs) {
    super(message);
    this.type = type;
    this.nonRetryable = nonRetryable;
    this.details = details;
    this.nextRetryDelayMs = nextRetryDelayMs;
  }
  static retryable(message, type = "Error", ...details) {
    return new ApplicationFailure(message, type, false, details);
  }
  static nonRetryable(message, type = "Error", ...details) {
    return new ApplicationFailure(message, type, true, details);
  }
}

/** The operation (workflow, activity, timer) was cancelled. */
export class CancelledFailure extends TemporalFailure {
  constructor(message = "cancelled", details = []) {
    super(message);
    this.details = details;
  }
}

/** An activity failed; `cause` says why (an ApplicationFailure, a timeout, ...). */
export class ActivityFailure extends TemporalFailure {
  constructor(message, activityType, activityId, retryState, cause) {
    super(message, cause);
    this.activityType = activityType;
    this.activityId = activityId;
    this.retryState = retryState;
  }
}

export class TimeoutFailure extends TemporalFailure {
  constructor(message, timeoutType, lastHeartbeatDetails = []) {
    super(message);
    this.timeoutType = timeoutType;
    this.lastHeartbeatDetails = lastHeartbeatDetails;
  }
}

/** Any other failure the server reported (terminated, server error, ...). */
export class ServerFailure extends TemporalFailure {}

function oneLink({ message, kind }, cause) {
  switch (kind.tag) {
    case "application": {
      const a = kind.val;
      const f = new ApplicationFailure(message, a.type, a.nonRetryable, fromPayloads(a.details));
      if (cause) f.cause = cause;
      return f;
    }
    case "cancelled":
      return new CancelledFailure(message, fromPayloads(kind.val));
    case "timeout":
      return new TimeoutFailure(message, kind.val[0], fromPayloads(kind.val[1]));
    case "activity": {
      const a = kind.val;
      return new ActivityFailure(message, a.activityType, a.activityId, a.retryState, cause);
    }
    default:
      return new ServerFailure(message, cause);
  }
}

/** A WIT failure (with its flattened cause chain) as nested errors. */
export function fromFailure(failure) {
  let cause;
  for (let i = failure.causes.length - 1; i >= 0; i--) cause = oneLink(failure.causes[i], cause);
  return oneLink(failure, cause);
}

function kindOf(err) {
  if (err instanceof ApplicationFailure) {
    return {
      tag: "application",
      val: {
        type: err.type,
        nonRetryable: !!err.nonRetryable,
        details: toPayloads(err.details ?? []),
        nextRetryDelay:
          err.nextRetryDelayMs === undefined ? undefined : u64(err.nextRetryDelayMs * 1e6),
      },
    };
  }
  if (err instanceof CancelledFailure) {
    return { tag: "cancelled", val: toPayloads(err.details ?? []) };
  }
  const type = err?.name ?? typeof err;
  return {
    tag: "application",
    val: { type, nonRetryable: false, details: [], nextRetryDelay: undefined },
  };
}

/** Any thrown value as a WIT failure record. */
export function toFailure(err) {
  const message = err instanceof Error ? err.message : String(err);
  const causes = [];
  for (let c = err?.cause; c !== undefined && causes.length < 16; c = c?.cause) {
    causes.push({
      message: c instanceof Error ? c.message : String(c),
      kind: kindOf(c),
      stackTrace: sourceStack(c?.stack ?? ""),
    });
  }
  return { message, kind: kindOf(err), stackTrace: sourceStack(err?.stack ?? ""), causes };
}
