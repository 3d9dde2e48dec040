"""Logging set-up, in one place: structlog key-value events on stderr
(readable on a terminal, JSON lines otherwise) and, for a run, a copy as
JSON lines in the run directory. Library code only calls
`get_logger` and emits; nothing logs in the matching path.

structlog's package imports all of itself, structlog.tracebacks too, which
imports rich (~40-80 ms a process) for a pretty exception traceback; cfx
never logs an exception, so structlog is imported here with rich hidden
and rich is imported only where a progress bar is drawn.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any


def _structlog_without_rich() -> Any:
    if "rich" in sys.modules or "structlog" in sys.modules:
        import structlog

        return structlog
    sys.modules["rich"] = None  # type: ignore[assignment]  # an import of it raises ImportError
    try:
        import structlog
    finally:
        del sys.modules["rich"]
    return structlog


structlog = _structlog_without_rich()

_file: IO[str] | None = None


def _tee(logger: Any, method: str, event: dict) -> dict:
    if _file is not None:
        _file.write(structlog.processors.JSONRenderer(sort_keys=True)(logger, method, dict(event)) + "\n")
        _file.flush()
    return event


def get_logger(name: str) -> Any:
    """The logger of a part of cfx (a structlog logger)."""
    return structlog.get_logger(name)


def _stderr_logger(*args: Any) -> structlog.PrintLogger:
    """Whatever sys.stderr is when a message is logged (tests swap it)."""
    return structlog.PrintLogger(sys.stderr)


def configure(log_file: str | Path | None = None) -> None:
    """Log to stderr, and also to ``log_file`` (JSON lines) if given."""
    global _file
    if _file is not None:
        _file.close()
        _file = None
    if log_file is not None:
        _file = open(log_file, "w")
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer(sort_keys=True)
    )
    structlog.configure(
        processors=[structlog.processors.add_log_level, _tee, renderer],
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
