// DataRoutingWorkflow: find a route, transmit, and on a transmit failure try
// the next provider.
import { ActivityFailure, ApplicationFailure } from "@polyworker/sdk";
import { log, proxyActivities } from "@polyworker/sdk/workflow";
import type * as activities from "./activities.ts";
import { type DataRoutingInput, parseInput } from "./input.ts";
import { PROVIDERS, type Packet, type RoutingOptions } from "./model.ts";

/** Routes the packet, answering in the shape the input came in. */
export async function DataRoutingWorkflow(
  input: Partial<Packet> | DataRoutingInput,
  options?: Partial<RoutingOptions> | null,
): Promise<Packet | { Packet: Packet }> {
  const parsed = parseInput(input, options);
  const packet = await route(parsed.packet, parsed.options);
  return parsed.tutorial ? { Packet: packet } : packet;
}

async function route(packet: Packet, options: Partial<RoutingOptions>): Promise<Packet> {
  const opts: RoutingOptions = {
    RouteMaxAttempts: 3,
    TransmitMaxAttempts: 4,
    TransmitTimeoutSeconds: 10,
    Providers: [],
    ...options,
  };
  const providers = opts.Providers.length ? opts.Providers : PROVIDERS;
  const { GetRouteActivity } = proxyActivities<typeof activities>({
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
  const { TransmitActivity } = proxyActivities<typeof activities>({
    startToCloseTimeout: Math.max(1, opts.TransmitTimeoutSeconds) * 1000,
    retry: { maximumAttempts: 1 },
  });

  for (let attempt = 1; attempt <= Math.max(1, opts.TransmitMaxAttempts); attempt++) {
    let provider: string;
    try {
      provider = await GetRouteActivity({ Packet: packet, Providers: providers });
    } catch (err) {
      const noRoute =
        err instanceof ActivityFailure &&
        err.cause instanceof ApplicationFailure &&
        err.cause.type === "NoRouteAvailable";
      if (noRoute) break;
      throw err;
    }
    packet.CurrentRouteProvider = provider;
    log.info(`packet ${packet.ID} transmit attempt ${attempt} via ${provider}`);
    try {
      const receipt = await TransmitActivity(packet);
      packet.Status = receipt?.Status || "STATUS_DELIVERED";
      return packet;
    } catch (err) {
      log.info(`transmit via ${provider} failed: ${(err as Error).message}`);
      packet.FailedRouteProviders.push(provider);
    }
  }
  packet.Status = "STATUS_FAILED";
  return packet;
}
