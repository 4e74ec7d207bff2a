// HTTP for activities over `polyworker:worker/http-client`: one blocking call
// per request. What it may reach is the task queue's `http_allowlist`;
// workflows get `denied`.

import * as clientModule from "polyworker:worker/http-client@0.1.0";
import { utf8Decode, utf8Encode } from "./payload.js";
import { toNanos } from "./duration.js";

// componentize-qjs exposes an interface as the default export;
// componentize-js (SpiderMonkey) as named exports.
const client = clientModule.default ?? clientModule;

/** Why a request failed: `kind` is "denied", "invalid-request", "transport" or "timeout". */
export class HttpError extends Error {
  constructor(kind, detail) {
    super(detail ? `${kind}: ${detail}` : kind);
    this.name = "HttpError";
    this.kind = kind;
  }
}

/**
 * Sends a request and reads the whole response:
 * `{ status, headers: [[name, value]], body: Uint8Array, text(), json() }`.
 * Options: `headers` (object), `body` (string or bytes), `timeout` ("5s" or ms).
 */
export function request(method, url, { headers = {}, body, timeout } = {}) {
  const bytes = typeof body === "string" ? utf8Encode(body) : (body ?? new Uint8Array(0));
  let resp;
  try {
    resp = client.send({
      method,
      url,
      headers: Object.entries(headers).map(([k, v]) => [k, String(v)]),
      body: bytes,
      timeout: toNanos(timeout),
    });
  } catch (e) {
    // A WIT `result` error arrives as an Error whose `payload` is the variant.
    const err = e?.payload ?? e;
    if (err && typeof err === "object" && "tag" in err) throw new HttpError(err.tag, err.val);
    throw e;
  }
  const data = resp.body;
  return {
    status: resp.status,
    headers: resp.headers,
    body: data,
    text: () => utf8Decode(data),
    json: () => JSON.parse(utf8Decode(data)),
  };
}

export function get(url, options) {
  return request("GET", url, options);
}

export function post(url, body, options = {}) {
  return request("POST", url, { ...options, body });
}
