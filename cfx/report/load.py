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
from cfx.tables import numpy_columns

MICRO = 1_000_000
NS_PER_S = 1_000_000_000
MONTH_CODES = "FGHJKMNQUVXZ"
TABLES = ("trades", "book_top", "fixings", "settlements", "accounts", "agents", "margin_calls", "defaults")
# The columns the report reads, per table: the report's name -> the file's column. A change of the
# run tables' schema is a change here (and in `arrays` for a new type), nowhere else in cfx.report.
COLUMNS: dict[str, dict[str, str]] = {
    "trades": {
        "ts": "time",
        "series": "series",
        "price": "price_ticks",
        "qty": "qty_lots",
        "maker_account": "maker_account",
        "taker_account": "taker_account",
        "aggressor": "aggressor",
    },
    "book_top": {
        "ts": "time",
        "series": "series",
        "bid": "bid_ticks",
        "bid_qty": "bid_qty_lots",
        "ask": "ask_ticks",
        "ask_qty": "ask_qty_lots",
        "last": "last_ticks",
    },
    "fixings": {"date": "date", "index": "index", "value": "value_usd_micro"},
    "settlements": {"ts": "time", "date": "date", "series": "series", "price": "price_ticks", "tier": "tier"},
    "accounts": {
        "date": "date",
        "account": "account",
        "variation_margin": "variation_margin_usd_micro",
        "fees_total": "fees_total_usd_micro",
        "defaulted": "defaulted",
        "initial_margin": "initial_margin_usd_micro",
    },
    "agents": {"account": "account", "agent_type": "agent_type"},
    "margin_calls": {"type": "type", "ts": "time", "date": "date", "account": "account", "amount": "amount_usd_micro"},
    "defaults": {"type": "type", "ts": "time", "date": "date", "account": "account"},
    "positions": {"date": "date", "account": "account", "series": "series", "position": "position_lots"},
    "indicative": {"ts": "time", "index": "index", "value": "value_usd_micro"},
    "funding": {"ts": "time", "series": "series", "rate": "rate_1e8"},
    "events": {
        "type": "type",
        "ts": "time",
        "series": "series",
        "reason": "reason",
        "event": "details",
        "side": "side",
        "price": "price_ticks",
        "qty": "qty_lots",
    },
}

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
    positions: dict[str, np.ndarray] = field(default_factory=dict)
    indicative: dict[str, np.ndarray] = field(default_factory=dict)
    funding: dict[str, np.ndarray] = field(default_factory=dict)
    label: str = ""
    agent_type: dict[int, str] = field(default_factory=dict)
    _events: dict[str, np.ndarray] | None = None

    @property
    def series(self) -> list[str]:
        """Every series that has a book snapshot, a trade or a settlement, by expiry."""
        names = set(self.book_top["series"].tolist()) | set(self.trades["series"].tolist())
        names |= set(self.settlements["series"].tolist())
        return sorted(names, key=expiry_key)


def read_table(path: Path, name: str) -> dict[str, np.ndarray]:
    """One run table's `COLUMNS`, by the report's names; `InputError` if it is missing or unreadable."""
    file = path / f"{name}.parquet"
    if not file.is_file():
        raise InputError(f"{path}: missing {file.name} (is this a run directory written by `cfx run`?)")
    names = COLUMNS[name]
    try:
        table = pq.read_table(file, columns=list(names.values()))
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{file}: cannot read Parquet table: {e}") from None
    cols = numpy_columns(table)
    return {ours: cols[theirs] for ours, theirs in names.items()}


