# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: language = c++
"""The compiled book of one series: `cfx.book.OrderBook`'s narrow `Book`
protocol, so that `cfx.engine.Engine` (sessions, auctions, bands, the risk
gate, stops) runs a scenario on it unchanged.

The same Python `Order` Structs (the engine's live index holds them) and the
same event Structs, in the same order, on the same sink with the same
``seq`` counter as the reference: cfx/book.py is the rule, this its layout
in C++. Each side is a ``std::map`` from price (bids keyed by -price, so
``begin()`` is the best price on either side) to a level: its C-typed
visible quantity and live count and a ``std::deque`` of (owned) references
to its orders in time priority. As in the reference a cancelled order stays
in its queue with ``qty == 0`` until it is reached, and a level whose live
count reaches 0 is removed at once (no stale best prices: the map is exact).

An `Order` or a `SubmitOrder` meeting the book, and the resting orders,
are read and written at their slots (cfx/core/_slots.pxd). The engine's
compiled path (cfx/_engine.pyx) calls the `_c` methods directly
(_orderbook.pxd); the `def` methods are the same for Python callers.

Prices are stored as int64: validation refuses a higher one
(`cfx.validation.MAX_PRICE`), and a query at a price outside 1..2**63-1
finds no level, as in the reference.
"""

import hashlib
import json

from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from libc.stdint cimport int64_t
from cython.operator cimport dereference as deref, preincrement as inc

from cfx.core._slots cimport at, put, slot

from cfx.book import Order
from cfx.validation import MAX_PRICE  # no resting order has a higher price
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
    Trade,
    TimeInForce,
)

cdef object BUY = Side.BUY
cdef object SELL = Side.SELL
cdef object STP_NONE = StpMode.NONE
cdef object STP_CANCEL_RESTING = StpMode.CANCEL_RESTING
cdef object STP_CANCEL_AGGRESSING = StpMode.CANCEL_AGGRESSING
cdef object STP_CANCEL_BOTH = StpMode.CANCEL_BOTH
cdef object CANCEL_STP = CancelReason.STP
cdef object CANCEL_BAND = CancelReason.BAND
cdef object CANCEL_REMAINDER = CancelReason.IOC_REMAINDER
cdef object LIMIT = OrderKind.LIMIT
cdef object MARKET = OrderKind.MARKET
cdef object IOC = TimeInForce.IOC
cdef object FOK = TimeInForce.FOK
cdef object DEFAULT_STP = StpMode.CANCEL_AGGRESSING
cdef object ORDER = Order
cdef object SUBMIT = SubmitOrder

# the fields of an `Order` and of a `SubmitOrder` at their slots (cfx/core/_slots.pxd)
cdef Py_ssize_t O_ORDER_ID = slot(Order, "order_id"), O_ACCOUNT = slot(Order, "account")
cdef Py_ssize_t O_SIDE = slot(Order, "side"), O_PRICE = slot(Order, "price"), O_QTY = slot(Order, "qty")
cdef Py_ssize_t O_SERIES = slot(Order, "series"), O_HIDDEN = slot(Order, "hidden")
cdef Py_ssize_t O_DISPLAY = slot(Order, "display_qty"), O_KIND = slot(Order, "kind"), O_TIF = slot(Order, "tif")
cdef Py_ssize_t O_STP = slot(Order, "stp"), O_POST_ONLY = slot(Order, "post_only")
cdef Py_ssize_t O_STOP = slot(Order, "stop_price"), O_EXPIRE = slot(Order, "expire_ns")
cdef Py_ssize_t O_FILLED = slot(Order, "filled")
cdef Py_ssize_t SO_ORDER_ID = slot(SubmitOrder, "order_id"), SO_ACCOUNT = slot(SubmitOrder, "account")
cdef Py_ssize_t SO_SIDE = slot(SubmitOrder, "side"), SO_PRICE = slot(SubmitOrder, "price")
cdef Py_ssize_t SO_SERIES = slot(SubmitOrder, "series"), SO_DISPLAY = slot(SubmitOrder, "display_qty")
cdef Py_ssize_t SO_KIND = slot(SubmitOrder, "kind"), SO_TIF = slot(SubmitOrder, "tif")
cdef Py_ssize_t SO_STP = slot(SubmitOrder, "stp"), SO_POST_ONLY = slot(SubmitOrder, "post_only")
cdef Py_ssize_t SO_STOP = slot(SubmitOrder, "stop_price"), SO_EXPIRE = slot(SubmitOrder, "expire_ns")


