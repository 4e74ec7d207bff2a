//! Spans over OTLP (`[traces.otlp]`): the tracer the workflow and activity
//! runners record workflow tasks and activity attempts with
//! ([`crate::temporal::trace`]), batched to an OpenTelemetry collector.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, Tracer};

use super::OpsError;
use crate::config::{OtlpConfig, OtlpProtocol};

/// The span pipeline; [`Traces::shutdown`] sends what is still batched.
pub struct Traces {
    provider: SdkTracerProvider,
    /// What the runners record spans with.
    pub tracer: Tracer,
}

fn otlp_error(config: &OtlpConfig, e: impl std::error::Error + Send + Sync + 'static) -> OpsError {
    OpsError::Otlp {
        endpoint: config.endpoint.clone(),
        source: Box::new(e),
    }
}

impl Traces {
    /// Exports to `config.endpoint`; `identity` is the default
    /// `service.instance.id`.
    pub fn start(config: &OtlpConfig, identity: &str) -> Result<Traces, OpsError> {
        let url = config.traces_url().map_err(|e| otlp_error(config, e))?;
        let headers: std::collections::HashMap<String, String> =
            config.headers.clone().into_iter().collect();
        let exporter = match config.protocol {
            OtlpProtocol::Grpc => {
                let metadata = tonic::metadata::MetadataMap::from_headers(
                    (&headers).try_into().map_err(|e| otlp_error(config, e))?,
                );
                SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(url.to_string())
                    .with_metadata(metadata)
                    .build()
            }
            OtlpProtocol::Http => SpanExporter::builder()
                .with_http()
                .with_endpoint(url.to_string())
                .with_headers(headers)
                .build(),
        }
        .map_err(|e| otlp_error(config, e))?;
        let batches = BatchConfigBuilder::default()
            .with_scheduled_delay(Duration::from_millis(config.interval_ms))
            .build();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batches)
            .build();
        let mut attributes = std::collections::BTreeMap::from([
            ("service.name".to_string(), "polyworker".to_string()),
            ("service.instance.id".to_string(), identity.to_string()),
        ]);
        attributes.extend(config.resource.clone());
        let resource = Resource::builder_empty()
            .with_attributes(attributes.into_iter().map(|(k, v)| KeyValue::new(k, v)))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("polyworker");
        Ok(Traces { provider, tracer })
    }

    /// Exports the spans still batched, then stops (on a blocking thread:
    /// the exporter may wait on the collector).
    pub async fn shutdown(self) {
        let provider = self.provider;
        let done = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "the last spans may not have reached the collector");
        }
    }
}
