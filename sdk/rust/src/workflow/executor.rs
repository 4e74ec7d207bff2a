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
    Activation, Command, ContinueAsNew, Job, Query, QueryAnswer, RespondToQuery, Update,
    UpdateOutcome, UpdateResponse, WorkflowInfo,
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
    /// Running update handlers, polled after `main`, in the order accepted.
    tasks: Vec<Pin<Box<dyn Future<Output = ()>>>>,
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
            tasks: Vec::new(),
            waker: Waker::from(flag.clone()),
            flag,
        }
    }

    pub(crate) fn activate(&mut self, activation: Activation) -> Result<Vec<Command>, Failure> {
        let mut queries = Vec::new();
        let mut updates = Vec::new();
        {
            let mut s = self.ctx.state.borrow_mut();
            s.now_nanos = activation.timestamp;
            s.replaying = activation.is_replaying;
            s.history_length = activation.history_length;
            s.continue_as_new_suggested = activation.continue_as_new_suggested;
        }
        for job in activation.jobs {
            match job {
                Job::Update(u) => updates.push(u),
                job => self.apply(job, &mut queries)?,
            }
        }
        self.poll_main()?;
        // Updates go after the first poll, so that handlers the workflow
        // registers when it starts see updates delivered with its start.
        if !updates.is_empty() {
            for u in updates {
                self.start_update(u);
            }
            self.flag.0.store(true, Ordering::SeqCst);
            self.poll_main()?;
        }
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
            Job::Update(_) => return Ok(()),
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
            polls += 1;
            let mut cx = Context::from_waker(&self.waker);
            self.tasks
                .retain_mut(|t| t.as_mut().poll(&mut cx).is_pending());
            let Some(main) = self.main.as_mut() else {
                if self.tasks.is_empty() {
                    return Ok(());
                }
                continue;
            };
            if polls > MAX_POLLS_PER_ACTIVATION {
                return Err(Failure::application(
                    "workflow keeps waking itself without making progress",
                    "WorkflowBusyLoop",
                ));
            }
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

    /// Validates (unless replaying), accepts and starts one update.
    fn start_update(&mut self, u: Update) {
        let handler = self.ctx.state.borrow().updates.get(&u.name).cloned();
        let respond = |state: &super::state::SharedState, id: &str, outcome| {
            state
                .borrow_mut()
                .commands
                .push(Command::UpdateResponse(UpdateResponse {
                    protocol_instance_id: id.to_string(),
                    outcome,
                }));
        };
        let Some(h) = handler else {
            respond(
                &self.ctx.state,
                &u.protocol_instance_id,
                UpdateOutcome::Rejected(Failure::application(
                    format!("workflow has no update handler named {:?}", u.name),
                    "UnknownUpdate",
                )),
            );
            return;
        };
        if u.run_validator
            && let Some(v) = &h.validator
            && let Err(f) = v(&u.input)
        {
            respond(
                &self.ctx.state,
                &u.protocol_instance_id,
                UpdateOutcome::Rejected(f),
            );
            return;
        }
        respond(
            &self.ctx.state,
            &u.protocol_instance_id,
            UpdateOutcome::Accepted,
        );
        let state = self.ctx.state.clone();
        let fut = (h.handler)(self.ctx.clone(), u.input);
        let id = u.protocol_instance_id;
        self.tasks.push(Box::pin(async move {
            let outcome = match fut.await {
                Ok(p) => UpdateOutcome::Completed(p),
                Err(f) => UpdateOutcome::Rejected(f),
            };
            respond(&state, &id, outcome);
        }));
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
