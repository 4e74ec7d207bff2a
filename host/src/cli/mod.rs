//! The `polyworker` command line: argument parsing and the commands, kept in
//! the library so that `main.rs` stays a few lines.
//!
//! - this module: `Cli`, the `run` / `dev` / `check` commands, and dispatch;
//! - [`replay`]: `polyworker replay`;
//! - [`activity`]: `polyworker activity complete|fail|heartbeat`;
//! - [`modules`]: `polyworker modules deploy|list|set-current|retire|push`,
//!   and `polyworker reload`;
//! - [`fleet`]: `set-current` and `set-ramping` on a fleet (`--registry`).

mod activity;
mod fleet;
mod modules;
mod replay;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::Config;
use crate::ops::devserver;
pub use activity::ActivityCmd;
pub use modules::ModulesCmd;

#[derive(Parser)]
#[command(
    name = "polyworker",
    version,
    about = "Run Temporal workflows and activities compiled to WebAssembly components"
)]
/// The `polyworker` command line.
pub struct Cli {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    pub log_json: bool,
    /// The verb.
    #[command(subcommand)]
    pub command: Cmd,
}

/// The verbs.
#[derive(Subcommand)]
pub enum Cmd {
    /// Connect to the server in the config and serve its task queues until
    /// SIGINT/SIGTERM, then shut down gracefully; SIGHUP reloads the config's
    /// tenants.
    Run {
        /// The TOML config file (see README "Configuration").
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Like `run`, but first start a local Temporal dev server (`temporal
    /// server start-dev`) on the config's server port unless one answers there.
    Dev {
        /// The TOML config file.
        #[arg(long, short)]
        config: PathBuf,
        /// The `temporal` CLI to use (default: $TEMPORAL_CLI, ./.venv/bin, $PATH).
        #[arg(long)]
        temporal: Option<PathBuf>,
    },
    /// Validate the config and load every module without connecting; print
    /// the workflow and activity types each module implements.
    Check {
        /// The TOML config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Replay workflow histories against a module and report non-determinism.
    /// Exits 0 only when every history replays cleanly.
    Replay(replay::ReplayArgs),
    /// Complete, fail or heartbeat an activity that returned "pending".
    Activity {
        /// What to do with the activity.
        #[command(subcommand)]
        action: ActivityCmd,
    },
    /// Deploy, list, make current and retire module versions on a host
    /// running with [deployment] (through its admin API).
    Modules {
        /// What to do with the versions.
        #[command(subcommand)]
        action: ModulesCmd,
    },
    /// Ask a running host to re-read its config file, as SIGHUP does (through
    /// its admin API, with the host's token); print what changed.
    Reload {
        /// Which host.
        #[command(flatten)]
        admin: modules::AdminArgs,
    },
}

/// Resolves at SIGTERM or SIGINT.
async fn signalled() {
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
}

/// Resolves at the first signal; a second one ends the process at once,
/// for the operator who will not wait for in-flight activities.
async fn shutdown_signal() {
    signalled().await;
    tracing::info!("shutdown requested; finishing in-flight tasks (signal again to exit at once)");
    tokio::spawn(async {
        signalled().await;
        tracing::warn!("second signal: exiting without waiting for in-flight tasks");
        std::process::exit(130);
    });
}

/// Runs a parsed command line.
pub async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Activity { action } => activity::execute(action).await?,
        Cmd::Modules { action } => modules::execute(action).await?,
        Cmd::Reload { admin } => modules::reload(admin).await?,
        Cmd::Replay(args) => {
            let ok = replay::execute(args).await?;
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Cmd::Run { config } => {
            // SIGHUP re-reads this file (see docs/tenants.md, "Reloading").
            crate::run_reloading(&config, shutdown_signal()).await?;
        }
        Cmd::Dev {
            config: path,
            temporal,
        } => {
            let config = Config::from_file(&path)?;
            let url = url::Url::parse(&config.server.address)?;
            let port = url.port().unwrap_or(7233);
            let _server = if devserver::is_listening(([127, 0, 0, 1], port).into()).await {
                tracing::info!(address = %config.server.address, "using the Temporal server already running");
                None
            } else {
                tracing::info!(port, "starting a local Temporal dev server");
                Some(devserver::start(port, temporal).await?)
            };
            crate::run_reloading(&path, shutdown_signal()).await?;
        }
        Cmd::Check { config } => {
            let config = Config::from_file(&config)?;
            let host = check(config).await?;
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

/// An engine (one instance at a time, no pool) and a loader, for loading
/// components offline as a host would: `check` and `modules push`.
fn offline(
    cfg: &crate::runtime::EngineConfig,
) -> anyhow::Result<(crate::runtime::WasmEngine, crate::runtime::Loader)> {
    let cfg = crate::runtime::EngineConfig {
        pooling: false,
        ..cfg.clone()
    };
    // Two of each: a replay runs beside the loaded module's own checks.
    let small = crate::runtime::Capacity {
        workflow_instances: 2,
        activity_instances: 1,
        workflow_tasks: 2,
    };
    let engine = crate::runtime::WasmEngine::new(&cfg, small)?;
    let loader = crate::runtime::Loader::new(&engine.engine)?;
    Ok((engine, loader))
}

async fn check(config: Config) -> anyhow::Result<Vec<std::sync::Arc<crate::runtime::Module>>> {
    let (_engine, loader) = offline(&config.engine)?;
    let mut out = Vec::new();
    for q in config.queues() {
        for m in &q.modules {
            out.push(loader.load(m).await?);
        }
    }
    Ok(out)
}

/// Which Temporal server and namespace to talk to.
#[derive(clap::Args)]
pub struct ServerArgs {
    /// The frontend's address.
    #[arg(
        long,
        default_value = "http://127.0.0.1:7233",
        env = "TEMPORAL_ADDRESS"
    )]
    pub address: String,
    /// The namespace.
    #[arg(long, default_value = "default", env = "TEMPORAL_NAMESPACE")]
    pub namespace: String,
}

pub(crate) async fn connect(
    address: &str,
    identity: &str,
) -> anyhow::Result<temporalio_client::Connection> {
    Ok(crate::temporal::connection::connect(address, identity).await?)
}

/// Whether the command's output is a report, so logs should stay quiet.
pub fn is_report(cmd: &Cmd) -> bool {
    matches!(
        cmd,
        Cmd::Replay(_) | Cmd::Check { .. } | Cmd::Activity { .. } | Cmd::Modules { .. }
    )
}
