//! The workers under test, each a process of its own on its own task queue:
//! polyworker with the Rust guest component, Temporal's native Rust SDK, and
//! its Python and TypeScript SDKs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contestant {
    Polyworker,
    NativeRust,
    Python,
    TypeScript,
}

impl Contestant {
    pub fn parse(name: &str) -> anyhow::Result<Contestant> {
        Ok(match name {
            "polyworker" => Contestant::Polyworker,
            "native-rust" => Contestant::NativeRust,
            "python" => Contestant::Python,
            "typescript" => Contestant::TypeScript,
            other => {
                bail!("unknown contestant {other:?} (polyworker, native-rust, python, typescript)")
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Contestant::Polyworker => "polyworker (Rust guest)",
            Contestant::NativeRust => "native Rust SDK",
            Contestant::Python => "Python SDK",
            Contestant::TypeScript => "TypeScript SDK",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Contestant::Polyworker => "polyworker",
            Contestant::NativeRust => "native-rust",
            Contestant::Python => "python",
            Contestant::TypeScript => "typescript",
        }
    }

    /// Starts the worker on `task_queue` with room for `cached` workflows
    /// in its sticky cache; it logs to `dir`.
    pub fn spawn(
        self,
        address: &str,
        task_queue: &str,
        cached: usize,
        dir: &Path,
    ) -> anyhow::Result<Worker> {
        std::fs::create_dir_all(dir)?;
        let log = std::fs::File::create(dir.join(format!("{}.log", self.slug())))?;
        let bins = binaries_dir()?;
        let mut cmd = match self {
            Contestant::Polyworker => {
                let component =
                    repo_root().join("target/guests/wasm32-wasip2/release/bench_workflow.wasm");
                if !component.is_file() {
                    bail!(
                        "{} is missing: run scripts/build-guests.sh",
                        component.display()
                    );
                }
                let config = dir.join("polyworker.toml");
                std::fs::write(
                    &config,
                    format!(
                        "[server]\naddress = \"{address}\"\n\n[engine]\ncache_dir = \"{}\"\n\n\
                         [[task_queue]]\nname = \"{task_queue}\"\nmodules = [\"{}\"]\n\
                         max_cached_workflows = {cached}\n",
                        repo_root().join("target/polyworker-cache").display(),
                        component.display()
                    ),
                )?;
                let mut c = Command::new(bins.join("polyworker"));
                c.arg("run").arg("--config").arg(config);
                c
            }
            Contestant::NativeRust => {
                let mut c = Command::new(bins.join("native-worker"));
                c.arg(address).arg(task_queue).arg(cached.to_string());
                c
            }
            Contestant::Python => {
                let python = repo_root().join(".venv/bin/python");
                if !python.is_file() {
                    bail!("{} is missing: run scripts/setup.sh", python.display());
                }
                let mut c = Command::new(python);
                c.arg(repo_root().join("bench/python_worker.py"))
                    .arg(address)
                    .arg(task_queue)
                    .arg(cached.to_string());
                c
            }
            Contestant::TypeScript => {
                let dir = repo_root().join("bench/ts-worker");
                if !dir.join("node_modules/@temporalio/worker").is_dir() {
                    bail!(
                        "{} has no node_modules: run scripts/setup.sh",
                        dir.display()
                    );
                }
                let mut c = Command::new("node");
                c.arg(dir.join("worker.js"))
                    .arg(address)
                    .arg(task_queue)
                    .arg(cached.to_string());
                c
            }
        };
        let child = cmd
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", self.name()))?;
        Ok(Worker { child })
    }

    /// The workflow type each contestant registers.
    pub fn workflow_type(self) -> &'static str {
        "BenchWorkflow"
    }
}

/// A worker process; killed when dropped.
pub struct Worker {
    child: Child,
}

impl Worker {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where `polyworker` and `native-worker` were built: beside this binary.
pub(crate) fn binaries_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("no directory for this binary")?;
    // Integration tests run from target/<profile>/deps.
    let dir = if dir.ends_with("deps") {
        dir.parent().unwrap_or(dir)
    } else {
        dir
    };
    for b in ["polyworker", "native-worker"] {
        if !dir.join(b).is_file() {
            bail!(
                "{} is missing: build with `cargo build --release -p polyworker-host -p polyworker-bench`",
                dir.join(b).display()
            );
        }
    }
    Ok(dir.to_path_buf())
}
