//! Update handlers: a validator that may reject an update before it is
//! accepted, and an async handler whose result is the update's result.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde::Serialize;

use super::context::WorkflowContext;
use crate::failure::Failure;
use crate::payload::{FromPayloads, Payload};

pub(crate) type UpdateFuture = Pin<Box<dyn Future<Output = Result<Payload, Failure>>>>;
type Validator = Rc<dyn Fn(&[Payload]) -> Result<(), Failure>>;
type Handler = Rc<dyn Fn(WorkflowContext, Vec<Payload>) -> UpdateFuture>;

/// A registered update: its validator and handler, type-erased.
#[derive(Clone)]
pub(crate) struct UpdateHandler {
    pub validator: Option<Validator>,
    pub handler: Handler,
}

impl WorkflowContext {
    /// Handles updates named `name`: `handler` runs as part of the workflow
    /// (it may await activities and timers) and its value answers the caller.
    pub fn handle_update<I, O, F, Fut>(&self, name: &str, handler: F)
    where
        I: FromPayloads + 'static,
        O: Serialize + 'static,
        F: Fn(WorkflowContext, I) -> Fut + 'static,
        Fut: Future<Output = Result<O, Failure>> + 'static,
    {
        self.register_update(name, None, handler);
    }

    /// Like [`WorkflowContext::handle_update`], with a validator that may
    /// reject an update before it is accepted (and recorded in history).
    pub fn handle_update_with_validator<I, O, V, F, Fut>(
        &self,
        name: &str,
        validator: V,
        handler: F,
    ) where
        I: FromPayloads + 'static,
        O: Serialize + 'static,
        V: Fn(&I) -> Result<(), Failure> + 'static,
        F: Fn(WorkflowContext, I) -> Fut + 'static,
        Fut: Future<Output = Result<O, Failure>> + 'static,
    {
        let validator: Validator = Rc::new(move |args| {
            let input = I::from_payloads(args)?;
            validator(&input)
        });
        self.register_update(name, Some(validator), handler);
    }

    fn register_update<I, O, F, Fut>(&self, name: &str, validator: Option<Validator>, handler: F)
    where
        I: FromPayloads + 'static,
        O: Serialize + 'static,
        F: Fn(WorkflowContext, I) -> Fut + 'static,
        Fut: Future<Output = Result<O, Failure>> + 'static,
    {
        let handler = Rc::new(handler);
        let erased: Handler = Rc::new(move |ctx, args| {
            let handler = handler.clone();
            Box::pin(async move {
                let input = I::from_payloads(&args)?;
                let out = handler(ctx, input).await?;
                Ok(Payload::json(&out)?)
            })
        });
        self.state.borrow_mut().updates.insert(
            name.to_string(),
            UpdateHandler {
                validator,
                handler: erased,
            },
        );
    }
}
