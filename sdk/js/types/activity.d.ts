// @polyworker/sdk/activity: the API of activity code, in the vocabulary of
// Temporal's `@temporalio/activity`. Each attempt runs in a fresh instance.

import type { Logger, Payload, RetryPolicy } from "./common";

/** This attempt, as `activityInfo()` reports it. Durations and times are nanoseconds. */
export interface ActivityInfo {
  taskToken: Uint8Array;
  activityId: string;
  activityType: string;
  taskQueue: string;
  workflowNamespace: string;
  workflowType: string;
  workflowId: string;
  workflowRunId: string;
  /** 1 for the first attempt. */
  attempt: number;
  scheduledTime?: number;
  currentAttemptScheduledTime?: number;
  startedTime?: number;
  scheduleToCloseTimeout?: number;
  startToCloseTimeout?: number;
  heartbeatTimeout?: number;
  retryPolicy?: RetryPolicy;
  /** The last heartbeat's details of a previous attempt, to resume from. */
  heartbeatDetails: Payload[];
  isLocal: boolean;
}

/** Why the host asked the attempt to stop. */
export type CancelReason = "not-found" | "cancelled" | "timed-out" | "worker-shutdown" | "paused" | "reset";

/** Thrown (or returned as a rejection) to leave the activity pending: it is completed later by task token. */
export class CompleteAsyncError extends Error {
  constructor();
}

/** The environment the task queue's configuration grants (`env`). */
export function env(): Record<string, string>;
/** This attempt's info. */
export function activityInfo(): ActivityInfo;
/** Records progress; a retry sees the last details in `activityInfo().heartbeatDetails`. */
export function heartbeat(...details: unknown[]): void;
/** Why the host asked this attempt to stop, or undefined. Learned through heartbeats. */
export function cancellationReason(): CancelReason | undefined;
/** The W3C `traceparent` of this attempt, to forward on the activity's own calls. */
export function traceParent(): string | undefined;
/** Throws a CancelledFailure if the host asked this attempt to stop. */
export function throwIfCancelled(): void;
/** Standard base64 of `bytes`. */
export function base64(bytes: Uint8Array): string;
/** The task token (standard base64), for completing the activity elsewhere. */
export function taskTokenBase64(): string;
/** The attempt's log, tagged by the host with the activity's ids. */
export const log: Logger;
