//! The state one workflow run shares between its executor and its futures.
//!
//! Every command the workflow issues gets a sequence number from the counter
//! of its kind; the resolution job with that number fills the slot its future
//! is waiting on. All of it is single-threaded and deterministic: the order of
//! commands depends only on the order of jobs and the workflow's code.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::task::Waker;

use crate::payload::Payload;
use crate::wit::polyworker::worker::types::Failure;
use crate::wit::polyworker::worker::workflow_types::{
    ActivityResolution, ChildResolution, ChildStartResolution, Command, WorkflowInfo,
};

/// Kinds of commands that are resolved later; each has its own sequence counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SeqKind {
    Timer,
    Activity,
    LocalActivity,
    ChildStart,
    Child,
    SignalExternal,
    CancelExternal,
}

/// What a resolution job delivered.
#[derive(Debug)]
pub(crate) enum Resolution {
    Timer,
    Activity(ActivityResolution),
    ChildStart(ChildStartResolution),
    Child(ChildResolution),
    External(Option<Failure>),
}

#[derive(Default)]
struct Slot {
    result: Option<Resolution>,
    waker: Option<Waker>,
}

type QueryHandler = Rc<dyn Fn(&[Payload]) -> Result<Payload, Failure>>;

pub(crate) struct RunState {
    pub info: WorkflowInfo,
    pub now_nanos: u64,
    pub replaying: bool,
    pub history_length: u32,
    pub continue_as_new_suggested: bool,
    pub commands: Vec<Command>,
    counters: HashMap<SeqKind, u32>,
    slots: HashMap<(SeqKind, u32), Slot>,
    signals: HashMap<String, VecDeque<Vec<Payload>>>,
    signal_wakers: HashMap<String, Vec<Waker>>,
    pub queries: HashMap<String, QueryHandler>,
    pub updates: HashMap<String, super::update::UpdateHandler>,
    pub notified_patches: HashSet<String>,
    pub patch_memo: HashMap<String, bool>,
    pub cancel_requested: Option<String>,
    cancel_wakers: Vec<Waker>,
}

pub(crate) type SharedState = Rc<RefCell<RunState>>;

impl RunState {
    pub fn new(info: WorkflowInfo) -> Self {
        RunState {
            now_nanos: info.start_time.unwrap_or(0),
            info,
            replaying: false,
            history_length: 0,
            continue_as_new_suggested: false,
            commands: Vec::new(),
            counters: HashMap::new(),
            slots: HashMap::new(),
            signals: HashMap::new(),
            signal_wakers: HashMap::new(),
            queries: HashMap::new(),
            updates: HashMap::new(),
            notified_patches: HashSet::new(),
            patch_memo: HashMap::new(),
            cancel_requested: None,
            cancel_wakers: Vec::new(),
        }
    }

    /// Allocates the next sequence number of `kind` (starting at 1, as core expects).
    pub fn next_seq(&mut self, kind: SeqKind) -> u32 {
        let c = self.counters.entry(kind).or_insert(0);
        *c += 1;
        self.slots.insert((kind, *c), Slot::default());
        *c
    }

    /// Opens a slot for a second resolution under a number of another kind
    /// (a child workflow's start and its result share one sequence number).
    pub fn register_seq(&mut self, kind: SeqKind, seq: u32) {
        self.slots.insert((kind, seq), Slot::default());
    }

    /// Stores a resolution and wakes its future. Returns false when no command
    /// with that sequence number was issued: a history that does not match.
    pub fn resolve(&mut self, kind: SeqKind, seq: u32, r: Resolution) -> bool {
        match self.slots.get_mut(&(kind, seq)) {
            Some(slot) => {
                slot.result = Some(r);
                if let Some(w) = slot.waker.take() {
                    w.wake();
                }
                true
            }
            None => false,
        }
    }

    /// Takes a resolution if it arrived, or remembers the waker.
    pub fn take_resolution(
        &mut self,
        kind: SeqKind,
        seq: u32,
        waker: &Waker,
    ) -> Option<Resolution> {
        let slot = self.slots.get_mut(&(kind, seq))?;
        match slot.result.take() {
            Some(r) => {
                self.slots.remove(&(kind, seq));
                Some(r)
            }
            None => {
                slot.waker = Some(waker.clone());
                None
            }
        }
    }

    pub fn push_signal(&mut self, name: String, input: Vec<Payload>) {
        if let Some(wakers) = self.signal_wakers.remove(&name) {
            wakers.into_iter().for_each(Waker::wake);
        }
        self.signals.entry(name).or_default().push_back(input);
    }

    pub fn pop_signal(&mut self, name: &str, waker: &Waker) -> Option<Vec<Payload>> {
        if let Some(v) = self.signals.get_mut(name).and_then(VecDeque::pop_front) {
            return Some(v);
        }
        self.signal_wakers
            .entry(name.to_string())
            .or_default()
            .push(waker.clone());
        None
    }

    pub fn request_cancel(&mut self, reason: String) {
        self.cancel_requested = Some(reason);
        self.cancel_wakers.drain(..).for_each(Waker::wake);
    }

    pub fn wait_cancel(&mut self, waker: &Waker) -> bool {
        if self.cancel_requested.is_some() {
            return true;
        }
        self.cancel_wakers.push(waker.clone());
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct Flag(std::sync::atomic::AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn info() -> WorkflowInfo {
        WorkflowInfo {
            workflow_type: "T".into(),
            workflow_id: "id".into(),
            run_id: "run".into(),
            namespace: "default".into(),
            task_queue: "q".into(),
            arguments: vec![],
            headers: vec![],
            randomness_seed: 1,
            attempt: 1,
            first_execution_run_id: "run".into(),
            continued_from_run_id: None,
            parent: None,
            cron_schedule: None,
            workflow_execution_timeout: None,
            workflow_run_timeout: None,
            workflow_task_timeout: None,
            start_time: Some(5),
            last_completion_result: vec![],
        }
    }

    #[test]
    fn sequence_numbers_start_at_one_per_kind() {
        let mut s = RunState::new(info());
        assert_eq!(s.next_seq(SeqKind::Timer), 1);
        assert_eq!(s.next_seq(SeqKind::Timer), 2);
        assert_eq!(s.next_seq(SeqKind::Activity), 1);
    }

    #[test]
    fn resolution_wakes_waiter_and_unknown_seq_is_reported() {
        let mut s = RunState::new(info());
        let seq = s.next_seq(SeqKind::Timer);
        let flag = Arc::new(Flag(Default::default()));
        let waker = Waker::from(flag.clone());
        assert!(s.take_resolution(SeqKind::Timer, seq, &waker).is_none());
        assert!(s.resolve(SeqKind::Timer, seq, Resolution::Timer));
        assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst));
        assert!(matches!(
            s.take_resolution(SeqKind::Timer, seq, &waker),
            Some(Resolution::Timer)
        ));
        assert!(!s.resolve(SeqKind::Timer, 99, Resolution::Timer));
    }

    #[test]
    fn signals_are_buffered_until_received() {
        let mut s = RunState::new(info());
        let waker = Waker::from(Arc::new(Flag(Default::default())));
        s.push_signal("go".into(), vec![]);
        assert!(s.pop_signal("go", &waker).is_some());
        assert!(s.pop_signal("go", &waker).is_none());
    }
}
