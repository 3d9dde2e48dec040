"""Fixings: the quote and fixing records, the fixing rule and its
methodologies, and the daily SKU and basket fixings computed from quotes
(see the package docstring for the rules)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from cfx.errors import InputError
from cfx.products import Basket, business_days, round_half_up


MICRO = 1_000_000

Methodology = Literal["trimmed_mean", "two_stage_median", "trade_vwap"]


class FixingFlag(StrEnum):
    """Why a fixing is not freshly computed (``ok`` when it is)."""

    OK = "ok"
    TOO_FEW_CONTRIBUTORS = "too_few_contributors"
    STALE = "stale"
    NO_QUOTES = "no_quotes"


class Quote(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One constituent price: micro-dollars per GPU-hour; `weight` is capacity
    (GPUs offered) for quotes, or traded volume for trade-based indices."""

    date: dt.date
    sku: str
    provider: str
    region: str = ""
    term: str = "on_demand"
    price_micro: int
    weight: int = 1


class Fixing(msgspec.Struct, frozen=True, kw_only=True):
    """One day's value of a SKU or basket index.

    `value_micro` is None only when nothing was ever computable. When `flag`
    is not OK the value is the previous fixing carried forward.
    """

    date: dt.date
    name: str
    value_micro: int | None
    contributors: int
    flag: FixingFlag = FixingFlag.OK


FIRST_DATE = dt.date(1971, 1, 1)  # dates cfx accepts anywhere (nanosecond clocks and calendars stay in range)
LAST_DATE = dt.date(2199, 12, 31)


def check_date(day: dt.date | None, what: str) -> None:
    """ValueError if ``day`` is outside `FIRST_DATE`..`LAST_DATE`."""
    if day is not None and not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"{what}: {day} is outside {FIRST_DATE}..{LAST_DATE}")


class IndexSection(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="kebab"):
    """Shared options of the TOML schema."""


class FixingRule(IndexSection, frozen=True):
    """How one index fixes.

    `trim`: fraction of total weight cut at each end (trimmed_mean only).
    `min_contributors`: distinct providers with a fresh quote.
    `staleness_days`: a quote dated more than this many calendar days before
    the fixing day is excluded (0 = same-day quotes only).
    `round_to_micro`: the fixing is rounded half up to a multiple of this.
    `terms`: quote terms used (empty = all).
    """

    methodology: Methodology = "trimmed_mean"
    trim: Annotated[float, Meta(ge=0, lt=0.5)] = 0.10
    min_contributors: Annotated[int, Meta(ge=1)] = 3
    staleness_days: Annotated[int, Meta(ge=0)] = 5
    round_to_micro: Annotated[int, Meta(ge=1)] = 1
    terms: list[str] = msgspec.field(default_factory=lambda: ["on_demand"])


# ---------------------------------------------------------------- methodologies


def _trimmed_mean(quotes: Sequence[Quote], trim: float) -> Fraction:
    ranked = sorted(quotes, key=lambda q: q.price_micro)
    total = sum(q.weight for q in ranked)
    cut = Fraction(repr(float(trim))) * total
    lo, hi = cut, total - cut
    acc = 0
    num = Fraction(0)
    den = Fraction(0)
    for q in ranked:
        start, end = acc, acc + q.weight
        acc = end
        kept = min(end, hi) - max(start, lo)
        if kept > 0:
            num += kept * q.price_micro
            den += kept
    return num / den


def _median(values: Sequence[Fraction | int]) -> Fraction:
    s = sorted(values)
    n = len(s)
    mid = n // 2
    return Fraction(s[mid]) if n % 2 else Fraction(s[mid - 1] + s[mid], 2)


def _two_stage_median(quotes: Sequence[Quote]) -> Fraction:
    by_provider: dict[str, list[int]] = defaultdict(list)
    for q in quotes:
        by_provider[q.provider].append(q.price_micro)
    return _median([_median(v) for v in by_provider.values()])


def _vwap(quotes: Sequence[Quote]) -> Fraction:
    return Fraction(sum(q.price_micro * q.weight for q in quotes), sum(q.weight for q in quotes))


def fixing_value(quotes: Sequence[Quote], rule: FixingRule) -> int:
    """The methodology applied to a non-empty set of fresh quotes, rounded
    half up to a multiple of `rule.round_to_micro`."""
    if rule.methodology == "trimmed_mean":
        exact = _trimmed_mean(quotes, rule.trim)
    elif rule.methodology == "two_stage_median":
        exact = _two_stage_median(quotes)
    else:
        exact = _vwap(quotes)
    return round_half_up(exact, rule.round_to_micro)


