"""Call auction: the single price at which a collected book uncrosses, and
who trades with whom there. Pure functions over one series' orders.

Price determination. The candidate prices are every integer tick from the
lowest to the highest limit price in the book, either side (so an uncross
never prints outside the prices its orders named; with only market orders
the reference price alone, and no uncross without one). Then, in order:

1. the most executed volume, min(demand, supply), where demand at p is
   every market buy and every limit buy priced >= p, supply every market
   sell and every limit sell priced <= p;
2. then the smallest imbalance |demand - supply|;
3. (tie-break ``"cme"`` only: CME Globex's market-pressure rules 3 and 4)
   if the imbalance is on the buy side at every price still tied, the
   highest of them; if on the sell side at every one, the lowest;
4. then the price closest to the reference price (if one is given; the
   engine passes the prior settlement for an opening call and the last
   trade for a reopening one), so when a whole range of ticks ties, the
   reference itself wins if it lies inside the range;
5. then the lower of the (at most two) prices still tied.

``"reference"`` (the default tie-break) skips step 3: with a surplus on
one side and no reference it takes the lower price, which biases openings
downward when buyers are in surplus; ``"cme"`` follows the pressure.

Allocation at that price, in priority: market orders first (by
``priority``), then limit orders best price first (highest buy, lowest
sell), then by ``priority`` (lower = earlier), then ``order_id``. The side
with less volume fills completely; the other fills in that order until the
volume runs out, the last one possibly partly. Fills pair up by walking
both sides in priority order at once: each fill is the first unfilled buy
against the first unfilled sell for the smaller of their open quantities,
so the fill list is deterministic. What does not fill stays with the caller
(the engine), as do self-trade prevention and band checks: an auction
applies neither. Orders with ``qty <= 0`` are ignored.

- `indicative(orders, reference, tie_break)` -> `Indicative` | None
- `uncross(orders, reference, tie_break)` -> `Uncross` | None (with the fills)
- `TIE_BREAKS`: the tie-break styles, ``("reference", "cme")``

Runtime complexity: O(n log n) for n orders.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable

import msgspec

from cfx.types import Side

BUY = Side.BUY
SELL = Side.SELL
TIE_BREAKS = ("reference", "cme")


class AuctionOrder(msgspec.Struct, frozen=True, gc=False):
    """An order collected by a call: ``price`` None for a market order;
    ``priority`` its time priority, lower is earlier. ``account`` is carried
    for the caller; the auction does not use it."""

    order_id: int
    account: int
    side: Side
    price: int | None
    qty: int
    priority: int


class Indicative(msgspec.Struct, frozen=True, gc=False):
    """What an uncross would do now: ``volume`` lots at ``price``, leaving
    ``imbalance`` lots unmatched on ``imbalance_side`` (None when 0)."""

    price: int
    volume: int
    imbalance: int
    imbalance_side: Side | None


class Fill(msgspec.Struct, frozen=True, gc=False):
    buy_id: int
    sell_id: int
    qty: int


class Uncross(msgspec.Struct, frozen=True):
    """An executed call: everything in `Indicative`, plus the fills, all at ``price``."""

    price: int
    volume: int
    imbalance: int
    imbalance_side: Side | None
    fills: list[Fill]


def indicative(
    orders: Iterable[AuctionOrder], reference: int | None = None, tie_break: str = "reference"
) -> Indicative | None:
    """The uncross price, volume and imbalance of ``orders`` (rules in the
    module docstring), or None if nothing would trade: an empty or one-sided
    book, a book that does not cross, or only market orders and no reference."""
    market_buy = market_sell = 0
    buys: dict[int, int] = {}
    sells: dict[int, int] = {}
    for o in orders:
        if o.qty <= 0:
            continue
        if o.side is BUY:
            if o.price is None:
                market_buy += o.qty
            else:
                buys[o.price] = buys.get(o.price, 0) + o.qty
        elif o.price is None:
            market_sell += o.qty
        else:
            sells[o.price] = sells.get(o.price, 0) + o.qty
    if not (market_buy or buys) or not (market_sell or sells):
        return None

    buy_prices = sorted(buys)
    sell_prices = sorted(sells)
    # demand at p = market_buy + buys_from[index of the first buy price >= p]
    buys_from = [0] * (len(buy_prices) + 1)
    for i in range(len(buy_prices) - 1, -1, -1):
        buys_from[i] = buys_from[i + 1] + buys[buy_prices[i]]
    # supply at p = market_sell + sells_upto[number of sell prices <= p]
    sells_upto = [0]
    for p in sell_prices:
        sells_upto.append(sells_upto[-1] + sells[p])

    if buys or sells:
        low = min(buy_prices[:1] + sell_prices[:1])
        high = max(buy_prices[-1:] + sell_prices[-1:])
    elif reference is None:
        return None
    else:
        low = high = reference
    # Demand and supply only change just above a buy price and at a sell
    # price, so each run of equal (volume, imbalance) starts and ends on one
    # of these; the tick of a run closest to the reference is an end or the
    # reference itself.
    candidates = set(buy_prices)
    candidates.update(sell_prices)
    candidates.update(p + 1 for p in buy_prices)
    candidates.update(p - 1 for p in sell_prices)
    if reference is not None:
        candidates.add(min(max(reference, low), high))

    tied: list[tuple[int, int]] = []  # (price, surplus) of the prices with the best (volume, imbalance)
    best_key = None
    for p in candidates:
        if p < low or p > high:
            continue
        demand = market_buy + buys_from[bisect_left(buy_prices, p)]
        supply = market_sell + sells_upto[bisect_right(sell_prices, p)]
        volume = demand if demand < supply else supply
        if volume == 0:
            continue
        surplus = demand - supply
        key = (-volume, abs(surplus))
        if best_key is None or key < best_key:
            best_key, tied = key, [(p, surplus)]
        elif key == best_key:
            tied.append((p, surplus))
    if best_key is None:
        return None
    volume = -best_key[0]
    if tie_break == "cme" and len(tied) > 1:
        if all(s > 0 for _, s in tied):
            tied = [max(tied)]
        elif all(s < 0 for _, s in tied):
            tied = [min(tied)]
    price, surplus = min(tied, key=lambda t: (0 if reference is None else abs(t[0] - reference), t[0]))
    side = BUY if surplus > 0 else SELL if surplus < 0 else None
    return Indicative(price, volume, abs(surplus), side)


def uncross(
    orders: Iterable[AuctionOrder], reference: int | None = None, tie_break: str = "reference"
) -> Uncross | None:
    """Execute the call: the `indicative` result and its fills in price-time
    priority (module docstring), or None if nothing would trade."""
    orders = list(orders)
    result = indicative(orders, reference, tie_break)
    if result is None:
        return None
    price = result.price
    buys = sorted(
        (o for o in orders if o.side is BUY and o.qty > 0 and (o.price is None or o.price >= price)),
        key=lambda o: (o.price is not None, -(o.price or 0), o.priority, o.order_id),
    )
    sells = sorted(
        (o for o in orders if o.side is SELL and o.qty > 0 and (o.price is None or o.price <= price)),
        key=lambda o: (o.price is not None, o.price or 0, o.priority, o.order_id),
    )
    fills = []
    left = result.volume
    bi = si = 0
    buy_open, sell_open = buys[0].qty, sells[0].qty
    while left:
        qty = min(buy_open, sell_open, left)
        fills.append(Fill(buys[bi].order_id, sells[si].order_id, qty))
        left -= qty
        buy_open -= qty
        sell_open -= qty
        if not left:
            break
        if not buy_open:
            bi += 1
            buy_open = buys[bi].qty
        if not sell_open:
            si += 1
            sell_open = sells[si].qty
    return Uncross(price, result.volume, result.imbalance, result.imbalance_side, fills)
