//! Completing, failing and heartbeating activities by task token, for
//! activities that returned "pending" (`polyworker activity …`).

use temporalio_client::Connection;
use temporalio_client::grpc::WorkflowService;
use temporalio_common::protos::temporal::api::common::v1::{Payload, Payloads};
use temporalio_common::protos::temporal::api::failure::v1::{
    ApplicationFailureInfo, Failure, failure::FailureInfo,
};
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    RecordActivityTaskHeartbeatRequest, RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
};

/// Why an async completion was refused.
#[derive(Debug, thiserror::Error)]
pub enum AsyncCompletionError {
    /// The token is not base64.
    #[error("the task token is not base64: {0}")]
    Token(#[source] base64::DecodeError),
    /// A result or details argument is not JSON.
    #[error("{what} is not JSON: {source}")]
    Json {
        /// Which argument.
        what: &'static str,
        /// The parser's report.
        source: serde_json::Error,
    },
    /// The server refused the completion.
    #[error("the server refused: {}: {}", .0.code(), .0.message())]
    Server(#[source] tonic::Status),
}

/// Decodes a standard-base64 task token (padding optional, whitespace ignored).
pub fn decode_token(text: &str) -> Result<Vec<u8>, AsyncCompletionError> {
    use base64::Engine as _;
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned.trim_end_matches('='))
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.trim_end_matches('='))
        })
        .map_err(AsyncCompletionError::Token)
}

fn json_payloads(
    what: &'static str,
    json: Option<&str>,
) -> Result<Option<Payloads>, AsyncCompletionError> {
    let Some(text) = json else { return Ok(None) };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|source| AsyncCompletionError::Json { what, source })?;
    Ok(Some(Payloads {
        payloads: vec![Payload {
            metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
            data: serde_json::to_vec(&value).unwrap_or_default(),
            ..Default::default()
        }],
    }))
}

fn server(e: tonic::Status) -> AsyncCompletionError {
    AsyncCompletionError::Server(e)
}

/// Completes the activity with a JSON result (none: a null result).
pub async fn complete(
    conn: &Connection,
    namespace: &str,
    task_token: Vec<u8>,
    result_json: Option<&str>,
) -> Result<(), AsyncCompletionError> {
    let req = RespondActivityTaskCompletedRequest {
        task_token,
        result: json_payloads("--result", result_json)?,
        identity: "polyworker-cli".into(),
        namespace: namespace.into(),
        ..Default::default()
    };
    let mut c = conn.clone();
    WorkflowService::respond_activity_task_completed(&mut c, tonic::Request::new(req))
        .await
        .map_err(server)?;
    Ok(())
}

/// Fails the activity with an application failure.
pub async fn fail(
    conn: &Connection,
    namespace: &str,
    task_token: Vec<u8>,
    message: &str,
    error_type: &str,
    non_retryable: bool,
) -> Result<(), AsyncCompletionError> {
    let req = RespondActivityTaskFailedRequest {
        task_token,
        failure: Some(Failure {
            message: message.into(),
            source: "polyworker-cli".into(),
            failure_info: Some(FailureInfo::ApplicationFailureInfo(
                ApplicationFailureInfo {
                    r#type: error_type.into(),
                    non_retryable,
                    ..Default::default()
                },
            )),
            ..Default::default()
        }),
        identity: "polyworker-cli".into(),
        namespace: namespace.into(),
        ..Default::default()
    };
    let mut c = conn.clone();
    WorkflowService::respond_activity_task_failed(&mut c, tonic::Request::new(req))
        .await
        .map_err(server)?;
    Ok(())
}

/// Records a heartbeat; returns whether cancellation was requested.
pub async fn heartbeat(
    conn: &Connection,
    namespace: &str,
    task_token: Vec<u8>,
    details_json: Option<&str>,
) -> Result<bool, AsyncCompletionError> {
    let req = RecordActivityTaskHeartbeatRequest {
        task_token,
        details: json_payloads("--details", details_json)?,
        identity: "polyworker-cli".into(),
        namespace: namespace.into(),
        ..Default::default()
    };
    let mut c = conn.clone();
    let resp = WorkflowService::record_activity_task_heartbeat(&mut c, tonic::Request::new(req))
        .await
        .map_err(server)?;
    Ok(resp.into_inner().cancel_requested)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_decode_with_or_without_padding() {
        assert_eq!(decode_token("Zm8=").unwrap(), b"fo");
        assert_eq!(decode_token("Zm8").unwrap(), b"fo");
        assert_eq!(decode_token(" Zm9v\n").unwrap(), b"foo");
        assert!(decode_token("!!").is_err());
    }

    #[test]
    fn results_must_be_json() {
        assert!(json_payloads("--result", Some("{oops")).is_err());
        let p = json_payloads("--result", Some("\"done\""))
            .unwrap()
            .unwrap();
        assert_eq!(p.payloads[0].data, b"\"done\"");
        assert!(json_payloads("--result", None).unwrap().is_none());
    }
}
