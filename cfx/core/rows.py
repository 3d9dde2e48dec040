"""The compiled core's fixed-width event rows: what each column holds, and
turning rows into the engine's event Structs where Python code reads them.

A row is 11 int64s: ``type, seq, cmd, ts`` and then, by type,

| type | columns 4.. |
|---|---|
| 1 OrderAccepted | order_id, account, side, kind, tif, price, qty |
| 2 OrderRejected | order_id, account, reason, has_series |
| 3 Trade | price, qty, maker_id, taker_id, maker_account, taker_account, aggressor |
| 4 OrderCancelled | order_id, account, qty, reason |
| 5 OrderModified | order_id, account, price, qty, kept_priority |
| 6 OrderRested | order_id, side, price, qty, open_qty |
| 7 LevelChanged | side, price, qty |

Sides are 0 buy, 1 sell; the other codes index the tuples below (the same
numbers as cfx/core/_book.pyx's enums).
"""

from __future__ import annotations

from typing import Iterable, Sequence

from cfx.types import (
    CancelReason,
    LevelChanged,
    OrderAccepted,
    OrderCancelled,
    OrderKind,
    OrderModified,
    OrderRejected,
    OrderRested,
    RejectReason,
    Side,
    StpMode,
    TimeInForce,
    Trade,
)

WIDTH = 11
ACCEPTED, REJECTED, TRADE, CANCELLED, MODIFIED, RESTED, LEVEL = range(1, 8)

SIDES = (Side.BUY, Side.SELL)
ORDER_KINDS = (OrderKind.LIMIT, OrderKind.MARKET)
TIFS = (TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK)
REJECT_REASONS = (
    None,
    RejectReason.BAD_QUANTITY,
    RejectReason.QUANTITY_TOO_LARGE,
    RejectReason.BAD_PRICE,
    RejectReason.DUPLICATE_ORDER_ID,
    RejectReason.UNKNOWN_ORDER,
    RejectReason.NOT_OWNER,
    RejectReason.FOK_CANNOT_FILL,
)
CANCEL_REASONS = (None, CancelReason.USER, CancelReason.IOC_REMAINDER, CancelReason.STP)
# the ``stp`` column of commands (0: the account's default) and SetAccountStp's mode
STP_CODES = {
    None: 0,
    StpMode.NONE: 1,
    StpMode.CANCEL_RESTING: 2,
    StpMode.CANCEL_AGGRESSING: 3,
    StpMode.CANCEL_BOTH: 4,
    StpMode.DECREMENT_AND_CANCEL: 5,
}


def to_events(rows: Iterable[Sequence[int]], series: str) -> list:
    """The event Structs of ``rows``, equal to what cfx/engine.py emits."""
    out = []
    add = out.append
    for r in rows:
        t, seq, cmd, ts, a, b, c, d, e, f, g = r
        if t == TRADE:
            add(Trade(seq, cmd, ts, series, a, b, c, d, e, f, SIDES[g]))
        elif t == LEVEL:
            add(LevelChanged(seq, cmd, ts, series, SIDES[a], b, c))
        elif t == ACCEPTED:
            add(OrderAccepted(seq, cmd, ts, series, a, b, SIDES[c], ORDER_KINDS[d], TIFS[e], f, g))
        elif t == CANCELLED:
            add(OrderCancelled(seq, cmd, ts, series, a, b, c, CANCEL_REASONS[d]))
        elif t == RESTED:
            add(OrderRested(seq, cmd, ts, series, a, SIDES[b], c, d, e))
        elif t == REJECTED:
            add(OrderRejected(seq, cmd, ts, a, b, REJECT_REASONS[c], series if d else None))
        elif t == MODIFIED:
            add(OrderModified(seq, cmd, ts, series, a, b, c, d, bool(e)))
        else:
            raise ValueError(f"unknown event row type {t}")
    return out
