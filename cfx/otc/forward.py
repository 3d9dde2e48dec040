"""An OTC SKU forward: a bilateral contract for one SKU in one region and
delivery month, cash-settled against the monthly average of that SKU/region
index (``f"{sku}.{region}"``), between its two parties, outside the
clearing house.

Money is integer micro-dollars; prices are micro-dollars per GPU-hour.

- `settlement_price`: the monthly average of the forward's own index over
  the delivery month's business days, by `cfx.products.monthly_average` —
  the same function the futures' final settlement uses — at a one
  micro-dollar "tick" (the exact mean rounded half up to the micro-dollar).
- `expected_price`: the daily mark: the month's fixings known so far plus
  the latest fixing for each business day still to fix (the forward's own
  "expected final settlement"), rounded half up to the micro-dollar.
- `buyer_value`: ``gpu_hours * (price - forward price)``, what the buyer is
  owed at that price; the seller's is its negative, so the two parties'
  cash always sums to zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from fractions import Fraction

import msgspec

from cfx.products import (
    Series,
    business_days,
    month_days,
    monthly_average,
    round_half_up,
    unfixed_fraction,
    unfixed_share,
)


def index_name(sku: str, region: str) -> str:
    """The SKU x region index a forward settles on: ``H100.us-east``."""
    return f"{sku}.{region}"


class Forward(msgspec.Struct, frozen=True, kw_only=True):
    """One OTC forward. ``buyer`` receives the capacity (is long the price),
    ``seller`` delivers it; both are account numbers. ``dealer`` is the party
    that quoted it. ``fair_micro`` is the desk's mark of the forward when it
    was traded (`expected_price` on the fixings published by then: what the
    client spread is measured against); ``dealer_fair_micro`` the dealer's
    own fair value it quoted around (its margin and skew are the distance)."""

    id: int
    rfq_id: int
    ts: int
    date: dt.date
    sku: str
    region: str
    year: int
    month: int
    gpu_hours: int
    price_micro: int
    buyer: int
    seller: int
    dealer: int
    fair_micro: int
    dealer_fair_micro: int = 0

    @property
    def index(self) -> str:
        return index_name(self.sku, self.region)

    @property
    def last_day(self) -> dt.date:
        """The last business day of the delivery month: when it settles."""
        return business_days(*month_days(self.year, self.month))[-1]

    def side_of(self, account: int) -> int:
        """+1 for the buyer, -1 for the seller, 0 for anyone else."""
        return 1 if account == self.buyer else -1 if account == self.seller else 0

    def buyer_value(self, price_micro: int) -> int:
        """What the buyer is owed (negative: owes) at ``price_micro``."""
        return self.gpu_hours * (price_micro - self.price_micro)


def settlement_price(fixings: Mapping[dt.date, int], year: int, month: int) -> int:
    """The monthly average of ``fixings`` (micro-$) over the month's business
    days, half up to the micro-dollar (`cfx.products.monthly_average`)."""
    return monthly_average(fixings, year, month, tick_micro=1)[1]


def expected_price(fixings: Mapping[dt.date, int], year: int, month: int, today: dt.date, latest: int) -> int:
    """The month's average if every business day after ``today`` fixed at
    ``latest``: days on or before ``today`` take their fixing (a missing one
    carries the previous day's value within the month, else ``latest``)."""
    days = business_days(*month_days(year, month))
    total = 0
    last = None
    for d in days:
        if d <= today:
            last = fixings.get(d, last if last is not None else latest)
            total += last
        else:
            total += latest
    return round_half_up(Fraction(total, len(days)))


def hedge_ratio(year: int, month: int, instrument: Series, today: dt.date) -> float:
    """GPU-hours of `instrument`'s contracts that hedge one GPU-hour of a
    forward on month ``year``-``month``, once the fixings through ``today``
    are known: the forward's unfixed share over the instrument's
    (`cfx.products.unfixed_share`). 1 for the same month's monthly-average
    future (both shrink together), the forward's share itself for a
    perpetual or a month not yet begun, 0 once the forward is fixed. Where
    the instrument's share would be the smaller (a future in its last
    days), 1: no division by a share near 0."""
    share = unfixed_fraction(year, month, today)
    if share <= 0:
        return 0.0
    held = unfixed_share(instrument, today)
    return float(share / held) if held > share else 1.0


__all__ = ["Forward", "expected_price", "hedge_ratio", "index_name", "settlement_price", "unfixed_fraction"]
