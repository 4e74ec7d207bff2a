"""Unit tests for polyworker workflows, in the style of
``temporalio.testing.WorkflowEnvironment``: the built component runs in
polyworker's real sandbox on Temporal's time-skipping test server, its
activities are mocked by Python functions, and each run is replayed to
check that the workflow is deterministic.

Runs on the host's CPython (standard library only), from ``unittest`` or
``pytest``::

    from polyworker.testing import WorkflowEnvironment

    with WorkflowEnvironment.start_time_skipping("data-routing-py.wasm") as env:
        env.on_activity("GetRouteActivity", lambda request: "goodRoute")
        env.on_activity("TransmitActivity", lambda packet: {"Status": ""})
        packet = env.execute_workflow("DataRoutingWorkflow", {"ID": "p1"})

A mock receives the activity's arguments and returns its result; it fails
the attempt by raising :class:`ApplicationError` (retried unless
``non_retryable``), hangs, so that the attempt's timeout fires in skipped
time, by returning :data:`HANG`, and takes virtual time by returning
``after(seconds, value)``. Inside a mock, :func:`activity_info` tells the
attempt (and the heartbeat details an earlier attempt left), and
:func:`heartbeat` records a heartbeat, as ``temporalio.activity`` does in a
real activity. The environment is a child
process (``polyworker-test``, found through ``$POLYWORKER_TEST_BIN``, the
``PATH``, or ``target/debug`` above the working directory) talking JSON
over its stdin and stdout; it stops, with its server, when the environment
is closed or the test process ends.
"""

import json
import os
import queue
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

__all__ = [
    "ActivityInfo",
    "ApplicationError",
    "HANG",
    "activity_info",
    "after",
    "heartbeat",
    "NondeterminismError",
    "RunResult",
    "WorkflowEnvironment",
    "WorkflowFailureError",
    "WorkflowHandle",
    "WorkflowUpdateFailedError",
]

HANG = object()
"""Returned by a mock: the attempt never completes, so its timeout fires."""


@dataclass(frozen=True)
class ActivityInfo:
    """The attempt a mock is answering."""

    activity_type: str
    activity_id: str
    attempt: int
    #: The last heartbeat details of an earlier attempt (empty on the first).
    heartbeat_details: List[Any]


_attempt = threading.local()


def activity_info() -> ActivityInfo:
    """Inside a mock: the attempt it answers."""
    call = getattr(_attempt, "call", None)
    if call is None:
        raise RuntimeError("activity_info() is for mocks, while they answer an attempt")
    return ActivityInfo(
        call["activity_type"], call["activity_id"], call["attempt"], list(call.get("heartbeat_details", []))
    )


def heartbeat(*details: Any) -> None:
    """Inside a mock: a heartbeat with ``details``, recorded before the
    attempt answers; a later attempt sees them in ``heartbeat_details``."""
    if getattr(_attempt, "call", None) is None:
        raise RuntimeError("heartbeat() is for mocks, while they answer an attempt")
    _attempt.heartbeat = list(details)


class after:
    """Returned by a mock: the attempt takes ``seconds`` of virtual time,
    then answers ``value`` (an :class:`ApplicationError` instance fails it).
    Past the attempt's timeout, the timeout wins."""

    def __init__(self, seconds: float, value: Any = None):
        self.seconds = float(seconds)
        self.value = value


