//! The `polyworker` binary: a thin CLI over `polyworker_host`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use polyworker_host::{Config, Host, devserver, telemetry};

#[derive(Parser)]
#[command(
    name = "polyworker",
    version,
    about = "Run Temporal workflows and activities compiled to WebAssembly components"
)]
struct Cli {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Connect to the server in the config and serve its task queues until
    /// SIGINT/SIGTERM, then shut down gracefully.
    Run {
        /// The TOML config file (see README "Configuration").
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Like `run`, but first start a local Temporal dev server (`temporal
    /// server start-dev`) on the config's server port unless one answers there.
    Dev {
        #[arg(long, short)]
        config: PathBuf,
        /// The `temporal` CLI to use (default: $TEMPORAL_CLI, ./.venv/bin, $PATH).
        #[arg(long)]
        temporal: Option<PathBuf>,
    },
    /// Validate the config and load every module without connecting; print
    /// the workflow and activity types each module implements.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Replay workflow histories against a module and report non-determinism.
    /// Exits 0 only when every history replays cleanly.
    Replay {
        /// The workflow component to check.
        #[arg(long)]
        module: PathBuf,
        /// History files, as written by `temporal workflow show --output json`.
        #[arg(long = "history")]
        histories: Vec<PathBuf>,
        /// Fetch this workflow's history from the server.
        #[arg(long)]
        workflow_id: Option<String>,
        /// With --workflow-id: this run instead of the latest.
        #[arg(long, requires = "workflow_id")]
        run_id: Option<String>,
        /// Fetch the histories of the executions matching this visibility
        /// query, e.g. "WorkflowType='DataRoutingWorkflow'".
        #[arg(long)]
        query: Option<String>,
        /// With --query: at most this many executions.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// The server to fetch from.
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Complete, fail or heartbeat an activity that returned "pending".
    Activity {
        #[command(subcommand)]
        action: ActivityCmd,
    },
}

/// Completes, fails or heartbeats a pending activity by its task token.
#[derive(Subcommand)]
enum ActivityCmd {
    /// Complete the activity with a JSON result.
    Complete {
        #[command(flatten)]
        target: TokenTarget,
        /// The result as JSON (default: no result).
        #[arg(long)]
        result: Option<String>,
    },
    /// Fail the activity; Temporal retries it per its retry policy unless
    /// --non-retryable is given.
    Fail {
        #[command(flatten)]
        target: TokenTarget,
        #[arg(long)]
        message: String,
        /// The error type (matched by retry policies).
        #[arg(long = "type", default_value = "PolyworkerCliFailure")]
        error_type: String,
        #[arg(long)]
        non_retryable: bool,
    },
    /// Record a heartbeat with JSON details; prints whether cancellation was requested.
    Heartbeat {
        #[command(flatten)]
        target: TokenTarget,
        #[arg(long)]
        details: Option<String>,
    },
}

/// Which Temporal server and namespace to talk to.
#[derive(clap::Args)]
struct ServerArgs {
    #[arg(
        long,
        default_value = "http://127.0.0.1:7233",
        env = "TEMPORAL_ADDRESS"
    )]
    address: String,
    #[arg(long, default_value = "default", env = "TEMPORAL_NAMESPACE")]
    namespace: String,
}

#[derive(clap::Args)]
struct TokenTarget {
    /// The activity's task token, base64 (`ActivityContext::task_token_base64`).
    #[arg(long)]
    task_token: String,
    #[command(flatten)]
    server: ServerArgs,
}

async fn connect(address: &str, identity: &str) -> anyhow::Result<temporalio_client::Connection> {
    let url = url::Url::parse(address)?;
    temporalio_client::Connection::connect(
        temporalio_client::ConnectionOptions::new(url)
            .identity(identity.to_string())
            .build(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot connect to {address}: {e}"))
}

async fn activity_cmd(cmd: ActivityCmd) -> anyhow::Result<()> {
    use polyworker_host::async_completion as ac;
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

#[allow(clippy::too_many_arguments)]
async fn replay_cmd(
    module: PathBuf,
    histories: Vec<PathBuf>,
    workflow_id: Option<String>,
    run_id: Option<String>,
    query: Option<String>,
    limit: usize,
    address: String,
    namespace: String,
) -> anyhow::Result<bool> {
    use polyworker_host::replay;
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
    let reports = replay::replay(
        &module,
        &Default::default(),
        inputs,
        Some(Box::new(move || tick.inc(1))),
    )
    .await?;
    bar.finish_and_clear();
    let failed = reports.iter().filter(|r| r.outcome.is_err()).count();
    for r in &reports {
        match &r.outcome {
            Ok(()) => println!("ok    {} {} ({})", r.workflow_id, r.run_id, r.source),
            Err(m) => println!("FAIL  {} {} ({}): {m}", r.workflow_id, r.run_id, r.source),
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

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutdown requested; finishing in-flight tasks (signal again to exit at once)");
    tokio::spawn(async {
        let _ = tokio::signal::ctrl_c().await;
        std::process::exit(130);
    });
}

async fn main_inner(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Activity { action } => activity_cmd(action).await?,
        Cmd::Replay {
            module,
            histories,
            workflow_id,
            run_id,
            query,
            limit,
            server,
        } => {
            let ok = replay_cmd(
                module,
                histories,
                workflow_id,
                run_id,
                query,
                limit,
                server.address,
                server.namespace,
            )
            .await?;
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Cmd::Run { config } => {
            let config = Config::from_file(&config)?;
            polyworker_host::run(config, shutdown_signal()).await?;
        }
        Cmd::Dev { config, temporal } => {
            let config = Config::from_file(&config)?;
            let url = url::Url::parse(&config.server.address)?;
            let port = url.port().unwrap_or(7233);
            let _server = if devserver::is_listening(([127, 0, 0, 1], port).into()).await {
                tracing::info!(address = %config.server.address, "using the Temporal server already running");
                None
            } else {
                tracing::info!(port, "starting a local Temporal dev server");
                Some(devserver::start(port, temporal).await?)
            };
            polyworker_host::run(config, shutdown_signal()).await?;
        }
        Cmd::Check { config } => {
            let config = Config::from_file(&config)?;
            let mut offline = config.clone();
            offline.engine.pooling = false;
            let host = check(offline).await?;
            for m in host {
                println!("{}  sha256:{}", m.path.display(), m.digest);
                if let Some(w) = &m.workflow {
                    println!("  workflows:  {}", w.types.join(", "));
                }
                if let Some(a) = &m.activity {
                    println!("  activities: {}", a.types.join(", "));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn check(
    config: Config,
) -> anyhow::Result<Vec<std::sync::Arc<polyworker_host::module::Module>>> {
    let engine = polyworker_host::engine::WasmEngine::new(
        &config.engine,
        polyworker_host::engine::Capacity {
            workflow_instances: 1,
            activity_instances: 1,
        },
    )?;
    let loader =
        polyworker_host::module::Loader::new(&engine.engine).map_err(|e| anyhow::anyhow!(e))?;
    let mut out = Vec::new();
    for q in &config.task_queues {
        for m in &q.modules {
            out.push(loader.load(m).await?);
        }
    }
    let _ = Host::start;
    Ok(out)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Cmd::Replay { .. } | Cmd::Check { .. } | Cmd::Activity { .. }
    );
    telemetry::init(cli.log_json, quiet);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(main_inner(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
