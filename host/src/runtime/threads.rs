//! The workflow threads: where every synchronous workflow call runs.
//!
//! A workflow call is plain synchronous wasm (no fiber, so a parked run
//! keeps no stack of its own). It must therefore run on a thread that may
//! block: never a Tokio worker, where a looping guest would stall every
//! other task of the host for up to its deadline. The pool starts threads
//! on demand up to `max` (the host's workflow-task slots, so no activation
//! ever waits behind a looping guest for a thread), keeps `warm` of them
//! (the CPU count) and retires the rest after `IDLE` (10 s) without work.
//!
//! A call that runs long (a looping guest, until its deadline) must not
//! take the CPU from the short calls of other runs: past [`LONG_CALL`] the
//! call's thread lowers its own priority ([`demote_current_thread`], nice
//! 19), so the scheduler runs every other workflow thread first, and the
//! thread retires when the call ends (an unprivileged process cannot raise a
//! priority back; the next call gets a fresh thread).
//!
//! Each thread enters the host's Tokio runtime, so the few wasmtime-wasi
//! calls that complete a ready future (`blocking-write-and-flush` on the
//! captured stdout) do so on it rather than on a hidden runtime of their own.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long a thread above the warm count waits for work before it exits.
const IDLE: Duration = Duration::from_secs(10);

/// Stack of a workflow thread: wasm runs on it, so it must hold the
/// engine's `max_wasm_stack` (1 MiB) plus the host frames around a call.
/// Only touched pages are resident.
const STACK_BYTES: usize = 4 << 20;

/// How long a call runs before its thread yields priority to the others.
pub const LONG_CALL: Duration = Duration::from_millis(100);

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// On a workflow thread: whether it may demote itself, and whether it has.
    static ROLE: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Lowers the priority of the calling workflow thread for the rest of its
