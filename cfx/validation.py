"""Order validation: the one home of the rules that refuse a new order or a
modify for what it says, before the risk gate and matching see it.

The engine looks the series and the order up (`UNKNOWN_SERIES`,
`UNKNOWN_ORDER`, `NOT_OWNER`, `NOT_MODIFIABLE`) and then asks here; what
the session allows is cfx/session.py's, the credit check the clearing
house's (cfx/clearing/house.py, `credit_check`), what a batch series
refuses cfx/batch.py's. Each function returns the first `RejectReason`
(validation layer) that applies, or, for a valid order, None (`submit_reason`
tells a plain limit or market order apart: `PLAIN`); it changes nothing. The
compiled core (cfx/core/_book.pyx) repeats the checks of its subset, and
the differential tests hold the two equal; the engine's batch loop
(`Engine.apply_batch`) repeats the rule for `PLAIN` inline (a call per order
is ~4 % of a replay), and tests/test_validation.py holds it to
`submit_reason`'s verdicts.

- `submit_reason(c, rules, band, last, live)`: a new order; `PLAIN` if it
  is a valid limit or market order with no option (GTC, DAY or IOC; no
  display, post-only, stop or expiry), which the engine can send straight
  to the book.
- `modify_reason(c, rules, band, last)`: a modify's new price and quantity.

Runtime complexity: O(1).
"""

from __future__ import annotations

from typing import Container

from cfx.protections import PriceBand
from cfx.types import ListSeries, ModifyOrder, OrderKind, RejectReason, SubmitOrder, TimeInForce

MAX_PRICE = 2**63 - 1
"""The highest limit price in ticks: what fits in int64, as the compiled
books (cfx/core) store prices; a higher one is `BAD_PRICE` on either engine."""

PLAIN = "plain"
"""`submit_reason`'s answer for a valid limit or market order with no option
(GTC, DAY or IOC; the commonest orders): the verdict `Engine.apply_batch`
repeats inline, sending such an order straight to the book."""

LIMIT = OrderKind.LIMIT
MARKET = OrderKind.MARKET
STOP_LIMIT = OrderKind.STOP_LIMIT
STOP_MARKET = OrderKind.STOP_MARKET
GTC = TimeInForce.GTC
DAY = TimeInForce.DAY
GTD = TimeInForce.GTD
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
BAD_QUANTITY = RejectReason.BAD_QUANTITY
QUANTITY_TOO_LARGE = RejectReason.QUANTITY_TOO_LARGE
DUPLICATE_ORDER_ID = RejectReason.DUPLICATE_ORDER_ID
BAD_PRICE = RejectReason.BAD_PRICE
PRICE_OUTSIDE_BAND = RejectReason.PRICE_OUTSIDE_BAND
BAD_ORDER_TYPE = RejectReason.BAD_ORDER_TYPE
BAD_DISPLAY_QUANTITY = RejectReason.BAD_DISPLAY_QUANTITY
BAD_EXPIRY = RejectReason.BAD_EXPIRY


def submit_reason(
    c: SubmitOrder, rules: ListSeries, band: PriceBand | None, last: int | None, live: Container[int]
) -> RejectReason | str | None:
    """Why to refuse new order ``c`` on a series listed with ``rules`` whose
    price band is ``band`` (None: none) and last trade ``last``, given the
    ids of the live orders; if it is valid, `PLAIN` for a plain limit or
    market order (nearly every order in a replay), checked inline, and None
    for one with options (an all-or-nothing FOK counts as one), checked in
    `_options_reason`."""
    qty = c.qty
    if qty <= 0:
        return BAD_QUANTITY
    if qty > rules.max_qty:
        return QUANTITY_TOO_LARGE
    if c.order_id in live:
        return DUPLICATE_ORDER_ID
    tif = c.tif
    kind = c.kind
    if (
        (kind is LIMIT or kind is MARKET)
        and (tif is GTC or tif is DAY or tif is IOC)
        and not (c.display_qty or c.post_only or c.stop_price or c.expire_ns)
    ):
        price = c.price
        if kind is MARKET:  # it names no price
            return PLAIN if price == 0 else BAD_PRICE
        if price <= 0 or price > MAX_PRICE:
            return BAD_PRICE
        if band is not None and not band.allows(price, last):
            return PRICE_OUTSIDE_BAND
        return PLAIN
    return _options_reason(c, band, last)


def _options_reason(c: SubmitOrder, band: PriceBand | None, last: int | None) -> RejectReason | None:
    """Why to refuse an order that is not a plain limit order (market,
    stop, iceberg, post-only, GTD), or None. Quantity and id are checked."""
    kind = c.kind
    if kind is LIMIT or kind is STOP_LIMIT:
        price = c.price
        if price <= 0 or price > MAX_PRICE:
            return BAD_PRICE
        if band is not None and not band.allows(price, last):
            return PRICE_OUTSIDE_BAND
    elif c.price != 0:
        return BAD_PRICE
    if kind is STOP_LIMIT or kind is STOP_MARKET:
        if c.stop_price <= 0 or c.tif is FOK:  # a stop cannot promise all-or-nothing when it triggers
            return BAD_ORDER_TYPE
    elif c.stop_price:
        return BAD_ORDER_TYPE
    tif = c.tif
    if c.display_qty:
        if c.display_qty < 0 or c.display_qty > c.qty:
            return BAD_DISPLAY_QUANTITY
        if kind is not LIMIT or tif is IOC or tif is FOK:
            return BAD_ORDER_TYPE
    if c.post_only and (kind is not LIMIT or tif is IOC or tif is FOK):
        return BAD_ORDER_TYPE
    if tif is GTD:
        if c.expire_ns <= c.ts:
            return BAD_EXPIRY
    elif c.expire_ns:
        return BAD_EXPIRY
    return None


def modify_reason(c: ModifyOrder, rules: ListSeries, band: PriceBand | None, last: int | None) -> RejectReason | None:
    """Why to refuse a modify to ``c.price`` and open quantity ``c.qty`` on
    a series listed with ``rules`` (band and last trade as for
    `submit_reason`), or None."""
    if c.qty <= 0:
        return BAD_QUANTITY
    if c.qty > rules.max_qty:
        return QUANTITY_TOO_LARGE
    if c.price <= 0 or c.price > MAX_PRICE:
        return BAD_PRICE
    if band is not None and not band.allows(c.price, last):
        return PRICE_OUTSIDE_BAND
    return None
