//! The list of workflows and activities a component implements.

use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;

use serde::Serialize;

use crate::activity::ActivityContext;
use crate::failure::ActivityError;
use crate::payload::{FromPayloads, Payload};
use crate::workflow::{WorkflowContext, WorkflowError, WorkflowFn};

pub(crate) type ActivityFn =
    Rc<dyn Fn(ActivityContext, Vec<Payload>) -> Result<Option<Payload>, ActivityError>>;

/// Filled by the function given to [`crate::component!`].
#[derive(Default)]
pub struct Registry {
    pub(crate) workflows: BTreeMap<String, WorkflowFn>,
    pub(crate) activities: BTreeMap<String, ActivityFn>,
    pub(crate) versioning: BTreeMap<String, VersioningBehavior>,
}

/// How runs of a workflow type behave when a new version of the module
/// becomes current on its task queue (Temporal's Worker Versioning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersioningBehavior {
    /// A run stays on the version it started on until it ends.
    Pinned,
    /// A run moves to the current version at its next workflow task; guard
    /// changed code with `ctx.patched(..)`.
    AutoUpgrade,
}

impl Registry {
    /// Registers `f` as the workflow type `name`. Its arguments decode from
    /// the workflow's input payloads (a tuple, one element per argument).
    pub fn workflow<I, O, F, Fut>(&mut self, name: &str, f: F) -> &mut Self
    where
        I: FromPayloads + 'static,
        O: Serialize + 'static,
        F: Fn(WorkflowContext, I) -> Fut + 'static,
        Fut: Future<Output = Result<O, WorkflowError>> + 'static,
    {
        let f = Rc::new(f);
        self.workflows.insert(
            name.to_string(),
            Rc::new(move |ctx, args| {
                let f = f.clone();
                Box::pin(async move {
                    let input = I::from_payloads(&args)?;
                    let out = f(ctx, input).await?;
                    Ok(Some(Payload::json(&out)?))
                })
            }),
        );
        self
    }

    /// Declares how runs of the workflow type `name` move between module
    /// versions; undeclared types get the host's configured default.
    pub fn versioning(&mut self, name: &str, behavior: VersioningBehavior) -> &mut Self {
        self.versioning.insert(name.to_string(), behavior);
        self
    }

    /// Registers `f` as the activity type `name`.
    pub fn activity<I, O, F, Fut>(&mut self, name: &str, f: F) -> &mut Self
    where
        I: FromPayloads + 'static,
        O: Serialize + 'static,
        F: Fn(ActivityContext, I) -> Fut + 'static,
        Fut: Future<Output = Result<O, ActivityError>> + 'static,
    {
        self.activities.insert(
            name.to_string(),
            Rc::new(move |ctx, args| {
                let input = I::from_payloads(&args)?;
                let out = crate::activity::block_on(f(ctx, input))?;
                Ok(Some(Payload::json(&out)?))
            }),
        );
        self
    }
}
