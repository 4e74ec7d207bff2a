//! `polyworker activity complete|fail|heartbeat`.

use clap::Subcommand;

use super::{ServerArgs, connect};

/// Completes, fails or heartbeats a pending activity by its task token.
#[derive(Subcommand)]
pub enum ActivityCmd {
    /// Complete the activity with a JSON result.
    Complete {
        /// Which activity.
        #[command(flatten)]
        target: TokenTarget,
        /// The result as JSON (default: no result).
        #[arg(long)]
        result: Option<String>,
    },
    /// Fail the activity; Temporal retries it per its retry policy unless
    /// --non-retryable is given.
    Fail {
        /// Which activity.
        #[command(flatten)]
        target: TokenTarget,
        /// The failure's message.
        #[arg(long)]
        message: String,
        /// The error type (matched by retry policies).
        #[arg(long = "type", default_value = "PolyworkerCliFailure")]
        error_type: String,
        /// Do not retry, whatever the retry policy says.
        #[arg(long)]
        non_retryable: bool,
    },
    /// Record a heartbeat with JSON details; prints whether cancellation was requested.
    Heartbeat {
        /// Which activity.
        #[command(flatten)]
        target: TokenTarget,
        /// The heartbeat details as JSON.
        #[arg(long)]
        details: Option<String>,
    },
}

#[derive(clap::Args)]
pub struct TokenTarget {
    /// The activity's task token, base64 (`ActivityContext::task_token_base64`).
    #[arg(long)]
    pub task_token: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Runs an `activity` subcommand.
pub async fn execute(cmd: ActivityCmd) -> anyhow::Result<()> {
    use crate::temporal::async_completion as ac;
    match cmd {
        ActivityCmd::Complete { target, result } => {
            let conn = connect(&target.server.address, "polyworker-cli").await?;
            ac::complete(
                &conn,
                &target.server.namespace,
                ac::decode_token(&target.task_token)?,
                result.as_deref(),
            )
            .await?;
            println!("completed");
        }
        ActivityCmd::Fail {
            target,
            message,
            error_type,
            non_retryable,
        } => {
            let conn = connect(&target.server.address, "polyworker-cli").await?;
            let token = ac::decode_token(&target.task_token)?;
            ac::fail(
                &conn,
                &target.server.namespace,
                token,
                &message,
                &error_type,
                non_retryable,
            )
            .await?;
            println!("failed");
        }
        ActivityCmd::Heartbeat { target, details } => {
            let conn = connect(&target.server.address, "polyworker-cli").await?;
            let token = ac::decode_token(&target.task_token)?;
            let cancel =
                ac::heartbeat(&conn, &target.server.namespace, token, details.as_deref()).await?;
            println!("recorded; cancel requested: {cancel}");
        }
    }
    Ok(())
}