def read_optional(path: Path, name: str) -> dict[str, np.ndarray]:
    """A table that older runs (or runs without the feature) do not write: empty columns when absent."""
    if not (path / f"{name}.parquet").is_file():
        return {c: np.zeros(0, dtype=object if c in ("series", "index") else "int64") for c in COLUMNS[name]}
    return read_table(path, name)


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
        trades=read_table(path, "trades"),
        book_top=read_table(path, "book_top"),
        fixings=read_table(path, "fixings"),
        settlements=read_table(path, "settlements"),
        accounts=read_table(path, "accounts"),
        agents=read_table(path, "agents"),
        margin_calls=read_table(path, "margin_calls"),
        defaults=read_table(path, "defaults"),
        positions=read_optional(path, "positions"),
        indicative=read_optional(path, "indicative"),
        funding=read_optional(path, "funding"),
        label=path.name or str(path),
    )
    run.agent_type = {int(a): str(t) for a, t in zip(run.agents["account"], run.agents["agent_type"])}
    events = path / "events.parquet"
    if events.is_file():  # absent when the run kept no event log ([output] events)
        try:
            pq.read_schema(events)
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"{events}: cannot read Parquet table: {e}") from None
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
    return {
        "ts": np.asarray(bt["ts"], dtype="int64"),
        "mid": mid,
        "spread": spread,
        "bid_qty": np.asarray(bt["bid_qty"], dtype=float),
        "ask_qty": np.asarray(bt["ask_qty"], dtype=float),
    }


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
        c = COLUMNS["events"]
        for batch in f.iter_batches(
            batch_size=65_536, columns=[c[n] for n in ("type", "series", "ts", "side", "price", "qty")]
        ):
            text = lambda n: batch.column(c[n]).cast(pa.string())  # noqa: E731  (dictionary-encoded)
            keep = pc.and_(pc.equal(text("type"), "LevelChanged"), pc.equal(text("series"), series))
            sub = batch.filter(keep)
            if sub.num_rows:
                ts = sub.column(c["ts"])
                if pa.types.is_timestamp(ts.type):
                    ts = ts.cast(pa.timestamp("ns", tz=ts.type.tz)).cast(pa.int64())
                parts.append(
                    pa.record_batch(
                        [
                            pc.equal(sub.column(c["side"]).cast(pa.string()), "buy"),
                            ts,
                            sub.column(c["price"]),
                            sub.column(c["qty"]),
                        ],
                        names=["bid", "ts", "price", "qty"],
                    )
                )
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{path}: cannot read Parquet table: {e}") from None
    if not parts:
        empty = np.zeros(0, dtype="int64")
        return empty, np.zeros(0, dtype=bool), empty, empty
    t = pa.Table.from_batches(parts)
    col = lambda n, d: t.column(n).to_numpy(zero_copy_only=False).astype(d)  # noqa: E731
    return col("ts", "int64"), col("bid", bool), col("price", "int64"), col("qty", "int64")


# --------------------------------------------------------------------------- what the plots measure

DAY_NS = 86_400 * NS_PER_S


def market_events(run: Run) -> dict[str, np.ndarray]:
    """The event log's halts and rejects (``type``, ``ts``, ``series``,
    ``reason``, ``until``), read once per run with a filter on the type."""
    if run._events is None:
        file = run.path / "events.parquet"
        if not file.is_file():  # the run kept no event log ([output] events)
            run._events = {
                c: np.zeros(0, dtype=object if c in ("type", "series", "reason") else "int64")
                for c in ("type", "ts", "series", "reason", "until")
            }
            return run._events
        try:
            names = {c: COLUMNS["events"][c] for c in ("type", "ts", "series", "reason", "event")}
            table = pq.read_table(
                file, columns=list(names.values()), filters=[(names["type"], "in", ["SeriesHalted", "OrderRejected"])]
            )
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"{file}: cannot read Parquet table: {e}") from None
        cols = numpy_columns(table)
        ev = {ours: cols[theirs] for ours, theirs in names.items()}
        halted = ev["type"] == "SeriesHalted"
        until = np.array(
            [json.loads(e or "{}").get("until", t) if h else t for e, t, h in zip(ev["event"], ev["ts"], halted)],
            dtype="int64",
        )
        ev["until"] = until
        del ev["event"]
        run._events = ev
    return run._events


