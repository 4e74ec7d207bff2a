//! `polyworker modules set-current|set-ramping --registry …`: routing a
//! fleet. The CLI pulls the version from the registry by digest, runs the
//! replay gate itself against the server's recent histories, and changes
//! the server's routing; every host follows on its own (docs/fleet.md).

use anyhow::Context;

use super::{ServerArgs, connect};
use crate::config::{DefaultVersioning, RegistryConfig};
use crate::deploy::registry::{Artifact, Registry};
use crate::deploy::{moving_types, routing};
use crate::temporal::{Link, replay};

/// Where a fleet's versions live and route. With `--registry`, the verb
/// acts on the fleet (the registry and the server) instead of one host.
#[derive(clap::Args)]
pub struct FleetArgs {
    /// The registry repository prefix the fleet pulls from, `host[:port]/path`.
    #[arg(long, requires = "deployment")]
    pub registry: Option<String>,
    /// Talk plain HTTP to the registry (one on loopback).
    #[arg(long)]
    pub plain_http: bool,
    /// The `[deployment]` name: the queue's Worker Deployment is `<name>/<queue>`.
    #[arg(long, requires = "registry")]
    pub deployment: Option<String>,
    /// The behaviour of workflow types whose component declares none, as
    /// the hosts' `default_versioning` (it decides what the gate replays).
    #[arg(long, default_value = "pinned", value_parser = parse_versioning)]
    pub default_versioning: DefaultVersioning,
    /// Recent runs per moving workflow type the replay gate replays.
    #[arg(long, default_value_t = 20)]
    pub replay_sample: usize,
    /// The server.
    #[command(flatten)]
    pub server: ServerArgs,
}

fn parse_versioning(s: &str) -> Result<DefaultVersioning, String> {
    match s {
        "pinned" => Ok(DefaultVersioning::Pinned),
        "auto-upgrade" => Ok(DefaultVersioning::AutoUpgrade),
        other => Err(format!("{other:?}: pinned or auto-upgrade")),
    }
}

/// The artifact of `task_queue` whose digest starts with `prefix` (8+).
async fn find(registry: &Registry, task_queue: &str, prefix: &str) -> anyhow::Result<Artifact> {
    anyhow::ensure!(
        prefix.len() >= 8,
        "give at least 8 characters of the digest"
    );
    let matching: Vec<Artifact> = registry
        .artifacts(task_queue)
        .await?
        .into_iter()
        .filter(|a| a.digest.starts_with(prefix))
        .collect();
    match <[Artifact; 1]>::try_from(matching) {
        Ok([one]) => Ok(one),
        Err(v) if v.is_empty() => {
            anyhow::bail!("the registry has no version {prefix} of task queue {task_queue:?}")
        }
        Err(v) => anyhow::bail!(
            "{prefix} matches {} versions; give more of the digest",
            v.len()
        ),
    }
}

/// Routes `task_queue`'s new workflows to a version: all of them, or
/// `ramp` percent. The gate first, unless `force`.
pub async fn route(
    args: FleetArgs,
    task_queue: &str,
    prefix: &str,
    ramp: Option<f32>,
    force: bool,
) -> anyhow::Result<()> {
    let (Some(address), Some(deployment)) = (&args.registry, &args.deployment) else {
        anyhow::bail!("routing a fleet needs --registry and --deployment");
    };
    let registry = Registry::new(&RegistryConfig {
        address: address.clone(),
        plain_http: args.plain_http,
        poll_ms: 5000,
    })?;
    let artifact = find(&registry, task_queue, prefix).await?;
    let identity = format!("polyworker-cli@{}", std::process::id());
    let link = Link {
        namespace: args.server.namespace.clone(),
        connection: connect(&args.server.address, &identity).await?,
        identity,
    };
    if !force {
        let bytes = registry.pull(task_queue, &artifact).await?;
        let replayed = gate(&args, &link, task_queue, &artifact.digest, bytes).await?;
        println!("the replay gate replayed {replayed} histories");
    }
    let name = format!("{deployment}/{task_queue}");
    match ramp {
        None => {
            routing::set_current(&link, &name, &artifact.digest).await?;
            println!("{} is current for {name}", artifact.digest);
        }
        Some(p) => {
            routing::set_ramping(&link, &name, &artifact.digest, p).await?;
            match p {
                0.0 => println!("{name} ramps to no version: {} drains", artifact.digest),
                _ => println!("{} ramps to {p}% of {name}", artifact.digest),
            }
        }
    }
    Ok(())
}

/// Replays recent runs of the version's moving workflow types against it;
/// how many, or why it is refused.
async fn gate(
    args: &FleetArgs,
    link: &Link,
    task_queue: &str,
    digest: &str,
    bytes: Vec<u8>,
) -> anyhow::Result<usize> {
    let (engine, loader) = super::offline(&Default::default())?;
    let path = std::path::PathBuf::from(format!("{digest}.wasm"));
    let module = loader.load_bytes(&path, bytes).await?;
    let types = moving_types(&module, args.default_versioning);
    let inputs = routing::recent_histories(link, task_queue, &types, args.replay_sample).await?;
    if inputs.is_empty() {
        return Ok(0);
    }
    let reports = replay::replay(module, &Default::default(), &engine.threads, inputs, None)
        .await
        .context("the replay gate could not run")?;
    let failed: Vec<String> = reports
        .iter()
        .filter_map(|r| Some(format!("{}: {}", r.source, r.failure.as_deref()?)))
        .collect();
    anyhow::ensure!(
        failed.is_empty(),
        "the replay gate refused version {:.12}: {} of {} recent histories do not replay on it (use --force to override):\n{}",
        digest,
        failed.len(),
        reports.len(),
        failed.join("\n")
    );
    Ok(reports.len())
}