cdef inline void _release(CfxLevel* lvl) noexcept:
    """Drop the level's references to its orders (before it is erased)."""
    cdef PyObject* p
    for p in lvl.queue:
        Py_DECREF(<object> p)
    lvl.queue.clear()


cdef list _live_orders(CfxLevel* lvl):
    """The level's live orders (``qty`` not 0), in queue order."""
    cdef PyObject* p
    out = []
    for p in lvl.queue:
        o = <object> p
        if o.qty:
            out.append(o)
    return out


cdef class CompiledOrderBook:
    """One series' book, as `cfx.book.OrderBook` (same constructor, same
    methods, same events), with its levels in C++. Shared with the engine:
    ``live`` its order-id index, ``out`` the event sink, ``seq`` the event
    sequence counter, ``stp_defaults`` each account's default STP mode."""

    def __init__(self, series, live=None, out=None, seq=None, stp_defaults=None, *, trades_only=False):
        import itertools
        self.series = series
        self.last_price = None
        self.first_price = None
        self._live = {} if live is None else live
        self._out = [] if out is None else out
        self._seq = itertools.count(1) if seq is None else seq
        self._stp_defaults = {} if stp_defaults is None else stp_defaults
        self._full = not trades_only

    def __dealloc__(self):
        self._clear()

    cdef void _clear(self) noexcept:
        cdef Iter it = self.bids.begin()
        while it != self.bids.end():
            _release(&deref(it).second)
            inc(it)
        it = self.asks.begin()
        while it != self.asks.end():
            _release(&deref(it).second)
            inc(it)
        self.bids.clear()
        self.asks.clear()

    # ------------------------------------------------------------------ pickling (a checkpoint)

    def __reduce__(self):
        return (_rebuild, (type(self), self.series, self._live, self._out, self._seq, self._stp_defaults,
                           not self._full), self.__getstate__())

    def __getstate__(self):
        return (self._levels_state(True), self._levels_state(False), self.last_price, self.first_price)

    cdef list _levels_state(self, bint buy):
        cdef Side_t* levels = &self.bids if buy else &self.asks
        cdef Iter it = levels.begin()
        cdef PyObject* p
        out = []
        while it != levels.end():
            out.append((deref(it).first, deref(it).second.qty, deref(it).second.count,
                        [<object> p for p in deref(it).second.queue]))
            inc(it)
        return out

    def __setstate__(self, state):
        bids, asks, self.last_price, self.first_price = state
        self._clear()
        self._load(True, bids)
        self._load(False, asks)

    cdef void _load(self, bint buy, list rows) except *:
        cdef Side_t* levels = &self.bids if buy else &self.asks
        cdef CfxLevel* lvl
        for key, qty, cnt, orders in rows:
            lvl = &deref(levels)[<int64_t> key]
            lvl.qty = qty
            lvl.count = cnt
            for o in orders:
                Py_INCREF(o)
                lvl.queue.push_back(<PyObject*> o)

    # ------------------------------------------------------------------ matching

    def place(self, order, qty, limit, cmd, ts, cross=True, filled=0):
        """`OrderBook.place`: trade what crosses ``limit``, then rest or
        cancel the remainder. Returns the quantity traded."""
        return self.place_c(order, qty, limit, cmd, ts, cross, filled)

    cdef object place_c(self, order, qty, limit, cmd, ts, bint cross, filled):
        """`place` (``order`` an `Order`, a `SubmitOrder` or anything with their fields)."""
        side = _entering(order, O_SIDE, SO_SIDE, "side")
        cdef bint buy = side is BUY
        if cross:
            if buy:
                if not self.asks.empty() and (limit is None or deref(self.asks.begin()).first <= <int64_t> limit):
                    filled, qty = self.match_c(order, qty, limit, cmd, ts)
            else:
                if not self.bids.empty() and (limit is None or -deref(self.bids.begin()).first >= <int64_t> limit):
                    filled, qty = self.match_c(order, qty, limit, cmd, ts)
            if not qty:
                return filled
            kind = _entering(order, O_KIND, SO_KIND, "kind")
            tif = _entering(order, O_TIF, SO_TIF, "tif")
            if kind is not LIMIT or tif is IOC or tif is FOK:
                if self._full:
                    beyond = not (self.asks.empty() if buy else self.bids.empty())
                    stopped = kind is MARKET and limit is not None and beyond
                    reason = CANCEL_BAND if stopped else CANCEL_REMAINDER
                    self._out.append(OrderCancelled(next(self._seq), cmd, ts, self.series,
                                                    _entering(order, O_ORDER_ID, SO_ORDER_ID, "order_id"),
                                                    _entering(order, O_ACCOUNT, SO_ACCOUNT, "account"), qty, reason))
                return filled
        remaining = qty
        display = _entering(order, O_DISPLAY, SO_DISPLAY, "display_qty")
        if display and remaining > display:
            qty = display
            hidden = remaining - display
        else:
            hidden = 0
        p = _entering(order, O_PRICE, SO_PRICE, "price")
        if type(order) is not ORDER:  # a new order resting: its `Order` is built now
            order = ORDER(
                _entering(order, O_ORDER_ID, SO_ORDER_ID, "order_id"),
                _entering(order, O_ACCOUNT, SO_ACCOUNT, "account"),
                side,
                p,
                qty,
                _entering(order, O_SERIES, SO_SERIES, "series"),
                hidden,
                display,
                _entering(order, O_KIND, SO_KIND, "kind"),
                _entering(order, O_TIF, SO_TIF, "tif"),
                _entering(order, O_STP, SO_STP, "stp"),
                _entering(order, O_POST_ONLY, SO_POST_ONLY, "post_only"),
                _entering(order, O_STOP, SO_STOP, "stop_price"),
                _entering(order, O_EXPIRE, SO_EXPIRE, "expire_ns"),
                filled,
            )
        else:
            if at(order, O_QTY) != qty or at(order, O_HIDDEN) != hidden:
                put(order, O_QTY, qty)
                put(order, O_HIDDEN, hidden)
            if filled:
                put(order, O_FILLED, at(order, O_FILLED) + filled)
        cdef int64_t price = p
        cdef int64_t key = -price if buy else price
        cdef Side_t* levels = &self.bids if buy else &self.asks
        cdef CfxLevel* lvl = &deref(levels)[key]  # a new level if there was none
        Py_INCREF(order)
        lvl.queue.push_back(<PyObject*> order)
        lvl.qty += <int64_t> qty
        lvl.count += 1
        oid = at(order, O_ORDER_ID)
        self._live[oid] = order
        if self._full:
            self._out.append(OrderRested(next(self._seq), cmd, ts, self.series, oid, side, p, qty, remaining))
            self._out.append(LevelChanged(next(self._seq), cmd, ts, self.series, side, p, lvl.qty))
        return filled

    def match(self, order, remaining, limit, cmd, ts):
        """`OrderBook.match`: trade up to ``remaining`` against the other
        side within ``limit``; returns (traded, left)."""
        return self.match_c(order, remaining, limit, cmd, ts)

    cdef tuple match_c(self, order, remaining, limit, cmd, ts):
        """`match` (``order`` as `place_c`'s)."""
        side = _entering(order, O_SIDE, SO_SIDE, "side")
        cdef bint buy = side is BUY
        cdef Side_t* levels = &self.asks if buy else &self.bids
        cdef bint has_limit = limit is not None
        cdef int64_t lim = limit if has_limit else 0
        cdef int64_t p, key, lq, lc, mq, t, left
        cdef int64_t rem = remaining
        cdef int64_t entered = rem
        cdef int64_t cut = 0
        cdef CfxLevel* lvl
        cdef PyObject* mp
        cdef list out = self._out
        cdef dict live = self._live
        cdef bint full = self._full
        seq = self._seq
        series = self.series
        tid = _entering(order, O_ORDER_ID, SO_ORDER_ID, "order_id")
        tacct = _entering(order, O_ACCOUNT, SO_ACCOUNT, "account")
        first = last = None
        other = SELL if buy else BUY
        while rem and not levels.empty():
            key = deref(levels.begin()).first
            p = key if buy else -key
            if has_limit and (p > lim if buy else p < lim):
                break
            lvl = &deref(levels.begin()).second
            lq = lvl.qty
            lc = lvl.count
            while rem and not lvl.queue.empty():
                mp = lvl.queue.front()
                m = <object> mp
                mq = _resting(m, O_QTY, "qty")
                if not mq:
                    lvl.queue.pop_front()
                    Py_DECREF(m)
                    continue
                maker_account = _resting(m, O_ACCOUNT, "account")
                if maker_account == tacct:
                    stp = _entering(order, O_STP, SO_STP, "stp") or self._stp_defaults.get(tacct, DEFAULT_STP)
                    if stp is not STP_NONE:
                        lvl.qty = lq
                        lvl.count = lc
                        left = self._prevent_self_trade(m, lvl, order, rem, stp, cmd, ts)
                        lq = lvl.qty
                        lc = lvl.count
                        if left < 0:
                            left = 0
                        cut += rem - left
                        rem = left
                        continue
                t = mq if mq < rem else rem
                maker_id = _resting(m, O_ORDER_ID, "order_id")
                out.append(Trade(next(seq), cmd, ts, series, p, t, maker_id, tid, maker_account, tacct, side))
                rem -= t
                if first is None:
                    first = p
                last = p
                lq -= t
                if t != mq:
                    _set_resting(m, O_QTY, "qty", mq - t)
                    _set_resting(m, O_FILLED, "filled", _resting(m, O_FILLED, "filled") + t)
                elif _resting(m, O_HIDDEN, "hidden"):  # iceberg: the next slice goes to the back of the queue
                    lvl.queue.pop_front()
                    hidden = _resting(m, O_HIDDEN, "hidden")
                    display = _resting(m, O_DISPLAY, "display_qty")
                    shown = display if display < hidden else hidden
                    _set_resting(m, O_QTY, "qty", shown)
                    _set_resting(m, O_HIDDEN, "hidden", hidden - shown)
                    _set_resting(m, O_FILLED, "filled", _resting(m, O_FILLED, "filled") + t)
                    lq += <int64_t> shown
                    lvl.queue.push_back(mp)  # the queue's reference moves with it
                    if full:
                        out.append(OrderRefilled(next(seq), cmd, ts, series, maker_id, shown))
                else:  # filled: it leaves
                    lvl.queue.pop_front()
                    Py_DECREF(m)
                    lc -= 1
                    del live[maker_id]
            if full:
                out.append(LevelChanged(next(seq), cmd, ts, series, other, p, lq))
            if lc:
                lvl.qty = lq
                lvl.count = lc
            else:
                _release(lvl)
                levels.erase(levels.begin())
        if first is not None:
            self.last_price = last
            self.first_price = first
        return entered - rem - cut, rem

    cdef int64_t _prevent_self_trade(self, maker, CfxLevel* lvl, taker, int64_t remaining, mode, cmd,
                                     ts) except? -2:
        """`OrderBook._prevent_self_trade`: the taker's quantity left, or -1
        when the taker is cancelled."""
        if mode is STP_CANCEL_RESTING or mode is STP_CANCEL_BOTH:
            self._cancel_resting(maker, lvl, cmd, ts)
            if mode is STP_CANCEL_RESTING:
                return remaining
        if mode is STP_CANCEL_AGGRESSING or mode is STP_CANCEL_BOTH:
            self._emit(OrderCancelled(next(self._seq), cmd, ts, self.series, taker.order_id, taker.account,
                                      remaining, CANCEL_STP))
            return -1
        cdef int64_t open_qty = maker.qty + maker.hidden
        cdef int64_t d = open_qty if open_qty < remaining else remaining
        if d == open_qty:
            self._cancel_resting(maker, lvl, cmd, ts)
        else:
            _take_from(maker, lvl, d)
            self._emit(OrderCancelled(next(self._seq), cmd, ts, self.series, maker.order_id, maker.account, d,
                                      CANCEL_STP))
        self._emit(OrderCancelled(next(self._seq), cmd, ts, self.series, taker.order_id, taker.account, d,
                                  CANCEL_STP))
        return remaining - d if remaining > d else -1

    cdef void _cancel_resting(self, m, CfxLevel* lvl, cmd, ts) except *:
        self._emit(OrderCancelled(next(self._seq), cmd, ts, self.series, m.order_id, m.account,
                                  m.qty + m.hidden, CANCEL_STP))
        lvl.qty -= <int64_t> m.qty
        lvl.count -= 1
        m.qty = 0
        m.hidden = 0
        del self._live[m.order_id]

    cdef inline void _emit(self, event) except *:
        if self._full:
            self._out.append(event)

    def fillable(self, side, limit, account, stp, need):
        """`OrderBook.fillable`: could an order of ``side`` trade ``need``
        lots now within ``limit``? Changes nothing."""
        cdef bint buy = side is BUY
        cdef Side_t* levels = &self.asks if buy else &self.bids
        cdef Iter it = levels.begin()
        cdef bint has_limit = limit is not None
        cdef int64_t lim = limit if has_limit else 0
        cdef int64_t p
        got = 0
        stp = stp or self._stp_defaults.get(account, DEFAULT_STP)
        blocking = stp is not STP_NONE and stp is not STP_CANCEL_RESTING
        skip_own = stp is STP_CANCEL_RESTING
        while it != levels.end():
            p = deref(it).first if buy else -deref(it).first
            if has_limit and (p > lim if buy else p < lim):
                break
            level_orders = _live_orders(&deref(it).second)
            own_at = next((i for i, o in enumerate(level_orders) if o.account == account), None)
            if blocking and own_at is not None:
                got += sum(o.qty for o in level_orders[:own_at])
                return got >= need
            got += sum(o.qty + o.hidden for o in level_orders if not (skip_own and o.account == account))
            if got >= need:
                return True
            inc(it)
        return got >= need

    def crosses(self, side, price):
        """Would a limit order at ``price`` trade on arrival?"""
        if side is BUY:
            best = self.best_ask()
            return best is not None and best <= price
        best = self.best_bid()
        return best is not None and best >= price

    # ------------------------------------------------------------------ resting orders

    def rest(self, order, remaining, cmd, ts, filled=0):
        """`OrderBook.rest`: on the book without matching; the resting `Order`."""
        self.place_c(order, remaining, None, cmd, ts, False, filled)
        return self._live[order.order_id]

    cdef CfxLevel* _level(self, side, price) except NULL:
        cdef int64_t key = -<int64_t> price if side is BUY else <int64_t> price
        cdef Side_t* levels = &self.bids if side is BUY else &self.asks
        cdef Iter it = levels.find(key)
        if it == levels.end():
            raise KeyError(price)
        return &deref(it).second

    def cancel(self, order, cmd, ts, reason):
        """`OrderBook.cancel`: off the book and the live index (``reason``
        None: silently, only the level change)."""
        self.cancel_c(order, cmd, ts, reason)

    cdef void cancel_c(self, order, cmd, ts, reason) except *:
        """`cancel` (``order`` a resting order)."""
        qty = _resting(order, O_QTY, "qty")
        oid = _resting(order, O_ORDER_ID, "order_id")
        if reason is not None and self._full:
            self._out.append(OrderCancelled(next(self._seq), cmd, ts, self.series, oid,
                                            _resting(order, O_ACCOUNT, "account"),
                                            qty + _resting(order, O_HIDDEN, "hidden"), reason))
        p = _resting(order, O_PRICE, "price")
        side = _resting(order, O_SIDE, "side")
        cdef CfxLevel* lvl = self._level(side, p)
        lvl.qty -= <int64_t> qty
        lvl.count -= 1
        lq = lvl.qty
        _set_resting(order, O_QTY, "qty", 0)
        if _resting(order, O_HIDDEN, "hidden"):
            _set_resting(order, O_HIDDEN, "hidden", 0)
        del self._live[oid]
        if self._full:
            self._out.append(LevelChanged(next(self._seq), cmd, ts, self.series, side, p, lq))
        if not lvl.count:
            _release(lvl)
            if side is BUY:
                self.bids.erase(-<int64_t> p)
            else:
                self.asks.erase(<int64_t> p)

    def reduce(self, order, new_open, cmd, ts):
        """`OrderBook.reduce`: a lower open quantity in place (reserve first), same priority."""
        self.reduce_c(order, new_open, cmd, ts)

    cdef void reduce_c(self, order, new_open, cmd, ts) except *:
        """`reduce` (``order`` a resting order)."""
        side = _resting(order, O_SIDE, "side")
        p = _resting(order, O_PRICE, "price")
        cdef CfxLevel* lvl = self._level(side, p)
        _take_from(order, lvl, _resting(order, O_QTY, "qty") + _resting(order, O_HIDDEN, "hidden") - new_open)
        self._emit(LevelChanged(next(self._seq), cmd, ts, self.series, side, p, lvl.qty))

    def fill(self, order, qty, cmd, ts):
        """`OrderBook.fill`: a call auction filled ``qty`` of a resting order."""
        order.filled += qty
        left = order.qty + order.hidden - qty
        if left:
            self.reduce(order, left, cmd, ts)
        else:
            self.cancel(order, cmd, ts, None)

    def record_uncross(self, price):
        """A call auction traded at ``price``."""
        self.last_price = self.first_price = price

    # ------------------------------------------------------------------ queries

    def best_bid(self):
        """Highest bid price, or None. O(1)."""
        return self.best_bid_c()

    cdef object best_bid_c(self):
        return None if self.bids.empty() else -deref(self.bids.begin()).first

    def best_ask(self):
        """Lowest ask price, or None. O(1)."""
        return self.best_ask_c()

    cdef object best_ask_c(self):
        return None if self.asks.empty() else deref(self.asks.begin()).first

    cdef object best_qty_c(self, bint buy):
        """``level_qty`` at a side's best price: its visible quantity (0: the side is empty)."""
        cdef Side_t* levels = &self.bids if buy else &self.asks
        return 0 if levels.empty() else deref(levels.begin()).second.qty

    def depth(self, n=10):
        """L2: the best ``n`` levels of each side as (price, visible qty), best first."""
        return self._depth(True, n), self._depth(False, n)

    cdef list _depth(self, bint buy, Py_ssize_t n):
        cdef Side_t* levels = &self.bids if buy else &self.asks
        cdef Iter it = levels.begin()
        out = []
        while it != levels.end() and len(out) < n:
            out.append((-deref(it).first if buy else deref(it).first, deref(it).second.qty))
            inc(it)
        return out

    def level_qty(self, side, price):
        """The visible quantity at one price (0: no level)."""
        if not 0 < price <= MAX_PRICE:  # no level there (and no int64 key for it)
            return 0
        cdef int64_t key = -<int64_t> price if side is BUY else <int64_t> price
        cdef Side_t* levels = &self.bids if side is BUY else &self.asks
        cdef Iter it = levels.find(key)
        return 0 if it == levels.end() else deref(it).second.qty

    def levels(self, side, against=None):
        """(price, visible qty, live orders) of one side's levels, best first;
        with ``against``, only those an opposite order at that price would trade with."""
        cdef bint buy = side is BUY
        cdef Side_t* levels = &self.bids if buy else &self.asks
        cdef Iter it = levels.begin()
        cdef int64_t p
        cdef bint bounded = against is not None
        if bounded and not 0 < against <= MAX_PRICE:  # past every price a level can have (no int64 for it)
            if (against > 0) == buy:  # bids at or above one past the highest, asks at or below one under the lowest
                return []
            bounded = False
        cdef int64_t bound = against if bounded else 0
        out = []
        while it != levels.end():
            p = -deref(it).first if buy else deref(it).first
            if bounded and (p < bound if buy else p > bound):
                break
            out.append((p, deref(it).second.qty, deref(it).second.count))
            inc(it)
        return out

    def orders_at(self, side, price):
        """L3: the live orders at one price, in queue order."""
        if not 0 < price <= MAX_PRICE:  # no level there (and no int64 key for it)
            return []
        cdef int64_t key = -<int64_t> price if side is BUY else <int64_t> price
        cdef Side_t* levels = &self.bids if side is BUY else &self.asks
        cdef Iter it = levels.find(key)
        if it == levels.end():
            return []
        return _live_orders(&deref(it).second)

    cdef list _side_l3(self, bint buy):
        cdef Side_t* levels = &self.bids if buy else &self.asks
        cdef Iter it = levels.begin()
        out = []
        while it != levels.end():
            orders = [{"order_id": o.order_id, "account": o.account, "qty": o.qty + o.hidden}
                      for o in _live_orders(&deref(it).second)]
            out.append({"price": -deref(it).first if buy else deref(it).first, "orders": orders})
            inc(it)
        return out

    def snapshot(self):
        """L3 as plain data, exactly as `cfx.book.OrderBook.snapshot` gives it."""
        return {"bids": self._side_l3(True), "asks": self._side_l3(False)}

    def state_hash(self):
        """sha256 of the L3 snapshot and last trade price (as `OrderBook.state_hash`)."""
        doc = {"book": self.snapshot(), "last_price": self.last_price}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def check(self):
        """Assert the book's invariants (for tests), as `OrderBook.check`."""
        cdef Side_t* levels
        cdef Iter it
        cdef int64_t p
        for buy in (True, False):
            side = BUY if buy else SELL
            levels = &self.bids if buy else &self.asks
            it = levels.begin()
            while it != levels.end():
                p = -deref(it).first if buy else deref(it).first
                orders = _live_orders(&deref(it).second)
                assert deref(it).second.count == len(orders) > 0, (side, p, deref(it).second.count, len(orders))
                assert deref(it).second.qty == sum(o.qty for o in orders), (side, p)
                for o in orders:
                    assert o.price == p and o.side is side, o
                    assert self._live.get(o.order_id) is o, o
                    assert o.hidden >= 0 and o.qty > 0
                inc(it)
        bb, ba = self.best_bid(), self.best_ask()
        assert bb is None or ba is None or bb < ba, ("crossed", bb, ba)


