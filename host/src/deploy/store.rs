//! The module store: deployed components by sha256 digest, and the state of
//! each version on each task queue, on disk so a restart keeps both. The
//! compiled code is cached separately (by wasmtime's cache, keyed by the
//! bytes and the engine), so a restart does not recompile either.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file of the store cannot be read or written.
    #[error("module store {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A stored component's bytes no longer hash to its name: changed on
    /// disk since it was deployed.
    #[error(
        "module store {path}: the file does not hash to its digest {digest} (it hashes to {actual}); refusing it"
    )]
    Tampered {
        /// The file.
        path: PathBuf,
        /// The digest it is stored under.
        digest: String,
        /// What its bytes hash to now.
        actual: String,
    },
    /// `state.json` is not the store's state.
    #[error("module store {path}: unreadable state: {source}")]
    State {
        /// The state file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
}

/// Where a version is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionState {
    /// Deployed and polling; new workflows go to the current version.
    Deployed,
    /// Receives the queue's new workflows.
    Current,
    /// Was current; serves the runs pinned to it until they finish.
    Draining,
    /// Its worker is shut down; the file stays until garbage-collected.
    Retired,
}

impl VersionState {
    /// Its name in `state.json` and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Deployed => "deployed",
            VersionState::Current => "current",
            VersionState::Draining => "draining",
            VersionState::Retired => "retired",
        }
    }
}

/// One version of one task queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// The component's digest.
    pub digest: String,
    /// Where it is in its life.
    pub state: VersionState,
    /// When it was deployed, in milliseconds since the epoch.
    pub deployed_at_ms: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    queues: BTreeMap<String, Vec<VersionRecord>>,
}

/// Deployed components by digest (`<dir>/<digest>.wasm`) and every
/// version's state (`<dir>/state.json`).
pub struct ModuleStore {
    dir: PathBuf,
    state: Mutex<State>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file, so a crash leaves
/// either the old file or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

impl ModuleStore {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<ModuleStore, StoreError> {
        std::fs::create_dir_all(dir.join("modules")).map_err(io(dir))?;
        let state_path = dir.join("state.json");
        let state = match std::fs::read(&state_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StoreError::State {
                path: state_path.clone(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(io(&state_path)(e)),
        };
        Ok(ModuleStore {
            dir: dir.to_path_buf(),
            state: Mutex::new(state),
        })
    }

    /// Where the component with `digest` is kept.
    pub fn path(&self, digest: &str) -> PathBuf {
        self.dir.join("modules").join(format!("{digest}.wasm"))
    }

    /// The component stored under `digest`, checked against it: a file
    /// changed on disk is refused rather than run under another's name.
    pub fn read(&self, digest: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path(digest);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let actual = crate::runtime::digest(&bytes);
        if actual != digest {
            return Err(StoreError::Tampered {
                path,
                digest: digest.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Keeps `bytes` under its digest; returns the digest.
    pub fn put(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let digest = crate::runtime::digest(bytes);
        let path = self.path(&digest);
        if !path.is_file() {
            write_atomically(&path, bytes)?;
        }
        Ok(digest)
    }

    /// Removes the files no version needs any more: those whose every
    /// record, on every queue, is retired (or that no record names).
    /// Their records stay, so `list` still shows them; deploying one again
    /// stores it again. Returns the digests removed.
    pub fn gc(&self) -> Result<Vec<String>, StoreError> {
        let needed: std::collections::HashSet<String> = self
            .lock()
            .queues
            .values()
            .flatten()
            .filter(|v| v.state != VersionState::Retired)
            .map(|v| v.digest.clone())
            .collect();
        let dir = self.dir.join("modules");
        let mut removed = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(io(&dir))?.flatten() {
            let path = e.path();
            let Some(digest) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".wasm"))
            else {
                continue;
            };
            if !needed.contains(digest) {
                std::fs::remove_file(&path).map_err(io(&path))?;
                removed.push(digest.to_string());
            }
        }
        removed.sort();
        Ok(removed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The versions of `queue`, oldest first.
    pub fn versions(&self, queue: &str) -> Vec<VersionRecord> {
        self.lock().queues.get(queue).cloned().unwrap_or_default()
    }

    /// Records `digest`'s state on `queue` (adding the version if new) and
    /// saves the store's state.
    pub fn set(&self, queue: &str, digest: &str, state: VersionState) -> Result<(), StoreError> {
        let mut s = self.lock();
        let versions = s.queues.entry(queue.to_string()).or_default();
        match versions.iter_mut().find(|v| v.digest == digest) {
            Some(v) => v.state = state,
            None => versions.push(VersionRecord {
                digest: digest.to_string(),
                state,
                deployed_at_ms: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis() as u64,
            }),
        }
        let text = serde_json::to_vec_pretty(&*s).map_err(|source| StoreError::State {
            path: self.dir.join("state.json"),
            source,
        })?;
        write_atomically(&self.dir.join("state.json"), &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_states_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("pw-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = ModuleStore::open(&dir).unwrap();
        let a = store.put(b"\0asm version a").unwrap();
        assert_eq!(
            store.put(b"\0asm version a").unwrap(),
            a,
            "content-addressed"
        );
        let b = store.put(b"\0asm version b").unwrap();
        assert!(store.path(&a).is_file() && store.path(&b).is_file());
        store.set("q", &a, VersionState::Current).unwrap();
        store.set("q", &b, VersionState::Deployed).unwrap();
        store.set("q", &a, VersionState::Draining).unwrap();
        drop(store);
        let store = ModuleStore::open(&dir).unwrap();
        let states: Vec<_> = store
            .versions("q")
            .into_iter()
            .map(|v| (v.digest, v.state))
            .collect();
        assert_eq!(
            states,
            [
                (a.clone(), VersionState::Draining),
                (b.clone(), VersionState::Deployed)
            ]
        );
        assert!(store.versions("other").is_empty());
        assert_eq!(store.read(&a).unwrap(), b"\0asm version a");
        std::fs::write(store.path(&a), b"\0asm version evil").unwrap();
        let e = store.read(&a).unwrap_err();
        assert!(
            matches!(&e, StoreError::Tampered { digest, .. } if *digest == a),
            "{e}"
        );
        // b is retired on its only queue, a still drains: gc removes b's file.
        store.set("q", &b, VersionState::Retired).unwrap();
        assert_eq!(store.gc().unwrap(), std::slice::from_ref(&b));
        assert!(store.path(&a).is_file() && !store.path(&b).is_file());
        assert!(store.gc().unwrap().is_empty());
        std::fs::write(dir.join("state.json"), b"{not json").unwrap();
        let e = ModuleStore::open(&dir).err().expect("refused");
        assert!(e.to_string().contains("unreadable state"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
