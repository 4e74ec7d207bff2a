//! How a tenant (or `[server]`) reaches Temporal: the address, TLS with the
//! server's CA and name, mTLS with a client certificate and key, or an API
//! key read from an environment variable — what secured self-hosted
//! clusters and Temporal Cloud ask for.
//!
//! ```toml
//! [server]
//! address = "https://temporal.internal:7233"
//! # or: api_key_env = "TEMPORAL_API_KEY"
//!
//! [server.tls]
//! server_ca = "ca.pem"
//! server_name = "temporal.internal"
//! client_cert = "client.pem"
//! client_key = "client.key"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, invalid};
use crate::temporal::{ConnectionSettings, TlsSettings};

/// `tls = { … }`: files are PEM, relative to the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// The CA that signed the server's certificate; the system's roots when unset.
    pub server_ca: Option<PathBuf>,
    /// The name the server's certificate is checked against; the address's host when unset.
    pub server_name: Option<String>,
    /// The client certificate, for mTLS (with `client_key`).
    pub client_cert: Option<PathBuf>,
    /// The client's private key, for mTLS (with `client_cert`).
    pub client_key: Option<PathBuf>,
}

/// A tenant's `connection = { … }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionConfig {
    /// The frontend; unset, `[server]`'s.
    pub address: Option<String>,
    /// TLS settings; TLS is also on, with the system's roots, for `https://`.
    pub tls: Option<TlsConfig>,
    /// The environment variable holding an API key (sent as a bearer token).
    pub api_key_env: Option<String>,
}

impl ConnectionConfig {
    pub(super) fn resolve(&mut self, base: &Path) {
        if let Some(t) = &mut self.tls {
            for p in [&mut t.server_ca, &mut t.client_cert, &mut t.client_key]
                .into_iter()
                .flatten()
            {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
    }

    /// Checks what can be checked without reading secrets; `key` is this
    /// table's path.
    pub(super) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if let Some(a) = &self.address {
            check_address(a, &format!("{key}.address"))?;
        }
        if let Some(t) = &self.tls {
            let k = |s: &str| format!("{key}.tls.{s}");
            for (name, p) in [
                ("server_ca", &t.server_ca),
                ("client_cert", &t.client_cert),
                ("client_key", &t.client_key),
            ] {
                if let Some(p) = p
                    && !p.is_file()
                {
                    return Err(invalid(k(name), format!("{} is not a file", p.display())));
                }
            }
            if t.client_cert.is_some() != t.client_key.is_some() {
                return Err(invalid(
                    k("client_cert"),
                    "mTLS needs both client_cert and client_key",
                ));
            }
            if self
                .address
                .as_deref()
                .is_some_and(|a| a.starts_with("http://"))
            {
                return Err(invalid(format!("{key}.address"), "use https:// with tls"));
            }
        }
        if let Some(env) = &self.api_key_env
            && env.is_empty()
        {
            return Err(invalid(format!("{key}.api_key_env"), "must not be empty"));
        }
        Ok(())
    }

    /// Reads the files and the environment into settings for `address`
    /// (this table's, else `default_address`).
    pub fn settings(
        &self,
        default_address: &str,
        key: &str,
    ) -> Result<ConnectionSettings, ConfigError> {
        let address = self
            .address
            .clone()
            .unwrap_or_else(|| default_address.to_string());
        let read = |name: &str, p: &Option<PathBuf>| -> Result<Option<Vec<u8>>, ConfigError> {
            p.as_ref()
                .map(|p| {
                    std::fs::read(p).map_err(|e| {
                        invalid(format!("{key}.tls.{name}"), format!("{}: {e}", p.display()))
                    })
                })
                .transpose()
        };
        let tls = match &self.tls {
            Some(t) => Some(TlsSettings {
                server_ca: read("server_ca", &t.server_ca)?,
                server_name: t.server_name.clone(),
                client: match (
                    read("client_cert", &t.client_cert)?,
                    read("client_key", &t.client_key)?,
                ) {
                    (Some(c), Some(k)) => Some((c, k)),
                    _ => None,
                },
            }),
            None if address.starts_with("https://") => Some(TlsSettings::default()),
            None => None,
        };
        let api_key = match &self.api_key_env {
            None => None,
            Some(env) => Some(std::env::var(env).map_err(|_| {
                invalid(
                    format!("{key}.api_key_env"),
                    format!("the environment variable {env} is not set"),
                )
            })?),
        };
        Ok(ConnectionSettings {
            address,
            tls,
            api_key,
        })
    }
}

/// `address` is an `http://` or `https://` URL.
pub(super) fn check_address(address: &str, key: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(address)
        .map_err(|e| invalid(key, format!("{address:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(key, "use http:// or https://"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_turns_tls_on_and_keys_come_from_the_environment() {
        let c = ConnectionConfig {
            address: Some("https://cloud.example:7233".into()),
            api_key_env: Some("PW_TEST_API_KEY_CONN".into()),
            ..Default::default()
        };
        let e = c
            .settings("http://x:1", "tenant[0].connection")
            .unwrap_err();
        assert!(
            e.to_string().contains("tenant[0].connection.api_key_env")
                && e.to_string().contains("PW_TEST_API_KEY_CONN"),
            "{e}"
        );
        // A variable every test process has stands in for a key.
        let c = ConnectionConfig {
            api_key_env: Some("PATH".into()),
            ..c
        };
        let path = std::env::var("PATH").unwrap();
        let s = c.settings("http://x:1", "k").unwrap();
        assert_eq!(s.api_key.as_deref(), Some(path.as_str()));
        assert!(s.tls.is_some());
        assert!(
            !format!("{s:?}").contains(&path),
            "debug output redacts the key"
        );
        let plain = ConnectionConfig::default()
            .settings("http://x:1", "k")
            .unwrap();
        assert!(plain.tls.is_none() && plain.address == "http://x:1");
    }

    #[test]
    fn tls_settings_are_checked_with_their_keys() {
        let mut c = ConnectionConfig {
            tls: Some(TlsConfig {
                client_cert: Some("/nonexistent/cert.pem".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = c.validate("server").unwrap_err();
        assert!(e.to_string().contains("server.tls.client_cert"), "{e}");
        let file = std::env::temp_dir().join(format!("pw-tls-{}.pem", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        c.tls.as_mut().unwrap().client_cert = Some(file.clone());
        let e = c.validate("server").unwrap_err();
        assert!(
            e.to_string().contains("both client_cert and client_key"),
            "{e}"
        );
        c.tls.as_mut().unwrap().client_key = Some(file);
        c.address = Some("http://plain:7233".into());
        let e = c.validate("server").unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
    }
}
