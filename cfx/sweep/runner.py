"""Running a sweep: a Dask client, the tasks not yet done submitted to it,
each row written as it arrives, the combined table and report at the end."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from cfx.errors import InputError
from cfx.sweep.plan import Plan, Task
from cfx.sweep.report import write_report, write_summary
from cfx.sweep.results import RESULTS_DIR, RESULTS_FILE, Results, combined_rows, write_table
from cfx.sweep.task import run_task

FLUSH_SECONDS = 2.0  # rebuild results.parquet at most this often while running
MANIFEST = "sweep.json"  # what marks a folder as a sweep's own (written before any task runs)


def cpus() -> int:
    """The CPUs this process may run on (a container's or taskset's share, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def max_workers() -> int:
    """The most worker processes a LocalCluster gets: 4 per CPU. A task is
    one single-threaded run, so more workers than CPUs only queue; beyond a
    few per CPU they cost memory and startup (each is a process with its own
    scratch folder) and a typo such as 100000 would never finish starting."""
    return 4 * cpus()


def check_workers(workers: int) -> None:
    """``--workers``: 1 to `max_workers`."""
    if workers < 1:
        raise InputError(f"--workers: expected at least 1, got {workers}")
    if workers > (most := max_workers()):
        raise InputError(f"--workers: at most {most} (4 per CPU, {cpus()} CPUs here), got {workers}")


def check_scheduler(address: str) -> None:
    """``--scheduler``: an address Dask can parse (``tcp://host:port``,
    ``host:port``, another registered scheme), checked before anything runs;
    whether a scheduler answers there is found out on connecting."""
    from distributed.comm import registry
    from distributed.comm.addressing import parse_address, parse_host_port

    expected = f"--scheduler: {address!r} is not a Dask scheduler address (expected tcp://host:port)"
    try:
        scheme, loc = parse_address(address)
        registry.get_backend(scheme)
        if scheme != "inproc":
            host, port = parse_host_port(loc)
            if not 0 < port < 65536:
                raise ValueError
    except (ValueError, TypeError):
        raise InputError(expected) from None


def check_out(out: Path) -> None:
    """``out`` is free for this sweep: absent, an empty folder, or a sweep's
    own folder (it has `MANIFEST`: resuming it). A folder holding a run, or
    anything else, is refused before anything is written or removed there."""
    from cfx.sim.rundir import holds_run

    if not out.exists():
        if out.is_symlink():
            raise InputError(f"--out {out}: cannot use as a sweep folder: a broken symlink")
        return
    if not out.is_dir():
        raise InputError(f"--out {out}: cannot use as a sweep folder: it is a file")
    found = holds_run(out)
    if found:
        raise InputError(
            f"--out {out}: holds a cfx run ({', '.join(found)}), not a sweep; refusing to write into it, "
            f"use another --out"
        )
    if not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise InputError(
            f"--out {out}: not empty and not a sweep folder (no {MANIFEST}); refusing to write into it, "
            f"use another --out"
        )


def make_client(scheduler: str | None = None, workers: int = 2) -> Any:
    """A Dask client: of the scheduler at ``scheduler``, or of a new
    `LocalCluster` of ``workers`` single-threaded worker processes."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as e:
            raise InputError(f"--scheduler: cannot connect to {scheduler}: {e}") from None
    cluster = LocalCluster(  # its HTTP server on a free port: Dask's default, 8787, may be another cluster's
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
    )
    return Client(cluster)


def close_client(client: Any) -> None:
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def run_sweep(
    plan: Plan,
    out: str | Path,
    *,
    client: Any = None,
    scheduler: str | None = None,
    workers: int = 2,
    progress: bool = True,
    fresh: bool = False,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run ``plan``'s tasks not already done in ``out``; write the table and
    report; return counts. Uses ``client`` if given (and leaves it open),
    else starts one (`make_client`) only if there is something to run."""
    check_out(Path(out))  # before Results: it clears leftovers in out/results
    out = Path(out).resolve()
    if client is None:  # the flags of the client it would start, before anything is written or started
        if scheduler:
            check_scheduler(scheduler)
        else:
            check_workers(workers)
    started = time.perf_counter()
    results = Results(out, fresh=fresh)
    todo = [t for t in plan.tasks if not results.done(t.key)]
    own = None
    if todo and client is None:
        client = own = make_client(scheduler, workers)  # before writing anything: a bad --scheduler changes nothing
    try:
        if fresh:
            shutil.rmtree(out / RESULTS_DIR, ignore_errors=True)
            (out / RESULTS_FILE).unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        _write_manifest(plan, out)
        counts = {"tasks": len(plan.tasks), "skipped": len(plan.tasks) - len(todo), "ran": 0, "ok": 0, "error": 0}
        if todo:
            _run_tasks(plan, todo, out, client, results, counts, progress, on_row)
        rows = combined_rows(plan, results)
        write_table(rows, out / RESULTS_FILE, plan.params)
        write_report(plan, rows, out / "report.html")
        if plan.mode == "grid":
            write_summary(plan, rows, out / "summary.md")
    finally:
        if own is not None:
            close_client(own)
    counts["failed_total"] = sum(r["status"] != "ok" for r in rows)
    counts["wall_seconds"] = round(time.perf_counter() - started, 2)
    return counts


def _run_tasks(
    plan: Plan,
    todo: list[Task],
    out: Path,
    client: Any,
    results: Results,
    counts: dict[str, int],
    progress: bool,
    on_row: Callable[[dict[str, Any]], None] | None,
) -> None:
    """Submit every task; write each row as it arrives; rebuild the combined
    table every `FLUSH_SECONDS` and at the end (also on an interrupt)."""
    from distributed import as_completed

    last_flush = time.perf_counter()
    bar = _Bar(len(plan.tasks), counts["skipped"]) if progress else None
    try:
        futures = {}
        for t in todo:
            f = client.submit(run_task, t, str(out), key=f"cfx-sweep-{t.point_id}-s{t.seed}-{t.key[:16]}", pure=False)
            futures[f] = t
        for f in as_completed(futures):
            t = futures.pop(f)
            try:
                row = f.result()
            except Exception as e:  # noqa: BLE001  (the worker died, or Dask failed the task)
                row = {
                    "key": t.key,
                    "point_id": t.point_id,
                    "seed": t.seed,
                    "params": t.params,
                    "run_dir": t.run_dir,
                    "status": "error",
                    "run_hash": None,
                    "metrics": {},
                    "wall_seconds": None,
                    "error": "".join(traceback.format_exception(e)).rstrip(),
                }
            f.release()
            results.add(row)
            counts["ran"] += 1
            counts["ok" if row["status"] == "ok" else "error"] += 1
            if on_row is not None:
                on_row(row)
            if bar is not None:
                bar.advance(row["status"] == "ok")
            if time.perf_counter() - last_flush >= FLUSH_SECONDS:
                write_table(combined_rows(plan, results), out / RESULTS_FILE, plan.params)
                last_flush = time.perf_counter()
    finally:
        if bar is not None:
            bar.stop()
        write_table(combined_rows(plan, results), out / RESULTS_FILE, plan.params)


def _write_manifest(plan: Plan, out: Path) -> None:
    manifest = {
        "sweep": plan.source,
        "sweep_sha256": plan.sweep_sha256,
        "name": plan.name,
        "question": plan.question,
        "base": plan.base,
        "mode": plan.mode,
        "params": plan.params,
        "seeds": plan.seeds,
        "points": plan.points,
        "tasks": len(plan.tasks),
        "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(manifest)) + b"\n")
    os.replace(tmp, out / MANIFEST)


class _Bar:
    """A rich progress bar over tasks (on stderr, so stdout stays JSON)."""

    def __init__(self, total: int, skipped: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.ok = self.err = 0
        self.progress = Progress(
            TextColumn("sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("runs"),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.task = self.progress.add_task(
            "sweep", total=total, completed=skipped, status=f"({skipped} done before)" if skipped else ""
        )
        self.skipped = skipped
        self.progress.start()

    def advance(self, ok: bool) -> None:
        if ok:
            self.ok += 1
        else:
            self.err += 1
        status = f"ok {self.ok} failed {self.err}" + (f" skipped {self.skipped}" if self.skipped else "")
        self.progress.update(self.task, advance=1, status=status)

    def stop(self) -> None:
        self.progress.stop()