/// life (no-op on other threads, and off Linux). Called from a long call's
/// epoch callback.
pub fn demote_current_thread() {
    ROLE.with(|r| {
        if r.get() == Some(false) {
            r.set(Some(true));
            lower_priority();
        }
    });
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux the nice value is per thread: `None` is the calling thread.
    if let Err(e) = rustix::process::setpriority_process(None, 19) {
        tracing::debug!(error = %e, "cannot lower a workflow thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

fn demoted() -> bool {
    ROLE.with(|r| r.get() == Some(true))
}

/// A workflow call could not run: its thread panicked (a host bug) or the
/// pool could not start a thread.
#[derive(Debug, thiserror::Error)]
pub enum ThreadError {
    /// The call panicked; the run's store is lost with it.
    #[error("the workflow thread panicked while running workflow code")]
    Panicked,
    /// No thread could be started and none is free.
    #[error("cannot start a workflow thread")]
    Spawn(#[source] std::io::Error),
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    threads: usize,
    idle: usize,
    /// Threads started so far, to name each one.
    started: usize,
}

struct Shared {
    state: Mutex<State>,
    ready: Condvar,
    max: usize,
    warm: usize,
    runtime: Option<tokio::runtime::Handle>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pool of workflow threads one host shares across its queues.
#[derive(Clone)]
pub struct WorkflowThreads(Arc<Shared>);

impl WorkflowThreads {
    /// At most `max` threads (at least one), `warm` of them kept when idle.
    /// Threads enter the Tokio runtime current at this call, if any.
    pub fn new(max: usize, warm: usize) -> WorkflowThreads {
        let max = max.max(1);
        WorkflowThreads(Arc::new(Shared {
            state: Mutex::default(),
            ready: Condvar::new(),
            max,
            warm: warm.min(max),
            runtime: tokio::runtime::Handle::try_current().ok(),
        }))
    }

    /// Sized for `workflow_tasks` concurrent workflow tasks on this machine.
    pub fn for_tasks(workflow_tasks: usize) -> WorkflowThreads {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        WorkflowThreads::new(workflow_tasks.max(cpus), cpus)
    }

    /// Threads running now (busy or idle), for tests and metrics.
    pub fn threads(&self) -> usize {
        self.0.lock().threads
    }

    /// Queues `f` for a workflow thread at once, and returns the wait for
    /// its result, which holds no thread of the caller's.
    pub fn run<R, F>(&self, f: F) -> impl Future<Output = Result<R, ThreadError>> + use<R, F>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let submitted = self.submit(Box::new(move || {
            let _ = tx.send(f());
        }));
        async move {
            submitted?;
            // A dropped sender means the job unwound.
            rx.await.map_err(|_| ThreadError::Panicked)
        }
    }

    fn submit(&self, job: Job) -> Result<(), ThreadError> {
        let mut s = self.0.lock();
        s.jobs.push_back(job);
        if s.idle >= s.jobs.len() || s.threads >= self.0.max {
            self.0.ready.notify_one();
            return Ok(());
        }
        s.threads += 1;
        s.started += 1;
        let n = s.started;
        drop(s);
        let shared = self.0.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("polyworker-workflow-{n}"))
            .stack_size(STACK_BYTES)
            .spawn(move || work(&shared));
        if let Err(e) = spawned {
            let mut s = self.0.lock();
            s.threads -= 1;
            if s.threads == 0 {
                s.jobs.clear();
                return Err(ThreadError::Spawn(e));
            }
        }
        Ok(())
    }
}

fn work(shared: &Shared) {
    let _runtime = shared.runtime.as_ref().map(|h| h.enter());
    ROLE.with(|r| r.set(Some(false)));
    let mut s = shared.lock();
    loop {
        if let Some(job) = s.jobs.pop_front() {
            drop(s);
            // A panic drops the job's result sender, which the caller sees
            // as `Panicked`; the thread itself carries on.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            s = shared.lock();
            if demoted() {
                s.threads -= 1;
                // A queued job must not wait for this thread's successor.
                if !s.jobs.is_empty() {
                    shared.ready.notify_one();
                }
                return;
            }
            continue;
        }
        s.idle += 1;
        let (next, timeout) = shared
            .ready
            .wait_timeout_while(s, IDLE, |s| s.jobs.is_empty())
            .unwrap_or_else(|e| e.into_inner());
        s = next;
        s.idle -= 1;
        if timeout.timed_out() && s.jobs.is_empty() && s.threads > shared.warm {
            s.threads -= 1;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_off_the_runtime_and_survives_a_panic() {
        let pool = WorkflowThreads::new(2, 1);
        let name = pool
            .run(|| {
                std::thread::current()
                    .name()
                    .unwrap_or_default()
                    .to_string()
            })
            .await
            .unwrap();
        assert!(name.starts_with("polyworker-workflow-"), "{name}");
        assert!(matches!(
            pool.run(|| panic!("boom")).await,
            Err(ThreadError::Panicked)
        ));
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
        assert!(pool.threads() <= 2);
    }

    #[tokio::test]
    async fn a_blocked_thread_does_not_hold_up_the_next_call() {
        let pool = WorkflowThreads::new(2, 2);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let blocked = tokio::spawn(pool.run(move || wait.recv().ok()));
        // The second call gets the second thread while the first blocks.
        assert_eq!(pool.run(|| 1).await.unwrap(), 1);
        release.send(()).unwrap();
        assert_eq!(blocked.await.unwrap().unwrap(), Some(()));
        assert_eq!(pool.threads(), 2);
    }

    #[tokio::test]
    async fn past_max_calls_queue_instead_of_spawning() {
        let pool = WorkflowThreads::new(1, 1);
        let calls: Vec<_> = (0..8).map(|i| pool.run(move || i * 2)).collect();
        let results = futures::future::join_all(calls).await;
        let got: Vec<i32> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(got, (0..8).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(pool.threads(), 1);
    }

    #[tokio::test]
    async fn a_demoted_thread_runs_at_low_priority_and_retires_after_its_call() {
        let pool = WorkflowThreads::new(2, 2);
        let name = || {
            std::thread::current()
                .name()
                .unwrap_or_default()
                .to_string()
        };
        let (demoted_on, nice) = pool
            .run(move || {
                demote_current_thread();
                #[cfg(target_os = "linux")]
                let nice = rustix::process::getpriority_process(None).unwrap_or(0);
                #[cfg(not(target_os = "linux"))]
                let nice = 19;
                (name(), nice)
            })
            .await
            .unwrap();
        assert_eq!(nice, 19);
        for _ in 0..4 {
            let next = pool.run(name).await.unwrap();
            assert_ne!(next, demoted_on, "the demoted thread does not serve again");
        }
        demote_current_thread(); // not a workflow thread: no effect
        #[cfg(target_os = "linux")]
        assert_eq!(rustix::process::getpriority_process(None).unwrap_or(0), 0);
    }
}
