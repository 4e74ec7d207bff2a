//! `DataRoutingWorkflow`: find a route, transmit, and on a transmit failure
//! try the next provider.

use polyworker_sdk::prelude::*;

use crate::input::{self, Shape};
use crate::model::{
    PROVIDERS, Packet, RouteRequest, RoutingOptions, STATUS_DELIVERED, STATUS_FAILED,
    TransmitReceipt,
};

/// Routes the packet, answering in the shape the input came in; input that
/// is not a packet fails the workflow without retry.
pub async fn data_routing(
    ctx: WorkflowContext,
    (input, options): (serde_json::Value, Option<RoutingOptions>),
) -> Result<serde_json::Value, WorkflowError> {
    let (packet, options, shape) =
        input::parse(input, options).map_err(|e| Failure::non_retryable(e, "InvalidInput"))?;
    let packet = route(ctx, packet, options).await?;
    let packet = serde_json::to_value(packet)
        .map_err(|e| Failure::application(e.to_string(), "Encoding"))?;
    Ok(match shape {
        Shape::Packet => packet,
        Shape::Tutorial => serde_json::json!({ "Packet": packet }),
    })
}

async fn route(
    ctx: WorkflowContext,
    mut packet: Packet,
    options: RoutingOptions,
) -> Result<Packet, WorkflowError> {
    let providers = if options.providers.is_empty() {
        PROVIDERS.iter().map(|p| p.to_string()).collect()
    } else {
        options.providers.clone()
    };
    let route_opts =
        ActivityOptions::start_to_close(Duration::from_secs(5)).retry_policy(RetryPolicy {
            initial_interval: Some(Duration::from_millis(200)),
            backoff_coefficient: Some(2.0),
            maximum_interval: Some(Duration::from_secs(2)),
            maximum_attempts: options.route_max_attempts.max(1),
            non_retryable_error_types: vec!["NoRouteAvailable".into()],
        });
    // One attempt per provider: on failure the workflow moves on to another
    // provider instead of retrying the same one.
    let transmit_opts = ActivityOptions::start_to_close(Duration::from_secs(
        options.transmit_timeout_seconds.max(1),
    ))
    .retry_policy(RetryPolicy {
        maximum_attempts: 1,
        ..Default::default()
    });

    for attempt in 1..=options.transmit_max_attempts.max(1) {
        let request = RouteRequest {
            packet: packet.clone(),
            providers: providers.clone(),
        };
        let provider: String = match ctx
            .activity("GetRouteActivity", (request,), route_opts.clone())
            .await
        {
            Ok(p) => p,
            Err(f) if f.root_message().contains("no route") => break,
            Err(f) => return Err(f.into()),
        };
        packet.current_route_provider = provider.clone();
        ctx.log_info(&format!(
            "packet {} transmit attempt {attempt} via {provider}",
            packet.id
        ));
        let sent: Result<TransmitReceipt, Failure> = ctx
            .activity("TransmitActivity", (packet.clone(),), transmit_opts.clone())
            .await;
        match sent {
            Ok(receipt) => {
                packet.status = if receipt.status.is_empty() {
                    STATUS_DELIVERED.to_string()
                } else {
                    receipt.status
                };
                return Ok(packet);
            }
            Err(f) => {
                ctx.log_info(&format!("transmit via {provider} failed: {f}"));
                packet.failed_route_providers.push(provider);
            }
        }
    }
    packet.status = STATUS_FAILED.to_string();
    Ok(packet)
}
