"""Quote and fixing feeds as files: the quotes CSV, the real
observations.csv, the fixings CSV, and the ewyluda/gpu-price-index v1.3
format with its published methodology."""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path


from cfx.csvfile import Table
from cfx.units import MAX_PRICE_MICRO
from cfx.writes import atomic
from cfx.index.fixing import MICRO, Fixing, FixingFlag, FixingRule, Quote, check_date, fixing_value


def parse_price_micro(text: str, max_micro: int | None = None) -> int:
    """A decimal dollar amount ("2.65") as exact micro-dollars; ValueError
    if not a positive number with at most 6 decimals, or (with
    ``max_micro``) above ``max_micro`` micro-dollars."""
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal number") from None
    if not d.is_finite() or d <= 0:
        raise ValueError(f"{text!r} is not a positive price")
    try:
        micro = d * MICRO
    except ArithmeticError:  # decimal.Overflow: beyond the context's exponent range
        raise ValueError(f"{text!r} is too large a price") from None
    if max_micro is not None and micro > max_micro:
        raise ValueError(f"{text!r} is above ${max_micro / MICRO:,.0f}, the largest price accepted")
    if micro != micro.to_integral_value() or micro < 1:  # (1e-999999999 * 10^6 rounds to 0)
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


def nonempty(text: str) -> str:
    """``text``, or ValueError ("is empty") for a blank cell."""
    if not text:
        raise ValueError("is empty")
    return text


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
    table = Table(path)
    col = {field: table.pick(*names) for field, names in _QUOTE_COLUMNS.items()}
    missing = [f for f in _REQUIRED if col[f] is None]
    if missing:
        raise table.header_error(missing)
    out = []
    for rec in table:
        field = "date"
        try:
            date = parse_date(rec.get(col["date"]))
            for field in ("sku", "provider"):
                nonempty(rec.get(col[field]))
            field = "price"
            price = parse_price_micro(rec.get(col["price"]), MAX_PRICE_MICRO)
            field = "weight"
            weight = _parse_weight(rec.get(col["weight"]))
        except ValueError as e:
            raise rec.field_error(field, e) from None
        out.append(
            Quote(
                date=date,
                sku=rec.get(col["sku"]),
                provider=rec.get(col["provider"]),
                region=rec.get(col["region"]),
                term=rec.get(col["term"]) or "on_demand",
                price_micro=price,
                weight=weight,
            )
        )
    return out


def load_observations(path: str | Path) -> list[Quote]:
    """The real `gpu_prices/observations.csv` as a quote feed (term = its
    `offer`: on_demand, spot or unspecified; weight 1)."""
    return read_quotes_csv(path)


# The one fixings schema: a run's fixings.parquet has the same columns (docs/outputs.md)
FIXING_COLUMNS = ("date", "index", "value_usd_micro", "value_usd", "contributors", "flag")
_OLD_NAMES = {"name": "index", "value_micro": "value_usd_micro"}  # the columns' names before cfx 0.1's schema


def write_fixings_csv(path: str | Path, fixings: Mapping[str, Sequence[Fixing]]) -> int:
    """Write fixings as CSV, columns `FIXING_COLUMNS`, sorted by date then
    index name; `value_usd` is for people (value_usd_micro is authoritative),
    blank when there is no value. Returns the number of rows."""
    rows = sorted((f for fs in fixings.values() for f in fs), key=lambda f: (f.date, f.name))
    with atomic(path, "w", "--out", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(FIXING_COLUMNS)
        for f in rows:
            v = f.value_micro
            w.writerow(
                [
                    f.date.isoformat(),
                    f.name,
                    "" if v is None else v,
                    "" if v is None else format_micro(v),
                    f.contributors,
                    f.flag.value,
                ]
            )
    return len(rows)


def read_fixings_csv(path: str | Path) -> dict[str, list[Fixing]]:
    """Fixings from a CSV as written by `write_fixings_csv` (`value_usd`
    optional and ignored; `contributors` and `flag` optional; the older
    names `name` and `value_micro` accepted), by index name."""
    table = Table(path)
    table.require(("date",))
    index = table.pick("index", *[old for old, new in _OLD_NAMES.items() if new == "index"])
    value = table.pick("value_usd_micro", *[old for old, new in _OLD_NAMES.items() if new == "value_usd_micro"])
    missing = [name for name, col in (("index", index), ("value_usd_micro", value)) if col is None]
    if missing:
        raise table.header_error(missing)
    out: dict[str, list[Fixing]] = defaultdict(list)
    for rec in table:
        field = "date"
        try:
            date = parse_date(rec["date"])
            field = index
            nonempty(rec[index])
            field = value
            micro = int(rec[value]) if rec[value] else None
            field = "contributors"
            contributors = int(rec.get("contributors") or 0)
            field = "flag"
            flag = FixingFlag(rec.get("flag") or "ok")
        except ValueError as e:
            raise rec.field_error(field, e) from None
        out[rec[index]].append(
            Fixing(date=date, name=rec[index], value_micro=micro, contributors=contributors, flag=flag)
        )
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

EWYLUDA_RULE = FixingRule(
    methodology="two_stage_median", min_contributors=1, staleness_days=0, round_to_micro=10_000, terms=[]
)


def load_ewyluda_csv(path: str | Path) -> list[Quote]:
    """ewyluda/gpu-price-index raw observations as quotes: sku = `gpu_model`,
    provider = `provider`, term = `pricing`, price = `usd_per_gpu_hour`,
    weight = `gpu_count`."""
    table = Table(path)
    table.require(("date", "gpu_model", "provider", "region", "pricing", "usd_per_gpu_hour", "gpu_count"))
    out = []
    for rec in table:
        field = "date"
        try:
            date = parse_date(rec["date"])
            field = "usd_per_gpu_hour"
            price = parse_price_micro(rec[field], MAX_PRICE_MICRO)
            field = "gpu_count"
            weight = _parse_weight(rec[field])
        except ValueError as e:
            raise rec.field_error(field, e) from None
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
