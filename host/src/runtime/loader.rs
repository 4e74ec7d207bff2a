//! Loading components: validation, compilation, and what each one implements.
//!
//! A component is loaded once per host: compiled (or fetched from the compile
//! cache), linked into an `InstancePre` per role it plays, and asked which
//! workflow and activity types it implements. Every later instantiation
//! starts from those `InstancePre`s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Engine, Store};

use super::WasmError;
use super::activity::ActivityState;
use super::bindings::exports::polyworker::worker::versioning::{self, VersioningBehavior};
use super::bindings::exports::polyworker::worker::{activities, workflows};
use super::engine::{EngineError, ticks};
use super::limits::StoreLimiter;
use super::log::{GuestLog, LogTags};
use super::meter::{ModuleMeter, Role};
use super::workflow::WorkflowState;

const WORKFLOWS_EXPORT: &str = "polyworker:worker/workflows@0.1.0";
const ACTIVITIES_EXPORT: &str = "polyworker:worker/activities@0.1.0";
const VERSIONING_EXPORT: &str = "polyworker:worker/versioning@0.1.0";

/// How long asking a component for its types may take.
const INSPECTION_DEADLINE: Duration = Duration::from_secs(5);

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not WebAssembly.
    #[error("{path} is not a WebAssembly file")]
    NotWasm {
        /// The file.
        path: PathBuf,
    },
    /// A core module where a component was expected.
    #[error(
        "{path} is a core WebAssembly module, not a component: build it for wasm32-wasip2 \
         (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule {
        /// The file.
        path: PathBuf,
    },
    /// wasmtime cannot compile it.
    #[error("{path} is not a valid component: {source}")]
    Compile {
        /// The file.
        path: PathBuf,
        /// wasmtime's error.
        source: WasmError,
    },
    /// The compiler thread ended abnormally.
    #[error("compiling or inspecting {path} ended abnormally")]
    CompileTask {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: tokio::task::JoinError,
    },
    /// It exports neither role.
    #[error(
        "{path} exports neither {WORKFLOWS_EXPORT} nor {ACTIVITIES_EXPORT}: it is not a polyworker component"
    )]
    NoExports {
        /// The file.
        path: PathBuf,
    },
    /// It imports something the role's store does not provide.
    #[error("{path} cannot run as a {role} component: {source}")]
    Link {
        /// The file.
        path: PathBuf,
        /// The role it was linked for.
        role: Role,
        /// wasmtime's error (naming the import).
        source: WasmError,
    },
    /// Instantiating it, or asking it for its types, failed.
    #[error("{path}: calling {function} failed: {source}")]
    Guest {
        /// The file.
        path: PathBuf,
        /// The export called.
        function: &'static str,
        /// wasmtime's error.
        source: WasmError,
    },
    /// Its `workflow-versioning` names a type it does not have.
    #[error(
        "{path}: workflow-versioning declares a behaviour for {name:?}, which is not one of its workflow types"
    )]
    UnknownVersionedType {
        /// The file.
        path: PathBuf,
        /// The type named.
        name: String,
    },
}

/// A component's workflow role.
pub struct WorkflowRole {
    /// Linked for workflow stores.
    pub pre: InstancePre<WorkflowState>,
    /// Where the `workflows` export's functions are.
    pub indices: workflows::GuestIndices,
    /// The workflow types it implements.
    pub types: Vec<String>,
    /// Behaviours the component declares per workflow type (its optional
    /// `versioning` export); types not listed get the configured default.
    pub versioning: BTreeMap<String, VersioningBehavior>,
}

/// A component's activity role.
pub struct ActivityRole {
    /// Linked for activity stores.
    pub pre: InstancePre<ActivityState>,
    /// Where the `activities` export's functions are.
    pub indices: activities::GuestIndices,
    /// The activity types it implements.
    pub types: Vec<String>,
}

/// A loaded component.
pub struct Module {
    /// Where it came from (a file, or a store entry).
    pub path: PathBuf,
    /// sha256 of the component's bytes, hex.
    pub digest: String,
    /// Its workflow role, if it exports `workflows`.
    pub workflow: Option<WorkflowRole>,
    /// Its activity role, if it exports `activities`.
    pub activity: Option<ActivityRole>,
}

impl Module {
    /// The types the module implements in `role`.
    pub fn types(&self, role: Role) -> &[String] {
        match role {
            Role::Workflow => self.workflow.as_ref().map(|w| w.types.as_slice()),
            Role::Activity => self.activity.as_ref().map(|a| a.types.as_slice()),
        }
        .unwrap_or_default()
    }
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

/// Store data whose limiter the inspection store installs.
pub trait Limited: Send + 'static {
    /// The store's limiter.
    fn limiter(&mut self) -> &mut StoreLimiter;
}

/// Everything `load` needs that is shared by all components.
pub struct Loader {
    /// The engine components are compiled for.
    pub engine: Engine,
    /// The linker of workflow stores.
    pub workflow_linker: Linker<WorkflowState>,
    /// The linker of activity stores.
    pub activity_linker: Linker<ActivityState>,
}

/// One component being loaded, for errors that name it.
struct Loading<'a> {
    path: &'a Path,
    component: &'a Component,
}

