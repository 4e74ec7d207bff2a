//! Implements the component's exports on top of the [`Registry`] the user's
//! `component!` invocation fills.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;

use crate::activity::ActivityContext;
use crate::failure::{ActivityError, Failure};
use crate::payload::Payload;
use crate::registry::Registry;
use crate::registry::VersioningBehavior;
use crate::wit::exports::polyworker::worker::versioning as wit_versioning;
use crate::wit::exports::polyworker::worker::{activities, workflows};
use crate::wit::polyworker::worker::activity_types::{
    ActivityError as WitActivityError, ActivityErrorDetail, ActivityInfo, ActivityOutcome,
};
use crate::wit::polyworker::worker::types::ApplicationFailure;
use crate::wit::polyworker::worker::workflow_types::{Activation, Command, WorkflowInfo};
use crate::workflow::Run;

/// Connects a component's registration function to the SDK.
pub trait Component: 'static {
    /// Fills the registry with the component's types.
    fn register(registry: &mut Registry);
}

thread_local! {
    static REGISTRY: RefCell<Option<Rc<Registry>>> = const { RefCell::new(None) };
}

fn registry<C: Component>() -> Rc<Registry> {
    REGISTRY.with(|r| {
        r.borrow_mut()
            .get_or_insert_with(|| {
                let mut reg = Registry::default();
                C::register(&mut reg);
                Rc::new(reg)
            })
            .clone()
    })
}

/// The type the generated export glue dispatches to.
pub struct Exports<C>(PhantomData<C>);

/// A workflow run as the `workflow-run` resource.
pub struct RunResource<C> {
    run: RefCell<Run>,
    _c: PhantomData<C>,
}

impl<C: Component> workflows::Guest for Exports<C> {
    type WorkflowRun = RunResource<C>;

    fn workflow_types() -> Vec<String> {
        registry::<C>().workflows.keys().cloned().collect()
    }
}

impl<C: Component> workflows::GuestWorkflowRun for RunResource<C> {
    fn create(info: WorkflowInfo) -> Result<workflows::WorkflowRun, Failure> {
        let reg = registry::<C>();
        let Some(f) = reg.workflows.get(&info.workflow_type) else {
            return Err(Failure::application(
                format!(
                    "this component has no workflow type {:?} (it has: {})",
                    info.workflow_type,
                    reg.workflows.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                "UnknownWorkflowType",
            ));
        };
        Ok(workflows::WorkflowRun::new(RunResource::<C> {
            run: RefCell::new(Run::new(info, f)),
            _c: PhantomData,
        }))
    }

    fn activate(&self, activation: Activation) -> Result<Vec<Command>, Failure> {
        self.run.borrow_mut().activate(activation)
    }
}

impl<C: Component> wit_versioning::Guest for Exports<C> {
    fn workflow_versioning() -> Vec<(String, wit_versioning::VersioningBehavior)> {
        registry::<C>()
            .versioning
            .iter()
            .map(|(name, b)| {
                let b = match b {
                    VersioningBehavior::Pinned => wit_versioning::VersioningBehavior::Pinned,
                    VersioningBehavior::AutoUpgrade => {
                        wit_versioning::VersioningBehavior::AutoUpgrade
                    }
                };
                (name.clone(), b)
            })
            .collect()
    }
}

impl<C: Component> activities::Guest for Exports<C> {
    fn activity_types() -> Vec<String> {
        registry::<C>().activities.keys().cloned().collect()
    }

    fn execute(
        info: ActivityInfo,
        input: Vec<Payload>,
    ) -> Result<ActivityOutcome, WitActivityError> {
        let reg = registry::<C>();
        let Some(f) = reg.activities.get(&info.activity_type) else {
            let known = reg
                .activities
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            return Err(to_wit(ActivityError::non_retryable(
                format!(
                    "this component has no activity type {:?} (it has: {known})",
                    info.activity_type
                ),
                "UnknownActivityType",
            )));
        };
        match f(ActivityContext::new(info), input) {
            Ok(p) => Ok(ActivityOutcome::Completed(p)),
            Err(ActivityError::CompleteAsync) => Ok(ActivityOutcome::Pending),
            Err(e) => Err(to_wit(e)),
        }
    }
}

fn to_wit(e: ActivityError) -> WitActivityError {
    match e {
        ActivityError::Failed {
            message,
            error_type,
            non_retryable,
            details,
        } => WitActivityError::Failed(ActivityErrorDetail {
            message,
            info: ApplicationFailure {
                type_: error_type,
                non_retryable,
                details,
                next_retry_delay: None,
            },
        }),
        ActivityError::Cancelled { details } => WitActivityError::Cancelled(details),
        ActivityError::CompleteAsync => WitActivityError::Failed(ActivityErrorDetail {
            message: "CompleteAsync is not an error".into(),
            info: ApplicationFailure {
                type_: "SdkBug".into(),
                non_retryable: true,
                details: Vec::new(),
                next_retry_delay: None,
            },
        }),
    }
}
