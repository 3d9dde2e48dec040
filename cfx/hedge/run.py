"""A ``cfx run`` directory as the hedge's market (``cfx hedge --run RUN_DIR``).

Read from the run:

- ``settlements.parquet`` (time, date, series, price_ticks in the run's ticks, tier):
  every daily settlement price, all tiers including ``final``, as the
  futures curve. Prices are converted to micro-dollars with the run's tick
  (``summary.json`` ``tick_usd``; $0.01 when the file or the key is absent)
  and then to the hedge's $0.01 ticks; a futures price that is not a whole
  number of those is an InputError (as for ``--futures``). A perpetual's
  daily mark in a finer tick (design_perpetual lists HOP-PERP in ticks of
  $0.001) is rounded half up to the cent: the hedge's daily mark-to-market
  telescopes, so the rounding moves its cumulative futures P&L by at most
  one cent a GPU-hour per contract held, and funding is paid on the run's
  own marks (``funding.parquet``), exactly. Two prices for one series
  and day: the later ``time`` wins, ``final`` over a daily tier at the same time.
- ``fixings.parquet`` (date, index, value_usd_micro per GPU-h): the basket
  index fixings, used unless ``--fixings`` is given.
- a perpetual's rows (``*-PERP``, tier ``mark``) are its daily marks, kept
  apart from the monthly table (`RunData.perps`); with a perpetual listed,
  ``funding.parquet`` (time, series, mark_ticks, rate_1e8) gives each funding
  interval's mark (the run's ticks) and rate, the same for every account
  (`RunData.funding`), dated by the interval's UTC day.

Days outside the run are handled as the ``--futures`` CSV handles missing
days (`CsvCurve`): a day without a settlement price carries the previous
one, days before the first take the first. On and after a series' last
trading day the run's ``final`` price holds when the run has one; otherwise
the final settlement is computed from the index fixings, as for any curve.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path


from cfx.errors import InputError
from cfx.index import Fixing, FixingFlag
from cfx.hedge.curves import CsvCurve
from cfx.products import DEFAULT_BASKETS, TICK_MICRO, is_perpetual_symbol, last_business_day, parse_symbol

DEFAULT_TICK_USD = 0.01


@dataclass
class RunData:
    """What the hedge takes from a run directory. Prices in the hedge's
    ticks ($0.01) by series and day; fixings by index name."""

    path: Path
    table: dict[str, dict[dt.date, int]]
    finals: dict[str, tuple[dt.date, int]]
    fixings: dict[str, list[Fixing]]
    tick_micro: int
    perps: dict[str, dict[dt.date, int]]
    """perpetual symbol -> day -> mark in the hedge's ticks"""
    funding: dict[str, dict[dt.date, list[tuple[int, int]]]] | None
    """perpetual symbol -> day -> (mark in the run's ticks, rate 1e-8) per funding interval, in time order; None without funding.parquet"""
    contract_unit: int = 730

    def monthly(self) -> bool:
        """Does the run list any monthly futures?"""
        return bool(self.table)

    @property
    def days(self) -> list[dt.date]:
        return sorted({d for tab in (self.table, self.perps) for by in tab.values() for d in by})