cdef void _take_from(order, CfxLevel* lvl, int64_t d) except *:
    """Remove ``d`` lots (less than its open quantity) from a resting order: reserve first."""
    hidden = _resting(order, O_HIDDEN, "hidden")
    if hidden >= d:
        _set_resting(order, O_HIDDEN, "hidden", hidden - d)
        return
    d -= <int64_t> hidden
    _set_resting(order, O_HIDDEN, "hidden", 0)
    _set_resting(order, O_QTY, "qty", _resting(order, O_QTY, "qty") - d)
    lvl.qty -= d


cdef inline object _resting(order, Py_ssize_t offset, str name):
    """``order``'s attribute ``name`` (``offset``: the `Order` slot of it): a
    resting order is an `Order`, read at its slot; anything else by name."""
    return at(order, offset) if type(order) is ORDER else getattr(order, name)


cdef inline void _set_resting(order, Py_ssize_t offset, str name, value) except *:
    """``order``'s attribute ``name`` set to ``value`` (as `_resting` reads it)."""
    if type(order) is ORDER:
        put(order, offset, value)
    else:
        setattr(order, name, value)


cdef inline object _entering(order, Py_ssize_t in_order, Py_ssize_t in_submit, str name):
    """An attribute of an order meeting the book (`cfx.book.Entering`): at its
    slot for an `Order` (``in_order``) or a `SubmitOrder` (``in_submit``),
    by name for anything else."""
    t = type(order)
    if t is ORDER:
        return at(order, in_order)
    if t is SUBMIT:
        return at(order, in_submit)
    return getattr(order, name)


def _rebuild(cls, series, live, out, seq, stp_defaults, trades_only):
    """Unpickle a book (its levels come back in ``__setstate__``)."""
    return cls(series, live, out, seq, stp_defaults, trades_only=trades_only)