# ---------------------------------------------------------------- daily fixings


def compute_fixing(
    name: str, on: dt.date, latest: Mapping[tuple, list[Quote]], rule: FixingRule, previous: Fixing | None
) -> Fixing:
    """One SKU's fixing on `on` from each constituent's latest quotes.

    `latest` maps a constituent key to its quotes of the latest date on or
    before `on` (several if a provider lists several shapes that day).
    """
    fresh = [q for qs in latest.values() for q in qs if (on - q.date).days <= rule.staleness_days]
    providers = len({q.provider for q in fresh})
    if not latest:
        flag = FixingFlag.NO_QUOTES
    elif not fresh:
        flag = FixingFlag.STALE
    elif providers < rule.min_contributors:
        flag = FixingFlag.TOO_FEW_CONTRIBUTORS
    else:
        return Fixing(date=on, name=name, value_micro=fixing_value(fresh, rule), contributors=providers)
    carried = previous.value_micro if previous is not None else None
    return Fixing(date=on, name=name, value_micro=carried, contributors=providers, flag=flag)


def daily_fixings(
    quotes: Iterable[Quote],
    rule: FixingRule | None = None,
    *,
    days: Sequence[dt.date] | None = None,
    skus: Iterable[str] | None = None,
    rules: Mapping[str, FixingRule] | None = None,
) -> dict[str, list[Fixing]]:
    """Fixings per SKU for each day in `days` (default: the business days
    from the first to the last quote date).

    `rule` applies to every SKU unless `rules` names one for it; `skus`
    limits the output (default: every SKU quoted). Quotes whose term is not
    in the rule's `terms` are ignored. Runtime O(quotes + days x constituents).
    """
    rule = rule or FixingRule()
    rules = rules or {}
    ordered = sorted(quotes, key=lambda q: q.date)
    wanted = set(skus) if skus is not None else {q.sku for q in ordered}
    if days is None:
        days = business_days(ordered[0].date, ordered[-1].date) if ordered else []
    out: dict[str, list[Fixing]] = {s: [] for s in sorted(wanted)}
    latest: dict[str, dict[tuple, list[Quote]]] = {s: {} for s in wanted}
    i = 0
    for day in days:
        while i < len(ordered) and ordered[i].date <= day:
            q = ordered[i]
            i += 1
            if q.sku not in wanted:
                continue
            terms = rules.get(q.sku, rule).terms
            if terms and q.term not in terms:
                continue
            book = latest[q.sku]
            key = (q.provider, q.region, q.term)
            held = book.get(key)
            if held is None or held[0].date < q.date:
                book[key] = [q]
            else:
                held.append(q)
        for sku, fixings in out.items():
            prev = fixings[-1] if fixings else None
            fixings.append(compute_fixing(sku, day, latest[sku], rules.get(sku, rule), prev))
    return out


def basket_fixings(basket: Basket, sku_fixings: Mapping[str, Sequence[Fixing]]) -> list[Fixing]:
    """The basket index per day from its SKUs' fixings (same days for each).

    Value: `Basket.value_micro` (exact weighted sum, half up to the micro).
    Contributors: the fewest of its SKUs. Flag: the first non-OK SKU flag in
    weight order (its value carried); None if any SKU has never fixed.
    """
    try:
        series = [sku_fixings[s] for s in basket.weights]
    except KeyError as e:
        raise InputError(f"basket {basket.name}: no fixings for SKU {e.args[0]}") from None
    out = []
    for row in zip(*series, strict=True):
        day = row[0].date
        if any(f.date != day for f in row):
            raise InputError(f"basket {basket.name}: SKU fixings are not on the same days")
        flag = next((f.flag for f in row if f.flag != FixingFlag.OK), FixingFlag.OK)
        if any(f.value_micro is None for f in row):
            value = None
        else:
            value = basket.value_micro({f.name: f.value_micro for f in row})
        out.append(
            Fixing(
                date=day, name=basket.name, value_micro=value, contributors=min(f.contributors for f in row), flag=flag
            )
        )
    return out


def fixing_values(fixings: Iterable[Fixing]) -> dict[dt.date, int]:
    """date -> micro-dollars, skipping days with no value: the input of
    `cfx.products.final_settlement`."""
    return {f.date: f.value_micro for f in fixings if f.value_micro is not None}
