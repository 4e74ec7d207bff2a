//! Modules in an OCI registry, as the Wasm OCI artifact convention lays them
//! out (a config of media type `application/vnd.wasm.config.v0+json` and one
//! `application/wasm` layer), through `oci-client`. A task queue's versions
//! are the artifacts of its repository, `<registry>/<prefix>/<task queue>`;
//! a version's build id is its layer's sha256 digest, whatever the tag (an
//! artifact pushed by `wkg` or `oras` with the same layout counts too).
//! Pulls are by digest and checked against it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use crate::config::RegistryConfig;

/// The config blob's media type.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The one layer's media type.
pub const LAYER_MEDIA_TYPE: &str = "application/wasm";
use super::MAX_COMPONENT_BYTES;

/// Why the registry could not do something.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry refused or could not be reached.
    #[error("registry {reference}: {what}")]
    Registry {
        /// The repository (and tag or digest).
        reference: String,
        /// What was asked.
        what: &'static str,
        /// The client's error.
        #[source]
        source: oci_client::errors::OciDistributionError,
    },
    /// A pulled blob does not hash to the digest it was asked for.
    #[error("registry {reference}: the blob pulled for {digest} hashes to {actual}; refusing it")]
    Tampered {
        /// The repository.
        reference: String,
        /// The digest asked for.
        digest: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// A blob is bigger than it may be (a component, or a config).
    #[error("registry {reference}: {digest} is {size} bytes, over the {limit}-byte cap")]
    TooBig {
        /// The repository.
        reference: String,
        /// The digest.
        digest: String,
        /// Its size, as the manifest says or as far as it was read.
        size: i64,
        /// The cap.
        limit: u64,
    },
    /// The registry address is not `host[:port]/path`.
    #[error("`deployment.registry`: {address:?} is not a registry repository ({source})")]
    Address {
        /// What was configured.
        address: String,
        /// Why it does not parse.
        #[source]
        source: oci_client::ParseError,
    },
}

/// One artifact of a queue's repository that has the Wasm layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The tag it was found under.
    pub tag: String,
    /// Its component's digest (hex, no `sha256:`): the build id.
    pub digest: String,
    /// Its size in bytes.
    pub size: i64,
    /// When it was pushed, as its config (or its manifest's
    /// `org.opencontainers.image.created` annotation) says, if it does.
    pub created: Option<DateTime<Utc>>,
}

/// The most a config blob may be: it is a few hundred bytes of JSON.
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// A registry client for one `[deployment]` (or one `modules push`).
pub struct Registry {
    client: Client,
    auth: RegistryAuth,
    /// `host[:port]`.
    host: String,
    /// The path under which each queue has its repository.
    prefix: String,
    /// Push times by config digest: a config never changes, so each is
    /// read once.
    created: Mutex<HashMap<String, Option<DateTime<Utc>>>>,
}

/// A queue's repository name: OCI names are lower case, of `[a-z0-9._-]`.
fn repository_name(task_queue: &str) -> String {
    task_queue
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '.' | '_' | '-') => c,
            _ => '-',
        })
        .collect()
}

