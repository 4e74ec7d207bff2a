// The example's data, as JSON: the same field names as the Rust, Go,
// Python and C examples, so any client can start any of them.

export interface Packet {
  ID: string;
  Source: string;
  Destination: string;
  Contents: string;
  FailedRouteProviders: string[];
  CurrentRouteProvider: string;
  Status: "" | "STATUS_DELIVERED" | "STATUS_FAILED";
}

export interface RoutingOptions {
  RouteMaxAttempts: number;
  TransmitMaxAttempts: number;
  TransmitTimeoutSeconds: number;
  Providers: string[];
}

export interface RouteRequest {
  Packet: Packet;
  Providers: string[];
}

export const PROVIDERS = ["RouteA", "RouteB", "RouteC", "RouteD", "RouteE"];
