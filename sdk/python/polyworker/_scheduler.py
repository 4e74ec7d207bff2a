"""A deterministic scheduler for ``async def`` workflow code.

asyncio's event loop needs selectors and real time; a workflow needs neither.
Here a coroutine runs as a ``Task`` that awaits SDK ``Future``s; ``drain()``
runs every ready step, in FIFO order, until all tasks are blocked, so a
workflow makes the same progress on every replay.
"""

from collections import deque
from typing import Any, Awaitable, Callable, Coroutine, Deque, List, Optional

_ready: Deque[Callable[[], None]] = deque()


def drain() -> None:
    while _ready:
        _ready.popleft()()


class Future:
    """A value that will be set by the SDK (a timer firing, an activity result)."""

    __slots__ = ("_done", "_result", "_exc", "_callbacks")

    def __init__(self) -> None:
        self._done = False
        self._result: Any = None
        self._exc: Optional[BaseException] = None
        self._callbacks: List[Callable[[], None]] = []

    def done(self) -> bool:
        return self._done

    def result(self) -> Any:
        if not self._done:
            raise RuntimeError("the future is not done")
        if self._exc is not None:
            raise self._exc
        return self._result

    def exception(self) -> Optional[BaseException]:
        return self._exc

    def add_done_callback(self, cb: Callable[[], None]) -> None:
        if self._done:
            _ready.append(cb)
        else:
            self._callbacks.append(cb)

    def _finish(self) -> None:
        self._done = True
        _ready.extend(self._callbacks)
        self._callbacks = []

    def set_result(self, value: Any) -> None:
        if not self._done:
            self._result = value
            self._finish()

    def set_exception(self, exc: BaseException) -> None:
        if not self._done:
            self._exc = exc
            self._finish()

    def __await__(self):
        if not self._done:
            yield self
        return self.result()


class Task(Future):
    """Runs a coroutine step by step; done when the coroutine returns or raises."""

    __slots__ = ("_coro",)

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        super().__init__()
        self._coro = coro
        _ready.append(self._step)

    def _step(self) -> None:
        try:
            awaited = self._coro.send(None)
        except StopIteration as stop:
            self.set_result(stop.value)
            return
        except BaseException as e:  # the workflow's own error: reported by its owner
            self.set_exception(e)
            return
        if isinstance(awaited, Future):
            awaited.add_done_callback(self._step)
        else:
            self._coro.close()
            self.set_exception(
                RuntimeError(
                    f"workflow code awaited {awaited!r}: only polyworker awaitables "
                    "(workflow.sleep, activities, wait_condition, gather, ...) work in "
                    "workflows; asyncio's loop is not available"
                )
            )


def ensure_future(aw: Awaitable[Any]) -> Future:
    if isinstance(aw, Future):
        return aw
    if hasattr(aw, "send"):
        return Task(aw)  # type: ignore[arg-type]

    async def wrap() -> Any:
        return await aw

    return Task(wrap())


def gather(*aws: Awaitable[Any], return_exceptions: bool = False) -> Future:
    """Like ``asyncio.gather``: a future of all results, in order."""
    futures = [ensure_future(a) for a in aws]
    out = Future()
    left = [len(futures)]
    if not futures:
        out.set_result([])

    def one_done() -> None:
        left[0] -= 1
        if out.done():
            return
        for f in futures:
            if f.done() and f.exception() is not None and not return_exceptions:
                out.set_exception(f.exception())  # type: ignore[arg-type]
                return
        if left[0] == 0:
            out.set_result([f.exception() if f.exception() else f._result for f in futures])

    for f in futures:
        f.add_done_callback(one_done)
    return out
