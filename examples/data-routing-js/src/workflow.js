// DataRoutingWorkflow: find a route, transmit, and on a transmit failure try
// the next provider.
import { ActivityFailure } from "@polyworker/sdk";
import { log, proxyActivities } from "@polyworker/sdk/workflow";
import { parseInput } from "./input.js";

export const PROVIDERS = ["RouteA", "RouteB", "RouteC", "RouteD", "RouteE"];

/** Routes the packet, answering in the shape the input came in. */
export async function DataRoutingWorkflow(input, options = {}) {
  const parsed = parseInput(input, options);
  const packet = await route(parsed.packet, parsed.options);
  return parsed.tutorial ? { Packet: packet } : packet;
}

async function route(packet, options) {
  const opts = {
    RouteMaxAttempts: 3,
    TransmitMaxAttempts: 4,
    TransmitTimeoutSeconds: 10,
    Providers: [],
    ...(options ?? {}),
  };
  packet = { FailedRouteProviders: [], CurrentRouteProvider: "", Status: "", ...packet };
  packet.FailedRouteProviders ??= [];
  const providers = opts.Providers?.length ? opts.Providers : PROVIDERS;
  const { GetRouteActivity } = proxyActivities({
    startToCloseTimeout: "5s",
    retry: {
      initialInterval: "200ms",
      backoffCoefficient: 2,
      maximumInterval: "2s",
      maximumAttempts: Math.max(1, opts.RouteMaxAttempts),
      nonRetryableErrorTypes: ["NoRouteAvailable"],
    },
  });
  // One attempt per provider: on failure the workflow moves on to another
  // provider instead of retrying the same one.
  const { TransmitActivity } = proxyActivities({
    startToCloseTimeout: Math.max(1, opts.TransmitTimeoutSeconds) * 1000,
    retry: { maximumAttempts: 1 },
  });

  for (let attempt = 1; attempt <= Math.max(1, opts.TransmitMaxAttempts); attempt++) {
    let provider;
    try {
      provider = await GetRouteActivity({ Packet: packet, Providers: providers });
    } catch (err) {
      if (err instanceof ActivityFailure && err.cause?.type === "NoRouteAvailable") break;
      throw err;
    }
    packet.CurrentRouteProvider = provider;
    log.info(`packet ${packet.ID} transmit attempt ${attempt} via ${provider}`);
    try {
      const receipt = await TransmitActivity(packet);
      packet.Status = receipt?.Status || "STATUS_DELIVERED";
      return packet;
    } catch (err) {
      log.info(`transmit via ${provider} failed: ${err.message}`);
      packet.FailedRouteProviders.push(provider);
    }
  }
  packet.Status = "STATUS_FAILED";
  return packet;
}