def _read_parquet(path: Path, need: tuple[str, ...]):
    import pyarrow.parquet as pq

    if not path.is_file():
        raise InputError(f"{path}: no such file (not a cfx run directory?)")
    try:
        table = pq.read_table(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise InputError(f"{path}: cannot read as Parquet: {e}") from None
    missing = [c for c in need if c not in table.column_names]
    if missing:
        raise InputError(
            f"{path}: missing column {', '.join(missing)} (need {', '.join(need)}; "
            f"have {', '.join(table.column_names) or 'none'})"
        )
    return table


def _column(path: Path, table, name: str, kind: type) -> list:
    import pyarrow as pa

    col = table.column(name)
    if pa.types.is_timestamp(col.type):  # times as int ns
        col = col.cast(pa.int64())
    values = col.to_pylist()
    for i, v in enumerate(values):
        if kind is int:
            ok = isinstance(v, int) and not isinstance(v, bool)
        elif kind is dt.date:
            ok = isinstance(v, dt.date) and not isinstance(v, dt.datetime)
        else:
            ok = isinstance(v, kind)
        if not ok:
            what = "a date" if kind is dt.date else "an integer" if kind is int else "a string"
            raise InputError(f"{path}: row {i + 1}: column {name!r}: {v!r} is not {what}")
    return values


def _summary(run: Path) -> dict:
    """The run's summary.json ({} without one); unreadable: one line."""
    path = run / "summary.json"
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    return doc if isinstance(doc, dict) else {}


def _tick_micro(run: Path, summary: dict) -> int:
    path = run / "summary.json"
    tick = summary.get("tick_usd", DEFAULT_TICK_USD)
    try:
        micro = Decimal(repr(tick)) * 1_000_000
    except (InvalidOperation, TypeError):
        micro = Decimal(-1)
    if isinstance(tick, bool) or micro <= 0 or micro != micro.to_integral_value():
        raise InputError(f"{path}: tick_usd {tick!r} is not a positive whole number of micro-dollars")
    return int(micro)


def _contract_unit(run: Path, summary: dict) -> int:
    unit = summary.get("contract_unit", 730)
    if not isinstance(unit, int) or isinstance(unit, bool) or unit <= 0:
        raise InputError(f"{run / 'summary.json'}: contract_unit {unit!r} is not a positive whole number of GPU-hours")
    return unit


def _read_funding(run: Path) -> dict[str, dict[dt.date, list[tuple[int, int]]]]:
    """Each perpetual's funding intervals by UTC day: (mark in run ticks,
    rate 1e-8), one per interval (every account's row carries the same)."""
    path = run / "funding.parquet"
    t = _read_parquet(path, ("time", "series", "mark_ticks", "rate_1e8"))
    times = _column(path, t, "time", int)
    series = _column(path, t, "series", str)
    marks = _column(path, t, "mark_ticks", int)
    rates = _column(path, t, "rate_1e8", int)
    seen: dict[tuple[str, int], tuple[int, int]] = {}
    for i, key in enumerate(zip(series, times)):
        got = seen.setdefault(key, (marks[i], rates[i]))
        if got != (marks[i], rates[i]):
            raise InputError(
                f"{path}: row {i + 1}: mark_ticks/rate_1e8 {marks[i]}/{rates[i]} differ from another "
                f"account's {got[0]}/{got[1]} in the same interval"
            )
        if marks[i] <= 0:
            raise InputError(f"{path}: row {i + 1}: column 'mark_ticks': {marks[i]} is not positive")
    out: dict[str, dict[dt.date, list[tuple[int, int]]]] = {}
    for (s, ns), v in sorted(seen.items()):
        day = dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.timezone.utc).date()
        out.setdefault(s, {}).setdefault(day, []).append(v)
    return out


