//! Host start-up: the time from starting `polyworker run` to `/readyz`
//! answering 200, that is, connected with every queue's worker polling. The
//! host serves `modules` task queues, one component each, whose compiled
//! code is already in the on-disk cache (a first, unmeasured start fills
//! it), as after any restart of a deployed host.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::contestants::{binaries_dir, repo_root};
use crate::run::{Options, server};

/// Rust guests from `scripts/build-guests.sh`, each served on its own queue.
const MODULES: &[&str] = &[
    "data_routing",
    "bench_workflow",
    "workflows",
    "activities",
    "hostile",
    "patch_v1",
    "patch_v2",
    "versioned_v1",
    "versioned_v2",
    "garbage",
];

#[derive(Debug, Clone)]
pub struct Startup {
    pub modules: usize,
    /// The first start, which compiles every module into the cache.
    pub cold: Duration,
    /// The measured starts, with the cache filled.
    pub warm: Vec<Duration>,
}

impl Startup {
    pub fn median(&self) -> Duration {
        let mut w = self.warm.clone();
        w.sort();
        w.get(w.len() / 2).copied().unwrap_or_default()
    }
}

/// Starts the host `runs` times (after one start that fills the cache) and
/// times each until it is ready.
pub async fn startup(opts: &Options, modules: usize, runs: usize) -> anyhow::Result<Startup> {
    if modules == 0 || modules > MODULES.len() {
        bail!("--startup takes 1 to {} modules", MODULES.len());
    }
    let (_server, address) = server(opts).await?;
    std::fs::create_dir_all(&opts.dir)?;
    let port = polyworker_host::ops::devserver::free_port().context("no free port")?;
    let health = format!("127.0.0.1:{port}");
    let config = opts.dir.join("startup.toml");
    // The host refuses a relative cache directory.
    let cache =
        std::path::absolute(&opts.dir)?.join(format!("startup-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::write(&config, config_text(&address, &health, &cache, modules)?)?;
    let cold = start_once(&config, &health, &opts.dir).await?;
    let mut warm = Vec::new();
    for _ in 0..runs {
        warm.push(start_once(&config, &health, &opts.dir).await?);
    }
    let _ = std::fs::remove_dir_all(&cache);
    Ok(Startup {
        modules,
        cold,
        warm,
    })
}

fn config_text(
    address: &str,
    health: &str,
    cache: &Path,
    modules: usize,
) -> anyhow::Result<String> {
    let guests = repo_root().join("target/guests/wasm32-wasip2/release");
    let mut text = format!(
        "[server]\naddress = \"{address}\"\n\n[engine]\ncache_dir = \"{}\"\n\n\
         [metrics]\nhealth = \"{health}\"\n",
        cache.display()
    );
    for (i, m) in MODULES.iter().take(modules).enumerate() {
        let path = guests.join(format!("{m}.wasm"));
        if !path.is_file() {
            bail!("{} is missing: run scripts/build-guests.sh", path.display());
        }
        text.push_str(&format!(
            "\n[[task_queue]]\nname = \"startup-{i}-{m}\"\nmodules = [\"{}\"]\n",
            path.display()
        ));
    }
    Ok(text)
}

/// Kills the host when dropped, even if the wait fails.
struct Host(Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_once(config: &Path, health: &str, dir: &Path) -> anyhow::Result<Duration> {
    let log = std::fs::File::create(dir.join("startup.log"))?;
    let began = Instant::now();
    let mut host = Host(
        Command::new(binaries_dir()?.join("polyworker"))
            .arg("run")
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("start polyworker")?,
    );
    let deadline = began + Duration::from_secs(120);
    loop {
        if readyz(health).await {
            return Ok(began.elapsed());
        }
        if let Ok(Some(status)) = host.0.try_wait() {
            bail!(
                "polyworker exited ({status}) before it was ready; see {}",
                dir.join("startup.log").display()
            );
        }
        if Instant::now() > deadline {
            bail!("polyworker was not ready within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Whether `/readyz` answers 200.
async fn readyz(address: &str) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(address).await else {
        return false;
    };
    if s.write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 16];
    matches!(s.read(&mut head).await, Ok(n) if head[..n].starts_with(b"HTTP/1.1 200") || head[..n].starts_with(b"HTTP/1.0 200"))
}

/// A Markdown table of the start-up times.
pub fn startup_table(s: &Startup) -> String {
    let ms = |d: Duration| format!("{:.0}", d.as_secs_f64() * 1000.0);
    let min = s.warm.iter().min().copied().unwrap_or_default();
    let max = s.warm.iter().max().copied().unwrap_or_default();
    format!(
        "| Modules | First start, cache empty (ms) | Start with cached modules: median (min–max) of {} (ms) |\n\
         |---:|---:|---:|\n| {} | {} | {} ({}–{}) |\n",
        s.warm.len(),
        s.modules,
        ms(s.cold),
        ms(s.median()),
        ms(min),
        ms(max)
    )
}
