// Types shared by the SDK's modules.

/** A duration: milliseconds, or a string such as "500ms", "1.5s", "2m", "1h", "1d". */
export type Duration = number | string;

/** Temporal's `Payload`, as the WIT `payload` record. */
export interface Payload {
  metadata: Array<[string, Uint8Array]>;
  data: Uint8Array;
}

/** How a retried operation backs off, as in Temporal's TypeScript SDK. */
export interface RetryPolicy {
  initialInterval?: Duration;
  backoffCoefficient?: number;
  maximumInterval?: Duration;
  /** 0 (the default) retries without limit. */
  maximumAttempts?: number;
  nonRetryableErrorTypes?: string[];
}

/** Log lines go to the host's log with the task's tags (muted on replay in workflows). */
export interface Logger {
  trace(...parts: unknown[]): void;
  debug(...parts: unknown[]): void;
  info(...parts: unknown[]): void;
  warn(...parts: unknown[]): void;
  error(...parts: unknown[]): void;
}
