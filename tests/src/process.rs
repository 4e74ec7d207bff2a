//! Hosts and servers as separate processes, for the tests that signal,
//! kill or restart them: the `polyworker` binary with a config file, and a
//! dev server of a test's own whose database survives a restart.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{repo_root, temporal_cli};

/// This process's peak resident set (`VmHWM`) in KiB: in-process hosts
/// count in it.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .expect("VmHWM in /proc/self/status")
}

/// The `polyworker` binary that `cargo test --workspace` builds.
pub fn polyworker_bin() -> PathBuf {
    let p = repo_root().join("target/debug/polyworker");
    assert!(
        p.is_file(),
        "{} is missing: run the tests with scripts/test.sh",
        p.display()
    );
    p
}

/// A loopback port nothing listens on (yet), and one this process has not
/// handed out before: the OS may offer a port again once it is released,
/// and hosts started together bind theirs only later, so two of them could
/// otherwise be given the same one.
pub fn free_port() -> std::io::Result<u16> {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..100 {
        let port = polyworker_host::ops::devserver::free_port()?;
        if !given.contains(&port) {
            given.push(port);
            return Ok(port);
        }
    }
    Err(std::io::Error::other("no fresh loopback port in 100 tries"))
}

/// A loopback address nothing listens on (yet).
pub fn free_address() -> SocketAddr {
    ([127, 0, 0, 1], free_port().expect("a free port")).into()
}

/// The whole HTTP response to `GET path`, or "" if nothing answers.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return String::new();
    };
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    if s.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body).await;
    body
}

/// Sends `signal` (`TERM`, `INT`, `KILL`) to a process.
pub fn signal(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -{signal} {pid} failed");
}

/// Waits for a child to exit, polling with a deadline.
pub async fn wait_exit(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    crate::wait::poll_until(within, || {
        let status = child.try_wait().ok().flatten().ok_or(());
        async move { status }
    })
    .await
    .ok()
}

/// A `polyworker run --log-json` process; killed when dropped.
pub struct HostProcess {
    child: Child,
    pub health: SocketAddr,
    /// Where its Prometheus endpoint listens.
    pub metrics: SocketAddr,
    dir: PathBuf,
    log: PathBuf,
}

/// A process host's config: the harness's `[engine]` (the shared compile
/// cache, no pool) and `[metrics]` (its health and Prometheus ports), then
/// `body`.
fn config_text(health: SocketAddr, metrics: SocketAddr, body: &str) -> String {
    format!(
        "[engine]\ncache_dir = \"{}\"\npooling = false\n\n\
         [metrics]\nhealth = \"{health}\"\nprometheus = \"{metrics}\"\n\n{body}\n",
        repo_root().join("target/polyworker-cache").display()
    )
}

impl HostProcess {
    /// Starts `polyworker run` against `server` (`http://host:port`) with
    /// one or more `[[task_queue]]` tables given as TOML text.
    pub fn spawn(name: &str, server: &str, task_queues: &str) -> HostProcess {
        let body =
            format!("[server]\naddress = \"{server}\"\nidentity = \"{name}\"\n\n{task_queues}\n");
        HostProcess::spawn_with(name, &body, &[])
    }

