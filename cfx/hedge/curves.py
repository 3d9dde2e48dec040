"""Futures curves a hedge backtest can price against: per series and
business day of the timeline, in ticks. `DerivedCurve` models the curve
from the basket index; `CsvCurve` reads settlement prices from a CSV
(``--futures``); `cfx.hedge.run.RunCurve` builds on it for a run directory.
On and after a series' last trading day every curve holds its final
settlement price.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from cfx.errors import InputError
from cfx.csvfile import Table
from cfx.index import parse_date, parse_price_micro
from cfx.products import Series, business_days, final_settlement, month_days, parse_symbol, round_half_up
from cfx.units import MAX_PRICE_MICRO


def carried(values: Sequence[int | None], what: str) -> np.ndarray:
    """Values with gaps carried forward (leading gaps back-filled) as int64;
    InputError when there is no value at all."""
    first = next((v for v in values if v is not None), None)
    if first is None:
        raise InputError(f"{what}: no values in the backtest period")
    out = np.empty(len(values), dtype=np.int64)
    last = first
    for i, v in enumerate(values):
        last = v if v is not None else last
        out[i] = last
    return out


class FuturesCurve:
    """Futures prices in ticks per series and business day of the timeline.

    `prices(series)` is an int64 array over `dates`; on and after the
    series' last trading day it holds the final settlement price
    (`cfx.products.final_settlement` on the basket's fixings), which is
    where a position held to expiry closes.
    """

    def __init__(self, dates: Sequence[dt.date], index: Mapping[str, np.ndarray]) -> None:
        self.dates = list(dates)
        self.index = index
        self._cache: dict[str, np.ndarray] = {}

    def prices(self, series: Series) -> np.ndarray:
        got = self._cache.get(series.symbol)
        if got is None:
            got = self._build(series)
            ltd = bisect.bisect_left(self.dates, series.last_trading_day)
            if ltd < len(self.dates):
                fix = dict(zip(self.dates, (int(v) for v in self.index[series.basket])))
                for d in business_days(*month_days(series.year, series.month)):
                    if d < self.dates[0]:  # the month began before the history: back-fill, as `carried` does
                        fix[d] = int(self.index[series.basket][0])
                got[ltd:] = final_settlement(series, fix).price_ticks
            self._cache[series.symbol] = got
        return got

    def _build(self, series: Series) -> np.ndarray:
        raise NotImplementedError


class DerivedCurve(FuturesCurve):
    """Futures derived from the basket index.

    Before its contract month a series trades at
    ``I(t) * exp(risk_premium * tau) * exp(e(t))``: `tau` years from t to the
    15th of the month, `risk_premium` the curve's annual log slope against
    the index (negative = backwardation; default -0.045 is docs/design.md's ~13%
    over 36 months), `e` a per-series AR(1) noise with stationary sd `noise`
    and daily persistence `persistence`. Inside the month the price is what
    the monthly-average settlement makes it: ``(sum of the month's fixings so
    far + remaining days * I(t) * exp(e(t))) / days in month``. Rounded half
    up to the tick. Noise seeds: ``[seed, 7, crc32(symbol)]``.
    """

    def __init__(
        self,
        dates,
        index,
        *,
        risk_premium: float = -0.045,
        noise: float = 0.005,
        persistence: float = 0.9,
        seed: int = 0,
    ) -> None:
        super().__init__(dates, index)
        self.risk_premium = risk_premium
        self.noise = noise
        self.persistence = persistence
        self.seed = seed

    def _noise(self, symbol: str) -> np.ndarray:
        n = len(self.dates)
        if self.noise == 0:
            return np.zeros(n)
        rng = np.random.default_rng([self.seed, 7, zlib.crc32(symbol.encode())])
        z = rng.standard_normal(n)
        phi = self.persistence
        e = np.empty(n)
        e[0] = self.noise * z[0]
        k = self.noise * math.sqrt(1 - phi * phi)
        for t in range(1, n):
            e[t] = phi * e[t - 1] + k * z[t]
        return e

    def _build(self, s: Series) -> np.ndarray:
        idx = self.index[s.basket]
        eps = self._noise(s.symbol)
        month = business_days(*month_days(s.year, s.month))
        n_days = len(month)
        mid = dt.date(s.year, s.month, 15)
        out = np.empty(len(self.dates), dtype=np.int64)
        fixed_sum = 0
        k = 0
        for t, d in enumerate(self.dates):
            if d < month[0]:
                tau = (mid - d).days / 365.0
                micro = Fraction(round(float(idx[t]) * math.exp(self.risk_premium * tau + eps[t])))
            else:
                while k < n_days and month[k] <= d:
                    # the month's fixing on month[k]: the timeline's value on or before it
                    j = bisect.bisect_right(self.dates, month[k]) - 1
                    fixed_sum += int(idx[max(j, 0)])
                    k += 1
                rest = round(float(idx[t]) * math.exp(eps[t]))
                micro = Fraction(fixed_sum + (n_days - k) * rest, n_days)
            out[t] = round_half_up(micro, s.tick_micro) // s.tick_micro
        return out


class CsvCurve(FuturesCurve):
    """Futures settlement prices from a CSV (``date,series,price`` in $/GPU-h,
    or ``price_ticks``); days without a price carry the previous one, days
    before the first take the first. A series the hedge needs and the file
    lacks is an InputError."""

    def __init__(self, dates, index, path: str | Path) -> None:
        super().__init__(dates, index)
        self.path = path
        self.table = read_futures_csv(path)

    def _build(self, s: Series) -> np.ndarray:
        got = self.table.get(s.symbol)
        if not got:
            have = ", ".join(sorted(self.table)) or "none"
            raise InputError(f"{self.path}: no prices for series {s.symbol}, which the hedge needs (have {have})")
        days = sorted(got)
        values: list[int | None] = []
        for d in self.dates:
            i = bisect.bisect_right(days, d) - 1
            values.append(got[days[i]] if i >= 0 else None)
        return carried(values, f"{self.path}: series {s.symbol}")


def read_futures_csv(path: str | Path, tick_micro: int = 10_000) -> dict[str, dict[dt.date, int]]:
    """symbol -> date -> price in ticks, from ``date,series,price`` (or
    ``symbol`` for series, ``price_ticks`` for price). A price is at most
    $1,000 a GPU-hour (`MAX_PRICE_MICRO`, as a book's): the curve is an
    int64 array, and contracts times its moves times a tick's value must
    stay in int64 too."""
    table = Table(path, lower=True)
    sym_col = table.pick("series", "symbol") or "series"
    price_col = table.pick("price_ticks", "price") or "price"
    table.require(("date", sym_col, price_col), "need date, series, price")
    out: dict[str, dict[dt.date, int]] = defaultdict(dict)
    for rec in table:
        field = "date"
        try:
            date = parse_date(rec["date"])
            field = sym_col
            try:
                parse_symbol(rec[sym_col])
            except InputError as e:
                raise ValueError(str(e)) from None
            field = price_col
            if price_col == "price_ticks":
                ticks = int(rec[price_col])
                if ticks <= 0:
                    raise ValueError(f"{rec[price_col]!r} is not positive")
                if ticks * tick_micro > MAX_PRICE_MICRO:
                    raise ValueError(f"{rec[price_col]!r} ticks is above ${MAX_PRICE_MICRO // 1_000_000:,}")
            else:
                micro = parse_price_micro(rec[price_col], MAX_PRICE_MICRO)
                if micro % tick_micro:
                    raise ValueError(f"{rec[price_col]!r} is not a whole number of ticks of ${tick_micro / 1e6:.2f}")
                ticks = micro // tick_micro
        except ValueError as e:
            raise rec.field_error(field, e) from None
        out[rec[sym_col]][date] = ticks
    return dict(out)
