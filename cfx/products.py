"""Contracts: index baskets, futures series, the listing calendar and final settlement.

What is listed and how it settles. A `Basket` is a fixed-weight combination
of SKU indices (HOPPER = 0.6 H100 + 0.4 H200); a `Series` is one monthly
future on a basket (``HOP-H27`` = HOPPER, March 2027) with its contract unit,
tick and trading days; `ListingCalendar` lists N consecutive months ahead and
rolls a new month in when one expires; `final_settlement` turns the basket's
daily fixings (integer micro-dollars per GPU-hour) into a price in ticks, and
`unfixed_share` says how much of that price is still to be fixed (a hedge's
sensitivity to the index).

Defaults follow the first listed GPU-hour futures (NYMEX GPU1/GPU2, 2026; see
docs/design.md, "Realistic levels and contracts"): 730 GPU-hours per contract, tick $0.01 per GPU-hour
(= $7.30 per contract), last trading day the last business day (Mon-Fri) of
the contract month. There is no holiday calendar: business days are weekdays.

Rounding rules (all exact integer/rational arithmetic, no floats):

- Basket value: weights are read as the decimal numbers they are written as
  (0.6 is 6/10, not the nearest binary float); sum(weight * fixing) is
  computed exactly and rounded half up to the micro-dollar.
- Final settlement price: the exact mean of the fixings (micro-dollars) is
  divided by the tick and rounded **half up** (ties go to the higher tick;
  prices are positive) to a whole number of ticks.

A `Series` with ``perpetual = True`` (``HOP-PERP``, `make_perpetual`) is a
perpetual future on the basket: no contract month, no last trading day
(``last_trading_day`` is `PERPETUAL_END`, so it never expires and never
final-settles); it is marked and funded intraday (cfx/sim/perpetual.py,
cfx/clearing/funding.py) and settles daily at its mark.

This module imports nothing from the index code: it takes fixings as a
mapping date -> micro-dollars, so the index layer can depend on it.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from cfx.errors import InputError
from cfx.units import CONTRACT_UNIT, TICK_MICRO  # the contract's defaults (re-exported)

MONTH_CODES = "FGHJKMNQUVXZ"
"""CME month codes, January..December."""

SettlementRule = Literal["monthly_average", "twap_window"]

_SYMBOL = re.compile(r"^([A-Z][A-Z0-9]{0,7})-([A-Z])(\d{2})$")

PERPETUAL_SUFFIX = "PERP"
PERPETUAL_END = dt.date(9999, 12, 31)
"""The `last_trading_day` of a perpetual: never reached."""


# ---------------------------------------------------------------- calendar


def is_business_day(day: dt.date) -> bool:
    """Monday to Friday (no holiday calendar)."""
    return day.weekday() < 5


def business_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """Business days from `first` to `last`, both inclusive."""
    out = []
    day = first
    one = dt.timedelta(days=1)
    while day <= last:
        if day.weekday() < 5:
            out.append(day)
        day += one
    return out


def first_business_days(start: dt.date, n: int) -> list[dt.date]:
    """The first `n` business days from `start` on (inclusive)."""
    out = []
    day = start
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def next_business_day(day: dt.date) -> dt.date:
    """The first business day strictly after `day`."""
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def month_days(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First and last calendar day of a month."""
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def last_business_day(year: int, month: int) -> dt.date:
    """The last Mon-Fri of the month: the default last trading day."""
    day = month_days(year, month)[1]
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def add_months(year: int, month: int, n: int) -> tuple[int, int]:
    """(year, month) shifted by n months."""
    k = year * 12 + (month - 1) + n
    return k // 12, k % 12 + 1


# ---------------------------------------------------------------- baskets


def _exact(weight: float) -> Fraction:
    """A weight as the decimal it is written as: 0.6 -> 3/5."""
    return Fraction(repr(float(weight)))


