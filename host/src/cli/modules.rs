//! `polyworker modules deploy|list|set-current|retire` and `polyworker
//! reload`: the admin API's client, for hosts running with `[deployment]`.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;
use clap::Subcommand;
use tonic::Request;

use crate::deploy::admin::MAX_MESSAGE_BYTES;
use crate::deploy::admin::proto::admin_client::AdminClient;
use crate::deploy::admin::proto::{
    DeployRequest, GcRequest, ListRequest, ReloadRequest, RetireRequest, SetCurrentRequest, Version,
};

/// Where the admin API is, and the token it may need.
#[derive(clap::Args)]
pub struct AdminArgs {
    /// The host's admin API address.
    #[arg(long, env = "POLYWORKER_ADMIN", default_value = "127.0.0.1:7350")]
    admin: String,
    /// The admin API's bearer token (when it listens beyond loopback).
    #[arg(long, env = "POLYWORKER_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// A version to route to, and whether to skip the replay gate.
#[derive(clap::Args)]
pub struct Pick {
    /// The versioned task queue.
    #[arg(long)]
    task_queue: String,
    /// The version's digest or a unique prefix (8+ characters).
    digest: String,
    /// Skip the replay gate.
    #[arg(long)]
    force: bool,
}

/// The `polyworker modules` verbs.
#[derive(Subcommand)]
pub enum ModulesCmd {
    /// Validate a component and push it to an OCI registry as a version of a
    /// task queue (the Wasm artifact layout, tagged with its digest); hosts
    /// whose [deployment.registry] names it pull it on their own. Credentials
    /// come from POLYWORKER_REGISTRY_USERNAME/_PASSWORD or the Docker config.
    Push {
        /// The registry repository prefix, `host[:port]/path`.
        #[arg(long, env = "POLYWORKER_REGISTRY")]
        registry: String,
        /// Talk plain HTTP to the registry (one on loopback).
        #[arg(long)]
        plain_http: bool,
        /// The versioned task queue.
        #[arg(long)]
        task_queue: String,
        /// The component.
        file: PathBuf,
    },
    /// Validate a component and start it as a new version of a task queue.
    Deploy {
        /// Which host.
        #[command(flatten)]
        admin: AdminArgs,
        /// The versioned task queue.
        #[arg(long)]
        task_queue: String,
        /// The component.
        file: PathBuf,
        /// Make it current right away (after the replay gate).
        #[arg(long)]
        current: bool,
        /// Skip the replay gate.
        #[arg(long)]
        force: bool,
    },
    /// List every version: digest, queue, types, state, open workflows.
    List {
        /// Which host.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Route a queue's new workflows to a version (after the replay gate):
    /// on one host through its admin API, or with --registry on the fleet
    /// (the CLI runs the gate and tells the server; every host follows).
    SetCurrent {
        /// Which host.
        #[command(flatten)]
        admin: AdminArgs,
        /// Or which fleet.
        #[command(flatten)]
        fleet: super::fleet::FleetArgs,
        /// Which version.
        #[command(flatten)]
        version: Pick,
    },
    /// Send a percentage of a queue's new workflows (and of its
    /// auto-upgrading runs) to a version, on the fleet (--registry), after
    /// the replay gate; 0 ends the ramp.
    SetRamping {
        /// Which fleet.
        #[command(flatten)]
        fleet: super::fleet::FleetArgs,
        /// Which version.
        #[command(flatten)]
        version: Pick,
        /// The share of new workflows, 0 to 100.
        #[arg(long)]
        percentage: f32,
    },
    /// Remove the stored files of versions retired on every queue (the
    /// host's token).
    Gc {
        /// Which host.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Shut a drained version's worker down (its file stays stored).
    Retire {
        /// Which host.
        #[command(flatten)]
        admin: AdminArgs,
        /// The versioned task queue.
        #[arg(long)]
        task_queue: String,
        /// The version's digest or a unique prefix (8+ characters).
        digest: String,
        /// Retire even with workflows still open on it.
        #[arg(long)]
        force: bool,
    },
}

type Client =
    AdminClient<tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>>;

#[derive(Clone)]
struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut r: Request<()>) -> Result<Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            r.metadata_mut().insert("authorization", v.clone());
        }
        Ok(r)
    }
}

async fn client(args: &AdminArgs) -> anyhow::Result<Client> {
    let url = if args.admin.contains("://") {
        args.admin.clone()
    } else {
        format!("http://{}", args.admin)
    };
    let channel = tonic::transport::Endpoint::from_shared(url.clone())
        .with_context(|| format!("{url} is not an admin address"))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| {
            format!("cannot reach the admin API at {url} (is the host running with [deployment]?)")
        })?;
    let token = match &args.token {
        Some(t) => Some(
            format!("Bearer {t}")
                .parse()
                .context("the token is not valid header text")?,
        ),
        None => None,
    };
    Ok(AdminClient::with_interceptor(channel, Bearer(token))
        .max_encoding_message_size(MAX_MESSAGE_BYTES))
}

