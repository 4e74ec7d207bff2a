//! Drives one workflow run: applies an activation's jobs, polls the workflow
//! until it blocks, and collects the commands it produced.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use super::WorkflowError;
use super::context::WorkflowContext;
use super::state::{Resolution, RunState, SeqKind};
use crate::failure::Failure;
use crate::payload::Payload;
use crate::wit::polyworker::worker::workflow_types::{
    Activation, Command, ContinueAsNew, Job, Query, QueryAnswer, RespondToQuery, UpdateOutcome,
    UpdateResponse, WorkflowInfo,
};

pub(crate) type WorkflowFuture =
    Pin<Box<dyn Future<Output = Result<Option<Payload>, WorkflowError>>>>;

/// A registered workflow function, type-erased.
pub(crate) type WorkflowFn = Rc<dyn Fn(WorkflowContext, Vec<Payload>) -> WorkflowFuture>;

struct WakeFlag(AtomicBool);

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// One workflow run inside the guest.
pub struct Run {
    ctx: WorkflowContext,
    main: Option<WorkflowFuture>,
    flag: Arc<WakeFlag>,
    waker: Waker,
}

/// A poll loop can only spin this often without a new job: a workflow that
/// keeps waking itself is stuck, and the host's deadline would end it anyway.
const MAX_POLLS_PER_ACTIVATION: usize = 100_000;

impl Run {
    pub(crate) fn new(info: WorkflowInfo, f: &WorkflowFn) -> Self {
        let args = info.arguments.clone();
        let ctx = WorkflowContext {
            state: Rc::new(RefCell::new(RunState::new(info))),
        };
        let main = f(ctx.clone(), args);
        let flag = Arc::new(WakeFlag(AtomicBool::new(true)));
        Run {
            ctx,
            main: Some(main),
            waker: Waker::from(flag.clone()),
            flag,
        }
    }

    pub(crate) fn activate(&mut self, activation: Activation) -> Result<Vec<Command>, Failure> {
        let mut queries = Vec::new();
        {
            let mut s = self.ctx.state.borrow_mut();
            s.now_nanos = activation.timestamp;
            s.replaying = activation.is_replaying;
            s.history_length = activation.history_length;
            s.continue_as_new_suggested = activation.continue_as_new_suggested;
        }
        for job in activation.jobs {
            self.apply(job, &mut queries)?;
        }
        self.poll_main()?;
        for q in queries {
            self.answer_query(q);
        }
        Ok(std::mem::take(&mut self.ctx.state.borrow_mut().commands))
    }

    fn apply(&mut self, job: Job, queries: &mut Vec<Query>) -> Result<(), Failure> {
        let mut s = self.ctx.state.borrow_mut();
        let (kind, seq, r) = match job {
            Job::FireTimer(seq) => (SeqKind::Timer, seq, Resolution::Timer),
            Job::ResolveActivity(r) => {
                let kind = if r.is_local {
                    SeqKind::LocalActivity
                } else {
                    SeqKind::Activity
                };
                (kind, r.seq, Resolution::Activity(r.resolution))
            }
            Job::ResolveChildStart(r) => (
                SeqKind::ChildStart,
                r.seq,
                Resolution::ChildStart(r.resolution),
            ),
            Job::ResolveChild(r) => (SeqKind::Child, r.seq, Resolution::Child(r.resolution)),
            Job::ResolveSignalExternal(r) => (
                SeqKind::SignalExternal,
                r.seq,
                Resolution::External(r.failure),
            ),
            Job::ResolveCancelExternal(r) => (
                SeqKind::CancelExternal,
                r.seq,
                Resolution::External(r.failure),
            ),
            Job::Signal(sig) => {
                s.push_signal(sig.name, sig.input);
                return Ok(());
            }
            Job::Query(q) => {
                queries.push(q);
                return Ok(());
            }
            Job::Cancel(reason) => {
                s.request_cancel(reason);
                return Ok(());
            }
            Job::NotifyHasPatch(id) => {
                s.notified_patches.insert(id);
                return Ok(());
            }
            Job::Update(u) => {
                // Update handlers are not part of this SDK yet: reject, so the
                // caller gets an answer instead of a hanging update.
                s.commands.push(Command::UpdateResponse(UpdateResponse {
                    protocol_instance_id: u.protocol_instance_id,
                    outcome: UpdateOutcome::Rejected(Failure::application(
                        format!("workflow has no update handler named {:?}", u.name),
                        "UnknownUpdate",
                    )),
                }));
                return Ok(());
            }
            Job::UpdateRandomSeed(_) => return Ok(()),
        };
        if s.resolve(kind, seq, r) {
            Ok(())
        } else {
            Err(Failure::application(
                format!("history resolves {kind:?} #{seq}, which this workflow never started"),
                "NondeterminismError",
            ))
        }
    }

    fn poll_main(&mut self) -> Result<(), Failure> {
        let mut polls = 0;
        while self.flag.0.swap(false, Ordering::SeqCst) {
            let Some(main) = self.main.as_mut() else {
                return Ok(());
            };
            polls += 1;
            if polls > MAX_POLLS_PER_ACTIVATION {
                return Err(Failure::application(
                    "workflow keeps waking itself without making progress",
                    "WorkflowBusyLoop",
                ));
            }
            let mut cx = Context::from_waker(&self.waker);
            if let Poll::Ready(result) = main.as_mut().poll(&mut cx) {
                self.main = None;
                let command = match result {
                    Ok(payload) => Command::CompleteWorkflow(payload),
                    Err(WorkflowError::Failed(f)) => Command::FailWorkflow(f),
                    Err(WorkflowError::Cancelled) => Command::CancelWorkflow,
                    Err(WorkflowError::ContinueAsNew(c)) => Command::ContinueAsNew(*c),
                };
                self.ctx.state.borrow_mut().commands.push(command);
            }
        }
        // A job may have woken the run since the flag was cleared, so the
        // next activation polls first thing.
        self.flag.0.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn answer_query(&mut self, q: Query) {
        let handler = self.ctx.state.borrow().queries.get(&q.query_type).cloned();
        let answer = match handler {
            Some(h) => match h(&q.arguments) {
                Ok(p) => QueryAnswer::Succeeded(p),
                Err(f) => QueryAnswer::Failed(f),
            },
            None => QueryAnswer::Failed(Failure::application(
                format!("workflow has no query handler named {:?}", q.query_type),
                "UnknownQuery",
            )),
        };
        self.ctx
            .state
            .borrow_mut()
            .commands
            .push(Command::RespondToQuery(RespondToQuery {
                query_id: q.query_id,
                answer,
            }));
    }
}

/// Builds a continue-as-new request for the same workflow type and queue.
pub fn continue_as_new(arguments: Vec<Payload>) -> WorkflowError {
    WorkflowError::ContinueAsNew(Box::new(ContinueAsNew {
        workflow_type: String::new(),
        task_queue: String::new(),
        arguments,
        workflow_run_timeout: None,
        workflow_task_timeout: None,
        memo: Vec::new(),
        headers: Vec::new(),
        retry_policy: None,
    }))
}
