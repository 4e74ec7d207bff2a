//! Loading components: validation, compilation, and what each one implements.
//!
//! A component is loaded once per host: compiled (or fetched from the compile
//! cache), linked into an `InstancePre` per role it plays, and asked which
//! workflow and activity types it implements. Every later instantiation
//! starts from those `InstancePre`s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Engine, Store};

use crate::activity::ActivityState;
use crate::bindings::exports::polyworker::worker::versioning::{self, VersioningBehavior};
use crate::bindings::exports::polyworker::worker::{activities, workflows};
use crate::guest_log::{GuestLog, LogTags};
use crate::metrics::{Kind, ModuleMeter};
use crate::workflow::WorkflowState;
use crate::workflow::sandbox::store_limits;

const WORKFLOWS_EXPORT: &str = "polyworker:worker/workflows@0.1.0";
const ACTIVITIES_EXPORT: &str = "polyworker:worker/activities@0.1.0";
const VERSIONING_EXPORT: &str = "polyworker:worker/versioning@0.1.0";

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a WebAssembly file")]
    NotWasm { path: PathBuf },
    #[error(
        "{path} is a core WebAssembly module, not a component: build it for wasm32-wasip2 \
         (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule { path: PathBuf },
    #[error("{path} is not a valid component: {message}")]
    Compile { path: PathBuf, message: String },
    #[error(
        "{path} exports neither {WORKFLOWS_EXPORT} nor {ACTIVITIES_EXPORT}: it is not a polyworker component"
    )]
    NoExports { path: PathBuf },
    #[error("{path} cannot run as a {role} component: {message}")]
    Link {
        path: PathBuf,
        role: &'static str,
        message: String,
    },
    #[error("{path}: calling {function} failed: {message}")]
    Guest {
        path: PathBuf,
        function: &'static str,
        message: String,
    },
}

/// A component's workflow role.
pub struct WorkflowRole {
    pub pre: InstancePre<WorkflowState>,
    pub indices: workflows::GuestIndices,
    pub types: Vec<String>,
    /// Behaviours the component declares per workflow type (its optional
    /// `versioning` export); types not listed get the configured default.
    pub versioning: BTreeMap<String, VersioningBehavior>,
}

/// A component's activity role.
pub struct ActivityRole {
    pub pre: InstancePre<ActivityState>,
    pub indices: activities::GuestIndices,
    pub types: Vec<String>,
}

/// A loaded component.
pub struct Module {
    pub path: PathBuf,
    /// sha256 of the component's bytes, hex.
    pub digest: String,
    pub workflow: Option<WorkflowRole>,
    pub activity: Option<ActivityRole>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("path", &self.path)
            .field("digest", &self.digest)
            .field("workflow_types", &self.workflow.as_ref().map(|w| &w.types))
            .field("activity_types", &self.activity.as_ref().map(|a| &a.types))
            .finish()
    }
}

