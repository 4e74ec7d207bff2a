"""``logger.info(...)`` and friends over a host interface's ``log(level, message)``."""

from typing import Any, Callable

from wit_world.imports import types as t


class Logger:
    def __init__(self, log: Callable[[t.LogLevel, str], None]) -> None:
        self._log_fn = log

    def _log(self, level: t.LogLevel, msg: str, *args: Any) -> None:
        self._log_fn(level, msg % args if args else msg)

    def debug(self, msg: str, *args: Any) -> None:
        self._log(t.LogLevel.DEBUG, msg, *args)

    def info(self, msg: str, *args: Any) -> None:
        self._log(t.LogLevel.INFO, msg, *args)

    def warning(self, msg: str, *args: Any) -> None:
        self._log(t.LogLevel.WARN, msg, *args)

    def error(self, msg: str, *args: Any) -> None:
        self._log(t.LogLevel.ERROR, msg, *args)
