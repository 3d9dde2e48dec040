"""`cfx sweep`: one scenario, many parameter values and seeds, run on Dask.

A sweep file (TOML, kebab-case keys, unknown keys are errors) names a base
scenario and what to vary::

    base = "baseline.toml"             # relative to the sweep file
    seeds = 3                          # or a list: [1, 7, 42]; a count N means
                                       # the base seed, base seed + 1, ... + N-1
    metrics = ["mean_spread_ticks"]    # summary metrics to tabulate and plot
                                       # (default: every scalar one)
    [set]                              # fixed overrides for every point
    "calendar.days" = 3
    [grid]                             # every combination of these values
    "products.tick-usd" = [0.005, 0.01, 0.02]
    "agents[0].half-spread-ticks" = [1.0, 2.0]

or, instead of ``[grid]``, random sampling::

    [random]
    points = 16
    seed = 7
    [random.params]
    "products.tick-usd" = { low = 0.005, high = 0.05, log = true }
    "agents[0].quote-lots" = { low = 1, high = 20, integer = true }
    "products.settlement" = { choices = ["monthly_average", "twap_window"] }

Parameters are dotted paths into the scenario as its TOML spells them
(``rules.band-pct``, ``agents[0].half-spread-ticks``,
``products.baskets[0].weights.H100``). Every point is applied to the decoded
base scenario as builtins and converted back through the `Scenario` schema,
so a bad value is a path error (exit 2) before anything runs.

Each (point, seed) is one Dask task that runs the scenario into
``OUT/runs/<point-id>-s<seed>/`` and returns one row: parameters, seed,
every scalar summary metric, the run hash, wall seconds, status and error.
Rows are written as they arrive, one Parquet part file each
(``OUT/results/part-NNNN.parquet``, written to a temporary name and renamed,
so a crash leaves whole files only); ``OUT/results.parquet`` is rebuilt from
the parts every few seconds and at the end; ``OUT/report.html`` has a plot per
varied parameter.

Resuming: a task's key is a hash of the fully resolved scenario it runs
(base scenario contents after every override, the seed included; its
``name`` and ``question`` left out). Re-running skips every key that already
has an ``ok`` row; failed tasks run again. Editing the sweep file or the base
scenario therefore reruns exactly the points whose scenario changed, and rows
whose key is no longer in the sweep drop out of ``results.parquet``. The
sweep file's own hash is recorded in ``OUT/sweep.json`` for provenance only.
Changing cfx's code does not change keys: use ``--fresh`` after a code change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import itertools
import json
import math
import os
import shutil
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from cfx.errors import InputError, one_line, path_first
from cfx.inputs import decode as decode_text
from cfx.inputs import read_bytes
from cfx.sim import overrides as ov

KEY_VERSION = 1  # bump when the meaning of a task key changes
RESULTS_DIR = "results"
RESULTS_FILE = "results.parquet"
FLUSH_SECONDS = 2.0  # rebuild results.parquet at most this often while running

# The scalar metrics of `cfx.sim.run.summarize` a sweep can tabulate;
# dict-valued settlement_tiers becomes one column per tier.
METRICS: tuple[str, ...] = (
    "days", "agents", "engine_messages", "commands", "events", "trades", "volume_contracts",
    "mean_spread_ticks", "mean_top_depth_contracts", "two_sided_fraction", "settlement_volatility_annual",
    "tracking_error_rms", "halts", "auctions_uncrossed", "margin_calls", "defaults", "guarantee_fund_used_usd",
    "settlement_tiers.vwap", "settlement_tiers.mid", "settlement_tiers.index_moved", "settlement_tiers.final",
)
# dict-valued metrics whose entries become columns "name.key" (keys vary by scenario)
DICT_METRICS = ("pnl_usd_by_agent_type", "volume_by_agent_type", "otc")
_NOT_METRICS = {"seed", "scenario", "question", "run_hash"}
RESERVED_PATHS = {"seed": "vary seeds with `seeds`", "name": "the name is not a parameter",
                  "question": "the question is not a parameter"}
_TEXT_COLUMNS = {"point_id", "status", "error", "run_hash", "run_dir", "key"}


# --- the sweep file ------------------------------------------------------------------------------------


class _Spec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="kebab"):
    pass


class RandomParam(_Spec, kw_only=True):
    """One randomly sampled parameter: uniform on [low, high] (log-uniform
    with ``log``; whole numbers with ``integer``), or one of ``choices``."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: list[Any] | None = None