impl Registry {
    /// A client for `config`, with the credentials the environment or the
    /// Docker config file hold for its host.
    pub fn new(config: &RegistryConfig) -> Result<Registry, RegistryError> {
        let probe: Reference = format!("{}/probe:latest", config.address.trim_end_matches('/'))
            .parse()
            .map_err(|source| RegistryError::Address {
                address: config.address.clone(),
                source,
            })?;
        let host = probe.registry().to_string();
        let prefix = probe
            .repository()
            .strip_suffix("probe")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        // reqwest is built without a default TLS provider; ring is the one the
        // rest of the host's TLS uses.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::new(ClientConfig {
            protocol: if config.plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            ..Default::default()
        });
        let auth = super::credentials::for_host(&host);
        Ok(Registry {
            client,
            auth,
            host,
            prefix,
            created: Mutex::default(),
        })
    }

    fn reference(&self, task_queue: &str, tag: &str) -> Reference {
        let repo = match self.prefix.as_str() {
            "" => repository_name(task_queue),
            p => format!("{p}/{}", repository_name(task_queue)),
        };
        Reference::with_tag(self.host.clone(), repo, tag.to_string())
    }

    fn failed(
        reference: &Reference,
        what: &'static str,
    ) -> impl FnOnce(oci_client::errors::OciDistributionError) -> RegistryError {
        let reference = reference.whole();
        move |source| RegistryError::Registry {
            reference,
            what,
            source,
        }
    }

    /// Pushes a component (validated by the caller) as a Wasm artifact,
    /// tagged with its digest; returns the digest.
    pub async fn push(
        &self,
        task_queue: &str,
        bytes: Vec<u8>,
        config: Vec<u8>,
    ) -> Result<String, RegistryError> {
        let digest = crate::runtime::digest(&bytes);
        let reference = self.reference(task_queue, &tag_of(&digest));
        let layer = ImageLayer::new(bytes, LAYER_MEDIA_TYPE.to_string(), None);
        let config = Config::new(config, CONFIG_MEDIA_TYPE.to_string(), None);
        let mut manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, None);
        manifest.artifact_type = Some(CONFIG_MEDIA_TYPE.to_string());
        self.client
            .push(&reference, &[layer], config, &self.auth, Some(manifest))
            .await
            .map_err(Self::failed(&reference, "push"))?;
        Ok(digest)
    }

    /// Every artifact of the queue's repository with the Wasm layout, one
    /// per digest (a digest under several tags is listed once).
    pub async fn artifacts(&self, task_queue: &str) -> Result<Vec<Artifact>, RegistryError> {
        let repo = self.reference(task_queue, "latest");
        let tags = match self.client.list_tags(&repo, &self.auth, None, None).await {
            Ok(t) => t.tags,
            // A repository nothing was pushed to yet has no versions.
            Err(oci_client::errors::OciDistributionError::RegistryError { envelope, .. })
                if envelope
                    .errors
                    .iter()
                    .any(|e| matches!(e.code, oci_client::errors::OciErrorCode::NameUnknown)) =>
            {
                Vec::new()
            }
            Err(e) => return Err(Self::failed(&repo, "list tags")(e)),
        };
        let mut found: BTreeMap<String, Artifact> = BTreeMap::new();
        for tag in tags {
            let reference = self.reference(task_queue, &tag);
            let (manifest, _) = self
                .client
                .pull_image_manifest(&reference, &self.auth)
                .await
                .map_err(Self::failed(&reference, "read a manifest"))?;
            if let Some(layer) = wasm_layer(&manifest) {
                let digest = layer.digest.trim_start_matches("sha256:").to_string();
                let created = self.created(&reference, &manifest).await;
                let newest = |a: &Artifact| a.created.max(created);
                let size = layer.size;
                found
                    .entry(digest.clone())
                    .and_modify(|a| a.created = newest(a))
                    .or_insert(Artifact {
                        tag,
                        digest,
                        size,
                        created,
                    });
            }
        }
        Ok(found.into_values().collect())
    }

    /// When the artifact of `manifest` was pushed: its annotation, else its
    /// config's `created`. A config that cannot be read or has no time
    /// gives none (the artifact is then taken as new).
    async fn created(
        &self,
        reference: &Reference,
        manifest: &OciImageManifest,
    ) -> Option<DateTime<Utc>> {
        let annotated = manifest
            .annotations
            .as_ref()
            .and_then(|a| a.get("org.opencontainers.image.created"))
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        if let Some(t) = annotated {
            return Some(t.to_utc());
        }
        let key = manifest.config.digest.clone();
        if let Some(known) = self.created.lock().ok()?.get(&key) {
            return *known;
        }
        let created = self
            .read_blob(reference, &manifest.config, MAX_CONFIG_BYTES)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| {
                Some(
                    DateTime::parse_from_rfc3339(v.get("created")?.as_str()?)
                        .ok()?
                        .to_utc(),
                )
            });
        self.created.lock().ok()?.insert(key, created);
        created
    }

    /// A blob's bytes, at most `limit` of them whatever the registry sends,
    /// checked against the descriptor's digest.
    async fn read_blob(
        &self,
        reference: &Reference,
        blob: &OciDescriptor,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let digest = blob.digest.trim_start_matches("sha256:").to_string();
        let too_big = |size: i64| RegistryError::TooBig {
            reference: reference.whole(),
            digest: digest.clone(),
            size,
            limit,
        };
        if u64::try_from(blob.size).unwrap_or(u64::MAX) > limit {
            return Err(too_big(blob.size));
        }
        let mut stream = self
            .client
            .pull_blob_stream(reference, blob)
            .await
            .map_err(Self::failed(reference, "pull a blob"))?
            .stream;
        let tampered = |actual: String| RegistryError::Tampered {
            reference: reference.whole(),
            digest: digest.clone(),
            actual,
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            use oci_client::errors::{DigestError, OciDistributionError};
            let chunk = match chunk {
                Ok(c) => c,
                // The client checks the digest as the bytes arrive.
                Err(e) => {
                    return Err(match e.get_ref().and_then(|e| e.downcast_ref()) {
                        Some(DigestError::VerificationError { actual, .. }) => {
                            tampered(actual.trim_start_matches("sha256:").to_string())
                        }
                        _ => {
                            Self::failed(reference, "pull a blob")(OciDistributionError::IoError(e))
                        }
                    });
                }
            };
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Err(too_big(i64::try_from(bytes.len()).unwrap_or(i64::MAX)));
            }
        }
        let actual = crate::runtime::digest(&bytes);
        if actual != digest {
            return Err(tampered(actual));
        }
        Ok(bytes)
    }

    /// The component with `digest`, pulled by digest and checked against it.
    pub async fn pull(
        &self,
        task_queue: &str,
        artifact: &Artifact,
    ) -> Result<Vec<u8>, RegistryError> {
        let reference = self.reference(task_queue, &artifact.tag);
        let layer = OciDescriptor {
            media_type: LAYER_MEDIA_TYPE.to_string(),
            digest: format!("sha256:{}", artifact.digest),
            size: artifact.size,
            ..Default::default()
        };
        self.read_blob(&reference, &layer, MAX_COMPONENT_BYTES)
            .await
    }
}