class ApplicationError(Exception):
    """Raised by a mock to fail the attempt, as an activity's
    ``ApplicationError`` would."""

    def __init__(self, message: str, type: str = "", non_retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.type = type
        self.non_retryable = non_retryable


class WorkflowFailureError(Exception):
    """The workflow failed; ``failure`` is the server's failure, with its
    ``cause`` chain (``message``, ``type``, ``timeout_type``, ...)."""

    def __init__(self, failure: Dict[str, Any]):
        super().__init__(failure.get("message", "the workflow failed"))
        self.failure = failure

    @property
    def cause(self) -> Optional[Dict[str, Any]]:
        return self.failure.get("cause")


class NondeterminismError(Exception):
    """The run's history does not replay against the component."""


@dataclass
class RunResult:
    """What one run did."""

    workflow_id: str
    outcome: str
    result: Any = None
    failure: Optional[Dict[str, Any]] = None
    activities: List[Dict[str, Any]] = field(default_factory=list)

    def calls_of(self, activity_type: str) -> List[Dict[str, Any]]:
        """The attempts of one activity type, each with ``input`` and ``attempt``."""
        return [a for a in self.activities if a["activity_type"] == activity_type]


class WorkflowUpdateFailedError(Exception):
    """An update was rejected by its validator or failed in its handler."""

    def __init__(self, failure: Dict[str, Any]):
        super().__init__(failure.get("message", "the update failed"))
        self.failure = failure


class WorkflowHandle:
    """A started run, as ``temporalio.client.WorkflowHandle``."""

    def __init__(self, env: "WorkflowEnvironment", workflow_id: str, run_id: str):
        self._env = env
        self.id = workflow_id
        self.run_id = run_id

    def signal(self, name: str, *args: Any) -> None:
        self._env._request({"signal": {"workflow_id": self.id, "name": name, "args": list(args)}})

    def query(self, name: str, *args: Any) -> Any:
        return self._env._request({"query": {"workflow_id": self.id, "name": name, "args": list(args)}})["result"]

    def execute_update(self, name: str, *args: Any) -> Any:
        """The update's result; :class:`WorkflowUpdateFailedError` if refused or failed."""
        ok = self._env._request({"update": {"workflow_id": self.id, "name": name, "args": list(args)}})
        if "failure" in ok:
            raise WorkflowUpdateFailedError(ok["failure"])
        return ok["result"]

    def run(self) -> RunResult:
        """Waits for the run's end in skipped time, then replays it."""
        ok = self._env._request({"result": {"workflow_id": self.id, "run_id": self.run_id}})
        return _run_result(ok)

    def result(self) -> Any:
        """The workflow's result; :class:`WorkflowFailureError` if it failed."""
        return _result_of(self.run())


def _run_result(ok: Dict[str, Any]) -> RunResult:
    return RunResult(
        workflow_id=ok["workflow_id"],
        outcome=ok["outcome"],
        result=ok.get("result"),
        failure=ok.get("failure"),
        activities=ok.get("activities", []),
    )


def _result_of(run: RunResult) -> Any:
    if run.outcome != "completed":
        raise WorkflowFailureError(run.failure or {"message": run.outcome})
    return run.result


def _binary() -> str:
    found = os.environ.get("POLYWORKER_TEST_BIN") or shutil.which("polyworker-test")
    if found:
        return found
    for d in [Path.cwd(), *Path.cwd().parents]:
        candidate = d / "target" / "debug" / "polyworker-test"
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError(
        "polyworker-test was not found: set POLYWORKER_TEST_BIN or build it "
        "(cargo build -p polyworker-testing)"
    )


class WorkflowEnvironment:
    """One component under test, with its activities mocked."""

    def __init__(self, component: str, binary: Optional[str] = None):
        self._mocks: Dict[str, Callable[..., Any]] = {}
        self._replies: "Dict[int, queue.Queue]" = {}
        self._next_id = 0
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [binary or _binary()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._request({"start": {"component": str(component)}})

    @classmethod
    def start_time_skipping(cls, component: str, binary: Optional[str] = None) -> "WorkflowEnvironment":
        """Starts an environment for the built component at ``component``."""
        return cls(component, binary)

    def on_activity(self, activity_type: str, mock: Callable[..., Any]) -> None:
        """Answers every attempt of ``activity_type`` with ``mock(*args)``."""
        self._mocks[activity_type] = mock

    def run(self, workflow: str, *args: Any) -> RunResult:
        """Runs ``workflow`` to its end in skipped time; raises
        :class:`NondeterminismError` if its history does not replay."""
        return _run_result(self._request({"execute": {"workflow": workflow, "args": list(args)}}))

    def start_workflow(self, workflow: str, *args: Any) -> "WorkflowHandle":
        """Starts ``workflow`` and returns at once: signal, query, update
        and :meth:`sleep` before :meth:`WorkflowHandle.result`."""
        ok = self._request({"start_workflow": {"workflow": workflow, "args": list(args)}})
        return WorkflowHandle(self, ok["workflow_id"], ok["run_id"])

    def sleep(self, seconds: float) -> None:
        """Lets ``seconds`` of virtual time pass (timers due meanwhile fire)."""
        self._request({"sleep": {"seconds": float(seconds)}})

    def execute_workflow(self, workflow: str, *args: Any) -> Any:
        """The workflow's result; :class:`WorkflowFailureError` if it failed."""
        return _result_of(self.run(workflow, *args))

    def shutdown(self) -> None:
        """Stops the environment and its test server."""
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._reader.join(timeout=5)
        self._proc.stdout.close()

    def __enter__(self) -> "WorkflowEnvironment":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    def _send(self, message: Dict[str, Any]) -> None:
        with self._lock:
            self._proc.stdin.write(json.dumps(message) + "\n")
            self._proc.stdin.flush()

    def _request(self, request: Dict[str, Any]) -> Dict[str, Any]:
        with self._lock:
            self._next_id += 1
            rid = self._next_id
            self._replies[rid] = queue.Queue()
        self._send({"id": rid, **request})
        reply = self._replies[rid].get()
        del self._replies[rid]
        if "error" in reply:
            err = reply["error"]
            if err.get("kind") == "nondeterministic":
                raise NondeterminismError(err["message"])
            raise RuntimeError(err.get("message", "the test environment failed"))
        return reply["ok"]

    def _read(self) -> None:
        for line in self._proc.stdout:
            message = json.loads(line)
            if "activity" in message:
                self._answer(message["activity"])
            elif "id" in message and message["id"] in self._replies:
                self._replies[message["id"]].put(message)
        # The process ended: every waiting request fails.
        for q in list(self._replies.values()):
            q.put({"error": {"kind": "environment", "message": "polyworker-test exited"}})

    def _answer(self, call: Dict[str, Any]) -> None:
        mock = self._mocks.get(call["activity_type"])
        answer: Dict[str, Any] = {"call": call["call"]}
        if mock is None:
            answer["fails"] = {
                "message": f"no mock for activity type {call['activity_type']!r} "
                f"(mocked: {sorted(self._mocks)})",
                "type": "PolyworkerTestNoMock",
                "non_retryable": True,
            }
        else:
            _attempt.call, _attempt.heartbeat = call, None
            try:
                value = mock(*call["input"])
                if isinstance(value, after):
                    answer["after_seconds"] = value.seconds
                    value = value.value
                if value is HANG:
                    answer["hangs"] = True
                elif isinstance(value, ApplicationError):
                    answer["fails"] = {"message": value.message, "type": value.type, "non_retryable": value.non_retryable}
                else:
                    answer["returns"] = value
            except ApplicationError as e:
                answer["fails"] = {"message": e.message, "type": e.type, "non_retryable": e.non_retryable}
            except Exception as e:  # noqa: BLE001 - a mock's bug fails the attempt, as in an activity
                answer["fails"] = {"message": f"{type(e).__name__}: {e}", "type": type(e).__name__}
            if _attempt.heartbeat is not None:
                answer["heartbeat"] = _attempt.heartbeat
            _attempt.call = None
        self._send({"answer": answer})
