//! A secured endpoint in front of the dev server, as a real cluster or
//! Temporal Cloud has one: Debian's nginx terminating TLS for gRPC on
//! loopback, on two ports — one that requires a client certificate signed
//! by the harness's CA (mTLS), one that requires an API key in the
//! `authorization` header. Certificates are made with `openssl` for each
//! gateway; the process and its directory go when the gateway drops.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::free_address;
use crate::wait::eventually_blocking;

/// The API key the gateway's API-key port admits.
pub const API_KEY: &str = "pw-test-api-key-7d1e";

/// PEM files made for one gateway.
pub struct Certs {
    /// The CA that signed the server's and the client's certificates.
    pub ca: PathBuf,
    /// A CA that signed nothing here: a client trusting it must refuse the server.
    pub rogue_ca: PathBuf,
    /// The client certificate and key for the mTLS port.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl is missing: run scripts/setup.sh");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An EC key and a certificate for `cn`, signed by `ca` (self-signed when
/// `None`), with `ext` (an `openssl x509 -extfile` line).
fn cert(dir: &Path, name: &str, cn: &str, ca: Option<&str>, ext: &str) {
    let (key, csr, pem, extfile) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
    );
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &key,
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &key,
            "-subj",
            &format!("/CN={cn}"),
            "-out",
            &csr,
        ],
    );
    std::fs::write(dir.join(&extfile), ext).expect("write ext");
    let mut args = vec![
        "x509", "-req", "-in", &csr, "-days", "2", "-out", &pem, "-extfile", &extfile,
    ];
    let (ca_pem, ca_key);
    match ca {
        Some(ca) => {
            ca_pem = format!("{ca}.pem");
            ca_key = format!("{ca}.key");
            args.extend(["-CA", &ca_pem, "-CAkey", &ca_key, "-CAcreateserial"]);
        }
        None => args.extend(["-signkey", &key]),
    }
    openssl(dir, &args);
}

impl Certs {
    fn make(dir: &Path) -> Certs {
        let ca = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
        cert(dir, "ca", "polyworker test CA", None, ca);
        cert(dir, "rogue-ca", "some other CA", None, ca);
        cert(
            dir,
            "server",
            "localhost",
            Some("ca"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        );
        cert(
            dir,
            "client",
            "polyworker tenant",
            Some("ca"),
            "extendedKeyUsage=clientAuth\n",
        );
        Certs {
            ca: dir.join("ca.pem"),
            rogue_ca: dir.join("rogue-ca.pem"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
        }
    }
}

/// nginx on two loopback ports in front of a dev server.
pub struct Gateway {
    /// `https://127.0.0.1:P`: mTLS, a client certificate is required.
    pub mtls: String,
    /// `https://127.0.0.1:P`: TLS, and `authorization: Bearer <API_KEY>`.
    pub api_key: String,
    pub certs: Certs,
    child: Child,
    dir: PathBuf,
}

fn nginx_bin() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("nginx is missing: run scripts/setup.sh (Debian's nginx-light)")
}

impl Gateway {
    /// Starts nginx in front of `upstream` (`127.0.0.1:port`, the dev
    /// server's gRPC frontend) and waits until both ports accept.
    pub fn start(upstream: &str) -> Gateway {
        let dir = std::env::temp_dir().join(format!("pw-gateway-{}", crate::unique("g")));
        std::fs::create_dir_all(dir.join("tmp")).expect("gateway dir");
        let certs = Certs::make(&dir);
        let (mtls, key) = (free_address(), free_address());
        // Temporal's long polls last about a minute: the gateway must not
        // cut them sooner.
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp;
  proxy_temp_path {dir}/tmp;
  fastcgi_temp_path {dir}/tmp;
  uwsgi_temp_path {dir}/tmp;
  scgi_temp_path {dir}/tmp;
  client_max_body_size 0;
  grpc_read_timeout 300s;
  grpc_send_timeout 300s;
  ssl_certificate {server_cert};
  ssl_certificate_key {server_key};
  server {{
    listen {mtls} ssl http2;
    ssl_client_certificate {ca};
    ssl_verify_client on;
    location / {{ grpc_pass grpc://{upstream}; }}
  }}
  server {{
    listen {key} ssl http2;
    # A wrong key gets a gRPC answer, as Temporal Cloud gives one:
    # status 16, UNAUTHENTICATED.
    error_page 418 = @unauthenticated;
    location @unauthenticated {{
      default_type application/grpc;
      add_header grpc-status 16 always;
      add_header grpc-message "invalid API key" always;
      return 204;
    }}
    location / {{
      if ($http_authorization != "Bearer {API_KEY}") {{ return 418; }}
      grpc_pass grpc://{upstream};
    }}
  }}
}}
"#,
            dir = dir.display(),
            server_cert = certs.server_cert.display(),
            server_key = certs.server_key.display(),
            ca = certs.ca.display(),
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let child = Command::new(nginx_bin())
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        for addr in [mtls, key] {
            eventually_blocking(Duration::from_secs(20), "the gateway listens", || {
                std::net::TcpStream::connect(addr).map(drop).map_err(|e| {
                    let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                    format!("{e}; nginx's log: {log}")
                })
            });
        }
        Gateway {
            mtls: format!("https://{mtls}"),
            api_key: format!("https://{key}"),
            certs,
            child,
            dir,
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
