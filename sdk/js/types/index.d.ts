// @polyworker/sdk: Temporal workflows and activities in JavaScript or
// TypeScript, built into a polyworker component with `polyworker-js build`.

import type { Payload } from "./common";

export type { Duration, Payload, RetryPolicy, Logger } from "./common";

/** A workflow function: takes the run's arguments, resolves with its result. */
export type WorkflowFunction = (...args: any[]) => Promise<unknown> | unknown;
/** An activity function: takes the attempt's arguments, returns or resolves with its result. */
export type ActivityFunction = (...args: any[]) => Promise<unknown> | unknown;

/** The component's exports, to re-export as `export const { workflows, activities, versioning } = ...`. */
export interface WorkerExports {
  workflows: unknown;
  activities: unknown;
  /** What the workflow functions declare with `setWorkflowOptions`. */
  versioning: unknown;
}

/** Builds the component's exports from maps of type name to function. */
export function defineWorker(definitions?: {
  workflows?: Record<string, WorkflowFunction>;
  activities?: Record<string, ActivityFunction>;
}): WorkerExports;

/** The base of every failure Temporal reports. */
export class TemporalFailure extends Error {
  constructor(message?: string, cause?: unknown);
}

/** A failure raised by application code; `type` is what retry policies match. */
export class ApplicationFailure extends TemporalFailure {
  readonly type: string;
  readonly nonRetryable: boolean;
  readonly details: unknown[];
  /** Overrides the retry policy's next delay. */
  readonly nextRetryDelayMs?: number;
  constructor(
    message?: string,
    type?: string,
    nonRetryable?: boolean,
    details?: unknown[],
    nextRetryDelayMs?: number,
  );
  static retryable(message?: string, type?: string, ...details: unknown[]): ApplicationFailure;
  static nonRetryable(message?: string, type?: string, ...details: unknown[]): ApplicationFailure;
}

/** The operation was cancelled. */
export class CancelledFailure extends TemporalFailure {
  readonly details: unknown[];
  constructor(message?: string, details?: unknown[]);
}

/** An activity failed; `cause` says how. */
export class ActivityFailure extends TemporalFailure {
  readonly activityType: string;
  readonly activityId: string;
  readonly retryState: string;
  constructor(message: string, activityType: string, activityId: string, retryState: string, cause?: Error);
}

/** An operation timed out. */
export class TimeoutFailure extends TemporalFailure {
  readonly timeoutType: string;
  readonly lastHeartbeatDetails: unknown[];
  constructor(message: string, timeoutType: string, lastHeartbeatDetails?: unknown[]);
}

/** The server failed the operation. */
export class ServerFailure extends TemporalFailure {}

/** A value as a JSON payload (`encoding: json/plain`). */
export function toPayload(value: unknown): Payload;
/** A payload's value. */
export function fromPayload(payload: Payload): unknown;
