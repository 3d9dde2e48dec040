"""Reading a run directory for the report: the one module that knows the run
tables' files and column names.

`load_run` reads ``summary.json`` and the small tables into a `Run` (columns as
numpy arrays); `series_top` and `level_changes` derive what the plots need from
the top-of-book snapshots and the event log. Money is micro-$, prices ticks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cfx.errors import InputError

MICRO = 1_000_000
NS_PER_S = 1_000_000_000
MONTH_CODES = "FGHJKMNQUVXZ"
TABLES = ("trades", "book_top", "fixings", "settlements", "accounts", "agents", "margin_calls", "defaults", "events")

# --------------------------------------------------------------------------- reading a run


@dataclass
class Run:
    """What the plots need from one run directory (not the event log: that is read on demand)."""

    path: Path
    summary: dict
    tick_usd: float
    trades: dict[str, np.ndarray]
    book_top: dict[str, np.ndarray]
    fixings: dict[str, np.ndarray]
    settlements: dict[str, np.ndarray]
    accounts: dict[str, np.ndarray]
    agents: dict[str, np.ndarray]
    margin_calls: dict[str, np.ndarray]
    defaults: dict[str, np.ndarray]
    label: str = ""
    agent_type: dict[int, str] = field(default_factory=dict)

    @property
    def series(self) -> list[str]:
        """Every series that has a book snapshot, a trade or a settlement, by expiry."""
        names = set(self.book_top["series"].tolist()) | set(self.trades["series"].tolist())
        names |= set(self.settlements["series"].tolist())
        return sorted(names, key=expiry_key)


def read_table(path: Path, name: str, columns: list[str] | None = None) -> dict[str, np.ndarray]:
    file = path / f"{name}.parquet"
    if not file.is_file():
        raise InputError(f"{path}: missing {file.name} (is this a run directory written by `cfx run`?)")
    try:
        table = pq.read_table(file, columns=columns)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{file}: cannot read Parquet table: {e}") from None
    return arrays(table)


def arrays(table: pa.Table) -> dict[str, np.ndarray]:
    out = {}
    for name in table.column_names:
        col = table.column(name)
        t = col.type
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            # nulls (a one-sided book) become NaN
            out[name] = col.to_numpy(zero_copy_only=False).astype(float) if col.null_count else col.to_numpy()
        elif pa.types.is_date32(t):
            out[name] = np.array(col.cast(pa.int32()).to_numpy(zero_copy_only=False), dtype="datetime64[D]")
        else:
            out[name] = np.array(col.to_pylist(), dtype=object)
    return out


def load_run(run_dir: str | Path) -> Run:
    """Read a run directory's summary and small tables; `InputError` if it is not one."""
    path = Path(run_dir)
    if not path.is_dir():
        raise InputError(f"{path}: no such run directory")
    summary_file = path / "summary.json"
    if not summary_file.is_file():
        raise InputError(f"{path}: missing summary.json (is this a run directory written by `cfx run`?)")
    try:
        summary = json.loads(summary_file.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{summary_file}: not valid JSON: {e}") from None
    if not isinstance(summary, dict):
        raise InputError(f"{summary_file}: expected a JSON object")
    missing = [f"{t}.parquet" for t in TABLES if not (path / f"{t}.parquet").is_file()]
    if missing:
        raise InputError(f"{path}: missing {', '.join(missing)} (is this a run directory written by `cfx run`?)")
    run = Run(
        path=path,
        summary=summary,
        tick_usd=float(summary.get("tick_usd") or 0.01),
        trades=read_table(path, "trades", ["ts", "series", "price", "qty", "maker_account", "taker_account"]),
        book_top=read_table(path, "book_top"),
        fixings=read_table(path, "fixings"),
        settlements=read_table(path, "settlements"),
        accounts=read_table(path, "accounts", ["date", "account", "variation_margin", "fees_total", "defaulted"]),
        agents=read_table(path, "agents"),
        margin_calls=read_table(path, "margin_calls", ["type", "ts", "date", "account", "amount"]),
        defaults=read_table(path, "defaults", ["type", "ts", "date", "account"]),
        label=path.name or str(path),
    )
    run.agent_type = {int(a): str(t) for a, t in zip(run.agents["account"], run.agents["agent_type"])}
    try:
        pq.read_schema(path / "events.parquet")
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{path / 'events.parquet'}: cannot read Parquet table: {e}") from None
    return run


def expiry_key(series: str) -> tuple:
    """``HOP-H27`` sorts as (2027, 3, 'HOP'); anything unparseable sorts last by name."""
    root, _, code = series.rpartition("-")
    if len(code) >= 2 and code[0] in MONTH_CODES and code[1:].isdigit():
        return (2000 + int(code[1:]), MONTH_CODES.index(code[0]) + 1, root)
    return (9999, 99, series)


def as_datetime(ns: np.ndarray) -> np.ndarray:
    return np.asarray(ns, dtype="int64").astype("datetime64[ns]")




def select(d: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[keep] for k, v in d.items()}


def series_top(run: Run, series: str) -> dict[str, np.ndarray]:
    """One series' snapshots: ts, mid ($), spread ($), bid/ask depth (contracts)."""
    bt = select(run.book_top, run.book_top["series"] == series)
    bid = np.asarray(bt["bid"], dtype=float)
    ask = np.asarray(bt["ask"], dtype=float)
    last = np.asarray(bt["last"], dtype=float)
    two_sided = ~np.isnan(bid) & ~np.isnan(ask)
    mid = np.where(two_sided, (bid + ask) / 2, last) * run.tick_usd
    spread = np.where(two_sided, ask - bid, np.nan) * run.tick_usd
    return {"ts": np.asarray(bt["ts"], dtype="int64"), "mid": mid, "spread": spread,
            "bid_qty": np.asarray(bt["bid_qty"], dtype=float), "ask_qty": np.asarray(bt["ask_qty"], dtype=float)}


def run_window(run: Run) -> tuple[np.datetime64, np.datetime64] | None:
    """First and last simulated date (from settlements, else snapshots)."""
    if len(run.settlements["date"]):
        return run.settlements["date"].min(), run.settlements["date"].max()
    if len(run.book_top["ts"]):
        d = as_datetime(run.book_top["ts"]).astype("datetime64[D]")
        return d.min(), d.max()
    return None


def level_changes(path: Path, series: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ts, is-bid, price, qty of one series' ``LevelChanged`` events, in event order.

    Streams the event log in batches of six columns and keeps only the
    matching rows, so peak memory is one batch plus the result."""
    import pyarrow.compute as pc

    parts: list[pa.RecordBatch] = []
    try:
        f = pq.ParquetFile(path)
        for batch in f.iter_batches(batch_size=65_536, columns=["type", "series", "ts", "side", "price", "qty"]):
            keep = pc.and_(pc.equal(batch.column("type"), "LevelChanged"), pc.equal(batch.column("series"), series))
            sub = batch.filter(keep)
            if sub.num_rows:
                parts.append(pa.record_batch([pc.equal(sub.column("side"), "buy"), sub.column("ts"),
                                              sub.column("price"), sub.column("qty")],
                                             names=["bid", "ts", "price", "qty"]))
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{path}: cannot read Parquet table: {e}") from None
    if not parts:
        empty = np.zeros(0, dtype="int64")
        return empty, np.zeros(0, dtype=bool), empty, empty
    t = pa.Table.from_batches(parts)
    col = lambda n, d: t.column(n).to_numpy(zero_copy_only=False).astype(d)  # noqa: E731
    return col("ts", "int64"), col("bid", bool), col("price", "int64"), col("qty", "int64")
