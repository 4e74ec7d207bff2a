/** Returned by a mock: the attempt never completes, so its timeout fires. */
export declare const HANG: unique symbol;

/** Returned by a mock: the attempt takes `ms` of virtual time, then answers `value`. */
export declare function after(ms: number, value: unknown): unknown;
/** The attempt a mock answers. */
export interface ActivityInfo {
  activityType: string;
  activityId: string;
  attempt: number;
  /** The last heartbeat details of an earlier attempt (empty on the first). */
  heartbeatDetails: unknown[];
}
/** Inside a mock: the attempt it answers. */
export declare function activityInfo(): ActivityInfo;
/** Inside a mock: a heartbeat with `details`, recorded before the attempt answers. */
export declare function heartbeat(...details: unknown[]): void;

/** Thrown by a mock to fail the attempt. */
export declare class ApplicationFailure extends Error {
  constructor(message: string, type?: string, nonRetryable?: boolean);
  readonly type: string;
  readonly nonRetryable: boolean;
  static create(options: { message: string; type?: string; nonRetryable?: boolean }): ApplicationFailure;
  static retryable(message: string, type?: string): ApplicationFailure;
  static nonRetryable(message: string, type?: string): ApplicationFailure;
}

/** A failure as the server recorded it, with its cause chain. */
export interface Failure {
  message: string;
  source?: string;
  type?: string;
  non_retryable?: boolean;
  timeout_type?: string;
  activity_type?: string;
  cause?: Failure;
}

/** One activity attempt the run caused. */
export interface Call {
  activity_type: string;
  input: unknown[];
  attempt: number;
  activity_id: string;
}

export interface Run {
  workflowId: string;
  outcome: 'completed' | 'failed' | 'other';
  result?: unknown;
  failure?: Failure;
  activities: Call[];
  callsOf(activityType: string): Call[];
}

export declare class WorkflowFailedError extends Error {
  readonly failure: Failure;
  readonly cause?: Failure;
}

export declare class DeterminismViolationError extends Error {}

export declare class WorkflowUpdateFailedError extends Error {
  readonly failure: Failure;
}

/** A started run. */
export interface WorkflowHandle {
  readonly workflowId: string;
  readonly runId: string;
  signal(name: string, ...args: unknown[]): Promise<void>;
  query<T = unknown>(name: string, ...args: unknown[]): Promise<T>;
  executeUpdate<T = unknown>(name: string, options?: { args?: unknown[] }): Promise<T>;
  run(): Promise<Run>;
  result<T = unknown>(): Promise<T>;
}

export declare class TestWorkflowEnvironment {
  static createTimeSkipping(options: { component: string; binary?: string }): Promise<TestWorkflowEnvironment>;
  onActivity(activityType: string, mock: (...args: any[]) => unknown | Promise<unknown>): void;
  run(workflowType: string, options?: { args?: unknown[] }): Promise<Run>;
  executeWorkflow<T = unknown>(workflowType: string, options?: { args?: unknown[] }): Promise<T>;
  startWorkflow(workflowType: string, options?: { args?: unknown[] }): Promise<WorkflowHandle>;
  /** Lets `ms` milliseconds of virtual time pass. */
  sleep(ms: number): Promise<void>;
  teardown(): Promise<void>;
}
