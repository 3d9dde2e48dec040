"""The request-for-quote protocol: a principal asks several dealers for a
firm price on a forward; each answers with a price or declines before the
response deadline; the principal takes the best quote within its
reservation price or walks away.

Rules (`best_quote`):

- only quotes that reached the principal by the deadline count (a late
  quote is recorded and ignored), and declines never win;
- a client that buys takes the lowest price at or below its reservation; a
  client that sells the highest at or above it;
- ties: the earlier arrival, then the lower dealer account;
- no eligible quote: the principal walks away.

A dealer limits what it writes per client (`CreditLine`): the notional
(GPU-hours x price, micro-$) of its open forwards with that client plus
its outstanding quotes to it may not exceed the limit; a quote that would
is declined with reason ``credit``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import msgspec

from cfx.types import Side


class QuoteStatus(StrEnum):
    QUOTED = "quoted"
    DECLINED = "declined"
    LATE = "late"


class Outcome(StrEnum):
    TRADED = "traded"
    WALKED_AWAY = "walked_away"  # quotes came, none within the reservation price
    NO_QUOTES = "no_quotes"  # every dealer declined, or answered late


class Rfq(msgspec.Struct, frozen=True, kw_only=True):
    """A request for a firm quote. ``side`` is the client's: BUY = it buys
    capacity forward (the dealer would sell)."""

    id: int
    client: int
    ts: int
    date: dt.date
    sku: str
    region: str
    year: int
    month: int
    gpu_hours: int
    side: Side
    deadline_ns: int
    dealers: tuple[int, ...]
    reservation_micro: int


class DealerQuote(msgspec.Struct, frozen=True, kw_only=True):
    """A dealer's answer to an RFQ: a firm price (micro-$/GPU-h) or a
    decline (``price_micro`` None, ``reason`` says why). ``ts`` is when it
    reached the client. ``fair_micro`` and ``futures_micro`` are the
    dealer's own fair value of the forward and the futures price it was
    built on (kept for the dealer's P&L split; the client sees only the price)."""

    rfq_id: int
    dealer: int
    price_micro: int | None
    ts: int
    reason: str = ""
    fair_micro: int | None = None
    futures_micro: int | None = None

    @property
    def status(self) -> QuoteStatus:
        return QuoteStatus.QUOTED if self.price_micro is not None else QuoteStatus.DECLINED


def eligible(rfq: Rfq, quotes: list[DealerQuote]) -> list[DealerQuote]:
    """The priced quotes that arrived by the deadline."""
    return [q for q in quotes if q.price_micro is not None and q.ts <= rfq.deadline_ns]


def best_quote(rfq: Rfq, quotes: list[DealerQuote], reservation_micro: int | None = None) -> DealerQuote | None:
    """The quote the client takes (see the module docstring), or None."""
    limit = rfq.reservation_micro if reservation_micro is None else reservation_micro
    ok = eligible(rfq, quotes)
    if rfq.side is Side.BUY:
        ok = [q for q in ok if q.price_micro <= limit]
        ok.sort(key=lambda q: (q.price_micro, q.ts, q.dealer))
    else:
        ok = [q for q in ok if q.price_micro >= limit]
        ok.sort(key=lambda q: (-q.price_micro, q.ts, q.dealer))
    return ok[0] if ok else None


def outcome(rfq: Rfq, quotes: list[DealerQuote], chosen: DealerQuote | None) -> Outcome:
    if chosen is not None:
        return Outcome.TRADED
    return Outcome.WALKED_AWAY if eligible(rfq, quotes) else Outcome.NO_QUOTES


class CreditLine:
    """A dealer's per-client credit: open forward notional plus outstanding
    quotes, each at most ``limit_micro`` per client (0 = no limit)."""

    __slots__ = ("limit_micro", "used", "reserved")

    def __init__(self, limit_micro: int) -> None:
        self.limit_micro = limit_micro
        self.used: dict[int, int] = {}  # client -> open forward notional
        self.reserved: dict[int, int] = {}  # rfq id -> (client, notional) of an outstanding quote

    def exposure(self, client: int) -> int:
        return self.used.get(client, 0) + sum(n for c, n in self.reserved.values() if c == client)

    def allows(self, client: int, notional: int) -> bool:
        return not self.limit_micro or self.exposure(client) + notional <= self.limit_micro

    def reserve(self, rfq_id: int, client: int, notional: int) -> None:
        self.reserved[rfq_id] = (client, notional)

    def release(self, rfq_id: int) -> None:
        self.reserved.pop(rfq_id, None)

    def book(self, rfq_id: int, client: int, notional: int) -> None:
        """A quote was taken: its reservation becomes open notional."""
        self.reserved.pop(rfq_id, None)
        self.used[client] = self.used.get(client, 0) + notional

    def settle(self, client: int, notional: int) -> None:
        """A forward settled: its notional is free again."""
        self.used[client] = max(0, self.used.get(client, 0) - notional)


__all__ = ["CreditLine", "DealerQuote", "Outcome", "QuoteStatus", "Rfq", "best_quote", "eligible", "outcome"]
