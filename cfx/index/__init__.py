"""The compute price index: constituent quotes in, one daily fixing per SKU and basket out.

A `Quote` is one constituent price (date, SKU, provider, region, term,
integer micro-dollars per GPU-hour, capacity weight). Each day and SKU,
`compute_fixing` takes every constituent's latest quote (a constituent is
provider x region x term), drops those older than the staleness limit, and
applies the index's methodology:

- ``trimmed_mean`` (default): capacity-weighted mean after cutting the
  cheapest and dearest `trim` fraction *of total weight*. A quote straddling
  a cut keeps only its weight inside [trim*W, (1-trim)*W] (partial weight).
- ``two_stage_median``: median price of each provider, then the median of
  those (an even count takes the mean of the middle two). Weights ignored.
  This is the methodology of ewyluda/gpu-price-index v1.3, reproduced exactly
  on its real 2026-10-05 data (`EWYLUDA_SERIES`, `load_ewyluda_csv`).
- ``trade_vwap``: volume-weighted mean of executed OTC trades, where the
  quote feed carries trades and `weight` is the traded volume.

Contributors are distinct providers. When fewer than `min_contributors`
remain, or all quotes are stale, or there are none, the previous fixing
carries and the `Fixing` says why (`FixingFlag`).

Rounding: every methodology computes its value exactly (rational
arithmetic on integer micro-dollars) and rounds **half up** to a multiple of
`round_to_micro` (default 1 micro-dollar; the ewyluda index uses 10_000, a
cent). Basket fixings: see `cfx.products.Basket.value_micro`.

Feeds: `read_quotes_csv` (see its docstring for columns), `load_observations`
(the real observations.csv), `load_ewyluda_csv`, `read_fixings_csv` /
`write_fixings_csv`, and the seeded generator `generate_quotes` /
`generate_fixings` (see `GeneratorConfig` for the model and where its
default numbers come from). `IndexConfig` + `run` tie them together for
`cfx index`.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import numpy as np
from msgspec import Meta

from cfx.errors import InputError, from_validation
from cfx.inputs import CsvRows, read_text
from cfx.writes import atomic, check
from cfx.products import DEFAULT_BASKETS, Basket, business_days, first_business_days, round_half_up

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


class _Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="kebab"):
    """Shared options of the TOML schema."""


class FixingRule(_Config, frozen=True):
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
            Fixing(date=day, name=basket.name, value_micro=value, contributors=min(f.contributors for f in row), flag=flag)
        )
    return out


def fixing_values(fixings: Iterable[Fixing]) -> dict[dt.date, int]:
    """date -> micro-dollars, skipping days with no value: the input of
    `cfx.products.final_settlement`."""
    return {f.date: f.value_micro for f in fixings if f.value_micro is not None}


# ---------------------------------------------------------------- CSV feeds


def parse_price_micro(text: str) -> int:
    """A decimal dollar amount ("2.65") as exact micro-dollars; ValueError
    if not a positive number with at most 6 decimals."""
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal number") from None
    if not d.is_finite() or d <= 0:
        raise ValueError(f"{text!r} is not a positive price")
    micro = d * MICRO
    if micro != micro.to_integral_value():
        raise ValueError(f"{text!r} has more than 6 decimal places")
    return int(micro)


def format_micro(value: int) -> str:
    """Micro-dollars as a dollar string with 6 decimals: 2650000 -> "2.650000"."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), MICRO)
    return f"{sign}{whole}.{frac:06d}"


_QUOTE_COLUMNS: dict[str, tuple[str, ...]] = {
    # field: accepted header names, first is canonical
    "date": ("date",),
    "sku": ("sku",),
    "provider": ("provider",),
    "region": ("region",),
    "term": ("term", "offer"),
    "price": ("price", "price_usd_per_gpu_hour"),
    "weight": ("weight",),
}
_REQUIRED = ("date", "sku", "provider", "price")


def parse_date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    check_date(day, "date")
    return day


