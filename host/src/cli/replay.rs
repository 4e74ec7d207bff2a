//! `polyworker replay`.

use std::path::PathBuf;

use super::{ServerArgs, connect};

/// What `polyworker replay` takes.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The workflow component to check.
    #[arg(long)]
    pub module: PathBuf,
    /// History files, as written by `temporal workflow show --output json`.
    #[arg(long = "history")]
    pub histories: Vec<PathBuf>,
    /// Fetch this workflow's history from the server.
    #[arg(long)]
    pub workflow_id: Option<String>,
    /// With --workflow-id: this run instead of the latest.
    #[arg(long, requires = "workflow_id")]
    pub run_id: Option<String>,
    /// Fetch the histories of the executions matching this visibility
    /// query, e.g. "WorkflowType='DataRoutingWorkflow'".
    #[arg(long)]
    pub query: Option<String>,
    /// With --query: at most this many executions.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Compile the guest with native debug info and no optimisation, so a
    /// debugger running polyworker (`gdb --args polyworker replay --debug
    /// …`) stops at guest source lines; see docs/unit-testing.md.
    #[arg(long)]
    pub debug: bool,
    /// The server to fetch from.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Replays the histories given on the command line; true when all replay.
pub async fn execute(args: ReplayArgs) -> anyhow::Result<bool> {
    let ReplayArgs {
        module,
        histories,
        workflow_id,
        run_id,
        query,
        limit,
        debug,
        server,
    } = args;
    let (address, namespace) = (server.address, server.namespace);
    use crate::temporal::replay;
    let mut inputs = Vec::new();
    for h in &histories {
        inputs.push(replay::history_file(h)?);
    }
    if workflow_id.is_some() || query.is_some() {
        let conn = connect(&address, "polyworker-replay").await?;
        if let Some(id) = &workflow_id {
            inputs.push(
                replay::fetch_history(&conn, &namespace, id, run_id.as_deref().unwrap_or(""))
                    .await?,
            );
        }
        if let Some(q) = &query {
            for (id, run) in replay::list_executions(&conn, &namespace, q, limit).await? {
                inputs.push(replay::fetch_history(&conn, &namespace, &id, &run).await?);
            }
        }
    }
    anyhow::ensure!(
        !inputs.is_empty(),
        "no histories to replay: give --history, --workflow-id or --query"
    );
    let bar = indicatif::ProgressBar::new(inputs.len() as u64);
    if inputs.len() > 1 {
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} histories ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let tick = bar.clone();
    let engine = crate::runtime::EngineConfig {
        debug_info: debug,
        ..Default::default()
    };
    let reports = replay::replay_file(
        &module,
        &engine,
        inputs,
        Some(Box::new(move || tick.inc(1))),
    )
    .await?;
    bar.finish_and_clear();
    let failed = reports.iter().filter(|r| r.failure.is_some()).count();
    for r in &reports {
        match &r.failure {
            None => println!("ok    {} {} ({})", r.workflow_id, r.run_id, r.source),
            Some(m) => println!("FAIL  {} {} ({}): {m}", r.workflow_id, r.run_id, r.source),
        }
    }
    println!(
        "replayed {} histories against {}: {} ok, {failed} failed",
        reports.len(),
        module.display(),
        reports.len() - failed
    );
    Ok(failed == 0)
}
