//! Guest logs: the `log` imports and stdout/stderr, forwarded to `tracing`
//! with the task's tags, and dropped while a workflow replays.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use super::bindings::polyworker::worker::types::LogLevel;
use super::rate::Rate;

/// What every guest log line is tagged with.
#[derive(Debug, Clone, Default)]
pub struct LogTags {
    /// The tenant.
    pub tenant: String,
    /// The tenant's log-line rate, shared by all of its guests: lines past
    /// it are dropped and counted, never buffered.
    pub lines: Option<Arc<Rate>>,
    /// The namespace.
    pub namespace: String,
    /// The task queue.
    pub task_queue: String,
    /// The workflow type (the calling workflow's, for activities).
    pub workflow_type: String,
    /// The workflow id.
    pub workflow_id: String,
    /// The run id.
    pub run_id: String,
    /// Set for activities.
    pub activity_type: Option<String>,
    /// The activity attempt, for activities.
    pub attempt: Option<u32>,
    /// The sha256 of the component running the task.
    pub module_digest: String,
}

/// A cheap handle shared by a store's log import and its stdio streams.
#[derive(Debug, Clone)]
pub struct GuestLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    replaying: AtomicBool,
    tags: LogTags,
}

macro_rules! emit {
    ($lvl:expr, $t:expr, $msg:expr) => {
        tracing::event!(
            target: "guest",
            $lvl,
            tenant = %$t.tenant,
            namespace = %$t.namespace,
            task_queue = %$t.task_queue,
            workflow_type = %$t.workflow_type,
            workflow_id = %$t.workflow_id,
            run_id = %$t.run_id,
            activity_type = $t.activity_type.as_deref(),
            attempt = $t.attempt,
            module_digest = %$t.module_digest,
            "{}",
            $msg
        )
    };
}

impl GuestLog {
    /// A log whose lines carry `tags`.
    pub fn new(tags: LogTags) -> Self {
        GuestLog {
            inner: Arc::new(Inner {
                replaying: AtomicBool::new(false),
                tags,
            }),
        }
    }

    /// Workflows call this before each activation.
    pub fn set_replaying(&self, replaying: bool) {
        self.inner.replaying.store(replaying, Ordering::Relaxed);
    }

    /// Whether lines are dropped now.
    pub fn is_replaying(&self) -> bool {
        self.inner.replaying.load(Ordering::Relaxed)
    }

    /// Emits one line, unless replaying.
    pub fn log(&self, level: LogLevel, message: &str) {
        if self.is_replaying() {
            return;
        }
        let t = &self.inner.tags;
        if let Some(rate) = &t.lines
            && !rate.try_take()
        {
            return;
        }
        match level {
            LogLevel::Trace => emit!(tracing::Level::TRACE, t, message),
            LogLevel::Debug => emit!(tracing::Level::DEBUG, t, message),
            LogLevel::Info => emit!(tracing::Level::INFO, t, message),
            LogLevel::Warn => emit!(tracing::Level::WARN, t, message),
            LogLevel::Error => emit!(tracing::Level::ERROR, t, message),
        }
    }

    /// A WASI stdout/stderr that logs each line at `level`.
    pub fn stream(&self, level: LogLevel) -> GuestOutput {
        GuestOutput {
            log: self.clone(),
            level,
        }
    }
}

/// stdout or stderr of a guest.
pub struct GuestOutput {
    log: GuestLog,
    level: LogLevel,
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl GuestOutput {
    fn writer(&self) -> LineWriter {
        LineWriter {
            log: self.log.clone(),
            level: self.level,
            pending: Mutex::new(Vec::new()),
        }
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.writer())
    }

    /// The WASIp2 stream writes straight into the log, synchronously:
    /// wasmtime-wasi's default would hand each write to a Tokio task.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.writer())
    }
}

/// Lines longer than this are logged in pieces, so a guest cannot grow the
/// buffer without bound by never writing a newline.
const MAX_LINE: usize = 16 * 1024;

struct LineWriter {
    log: GuestLog,
    level: LogLevel,
    pending: Mutex<Vec<u8>>,
}

impl LineWriter {
    fn emit(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        self.log.log(self.level, text.trim_end_matches('\r'));
    }

    /// Logs every complete line of `buf` and keeps the rest, up to
    /// [`MAX_LINE`] bytes.
    fn push(&self, buf: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.extend_from_slice(buf);
        while let Some(i) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            self.emit(&line[..line.len() - 1]);
        }
        if pending.len() > MAX_LINE {
            let line = std::mem::take(&mut *pending);
            self.emit(&line);
        }
    }

    fn finish(&self) {
        let rest = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if !rest.is_empty() {
            self.emit(&rest);
        }
    }
}

impl Drop for LineWriter {
    /// A last line without a newline is logged when the stream closes.
    fn drop(&mut self) {
        self.finish();
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LineWriter {
    /// Always ready: a write goes straight to the log.
    async fn ready(&mut self) {}
}

impl OutputStream for LineWriter {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(MAX_LINE)
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.finish();
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tokio::io::AsyncWriteExt;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn captured<F: FnOnce()>(f: F) -> String {
        let out = Captured::default();
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    fn tags() -> LogTags {
        LogTags {
            task_queue: "q".into(),
            workflow_type: "W".into(),
            workflow_id: "wf-1".into(),
            run_id: "run-1".into(),
            namespace: "ns".into(),
            module_digest: "abc123".into(),
            ..LogTags::default()
        }
    }

    #[test]
    fn log_lines_carry_the_tags_and_are_dropped_while_replaying() {
        let log = GuestLog::new(tags());
        let text = captured(|| {
            log.log(LogLevel::Info, "first");
            log.set_replaying(true);
            log.log(LogLevel::Info, "during replay");
            log.set_replaying(false);
            log.log(LogLevel::Warn, "after");
        });
        assert!(text.contains("first") && text.contains("after"), "{text}");
        assert!(!text.contains("during replay"), "{text}");
        assert!(
            [
                "namespace=ns",
                "task_queue=q",
                "workflow_type=W",
                "workflow_id=wf-1",
                "run_id=run-1",
                "module_digest=abc123"
            ]
            .iter()
            .all(|t| text.contains(t)),
            "{text}"
        );
    }

    #[test]
    fn stdout_is_logged_by_line_and_also_replay_aware() {
        let log = GuestLog::new(tags());
        let text = captured(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut w = Box::into_pin(log.stream(LogLevel::Info).async_stream());
                w.write_all(b"hello ").await.unwrap();
                w.write_all(b"world\nsecond line\n").await.unwrap();
                log.set_replaying(true);
                w.write_all(b"replayed line\n").await.unwrap();
            });
        });
        assert!(text.contains("hello world"), "{text}");
        assert!(text.contains("second line"), "{text}");
        assert!(!text.contains("replayed line"), "{text}");
    }

    #[test]
    fn the_wasip2_stream_logs_synchronously_with_no_runtime() {
        let log = GuestLog::new(tags());
        let text = captured(|| {
            let mut w = log.stream(LogLevel::Warn).p2_stream();
            assert_eq!(w.check_write().unwrap(), MAX_LINE);
            w.write(Bytes::from_static(b"one\ntw")).unwrap();
            w.write(Bytes::from_static(b"o\nunfinished")).unwrap();
            w.flush().unwrap();
            w.write(Bytes::from(vec![b'x'; MAX_LINE + 1])).unwrap();
            drop(w);
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].contains("one") && lines[1].contains("two"),
            "{text}"
        );
        assert!(
            lines[2].contains("unfinishedxxx"),
            "a long line is logged in one piece at the cap"
        );
    }
}