class RandomSpec(_Spec, kw_only=True):
    points: Annotated[int, Meta(ge=1, le=100_000)]
    seed: Annotated[int, Meta(ge=0, le=2**63 - 1)] = 0
    params: dict[str, RandomParam]


class SweepFile(_Spec, kw_only=True):
    base: str
    name: str = ""
    question: str = ""
    seeds: Annotated[int, Meta(ge=1, le=10_000)] | Annotated[list[Annotated[int, Meta(ge=0, le=2**63 - 1)]], Meta(min_length=1)] = 1
    metrics: list[str] | None = None
    set: dict[str, Any] = msgspec.field(default_factory=dict)
    grid: dict[str, Annotated[list[Any], Meta(min_length=1)]] = msgspec.field(default_factory=dict)
    random: RandomSpec | None = None


class Task(msgspec.Struct, frozen=True):
    """One (point, seed): the builtins of the scenario to run and where."""

    point: int
    point_id: str
    params: dict[str, Any]
    seed: int
    key: str
    run_dir: str  # relative to the sweep's output folder
    scenario: dict[str, Any]


class Plan(msgspec.Struct):
    """A decoded, validated sweep: what to run, in order."""

    source: str
    sweep_sha256: str
    name: str
    question: str
    base: str
    params: list[str]  # varied parameter paths, in file order
    mode: str  # "grid" or "random"
    points: list[dict[str, Any]]
    seeds: list[int]
    metrics: list[str] | None
    tasks: list[Task]


def _quote(path: str) -> str:
    return f'"{path}"'


def load(path: str | Path) -> Plan:
    """Read and validate a sweep file; every error is an `InputError` naming
    the file and the path in it."""
    path = Path(path)
    return decode(read_bytes(path, "sweep file"), path)


