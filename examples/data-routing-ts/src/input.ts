// The workflow's input, in either of its two shapes: a packet (with the
// options as a second argument), or the tutorial's
// {"Packet": {...}, "GetRouteMaxAttempts": n, "TransmitPacketMaxAttempts": m},
// answered as {"Packet": {...}}. Anything else is refused, saying what is
// wrong, rather than read as an empty packet.
import { ApplicationFailure } from "@polyworker/sdk";
import type { Packet, RoutingOptions } from "./model.ts";

/** The tutorial's input record. */
export interface DataRoutingInput {
  Packet: Partial<Packet>;
  GetRouteMaxAttempts?: number;
  TransmitPacketMaxAttempts?: number;
}

const STRING_FIELDS = ["ID", "Source", "Destination", "Contents", "CurrentRouteProvider", "Status"];
const PACKET_FIELDS = [...STRING_FIELDS, "FailedRouteProviders"];
const TUTORIAL_FIELDS = ["Packet", "GetRouteMaxAttempts", "TransmitPacketMaxAttempts"];

const invalid = (why: string) => ApplicationFailure.nonRetryable(why, "InvalidInput");
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function checkPacket(p: unknown): Packet {
  if (!isObject(p)) throw invalid(`not a packet: expected an object, got ${JSON.stringify(p)}`);
  for (const k of Object.keys(p)) {
    if (!PACKET_FIELDS.includes(k)) throw invalid(`not a packet: unknown field \`${k}\``);
  }
  if (!("ID" in p)) throw invalid("not a packet: missing field `ID`");
  for (const k of STRING_FIELDS) {
    if (k in p && typeof p[k] !== "string") throw invalid(`not a packet: invalid type of \`${k}\`, expected a string`);
  }
  if (p.ID === "") throw invalid("not a packet: `ID` is empty");
  const failed = p.FailedRouteProviders;
  if (failed != null && !(Array.isArray(failed) && failed.every((f) => typeof f === "string"))) {
    throw invalid("not a packet: invalid type of `FailedRouteProviders`, expected a list of strings");
  }
  return {
    ID: p.ID as string,
    Source: (p.Source as string) ?? "",
    Destination: (p.Destination as string) ?? "",
    Contents: (p.Contents as string) ?? "",
    CurrentRouteProvider: (p.CurrentRouteProvider as string) ?? "",
    Status: ((p.Status as string) ?? "") as Packet["Status"],
    FailedRouteProviders: (failed as string[] | undefined) ?? [],
  };
}

/** The packet, the option overrides, and whether the tutorial's shape was used. */
export function parseInput(
  input: unknown,
  options: Partial<RoutingOptions> | null | undefined,
): { packet: Packet; options: Partial<RoutingOptions>; tutorial: boolean } {
  const opts: Partial<RoutingOptions> = { ...(options ?? {}) };
  if (!(isObject(input) && "Packet" in input)) return { packet: checkPacket(input), options: opts, tutorial: false };
  for (const k of Object.keys(input)) {
    if (!TUTORIAL_FIELDS.includes(k)) throw invalid(`not a data-routing input: unknown field \`${k}\``);
  }
  for (const k of ["GetRouteMaxAttempts", "TransmitPacketMaxAttempts"]) {
    if (k in input && !Number.isInteger(input[k])) {
      throw invalid(`not a data-routing input: invalid type of \`${k}\`, expected an integer`);
    }
  }
  if (input.GetRouteMaxAttempts != null) opts.RouteMaxAttempts = input.GetRouteMaxAttempts as number;
  if (input.TransmitPacketMaxAttempts != null) opts.TransmitMaxAttempts = input.TransmitPacketMaxAttempts as number;
  return { packet: checkPacket(input.Packet), options: opts, tutorial: true };
}
