//! The example's data, shaped like the JSON other SDKs' clients send.

use serde::{Deserialize, Serialize};

/// Every route provider, in the route service's order of preference.
pub const PROVIDERS: [&str; 5] = ["RouteA", "RouteB", "RouteC", "RouteD", "RouteE"];

pub const STATUS_DELIVERED: &str = "STATUS_DELIVERED";
pub const STATUS_FAILED: &str = "STATUS_FAILED";

/// The workflow's input and output.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Packet {
    #[serde(rename = "ID")]
    pub id: String,
    pub source: String,
    pub destination: String,
    pub contents: String,
    pub failed_route_providers: Vec<String>,
    pub current_route_provider: String,
    pub status: String,
}

/// The workflow's optional second argument.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct RoutingOptions {
    /// Attempts of `GetRouteActivity` (Temporal retries it).
    pub route_max_attempts: u32,
    /// Providers to try transmitting through, one after the other.
    pub transmit_max_attempts: u32,
    /// Start-to-close timeout of one `TransmitActivity` attempt.
    pub transmit_timeout_seconds: u64,
    /// Providers the route service may pick from; empty means all.
    pub providers: Vec<String>,
}

impl Default for RoutingOptions {
    fn default() -> Self {
        RoutingOptions {
            route_max_attempts: 3,
            transmit_max_attempts: 4,
            transmit_timeout_seconds: 10,
            providers: Vec::new(),
        }
    }
}

/// `GetRouteActivity`'s input.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RouteRequest {
    pub packet: Packet,
    pub providers: Vec<String>,
}

/// What the transmit service completes `TransmitActivity` with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct TransmitReceipt {
    pub provider: String,
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_json_uses_the_other_sdks_field_names() {
        let p: Packet =
            serde_json::from_str(r#"{"ID":"p1","Source":"a","Destination":"b","Contents":"hi"}"#)
                .unwrap();
        assert_eq!(p.id, "p1");
        assert!(p.failed_route_providers.is_empty());
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["FailedRouteProviders"], serde_json::json!([]));
        assert_eq!(v["CurrentRouteProvider"], "");
    }
}
