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

async fn main_inner(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
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
    Ok(())
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
    let loader = polyworker_host::module::Loader {
        engine: engine.engine.clone(),
        workflow_linker: polyworker_host::workflow::sandbox::linker(&engine.engine)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
        activity_linker: polyworker_host::activity::sandbox::linker(&engine.engine)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
    };
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
    telemetry::init(cli.log_json);
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
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
