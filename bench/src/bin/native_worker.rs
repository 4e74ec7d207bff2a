//! The benchmark workflows on Temporal's native Rust SDK: the yardstick
//! polyworker is measured against.
//! `native-worker ADDRESS TASK_QUEUE [MAX_CACHED_WORKFLOWS]`.

use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;
use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions, Url};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{
    ActivityOptions, Runtime, SyncWorkflowContext, Worker, WorkerOptions, WorkflowContext,
    WorkflowResult,
};

#[workflow]
#[derive(Default)]
pub struct BenchWorkflow;

#[workflow_methods]
impl BenchWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, order: Value) -> WorkflowResult<Value> {
        let options = || ActivityOptions::start_to_close_timeout(Duration::from_secs(10));
        let first = ctx
            .execute_activity(BenchActivities::step, order, options())
            .await?;
        ctx.timer(Duration::from_millis(10)).await;
        let second = ctx
            .execute_activity(BenchActivities::step, first, options())
            .await?;
        Ok(second)
    }
}

/// Waits for a "go" signal (the density benchmark).
#[workflow]
#[derive(Default)]
pub struct Parked {
    go: bool,
}

#[workflow_methods]
impl Parked {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_condition(|s| s.go).await?;
        Ok("done".into())
    }

    #[signal]
    pub fn go(&mut self, _ctx: &mut SyncWorkflowContext<Self>) {
        self.go = true;
    }
}

pub struct BenchActivities;

#[activities]
impl BenchActivities {
    /// Counts the steps taken in the order's `steps` field.
    #[activity]
    pub async fn step(_ctx: ActivityContext, mut order: Value) -> Result<Value, ActivityError> {
        let steps = order["steps"].as_u64().unwrap_or(0) + 1;
        order["steps"] = steps.into();
        Ok(order)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(address), Some(task_queue)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: native-worker ADDRESS TASK_QUEUE [MAX_CACHED_WORKFLOWS]");
        std::process::exit(2);
    };
    let cached: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let runtime = Runtime::from_current_tokio(Default::default())?;
    let connection = Connection::connect(
        ConnectionOptions::new(Url::from_str(address)?)
            .identity("native-worker".to_string())
            .build(),
    )
    .await?;
    let client = Client::new(connection, ClientOptions::new("default").build())?;
    let options = WorkerOptions::new(task_queue.as_str())
        .register_workflow::<BenchWorkflow>()?
        .register_workflow::<Parked>()?
        .register_activities(BenchActivities)
        .max_cached_workflows(cached)
        .build();
    let mut worker = Worker::new(&runtime, client, options)?;
    worker.run().await?;
    Ok(())
}
