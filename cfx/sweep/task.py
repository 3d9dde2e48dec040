"""One task of a sweep, as it runs on a Dask worker: one (point, seed)
into its run directory, its structlog output into that run's run.log."""

from __future__ import annotations

import shutil
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import msgspec

from cfx.sweep.metrics import scalar_metrics
from cfx.sweep.plan import Task

_local = threading.local()


class _TaskLogger:
    """structlog output of the task running on this thread, into its run.log."""

    def msg(self, message: str) -> None:
        f = getattr(_local, "log", None)
        if f is not None:
            f.write(message + "\n")

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


_logging_ready = False


def _task_logging() -> None:
    global _logging_ready
    if _logging_ready:
        return
    import structlog

    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer(sort_keys=True)],
        logger_factory=lambda *args: _TaskLogger(),
        cache_logger_on_first_use=False,
    )
    _logging_ready = True


def run_task(task: Task, out: str) -> dict[str, Any]:
    """Run one (point, seed) into its run directory; never raises: a failure
    is a row with status ``error`` and the traceback."""
    from cfx.sim import scenario as scn
    from cfx.sim.run import run_scenario

    started = time.perf_counter()
    run_dir = Path(out) / task.run_dir
    row: dict[str, Any] = {
        "key": task.key,
        "point_id": task.point_id,
        "seed": task.seed,
        "params": task.params,
        "run_dir": task.run_dir,
        "status": "error",
        "error": None,
        "run_hash": None,
        "metrics": {},
        "wall_seconds": None,
    }
    try:
        _task_logging()
        if run_dir.exists():
            shutil.rmtree(run_dir)  # an earlier, failed or stale, attempt
        run_dir.mkdir(parents=True)
        with open(run_dir / "run.log", "w") as fh:
            _local.log = fh
            try:
                sc = msgspec.convert(task.scenario, type=scn.scenario_type())
                summary = run_scenario(sc, run_dir, progress=False)
            finally:
                _local.log = None
        row["metrics"] = scalar_metrics(summary)
        row["run_hash"] = summary["run_hash"]
        row["status"] = "ok"
    except BaseException as e:  # noqa: BLE001  (a failed point is data)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        row["error"] = "".join(traceback.format_exception(e)).rstrip()
    row["wall_seconds"] = round(time.perf_counter() - started, 3)
    return row