/// The tag `modules push` gives an artifact: its digest.
pub fn tag_of(digest: &str) -> String {
    format!("sha256-{digest}")
}

/// The component layer of a manifest with the Wasm layout, if it is one.
fn wasm_layer(manifest: &OciImageManifest) -> Option<&OciDescriptor> {
    match manifest.layers.as_slice() {
        [layer]
            if manifest.config.media_type == CONFIG_MEDIA_TYPE
                && layer.media_type == LAYER_MEDIA_TYPE
                && layer.digest.starts_with("sha256:") =>
        {
            Some(layer)
        }
        _ => None,
    }
}

/// The config blob of a pushed component, as the convention describes it:
/// architecture `wasm`, os `wasip2`, the layer's digest, and the component's
/// top-level imports and exports.
pub fn config_blob(bytes: &[u8]) -> Vec<u8> {
    let (imports, exports) = interfaces(bytes);
    serde_json::to_vec(&serde_json::json!({
        "created": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [format!("sha256:{}", crate::runtime::digest(bytes))],
        "component": { "imports": imports, "exports": exports },
    }))
    .unwrap_or_default()
}

/// A component's top-level import and export names.
fn interfaces(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
    use wasmparser::{Parser, Payload};
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::ComponentImportSection(s)) => {
                imports.extend(s.into_iter().flatten().map(|i| i.name.name.to_string()));
            }
            Ok(Payload::ComponentExportSection(s)) => {
                exports.extend(s.into_iter().flatten().map(|e| e.name.name.to_string()));
            }
            // Nested modules and components have sections of their own.
            Ok(Payload::ModuleSection { .. } | Payload::ComponentSection { .. }) => {}
            Ok(_) => {}
            Err(_) => break,
        }
    }
    (imports, exports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_become_repository_names() {
        assert_eq!(repository_name("data-routing"), "data-routing");
        assert_eq!(repository_name("Orders/EU v2"), "orders-eu-v2");
    }

    #[test]
    fn only_the_wasm_layout_is_a_version() {
        let layer = |media: &str| OciDescriptor {
            media_type: media.into(),
            digest: "sha256:ab".into(),
            size: 2,
            ..Default::default()
        };
        let manifest = |config: &str, layers: Vec<OciDescriptor>| OciImageManifest {
            config: OciDescriptor {
                media_type: config.into(),
                ..Default::default()
            },
            layers,
            ..Default::default()
        };
        assert!(wasm_layer(&manifest(CONFIG_MEDIA_TYPE, vec![layer(LAYER_MEDIA_TYPE)])).is_some());
        for m in [
            manifest(
                "application/vnd.oci.image.config.v1+json",
                vec![layer(LAYER_MEDIA_TYPE)],
            ),
            manifest(CONFIG_MEDIA_TYPE, vec![layer("application/octet-stream")]),
            manifest(
                CONFIG_MEDIA_TYPE,
                vec![layer(LAYER_MEDIA_TYPE), layer(LAYER_MEDIA_TYPE)],
            ),
            manifest(CONFIG_MEDIA_TYPE, Vec::new()),
        ] {
            assert!(wasm_layer(&m).is_none(), "{m:?}");
        }
    }

    #[test]
    fn the_config_blob_names_the_layer_and_the_components_interfaces() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/guests/wasm32-wasip2/release/workflows.wasm"
        ));
        let Ok(bytes) = bytes else {
            // Guests are built by scripts/setup.sh before the tests.
            panic!("the workflows fixture is not built: run scripts/setup.sh");
        };
        let config: serde_json::Value = serde_json::from_slice(&config_blob(&bytes)).unwrap();
        assert_eq!(config["architecture"], "wasm");
        assert_eq!(config["os"], "wasip2");
        assert_eq!(
            config["layerDigests"][0],
            format!("sha256:{}", crate::runtime::digest(&bytes))
        );
        let exports = config["component"]["exports"].as_array().unwrap();
        assert!(
            exports.iter().any(|e| e
                .as_str()
                .unwrap()
                .starts_with("polyworker:worker/workflows")),
            "{exports:?}"
        );
    }
}
