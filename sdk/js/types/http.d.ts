// @polyworker/sdk/http: whole-body HTTP for activities, behind the task
// queue's `http_allowlist` (refused in workflows).

/** A response. */
export interface HttpResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
  /** The body as UTF-8 text. */
  text(): string;
  /** The body parsed as JSON. */
  json<T = unknown>(): T;
}

/** Request options. */
export interface RequestOptions {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** "5s" or milliseconds. */
  timeout?: number | string;
}

/** Why a request failed. */
export class HttpError extends Error {
  readonly kind: "denied" | "invalid-request" | "transport" | "timeout";
  constructor(kind: string, detail?: string);
}

export function request(method: string, url: string, options?: RequestOptions): HttpResponse;
export function get(url: string, options?: RequestOptions): HttpResponse;
export function post(url: string, body?: string | Uint8Array, options?: RequestOptions): HttpResponse;