/// Checks the preamble so the error for the common mistakes is precise.
fn check_header(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm {
            path: path.to_path_buf(),
        });
    }
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(LoadError::CoreModule {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

/// Everything `load` needs that is shared by all components.
pub struct Loader {
    pub engine: Engine,
    pub workflow_linker: Linker<WorkflowState>,
    pub activity_linker: Linker<ActivityState>,
}

impl Loader {
    /// Builds both roles' linkers on `engine`.
    pub fn new(engine: &Engine) -> Result<Loader, String> {
        Ok(Loader {
            engine: engine.clone(),
            workflow_linker: crate::workflow::sandbox::linker(engine)
                .map_err(|e| format!("workflow linker: {e:?}"))?,
            activity_linker: crate::activity::sandbox::linker(engine)
                .map_err(|e| format!("activity linker: {e:?}"))?,
        })
    }

    /// Reads, compiles and links `path`, then asks it for its types.
    pub async fn load(&self, path: &Path) -> Result<Arc<Module>, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_bytes(path, bytes).await
    }

    /// As [`Loader::load`], for bytes that came from elsewhere (a deploy);
    /// `path` names them in errors and is recorded as the module's path.
    pub async fn load_bytes(&self, path: &Path, bytes: Vec<u8>) -> Result<Arc<Module>, LoadError> {
        check_header(path, &bytes)?;
        let digest = digest(&bytes);
        let engine = self.engine.clone();
        let size = bytes.len();
        let started = std::time::Instant::now();
        // With the engine's cache, a component compiled before (same bytes,
        // same engine settings) is read back from disk instead of compiled.
        let component = tokio::task::spawn_blocking(move || Component::new(&engine, &bytes))
            .await
            .map_err(|e| LoadError::Compile {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
            .map_err(|e| LoadError::Compile {
                path: path.to_path_buf(),
                message: err(e),
            })?;
        tracing::debug!(
            path = %path.display(),
            digest = %digest,
            bytes = size,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "component compiled or read from the compile cache"
        );
        let has = |name| component.get_export_index(None, name).is_some();
        let (has_wf, has_act) = (has(WORKFLOWS_EXPORT), has(ACTIVITIES_EXPORT));
        if !has_wf && !has_act {
            return Err(LoadError::NoExports {
                path: path.to_path_buf(),
            });
        }
        let link = |role, e| LoadError::Link {
            path: path.to_path_buf(),
            role,
            message: err(e),
        };
        let guest = |function, e| LoadError::Guest {
            path: path.to_path_buf(),
            function,
            message: err(e),
        };
        let workflow = if has_wf {
            let pre = self
                .workflow_linker
                .instantiate_pre(&component)
                .map_err(|e| link("workflow", e))?;
            let indices = workflows::GuestIndices::new(&pre).map_err(|e| link("workflow", e))?;
            let log = GuestLog::new(LogTags::default());
            let mut store = Store::new(
                &self.engine,
                WorkflowState::new(
                    0,
                    log,
                    ModuleMeter::disabled(Kind::Workflow).limits(store_limits(64 << 20)),
                ),
            );
            store.limiter(|s| &mut s.limits);
            store.set_epoch_deadline(crate::engine::ticks(std::time::Duration::from_secs(5)));
            let inst = pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| guest("instantiate", e))?;
            let g = indices
                .load(&mut store, &inst)
                .map_err(|e| link("workflow", e))?;
            let types = g
                .call_workflow_types(&mut store)
                .await
                .map_err(|e| guest("workflow-types", e))?;
            let mut versioning = BTreeMap::new();
            if has(VERSIONING_EXPORT) {
                let v = versioning::GuestIndices::new(&pre)
                    .and_then(|i| i.load(&mut store, &inst))
                    .map_err(|e| link("workflow", e))?;
                for (name, behavior) in v
                    .call_workflow_versioning(&mut store)
                    .await
                    .map_err(|e| guest("workflow-versioning", e))?
                {
                    if !types.contains(&name) {
                        return Err(LoadError::Guest {
                            path: path.to_path_buf(),
                            function: "workflow-versioning",
                            message: format!(
                                "declares a behaviour for {name:?}, which is not one of its workflow types"
                            ),
                        });
                    }
                    versioning.insert(name, behavior);
                }
            }
            Some(WorkflowRole {
                pre,
                indices,
                types,
                versioning,
            })
        } else {
            None
        };
        let activity = if has_act {
            let pre = self
                .activity_linker
                .instantiate_pre(&component)
                .map_err(|e| link("activity", e))?;
            let indices = activities::GuestIndices::new(&pre).map_err(|e| link("activity", e))?;
            let mut store = Store::new(&self.engine, ActivityState::for_inspection(&self.engine));
            store.limiter(|s| &mut s.limits);
            store.set_epoch_deadline(crate::engine::ticks(std::time::Duration::from_secs(5)));
            let inst = pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| guest("instantiate", e))?;
            let g = indices
                .load(&mut store, &inst)
                .map_err(|e| link("activity", e))?;
            let types = g
                .call_activity_types(&mut store)
                .await
                .map_err(|e| guest("activity-types", e))?;
            Some(ActivityRole {
                pre,
                indices,
                types,
            })
        } else {
            None
        };
        Ok(Arc::new(Module {
            path: path.to_path_buf(),
            digest,
            workflow,
            activity,
        }))
    }
}

/// A component's identity: the sha256 of its bytes, in hex.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_tell_garbage_and_core_modules_apart() {
        let p = Path::new("x.wasm");
        assert!(matches!(
            check_header(p, b"hello world"),
            Err(LoadError::NotWasm { .. })
        ));
        assert!(matches!(
            check_header(p, b"\0asm\x01\0\0\0"),
            Err(LoadError::CoreModule { .. })
        ));
        assert!(check_header(p, b"\0asm\x0d\0\x01\0").is_ok());
    }
}
