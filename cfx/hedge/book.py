"""The dealer's book of OTC forwards: the CSV, and each forward cut into
monthly legs with an integer delivery schedule.

Columns of the book CSV (header row, any order, extra columns ignored):

==================  ===========================================================
``id``              unique forward id
``sku``             GPU SKU (H100, H200, B200, A100, ...)
``provider``        optional (blank = any provider); see "reference price"
``region``          optional (blank = any region); at least one of the two
                    columns must be present in the header
``delivery_start``  first delivery day, YYYY-MM-DD (alias ``start``)
``delivery_end``    last delivery day, inclusive (alias ``end``)
``gpu_hours``       total GPU-hours, a positive whole number, at most 10^9
                    (alias ``hours``)
``price``           fixed price in $ per GPU-hour, at most 6 decimals, at most
                    $1,000
``side``            ``buy`` (the dealer bought compute: long) or ``sell``
``basket``          optional: the basket future that hedges it (name or root);
                    default the first basket whose weights contain the SKU
==================  ===========================================================

Rules where the issue is silent:

- Delivery is uniform over the **business days** (Mon-Fri) of
  [delivery_start, delivery_end], the days the index fixes and the futures
  average over; the whole GPU-hours are split as evenly as integers allow,
  the remainder one hour a day on the first days.
- A forward spanning several months is a strip: one `Leg` per calendar month,
  each hedged with that month's future.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import msgspec

from cfx.errors import InputError
from cfx.csvfile import Table
from cfx.index import nonempty, parse_date, parse_price_micro
from cfx.products import DEFAULT_BASKETS, Basket, business_days
from cfx.units import MAX_PRICE_MICRO

# Bounds of a forward's numbers. The backtest multiplies GPU-hours by prices
# in micro-$ into int64 columns (forward P&L, the day-one mark): 10^9 GPU-hours
# (100,000 GPUs for 11 years; the agents' max-gpu-hours bound) times $1,000 a
# GPU-hour (hundreds of times any rental price) is 10^18, below 2^63.
MAX_GPU_HOURS = 10**9

_COLUMNS: dict[str, tuple[str, ...]] = {
    # field: accepted header names (lower case), first is canonical
    "id": ("id",),
    "sku": ("sku",),
    "provider": ("provider",),
    "region": ("region",),
    "delivery_start": ("delivery_start", "start"),
    "delivery_end": ("delivery_end", "end"),
    "gpu_hours": ("gpu_hours", "hours"),
    "price": ("price", "price_usd_per_gpu_hour"),
    "side": ("side",),
    "basket": ("basket",),
}
_REQUIRED = ("id", "sku", "delivery_start", "delivery_end", "gpu_hours", "price", "side")


class Forward(msgspec.Struct, frozen=True, kw_only=True):
    """One OTC forward from the dealer's view. `side` is +1 when the dealer
    bought compute (long: gains when prices rise), -1 when it sold. Money in
    micro-dollars per GPU-hour; `line` is its line in the book CSV."""

    id: str
    sku: str
    provider: str
    region: str
    basket: str
    delivery_start: dt.date
    delivery_end: dt.date
    gpu_hours: int
    price_micro: int
    side: int
    line: int = 0

    def schedule(self) -> list[tuple[dt.date, int]]:
        """(business day, GPU-hours delivered that day), summing to `gpu_hours`."""
        days = business_days(self.delivery_start, self.delivery_end)
        base, extra = divmod(self.gpu_hours, len(days))
        return [(d, base + (i < extra)) for i, d in enumerate(days)]


class Leg(msgspec.Struct, frozen=True, kw_only=True):
    """The part of a forward delivered in one calendar month."""

    forward: Forward
    year: int
    month: int
    schedule: list[tuple[dt.date, int]]

    @property
    def key(self) -> str:
        return f"{self.forward.id}/{self.year}-{self.month:02d}"

    @property
    def gpu_hours(self) -> int:
        return sum(h for _, h in self.schedule)


def legs(forwards: list[Forward]) -> list[Leg]:
    """Each forward cut into calendar-month legs, in book order."""
    out = []
    for f in forwards:
        by_month: dict[tuple[int, int], list[tuple[dt.date, int]]] = {}
        for d, h in f.schedule():
            by_month.setdefault((d.year, d.month), []).append((d, h))
        for (y, m), sched in by_month.items():
            out.append(Leg(forward=f, year=y, month=m, schedule=sched))
    return out


def _basket_for(sku: str, wanted: str, baskets: Mapping[str, Basket]) -> str:
    if wanted:
        for b in baskets.values():
            if wanted.upper() in (b.name, b.root):
                return b.name
        raise ValueError(f"{wanted!r} is not a basket (one of {', '.join(baskets)})")
    for b in baskets.values():
        if sku in b.weights:
            return b.name
    covered = "; ".join(f"{b.name}: {', '.join(b.weights)}" for b in baskets.values())
    raise ValueError(f"no basket future covers SKU {sku!r} ({covered}); name one in a 'basket' column")


def read_book(path: str | Path, baskets: Mapping[str, Basket] = DEFAULT_BASKETS) -> list[Forward]:
    """The forwards of a book CSV (columns in the module docstring). A bad
    row raises InputError naming the file, line number and field."""
    table = Table(path, lower=True)
    col = {field: table.pick(*names) for field, names in _COLUMNS.items()}
    missing = [f for f in _REQUIRED if col[f] is None]
    if not missing and col["provider"] is None and col["region"] is None:
        missing = ["provider or region"]
    if missing:
        raise table.header_error(missing)
    out: list[Forward] = []
    seen: dict[str, int] = {}
    for rec in table:
        line = rec.line

        def get(field: str) -> str:
            return rec.get(col[field])

        field = "id"
        try:
            fid = nonempty(get("id"))
            if fid in seen:
                raise ValueError(f"{fid!r} already used on line {seen[fid]}")
            field = "sku"
            sku = nonempty(get("sku"))
            field = "delivery_start"
            start = parse_date(get("delivery_start"))
            field = "delivery_end"
            end = parse_date(get("delivery_end"))
            if end < start:
                raise ValueError(f"{end} is before delivery_start {start}")
            if not business_days(start, end):
                raise ValueError(f"no business day between {start} and {end}")
            field = "gpu_hours"
            text = get("gpu_hours")
            try:
                hours = int(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a whole number of GPU-hours") from None
            if hours <= 0:
                raise ValueError(f"{text!r} is not positive")
            if hours > MAX_GPU_HOURS:
                raise ValueError(f"{text!r} is more than the {MAX_GPU_HOURS:,} GPU-hours a forward may have")
            field = "price"
            price = parse_price_micro(get("price"), MAX_PRICE_MICRO)
            field = "side"
            side_text = get("side").lower()
            if side_text not in ("buy", "sell"):
                raise ValueError(f"{get('side')!r} is not buy or sell")
            field = "basket" if get("basket") else "sku"
            basket = _basket_for(sku, get("basket"), baskets)
        except ValueError as e:
            raise rec.field_error(field, e) from None
        seen[fid] = line
        out.append(
            Forward(
                id=fid,
                sku=sku,
                provider=get("provider"),
                region=get("region"),
                basket=basket,
                delivery_start=start,
                delivery_end=end,
                gpu_hours=hours,
                price_micro=price,
                side=1 if side_text == "buy" else -1,
                line=line,
            )
        )
    if not out:
        raise InputError(f"{path}: no forwards in the book")
    return out
