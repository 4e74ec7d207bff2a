// @polyworker/sdk/workflow: the API of workflow code, in the vocabulary of
// Temporal's `@temporalio/workflow`. Everything here is deterministic: time
// is workflow time, randomness is seeded by the run, and every operation is
// a command in the run's history.

import type { Duration, Logger, Payload, RetryPolicy } from "./common";

/** The run, as `workflowInfo()` reports it. Durations and times are nanoseconds. */
export interface WorkflowInfo {
  workflowType: string;
  workflowId: string;
  runId: string;
  namespace: string;
  taskQueue: string;
  arguments: Payload[];
  headers: Array<[string, Payload]>;
  randomnessSeed: number;
  attempt: number;
  firstExecutionRunId: string;
  continuedFromRunId?: string;
  parent?: { namespace: string; workflowId: string; runId: string };
  cronSchedule?: string;
  workflowExecutionTimeout?: number;
  workflowRunTimeout?: number;
  workflowTaskTimeout?: number;
  startTime?: number;
  lastCompletionResult: Payload[];
}

/** How an activity is run, as in `@temporalio/workflow`'s `ActivityOptions`. */
export interface ActivityOptions {
  /** One of `startToCloseTimeout` and `scheduleToCloseTimeout` is required. */
  startToCloseTimeout?: Duration;
  scheduleToCloseTimeout?: Duration;
  scheduleToStartTimeout?: Duration;
  heartbeatTimeout?: Duration;
  retry?: RetryPolicy;
  /** Another task queue (of this namespace); default: the workflow's. */
  taskQueue?: string;
  activityId?: string;
  cancellationType?: "TRY_CANCEL" | "WAIT_CANCELLATION_COMPLETED" | "ABANDON";
}

/** A signal, query or update, as `defineSignal` and friends return it. */
export interface SignalDefinition<Args extends unknown[] = []> {
  type: "signal";
  name: string;
  /** Carries the argument types; never set. */
  readonly __args?: Args;
}
export interface QueryDefinition<Ret = unknown, Args extends unknown[] = []> {
  type: "query";
  name: string;
  readonly __args?: Args;
  readonly __ret?: Ret;
}
export interface UpdateDefinition<Ret = unknown, Args extends unknown[] = []> {
  type: "update";
  name: string;
  readonly __args?: Args;
  readonly __ret?: Ret;
}

/** A type's activities, called as functions: `acts.GetRoute(packet)`. */
export type ActivityInterfaceFor<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** The run's info (ids, type, task queue, attempt, start time, ...). */
export function workflowInfo(): WorkflowInfo;
/** True while the workflow is being asked to cancel. */
export function isCancellationRequested(): boolean;
/** Sleeps for a duration of workflow time (a durable timer). */
export function sleep(duration: Duration): Promise<void>;
/** Runs an activity and resolves with its result. */
export function executeActivity<R = unknown>(
  activityType: string,
  args?: unknown[],
  options?: ActivityOptions,
): Promise<R>;
/** `proxyActivities<typeof acts>(options).MyActivity(a, b)` runs `MyActivity` with `options`. */
export function proxyActivities<T = Record<string, (...args: any[]) => any>>(
  options: ActivityOptions,
): ActivityInterfaceFor<T>;
export function defineSignal<Args extends unknown[] = []>(name: string): SignalDefinition<Args>;
export function defineQuery<Ret = unknown, Args extends unknown[] = []>(name: string): QueryDefinition<Ret, Args>;
export function defineUpdate<Ret = unknown, Args extends unknown[] = []>(name: string): UpdateDefinition<Ret, Args>;

/**
 * Sets (or with `undefined`, removes) the handler of a signal, query or
 * update. Signals that arrived before their handler are delivered when it
 * is set. Query handlers must be synchronous and must not change state.
 */
export function setHandler<Args extends unknown[]>(
  definition: SignalDefinition<Args>,
  handler: ((...args: Args) => void | Promise<void>) | undefined,
): void;
export function setHandler<Ret, Args extends unknown[]>(
  definition: QueryDefinition<Ret, Args>,
  handler: ((...args: Args) => Ret) | undefined,
): void;
export function setHandler<Ret, Args extends unknown[]>(
  definition: UpdateDefinition<Ret, Args>,
  handler: ((...args: Args) => Ret | Promise<Ret>) | undefined,
  options?: { validator?: (...args: Args) => void },
): void;

/** Resolves with true once `fn()` is true; with a timeout, false if it passes first. */
export function condition(fn: () => boolean, timeout?: Duration): Promise<boolean>;
/** Whether this run takes the new code path of change `patchId`. */
export function patched(patchId: string): boolean;
/** Marks that no run without patch `patchId` is still open. */
export function deprecatePatch(patchId: string): void;

/** How runs of a workflow type move when a new module version becomes current. */
export type VersioningBehavior = "PINNED" | "AUTO_UPGRADE" | "UNSPECIFIED";
/** Options of a workflow function, declared where it is defined. */
export interface WorkflowDefinitionOptions {
  /** Unset or `"UNSPECIFIED"`: the host's `default_versioning`. */
  versioningBehavior?: VersioningBehavior;
}
/** Declares a workflow function's options (its versioning behaviour). */
export function setWorkflowOptions(options: WorkflowDefinitionOptions, fn: (...args: any[]) => any): void;

/** Thrown to continue the workflow as a new run. */
export class ContinueAsNew extends Error {
  readonly args: unknown[];
  readonly options: Record<string, unknown>;
  constructor(args: unknown[], options?: Record<string, unknown>);
}
/** Ends this run and starts a new one of the same type with `args`: `return continueAsNew(...)`. */
export function continueAsNew(...args: unknown[]): Promise<never>;

/** The workflow's log (muted while replaying). */
export const log: Logger;
/** A random UUID from the run's seeded stream. */
export function uuid4(): string;
/** Milliseconds in a duration. */
export function toMillis(duration: Duration): number;