def decode(raw: bytes | str, path: Path) -> Plan:  # noqa: C901 (validates a sweep file top to bottom; split candidate)
    from cfx.sim import scenario as scn

    src = str(path)
    data = raw.encode() if isinstance(raw, str) else raw
    raw = decode_text(data, src)
    try:
        spec = msgspec.toml.decode(raw, type=SweepFile)
    except msgspec.ValidationError as e:
        msg = one_line(path_first(str(e)))
        if msg.startswith("grid[...]"):  # name the key msgspec leaves out
            grid = msgspec.toml.decode(raw).get("grid", {})
            bad = next((k for k, v in grid.items() if not isinstance(v, list)), None)
            if bad is not None:
                msg = msg.replace("grid[...]", f"grid.{_quote(bad) if '.' in bad else bad}", 1)
                if isinstance(grid[bad], dict):
                    msg += ' (quote dotted paths: "products.tick-usd" = [...])'
        raise InputError(f"{src}: {msg}") from None
    except msgspec.DecodeError as e:
        raise InputError(f"{src}: not valid TOML: {one_line(str(e))}") from None

    base_path = Path(spec.base)
    if not base_path.is_absolute():
        base_path = path.parent / base_path
    try:
        base = scn.load(base_path)
    except InputError as e:
        raise InputError(f"{src}: base: {e}") from None
    base_dict = msgspec.to_builtins(base)

    if spec.grid and spec.random is not None:
        raise InputError(f"{src}: grid, random: give one of [grid] or [random], not both")
    if not spec.grid and spec.random is None:
        raise InputError(f"{src}: grid: nothing to vary: give a [grid] or a [random] table")

    for p in list(spec.set) + list(spec.grid) + (list(spec.random.params) if spec.random else []):
        ov.parse_path(p, f"{src}: {_section_of(spec, p)}.{_quote(p)}")
        if p in RESERVED_PATHS:
            raise InputError(f"{src}: {_section_of(spec, p)}.{_quote(p)}: {RESERVED_PATHS[p]}")
    overlap = set(spec.set) & (set(spec.grid) | set(spec.random.params if spec.random else ()))
    if overlap:
        p = sorted(overlap)[0]
        raise InputError(f"{src}: set.{_quote(p)}: is also varied")

    if isinstance(spec.seeds, int):
        seeds = [base.seed + i for i in range(spec.seeds)]
    else:
        seeds = list(spec.seeds)
        if len(set(seeds)) != len(seeds):
            raise InputError(f"{src}: seeds: repeated seed")

    if spec.metrics is not None:
        for i, m in enumerate(spec.metrics):
            if m not in METRICS and not m.startswith(tuple(f"{k}." for k in DICT_METRICS)):
                raise InputError(f"{src}: metrics[{i}]: unknown metric {m!r} (known: {', '.join(METRICS)})")
        if not spec.metrics:
            raise InputError(f"{src}: metrics: empty list (leave it out for every metric)")

    # fixed overrides first: they are the base every point starts from
    fixed = base_dict
    for p, v in spec.set.items():
        fixed = ov.set_path(fixed, p, v, f"{src}: set.{_quote(p)}")
    ov.validate(fixed, f"{src}: set", path.parent)

    if spec.grid:
        mode, names = "grid", list(spec.grid)
        points = [dict(zip(names, combo)) for combo in itertools.product(*spec.grid.values())]
        where = lambda p, i, point: f"{src}: grid.{_quote(p)}[{spec.grid[p].index(point[p])}]"  # noqa: E731
    else:
        mode, names = "random", list(spec.random.params)
        points = _sample(spec.random, src)
        where = lambda p, i, point: f"{src}: random point {i} ({p} = {point[p]!r})"  # noqa: E731

    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for i, point in enumerate(points):
        d = fixed
        for p in names:
            d = ov.set_path(d, p, point[p], where(p, i, point))
        # a whole point is validated together: one parameter may only be valid with another
        try:
            sc = ov.validate(d, "", path.parent)
        except InputError as e:
            msg = str(e).removeprefix(": ")
            culprit = next((p for p in names if msg.startswith(p + ":") or msg.startswith(p + ".")), None)
            if culprit is not None:  # the error is in one varied value: name it
                raise InputError(f"{where(culprit, i, point)}: {msg}") from None
            desc = ", ".join(f"{p} = {point[p]!r}" for p in names)
            raise InputError(f"{src}: {mode} point {i} ({desc}): {msg}") from None
        point_id = "p" + _digest(msgspec.json.encode(point, order="sorted"))[:8]
        if point_id in seen:
            raise InputError(f"{src}: {mode}: point {i} repeats point {seen[point_id]} ({point})")
        seen[point_id] = i
        for seed in seeds:
            run = msgspec.structs.replace(sc, seed=seed)
            b = msgspec.to_builtins(run)
            tasks.append(Task(point=i, point_id=point_id, params=point, seed=seed, key=task_key(b),
                              run_dir=f"runs/{point_id}-s{seed}", scenario=b))

    return Plan(source=src, sweep_sha256=_digest(data), name=spec.name or path.stem, question=spec.question,
                base=str(base_path), params=names, mode=mode, points=points, seeds=seeds,
                metrics=list(spec.metrics) if spec.metrics is not None else None, tasks=tasks)


def _section_of(spec: SweepFile, p: str) -> str:
    return "set" if p in spec.set else "grid" if p in spec.grid else "random.params"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def task_key(scenario_builtins: dict[str, Any]) -> str:
    """What identifies a finished task: the scenario that runs, seed included,
    without the name and question (they change no result)."""
    d = {k: v for k, v in scenario_builtins.items() if k not in ("name", "question")}
    return _digest(msgspec.json.encode({"v": KEY_VERSION, "scenario": d}, order="sorted"))


