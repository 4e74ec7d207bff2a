//! One benchmark invocation: a dev server, then every contestant in turn,
//! round after round (so a noisy machine hurts all of them alike), each
//! measured at full speed and at a fixed rate.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::Semaphore;

use crate::client::{Client, order};
use crate::contestants::Contestant;
use crate::proc;

pub struct Options {
    /// Workflows per phase per contestant per round.
    pub workflows: usize,
    /// Starts per second in the fixed-rate phase.
    pub rate: f64,
    /// Workflows in flight at once in the full-speed phase.
    pub concurrency: usize,
    pub rounds: usize,
    pub contestants: Vec<Contestant>,
    /// A server to use instead of starting a dev server.
    pub server: Option<String>,
    /// Where worker configs and logs go.
    pub dir: PathBuf,
}

/// What one contestant did in one round.
#[derive(Debug, Clone)]
pub struct Measure {
    pub contestant: Contestant,
    pub round: usize,
    /// Full speed: workflows completed per second, and their latency.
    pub throughput: f64,
    pub fast_p50: Duration,
    pub fast_p99: Duration,
    /// Fixed rate: latency.
    pub rate_p50: Duration,
    pub rate_p99: Duration,
    /// Worker CPU seconds per 1000 workflows, both phases.
    pub cpu_per_1000: f64,
    pub peak_rss_kib: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn phase(
    client: &Client,
    task_queue: &str,
    workflow_type: &str,
    prefix: &str,
    n: usize,
    pacing: Pacing,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let began = Instant::now();
    let limit = Arc::new(Semaphore::new(match pacing {
        Pacing::Concurrency(c) => c,
        Pacing::Rate(_) => n.max(1),
    }));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        if let Pacing::Rate(r) = pacing {
            let due = began + Duration::from_secs_f64(i as f64 / r);
            tokio::time::sleep_until(due.into()).await;
        }
        let permit = limit.clone().acquire_owned().await?;
        let (client, tq, wt) = (
            client.clone(),
            task_queue.to_string(),
            workflow_type.to_string(),
        );
        let id = format!("{prefix}-{i}");
        tasks.spawn(async move {
            let r = client.run(&tq, &wt, &id, &order(i)).await;
            drop(permit);
            r
        });
    }
    let mut latencies = Vec::with_capacity(n);
    while let Some(r) = tasks.join_next().await {
        latencies.push(r??);
    }
    latencies.sort();
    Ok((latencies, began.elapsed()))
}

#[derive(Clone, Copy)]
enum Pacing {
    Concurrency(usize),
    Rate(f64),
}

/// The server to use: the one given, or a fresh dev server (kept alive
/// by the returned handle).
pub(crate) async fn server(
    opts: &Options,
) -> anyhow::Result<(Option<polyworker_host::ops::devserver::DevServer>, String)> {
    Ok(match &opts.server {
        Some(a) => (None, a.clone()),
        None => {
            let port = polyworker_host::ops::devserver::free_port().context("no free port")?;
            let s = polyworker_host::ops::devserver::start(port, None)
                .await
                .context("cannot start a dev server")?;
            (Some(s), format!("http://127.0.0.1:{port}"))
        }
    })
}

