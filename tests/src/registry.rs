//! A real OCI registry on loopback: Debian's `docker-registry` (the CNCF
//! Distribution registry) serving its own storage directory, started for
//! one test and stopped, with its directory, when it drops. It can be
//! stopped and started again on the same port and storage (an outage).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::free_address;
use crate::wait::eventually_blocking;

/// The user a registry started with [`Registry::start_with_login`] admits.
pub const USER: &str = "pw-test";
/// Its password.
pub const PASSWORD: &str = "s3cret";
/// `USER:bcrypt(PASSWORD)`, made once with Python's `crypt` (bcrypt is the
/// only hash the registry's htpasswd takes).
const HTPASSWD: &str = "pw-test:$2b$12$dprswpbpkRbhWcr/ciQFaeULnkliomMJouchDQUzzDYhQYD/LHyXC\n";

/// One registry.
pub struct Registry {
    /// Where it listens.
    pub address: SocketAddr,
    dir: PathBuf,
    child: Option<Child>,
}

fn registry_bin() -> PathBuf {
    ["/usr/bin/docker-registry", "/usr/sbin/docker-registry"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("docker-registry is missing: run scripts/setup.sh (Debian's docker-registry)")
}

impl Registry {
    /// Starts a registry with empty storage and waits until it answers.
    pub fn start() -> Registry {
        Registry::start_with("")
    }

    /// A registry that admits only [`USER`] with [`PASSWORD`] (htpasswd).
    pub fn start_with_login() -> Registry {
        Registry::start_with(HTPASSWD)
    }

    fn start_with(htpasswd: &str) -> Registry {
        let dir = std::env::temp_dir().join(format!("pw-registry-{}", crate::unique("r")));
        std::fs::create_dir_all(dir.join("storage")).expect("registry dir");
        let address = free_address();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {address}\n",
            dir.join("storage").display()
        );
        if !htpasswd.is_empty() {
            std::fs::write(dir.join("htpasswd"), htpasswd).expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: polyworker-tests\n    path: {}\n",
                dir.join("htpasswd").display()
            ));
        }
        std::fs::write(dir.join("config.yml"), config).expect("write config.yml");
        let mut r = Registry {
            address,
            dir,
            child: None,
        };
        r.resume();
        r
    }

    /// `host:port/prefix`, as `[deployment.registry].address` names it.
    pub fn repository(&self, prefix: &str) -> String {
        format!("{}/{prefix}", self.address)
    }

    /// Stops the registry (its storage stays).
    pub fn pause(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it (again) on the same port and storage; waits for `/v2/`.
    pub fn resume(&mut self) {
        let log = std::fs::File::create(self.dir.join("registry.log")).expect("registry log");
        let child = Command::new(registry_bin())
            .arg("serve")
            .arg(self.dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        self.child = Some(child);
        let (address, dir) = (self.address, self.dir.clone());
        eventually_blocking(Duration::from_secs(20), "the registry answers", || {
            answers(address).map_err(|e| {
                let log = std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default();
                format!("{e}; its log: {log}")
            })
        });
    }

    /// The file the registry serves the blob `digest` (hex) from.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        self.dir.join(format!(
            "storage/docker/registry/v2/blobs/sha256/{}/{digest}/data",
            &digest[..2]
        ))
    }
}

/// Whether `GET /v2/` answers (200, or 401 from one that wants a login),
/// as a registry that is up does.
fn answers(address: SocketAddr) -> Result<(), String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(address).map_err(|e| e.to_string())?;
    s.write_all(format!("GET /v2/ HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    match answer.split_whitespace().nth(1) {
        Some("200" | "401") => Ok(()),
        other => Err(format!("answered {other:?}")),
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.pause();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