fn describe(v: &Version) -> String {
    let when = UNIX_EPOCH + Duration::from_millis(v.deployed_at_ms);
    let open = v
        .open_workflows
        .map(|n| n.to_string())
        .unwrap_or_else(|| "-".into());
    format!(
        "{}  {:<9} {}  open {open}  deployed {}\n  workflows:  {}\n  activities: {}",
        &v.digest,
        v.state,
        v.task_queue,
        humantime(when),
        v.workflow_types.join(", "),
        v.activity_types.join(", "),
    )
}

/// `YYYY-MM-DD hh:mm:ss UTC`, without a date library (days to a civil
/// date by Howard Hinnant's algorithm).
fn humantime(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

fn refused(e: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}", e.message())
}

/// Loads a component offline, as a host would before running it: the same
/// checks as `modules deploy`, before anything leaves this machine.
async fn validate(
    file: &std::path::Path,
    bytes: Vec<u8>,
) -> anyhow::Result<std::sync::Arc<crate::runtime::Module>> {
    let (_engine, loader) = super::offline(&crate::runtime::EngineConfig::default())?;
    Ok(loader.load_bytes(file, bytes).await?)
}

/// `polyworker reload`: prints the tenants by what the reload did to them.
pub async fn reload(admin: AdminArgs) -> anyhow::Result<()> {
    let r = client(&admin)
        .await?
        .reload(ReloadRequest {})
        .await
        .map_err(refused)?
        .into_inner();
    for (what, names) in [
        ("added", &r.added),
        ("removed", &r.removed),
        ("restarted", &r.restarted),
        ("unchanged", &r.unchanged),
    ] {
        println!("{what:<10} {}", names.join(", "));
    }
    Ok(())
}

/// Runs one verb; prints what the host answered.
pub async fn execute(cmd: ModulesCmd) -> anyhow::Result<()> {
    match cmd {
        ModulesCmd::Push {
            registry,
            plain_http,
            task_queue,
            file,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let module = validate(&file, bytes.clone()).await?;
            let config = crate::deploy::registry::config_blob(&bytes);
            let registry =
                crate::deploy::registry::Registry::new(&crate::config::RegistryConfig {
                    address: registry,
                    plain_http,
                    poll_ms: 5000,
                })?;
            let digest = registry.push(&task_queue, bytes, config).await?;
            println!("pushed {digest} for task queue {task_queue}");
            if let Some(w) = &module.workflow {
                println!("  workflows:  {}", w.types.join(", "));
            }
            if let Some(a) = &module.activity {
                println!("  activities: {}", a.types.join(", "));
            }
        }
        ModulesCmd::Deploy {
            admin,
            task_queue,
            file,
            current,
            force,
        } => {
            let component =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let r = client(&admin)
                .await?
                .deploy(DeployRequest {
                    task_queue,
                    component,
                    make_current: current,
                    force,
                })
                .await
                .map_err(refused)?
                .into_inner();
            if let Some(v) = &r.version {
                println!("{}", describe(v));
            }
            if current {
                println!(
                    "made current after replaying {} histories ({} ms in all)",
                    r.replayed, r.elapsed_ms
                );
            }
        }
        ModulesCmd::Gc { admin } => {
            let r = client(&admin)
                .await?
                .gc(GcRequest {})
                .await
                .map_err(refused)?
                .into_inner();
            println!("removed {} retired modules from the store", r.removed.len());
            for d in &r.removed {
                println!("  {d}");
            }
        }
        ModulesCmd::List { admin } => {
            let r = client(&admin)
                .await?
                .list(ListRequest {})
                .await
                .map_err(refused)?
                .into_inner();
            if r.versions.is_empty() {
                println!("no versions");
            }
            for v in &r.versions {
                println!("{}", describe(v));
            }
        }
        ModulesCmd::SetCurrent { fleet, version, .. } if fleet.registry.is_some() => {
            super::fleet::route(
                fleet,
                &version.task_queue,
                &version.digest,
                None,
                version.force,
            )
            .await?;
        }
        ModulesCmd::SetRamping {
            fleet,
            version,
            percentage,
        } => {
            anyhow::ensure!(
                (0.0..=100.0).contains(&percentage),
                "--percentage must be between 0 and 100"
            );
            let Pick {
                task_queue,
                digest,
                force,
            } = version;
            super::fleet::route(fleet, &task_queue, &digest, Some(percentage), force).await?;
        }
        ModulesCmd::SetCurrent {
            admin,
            version:
                Pick {
                    task_queue,
                    digest,
                    force,
                },
            ..
        } => {
            let r = client(&admin)
                .await?
                .set_current(SetCurrentRequest {
                    task_queue,
                    digest,
                    force,
                })
                .await
                .map_err(refused)?
                .into_inner();
            println!(
                "{} is current (replayed {} histories; {} ms)",
                r.digest, r.replayed, r.elapsed_ms
            );
        }
        ModulesCmd::Retire {
            admin,
            task_queue,
            digest,
            force,
        } => {
            let r = client(&admin)
                .await?
                .retire(RetireRequest {
                    task_queue,
                    digest,
                    force,
                })
                .await
                .map_err(refused)?
                .into_inner();
            println!("{} is retired", r.digest);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_utc_dates() {
        let at = |s| humantime(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(at(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(at(1_795_407_202), "2026-11-23 04:13:22 UTC");
    }
}