def shock_marks(run: Run) -> list[dict]:
    """The scenario's shocks as the run recorded them (summary.json ``shocks``):
    ``type``, ``label``, ``start_ns``, ``end_ns``."""
    return [s for s in run.summary.get("shocks") or [] if isinstance(s, dict) and "start_ns" in s]


def halts(run: Run) -> list[tuple[str, int, int]]:
    """(series, start ns, end ns) of every trading halt (circuit breakers and kill switches)."""
    ev = market_events(run)
    k = ev["type"] == "SeriesHalted"
    return [(str(s), int(a), int(b)) for s, a, b in zip(ev["series"][k], ev["ts"][k], ev["until"][k])]


def rejects(run: Run) -> dict[str, np.ndarray]:
    """Every rejected order: ``ts`` and ``reason``."""
    ev = market_events(run)
    k = ev["type"] == "OrderRejected"
    return {"ts": ev["ts"][k].astype("int64"), "reason": ev["reason"][k]}


def trade_days(ts: np.ndarray) -> np.ndarray:
    """The UTC date of each nanosecond timestamp."""
    return (np.asarray(ts, dtype="int64") // DAY_NS).astype("datetime64[D]")


def daily_volume(run: Run) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Dates with trades and, per series, contracts traded each date."""
    tr = run.trades
    days = trade_days(tr["ts"])
    dates = np.unique(days)
    out = {}
    for s in run.series:
        k = tr["series"] == s
        if k.any():
            out[s] = np.bincount(
                np.searchsorted(dates, days[k]), weights=tr["qty"][k].astype(float), minlength=len(dates)
            )
    return dates, out


def open_interest(run: Run) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """End-of-day open interest per series (the long positions' sum, contracts)."""
    pos = run.positions
    dates = np.unique(pos["date"])
    out = {}
    for s in run.series:
        k = (pos["series"] == s) & (np.asarray(pos["position"], dtype=float) > 0)
        if k.any():
            out[s] = np.bincount(
                np.searchsorted(dates, pos["date"][k]), weights=pos["position"][k].astype(float), minlength=len(dates)
            )
    return dates, out


def maker_taker(run: Run) -> tuple[list[str], np.ndarray]:
    """Agent types and contracts traded between them: ``m[i, j]`` is the
    volume where type ``i`` was the maker (resting) and type ``j`` the taker."""
    tr = run.trades
    maker = np.array([run.agent_type.get(int(a), "other") for a in tr["maker_account"]], dtype=object)
    taker = np.array([run.agent_type.get(int(a), "other") for a in tr["taker_account"]], dtype=object)
    types = sorted(set(maker.tolist()) | set(taker.tolist()))
    m = np.zeros((len(types), len(types)))
    if types:
        i, j = np.searchsorted(types, maker), np.searchsorted(types, taker)
        np.add.at(m, (i, j), tr["qty"].astype(float))
    return types, m


def inventory(run: Run, agent_type: str = "market_maker") -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Net position (contracts, all series) of each account of ``agent_type``
    after every trade it took part in: per account, the trade times and positions."""
    tr = run.trades
    accounts = [a for a, t in run.agent_type.items() if t == agent_type]
    buy = tr["aggressor"] == "buy"
    qty = tr["qty"].astype("int64")
    taker_delta = np.where(buy, qty, -qty)
    ts = np.asarray(tr["ts"], dtype="int64")
    out = {}
    for a in accounts:
        delta = np.where(tr["taker_account"] == a, taker_delta, 0) - np.where(tr["maker_account"] == a, taker_delta, 0)
        k = delta != 0
        if k.any():
            out[a] = (ts[k], np.cumsum(delta[k]))
    return out


def current_index(run: Run, basket: str, at: np.ndarray) -> np.ndarray:
    """The basket's latest published value ($) at each time: the indicative
    (intraday) value, else the last fixing dated before that day; NaN before any."""
    at = np.asarray(at, dtype="int64")
    ind = select(run.indicative, run.indicative["index"] == basket)
    fx = select(run.fixings, run.fixings["index"] == basket)
    order = np.argsort(fx["date"])
    fdates = fx["date"][order].astype("datetime64[D]").astype("int64") * DAY_NS + DAY_NS  # known from the next day
    fvals = fx["value"][order].astype(float) / MICRO
    out = np.full(len(at), np.nan)
    i = np.searchsorted(fdates, at, side="right") - 1
    out[i >= 0] = fvals[i[i >= 0]]
    if len(ind["ts"]):
        o = np.argsort(ind["ts"], kind="stable")
        its, ivals = np.asarray(ind["ts"], dtype="int64")[o], ind["value"][o].astype(float) / MICRO
        j = np.searchsorted(its, at, side="right") - 1
        same_day = (j >= 0) & (its[np.maximum(j, 0)] // DAY_NS == at // DAY_NS)
        out[same_day] = ivals[j[same_day]]
    return out


def basket_of(run: Run, series: str) -> str | None:
    """The basket a series settles on (its root names it: ``HOP`` for ``HOPPER``)."""
    baskets = run.summary.get("baskets") or []
    root = series.rpartition("-")[0]
    named = [b for b in baskets if b.upper().startswith(root.upper())]
    return named[0] if named else (baskets[0] if len(baskets) == 1 else None)


def expected_final(run: Run, series: str, at: np.ndarray) -> np.ndarray:
    """The final settlement expected at each time ($): the mean of the
    expiry month's business-day fixings (Monday to Friday, as
    `cfx.products.monthly_average` counts them), each day already fixed as
    fixed (a day without a fixing carries the previous one), the rest at the
    current index (the index taken as a martingale; the ``monthly_average`` rule)."""
    key = expiry_key(series)
    basket = basket_of(run, series)
    if basket is None or key[0] == 9999:
        return np.full(len(at), np.nan)
    first = np.datetime64(f"{key[0]:04d}-{key[1]:02d}-01")
    month = np.arange(first, (first.astype("datetime64[M]") + 1).astype("datetime64[D]"))
    month = month[np.is_busday(month)]
    fx = select(run.fixings, run.fixings["index"] == basket)
    order = np.argsort(fx["date"])
    fdates, fvals = fx["date"][order].astype("datetime64[D]"), fx["value"][order].astype(float) / MICRO
    i = np.searchsorted(fdates, month, side="right") - 1  # the fixing on or before each day of the month
    fixed = np.where(i >= 0, fvals[np.maximum(i, 0)], np.nan)
    now = current_index(run, basket, at)
    out = np.empty(len(at))
    for n, (t, x) in enumerate(zip(trade_days(at), now)):
        known = fixed[month < t]  # a day's fixing is known after that day
        out[n] = (known.sum() + x * (len(month) - len(known))) / len(month)
    return out


def margin_by_type(run: Run) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Dates and, per agent type, the initial margin its accounts were required to hold ($)."""
    ac = run.accounts
    dates = np.unique(ac["date"])
    types = np.array([run.agent_type.get(int(a), "other") for a in ac["account"]], dtype=object)
    di = np.searchsorted(dates, ac["date"])
    return dates, {
        t: np.bincount(di[types == t], weights=ac["initial_margin"][types == t].astype(float), minlength=len(dates))
        / MICRO
        for t in sorted(set(types.tolist()))
    }


def funding_rates(run: Run) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per perpetual series: funding times and the rate paid at each (one
    value per interval, as a fraction: the table's ``rate`` is in 1e-8 units)."""
    fd = run.funding
    out = {}
    for s in sorted(set(fd["series"].tolist())):
        k = fd["series"] == s
        ts, idx = np.unique(np.asarray(fd["ts"][k], dtype="int64"), return_index=True)
        out[s] = (ts, np.asarray(fd["rate"][k], dtype=float)[idx] * 1e-8)
    return out