    /// Starts `polyworker run` with `body` (every table but `[engine]` and
    /// `[metrics]`, which the harness adds) and `env` set for the process.
    pub fn spawn_with(name: &str, body: &str, env: &[(&str, &str)]) -> HostProcess {
        let dir = std::env::temp_dir().join(format!("pw-{name}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (health, metrics) = (free_address(), free_address());
        let path = dir.join("polyworker.toml");
        std::fs::write(&path, config_text(health, metrics, body)).expect("write config");
        let log = dir.join("host.log");
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(polyworker_bin())
            .arg("--log-json")
            .arg("run")
            .arg("--config")
            .arg(&path)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start polyworker");
        HostProcess {
            child,
            health,
            metrics,
            dir,
            log,
        }
    }

    /// Rewrites the config file with a new `body` (the harness's `[engine]`
    /// and `[metrics]` stay), for a reload.
    pub fn rewrite_config(&self, body: &str) {
        let config = config_text(self.health, self.metrics, body);
        std::fs::write(self.dir.join("polyworker.toml"), config).expect("rewrite config");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the host has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/readyz` answers 200 (every queue polls).
    pub async fn ready(&mut self, within: Duration) {
        let health = self.health;
        let child = &mut self.child;
        let log = &self.log;
        let read_log = || std::fs::read_to_string(log).unwrap_or_default();
        crate::eventually(within, "the host is ready", || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("host exited with {status} before ready:\n{}", read_log());
            }
            async move {
                if http_get(health, "/readyz")
                    .await
                    .starts_with("HTTP/1.0 200")
                {
                    Ok(())
                } else {
                    Err(format!("not ready; its log:\n{}", read_log()))
                }
            }
        })
        .await
    }

    pub fn signal(&self, sig: &str) {
        signal(self.pid(), sig);
    }

    /// Waits for the process to exit; `None` if it is still running.
    pub async fn exited(&mut self, within: Duration) -> Option<ExitStatus> {
        wait_exit(&mut self.child, within).await
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failed test keeps the config and log for a look.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A dev server of one test's own, on a fixed port with its database in a
/// file, so it can be stopped and started again with its state.
pub struct OwnServer {
    pub port: u16,
    db: PathBuf,
    child: Option<Child>,
}

impl OwnServer {
    pub fn new(db_dir: &Path) -> OwnServer {
        std::fs::create_dir_all(db_dir).expect("db dir");
        OwnServer {
            port: free_port().expect("free port"),
            db: db_dir.join("temporal.db"),
            child: None,
        }
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits until it serves the default namespace.
    pub async fn start(&mut self) {
        let cli = temporal_cli();
        let child = Command::new(&cli)
            .args(["server", "start-dev", "--headless", "--log-level", "error"])
            .args(["--ip", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--db-filename")
            .arg(&self.db)
            .arg("--http-port")
            .arg(free_port().expect("free port").to_string())
            .arg("--metrics-port")
            .arg(free_port().expect("free port").to_string())
            .arg("--dynamic-config-value")
            .arg(polyworker_host::ops::devserver::POLLS_COMPLETE_ON_SHUTDOWN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the dev server");
        self.child = Some(child);
        let port = self.port;
        let what = format!("the dev server comes up on port {port}");
        crate::eventually(Duration::from_secs(60), &what, || async move {
            if crate::serving(port) {
                Ok(())
            } else {
                Err("not serving")
            }
        })
        .await;
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "TERM");
            if wait_exit(&mut child, Duration::from_secs(10))
                .await
                .is_none()
            {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `polyworker modules ARGS --admin ADDR [--token T]` (no token from
/// the environment); returns (success, stdout and stderr).
pub fn modules_cli(admin: SocketAddr, token: Option<&str>, args: &[&str]) -> (bool, String) {
    let verb: Vec<&str> = ["modules"]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    admin_cli(admin, token, &verb)
}

/// Runs `polyworker <args> --admin <admin> [--token <token>]` (a verb that
/// talks to a host's admin API); whether it succeeded, and what it printed.
pub fn admin_cli(admin: SocketAddr, token: Option<&str>, args: &[&str]) -> (bool, String) {
    let admin = admin.to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--admin", &admin]);
    if let Some(t) = token {
        all.extend(["--token", t]);
    }
    polyworker_cli(&all)
}

/// Runs `polyworker <args>` (with no admin token or registry from the
/// environment); whether it succeeded, and what it printed.
pub fn polyworker_cli(args: &[&str]) -> (bool, String) {
    polyworker_cli_with(args, &[])
}

/// [`polyworker_cli`] with `env` set for the process.
pub fn polyworker_cli_with(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(polyworker_bin())
        .args(args)
        .env_remove("POLYWORKER_ADMIN_TOKEN")
        .env_remove("POLYWORKER_REGISTRY")
        .envs(env.iter().copied())
        .output()
        .expect("run polyworker");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
