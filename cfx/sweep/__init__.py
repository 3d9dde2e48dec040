"""`cfx sweep`: one scenario, many parameter values and seeds, run on Dask.

A sweep file (TOML, kebab-case keys, unknown keys are errors) names a base
scenario and what to vary::

    base = "baseline.toml"             # relative to the sweep file
    seeds = 3                          # or a list: [1, 7, 42]; a count N means
                                       # the base seed, base seed + 1, ... + N-1
    metrics = ["mean_spread_ticks"]    # summary metrics to tabulate and plot
                                       # (default: every scalar one)
    labels = ["small tick", "large"]   # a short name per grid point (optional)
    better = { "mean_spread_ticks" = "lower" }   # metrics to rank (optional)
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
``OUT/runs/<point-id>-s<seed>/`` (in the compact form: ``[output] journal =
false`` and ``events = "trades-only"`` unless the base scenario's file or
``[set]`` says otherwise, e.g. ``"output.events" = "full"``) and returns one row: parameters, seed,
every scalar summary metric, the run hash, wall seconds, status and error.
Rows are written as they arrive, one Parquet part file each
(``OUT/results/part-NNNN.parquet``, written to a temporary name and renamed,
so a crash leaves whole files only); ``OUT/results.parquet`` is rebuilt from
the parts every few seconds and at the end; ``OUT/report.html`` has a plot per
varied parameter and, for a grid, the points compared: mean ± standard
error over the seeds per point and metric, and for each metric named in
``better`` the best point and which others are within noise of it (paired
by seed, `stats`); ``OUT/summary.md`` is that table and answer as text.

Resuming: a task's key is a hash of the fully resolved scenario it runs
(base scenario contents after every override, the seed included; its
``name`` and ``question`` left out). Re-running skips every key that already
has an ``ok`` row; failed tasks run again. Editing the sweep file or the base
scenario therefore reruns exactly the points whose scenario changed, and rows
whose key is no longer in the sweep drop out of ``results.parquet``. The
sweep file's own hash is recorded in ``OUT/sweep.json`` for provenance only.
Changing cfx's code does not change keys: use ``--fresh`` after a code change.

Modules, in the order a sweep goes through them:

- `plan`: the sweep file (`load`, `decode`) -> a `Plan` of `Task` s; `task_key`.
- `metrics`: the summary numbers a sweep tabulates (`METRICS`, `scalar_metrics`).
- `task`: one task on a Dask worker (`run_task`), never raising.
- `results`: part files and the combined table (`Results`, `combined_rows`, `write_table`).
- `runner`: the Dask client and the loop over tasks (`make_client`, `run_sweep`).
- `stats`: points compared over seeds (mean ± s.e., paired differences, the answer).
- `report`: report.html (`write_report`) and summary.md (`write_summary`).

`main(args)` is the command; library users call `load` and `run_sweep`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cfx.command import Output
from cfx.errors import InputError
from cfx.sweep.metrics import DICT_METRICS, METRICS, scalar_metrics
from cfx.sweep.plan import (
    KEY_VERSION,
    RESERVED_PATHS,
    Plan,
    RandomParam,
    RandomSpec,
    SweepFile,
    Task,
    decode,
    load,
    task_key,
)
from cfx.sweep.report import write_report, write_summary
from cfx.sweep.results import RESULTS_DIR, RESULTS_FILE, Results, combined_rows, read_part, write_table
from cfx.sweep.runner import FLUSH_SECONDS, close_client, make_client, run_sweep
from cfx.sweep.task import run_task

__all__ = [
    "DICT_METRICS",
    "FLUSH_SECONDS",
    "KEY_VERSION",
    "METRICS",
    "RESERVED_PATHS",
    "RESULTS_DIR",
    "RESULTS_FILE",
    "Plan",
    "RandomParam",
    "RandomSpec",
    "Results",
    "SweepFile",
    "Task",
    "close_client",
    "combined_rows",
    "decode",
    "load",
    "main",
    "make_client",
    "read_part",
    "run_sweep",
    "run_task",
    "scalar_metrics",
    "task_key",
    "write_report",
    "write_summary",
    "write_table",
]


def main(args: Any) -> Output:
    """`cfx sweep SWEEP.toml --out DIR [--scheduler ADDR] [--workers N]`: the
    counts as JSON; exit 1 if any run failed."""
    if args.scheduler and args.workers is not None:  # the scheduler's own workers run the tasks: it would be ignored
        raise InputError("--workers sizes the local cluster; with --scheduler the scheduler's workers run the tasks")
    workers = 2 if args.workers is None else args.workers
    plan = load(args.sweep)
    out = Path(args.out) if args.out else Path("sweeps") / Path(args.sweep).stem
    counts = run_sweep(plan, out, scheduler=args.scheduler, workers=workers, progress=not args.quiet, fresh=args.fresh)
    result = {"out": str(out), "results": str(out / RESULTS_FILE), "report": str(out / "report.html"), **counts}
    if plan.mode == "grid":
        result["summary"] = str(out / "summary.md")
    return Output(value=result, code=1 if counts["failed_total"] else 0)
