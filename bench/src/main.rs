//! `polyworker-bench`: runs the end-to-end benchmark and prints its table.
//! See BENCHMARKS.md for the commands and the figures.

use std::path::PathBuf;

use clap::Parser;
use polyworker_bench::contestants::Contestant;
use polyworker_bench::run::{Options, benchmark, density, density_table, table};
use polyworker_bench::startup::{startup, startup_table};

#[derive(Parser)]
#[command(about = "polyworker against native Temporal workers, side by side")]
struct Args {
    /// Workflows per phase, per contestant, per round.
    #[arg(long, default_value_t = 500)]
    workflows: usize,
    /// Starts per second in the fixed-rate phase.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Workflows in flight at once in the full-speed phase.
    #[arg(long, default_value_t = 100)]
    concurrency: usize,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Comma-separated: polyworker, native-rust, python, typescript.
    #[arg(long, default_value = "polyworker,native-rust,python,typescript")]
    contestants: String,
    /// Use this server (http://host:port) instead of a fresh dev server.
    #[arg(long)]
    server: Option<String>,
    /// Where worker configs and logs go.
    #[arg(long, default_value = "target/bench")]
    dir: PathBuf,
    /// Instead of the throughput run, park this many workflows on a signal
    /// in each worker's cache and report the memory per workflow.
    #[arg(long)]
    density: Option<usize>,
    /// Instead of the throughput run, time `polyworker run` until it is
    /// ready, serving this many cached modules (at most 10), `--rounds`
    /// times.
    #[arg(long)]
    startup: Option<usize>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let contestants = a
        .contestants
        .split(',')
        .map(|c| Contestant::parse(c.trim()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let opts = Options {
        workflows: a.workflows,
        rate: a.rate,
        concurrency: a.concurrency,
        rounds: a.rounds,
        contestants: contestants.clone(),
        server: a.server,
        dir: a.dir,
    };
    if let Some(n) = a.startup {
        println!("{}", startup_table(&startup(&opts, n, opts.rounds).await?));
        return Ok(());
    }
    if let Some(n) = a.density {
        println!("{}", density_table(&density(&opts, n).await?));
        return Ok(());
    }
    let measures = benchmark(&opts).await?;
    println!("{}", table(&measures, &contestants));
    Ok(())
}
