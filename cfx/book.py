"""One series' limit order book: price levels, FIFO queues, price-time matching.

The book knows prices, quantities, queue order and which account owns an
order (for self-trade prevention); it knows nothing of risk, sessions or
clocks beyond the timestamp it stamps on events. The engine validates a
command, then calls the book; the book appends the events it causes to the
one event sink it is given (the engine's, which is the venue's).

The narrow protocol the engine uses (`Book`), by purpose:

- matching: `place` (match, then rest the remainder; returns what traded),
  `match` (an aggressing order against the other side), `fillable` (could
  a fill-or-kill order fill, without trading), `crosses`
- resting orders: `rest`, `cancel`, `reduce`, `fill` (an auction's fill),
  `record_uncross` (the price a call auction traded at)
- queries: `best_bid`, `best_ask`, `level_qty`, `levels`, `orders_at`,
  `depth`, `snapshot`, `state_hash`, `check`

The engine never reads a level or a queue itself; the orders it holds in
its id index are the book's, read for their status.

`cfx/core/_orderbook.pyx` (`CompiledOrderBook`) implements the same
protocol in Cython for `CFX_ENGINE=compiled` (see `cfx.core.choose_book`);
this module stays the reference and the default, and
tests/test_book_engines.py holds the two to identical events.

Layout: each side is a dict price → `Level` plus a heap of prices (negated
for bids) for the best price; a level is a deque of orders in time priority
with its visible total and live count. Cancelled orders are left in their
deque with ``qty == 0`` and skipped when reached (O(1) cancel); a level
whose live count reaches 0 is removed at once. Heap entries of removed
levels are dropped when they reach the top: the top of each heap is always
a live level's price (so the best price is ``heap[0]``, and matching never
meets a stale entry).
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from heapq import heappop, heappush, nlargest, nsmallest
from itertools import count
from typing import Iterator, Protocol

import msgspec

from cfx.types import (
    CancelReason,
    LevelChanged,
    OrderCancelled,
    OrderKind,
    OrderRefilled,
    OrderRested,
    Side,
    StpMode,
    SubmitOrder,
    TimeInForce,
    Trade,
)

BUY = Side.BUY
SELL = Side.SELL
STP_NONE = StpMode.NONE
STP_CANCEL_RESTING = StpMode.CANCEL_RESTING
STP_CANCEL_AGGRESSING = StpMode.CANCEL_AGGRESSING
STP_CANCEL_BOTH = StpMode.CANCEL_BOTH
CANCEL_STP = CancelReason.STP
CANCEL_BAND = CancelReason.BAND
CANCEL_REMAINDER = CancelReason.IOC_REMAINDER
LIMIT = OrderKind.LIMIT
MARKET = OrderKind.MARKET
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
DEFAULT_STP = StpMode.CANCEL_AGGRESSING  # CME's default: the newest (aggressing) order is cancelled


def _discard(event: object) -> None:
    """The sink of a trades-only book for every event but a trade."""


class Order(msgspec.Struct, gc=False):
    """A live order: one resting on the book (built by `OrderBook.rest`
    when it rests), or one the engine holds (a pending stop, a market
    order waiting for an auction). ``qty`` is the visible open quantity on
    the book, ``hidden`` an iceberg's reserve; open quantity is ``qty +
    hidden``. A pending stop order keeps its whole quantity in ``qty``
    until it triggers."""

    order_id: int
    account: int
    side: Side
    price: int  # limit price in ticks; 0 for a market order
    qty: int
    series: str
    hidden: int = 0
    display_qty: int = 0  # iceberg slice size; 0 = show everything
    kind: OrderKind = OrderKind.LIMIT
    tif: TimeInForce = TimeInForce.GTC
    stp: StpMode | None = None  # None: the account's default
    post_only: bool = False
    stop_price: int = 0
    expire_ns: int = 0
    filled: int = 0


Entering = SubmitOrder | Order
"""An order meeting the book: a new order's command (the book builds its
`Order` only if it rests: most of the orders that trade never need one), or a
live `Order` entering again (a modify's re-priced copy, a triggered stop)."""


class Level:
    """One price level: its orders in time priority (cancelled ones stay as
    ``qty == 0`` entries), the visible quantity and the count of the live
    ones. A plain slotted class, not a Struct: the hot paths write ``qty``
    and ``count`` on almost every message, and CPython specializes a store
    to a slot but not to a Struct's field (measured ~2x the cost of a slot
    store)."""

    __slots__ = ("queue", "qty", "count")

    def __init__(self, queue: deque, qty: int = 0, count: int = 0) -> None:
        self.queue = queue
        self.qty = qty  # visible quantity of the live orders
        self.count = count  # live orders


class Book(Protocol):
    """What the engine needs of a series' book (`OrderBook` is the
    reference implementation); see the module docstring for each group."""

    last_price: int | None
    first_price: int | None

    def place(
        self, order: Entering, qty: int, limit: int | None, cmd: int, ts: int, cross: bool = True, filled: int = 0
    ) -> int: ...
    def match(self, order: Entering, remaining: int, limit: int | None, cmd: int, ts: int) -> tuple[int, int]: ...
    def fillable(self, side: Side, limit: int | None, account: int, stp: StpMode | None, need: int) -> bool: ...
    def crosses(self, side: Side, price: int) -> bool: ...
    def rest(self, order: Entering, remaining: int, cmd: int, ts: int, filled: int = 0) -> Order: ...
    def cancel(self, order: Order, cmd: int, ts: int, reason: CancelReason | None) -> None: ...
    def reduce(self, order: Order, new_open: int, cmd: int, ts: int) -> None: ...
    def fill(self, order: Order, qty: int, cmd: int, ts: int) -> None: ...
    def record_uncross(self, price: int) -> None: ...
    def best_bid(self) -> int | None: ...
    def best_ask(self) -> int | None: ...
    def level_qty(self, side: Side, price: int) -> int: ...
    def levels(self, side: Side, against: int | None = None) -> list[tuple[int, int, int]]: ...
    def orders_at(self, side: Side, price: int) -> list[Order]: ...
    def snapshot(self) -> dict: ...
    def state_hash(self) -> str: ...
    def check(self) -> None: ...


class OrderBook:
    """The book of one series. Shared with the engine: ``live`` its
    order-id index (the book drops orders that fill), ``out`` the event
    sink, ``seq`` its event sequence counter, ``stp_defaults`` each
    account's default self-trade prevention mode. What traded is returned
    by `place` and `match`; the trades themselves are events in ``out``."""

    __slots__ = (
        "series",
        "bids",
        "asks",
        "_bid_px",
        "_ask_px",
        "_bid_heaped",
        "_ask_heaped",
        "last_price",
        "first_price",
        "_live",
        "_out",
        "_seq",
        "_stp_defaults",
        "_trade",
        "_emit",
        "_full",
    )

    def __init__(
        self,
        series: str,
        live: dict[int, Order] | None = None,
        out: list | None = None,
        seq: Iterator[int] | None = None,
        stp_defaults: dict[int, StpMode] | None = None,
        *,
        trades_only: bool = False,
    ) -> None:
        self.series = series
        self.bids: dict[int, Level] = {}
        self.asks: dict[int, Level] = {}
        self._bid_px: list[int] = []  # -price
        self._ask_px: list[int] = []
        self._bid_heaped: set[int] = set()  # prices with an entry in the heap
        self._ask_heaped: set[int] = set()
        self.last_price: int | None = None
        self.first_price: int | None = None  # the first trade price of the latest sweep (last_price its last)
        self._live = {} if live is None else live
        self._out = [] if out is None else out
        self._seq = count(1) if seq is None else seq
        self._stp_defaults = {} if stp_defaults is None else stp_defaults
        # bound once: the hot paths would otherwise look each up per call. With
        # ``trades_only`` (a throughput replay) only trades reach the sink: the
        # hot paths test ``_full`` and skip building the other events at all
        self._trade = self._out.append
        self._full = not trades_only
        self._emit = self._out.append if self._full else _discard

    # ------------------------------------------------------------------ matching

    def place(
        self, order: Entering, qty: int, limit: int | None, cmd: int, ts: int, cross: bool = True, filled: int = 0
    ) -> int:
        """An order meets the book: it trades what crosses ``limit`` (None:
        any price), then a limit order that is not IOC or FOK rests the
        remainder at the back of its price level (an iceberg shows one
        slice), indexed as live; any other order has it cancelled (reason:
        band when a market order stopped at the price band ``limit`` with
        liquidity beyond, else IOC remainder). Returns the quantity it
        traded. A new order's command gets its `Order` here if it rests.
        Without ``cross`` it rests at once, having traded ``filled`` before
        (`rest`): one resting path for both.

        Runtime complexity: O(1) amortised when it rests without trading
        (a new level: O(log levels)); as `match` when it crosses."""
        side = order.side
        if cross:
            # match only if the best opposite price (the heap's top, always live) crosses
            if side is BUY:
                heap = self._ask_px
                if heap and (limit is None or heap[0] <= limit):
                    filled, qty = self.match(order, qty, limit, cmd, ts)
            else:
                heap = self._bid_px
                if heap and (limit is None or -heap[0] >= limit):
                    filled, qty = self.match(order, qty, limit, cmd, ts)
            if not qty:
                return filled
            if order.kind is not LIMIT or order.tif is IOC or order.tif is FOK:
                if self._full:
                    beyond = self.asks if side is BUY else self.bids
                    stopped = order.kind is MARKET and limit is not None and beyond
                    reason = CANCEL_BAND if stopped else CANCEL_REMAINDER
                    self._emit(
                        OrderCancelled(
                            next(self._seq), cmd, ts, self.series, order.order_id, order.account, qty, reason
                        )
                    )
                return filled
        remaining = qty
        display = order.display_qty
        if display and remaining > display:
            qty = display
            hidden = remaining - display
        else:
            hidden = 0
        p = order.price
        if type(order) is not Order:
            order = Order(
                order.order_id,
                order.account,
                side,
                p,
                qty,
                order.series,
                hidden,
                display,
                order.kind,
                order.tif,
                order.stp,
                order.post_only,
                order.stop_price,
                order.expire_ns,
                filled,
            )
        else:  # a Struct's field store is dear (no specialized store): only what changed
            if order.qty != qty or order.hidden != hidden:
                order.qty = qty
                order.hidden = hidden
            if filled:
                order.filled += filled
        levels = self.bids if side is BUY else self.asks
        lvl = levels.get(p)
        if lvl is None:
            lvl = levels[p] = Level(deque((order,)), qty, 1)
            if side is BUY:
                heap, heaped, key = self._bid_px, self._bid_heaped, -p
            else:
                heap, heaped, key = self._ask_px, self._ask_heaped, p
            if p not in heaped:
                heappush(heap, key)
                heaped.add(p)
        else:
            lvl.queue.append(order)
            lvl.qty += qty
            lvl.count += 1
        self._live[order.order_id] = order
        if self._full:
            seq = self._seq
            emit = self._emit
            series = self.series
            emit(OrderRested(next(seq), cmd, ts, series, order.order_id, side, p, qty, remaining))
            emit(LevelChanged(next(seq), cmd, ts, series, side, p, lvl.qty))
        return filled

    def match(self, order: Entering, remaining: int, limit: int | None, cmd: int, ts: int) -> tuple[int, int]:
        """Trade up to ``remaining`` of the aggressing ``order`` against the
        other side at prices no worse than ``limit`` (None: any price), in
        price-time priority, at each resting order's price. Returns the
        quantity traded and the quantity left to rest or cancel (0 also when
        self-trade prevention cancelled the rest: its events are already out).

        Runtime complexity: O(fills + levels swept · log levels)."""
        side = order.side
        buy = side is BUY
        # three names at most per assignment: more build and unpack a tuple, on every call
        if buy:
            levels, heap, sign = self.asks, self._ask_px, 1
        else:
            levels, heap, sign = self.bids, self._bid_px, -1
        trade = self._trade
        seq = self._seq
        live = self._live
        series = self.series
        tid = order.order_id
        tacct = order.account
        entered = remaining
        cut = 0  # what self-trade prevention took off the taker without a trade
        first = last = None
        while remaining and heap:
            p = heap[0] * sign
            lvl = levels[p]  # the top is always a live level
            if limit is not None and (p > limit if buy else p < limit):
                break
            q = lvl.queue
            # the level's visible quantity and live count stay in locals while
            # it trades (written back before anything else reads them)
            lq = lvl.qty
            lc = lvl.count
            while remaining and q:
                m = q[0]
                mq = m.qty
                if not mq:
                    q.popleft()
                    continue
                if m.account == tacct:
                    stp = order.stp or self._stp_defaults.get(tacct, DEFAULT_STP)
                    if stp is not STP_NONE:
                        lvl.qty = lq
                        lvl.count = lc
                        left = self._prevent_self_trade(m, lvl, order, remaining, stp, cmd, ts)
                        lq = lvl.qty
                        lc = lvl.count
                        if left < 0:  # the taker is cancelled: the sweep ends with this level
                            left = 0
                        cut += remaining - left
                        remaining = left
                        continue
                t = mq if mq < remaining else remaining
                trade(Trade(next(seq), cmd, ts, series, p, t, m.order_id, tid, m.account, tacct, side))
                remaining -= t
                if first is None:
                    first = p
                last = p
                lq -= t
                if t != mq:
                    m.qty = mq - t
                    m.filled += t
                elif m.hidden:  # iceberg: show the next slice at the back of the queue
                    q.popleft()
                    shown = m.display_qty if m.display_qty < m.hidden else m.hidden
                    m.qty = shown
                    m.hidden -= shown
                    m.filled += t
                    lq += shown
                    q.append(m)
                    self._emit(OrderRefilled(next(seq), cmd, ts, series, m.order_id, shown))
                else:  # filled: it leaves (its fields are left as they were, nothing reads them now)
                    q.popleft()
                    lc -= 1
                    del live[m.order_id]
            if self._full:
                self._emit(LevelChanged(next(seq), cmd, ts, series, SELL if buy else BUY, p, lq))
            if lc:
                lvl.qty = lq
                lvl.count = lc
            else:
                del levels[p]
                self._drop_top(heap, levels, sign)
        if first is not None:
            self.last_price = last
            self.first_price = first
        return entered - remaining - cut, remaining

    def _prevent_self_trade(
        self, maker: Order, lvl: Level, taker: Entering, remaining: int, mode: StpMode, cmd: int, ts: int
    ) -> int:
        """Apply the taker's self-trade prevention ``mode`` to a resting order
        of the same account. Returns the taker's quantity left, or -1 when
        the taker is cancelled."""
        if mode is STP_CANCEL_RESTING or mode is STP_CANCEL_BOTH:
            self._cancel_resting(maker, lvl, cmd, ts)
            if mode is STP_CANCEL_RESTING:
                return remaining
        if mode is STP_CANCEL_AGGRESSING or mode is STP_CANCEL_BOTH:
            self._emit(
                OrderCancelled(
                    next(self._seq), cmd, ts, self.series, taker.order_id, taker.account, remaining, CANCEL_STP
                )
            )
            return -1
        # decrement and cancel: both lose the smaller open quantity
        open_qty = maker.qty + maker.hidden
        d = open_qty if open_qty < remaining else remaining
        if d == open_qty:
            self._cancel_resting(maker, lvl, cmd, ts)
        else:
            self._take_from(maker, lvl, d)
            self._emit(
                OrderCancelled(next(self._seq), cmd, ts, self.series, maker.order_id, maker.account, d, CANCEL_STP)
            )
        self._emit(OrderCancelled(next(self._seq), cmd, ts, self.series, taker.order_id, taker.account, d, CANCEL_STP))
        return remaining - d if remaining > d else -1

    def _cancel_resting(self, m: Order, lvl: Level, cmd: int, ts: int) -> None:
        """Cancel resting order ``m`` for self-trade prevention, mid-sweep."""
        self._emit(
            OrderCancelled(next(self._seq), cmd, ts, self.series, m.order_id, m.account, m.qty + m.hidden, CANCEL_STP)
        )
        lvl.qty -= m.qty
        lvl.count -= 1
        m.qty = 0
        m.hidden = 0
        del self._live[m.order_id]

    def fillable(self, side: Side, limit: int | None, account: int, stp: StpMode | None, need: int) -> bool:
        """Could an order of ``side`` trade ``need`` lots right now at prices
        no worse than ``limit``? Mirrors `match` without changing anything:
        an icebergs' reserve counts (it refills at the same price), and a
        resting order of the same account ends the sweep unless STP is none
        or cancel-resting (which removes it and sweeps on)."""
        levels = self.asks if side is BUY else self.bids
        prices = sorted(levels) if side is BUY else sorted(levels, reverse=True)
        got = 0
        stp = stp or self._stp_defaults.get(account, DEFAULT_STP)
        blocking = stp is not STP_NONE and stp is not STP_CANCEL_RESTING
        skip_own = stp is STP_CANCEL_RESTING
        for p in prices:
            if limit is not None and (p > limit if side is BUY else p < limit):
                break
            level_orders = [o for o in levels[p].queue if o.qty]
            own_at = next((i for i, o in enumerate(level_orders) if o.account == account), None)
            if blocking and own_at is not None:
                got += sum(o.qty for o in level_orders[:own_at])
                return got >= need
            got += sum(o.qty + o.hidden for o in level_orders if not (skip_own and o.account == account))
            if got >= need:
                return True
        return got >= need

    def crosses(self, side: Side, price: int) -> bool:
        """Would a limit order at ``price`` trade on arrival?"""
        if side is BUY:
            best = self.best_ask()
            return best is not None and best <= price
        best = self.best_bid()
        return best is not None and best >= price

    # ------------------------------------------------------------------ resting orders

    def rest(self, order: Entering, remaining: int, cmd: int, ts: int, filled: int = 0) -> Order:
        """Put ``remaining`` of ``order`` on the book without matching (a
        call collects it, the book may cross until the uncross; or the rest
        of an order that traded ``filled`` under the breaker). Returns the
        resting `Order`: built for a new order's command, else ``order``."""
        self.place(order, remaining, None, cmd, ts, False, filled)
        return self._live[order.order_id]

    def cancel(self, order: Order, cmd: int, ts: int, reason: CancelReason | None) -> None:
        """Remove a resting order from the book and the live index. With
        ``reason`` None it leaves silently (a modify that loses priority
        re-enters a copy of it: the cancelled object stays in its deque),
        emitting only the level change."""
        full = self._full
        qty = order.qty
        if reason is not None and full:
            self._emit(
                OrderCancelled(
                    next(self._seq), cmd, ts, self.series, order.order_id, order.account, qty + order.hidden, reason
                )
            )
        p = order.price
        side = order.side
        levels = self.bids if side is BUY else self.asks
        lvl = levels[p]
        lq = lvl.qty = lvl.qty - qty
        lvl.count -= 1
        order.qty = 0  # a dead entry in its level's queue from now on
        if order.hidden:  # a Struct's field store is dear: only an iceberg has one to clear
            order.hidden = 0
        del self._live[order.order_id]
        if full:
            self._emit(LevelChanged(next(self._seq), cmd, ts, self.series, side, p, lq))
        if not lvl.count:
            del levels[p]
            heap, sign = (self._bid_px, -1) if side is BUY else (self._ask_px, 1)
            if heap[0] * sign == p:  # the best level went: the heap's top must be live again
                self._drop_top(heap, levels, sign)

    def _drop_top(self, heap: list[int], levels: dict[int, Level], sign: int) -> None:
        """Pop the top of ``heap`` (the entry of a level just removed), then
        any entries below it of levels removed earlier, so that the top is a
        live level again (or the heap is empty)."""
        heaped = self._bid_heaped if sign < 0 else self._ask_heaped
        heaped.discard(heappop(heap) * sign)
        while heap and heap[0] * sign not in levels:
            heaped.discard(heappop(heap) * sign)

    def reduce(self, order: Order, new_open: int, cmd: int, ts: int) -> None:
        """Lower a resting order's open quantity in place, keeping its time
        priority. The reserve of an iceberg goes first."""
        levels = self.bids if order.side is BUY else self.asks
        lvl = levels[order.price]
        self._take_from(order, lvl, order.qty + order.hidden - new_open)
        self._emit(LevelChanged(next(self._seq), cmd, ts, self.series, order.side, order.price, lvl.qty))

    def fill(self, order: Order, qty: int, cmd: int, ts: int) -> None:
        """A call auction filled ``qty`` of a resting order at the uncross:
        its open quantity goes down in place (reserve first), or it leaves
        the book when nothing is left."""
        order.filled += qty
        left = order.qty + order.hidden - qty
        if left:
            self.reduce(order, left, cmd, ts)
        else:
            self.cancel(order, cmd, ts, None)

    def record_uncross(self, price: int) -> None:
        """A call auction traded at ``price``: the last (and the sweep's first) trade price."""
        self.last_price = self.first_price = price

    @staticmethod
    def _take_from(order: Order, lvl: Level, d: int) -> None:
        """Remove ``d`` lots (less than its open quantity) from a resting order: reserve first."""
        if order.hidden >= d:
            order.hidden -= d
            return
        d -= order.hidden
        order.hidden = 0
        order.qty -= d
        lvl.qty -= d

    # ------------------------------------------------------------------ queries

    def best_bid(self) -> int | None:
        """Highest bid price, or None. Runtime complexity: O(1)."""
        heap = self._bid_px
        return -heap[0] if heap else None

    def best_ask(self) -> int | None:
        """Lowest ask price, or None. Runtime complexity: O(1)."""
        heap = self._ask_px
        return heap[0] if heap else None

    def depth(self, n: int = 10) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """L2: the best ``n`` levels of each side as (price, visible qty),
        best first. Runtime complexity: O(levels · log n)."""
        bids = [(p, self.bids[p].qty) for p in nlargest(n, self.bids)]
        asks = [(p, self.asks[p].qty) for p in nsmallest(n, self.asks)]
        return bids, asks

    def level_qty(self, side: Side, price: int) -> int:
        """The visible quantity at one price (0: no level). Runtime complexity: O(1)."""
        lvl = (self.bids if side is BUY else self.asks).get(price)
        return 0 if lvl is None else lvl.qty

    def levels(self, side: Side, against: int | None = None) -> list[tuple[int, int, int]]:
        """(price, visible qty, live orders) of one side's levels, best
        first; with ``against``, only those an opposite order at that price
        would trade with (bids at or above it, asks at or below).
        Runtime complexity: O(levels + k log k) for the k returned."""
        if side is BUY:
            prices = [p for p in self.bids if against is None or p >= against]
            prices.sort(reverse=True)
            levels = self.bids
        else:
            prices = [p for p in self.asks if against is None or p <= against]
            prices.sort()
            levels = self.asks
        return [(p, levels[p].qty, levels[p].count) for p in prices]

    def orders_at(self, side: Side, price: int) -> list[Order]:
        """L3: the live orders at one price, in queue order. Runtime complexity: O(queue)."""
        lvl = (self.bids if side is BUY else self.asks).get(price)
        return [] if lvl is None else [o for o in lvl.queue if o.qty]

    def snapshot(self) -> dict:
        """L3 as plain data (what ``cfx replay --book`` writes): per side,
        best level first, each level's live orders in queue order with
        their open quantity."""

        def side(levels: dict, best_first: list[int]) -> list[dict]:
            return [
                {
                    "price": p,
                    "orders": [
                        {"order_id": o.order_id, "account": o.account, "qty": o.qty + o.hidden}
                        for o in levels[p].queue
                        if o.qty
                    ],
                }
                for p in best_first
            ]

        return {"bids": side(self.bids, sorted(self.bids, reverse=True)), "asks": side(self.asks, sorted(self.asks))}

    def state_hash(self) -> str:
        """sha256 of the book's state: its L3 `snapshot` and last trade price
        (two books that agree on it rest the same orders in the same queues)."""
        doc = {"book": self.snapshot(), "last_price": self.last_price}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def check(self) -> None:
        """Assert the book's invariants (for tests): levels non-empty and
        consistent with their orders, never crossed at rest, every resting
        order indexed as live."""
        for side, levels in ((BUY, self.bids), (SELL, self.asks)):
            for p, lvl in levels.items():
                orders = [o for o in lvl.queue if o.qty]
                assert lvl.count == len(orders) > 0, (side, p, lvl.count, len(orders))
                assert lvl.qty == sum(o.qty for o in orders), (side, p)
                for o in orders:
                    assert o.price == p and o.side is side, o
                    assert self._live.get(o.order_id) is o, o
                    assert o.hidden >= 0 and o.qty > 0
        bb, ba = self.best_bid(), self.best_ask()
        assert bb == (max(self.bids) if self.bids else None)
        assert ba == (min(self.asks) if self.asks else None)
        assert bb is None or ba is None or bb < ba, ("crossed", bb, ba)
