//! Registry credentials, from where the container tools keep them: the
//! environment (`POLYWORKER_REGISTRY_USERNAME` and
//! `POLYWORKER_REGISTRY_PASSWORD`), else the Docker config file
//! (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as `docker
//! login` writes it), else none. Never from the command line, so they stay
//! out of shell histories and process lists.

use std::path::PathBuf;

use base64::Engine;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

/// The variables a password may come in.
pub const USERNAME_ENV: &str = "POLYWORKER_REGISTRY_USERNAME";
/// See [`USERNAME_ENV`].
pub const PASSWORD_ENV: &str = "POLYWORKER_REGISTRY_PASSWORD";

#[derive(Deserialize, Default)]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, DockerAuth>,
}

#[derive(Deserialize, Default)]
struct DockerAuth {
    /// base64 of `user:password`.
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

fn docker_config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => Some(PathBuf::from(dir).join("config.json")),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json")),
    }
}

/// The credentials for `host` (`name[:port]`).
pub fn for_host(host: &str) -> RegistryAuth {
    if let (Ok(user), Ok(password)) = (std::env::var(USERNAME_ENV), std::env::var(PASSWORD_ENV)) {
        return RegistryAuth::Basic(user, password);
    }
    docker_config_path()
        .and_then(|p| std::fs::read(p).ok())
        .map(|bytes| from_docker_config(&bytes, host))
        .unwrap_or(RegistryAuth::Anonymous)
}

/// The entry for `host` in a Docker config file (keys may carry a scheme).
fn from_docker_config(bytes: &[u8], host: &str) -> RegistryAuth {
    let Ok(config) = serde_json::from_slice::<DockerConfig>(bytes) else {
        return RegistryAuth::Anonymous;
    };
    let entry = config.auths.iter().find(|(k, _)| {
        let k = k
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        k.trim_end_matches('/') == host
    });
    let Some((_, entry)) = entry else {
        return RegistryAuth::Anonymous;
    };
    if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
        return RegistryAuth::Basic(u.clone(), p.clone());
    }
    let decoded = entry
        .auth
        .as_ref()
        .and_then(|a| base64::engine::general_purpose::STANDARD.decode(a).ok())
        .and_then(|b| String::from_utf8(b).ok());
    match decoded.as_deref().and_then(|d| d.split_once(':')) {
        Some((u, p)) => RegistryAuth::Basic(u.to_string(), p.to_string()),
        None => RegistryAuth::Anonymous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(auth: RegistryAuth) -> Option<(String, String)> {
        match auth {
            RegistryAuth::Basic(u, p) => Some((u, p)),
            _ => None,
        }
    }

    #[test]
    fn docker_config_entries_are_found_by_host() {
        let config = br#"{"auths": {
            "https://registry.example:5000": {"auth": "YWxpY2U6czNjcmV0"},
            "other.example": {"username": "bob", "password": "pw"}
        }}"#;
        assert_eq!(
            basic(from_docker_config(config, "registry.example:5000")),
            Some(("alice".into(), "s3cret".into()))
        );
        assert_eq!(
            basic(from_docker_config(config, "other.example")),
            Some(("bob".into(), "pw".into()))
        );
        assert_eq!(basic(from_docker_config(config, "unknown.example")), None);
        assert_eq!(
            basic(from_docker_config(b"not json", "other.example")),
            None
        );
    }
}