/// Runs every contestant `rounds` times; the order alternates per round.
pub async fn benchmark(opts: &Options) -> anyhow::Result<Vec<Measure>> {
    let (_server, address) = server(opts).await?;
    let client = Client::connect(&address).await?;
    let run_id = std::process::id();
    let mut out = Vec::new();
    for round in 0..opts.rounds {
        let mut order_of = opts.contestants.clone();
        if round % 2 == 1 {
            order_of.reverse();
        }
        for c in order_of {
            let tq = format!("bench-{}-{round}-{run_id}", c.slug());
            let mut worker = c.spawn(&address, &tq, 1000, &opts.dir)?;
            let log = opts.dir.join(format!("{}.log", c.slug()));
            // Warm up (and wait until the worker polls): a few workflows.
            let deadline = Instant::now() + Duration::from_secs(120);
            for i in 0..3 {
                let id = format!("{tq}-warmup-{i}");
                let input = order(i);
                let run = client.run(&tq, c.workflow_type(), &id, &input);
                match tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), run)
                    .await
                {
                    Ok(r) => {
                        r?;
                    }
                    Err(_) => bail!(
                        "{} never completed a workflow; see {}",
                        c.name(),
                        log.display()
                    ),
                }
                if worker.exited() {
                    bail!("{} exited; see {}", c.name(), log.display());
                }
            }
            let pid = worker.pid();
            let cpu0 = proc::cpu_seconds(pid).context("cpu time")?;
            let (fast, wall) = phase(
                &client,
                &tq,
                c.workflow_type(),
                &format!("{tq}-fast"),
                opts.workflows,
                Pacing::Concurrency(opts.concurrency),
            )
            .await?;
            let (paced, _) = phase(
                &client,
                &tq,
                c.workflow_type(),
                &format!("{tq}-rate"),
                opts.workflows,
                Pacing::Rate(opts.rate),
            )
            .await?;
            let cpu1 = proc::cpu_seconds(pid).context("cpu time")?;
            let (_, peak) = proc::rss_kib(pid).context("memory")?;
            let m = Measure {
                contestant: c,
                round,
                throughput: opts.workflows as f64 / wall.as_secs_f64(),
                fast_p50: percentile(&fast, 0.5),
                fast_p99: percentile(&fast, 0.99),
                rate_p50: percentile(&paced, 0.5),
                rate_p99: percentile(&paced, 0.99),
                cpu_per_1000: (cpu1 - cpu0) / (2 * opts.workflows) as f64 * 1000.0,
                peak_rss_kib: peak,
            };
            eprintln!("{m:?}");
            out.push(m);
            drop(worker);
        }
    }
    Ok(out)
}

/// What parking workflows in one contestant's cache cost.
#[derive(Debug, Clone)]
pub struct Density {
    pub contestant: Contestant,
    pub parked: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub pss_before_kib: u64,
    pub pss_after_kib: u64,
    /// Signalling every parked run until all have completed: wall time and
    /// the worker's CPU time.
    pub wake: Duration,
    pub wake_cpu_s: f64,
}

impl Density {
    pub fn per_workflow_kib(&self) -> f64 {
        self.rss_after_kib.saturating_sub(self.rss_before_kib) as f64 / self.parked.max(1) as f64
    }

    pub fn pss_per_workflow_kib(&self) -> f64 {
        self.pss_after_kib.saturating_sub(self.pss_before_kib) as f64 / self.parked.max(1) as f64
    }
}

