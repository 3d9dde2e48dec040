"""A sweep's results on disk: one Parquet part file per finished task
(written to a temporary name and renamed), and the combined table
``results.parquet`` rebuilt from them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import msgspec

from cfx.sweep.metrics import METRICS
from cfx.sweep.plan import Plan

RESULTS_DIR = "results"
RESULTS_FILE = "results.parquet"
_TEXT_COLUMNS = {"point_id", "status", "error", "run_hash", "run_dir", "key"}


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
                for row in read_part(f):
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
    schema = pa.schema(
        [
            ("key", pa.string()),
            ("point_id", pa.string()),
            ("seed", pa.int64()),
            ("status", pa.string()),
            ("error", pa.string()),
            ("run_hash", pa.string()),
            ("wall_seconds", pa.float64()),
            ("run_dir", pa.string()),
            ("params_json", pa.string()),
            ("metrics_json", pa.string()),
        ]
    )
    return pa.Table.from_pylist([flat], schema=schema)


def read_part(path: Path) -> list[dict[str, Any]]:
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
