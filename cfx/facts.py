"""`cfx facts RUN_DIR`: the stylized facts of a run's front month, each with
its target range, the source of the range, and PASS/FAIL.

A realistic simulated market should show what real limit-order-book markets
show (Cont 2001, "Empirical properties of asset returns: stylized facts and
statistical issues"; Vyetrenko et al. 2020, "Get Real: Realism Metrics for
Robust Limit Order Book Market Simulations"; Lillo & Farmer 2004, "The long
memory of the efficient market"). This module measures them from what a run
writes (``trades``, ``book_top``, ``agents``, ``settlements``, ``fixings``
Parquet tables, ``summary.json``; ``events`` only for the auction
uncrosses), so a change to agents or the information process can be judged
by numbers rather than by eye.

The front month of a day is the series with the most trading-day volume
that day (ties and days without trades: the nearest expiry); every
intraday figure pools the days, each day on its own front month. Returns are
taken within a day only (never across the overnight gap); an ACF pools the
days' lagged products (one mean and variance over all days, products only
within a day). The trading day's trades only: trades printed by a call
auction (`AuctionUncrossed`: the open, a breaker's reopening) are left
out. A series that matches in periodic batches prints every trade of its
trading day by a batch's uncross (`BatchUncrossed`), so those are kept and
measured: in a batch run the facts are the batch prints' (the report says
so, with how many batches printed them).

Pure analytics: floats and numpy only; reads a run, never writes one except
``facts.json``. A column or table that is missing is reported in the fact it
spoils (``value`` null, ``pass`` false, a ``note``) rather than crashing.
"""

from __future__ import annotations

import bisect
import datetime as dt
import html
import json
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cfx.command import Output
from cfx.errors import InputError
from cfx.products import business_days, is_perpetual_symbol, month_days, parse_symbol

NS_PER_S = 1_000_000_000
MINUTE_NS = 60 * NS_PER_S
HOUR_NS = 3600 * NS_PER_S
MICRO = 1_000_000
MM_TYPE = "market_maker"
NOISE_TYPE = "noise_trader"

CONT = "Cont 2001, Empirical properties of asset returns: stylized facts and statistical issues"
VYETRENKO = "Vyetrenko et al. 2020, Get Real: Realism Metrics for Robust Limit Order Book Market Simulations"
LILLO_FARMER = "Lillo & Farmer 2004, The long memory of the efficient market"
DESIGN = "cfx design: market makers make the book, noise is a minority of the flow"


# --------------------------------------------------------------------------- statistics (pure)


def excess_kurtosis(x: np.ndarray) -> float:
    """Population excess kurtosis m4 / m2^2 - 3 (0 for a normal); NaN if < 4 values or constant."""
    x = np.asarray(x, dtype=float)
    if len(x) < 4:
        return math.nan
    d = x - x.mean()
    m2 = float(np.mean(d * d))
    if m2 == 0:
        return math.nan
    return float(np.mean(d**4) / (m2 * m2) - 3.0)


def pooled_acf(segments: Sequence[np.ndarray], lags: Iterable[int]) -> dict[int, float]:
    """Autocorrelation at each lag of a series cut into segments (days):
    one mean and variance over all values, lagged products only within a
    segment, each lag's sum divided by its number of pairs. NaN where a lag
    has no pair or the series is constant."""
    segs = [np.asarray(s, dtype=float) for s in segments if len(s)]
    out = {}
    if not segs:
        return {k: math.nan for k in lags}
    allv = np.concatenate(segs)
    mean = allv.mean()
    var = float(np.mean((allv - mean) ** 2))
    for k in lags:
        num, n = 0.0, 0
        for s in segs:
            if len(s) > k:
                d = s - mean
                num += float(np.dot(d[:-k], d[k:]))
                n += len(s) - k
        out[k] = num / n / var if n and var > 0 else math.nan
    return out