def _sample(spec: RandomSpec, src: str) -> list[dict[str, Any]]:
    import numpy as np

    for p, r in spec.params.items():
        where = f"{src}: random.params.{_quote(p)}"
        if r.choices is not None:
            if r.low is not None or r.high is not None or r.log or r.integer:
                raise InputError(f"{where}: give either choices or low/high, not both")
            if not r.choices:
                raise InputError(f"{where}.choices: empty list")
            continue
        if r.low is None or r.high is None:
            raise InputError(f"{where}: needs low and high (or choices)")
        if not r.low <= r.high:
            raise InputError(f"{where}: expected low <= high, got {r.low} > {r.high}")
        if r.log and r.low <= 0:
            raise InputError(f"{where}.low: log sampling needs low > 0")
        if r.integer and (r.low != int(r.low) or r.high != int(r.high)):
            raise InputError(f"{where}: integer sampling needs whole-number low and high")
    rng = np.random.default_rng(spec.seed)
    points = []
    for _ in range(spec.points):
        point: dict[str, Any] = {}
        for p, r in spec.params.items():
            if r.choices is not None:
                point[p] = r.choices[int(rng.integers(len(r.choices)))]
            elif r.integer:
                if r.log:
                    point[p] = int(round(math.exp(rng.uniform(math.log(r.low), math.log(r.high)))))
                else:
                    point[p] = int(rng.integers(int(r.low), int(r.high) + 1))
            else:
                x = math.exp(rng.uniform(math.log(r.low), math.log(r.high))) if r.log else rng.uniform(r.low, r.high)
                point[p] = float(f"{x:.6g}")  # readable parameter values; 6 significant digits
        points.append(point)
    # random draws may repeat (choices, integers): keep the first of each
    unique, seen = [], set()
    for point in points:
        k = msgspec.json.encode(point, order="sorted")
        if k not in seen:
            seen.add(k)
            unique.append(point)
    return unique


# --- a task (runs on a Dask worker) -------------------------------------------------------------------------

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
        logger_factory=lambda *args: _TaskLogger(), cache_logger_on_first_use=False)
    _logging_ready = True


def run_task(task: Task, out: str) -> dict[str, Any]:
    """Run one (point, seed) into its run directory; never raises: a failure
    is a row with status ``error`` and the traceback."""
    from cfx.sim import scenario as scn
    from cfx.sim.run import run_scenario

    started = time.perf_counter()
    run_dir = Path(out) / task.run_dir
    row: dict[str, Any] = {"key": task.key, "point_id": task.point_id, "seed": task.seed,
                           "params": task.params, "run_dir": task.run_dir, "status": "error", "error": None,
                           "run_hash": None, "metrics": {}, "wall_seconds": None}
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


