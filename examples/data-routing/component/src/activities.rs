//! The activities: the route service and the hand-off to the transmit service.

use polyworker_sdk::http;
use polyworker_sdk::prelude::*;
use serde::Serialize;

use crate::model::{Packet, RouteRequest};

/// Reads a setting the task queue's configuration grants as environment.
fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Whether the simulated network fails this attempt: the first
/// `ROUTE_FAIL_FIRST_ATTEMPTS` attempts always fail (for tests), later ones
/// with probability `ROUTE_ERROR_CHANCE` (default 0.1).
fn network_fails(attempt: u32) -> bool {
    let fail_first: u32 = setting("ROUTE_FAIL_FIRST_ATTEMPTS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if attempt <= fail_first {
        return true;
    }
    let chance: f64 = setting("ROUTE_ERROR_CHANCE")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.1);
    random_unit() < chance
}

/// A uniform value in [0, 1): activities get the host's real randomness.
fn random_unit() -> f64 {
    (polyworker_sdk::random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Picks the first provider (in preference order) that has not failed yet.
pub async fn get_route(
    ctx: ActivityContext,
    (request,): (RouteRequest,),
) -> Result<String, ActivityError> {
    let attempt = ctx.info().attempt;
    if network_fails(attempt) {
        return Err(ActivityError::retryable(
            format!("route service unreachable (attempt {attempt})"),
            "NetworkError",
        ));
    }
    request
        .providers
        .iter()
        .find(|p| !request.packet.failed_route_providers.contains(p))
        .cloned()
        .ok_or_else(|| {
            ActivityError::non_retryable(
                format!(
                    "no route available: every provider failed ({})",
                    request.packet.failed_route_providers.join(", ")
                ),
                "NoRouteAvailable",
            )
        })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TransmitRequest<'a> {
    packet: &'a Packet,
    /// The activity's task token, base64 (standard alphabet).
    task_token: String,
}

/// Posts the packet and the task token to the transmit service and leaves
/// the activity pending: the service completes it by task token.
pub async fn transmit(ctx: ActivityContext, (packet,): (Packet,)) -> Result<(), ActivityError> {
    let base = setting("TRANSMIT_SERVICE_URL").ok_or_else(|| {
        ActivityError::non_retryable(
            "TRANSMIT_SERVICE_URL is not set in this task queue's environment",
            "ConfigurationError",
        )
    })?;
    let body = serde_json::to_vec(&TransmitRequest {
        packet: &packet,
        task_token: ctx.task_token_base64(),
    })
    .map_err(|e| ActivityError::non_retryable(e.to_string(), "EncodingError"))?;
    let url = format!("{}/transmit", base.trim_end_matches('/'));
    let resp = http::post(&url, "application/json", &body)
        .map_err(|e| ActivityError::retryable(e.to_string(), "NetworkError"))?;
    if !(200..300).contains(&resp.status) {
        return Err(ActivityError::retryable(
            format!(
                "transmit service answered {}: {}",
                resp.status,
                String::from_utf8_lossy(&resp.body)
            ),
            "TransmitRejected",
        ));
    }
    ctx.log_info(&format!(
        "packet {} handed to the transmit service via {}",
        packet.id, packet.current_route_provider
    ));
    Err(ActivityError::CompleteAsync)
}