def _parse_weight(text: str) -> int:
    text = text.strip()
    if not text:
        return 1
    try:
        w = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if w <= 0:
        raise ValueError(f"{text!r} is not positive")
    return w


Rows = CsvRows  # csv rows after the header, errors with their line (cfx.inputs)


def read_quotes_csv(path: str | Path) -> list[Quote]:
    """Quotes from a CSV with a header row.

    Columns (any order, extra columns ignored):
    ``date`` YYYY-MM-DD; ``sku``; ``provider``; ``region`` (optional, blank
    allowed); ``term`` or ``offer`` (optional, default on_demand); ``price``
    or ``price_usd_per_gpu_hour`` in dollars per GPU-hour, at most 6
    decimals; ``weight`` (optional, positive integer capacity or volume,
    default 1). So `observations.csv` reads as is. A bad row raises
    InputError naming the file, line number and field.
    """
    rows = Rows(path)
    header = rows.header
    col: dict[str, int] = {}
    for field, names in _QUOTE_COLUMNS.items():
        for n in names:
            if n in header:
                col[field] = header.index(n)
                break
    missing = [f for f in _REQUIRED if f not in col]
    if missing:
        rows.close()
        raise InputError(f"{path}:1: missing column(s) {', '.join(missing)} (have {', '.join(header)})")
    out = []
    for line, row in rows:
        if len(row) != len(header):
            raise InputError(f"{path}:{line}: expected {len(header)} fields, got {len(row)}")

        def get(field: str) -> str:
            return row[col[field]].strip() if field in col else ""

        field = "date"
        try:
            date = parse_date(get("date"))
            for field in ("sku", "provider"):
                if not get(field):
                    raise ValueError("is empty")
            field = "price"
            price = parse_price_micro(get("price"))
            field = "weight"
            weight = _parse_weight(get("weight"))
        except ValueError as e:
            raise InputError(f"{path}:{line}: field {field!r}: {e}") from None
        out.append(
            Quote(
                date=date,
                sku=get("sku"),
                provider=get("provider"),
                region=get("region"),
                term=get("term") or "on_demand",
                price_micro=price,
                weight=weight,
            )
        )
    return out


def load_observations(path: str | Path) -> list[Quote]:
    """The real `gpu_prices/observations.csv` as a quote feed (term = its
    `offer`: on_demand, spot or unspecified; weight 1)."""
    return read_quotes_csv(path)


FIXING_COLUMNS = ("date", "name", "value_micro", "value_usd", "contributors", "flag")