def grid_returns(ts: np.ndarray, mid: np.ndarray, step_ns: int) -> list[np.ndarray]:
    """Log mid returns over `step_ns`, within each day: the snapshots on the
    day's grid (ts - the day's first ts a multiple of `step_ns`), a return
    between each two grid points exactly `step_ns` apart whose mids are both
    known (positive and not NaN). One array per day."""
    ts = np.asarray(ts, dtype="int64")
    mid = np.asarray(mid, dtype=float)
    order = np.argsort(ts, kind="stable")
    ts, mid = ts[order], mid[order]
    days = ts.astype("datetime64[ns]").astype("datetime64[D]")
    out = []
    for day in np.unique(days):
        m = days == day
        t, p = ts[m], mid[m]
        on = (t - t[0]) % step_ns == 0
        t, p = t[on], p[on]
        if len(t) < 2:
            out.append(np.empty(0))
            continue
        ok = (np.diff(t) == step_ns) & (p[1:] > 0) & (p[:-1] > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.log(p[1:]) - np.log(p[:-1])
        out.append(r[ok & np.isfinite(r)])
    return out


def zero_fraction(segments: Sequence[np.ndarray]) -> float:
    """Share of returns that are exactly zero (the mid did not move)."""
    allv = np.concatenate([np.asarray(s, float) for s in segments]) if segments else np.empty(0)
    return float(np.mean(allv == 0)) if len(allv) else math.nan


def order_signs(day: np.ndarray, taker_id: np.ndarray, aggressor: np.ndarray) -> list[np.ndarray]:
    """One sign per aggressing order (+1 buy, -1 sell), in trade order, one
    array per day: consecutive trades are grouped by the aggressing order's
    id (a sweep of several levels is one order, one sign)."""
    day = np.asarray(day)
    taker_id = np.asarray(taker_id)
    sign = np.where(np.asarray(aggressor) == "buy", 1.0, -1.0)
    out = []
    for d in np.unique(day) if len(day) else []:
        m = day == d
        ids, s = taker_id[m], sign[m]
        _, first = np.unique(ids, return_index=True)
        out.append(s[np.sort(first)])
    return out


def lot_shares(qty: np.ndarray, maker_type: np.ndarray, taker_type: np.ndarray) -> dict[str, dict[str, float]]:
    """Per agent type: its share of maker-side lots and of all lots (maker plus
    taker sides over twice the volume)."""
    qty = np.asarray(qty, dtype=float)
    total = qty.sum()
    out: dict[str, dict[str, float]] = {}
    if total <= 0:
        return out
    for t in sorted(set(np.asarray(maker_type).tolist()) | set(np.asarray(taker_type).tolist())):
        made = float(qty[np.asarray(maker_type) == t].sum())
        took = float(qty[np.asarray(taker_type) == t].sum())
        out[t] = {"maker": made / total, "all": (made + took) / (2 * total)}
    return out


def hourly_volume(ts: np.ndarray, qty: np.ndarray, sessions: dict[np.datetime64, tuple[int, int]]) -> np.ndarray:
    """Lots per hour of the session, summed over days: hour k of a day is
    [open + k h, open + (k+1) h); the last hour is [close - 1 h, close) (the
    same bucket when the session is whole hours). `sessions` maps each day
    to its (open, close) ns. Trades outside the session are left out."""
    if not sessions:
        return np.empty(0)
    hours = max(int(round((c - o) / HOUR_NS)) for o, c in sessions.values())
    prof = np.zeros(hours)
    ts = np.asarray(ts, dtype="int64")
    qty = np.asarray(qty, dtype=float)
    days = ts.astype("datetime64[ns]").astype("datetime64[D]")
    for day, (o, c) in sessions.items():
        m = (days == day) & (ts >= o) & (ts < c)
        if not m.any():
            continue
        k = (ts[m] - o) // HOUR_NS
        k = np.where(ts[m] >= c - HOUR_NS, hours - 1, np.minimum(k, hours - 1))
        np.add.at(prof, k, qty[m])
    return prof


def u_shape_ratios(profile: np.ndarray) -> tuple[float, float]:
    """First and last hour's volume over the median of the hours between."""
    if len(profile) < 3:
        return math.nan, math.nan
    med = float(np.median(profile[1:-1]))
    if med <= 0:
        return (math.inf if profile[0] > 0 else math.nan), (math.inf if profile[-1] > 0 else math.nan)
    return float(profile[0] / med), float(profile[-1] / med)


def expected_final(symbol: str, day: dt.date, fixings: dict[dt.date, float]) -> float:
    """The expected final settlement of `symbol` seen on `day`: the mean over
    the business days of its contract month of the fixing where it is known
    by `day` (month-to-date; a business day without one carries the latest
    earlier fixing) and the latest fixing on or before `day` for the
    remaining days. NaN without any fixing by `day`. A perpetual (never
    final-settling) expects the latest fixing itself."""
    known = sorted(d for d in fixings if d <= day)
    if not known:
        return math.nan
    if is_perpetual_symbol(symbol):
        return float(fixings[known[-1]])
    _, year, month = parse_symbol(symbol)
    first, last = month_days(year, month)
    vals = []
    for b in business_days(first, last):
        if b > day:
            vals.append(fixings[known[-1]])  # not fixed yet: the latest fixing
        elif b in fixings:
            vals.append(fixings[b])
        else:  # a day without a fixing carries the latest earlier one, as the final settlement does
            i = bisect.bisect_right(known, b)
            vals.append(fixings[known[i - 1]] if i else math.nan)
    return float(np.mean(vals))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def lead_correlations(
    futures_change: np.ndarray, expected_change: np.ndarray, expected_change_before: np.ndarray
) -> tuple[float, float]:
    """Correlation of the daily futures settlement change with the same day's
    and with the previous day's change in expected final settlement."""
    return (correlation(futures_change, expected_change), correlation(futures_change, expected_change_before))


# --------------------------------------------------------------------------- reading a run


def _table(path: Path, name: str, columns: list[str] | None = None) -> tuple[dict[str, np.ndarray], list[str]]:
    """A Parquet table as numpy columns, and which of `columns` it lacks."""
    file = path / f"{name}.parquet"
    if not file.is_file():
        raise InputError(f"{path}: missing {file.name} (is this a run directory written by `cfx run`?)")
    try:
        names = pq.read_schema(file).names
        want = [c for c in columns if c in names] if columns else None
        table = pq.read_table(file, columns=want)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{file}: cannot read Parquet table: {e}") from None
    missing = [c for c in (columns or []) if c not in names]
    out = {}
    for c in table.column_names:
        col = table.column(c)
        t = col.type
        if pa.types.is_timestamp(t):  # times as int64 ns
            col, t = col.cast(pa.int64()), pa.int64()
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            out[c] = col.to_numpy(zero_copy_only=False).astype(float) if col.null_count else col.to_numpy()
        else:  # strings; dates as datetime.date
            out[c] = np.array(col.to_pylist(), dtype=object)
    return out, missing


def _expiry(symbol: str) -> tuple:
    try:
        root, y, m = parse_symbol(symbol)
        return (y, m, root)
    except InputError:
        return (9999, 99, symbol)


def _fact(name: str, value: Any, target: str, passed: bool, source: str, note: str = "") -> dict:
    f = {"name": name, "value": value, "target": target, "pass": bool(passed), "source": source}
    if note:
        f["note"] = note
    return f


def _num(x: float, digits: int = 4) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def _missing(name: str, target: str, source: str, what: str) -> dict:
    return _fact(name, None, target, False, source, f"cannot measure: {what}")


class _Run:
    """The columns the facts need, with the front month of each day."""

    def __init__(self, path: Path) -> None:
        if not path.is_dir():
            raise InputError(f"{path}: no such run directory")
        sf = path / "summary.json"
        if not sf.is_file():
            raise InputError(f"{path}: missing summary.json (is this a run directory written by `cfx run`?)")
        try:
            self.summary = json.loads(sf.read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"{sf}: not valid JSON: {e}") from None
        if not isinstance(self.summary, dict):
            raise InputError(f"{sf}: expected a JSON object")
        self.path = path
        self.trades, self.trades_missing = _table(
            path,
            "trades",
            ["time", "series", "price_ticks", "qty_lots", "maker_account", "taker_account", "taker_id", "aggressor"],
        )
        self.book, self.book_missing = _table(path, "book_top", ["time", "series", "bid_ticks", "ask_ticks"])
        self.agents, self.agents_missing = _table(path, "agents", ["account", "agent_type"])
        self.settlements, self.settlements_missing = _table(
            path, "settlements", ["date", "series", "price_ticks", "tier"]
        )
        self.fixings, self.fixings_missing = _table(path, "fixings", ["date", "index", "value_usd_micro"])
        self.auctions, self.batches = self._auctions()
        self._trading_day()
        self.front = self._front_by_day()

    def _auctions(self) -> tuple[set[tuple[int, str]], int]:
        """(ts, series) of every call-auction uncross (`AuctionUncrossed`),
        and how many periodic batches uncrossed (`BatchUncrossed`), from the
        event log."""
        file = self.path / "events.parquet"
        if not file.is_file():
            return set(), 0
        try:
            t = pq.read_table(
                file,
                columns=["time", "series", "type"],
                filters=[("type", "in", ["AuctionUncrossed", "BatchUncrossed"])],
            )
        except (pa.ArrowException, OSError, KeyError):
            return set(), 0
        calls = np.asarray(t.column("type").to_pylist(), dtype=object) == "AuctionUncrossed"
        times = t.column("time").cast(pa.int64()).to_pylist()
        series = t.column("series").to_pylist()
        return {(ts, s) for ts, s, c in zip(times, series, calls) if c}, int(len(calls) - calls.sum())

    def _trading_day(self) -> None:
        """``measured``: the trades less those a call auction printed (batch prints stay)."""
        tr = self.trades
        n = len(next(iter(tr.values()), []))
        if self.auctions and n and "time" in tr and "series" in tr:
            keep = np.array([(int(t), s) not in self.auctions for t, s in zip(tr["time"], tr["series"])], dtype=bool)
        else:
            keep = np.ones(n, dtype=bool)
        self.measured = {k: v[keep] for k, v in tr.items()}
        self.auction_trades = int(n - keep.sum())

    def _front_by_day(self) -> dict[np.datetime64, str]:
        front: dict[np.datetime64, str] = {}
        tr = self.measured
        if "time" in tr and "series" in tr and "qty_lots" in tr and len(tr["time"]):
            days = tr["time"].astype("int64").astype("datetime64[ns]").astype("datetime64[D]")
            vol: dict[tuple, float] = {}
            for d, s, q in zip(days.tolist(), tr["series"].tolist(), tr["qty_lots"].tolist()):
                vol[(d, s)] = vol.get((d, s), 0.0) + q
            for d in {d for d, _ in vol}:
                # most volume; on a tie, the nearest expiry
                front[d] = min((s for dd, s in vol if dd == d), key=lambda s: (-vol[(d, s)], _expiry(s)))
        bt = self.book
        if "time" in bt and "series" in bt and len(bt["time"]):
            days = bt["time"].astype("int64").astype("datetime64[ns]").astype("datetime64[D]")
            for d in np.unique(days).tolist():
                if d not in front:
                    front[d] = min(set(bt["series"][days == np.datetime64(d)].tolist()), key=_expiry)
        return {np.datetime64(d, "D"): s for d, s in front.items()}

    def in_front(self, ts: np.ndarray, series: np.ndarray) -> np.ndarray:
        days = np.asarray(ts, dtype="int64").astype("datetime64[ns]").astype("datetime64[D]")
        return np.array([self.front.get(d) == s for d, s in zip(days, series)], dtype=bool)

    def agent_type(self) -> dict[int, str]:
        a = self.agents
        if "account" not in a or "agent_type" not in a:
            return {}
        return {int(x): str(t) for x, t in zip(a["account"], a["agent_type"])}

    def sessions(self) -> dict[np.datetime64, tuple[int, int]]:
        """Each day's continuous session, from its snapshots: the first one to
        the last one plus the snapshot interval."""
        bt = self.book
        if "time" not in bt or not len(bt["time"]):
            return {}
        ts = np.unique(bt["time"].astype("int64"))
        days = ts.astype("datetime64[ns]").astype("datetime64[D]")
        gaps = np.diff(ts)[days[1:] == days[:-1]]  # within a day
        step = int(np.median(gaps)) if len(gaps) else MINUTE_NS
        return {d: (int(ts[days == d][0]), int(ts[days == d][-1]) + step) for d in np.unique(days)}


# --------------------------------------------------------------------------- the facts


def _mid_facts(run: _Run) -> list[dict]:
    names = (
        "zero 1-min returns",
        "excess kurtosis 1-min",
        "|1-min return| ACF lags 1-10",
        "5-min return ACF lag 1",
        "5-min return |ACF| lags 2-5",
    )
    targets = ("< 0.5", "> 1", "> 0.05", "> -0.2", "< 0.1 (max)")
    sources = (CONT, CONT, CONT, f"{CONT}; {VYETRENKO}", f"{CONT}; {VYETRENKO}")
    bt = run.book
    if run.book_missing:
        return [
            _missing(n, t, s, f"book_top lacks {', '.join(run.book_missing)}")
            for n, t, s in zip(names, targets, sources)
        ]
    keep = run.in_front(bt["time"], bt["series"])
    bid, ask = np.asarray(bt["bid_ticks"], float)[keep], np.asarray(bt["ask_ticks"], float)[keep]
    mid = (bid + ask) / 2  # NaN where one-sided
    ts = bt["time"].astype("int64")[keep]
    r1 = grid_returns(ts, mid, MINUTE_NS)
    r5 = grid_returns(ts, mid, 5 * MINUTE_NS)
    n1 = sum(len(r) for r in r1)
    n5 = sum(len(r) for r in r5)
    if n1 < 12:
        return [
            _missing(n, t, s, f"only {n1} one-minute mid returns (60-s two-sided snapshots)")
            for n, t, s in zip(names, targets, sources)
        ]
    zf = zero_fraction(r1)
    kurt = excess_kurtosis(np.concatenate(r1))
    absacf = pooled_acf([np.abs(r) for r in r1], range(1, 11))
    abs_mean = float(np.mean(list(absacf.values())))
    acf5 = pooled_acf(r5, range(1, 6))
    far = max(abs(acf5[k]) for k in range(2, 6)) if all(math.isfinite(acf5[k]) for k in range(2, 6)) else math.nan
    still = "; every return is the same (the mid never moves)"
    still1 = still if np.ptp(np.concatenate(r1)) == 0 else ""
    still5 = still if n5 and np.ptp(np.concatenate(r5)) == 0 else ""
    n_note = f"{n1} one-minute returns{still1}"
    n5_note = f"{n5} five-minute returns{still5}"
    out = [
        _fact(names[0], _num(zf), targets[0], zf < 0.5, sources[0], n_note),
        _fact(names[1], _num(kurt), targets[1], math.isfinite(kurt) and kurt > 1, sources[1], n_note),
        _fact(
            names[2],
            _num(abs_mean),
            targets[2],
            math.isfinite(abs_mean) and abs_mean > 0.05,
            sources[2],
            "by lag: " + ", ".join(f"{k}: {_num(v, 3)}" for k, v in absacf.items()) + still1,
        ),
        _fact(names[3], _num(acf5[1]), targets[3], math.isfinite(acf5[1]) and acf5[1] > -0.2, sources[3], n5_note),
        _fact(
            names[4],
            _num(far),
            targets[4],
            math.isfinite(far) and far < 0.1,
            sources[4],
            "by lag: " + ", ".join(f"{k}: {_num(acf5[k], 3)}" for k in range(2, 6)) + still5,
        ),
    ]
    return out


def _sign_facts(run: _Run) -> list[dict]:
    names = ("order-sign ACF lag 1", "order-sign ACF lag 10")
    targets = ("> 0.2", "> 0.05")
    need = [c for c in ("time", "series", "taker_id", "aggressor") if c in run.trades_missing]
    if need:
        return [_missing(n, t, LILLO_FARMER, f"trades lacks {', '.join(need)}") for n, t in zip(names, targets)]
    tr = run.measured
    keep = run.in_front(tr["time"], tr["series"])
    days = tr["time"].astype("int64")[keep].astype("datetime64[ns]").astype("datetime64[D]")
    signs = order_signs(days, tr["taker_id"][keep], tr["aggressor"][keep])
    n = sum(len(s) for s in signs)
    if n < 20:
        return [_missing(nm, t, LILLO_FARMER, f"only {n} aggressing orders") for nm, t in zip(names, targets)]
    acf = pooled_acf(signs, (1, 10))
    note = f"{n} aggressing orders"
    return [
        _fact(names[0], _num(acf[1]), targets[0], math.isfinite(acf[1]) and acf[1] > 0.2, LILLO_FARMER, note),
        _fact(names[1], _num(acf[10]), targets[1], math.isfinite(acf[10]) and acf[10] > 0.05, LILLO_FARMER, note),
    ]


def _share_facts(run: _Run) -> list[dict]:
    names = ("market-maker share of maker lots", "noise-trader share of all lots")
    targets = (">= 0.5", "<= 0.3")
    need = [c for c in ("time", "series", "qty_lots", "maker_account", "taker_account") if c in run.trades_missing]
    kinds = run.agent_type()
    if need or not kinds:
        what = f"trades lacks {', '.join(need)}" if need else "agents table lacks account/agent_type"
        return [_missing(n, t, DESIGN, what) for n, t in zip(names, targets)]
    tr = run.measured
    keep = run.in_front(tr["time"], tr["series"])
    mk = np.array([kinds.get(int(a), "other") for a in tr["maker_account"][keep]], dtype=object)
    tk = np.array([kinds.get(int(a), "other") for a in tr["taker_account"][keep]], dtype=object)
    shares = lot_shares(tr["qty_lots"][keep], mk, tk)
    if not shares:
        return [_missing(n, t, DESIGN, "no front-month trades") for n, t in zip(names, targets)]
    mm = shares.get(MM_TYPE, {"maker": 0.0})["maker"]
    noise = shares.get(NOISE_TYPE, {"all": 0.0})["all"]
    note = "maker share by type: " + ", ".join(f"{t}: {_num(v['maker'], 3)}" for t, v in shares.items())
    note2 = "share of all lots by type: " + ", ".join(f"{t}: {_num(v['all'], 3)}" for t, v in shares.items())
    return [
        _fact(names[0], _num(mm), targets[0], mm >= 0.5, DESIGN, note),
        _fact(names[1], _num(noise), targets[1], noise <= 0.3, DESIGN, note2),
    ]


def _every_type_trades(run: _Run) -> dict:
    name, target = "agent types that never trade", "none"
    kinds = run.agent_type()
    need = [c for c in ("maker_account", "taker_account") if c in run.trades_missing]
    if need or not kinds:
        return _missing(name, target, DESIGN, "trades lacks maker/taker accounts or agents lacks agent_type")
    tr = run.trades  # any series, auctions included: did the type trade at all?
    traded = {kinds.get(int(a)) for a in np.concatenate([tr["maker_account"], tr["taker_account"]]).tolist()}
    if (run.path / "otc_trades.parquet").is_file():  # principals trade OTC only, by design
        otc, _ = _table(run.path, "otc_trades", ["buyer", "seller"])
        if otc.get("buyer") is not None:
            traded |= {kinds.get(int(a)) for a in np.concatenate([otc["buyer"], otc["seller"]]).tolist()}
    idle = sorted(set(kinds.values()) - traded)
    return _fact(
        name,
        idle,
        target,
        not idle,
        DESIGN,
        f"{len(set(kinds.values()))} agent types in the run; exchange or OTC trades count",
    )


def _u_shape_fact(run: _Run) -> dict:
    name, target = "intraday volume U-shape (first, last hour / median of the hours between)", "both > 1.2"
    need = [c for c in ("time", "series", "qty_lots") if c in run.trades_missing]
    sessions = run.sessions()
    if need or not sessions:
        return _missing(name, target, VYETRENKO, f"trades lacks {', '.join(need)}" if need else "no book snapshots")
    tr = run.measured
    keep = run.in_front(tr["time"], tr["series"])
    prof = hourly_volume(tr["time"].astype("int64")[keep], tr["qty_lots"][keep], sessions)
    first, last = u_shape_ratios(prof)
    hours = "lots per session hour: " + ", ".join(str(int(v)) for v in prof)
    if math.isnan(first) or math.isnan(last):
        return _missing(
            name,
            target,
            VYETRENKO,
            f"a session of {len(prof)} hours or no volume in the first, last or middle hours; {hours}",
        )
    return _fact(name, [_num(first, 3), _num(last, 3)], target, first > 1.2 and last > 1.2, VYETRENKO, hours)


def _lead_fact(run: _Run) -> dict:
    name = "futures lead the index (corr with same-day, previous-day change in expected final settlement)"
    target = "same-day > previous-day"
    source = f"{CONT} (price discovery in futures); cfx design: futures chase the expected final settlement"
    if run.settlements_missing or run.fixings_missing:
        return _missing(
            name,
            target,
            source,
            "settlements or fixings lack " + ", ".join(run.settlements_missing + run.fixings_missing),
        )
    st, fx = run.settlements, run.fixings
    daily = {
        (d, s): float(p)
        for d, s, p, t in zip(st["date"], st["series"], st["price_ticks"], st["tier"])
        if str(t) != "final" and p and p > 0
    }
    dates = sorted({d for d, _ in daily})
    indexes = sorted(set(fx["index"].tolist()))
    by_index = {
        i: {d: float(v) / MICRO for d, n, v in zip(fx["date"], fx["index"], fx["value_usd_micro"]) if n == i}
        for i in indexes
    }

    def fixings_for(symbol: str) -> dict | None:
        if len(indexes) == 1:
            return by_index[indexes[0]]
        root = symbol.split("-")[0]
        hit = [i for i in indexes if i.upper().startswith(root.upper())]
        return by_index[hit[0]] if len(hit) == 1 else None

    df, de, de_before = [], [], []
    for i in range(2, len(dates)):
        d0, d1, d2 = dates[i - 2], dates[i - 1], dates[i]
        s = run.front.get(np.datetime64(d2, "D"))
        if s is None or (d1, s) not in daily or (d2, s) not in daily:
            continue
        fix = fixings_for(s)
        if fix is None:
            continue
        e0, e1, e2 = (expected_final(s, d, fix) for d in (d0, d1, d2))
        if not all(math.isfinite(e) and e > 0 for e in (e0, e1, e2)):
            continue
        df.append(math.log(daily[(d2, s)] / daily[(d1, s)]))
        de.append(math.log(e2 / e1))
        de_before.append(math.log(e1 / e0))
    same, before = lead_correlations(np.array(df), np.array(de), np.array(de_before))
    if not math.isfinite(same):
        return _missing(
            name,
            target,
            source,
            f"{len(df)} usable settlement days (need 3, with price and expected-settlement changes not constant)",
        )
    ok = same > before if math.isfinite(before) else same > 0  # previous-day changes constant: no lag to beat
    return _fact(
        name,
        [_num(same, 3), _num(before, 3)],
        target,
        ok,
        source,
        f"{len(df)} daily changes (log) of the front month's settlement price",
    )


def measure(run_dir: str | Path) -> dict:
    """Every fact of a run directory, as the JSON object `cfx facts` prints."""
    run = _Run(Path(run_dir))
    facts = [
        *_mid_facts(run),
        *_sign_facts(run),
        *_share_facts(run),
        _every_type_trades(run),
        _u_shape_fact(run),
        _lead_fact(run),
    ]
    passed = sum(f["pass"] for f in facts)
    fronts = sorted(set(run.front.values()), key=_expiry)
    batch = run.batches > 0
    measured = len(next(iter(run.measured.values()), []))
    return {
        "facts": facts,
        "passed": passed,
        "failed": len(facts) - passed,
        "run": {
            "dir": str(run.path),
            "scenario": run.summary.get("scenario"),
            "seed": run.summary.get("seed"),
            "days": len(run.front),
            "front_months": fronts,
            "auction_trades_left_out": run.auction_trades,
            "matching": "batch" if batch else "continuous",
            "batch_uncrosses": run.batches,
            "trades_measured": measured,
            "measured": (
                f"batch prints: {measured} trades of {run.batches} periodic batch uncrosses; "
                f"{run.auction_trades} call-auction trades left out"
                if batch
                else f"continuous trading: {measured} trades; {run.auction_trades} call-auction trades left out"
            ),
        },
    }


# --------------------------------------------------------------------------- output


def facts_html(result: dict) -> str:
    """The facts as an HTML table (the report's "Stylized facts" section body)."""
    rows = []
    for f in result["facts"]:
        v = f["value"]
        shown = "–" if v is None else (", ".join(map(str, v)) or "none") if isinstance(v, list) else str(v)
        mark = (
            '<td style="color:#186a3b;font-weight:bold">PASS</td>'
            if f["pass"]
            else '<td style="color:#a93226;font-weight:bold">FAIL</td>'
        )
        rows.append(
            f'<tr><th>{html.escape(f["name"])}</th><td class="num">{html.escape(shown)}</td>'
            f"<td>{html.escape(f['target'])}</td>{mark}<td>{html.escape(f['source'])}</td>"
            f"<td>{html.escape(f.get('note', ''))}</td></tr>"
        )
    return (
        '<table class="metrics" id="facts-table"><tr><th>fact</th><th>value</th><th>target</th>'
        "<th>result</th><th>source of the target</th><th>note</th></tr>" + "".join(rows) + "</table>"
        f'<p class="note">{result["passed"]} passed, {result["failed"]} failed; front months '
        f"{html.escape(', '.join(result['run']['front_months']))}. Computed by <code>cfx facts RUN_DIR</code>: "
        + (
            "front month = the series with the most continuous volume each day; returns within a day only; "
            "call-auction trades left out.</p>"
            if result["run"].get("matching") != "batch"
            else "front month = the series with the most volume each day; returns within a day only; measured "
            f"the {html.escape(result['run']['measured'])}.</p>"
        )
    )


def main(args: Any) -> Output:
    """`cfx facts RUN_DIR`: the JSON on stdout and in RUN_DIR/facts.json; exit 0 pass or fail."""
    result = measure(args.run_dir)
    text = json.dumps(result, indent=2)
    try:
        (Path(args.run_dir) / "facts.json").write_text(text + "\n")
    except OSError as e:
        raise InputError(f"{args.run_dir}: cannot write facts.json: {e.strerror}") from None
    return Output(value=result, indent=True)