/// Parks `n` workflows on a signal in each contestant's sticky cache (sized
/// to hold them) and measures the worker's resident memory before and after.
pub async fn density(opts: &Options, n: usize) -> anyhow::Result<Vec<Density>> {
    let (_server, address) = server(opts).await?;
    let client = Client::connect(&address).await?;
    let mut out = Vec::new();
    for &c in &opts.contestants {
        let tq = format!("density-{}-{}", c.slug(), std::process::id());
        let mut worker = c.spawn(&address, &tq, n + 100, &opts.dir)?;
        let log = opts.dir.join(format!("{}.log", c.slug()));
        // One full workflow first: the worker is up and its code warm.
        let (warm_id, input) = (format!("{tq}-warmup"), order(0));
        let warm = client.run(&tq, c.workflow_type(), &warm_id, &input);
        match tokio::time::timeout(Duration::from_secs(120), warm).await {
            Ok(r) => r?,
            Err(_) => bail!(
                "{} never completed a workflow; see {}",
                c.name(),
                log.display()
            ),
        };
        let (before, _) = proc::rss_kib(worker.pid()).context("memory")?;
        let pss_before = proc::pss_kib(worker.pid()).context("memory")?;
        let kinds_before = proc::smaps_by_kind(worker.pid()).context("memory")?;
        let limit = Arc::new(Semaphore::new(opts.concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let permit = limit.clone().acquire_owned().await?;
            let (client, tq) = (client.clone(), tq.clone());
            tasks.spawn(async move {
                let r = client
                    .start(&tq, "Parked", &format!("{tq}-parked-{i}"))
                    .await;
                drop(permit);
                r
            });
        }
        while let Some(r) = tasks.join_next().await {
            r??;
        }
        // Every run must have reached the worker's cache.
        let deadline = Instant::now() + Duration::from_secs(600);
        for i in 0..n {
            let id = format!("{tq}-parked-{i}");
            while !client.task_completed(&id).await? {
                if worker.exited() || Instant::now() > deadline {
                    bail!("{} did not take {id}; see {}", c.name(), log.display());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let (after, _) = proc::rss_kib(worker.pid()).context("memory")?;
        let pss_after = proc::pss_kib(worker.pid()).context("memory")?;
        let kinds_after = proc::smaps_by_kind(worker.pid()).context("memory")?;
        eprintln!(
            "{}: KiB per parked workflow, by mapping (RSS / PSS):",
            c.name()
        );
        for (kind, (rss, pss)) in &kinds_after {
            let (r0, p0) = kinds_before.get(kind).copied().unwrap_or_default();
            let per = |a: u64, b: u64| a.saturating_sub(b) as f64 / n as f64;
            if per(*rss, r0) >= 0.1 {
                eprintln!("  {kind}: {:.1} / {:.1}", per(*rss, r0), per(*pss, p0));
            }
        }
        let (wake, wake_cpu_s) = wake_all(&client, &tq, n, opts.concurrency, worker.pid()).await?;
        let d = Density {
            contestant: c,
            parked: n,
            rss_before_kib: before,
            rss_after_kib: after,
            pss_before_kib: pss_before,
            pss_after_kib: pss_after,
            wake,
            wake_cpu_s,
        };
        eprintln!("{d:?}");
        out.push(d);
        drop(worker);
    }
    Ok(out)
}

/// Signals all `n` parked runs of `tq` (`concurrency` at a time) and waits
/// until every one has completed: the wall time and the worker's CPU time.
async fn wake_all(
    client: &Client,
    tq: &str,
    n: usize,
    concurrency: usize,
    pid: u32,
) -> anyhow::Result<(Duration, f64)> {
    let cpu = proc::cpu_seconds(pid).context("cpu")?;
    let began = Instant::now();
    let limit = Arc::new(Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = limit.clone().acquire_owned().await?;
        let (client, id) = (client.clone(), format!("{tq}-parked-{i}"));
        tasks.spawn(async move {
            client.signal(&id, "go").await?;
            let r = client.closed(&id).await;
            drop(permit);
            r
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let took = began.elapsed();
    Ok((took, proc::cpu_seconds(pid).context("cpu")? - cpu))
}

/// A Markdown table of the density run.
pub fn density_table(rows: &[Density]) -> String {
    let mut out = String::from(
        "| Worker | Parked workflows | RSS before → after (MiB) | RSS KiB per parked workflow | PSS before → after (MiB) | PSS KiB per parked workflow | Wake all: wall (s) | Wake all: worker CPU (s) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for d in rows {
        out.push_str(&format!(
            "| {} | {} | {:.1} → {:.1} | {:.1} | {:.1} → {:.1} | {:.1} | {:.1} | {:.1} |\n",
            d.contestant.name(),
            d.parked,
            d.rss_before_kib as f64 / 1024.0,
            d.rss_after_kib as f64 / 1024.0,
            d.per_workflow_kib(),
            d.pss_before_kib as f64 / 1024.0,
            d.pss_after_kib as f64 / 1024.0,
            d.pss_per_workflow_kib(),
            d.wake.as_secs_f64(),
            d.wake_cpu_s,
        ));
    }
    out
}

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// A Markdown table of each contestant's medians over the rounds, with
/// ratios to the native Rust worker.
pub fn table(measures: &[Measure], contestants: &[Contestant]) -> String {
    let med = |c: Contestant, f: &dyn Fn(&Measure) -> f64| {
        median(
            measures
                .iter()
                .filter(|m| m.contestant == c)
                .map(f)
                .collect(),
        )
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let base = Contestant::NativeRust;
    let mut out = String::from(
        "| Worker | Workflows/s | vs native | p50 / p99 at full speed (ms) | p50 / p99 at fixed rate (ms) | CPU s per 1000 workflows | vs native | Peak RSS (MiB) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for &c in contestants {
        let wps = med(c, &|m| m.throughput);
        let cpu = med(c, &|m| m.cpu_per_1000);
        let ratio = |x: f64, b: f64| {
            if b > 0.0 {
                format!("{:.2}×", x / b)
            } else {
                "-".into()
            }
        };
        out.push_str(&format!(
            "| {} | {:.1} | {} | {:.0} / {:.0} | {:.0} / {:.0} | {:.2} | {} | {:.1} |\n",
            c.name(),
            wps,
            ratio(wps, med(base, &|m| m.throughput)),
            med(c, &|m| ms(m.fast_p50)),
            med(c, &|m| ms(m.fast_p99)),
            med(c, &|m| ms(m.rate_p50)),
            med(c, &|m| ms(m.rate_p99)),
            cpu,
            ratio(cpu, med(base, &|m| m.cpu_per_1000)),
            med(c, &|m| m.peak_rss_kib as f64) / 1024.0,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_medians() {
        let xs: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&xs, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&xs, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
    }
}
