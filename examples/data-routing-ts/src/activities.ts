// The activities: the route service and the hand-off to the transmit service.
import { ApplicationFailure } from "@polyworker/sdk";
import { CompleteAsyncError, activityInfo, env, log, taskTokenBase64 } from "@polyworker/sdk/activity";
import { HttpError, post } from "@polyworker/sdk/http";
import type { Packet, RouteRequest } from "./model.ts";

/** A setting the task queue's configuration grants as environment. */
function setting(name: string): string | undefined {
  const v = env()[name];
  return v === undefined || v === "" ? undefined : v;
}

// The first ROUTE_FAIL_FIRST_ATTEMPTS attempts always fail (for tests), later
// ones with probability ROUTE_ERROR_CHANCE (default 0.1).
function networkFails(attempt: number): boolean {
  if (attempt <= Number(setting("ROUTE_FAIL_FIRST_ATTEMPTS") ?? 0)) return true;
  return Math.random() < Number(setting("ROUTE_ERROR_CHANCE") ?? 0.1);
}

/** Picks the first provider (in preference order) that has not failed yet. */
export function GetRouteActivity({ Packet: packet, Providers: providers }: RouteRequest): string {
  const { attempt } = activityInfo();
  if (networkFails(attempt)) {
    throw ApplicationFailure.retryable(`route service unreachable (attempt ${attempt})`, "NetworkError");
  }
  const failed = packet.FailedRouteProviders ?? [];
  const provider = providers.find((p) => !failed.includes(p));
  if (provider === undefined) {
    throw ApplicationFailure.nonRetryable(
      `no route available: every provider failed (${failed.join(", ")})`,
      "NoRouteAvailable",
    );
  }
  return provider;
}

/**
 * Posts the packet and the task token to the transmit service and leaves the
 * activity pending: the service completes it by task token, with a receipt.
 */
export function TransmitActivity(packet: Packet): { Status?: Packet["Status"] } {
  const base = setting("TRANSMIT_SERVICE_URL");
  if (!base) {
    throw ApplicationFailure.nonRetryable(
      "TRANSMIT_SERVICE_URL is not set in this task queue's environment",
      "ConfigurationError",
    );
  }
  const url = `${base.replace(/\/+$/, "")}/transmit`;
  const body = JSON.stringify({ Packet: packet, TaskToken: taskTokenBase64() });
  let resp;
  try {
    resp = post(url, body, { headers: { "content-type": "application/json" } });
  } catch (e) {
    const message = e instanceof HttpError ? e.message : String(e);
    throw ApplicationFailure.retryable(message, "NetworkError");
  }
  if (resp.status < 200 || resp.status >= 300) {
    throw ApplicationFailure.retryable(
      `transmit service answered ${resp.status}: ${resp.text()}`,
      "TransmitRejected",
    );
  }
  log.info(`packet ${packet.ID} handed to the transmit service via ${packet.CurrentRouteProvider}`);
  throw new CompleteAsyncError();
}