def read_run(run_dir: str | Path) -> RunData:
    """Settlement prices and basket fixings of a ``cfx run`` directory."""
    run = Path(run_dir)
    if not run.is_dir():
        raise InputError(f"{run}: no such run directory")
    summary = _summary(run)
    run_tick = _tick_micro(run, summary)

    path = run / "settlements.parquet"
    t = _read_parquet(path, ("date", "series", "price_ticks"))
    dates = _column(path, t, "date", dt.date)
    series = _column(path, t, "series", str)
    prices = _column(path, t, "price_ticks", int)
    ts = _column(path, t, "time", int) if "time" in t.column_names else [0] * len(dates)
    tiers = _column(path, t, "tier", str) if "tier" in t.column_names else [""] * len(dates)
    if not dates:
        raise InputError(f"{path}: no settlement prices")
    table: dict[str, dict[dt.date, int]] = {}
    perps: dict[str, dict[dt.date, int]] = {}
    finals: dict[str, tuple[dt.date, int]] = {}
    order = sorted(range(len(dates)), key=lambda i: (ts[i], tiers[i] == "final"))
    for i in order:
        row = f"{path}: row {i + 1}"
        perp = is_perpetual_symbol(series[i])
        if not perp:
            try:
                parse_symbol(series[i])
            except InputError as e:
                raise InputError(f"{row}: column 'series': {e}") from None
        micro = prices[i] * run_tick
        if perp and prices[i] > 0:  # a mark (an index plus a mean basis, not a trade) in a finer tick: to the cent
            perps.setdefault(series[i], {})[dates[i]] = max(1, (micro + TICK_MICRO // 2) // TICK_MICRO)
            continue
        if prices[i] <= 0 or micro % TICK_MICRO:
            raise InputError(
                f"{row}: column 'price_ticks': {prices[i]} ticks of ${run_tick / 1e6:g} is not a positive "
                f"whole number of the hedge's ${TICK_MICRO / 1e6:.2f} ticks"
            )
        (perps if perp else table).setdefault(series[i], {})[dates[i]] = micro // TICK_MICRO
        if tiers[i] == "final" and not perp:
            finals[series[i]] = (dates[i], micro // TICK_MICRO)

    funding = _read_funding(run) if perps and (run / "funding.parquet").is_file() else None

    path = run / "fixings.parquet"
    t = _read_parquet(path, ("date", "index", "value_usd_micro"))
    fdates = _column(path, t, "date", dt.date)
    names = _column(path, t, "index", str)
    values = _column(path, t, "value_usd_micro", int)
    by: dict[str, dict[dt.date, int]] = {}
    for d, n, v in zip(fdates, names, values):
        by.setdefault(n, {})[d] = v
    if not by:
        raise InputError(f"{path}: no fixings")
    fixings = {
        n: [Fixing(date=d, name=n, value_micro=v, contributors=0, flag=FixingFlag.OK) for d, v in sorted(vals.items())]
        for n, vals in by.items()
    }
    return RunData(run, table, finals, fixings, run_tick, perps, funding, _contract_unit(run, summary))


def check_covers(run: RunData, forwards, book: str, perpetual: bool = False) -> None:
    """With ``--run`` and no price files each forward is priced from the run's
    own fixings: its SKU/region index (``H100.us-east``; the SKU index when
    the region is blank). InputError, one line, unless the run covers it:
    no provider (a run publishes no provider prices), the index and the
    forward's basket among the run's fixings, the basket's futures among its
    settlements, and every delivery month between the run's first and last
    day, the last one ending (its future's last trading day) by the run's
    last settlement. With `perpetual` (the hedge holds the run's perpetual)
    the basket's perpetual must be listed and the delivery months are not
    checked: a perpetual never expires, and the backtest covers the run's
    days (a forward delivering past them is partly delivered at the end)."""
    days = run.days
    first, last = days[0], days[-1]
    have = ", ".join(sorted(run.fixings))
    roots = {s.removesuffix("-PERP") for s in run.perps} if perpetual else {parse_symbol(s)[0] for s in run.table}
    what = "perpetual" if perpetual else "futures"
    for f in forwards:
        where = f"{book}:{f.line}"
        if f.provider:
            raise InputError(
                f"{where}: field 'provider': {f.provider!r}: a run publishes SKU and SKU.region indices, "
                "not provider prices; leave provider blank or give --prices"
            )
        name = f"{f.sku}.{f.region}" if f.region else f.sku
        if name not in run.fixings:
            raise InputError(
                f"{where}: field {'region' if f.region else 'sku'!r}: run {run.path} has no fixings of "
                f"{name} (it publishes {have})"
            )
        if f.basket not in run.fixings:
            raise InputError(
                f"{where}: field 'basket': run {run.path} has no fixings of basket {f.basket} (it publishes {have})"
            )
        root = DEFAULT_BASKETS[f.basket].root if f.basket in DEFAULT_BASKETS else f.basket
        if root not in roots:
            raise InputError(
                f"{where}: field 'basket': run {run.path} lists no {f.basket} {what} ({root}-...; it has "
                f"{', '.join(sorted(roots)) or 'none'})"
            )
        if perpetual:
            continue
        end = last_business_day(f.delivery_end.year, f.delivery_end.month)
        if (f.delivery_start.year, f.delivery_start.month) < (first.year, first.month) or end > last:
            raise InputError(
                f"{where}: field 'delivery_end': run {run.path} covers {first}..{last}; delivery "
                f"{f.delivery_start:%Y-%m}..{f.delivery_end:%Y-%m} needs {f.delivery_start:%Y-%m-01}..{end}"
            )


class RunCurve(CsvCurve):
    """`CsvCurve` over a run's settlement table (see the module docstring):
    the run's own price on every day it has one, its ``final`` price from
    that day on."""

    def __init__(self, dates, index, run: RunData) -> None:
        super(CsvCurve, self).__init__(dates, index)
        self.path = run.path / "settlements.parquet"
        self.table = run.table
        self.finals = run.finals
        self._patched: set[str] = set()

    def prices(self, series):
        got = super().prices(series)
        if series.symbol not in self._patched:
            by = self.table.get(series.symbol, {})
            final = self.finals.get(series.symbol)
            for t, d in enumerate(self.dates):
                if final is not None and d >= final[0]:
                    got[t] = final[1]
                elif d in by:
                    got[t] = by[d]
            self._patched.add(series.symbol)
        return got


__all__ = ["RunCurve", "RunData", "check_covers", "read_run"]
