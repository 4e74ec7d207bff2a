//! `polyworker-test`: the test environment for guests in other languages,
//! driven over stdin/stdout with one JSON object per line. Their test
//! helpers (`polyworker.testing` in Python, `@polyworker/sdk/testing` in
//! JavaScript, `testsuite` in Go) start it as a child process, so nothing
//! listens beyond the environment's own loopback test server, and it ends
//! (with its server) when its stdin closes.
//!
//! Requests carry an `id`, which their reply repeats:
//! ```text
//! → {"id":1,"start":{"component":"path/to/guest.wasm"}}
//! ← {"id":1,"ok":{"task_queue":"…"}}
//! → {"id":2,"execute":{"workflow":"DataRoutingWorkflow","args":[{…}]}}
//! ← {"activity":{"call":1,"activity_type":"GetRouteActivity","input":[…],"attempt":1,"activity_id":"1","heartbeat_details":[]}}
//! → {"answer":{"call":1,"returns":"goodRoute"}}
//!      (or "fails":{"message":…,"type":…,"non_retryable":false}, or "hangs":true;
//!       with "after_seconds": s, after that much virtual time; with
//!       "heartbeat": [details…], a heartbeat first)
//! ← {"id":2,"ok":{"workflow_id":…,"outcome":"completed","result":…,"activities":[…]}}
//! ← {"id":2,"error":{"kind":"nondeterministic","message":"…"}}
//! ```
//!
//! A run can also be started and then driven, at chosen points of virtual
//! time: `start_workflow` (answers `workflow_id` and `run_id`), `signal`,
//! `query` and `update` (each `{"workflow_id","name","args"}`; a query or
//! update answers `result`, a rejected or failed update `failure`),
//! `sleep` (`{"seconds": s}` of virtual time), and `result`
//! (`{"workflow_id","run_id"}`, answered as `execute` is).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Value, json};
use temporalio_common::protos::temporal::api::failure::v1::Failure;
use temporalio_common::protos::temporal::api::failure::v1::failure::FailureInfo;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::oneshot;

use crate::mock::WireAnswer;
use crate::{Answer, Call, Outcome, TestEnv, TestError};

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Request {
    Start {
        component: String,
    },
    Execute {
        workflow: String,
        #[serde(default)]
        args: Vec<Value>,
    },
    StartWorkflow {
        workflow: String,
        #[serde(default)]
        args: Vec<Value>,
    },
    Signal {
        workflow_id: String,
        name: String,
        #[serde(default)]
        args: Vec<Value>,
    },
    Query {
        workflow_id: String,
        name: String,
        #[serde(default)]
        args: Vec<Value>,
    },
    Update {
        workflow_id: String,
        name: String,
        #[serde(default)]
        args: Vec<Value>,
    },
    Sleep {
        seconds: f64,
    },
    Result {
        workflow_id: String,
        run_id: String,
    },
}

#[derive(Deserialize)]
struct Envelope {
    id: Option<u64>,
    #[serde(flatten)]
    request: Option<Request>,
    answer: Option<Reply>,
}

/// A mock's answer from the other process.
#[derive(Deserialize)]
struct Reply {
    call: u64,
    #[serde(flatten)]
    answer: WireAnswer,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Answer>>>>;

/// The started environment; requests about runs each hold a clone, so one
/// waiting for a result does not hold up a signal to it.
type Shared = Arc<tokio::sync::Mutex<Option<Arc<TestEnv>>>>;

/// Writes one line to stdout.
#[derive(Clone)]
struct Out(Arc<tokio::sync::Mutex<tokio::io::Stdout>>);

impl Out {
    async fn send(&self, v: Value) {
        let mut line = v.to_string();
        line.push('\n');
        let mut out = self.0.lock().await;
        let _ = out.write_all(line.as_bytes()).await;
        let _ = out.flush().await;
    }
}

/// Serves requests from stdin until it closes.
pub async fn serve() {
    let out = Out(Arc::new(tokio::sync::Mutex::new(tokio::io::stdout())));
    let pending: Pending = Arc::default();
    let env: Shared = Arc::default();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut running = tokio::task::JoinSet::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let envelope: Envelope = match serde_json::from_str(&line) {
            Ok(e) => e,
            Err(e) => {
                out.send(
                    json!({"error": {"kind": "request", "message": format!("not a request: {e}")}}),
                )
                .await;
                continue;
            }
        };
        if let Some(reply) = envelope.answer {
            let waiting = pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&reply.call);
            if let Some(tx) = waiting {
                let _ = tx.send(reply.answer.answer());
            }
            continue;
        }
        let (Some(id), Some(request)) = (envelope.id, envelope.request) else {
            out.send(json!({"error": {"kind": "request", "message": "a request needs an id and start or execute"}}))
                .await;
            continue;
        };
        let (out, pending, env) = (out.clone(), pending.clone(), env.clone());
        running.spawn(async move {
            let reply = match handle(request, &out, &pending, &env).await {
                Ok(v) => json!({"id": id, "ok": v}),
                Err(e) => json!({"id": id, "error": error(&e)}),
            };
            out.send(reply).await;
        });
    }
    running.shutdown().await;
    if let Some(env) = env
        .lock()
        .await
        .take()
        .and_then(|e| Arc::try_unwrap(e).ok())
    {
        env.shutdown().await;
    }
}