def scalar_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """Every number in a run summary, settlement tiers flattened."""
    from cfx.types import SettlementTier

    out: dict[str, Any] = {}
    for k, v in summary.items():
        if k in _NOT_METRICS or isinstance(v, bool):
            continue
        if v is None or isinstance(v, (int, float)):
            out[k] = v
    tiers = summary.get("settlement_tiers") or {}
    for t in SettlementTier:
        out[f"settlement_tiers.{t.value}"] = tiers.get(t.value, 0)
    for k in DICT_METRICS:
        for name, v in (summary.get(k) or {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out[f"{k}.{name}"] = v
    return out


# --- results on disk ---------------------------------------------------------------------------------------


class Results:
    """The part files of a sweep: one Parquet file per finished task."""

    def __init__(self, out: Path, *, fresh: bool = False) -> None:
        self.out = out
        self.dir = out / RESULTS_DIR
        self.rows: dict[str, dict[str, Any]] = {}  # key -> latest row
        self.next = 0
        parts = [] if fresh else [(f, f.stem.removeprefix("part-")) for f in self.dir.glob("part-*.parquet")]
        for n, f in sorted((int(n), f) for f, n in parts if n.isdigit()):  # in write order: a later row wins
            self.next = max(self.next, n + 1)
            try:
                for row in _read_part(f):
                    self.rows[row["key"]] = row
            except Exception:  # noqa: BLE001  (an unreadable part: its task runs again)
                continue
        for tmp in self.dir.glob("*.tmp"):
            tmp.unlink(missing_ok=True)  # left by a crash mid-write

    def done(self, key: str) -> bool:
        row = self.rows.get(key)
        return row is not None and row["status"] == "ok"

    def add(self, row: dict[str, Any]) -> None:
        import pyarrow.parquet as pq

        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"part-{self.next:04d}.parquet"
        self.next += 1
        tmp = path.with_suffix(".tmp")
        pq.write_table(_part_table(row), tmp)
        os.replace(tmp, path)
        self.rows[row["key"]] = row


def _part_table(row: dict[str, Any]) -> Any:
    """A part file holds the raw row: parameters and metrics as JSON text, so
    parts of any shape read back alike."""
    import pyarrow as pa

    flat = {k: row[k] for k in ("key", "point_id", "seed", "status", "error", "run_hash", "wall_seconds", "run_dir")}
    flat["params_json"] = msgspec.json.encode(row["params"]).decode()
    flat["metrics_json"] = msgspec.json.encode(row["metrics"]).decode()
    schema = pa.schema([("key", pa.string()), ("point_id", pa.string()), ("seed", pa.int64()),
                        ("status", pa.string()), ("error", pa.string()), ("run_hash", pa.string()),
                        ("wall_seconds", pa.float64()), ("run_dir", pa.string()),
                        ("params_json", pa.string()), ("metrics_json", pa.string())])
    return pa.Table.from_pylist([flat], schema=schema)


def _read_part(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows = []
    for r in pq.read_table(path).to_pylist():
        r["params"] = json.loads(r.pop("params_json"))
        r["metrics"] = json.loads(r.pop("metrics_json"))
        rows.append(r)
    return rows


def combined_rows(plan: Plan, results: Results) -> list[dict[str, Any]]:
    """The results table as rows: one per task of the plan that has a result,
    in plan order; rows of tasks no longer in the sweep are left out."""
    rows = []
    metric_names = plan.metrics
    if metric_names is None:
        names: dict[str, None] = {}
        for t in plan.tasks:
            r = results.rows.get(t.key)
            if r is not None:
                names.update(dict.fromkeys(r["metrics"]))
        metric_names = [m for m in METRICS if m in names] + [m for m in names if m not in METRICS]
    for t in plan.tasks:
        r = results.rows.get(t.key)
        if r is None:
            continue
        row: dict[str, Any] = {"point": t.point, "point_id": t.point_id}
        for p in plan.params:
            row[p] = t.params[p]
        row["seed"] = t.seed
        for m in metric_names:
            row[m] = r["metrics"].get(m)
        for c in ("run_hash", "status", "error", "wall_seconds"):
            row[c] = r[c]
        row["run_dir"] = t.run_dir
        row["key"] = t.key
        rows.append(row)
    return rows


def write_table(rows: list[dict[str, Any]], path: Path, params: list[str]) -> None:
    """Write rows as Parquet (temporary name, then rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if rows:
        cols = {}
        for name in rows[0]:
            values = [r[name] for r in rows]
            if name in params and any(isinstance(v, (dict, list)) for v in values):
                values = [msgspec.json.encode(v).decode() for v in values]  # tables and lists: as JSON text
            try:
                cols[name] = pa.array(values, pa.string() if name in _TEXT_COLUMNS else None)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed parameter types: as JSON text
                cols[name] = pa.array([msgspec.json.encode(v).decode() for v in values])
        table = pa.table(cols)
    else:
        table = pa.table({c: pa.array([], pa.string()) for c in ["point", "point_id", *params, "seed", "status"]})
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


# --- running a sweep -----------------------------------------------------------------------------------------


def make_client(scheduler: str | None = None, workers: int = 2) -> Any:
    """A Dask client: of the scheduler at ``scheduler``, or of a new
    `LocalCluster` of ``workers`` single-threaded worker processes."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise InputError(f"--scheduler: cannot connect to {scheduler}: {e}") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster)


def close_client(client: Any) -> None:
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def run_sweep(plan: Plan, out: str | Path, *, client: Any = None, scheduler: str | None = None,
              workers: int = 2, progress: bool = True, fresh: bool = False,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run ``plan``'s tasks not already done in ``out``; write the table and
    report; return counts. Uses ``client`` if given (and leaves it open),
    else starts one (`make_client`) only if there is something to run."""
    out = Path(out).resolve()
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
    finally:
        if own is not None:
            close_client(own)
    counts["failed_total"] = sum(r["status"] != "ok" for r in rows)
    counts["wall_seconds"] = round(time.perf_counter() - started, 2)
    return counts


def _run_tasks(plan: Plan, todo: list[Task], out: Path, client: Any, results: Results, counts: dict[str, int],
               progress: bool, on_row: Callable[[dict[str, Any]], None] | None) -> None:
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
                row = {"key": t.key, "point_id": t.point_id, "seed": t.seed, "params": t.params,
                       "run_dir": t.run_dir, "status": "error", "run_hash": None, "metrics": {},
                       "wall_seconds": None, "error": "".join(traceback.format_exception(e)).rstrip()}
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
    manifest = {"sweep": plan.source, "sweep_sha256": plan.sweep_sha256, "name": plan.name,
                "question": plan.question, "base": plan.base, "mode": plan.mode, "params": plan.params,
                "seeds": plan.seeds, "points": plan.points, "tasks": len(plan.tasks),
                "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    tmp = out / "sweep.json.tmp"
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(manifest)) + b"\n")
    os.replace(tmp, out / "sweep.json")


class _Bar:
    """A rich progress bar over tasks (on stderr, so stdout stays JSON)."""

    def __init__(self, total: int, skipped: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn

        self.ok = self.err = 0
        self.progress = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
                                 TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=Console(stderr=True))
        self.task = self.progress.add_task("sweep", total=total, completed=skipped,
                                           status=f"({skipped} done before)" if skipped else "")
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


# --- the report -----------------------------------------------------------------------------------------------


def _numeric(values: Iterable[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _plot_param(plan: Plan, rows: list[dict[str, Any]], param: str, metrics: list[str]) -> str:
    """One figure: a panel per metric of ``metric`` against ``param``; dots
    per run, the mean line and the min-max band over seeds (and over the
    other parameters, if any)."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["status"] == "ok"]
    xs_all = [r[param] for r in ok]
    numeric = _numeric(xs_all)
    if numeric:
        levels = sorted(set(xs_all))
        pos = {v: v for v in levels}
    else:
        levels = list(dict.fromkeys(json.dumps(p[param], default=str) for p in plan.points))
        pos = {v: i for i, v in enumerate(levels)}
    key = (lambda v: v) if numeric else (lambda v: json.dumps(v, default=str))
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.0 * nrows), squeeze=False)
    for ax, m in zip(axes.flat, metrics):
        pts = [(pos[key(r[param])], r[m]) for r in ok if isinstance(r.get(m), (int, float))]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=12, alpha=0.5, color="tab:blue", label="runs")
            by: dict[Any, list[float]] = {}
            for x, y in pts:
                by.setdefault(x, []).append(y)
            if plan.mode == "grid" or not numeric:  # values shared by several runs: their mean and range
                xs = sorted(by)
                means = [sum(by[x]) / len(by[x]) for x in xs]
                ax.plot(xs, means, color="tab:red", marker="o", ms=3, label="mean")
                ax.fill_between(xs, [min(by[x]) for x in xs], [max(by[x]) for x in xs], color="tab:red",
                                alpha=0.15, label="min-max")
        else:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes, color="grey")
        ax.set_title(m, fontsize=9)
        ax.tick_params(labelsize=8)
        if numeric and levels and min(levels) > 0 and max(levels) / min(levels) >= 20:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(levels)), [lv.strip('"') for lv in levels], rotation=30, fontsize=7)
        ax.set_xlabel(param, fontsize=8)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=8)
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def write_report(plan: Plan, rows: list[dict[str, Any]], path: Path) -> None:
    """A self-contained HTML page: the sweep, a figure per varied parameter,
    failures and the table."""
    e = html.escape
    metrics = plan.metrics or [m for m in METRICS if any(isinstance(r.get(m), (int, float)) for r in rows)]
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] != "ok"]
    parts = [f"<!doctype html><meta charset='utf-8'><title>cfx sweep {e(plan.name)}</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1300px}table{border-collapse:collapse;"
             "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
             "pre{background:#f6f6f6;padding:6px;overflow-x:auto;font-size:11px}</style>",
             f"<h1>cfx sweep: {e(plan.name)}</h1>"]
    if plan.question:
        parts.append(f"<p><b>Question:</b> {e(plan.question)}</p>")
    parts.append(f"<p>Sweep file <code>{e(plan.source)}</code> (sha256 {plan.sweep_sha256[:12]}), base scenario "
                 f"<code>{e(plan.base)}</code>; {plan.mode} of {len(plan.points)} points × {len(plan.seeds)} seeds "
                 f"= {len(plan.tasks)} runs: {len(ok)} ok, {len(failed)} failed, "
                 f"{len(plan.tasks) - len(rows)} without a result.</p>")
    others = len(plan.params) > 1
    for p in plan.params:
        parts.append(f"<h2>{e(p)}</h2>")
        if others:
            parts.append("<p>Each panel pools the runs at a value of this parameter over the seeds and the other "
                         "parameters.</p>")
        if ok:
            parts.append(f"<img alt='{e(p)}' src='data:image/png;base64,{_plot_param(plan, rows, p, metrics)}'>")
        else:
            parts.append("<p>No successful runs to plot.</p>")
    if failed:
        parts.append("<h2>Failed runs</h2>")
        for r in failed:
            desc = ", ".join(f"{p} = {r[p]!r}" for p in plan.params)
            parts.append(f"<p>{e(r['point_id'])} ({e(desc)}), seed {r['seed']}:</p><pre>{e(r['error'] or '')}</pre>")
    cols = ["point_id", *plan.params, "seed", "status", *metrics, "run_hash"]
    shown = rows[:500]
    parts.append(f"<h2>Runs</h2><p>{len(rows)} rows" + (", the first 500 shown" if len(rows) > 500 else "")
                 + "; all in <code>results.parquet</code>.</p><table><tr>"
                 + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr>")
    for r in shown:
        cells = []
        for c in cols:
            v = r.get(c)
            v = (v[:12] if c == "run_hash" and v else v)
            cells.append(f"<td>{e('' if v is None else str(v))}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(parts) + "\n")
    os.replace(tmp, path)


# --- the CLI --------------------------------------------------------------------------------------------------


def main(args: Any) -> int:
    """`cfx sweep SWEEP.toml --out DIR [--scheduler ADDR] [--workers N]`."""
    if args.workers < 1:
        raise InputError(f"--workers: expected at least 1, got {args.workers}")
    plan = load(args.sweep)
    out = Path(args.out) if args.out else Path("sweeps") / Path(args.sweep).stem
    counts = run_sweep(plan, out, scheduler=args.scheduler, workers=args.workers, progress=not args.quiet,
                       fresh=args.fresh)
    print(json.dumps({"out": str(out), "results": str(out / RESULTS_FILE), "report": str(out / "report.html"),
                      **counts}))
    return 1 if counts["failed_total"] else 0