def write_fixings_csv(path: str | Path, fixings: Mapping[str, Sequence[Fixing]]) -> int:
    """Write fixings as CSV, columns `FIXING_COLUMNS`, sorted by date then
    name; `value_usd` is for people (value_micro is authoritative), blank
    when there is no value. Returns the number of rows."""
    rows = sorted((f for fs in fixings.values() for f in fs), key=lambda f: (f.date, f.name))
    with atomic(path, "w", "--out", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(FIXING_COLUMNS)
        for f in rows:
            v = f.value_micro
            w.writerow(
                [f.date.isoformat(), f.name, "" if v is None else v, "" if v is None else format_micro(v), f.contributors, f.flag.value]
            )
    return len(rows)


def read_fixings_csv(path: str | Path) -> dict[str, list[Fixing]]:
    """Fixings from a CSV as written by `write_fixings_csv` (`value_usd`
    optional and ignored; `contributors` and `flag` optional), by name."""
    rows = Rows(path)
    header = rows.header
    for need in ("date", "name", "value_micro"):
        if need not in header:
            rows.close()
            raise InputError(f"{path}:1: missing column {need} (have {', '.join(header)})")
    out: dict[str, list[Fixing]] = defaultdict(list)
    for line, row in rows:
        if len(row) != len(header):
            raise InputError(f"{path}:{line}: expected {len(header)} fields, got {len(row)}")
        rec = dict(zip(header, (c.strip() for c in row)))
        field = "date"
        try:
            date = parse_date(rec["date"])
            field = "name"
            if not rec["name"]:
                raise ValueError("is empty")
            field = "value_micro"
            value = int(rec["value_micro"]) if rec["value_micro"] else None
            field = "contributors"
            contributors = int(rec.get("contributors") or 0)
            field = "flag"
            flag = FixingFlag(rec.get("flag") or "ok")
        except ValueError as e:
            raise InputError(f"{path}:{line}: field {field!r}: {e}") from None
        out[rec["name"]].append(Fixing(date=date, name=rec["name"], value_micro=value, contributors=contributors, flag=flag))
    return {k: sorted(v, key=lambda f: f.date) for k, v in out.items()}


# ---------------------------------------------------------------- ewyluda/gpu-price-index v1.3

EWYLUDA_SEGMENTS: dict[str, str] = {
    # provider (as its raw CSV names it) -> segment; RunPod's two clouds are two providers
    "AWS": "hyperscaler",
    "Microsoft Azure": "hyperscaler",
    "Google Cloud": "hyperscaler",
    "Oracle Cloud": "hyperscaler",
    "CoreWeave": "neocloud",
    "Crusoe": "neocloud",
    "Hyperstack": "neocloud",
    "Lambda": "neocloud",
    "Nebius": "neocloud",
    "RunPod Secure Cloud": "neocloud",
    "RunPod Community Cloud": "marketplace",
    "Vast.ai": "marketplace",
}

EWYLUDA_SERIES: dict[str, tuple[str, str | None]] = {
    # published series -> (term, segment or None for all providers)
    "index": ("on_demand", None),
    "hyperscaler": ("on_demand", "hyperscaler"),
    "neocloud": ("on_demand", "neocloud"),
    "marketplace": ("on_demand", "marketplace"),
    "spot": ("spot", None),
}

EWYLUDA_RULE = FixingRule(methodology="two_stage_median", min_contributors=1, staleness_days=0, round_to_micro=10_000, terms=[])


def load_ewyluda_csv(path: str | Path) -> list[Quote]:
    """ewyluda/gpu-price-index raw observations as quotes: sku = `gpu_model`,
    provider = `provider`, term = `pricing`, price = `usd_per_gpu_hour`,
    weight = `gpu_count`."""
    rows = Rows(path)
    out = []
    for line, row in rows:
        rec = dict(zip(rows.header, row))
        field = "date"
        try:
            date = parse_date(rec["date"])
            field = "usd_per_gpu_hour"
            price = parse_price_micro(rec[field])
            field = "gpu_count"
            weight = _parse_weight(rec[field])
        except (ValueError, KeyError) as e:
            raise InputError(f"{path}:{line}: field {field!r}: {e}") from None
        out.append(
            Quote(
                date=date,
                sku=rec["gpu_model"],
                provider=rec["provider"],
                region=rec["region"],
                term=rec["pricing"],
                price_micro=price,
                weight=weight,
            )
        )
    return out


def ewyluda_index(quotes: Iterable[Quote], on: dt.date) -> dict[tuple[str, str], int]:
    """The ewyluda index's series for one day: (gpu, series) -> micro-dollars
    (whole cents). A series with no quotes is absent; providers outside
    `EWYLUDA_SEGMENTS` count for the index and spot series only."""
    groups: dict[tuple[str, str], list[Quote]] = defaultdict(list)
    for q in quotes:
        if q.date != on:
            continue
        for series, (term, segment) in EWYLUDA_SERIES.items():
            if q.term == term and (segment is None or EWYLUDA_SEGMENTS.get(q.provider) == segment):
                groups[(q.sku, series)].append(q)
    return {key: fixing_value(qs, EWYLUDA_RULE) for key, qs in sorted(groups.items())}


# ---------------------------------------------------------------- seeded generator


class SkuModel(_Config, frozen=True):
    """One SKU's price process: level ($/GPU-h), annual vol and drift (log),
    loading on the common factor, and the business day it is first quoted."""

    name: str
    level: Annotated[float, Meta(gt=0)]
    vol: Annotated[float, Meta(ge=0)]
    drift: float = 0.0
    beta: Annotated[float, Meta(ge=0, le=1)] = 0.7
    listed_from: Annotated[int, Meta(ge=0)] = 0


class ProviderModel(_Config, frozen=True):
    """A provider: its regions, mean log basis to the SKU price, and capacity
    (GPUs, the quote weight) per region."""

    name: str
    regions: list[str]
    basis: float = 0.0
    capacity: Annotated[int, Meta(gt=0)] = 100


class Launch(_Config, frozen=True):
    """A new generation launches on business day `day`: the `previous`
    generation SKUs reprice by `shock` (log) that day. To quote the new SKU
    itself, add it to `skus` with `listed-from` set to the same day."""

    day: Annotated[int, Meta(ge=0)]
    sku: str
    previous: list[str]
    shock: float = -0.15


def _default_skus() -> list[SkuModel]:
    return [
        SkuModel(name="A100", level=1.40, vol=0.15, drift=-0.15),
        SkuModel(name="H100", level=2.65, vol=0.26, drift=-0.10),
        SkuModel(name="H200", level=3.25, vol=0.28, drift=-0.05),
        SkuModel(name="B200", level=5.50, vol=0.30, drift=0.0),
    ]


def _default_providers() -> list[ProviderModel]:
    return [
        ProviderModel(name="coreweave", regions=["us-east", "us-west"], basis=0.05, capacity=400),
        ProviderModel(name="lambda", regions=["us-east", "us-west"], basis=0.02, capacity=300),
        ProviderModel(name="nebius", regions=["eu-north", "us-central"], basis=-0.03, capacity=250),
        ProviderModel(name="crusoe", regions=["us-central"], basis=0.0, capacity=200),
        ProviderModel(name="runpod", regions=["global"], basis=-0.08, capacity=150),
        ProviderModel(name="vast", regions=["global"], basis=-0.20, capacity=100),
        ProviderModel(name="aws", regions=["us-east-1"], basis=1.0, capacity=60),
    ]


_COARSE_PREFIXES: tuple[tuple[str, str], ...] = (
    # (prefix of a provider's region name, coarse region); first match wins
    ("us-east", "us-east"), ("eastus", "us-east"), ("us-west", "us-west"), ("westus", "us-west"),
    ("us-central", "us-central"), ("centralus", "us-central"), ("northcentralus", "us-central"),
    ("southcentralus", "us-central"), ("eu", "eu-west"), ("westeurope", "eu-west"), ("northeurope", "eu-west"),
    ("uk", "eu-west"), ("france", "eu-west"), ("germany", "eu-west"), ("sweden", "eu-west"),
    ("switzerland", "eu-west"), ("poland", "eu-west"), ("italy", "eu-west"), ("spain", "eu-west"),
)


def coarse_region(region: str) -> str:
    """A provider's region name as a coarse index region (``us-east-1`` ->
    ``us-east``, ``eu-north`` / ``westeurope`` -> ``eu-west``); "" for no
    region (blank or ``global``: such quotes count for the SKU index only);
    any other name as it is, lower-cased."""
    r = region.strip().lower()
    if r in ("", "global", "na"):
        return ""
    return next((coarse for prefix, coarse in _COARSE_PREFIXES if r.startswith(prefix)), r)


def region_index_name(sku: str, region: str) -> str:
    """The published name of an SKU x region index: ``H100.us-east``."""
    return f"{sku}.{region}"


class GeneratorConfig(_Config, frozen=True):
    """A seeded quote generator; defaults calibrated to DESIGN.md and to the
    real observations (gpu_prices/observations.csv).

    Log price of SKU s on business day t:
    ``log P_s(t) = log level_s + sum of daily returns``, where a daily return
    is ``beta*vol*e_common + sqrt(1-beta^2)*vol*e_s`` (each e ~ N(0, 1/252)),
    plus ``drift/252``, plus Poisson jumps (``jump_rate`` per year, log size
    N(jump_mean, jump_vol)), plus a launch `shock` on launch days. A quote of
    provider p in region r is ``P_s(t) * exp(y_sR(t) + x(t))``: x, the
    provider's basis, follows an Ornstein-Uhlenbeck process around the
    provider's `basis` (``basis_reversion`` per year, ``basis_vol`` annual);
    y_sR, the factor of SKU s in coarse region R (`coarse_region`), is a
    second OU process around a level drawn once per seed from
    N(0, ``region_basis_sd``) (de-meaned over the SKU's regions), reverting
    at ``region_reversion`` per year with stationary sd ``region_sd``,
    independent across regions and SKUs. Quotes without a region (``global``
    marketplaces) have no region factor. Each quote is missing with
    probability ``missing``. `seed` None: the caller's seed (`cfx run`: the
    scenario seed; elsewhere `DEFAULT_SEED`).

    Where the numbers come from: levels and vols are DESIGN.md's "Realistic
    levels" (public index data, 2026: H100 ~$2.65 at neoclouds, H200 $3.25,
    B200 $5-6, A100 $1.40; vol 26% H100, 30% B200, 15% A100; H200's 28% is an
    interpolation). Drifts: older generations decay (A100 -15%/yr, H100
    -10%/yr), consistent with the ~13% backwardation over 36 months there.
    Provider bases: marketplaces (vast, runpod) below neoclouds, a
    hyperscaler list price near 2.7x (exp(1.0)) with small capacity, so the
    10% trim removes it. Jump and launch sizes are illustrative, not fitted.
    Region figures, computed from gpu_prices/observations.csv (a one-off
    script, not shipped; H100-SXM, H200, A100-80GB, B200 rows):
    ``region_basis_sd`` 0.165 is the pooled sd of log(region price / the
    provider's median over its regions) on 2026-10-05, on-demand, for the
    providers quoting one SKU in 3+ regions (Azure, AWS; 100 prices);
    ``region_reversion`` 125/yr is -252*log(phi) for phi = 0.609, the median
    day-to-day AR(1) coefficient of log(provider price / SKU median) in the
    tugot17 daily series (15 provider x SKU series, half-life 1.4 days);
    ``region_sd`` 0.0195 = 0.0536 * sqrt(1 - 0.868), where 0.0536 is the
    median sd over time of those relative log prices and 0.868 the median
    correlation of their daily changes between providers of one SKU: that
    shared part moves every constituent of a SKU together, so the model
    keeps it in the SKU's own factor (vol above) and gives a region only
    the rest. Cross-region correlation of SKU x region returns then comes
    from the shared SKU factor: over 1000 generated days, daily returns of
    H100.us-east correlate about 0.45 with H100.us-west and 0.69 with HOPPER.
    """

    seed: Annotated[int, Meta(ge=0, le=2**63 - 1)] | None = None
    start: dt.date = dt.date(2027, 1, 4)
    days: Annotated[int, Meta(ge=1, le=20_000)] = 260
    skus: list[SkuModel] = msgspec.field(default_factory=_default_skus)
    providers: list[ProviderModel] = msgspec.field(default_factory=_default_providers)
    basis_reversion: Annotated[float, Meta(ge=0)] = 12.0
    basis_vol: Annotated[float, Meta(ge=0)] = 0.10
    region_basis_sd: Annotated[float, Meta(ge=0.0, le=2.0)] = 0.165
    region_reversion: Annotated[float, Meta(ge=0)] = 125.0
    region_sd: Annotated[float, Meta(ge=0.0, le=2.0)] = 0.0195
    jump_rate: Annotated[float, Meta(ge=0)] = 1.0
    jump_mean: float = -0.03
    jump_vol: Annotated[float, Meta(ge=0)] = 0.08
    missing: Annotated[float, Meta(ge=0, lt=1)] = 0.02
    launches: list[Launch] = msgspec.field(
        default_factory=lambda: [Launch(day=130, sku="B300", previous=["B200", "H200"], shock=-0.12)]
    )

    def __post_init__(self) -> None:
        check_date(self.start, "start")
        check_date(self.start + dt.timedelta(days=self.days * 7 // 5 + 7), "start + days")


DEFAULT_SEED = 6  # the generator's seed when neither the config nor the caller gives one


def generator_seed(cfg: GeneratorConfig) -> int:
    """The seed a generator config draws from (`DEFAULT_SEED` when unset)."""
    return DEFAULT_SEED if cfg.seed is None else cfg.seed


class Jump(msgspec.Struct, frozen=True):
    """One jump of an SKU's log price on business day `day` (an index into
    the sample's dates): the generator's Poisson jumps and launch shocks,
    and the scenario's index moves. `minute`: minute of the day it happens
    (None: a random time of the day, drawn by the intraday process)."""

    sku: str
    day: int
    size: float
    minute: int | None = None


class DailySample(msgspec.Struct):
    """The generator's SKU log prices per business day, with the jumps that
    are part of them, so that an intraday process can place the jumps in
    the day and bridge the rest (`cfx.index.intraday`)."""

    dates: list[dt.date]
    log_price: dict[str, np.ndarray]  # SKU -> log $/GPU-h per day
    jumps: list[Jump]

    def add_jump(self, jump: Jump) -> None:
        """Move `jump.sku`'s log price by `jump.size` from its day on."""
        self.log_price[jump.sku][jump.day:] += jump.size
        self.jumps.append(jump)


def daily_sample(cfg: GeneratorConfig) -> DailySample:
    """The generator's SKU paths (log $/GPU-h per business day) and their jumps."""
    rng = np.random.default_rng(generator_seed(cfg))
    n, k = cfg.days, len(cfg.skus)
    dates = first_business_days(cfg.start, n)
    dt_y = 1.0 / 252
    common = rng.standard_normal(n) * math.sqrt(dt_y)
    own = rng.standard_normal((k, n)) * math.sqrt(dt_y)
    jumps_n = rng.poisson(cfg.jump_rate * dt_y, (k, n))
    jump_sizes = rng.normal(cfg.jump_mean, cfg.jump_vol, (k, n)) * jumps_n
    paths, jumps = {}, []
    for i, s in enumerate(cfg.skus):
        r = s.beta * s.vol * common + math.sqrt(1 - s.beta**2) * s.vol * own[i] + s.drift * dt_y + jump_sizes[i]
        for t in np.flatnonzero(jump_sizes[i][1:]) + 1:
            jumps.append(Jump(s.name, int(t), float(jump_sizes[i][t])))
        for launch in cfg.launches:
            if s.name in launch.previous and launch.day < n:
                r[launch.day] += launch.shock
                if launch.day > 0:
                    jumps.append(Jump(s.name, launch.day, launch.shock))
        r[0] = 0.0
        paths[s.name] = math.log(s.level) + np.cumsum(r)
    return DailySample(dates, paths, jumps)


def sku_paths(cfg: GeneratorConfig) -> tuple[list[dt.date], dict[str, np.ndarray]]:
    """The generator's underlying SKU prices ($/GPU-h, floats) per business day."""
    sample = daily_sample(cfg)
    return sample.dates, {name: np.exp(lp) for name, lp in sample.log_price.items()}


class Constituent(msgspec.Struct, frozen=True):
    """One generated constituent (SKU x provider x region) and its daily
    quotes in micro-dollars (0: no quote that day)."""

    sku: str
    provider: str
    region: str
    weight: int
    prices: np.ndarray  # int64 per day


def constituents(cfg: GeneratorConfig, sample: DailySample | None = None) -> list[Constituent]:
    """Every SKU x provider x region of the generator with its daily quotes
    (`generate_quotes` lists them). Same config and sample, same result."""
    sample = sample or daily_sample(cfg)
    seed = generator_seed(cfg)
    rng = np.random.default_rng([seed, 1])  # basis and gaps: a stream apart from the paths
    region_rng = np.random.default_rng([seed, 3])  # SKU x region factors: another one
    n = cfg.days
    kappa, sig = cfg.basis_reversion / 252, cfg.basis_vol * math.sqrt(1 / 252)
    phi = math.exp(-cfg.region_reversion / 252)
    out = []
    for s in cfg.skus:
        regions = sorted({coarse_region(r) for p in cfg.providers for r in p.regions} - {""})
        levels = region_rng.normal(0.0, cfg.region_basis_sd, len(regions))
        levels -= levels.mean() if len(regions) > 1 else 0.0
        factor = {"": np.zeros(n)}
        for region, level in zip(regions, levels):
            e = region_rng.standard_normal(n) * cfg.region_sd * math.sqrt(1 - phi * phi)
            y = np.empty(n)
            prev = level + region_rng.standard_normal() * cfg.region_sd
            for t in range(n):
                prev = level + phi * (prev - level) + e[t]
                y[t] = prev
            factor[region] = y
        log_path = sample.log_price[s.name]
        for p in cfg.providers:
            for region in p.regions:
                shocks = rng.standard_normal(n) * sig
                gone = rng.random(n) < cfg.missing
                x = np.empty(n)
                b = p.basis
                for t in range(n):
                    b += kappa * (p.basis - b) + shocks[t]
                    x[t] = b
                prices = np.rint(np.exp(log_path + x + factor[coarse_region(region)]) * MICRO).astype(np.int64)
                prices[gone] = 0
                prices[: s.listed_from] = 0
                out.append(Constituent(s.name, p.name, region, p.capacity, prices))
    return out


def quotes_of(cfg: GeneratorConfig, parts: Sequence[Constituent]) -> list[Quote]:
    """The constituents' daily quotes as `Quote`s (term on_demand, weight =
    capacity), sorted by date, SKU, provider, region."""
    dates = first_business_days(cfg.start, cfg.days)
    out = [
        Quote(date=dates[t], sku=c.sku, provider=c.provider, region=c.region, price_micro=int(c.prices[t]), weight=c.weight)
        for c in parts
        for t in np.flatnonzero(c.prices)
    ]
    out.sort(key=lambda q: (q.date, q.sku, q.provider, q.region))
    return out


def generate_quotes(cfg: GeneratorConfig | None = None) -> list[Quote]:
    """Quotes per business day: every SKU x provider x region (once the SKU
    is listed), in micro-dollars (rounded to the nearest micro at the edge),
    term on_demand, weight = the provider's capacity. Same config, same list."""
    cfg = cfg or GeneratorConfig()
    return quotes_of(cfg, constituents(cfg))


def generate_fixings(cfg: GeneratorConfig | None = None, rule: FixingRule | None = None) -> dict[str, list[Fixing]]:
    """Daily SKU fixings straight from the generator (one per business day)."""
    cfg = cfg or GeneratorConfig()
    return daily_fixings(
        generate_quotes(cfg), rule, days=first_business_days(cfg.start, cfg.days), skus=[s.name for s in cfg.skus]
    )


# ---------------------------------------------------------------- configuration


class IndexConfig(_Config, frozen=True):
    """What `cfx index` computes: a quote source (a CSV or the generator),
    the fixing rule (and per-SKU overrides), and the baskets.

    `region-fixing` is the rule of the SKU x region indices (default: the
    trimmed mean with one contributor enough, as a region has few).
    Exactly one of `quotes` (a CSV path, relative to the config file) and
    `generator` is used; `quotes` wins when both are set. `sku-aliases`
    renames quoted SKUs (e.g. ``{"H100-SXM" = "H100"}`` for observations.csv).
    """

    fixing: FixingRule = msgspec.field(default_factory=FixingRule)
    region_fixing: FixingRule = msgspec.field(default_factory=lambda: FixingRule(min_contributors=1))
    per_sku: dict[str, FixingRule] = msgspec.field(default_factory=dict)
    skus: list[str] | None = None
    baskets: list[Basket] = msgspec.field(default_factory=lambda: list(DEFAULT_BASKETS.values()))
    quotes: str | None = None
    sku_aliases: dict[str, str] = msgspec.field(default_factory=dict)
    generator: GeneratorConfig | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        check_date(self.start, "start")
        check_date(self.end, "end")


def load_config(path: str | Path) -> IndexConfig:
    """An `IndexConfig` from TOML; a relative `quotes` path is resolved
    against the config's folder. Errors become InputError with the path in
    the document (``at `$.fixing.trim```)."""
    path = Path(path)
    try:
        cfg = msgspec.toml.decode(read_text(path, "index config"), type=IndexConfig)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise from_validation(str(path), e) from None
    if cfg.quotes is not None and not Path(cfg.quotes).is_absolute():
        cfg = msgspec.structs.replace(cfg, quotes=str(path.parent / cfg.quotes))
    return cfg


def region_fixings(
    quotes: Iterable[Quote], rule: FixingRule, days: Sequence[dt.date], skus: Iterable[str]
) -> dict[str, list[Fixing]]:
    """The SKU x region indices (``H100.us-east``): each SKU's quotes grouped
    by `coarse_region` (quotes without a region left out), fixed by `rule`."""
    wanted = set(skus)
    keyed = [
        msgspec.structs.replace(q, sku=region_index_name(q.sku, r))
        for q in quotes
        if q.sku in wanted and (r := coarse_region(q.region))
    ]
    return daily_fixings(keyed, rule, days=days) if keyed else {}


def run(cfg: IndexConfig, quotes: list[Quote] | None = None) -> dict[str, list[Fixing]]:
    """SKU, SKU x region and basket fixings, by name, for a configuration.

    Days: business days from `start` (default: first quote) to `end`
    (default: last quote). Baskets whose SKUs are not all quoted are an
    InputError. `quotes` given: those instead of the configured source.
    """
    if quotes is not None:
        pass
    elif cfg.quotes is not None:
        quotes = read_quotes_csv(cfg.quotes)
        if not quotes:
            raise InputError(f"{cfg.quotes}: no quotes")
        if cfg.sku_aliases:
            quotes = [msgspec.structs.replace(q, sku=cfg.sku_aliases.get(q.sku, q.sku)) for q in quotes]
    else:
        quotes = generate_quotes(cfg.generator or GeneratorConfig())
    first = cfg.start or min(q.date for q in quotes)
    last = cfg.end or max(q.date for q in quotes)
    if last < first:
        raise InputError(f"end {last} is before start {first}")
    quoted = {q.sku for q in quotes}
    needed = set(cfg.skus) if cfg.skus is not None else set(quoted)
    for b in cfg.baskets:
        absent = sorted(set(b.weights) - quoted)
        if absent:
            raise InputError(f"basket {b.name}: SKU {', '.join(absent)} never quoted (quoted: {', '.join(sorted(quoted))})")
        needed |= set(b.weights)
    days = business_days(first, last)
    fixings = daily_fixings(quotes, cfg.fixing, days=days, skus=needed, rules=cfg.per_sku)
    fixings.update(region_fixings(quotes, cfg.region_fixing, days, needed))
    for b in cfg.baskets:
        fixings[b.name] = basket_fixings(b, fixings)
    return fixings


def main(args) -> int:
    """`cfx index`: load the config (or defaults), let ``--quotes`` override
    its source, compute, write ``--out``, print a one-line JSON summary."""
    cfg = load_config(args.config) if args.config else IndexConfig()
    if args.quotes:
        cfg = msgspec.structs.replace(cfg, quotes=args.quotes)
    check(args.out, "--out")
    fixings = run(cfg)
    rows = write_fixings_csv(args.out, fixings)
    if not any(f.value_micro is not None for fs in fixings.values() for f in fs):
        raise InputError(f"{args.out}: no fixing could be computed ({rows} rows, every one flagged); "
                         f"check the quotes' dates and SKUs")
    flagged = sum(f.flag != FixingFlag.OK for fs in fixings.values() for f in fs)
    days = sorted({f.date for fs in fixings.values() for f in fs})
    summary = {
        "out": str(args.out),
        "rows": rows,
        "names": sorted(fixings),
        "first": days[0].isoformat() if days else None,
        "last": days[-1].isoformat() if days else None,
        "flagged": flagged,
    }
    print(msgspec.json.encode(summary).decode())
    return 0