async fn handle(
    request: Request,
    out: &Out,
    pending: &Pending,
    env: &Shared,
) -> Result<Value, TestError> {
    match request {
        Request::Start { component } => {
            let started = TestEnv::start(&component).await?;
            started.on_every_activity(forward(out.clone(), pending.clone()));
            let task_queue = started.task_queue().to_string();
            let old = env.lock().await.replace(Arc::new(started));
            if let Some(old) = old.and_then(|e| Arc::try_unwrap(e).ok()) {
                old.shutdown().await;
            }
            Ok(json!({"task_queue": task_queue}))
        }
        other => {
            // Requests about runs share the environment: a signal may come
            // while another request waits for a result.
            let env = env
                .lock()
                .await
                .clone()
                .ok_or_else(|| TestError::Server("no component was started".into()))?;
            about_runs(other, &env).await
        }
    }
}

async fn about_runs(request: Request, env: &TestEnv) -> Result<Value, TestError> {
    match request {
        Request::Start { .. } => Err(TestError::Server("already started".into())),
        Request::StartWorkflow { workflow, args } => {
            let h = env.start_workflow(&workflow, &args).await?;
            Ok(json!({"workflow_id": h.workflow_id, "run_id": h.run_id}))
        }
        Request::Signal {
            workflow_id,
            name,
            args,
        } => {
            env.handle(&workflow_id, "").signal(&name, &args).await?;
            Ok(json!({}))
        }
        Request::Query {
            workflow_id,
            name,
            args,
        } => Ok(json!({"result": env.handle(&workflow_id, "").query(&name, &args).await?})),
        Request::Update {
            workflow_id,
            name,
            args,
        } => Ok(
            match env.handle(&workflow_id, "").update(&name, &args).await? {
                Ok(v) => json!({"result": v}),
                Err(f) => json!({"failure": failure(&f)}),
            },
        ),
        Request::Sleep { seconds } => {
            let d = std::time::Duration::try_from_secs_f64(seconds)
                .map_err(|e| TestError::Server(format!("sleep: {e}")))?;
            env.sleep(d).await?;
            Ok(json!({}))
        }
        Request::Execute { workflow, args } => {
            let run = env.execute(&workflow, &args).await?;
            Ok(run_json(&run))
        }
        Request::Result {
            workflow_id,
            run_id,
        } => {
            let run = env.handle(&workflow_id, &run_id).result().await?;
            Ok(run_json(&run))
        }
    }
}

fn run_json(run: &crate::Run) -> Value {
    {
        {
            let mut v = match &run.outcome {
                Outcome::Completed(r) => json!({"outcome": "completed", "result": r}),
                Outcome::Failed(f) => json!({"outcome": "failed", "failure": failure(f)}),
                Outcome::Other(o) => json!({"outcome": "other", "event": o}),
            };
            v["workflow_id"] = json!(run.workflow_id);
            v["activities"] = serde_json::to_value(&run.activities).unwrap_or_default();
            v["history_events"] = json!(run.history.events.len());
            v
        }
    }
}

/// Asks the other process what each attempt answers.
fn forward(out: Out, pending: Pending) -> crate::mock::Handler {
    static CALLS: AtomicU64 = AtomicU64::new(1);
    Arc::new(move |call: Call| {
        let (out, pending) = (out.clone(), pending.clone());
        Box::pin(async move {
            let id = CALLS.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, tx);
            let mut event = serde_json::to_value(&call).unwrap_or_default();
            event["call"] = json!(id);
            out.send(json!({"activity": event})).await;
            rx.await.unwrap_or(Answer::Hangs)
        })
    })
}

/// A failure as the other languages' helpers read it.
fn failure(f: &Failure) -> Value {
    let mut v = json!({"message": f.message, "source": f.source});
    match &f.failure_info {
        Some(FailureInfo::ApplicationFailureInfo(a)) => {
            v["type"] = json!(a.r#type);
            v["non_retryable"] = json!(a.non_retryable);
        }
        Some(FailureInfo::TimeoutFailureInfo(t)) => {
            v["timeout_type"] = json!(t.timeout_type().as_str_name());
        }
        Some(FailureInfo::ActivityFailureInfo(a)) => {
            v["activity_type"] = json!(a.activity_type.as_ref().map(|t| t.name.clone()));
        }
        _ => {}
    }
    if let Some(cause) = &f.cause {
        v["cause"] = failure(cause);
    }
    v
}

fn error(e: &TestError) -> Value {
    let kind = match e {
        TestError::Nondeterministic { .. } => "nondeterministic",
        TestError::Component(_) => "component",
        TestError::Timeout(_) => "timeout",
        TestError::WorkflowTaskFailed { .. } => "workflow_task_failed",
        _ => "environment",
    };
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    json!({"kind": kind, "message": message})
}