impl Loading<'_> {
    fn has(&self, export: &str) -> bool {
        self.component.get_export_index(None, export).is_some()
    }

    fn link(&self, role: Role) -> impl Fn(wasmtime::Error) -> LoadError + '_ {
        move |e| LoadError::Link {
            path: self.path.to_path_buf(),
            role,
            source: WasmError(e),
        }
    }

    fn guest(&self, function: &'static str) -> impl Fn(wasmtime::Error) -> LoadError + '_ {
        move |e| LoadError::Guest {
            path: self.path.to_path_buf(),
            function,
            source: WasmError(e),
        }
    }

    /// Links the component for `role` and opens a store with no grants, to
    /// ask it what it implements.
    fn inspect_role<S: Limited>(
        &self,
        linker: &Linker<S>,
        role: Role,
        state: S,
    ) -> Result<(InstancePre<S>, Store<S>), LoadError> {
        let pre = linker
            .instantiate_pre(self.component)
            .map_err(self.link(role))?;
        let mut store = Store::new(linker.engine(), state);
        store.limiter(|s| s.limiter());
        store.set_epoch_deadline(ticks(INSPECTION_DEADLINE));
        Ok((pre, store))
    }

    /// Synchronous, like every workflow call: run it on a blocking thread.
    fn workflow_role(&self, linker: &Linker<WorkflowState>) -> Result<WorkflowRole, LoadError> {
        let limits = super::limits::StoreBounds::new(Role::Workflow, 64 << 20)
            .limiter(ModuleMeter::disabled());
        let state = WorkflowState::new(0, GuestLog::new(LogTags::default()), limits);
        let (pre, mut store) = self.inspect_role(linker, Role::Workflow, state)?;
        let instance = pre
            .instantiate(&mut store)
            .map_err(self.guest("instantiate"))?;
        let link = self.link(Role::Workflow);
        let indices = workflows::GuestIndices::new(&pre).map_err(&link)?;
        let types = indices
            .load(&mut store, &instance)
            .map_err(&link)?
            .call_workflow_types(&mut store)
            .map_err(self.guest("workflow-types"))?;
        let mut versioning = BTreeMap::new();
        if self.has(VERSIONING_EXPORT) {
            let v = versioning::GuestIndices::new(&pre)
                .and_then(|i| i.load(&mut store, &instance))
                .map_err(&link)?;
            for (name, behavior) in v
                .call_workflow_versioning(&mut store)
                .map_err(self.guest("workflow-versioning"))?
            {
                if !types.contains(&name) {
                    return Err(LoadError::UnknownVersionedType {
                        path: self.path.to_path_buf(),
                        name,
                    });
                }
                versioning.insert(name, behavior);
            }
        }
        Ok(WorkflowRole {
            pre,
            indices,
            types,
            versioning,
        })
    }

    async fn activity_role(
        &self,
        linker: &Linker<ActivityState>,
    ) -> Result<ActivityRole, LoadError> {
        let state = ActivityState::for_inspection();
        let (pre, mut store) = self.inspect_role(linker, Role::Activity, state)?;
        let instance = pre
            .instantiate_async(&mut store)
            .await
            .map_err(self.guest("instantiate"))?;
        let link = self.link(Role::Activity);
        let indices = activities::GuestIndices::new(&pre).map_err(&link)?;
        let types = indices
            .load(&mut store, &instance)
            .map_err(&link)?
            .call_activity_types(&mut store)
            .await
            .map_err(self.guest("activity-types"))?;
        Ok(ActivityRole {
            pre,
            indices,
            types,
        })
    }
}

impl Loader {
    /// Builds both roles' linkers on `engine`.
    pub fn new(engine: &Engine) -> Result<Loader, EngineError> {
        let linker = |role| {
            move |e| EngineError::Linker {
                role,
                source: WasmError(e),
            }
        };
        Ok(Loader {
            engine: engine.clone(),
            workflow_linker: super::workflow::linker(engine).map_err(linker(Role::Workflow))?,
            activity_linker: super::activity::linker(engine).map_err(linker(Role::Activity))?,
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
        let component = self.compile(path, bytes).await?;
        let loading = Loading {
            path,
            component: &component,
        };
        let (has_wf, has_act) = (
            loading.has(WORKFLOWS_EXPORT),
            loading.has(ACTIVITIES_EXPORT),
        );
        if !has_wf && !has_act {
            return Err(LoadError::NoExports {
                path: path.to_path_buf(),
            });
        }
        let workflow = match has_wf {
            true => Some(self.inspect_workflows(path, &component).await?),
            false => None,
        };
        let activity = match has_act {
            true => Some(loading.activity_role(&self.activity_linker).await?),
            false => None,
        };
        Ok(Arc::new(Module {
            path: path.to_path_buf(),
            digest,
            workflow,
            activity,
        }))
    }

    /// Asks the component for its workflow types, on a blocking thread: the
    /// call is synchronous wasm.
    async fn inspect_workflows(
        &self,
        path: &Path,
        component: &Component,
    ) -> Result<WorkflowRole, LoadError> {
        let (path_buf, component, linker) = (
            path.to_path_buf(),
            component.clone(),
            self.workflow_linker.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let loading = Loading {
                path: &path_buf,
                component: &component,
            };
            loading.workflow_role(&linker)
        })
        .await
        .map_err(|source| LoadError::CompileTask {
            path: path.to_path_buf(),
            source,
        })?
    }

    /// Compiles on a blocking thread; with the engine's cache, a component
    /// compiled before (same bytes, same engine settings) is read back from
    /// disk instead.
    async fn compile(&self, path: &Path, bytes: Vec<u8>) -> Result<Component, LoadError> {
        let engine = self.engine.clone();
        let size = bytes.len();
        let started = std::time::Instant::now();
        let component = tokio::task::spawn_blocking(move || Component::new(&engine, &bytes))
            .await
            .map_err(|source| LoadError::CompileTask {
                path: path.to_path_buf(),
                source,
            })?
            .map_err(|e| LoadError::Compile {
                path: path.to_path_buf(),
                source: WasmError(e),
            })?;
        tracing::debug!(
            path = %path.display(),
            bytes = size,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "component compiled or read from the compile cache"
        );
        Ok(component)
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