def round_half_up(x: Fraction, unit: int = 1) -> int:
    """x rounded to the nearest multiple of `unit`, ties upward."""
    q = x / unit
    return (q.numerator * 2 + q.denominator) // (2 * q.denominator) * unit


class Basket(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A basket index: fixed weights over SKU indices.

    `name` is the index name ("HOPPER"); `root` the symbol root of its futures
    ("HOP"). Weights are positive and sum to 1 (as decimals).
    """

    name: Annotated[str, Meta(pattern=r"^[A-Z][A-Z0-9_]*$")]
    root: Annotated[str, Meta(pattern=r"^[A-Z][A-Z0-9]{0,7}$")]
    weights: dict[str, float]

    def __post_init__(self) -> None:
        if not self.weights:
            raise ValueError(f"basket {self.name}: no weights")
        if any(w <= 0 for w in self.weights.values()):
            raise ValueError(f"basket {self.name}: weights must be positive")
        total = sum(_exact(w) for w in self.weights.values())
        if total != 1:
            raise ValueError(f"basket {self.name}: weights sum to {float(total)}, not 1")

    def value_micro(self, sku_values: Mapping[str, int]) -> int:
        """Basket value from SKU values (micro-dollars): exact weighted sum,
        rounded half up to the micro-dollar. A missing SKU is a KeyError."""
        return round_half_up(sum(_exact(w) * sku_values[s] for s, w in self.weights.items()))


HOPPER = Basket(name="HOPPER", root="HOP", weights={"H100": 0.6, "H200": 0.4})
BLACKWELL = Basket(name="BLACKWELL", root="BLK", weights={"B200": 1.0})
AMPERE = Basket(name="AMPERE", root="AMP", weights={"A100": 1.0})
DEFAULT_BASKETS: dict[str, Basket] = {b.name: b for b in (HOPPER, BLACKWELL, AMPERE)}


# ---------------------------------------------------------------- symbols


def format_symbol(root: str, year: int, month: int) -> str:
    """``format_symbol("HOP", 2027, 3) == "HOP-H27"``."""
    if not 1 <= month <= 12:
        raise InputError(f"month {month} is not 1..12")
    if not 2000 <= year <= 2099:
        raise InputError(f"year {year} is not 2000..2099 (symbols carry two digits)")
    return f"{root}-{MONTH_CODES[month - 1]}{year % 100:02d}"


def perpetual_symbol(root: str) -> str:
    """``perpetual_symbol("HOP") == "HOP-PERP"``."""
    return f"{root}-{PERPETUAL_SUFFIX}"


def is_perpetual_symbol(symbol: str) -> bool:
    """Does ``symbol`` name a perpetual (``ROOT-PERP``)?"""
    return symbol.endswith("-" + PERPETUAL_SUFFIX)


def parse_symbol(symbol: str) -> tuple[str, int, int]:
    """``parse_symbol("HOP-H27") == ("HOP", 2027, 3)``; years are 20YY.

    Raises InputError naming the symbol and what is wrong with it.
    """
    m = _SYMBOL.match(symbol)
    if m is None:
        raise InputError(
            f"bad series symbol {symbol!r}: expected ROOT-MYY, e.g. 'HOP-H27' (root letters/digits, CME month code, two-digit year)"
        )
    root, code, yy = m.groups()
    if code not in MONTH_CODES:
        raise InputError(f"bad series symbol {symbol!r}: {code!r} is not a CME month code (one of {MONTH_CODES})")
    return root, 2000 + int(yy), MONTH_CODES.index(code) + 1


# ---------------------------------------------------------------- series


class Series(msgspec.Struct, frozen=True, kw_only=True):
    """One monthly futures series on a basket index.

    Prices are in ticks of `tick_micro` micro-dollars per GPU-hour; one
    contract is `contract_unit` GPU-hours, so one tick is worth
    `tick_value_micro` per contract. Trades from `first_trading_day` to
    `last_trading_day` inclusive, then cash-settles by `settlement`. A
    perpetual (``perpetual``) has no contract month (``year``/``month``
    are its listing's) and never reaches its last trading day.
    """

    symbol: str
    basket: str
    year: int
    month: int
    first_trading_day: dt.date
    last_trading_day: dt.date
    contract_unit: int = CONTRACT_UNIT
    tick_micro: int = TICK_MICRO
    settlement: SettlementRule = "monthly_average"
    window_days: int = 5
    perpetual: bool = False

    @property
    def tick_value_micro(self) -> int:
        """Money per tick per contract: 10_000 * 730 = 7_300_000 micro-$ ($7.30)."""
        return self.tick_micro * self.contract_unit

    def is_trading(self, on: dt.date) -> bool:
        """Listed and not expired on `on` (business days only)."""
        return is_business_day(on) and self.first_trading_day <= on <= self.last_trading_day


def make_series(
    basket: Basket,
    year: int,
    month: int,
    *,
    first_trading_day: dt.date,
    contract_unit: int = CONTRACT_UNIT,
    tick_micro: int = TICK_MICRO,
    settlement: SettlementRule = "monthly_average",
    window_days: int = 5,
) -> Series:
    """The series of `basket` for a contract month, with the default trading days."""
    return Series(
        symbol=format_symbol(basket.root, year, month),
        basket=basket.name,
        year=year,
        month=month,
        contract_unit=contract_unit,
        tick_micro=tick_micro,
        first_trading_day=first_trading_day,
        last_trading_day=last_business_day(year, month),
        settlement=settlement,
        window_days=window_days,
    )


def make_perpetual(
    basket: Basket, *, first_trading_day: dt.date, contract_unit: int = CONTRACT_UNIT, tick_micro: int = TICK_MICRO
) -> Series:
    """The perpetual future of `basket` (``HOP-PERP``): listed from `first_trading_day`, never expiring."""
    return Series(
        symbol=perpetual_symbol(basket.root),
        basket=basket.name,
        year=first_trading_day.year,
        month=first_trading_day.month,
        contract_unit=contract_unit,
        tick_micro=tick_micro,
        first_trading_day=first_trading_day,
        last_trading_day=PERPETUAL_END,
        perpetual=True,
    )


Listing = Literal["monthly", "perpetual", "both"]


class ListingCalendar(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"):
    """Which series are listed on a day.

    From `start` on, each basket has `months_ahead` consecutive contract months
    listed, starting with the earliest month whose last trading day has not
    passed. When a series expires (after its last trading day) the next month
    rolls in: its first trading day is the business day after the expiry of
    the series `months_ahead` months before it (but never before `start`).
    `listing`: ``monthly`` (those futures), ``perpetual`` (one perpetual per
    basket instead, listed from `start`) or ``both`` (the monthlies, then the
    perpetual, so "front" is still the front month).
    """

    start: dt.date
    baskets: list[Basket] = msgspec.field(default_factory=lambda: [HOPPER, BLACKWELL])
    months_ahead: Annotated[int, Meta(ge=1, le=120)] = 12
    contract_unit: Annotated[int, Meta(gt=0)] = CONTRACT_UNIT
    tick_micro: Annotated[int, Meta(gt=0)] = TICK_MICRO
    settlement: SettlementRule = "monthly_average"
    window_days: Annotated[int, Meta(ge=1, le=23)] = 5
    listing: Listing = "monthly"

    def perpetual_for(self, basket: Basket) -> Series:
        """The basket's perpetual under this calendar."""
        first = self.start
        while not is_business_day(first):
            first += dt.timedelta(days=1)
        return make_perpetual(
            basket, first_trading_day=first, contract_unit=self.contract_unit, tick_micro=self.tick_micro
        )

    def _first_trading_day(self, year: int, month: int) -> dt.date:
        py, pm = add_months(year, month, -self.months_ahead)
        opened = next_business_day(last_business_day(py, pm))
        first = max(opened, self.start)
        while not is_business_day(first):
            first += dt.timedelta(days=1)
        return first

    def series_for(self, basket: Basket, year: int, month: int) -> Series:
        """The series of one basket and contract month under this calendar."""
        return make_series(
            basket,
            year,
            month,
            first_trading_day=self._first_trading_day(year, month),
            contract_unit=self.contract_unit,
            tick_micro=self.tick_micro,
            settlement=self.settlement,
            window_days=self.window_days,
        )

    def listed(self, on: dt.date) -> list[Series]:
        """Series trading on `on`, by basket (calendar order) then expiry.

        Empty before `start` and on weekends.
        """
        if on < self.start or not is_business_day(on):
            return []
        y, m = on.year, on.month  # a business day is never after its month's last one
        out = []
        for basket in self.baskets:
            if self.listing != "perpetual":
                for k in range(self.months_ahead):
                    out.append(self.series_for(basket, *add_months(y, m, k)))
            if self.listing != "monthly":
                out.append(self.perpetual_for(basket))
        return out

    def expiring(self, on: dt.date) -> list[Series]:
        """Series whose last trading day is `on`."""
        return [s for s in self.listed(on) if s.last_trading_day == on]

    def series(self, symbol: str) -> Series:
        """The series for a symbol; InputError if no basket has that root."""
        if is_perpetual_symbol(symbol):
            for basket in self.baskets:
                if perpetual_symbol(basket.root) == symbol:
                    return self.perpetual_for(basket)
            raise InputError(f"unknown series {symbol!r}: no basket with that root")
        root, year, month = parse_symbol(symbol)
        for basket in self.baskets:
            if basket.root == root:
                return self.series_for(basket, year, month)
        raise InputError(f"unknown series {symbol!r}: no basket with root {root!r}")


# ---------------------------------------------------------------- final settlement


class FinalSettlement(msgspec.Struct, frozen=True, kw_only=True):
    """The final settlement price of a series and how it was formed.

    `price_ticks` is what clearing uses; `mean_micro` the unrounded mean
    rounded half up to the micro-dollar (for reports); `carried_days` the
    business days whose fixing was missing and carried forward.
    """

    symbol: str
    rule: SettlementRule
    price_ticks: int
    mean_micro: int
    days: int
    carried_days: int


def _fixing_on(day: dt.date, fixings: Mapping[dt.date, int], ordered: list[dt.date]) -> tuple[int, bool]:
    """The fixing for `day`, or the latest earlier one (carried = True)."""
    if day in fixings:
        return fixings[day], False
    i = bisect.bisect_left(ordered, day)
    if i == 0:
        raise InputError(f"no fixing on or before {day.isoformat()} to settle against")
    return fixings[ordered[i - 1]], True


def _to_ticks(total: Fraction, tick_micro: int) -> int:
    return round_half_up(total / tick_micro)


def monthly_average(
    fixings: Mapping[dt.date, int], year: int, month: int, *, tick_micro: int = TICK_MICRO
) -> tuple[int, int, int, int]:
    """Arithmetic mean of the fixings over the contract month's business days.

    A business day without a fixing takes the previous fixing (carried
    forward, possibly from before the month). Returns (price in ticks rounded
    half up, mean in micro-dollars rounded half up, days, carried days).
    """
    days = business_days(*month_days(year, month))
    ordered = sorted(fixings)
    total = 0
    carried = 0
    for day in days:
        value, was_carried = _fixing_on(day, fixings, ordered)
        total += value
        carried += was_carried
    mean = Fraction(total, len(days))
    return _to_ticks(mean, tick_micro), round_half_up(mean), len(days), carried


def twap_window(
    fixings: Mapping[dt.date, int], year: int, month: int, window_days: int, *, tick_micro: int = TICK_MICRO
) -> tuple[int, int, int, int]:
    """Time-weighted mean of the fixings over the month's last `window_days` business days.

    Each fixing is in force from its business day until the next business
    day of the window, and the last one until the end of the month, so it is
    weighted by those calendar days (a Friday fixing counts three days).
    Missing fixings carry forward. Returns as `monthly_average`.
    """
    n_days = len(business_days(*month_days(year, month)))
    if not 1 <= window_days <= n_days:
        raise InputError(f"window of {window_days} business days does not fit {year}-{month:02d}")
    window = _window_weights(year, month, window_days)
    ordered = sorted(fixings)
    total = 0
    weight = 0
    carried = 0
    for day, w in window:
        value, was_carried = _fixing_on(day, fixings, ordered)
        total += value * w
        weight += w
        carried += was_carried
    mean = Fraction(total, weight)
    return _to_ticks(mean, tick_micro), round_half_up(mean), len(window), carried


def _window_weights(year: int, month: int, window_days: int) -> list[tuple[dt.date, int]]:
    """The month's last `window_days` business days (at least 1, at most all),
    each weighted by the calendar days its fixing is in force."""
    first, last = month_days(year, month)
    days = business_days(first, last)
    window = days[-min(max(window_days, 1), len(days)) :]
    ends = window[1:] + [last + dt.timedelta(days=1)]
    return [(day, (end - day).days) for day, end in zip(window, ends)]


def settlement_weights(series: Series) -> list[tuple[dt.date, int]]:
    """The days whose fixings make `series`' final settlement price, each
    with its integer weight: every business day of the month at 1
    (``monthly_average``), or the window's days by calendar days in force
    (``twap_window``). A perpetual has none (ValueError)."""
    if series.perpetual:
        raise ValueError(f"{series.symbol} is a perpetual: it never final-settles")
    if series.settlement == "monthly_average":
        return [(day, 1) for day in business_days(*month_days(series.year, series.month))]
    return _window_weights(series.year, series.month, series.window_days)


def unfixed_fraction(year: int, month: int, today: dt.date) -> Fraction:
    """The share of the month's business days after ``today`` (1 before the
    month, 0 from its last business day): a monthly-average price's (a
    forward's, a monthly future's) remaining exposure to its index."""
    days = business_days(*month_days(year, month))
    return Fraction(sum(1 for d in days if d > today), len(days))


def unfixed_share(series: Series, through: dt.date) -> Fraction:
    """The share of `series`' final settlement price not yet fixed once the
    fixings through `through` are known: how much of a lasting move in the
    index it still takes (per GPU-hour of contract). By its settlement rule:
    ``monthly_average``, the month's business days after `through`;
    ``twap_window``, the time weights of the window's days after `through`
    (1 before the window opens); a perpetual, whose anchor is the index
    itself, always 1. 0 once the last day has fixed."""
    if series.perpetual:
        return Fraction(1)
    weights = settlement_weights(series)
    return Fraction(sum(w for day, w in weights if day > through), sum(w for _, w in weights))


def final_settlement(series: Series, fixings: Mapping[dt.date, int]) -> FinalSettlement:
    """The final settlement price of `series` from its basket's daily fixings
    (date -> micro-dollars per GPU-hour), by the series' settlement rule. A
    perpetual has none (ValueError)."""
    if series.perpetual:
        raise ValueError(f"{series.symbol} is a perpetual: it never final-settles")
    if series.settlement == "monthly_average":
        ticks, mean, n, carried = monthly_average(fixings, series.year, series.month, tick_micro=series.tick_micro)
    else:
        ticks, mean, n, carried = twap_window(
            fixings, series.year, series.month, series.window_days, tick_micro=series.tick_micro
        )
    return FinalSettlement(
        symbol=series.symbol, rule=series.settlement, price_ticks=ticks, mean_micro=mean, days=n, carried_days=carried
    )
