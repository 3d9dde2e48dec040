# cython: language_level=3
# distutils: language = c++
"""The compiled twin of the engine's common command path: `Engine.submit`,
`Engine.modify` and `Engine.cancel` (cfx/engine.py, with
`CallsAndHalts._place_guarded` and `VelocityBreaker.edge`/`record`,
cfx/calls.py and cfx/protections.py), the readable reference, for what
nearly every command of a run is: a plain limit or market order, a
modify or a cancel of a resting limit order, on a series that trades
continuously. Same events, same sequence numbers, same order, same
rejects (tests/test_engine_twin.py holds the two to that on random order
flow, rejects included). `cfx.venue.Venue` uses it when its books are the
compiled ones (`cfx.core.choose_book`: ``CFX_ENGINE=python`` is the
reference throughout), as it does the compiled clearing
(cfx/clearing/_clearing.pyx).

The state stays where the reference keeps it: the engine's attributes,
its series' `SeriesState`, the sessions', bands' and breakers' slots,
the book. What is compiled is the walk: the command's
fields, the orders' and the series' attributes read at their slots
(cfx/core/_slots.pxd), the engine's own in its instance dict (no
attribute lookup), validation (cfx/validation.py's rules for these
commands), the session's permission, the risk gate's call and matching
under the velocity breaker written out in place; a `CompiledOrderBook`
is called at its C interface (cfx/core/_orderbook.pxd: no method lookup,
no argument parsing), any other book through its `Book` methods. Python
objects throughout, so ints are the reference's ints.

Everything off that path goes, before anything has changed, to the
engine's own method, which then does the whole command: a GTD order due,
a session with a transition due or in any state but continuous trading
or the settlement window, a batch series, an order with options (stop,
iceberg, post-only, FOK, GTD), a reject beyond a band that may expand it,
an unknown series, a trades-only engine, an object of another class. What
the reference calls out to on the path (a halt on a breach, the stops a
trade reaches, the GTD heap for a re-priced GTD order) is called as it
does.
"""

from cpython.dict cimport PyDict_GetItemWithError as get
from cpython.object cimport PyObject

cdef extern from "Python.h":
    object PyObject_GenericGetDict(object o, void* context)  # ``o.__dict__``

from cfx.core._orderbook cimport CompiledOrderBook
from cfx.core._slots cimport at, put, slot

from collections import deque

from cfx.book import Order
from cfx.calls import SeriesState
from cfx.engine import Engine
from cfx.protections import MIN_PRICE, PriceBand, VelocityBreaker
from cfx.session import SessionMachine
from cfx.validation import MAX_PRICE
from cfx.types import (
    CancelOrder,
    CancelReason,
    ListSeries,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderKind,
    OrderModified,
    OrderRejected,
    RejectReason,
    SessionState,
    Side,
    SubmitOrder,
    TimeInForce,
)

cdef object T_ENGINE = Engine
cdef object T_BOOK = CompiledOrderBook
cdef object T_SUBMIT = SubmitOrder
cdef object T_MODIFY = ModifyOrder
cdef object T_CANCEL = CancelOrder
cdef object T_ORDER = Order
cdef object T_STATE = SeriesState
cdef object T_SESSION = SessionMachine
cdef object T_BAND = PriceBand
cdef object T_BREAKER = VelocityBreaker
cdef object T_RULES = ListSeries
cdef object T_ACCEPTED = OrderAccepted
cdef object T_CANCELLED = OrderCancelled
cdef object T_MODIFIED = OrderModified
cdef object T_REJECTED = OrderRejected
cdef object POPLEFT = deque.popleft
cdef object BUY = Side.BUY
cdef object LIMIT = OrderKind.LIMIT
cdef object MARKET = OrderKind.MARKET
cdef object GTC = TimeInForce.GTC
cdef object DAY = TimeInForce.DAY
cdef object IOC = TimeInForce.IOC
cdef object FOK = TimeInForce.FOK
cdef object GTD = TimeInForce.GTD
cdef object CONTINUOUS = SessionState.CONTINUOUS
cdef object SETTLEMENT_WINDOW = SessionState.SETTLEMENT_WINDOW
cdef object CANCEL_USER = CancelReason.USER
cdef object CANCEL_BAND = CancelReason.BAND
cdef object CANCEL_REMAINDER = CancelReason.IOC_REMAINDER
cdef object UNKNOWN_ORDER = RejectReason.UNKNOWN_ORDER
cdef object NOT_OWNER = RejectReason.NOT_OWNER
cdef object NOT_MODIFIABLE = RejectReason.NOT_MODIFIABLE
cdef object BAD_QUANTITY = RejectReason.BAD_QUANTITY
cdef object QUANTITY_TOO_LARGE = RejectReason.QUANTITY_TOO_LARGE
cdef object DUPLICATE_ORDER_ID = RejectReason.DUPLICATE_ORDER_ID
cdef object BAD_PRICE = RejectReason.BAD_PRICE
cdef object PRICE_OUTSIDE_BAND = RejectReason.PRICE_OUTSIDE_BAND
cdef object POST_ONLY_WOULD_CROSS = RejectReason.POST_ONLY_WOULD_CROSS
cdef object PY_MAX_PRICE = MAX_PRICE
cdef object PY_MIN_PRICE = MIN_PRICE

cdef Py_ssize_t SO_TS = slot(SubmitOrder, "ts"), SO_SERIES = slot(SubmitOrder, "series")
cdef Py_ssize_t SO_ORDER_ID = slot(SubmitOrder, "order_id"), SO_ACCOUNT = slot(SubmitOrder, "account")
cdef Py_ssize_t SO_SIDE = slot(SubmitOrder, "side"), SO_QTY = slot(SubmitOrder, "qty")
cdef Py_ssize_t SO_PRICE = slot(SubmitOrder, "price"), SO_KIND = slot(SubmitOrder, "kind")
cdef Py_ssize_t SO_TIF = slot(SubmitOrder, "tif"), SO_POST_ONLY = slot(SubmitOrder, "post_only")
cdef Py_ssize_t SO_DISPLAY = slot(SubmitOrder, "display_qty"), SO_STOP = slot(SubmitOrder, "stop_price")
cdef Py_ssize_t SO_EXPIRE = slot(SubmitOrder, "expire_ns")
cdef Py_ssize_t MO_TS = slot(ModifyOrder, "ts"), MO_ORDER_ID = slot(ModifyOrder, "order_id")
cdef Py_ssize_t MO_ACCOUNT = slot(ModifyOrder, "account"), MO_PRICE = slot(ModifyOrder, "price")
cdef Py_ssize_t MO_QTY = slot(ModifyOrder, "qty")
cdef Py_ssize_t CO_TS = slot(CancelOrder, "ts"), CO_ORDER_ID = slot(CancelOrder, "order_id")
cdef Py_ssize_t CO_ACCOUNT = slot(CancelOrder, "account")
cdef Py_ssize_t O_ORDER_ID = slot(Order, "order_id"), O_ACCOUNT = slot(Order, "account")
cdef Py_ssize_t O_SIDE = slot(Order, "side"), O_PRICE = slot(Order, "price"), O_QTY = slot(Order, "qty")
cdef Py_ssize_t O_SERIES = slot(Order, "series"), O_HIDDEN = slot(Order, "hidden")
cdef Py_ssize_t O_KIND = slot(Order, "kind"), O_TIF = slot(Order, "tif"), O_POST_ONLY = slot(Order, "post_only")
cdef Py_ssize_t S_BOOK = slot(SeriesState, "book"), S_RULES = slot(SeriesState, "rules")
cdef Py_ssize_t S_BUY_STOPS = slot(SeriesState, "buy_stops"), S_SELL_STOPS = slot(SeriesState, "sell_stops")
cdef Py_ssize_t S_SESSION = slot(SeriesState, "session"), S_BREAKER = slot(SeriesState, "breaker")
cdef Py_ssize_t S_BAND = slot(SeriesState, "price_band"), S_BATCH_NS = slot(SeriesState, "batch_ns")
cdef Py_ssize_t R_MAX_QTY = slot(ListSeries, "max_qty"), R_EXPAND = slot(ListSeries, "band_expand_pct")
cdef Py_ssize_t M_STATE = slot(SessionMachine, "state"), M_NEXT = slot(SessionMachine, "_next")
cdef Py_ssize_t B_LOW = slot(PriceBand, "low"), B_HIGH = slot(PriceBand, "high")
cdef Py_ssize_t B_MOVING = slot(PriceBand, "moving")
cdef Py_ssize_t V_THRESHOLD = slot(VelocityBreaker, "threshold"), V_WINDOW = slot(VelocityBreaker, "window_ns")
cdef Py_ssize_t V_PRICES = slot(VelocityBreaker, "_prices")


cdef class EnginePath:
    """`submit`, `modify` and `cancel` of ``engine`` (an `Engine`): each
    the engine's method of the same name, the common path compiled (see
    the module docstring); what a venue dispatches these commands to.
    Pickled as its engine (a checkpoint)."""

    cdef readonly object engine
    cdef bint _exact  # an `Engine` (not a subclass, whose methods are its own)

    def __init__(self, engine):
        self.engine = engine
        self._exact = type(engine) is T_ENGINE

    cdef inline object _get(self, str name):
        """``engine.<name>`` of an exact `Engine`, read in its instance dict
        (its class has no descriptor of that name): no attribute lookup. The
        dict is fetched each time: a checkpoint puts a copy in its place."""
        cdef PyObject* v = get(<dict> PyObject_GenericGetDict(self.engine, NULL), name)
        return getattr(self.engine, name) if v is NULL else <object> v

    def __reduce__(self):
        return (EnginePath, (self.engine,))

    # ------------------------------------------------------------------ the state of a command's series

    cdef bint _ready(self, ts) except -1:
        """May the compiled path take a command at ``ts``: an `Engine` (a full one) with no GTD order due?"""
        if not self._exact or not self._get("_full"):
            return False
        gtd = <list?> self._get("_gtd")
        return not gtd or gtd[0][0] > ts

    cdef object _state(self, series, ts):
        """The `SeriesState` of ``series`` when it trades continuously now (no
        transition due, not a batch series), else None (the reference's)."""
        cdef PyObject* found = get(<dict?> self._get("_series"), series)
        if found is NULL:
            return None
        state = <object> found
        if type(state) is not T_STATE or at(state, S_BATCH_NS) or type(at(state, S_RULES)) is not T_RULES:
            return None
        session = at(state, S_SESSION)
        if session is not None:
            if type(session) is not T_SESSION:
                return None
            nxt = at(session, M_NEXT)
            if nxt is not None and nxt[0] <= ts:  # `advance` would change something
                return None
            s = at(session, M_STATE)
            if s is not CONTINUOUS and s is not SETTLEMENT_WINDOW:  # it accepts, matches, cancels, modifies
                return None
        band = at(state, S_BAND)
        if band is not None and type(band) is not T_BAND:
            return None
        return state

    cdef object _next_cmd(self):
        """``engine.cmd_seq`` advanced: this command's number."""
        cmd = self._get("cmd_seq") + 1
        (<dict> PyObject_GenericGetDict(self.engine, NULL))["cmd_seq"] = cmd
        return cmd

    cdef inline void _emit(self, event) except *:
        (<list?> self._get("events")).append(event)

    cdef void _reject(self, cmd, ts, order_id, account, reason, series) except *:
        self._emit(T_REJECTED(next(self._get("_seq")), cmd, ts, order_id, account, reason, series))

    # ------------------------------------------------------------------ the commands

    def submit(self, c):
        """`Engine.submit`."""
        if type(c) is not T_SUBMIT:
            return self.engine.submit(c)
        ts = at(c, SO_TS)
        if not self._ready(ts):
            return self.engine.submit(c)
        series = at(c, SO_SERIES)
        state = self._state(series, ts)
        kind = at(c, SO_KIND)
        tif = at(c, SO_TIF)
        if (
            state is None
            or (kind is not LIMIT and kind is not MARKET)
            or (tif is not GTC and tif is not DAY and tif is not IOC)
            or at(c, SO_DISPLAY) or at(c, SO_POST_ONLY) or at(c, SO_STOP) or at(c, SO_EXPIRE)
        ):
            return self.engine.submit(c)
        book = at(state, S_BOOK)
        band = at(state, S_BAND)
        rules = at(state, S_RULES)
        # `submit_reason` of a plain order
        qty = at(c, SO_QTY)
        price = at(c, SO_PRICE)
        oid = at(c, SO_ORDER_ID)
        reason = None
        if qty <= 0:
            reason = BAD_QUANTITY
        elif qty > at(rules, R_MAX_QTY):
            reason = QUANTITY_TOO_LARGE
        elif oid in <dict?> self._get("_live"):
            reason = DUPLICATE_ORDER_ID
        elif kind is MARKET:
            if price != 0:
                reason = BAD_PRICE
        elif price <= 0 or price > PY_MAX_PRICE:
            reason = BAD_PRICE
        elif band is not None and not _allows(band, price, _last_price(book)):
            if at(rules, R_EXPAND):  # a limit hit may widen the band and halt: the reference's
                return self.engine.submit(c)
            reason = PRICE_OUTSIDE_BAND
        cmd = self._next_cmd()
        account = at(c, SO_ACCOUNT)
        if reason is None:
            risk = self._get("risk_check")
            if risk is not None:
                reason = risk(c)
        if reason is not None:
            self._reject(cmd, ts, oid, account, reason, series)
            if reason is PRICE_OUTSIDE_BAND and at(rules, R_EXPAND):
                self.engine._limit_hit(state, price, cmd, ts)
            return
        side = at(c, SO_SIDE)
        self._emit(
            T_ACCEPTED(
                next(self._get("_seq")), cmd, ts, series, oid, account, side, kind, tif, price, qty,
                at(c, SO_DISPLAY), at(c, SO_STOP),
            )
        )
        if kind is LIMIT:
            limit = price
        elif band is None:
            limit = None
        else:  # `_market_limit`: the band's edge
            limit = _edge_of(band, side, _last_price(book))
        breaker = at(state, S_BREAKER)
        if breaker is None:
            traded = _place(book, c, qty, limit, cmd, ts)
        else:
            traded = self._place_guarded(state, book, breaker, c, series, oid, account, side, kind, tif, qty, limit,
                                         cmd, ts)
        if traded and (at(state, S_BUY_STOPS) or at(state, S_SELL_STOPS)):
            self.engine._trigger_swept(state, cmd, ts)

    def modify(self, c):
        """`Engine.modify`."""
        if type(c) is not T_MODIFY:
            return self.engine.modify(c)
        ts = at(c, MO_TS)
        if not self._ready(ts):
            return self.engine.modify(c)
        oid = at(c, MO_ORDER_ID)
        account = at(c, MO_ACCOUNT)
        cdef PyObject* found = get(<dict?> self._get("_live"), oid)
        if found is NULL:
            self._reject(self._next_cmd(), ts, oid, account, UNKNOWN_ORDER, None)
            return
        o = <object> found
        if type(o) is not T_ORDER:
            return self.engine.modify(c)
        series = at(o, O_SERIES)
        state = self._state(series, ts)
        if state is None:
            return self.engine.modify(c)
        book = at(state, S_BOOK)
        rules = at(state, S_RULES)
        price = at(c, MO_PRICE)
        qty = at(c, MO_QTY)
        reason = None
        if at(o, O_ACCOUNT) != account:
            reason = NOT_OWNER
        elif at(o, O_KIND) is not LIMIT:
            reason = NOT_MODIFIABLE
        # `modify_reason`
        elif qty <= 0:
            reason = BAD_QUANTITY
        elif qty > at(rules, R_MAX_QTY):
            reason = QUANTITY_TOO_LARGE
        elif price <= 0 or price > PY_MAX_PRICE:
            reason = BAD_PRICE
        else:
            band = at(state, S_BAND)
            if band is not None and not _allows(band, price, _last_price(book)):
                if at(rules, R_EXPAND):  # a limit hit may widen the band and halt: the reference's
                    return self.engine.modify(c)
                reason = PRICE_OUTSIDE_BAND
            elif at(o, O_POST_ONLY) and price != at(o, O_PRICE) and book.crosses(at(o, O_SIDE), price):
                reason = POST_ONLY_WOULD_CROSS
        cmd = self._next_cmd()
        open_qty = at(o, O_QTY) + at(o, O_HIDDEN)
        if reason is None:
            risk = self._get("risk_check")
            if risk is not None and qty > open_qty:
                # the increase is new exposure: the risk gate sees it as a new order of that size
                reason = risk(T_SUBMIT(ts, series, at(o, O_ORDER_ID), at(o, O_ACCOUNT), at(o, O_SIDE), qty - open_qty,
                                       price))
        if reason is not None:
            self._reject(cmd, ts, oid, account, reason, series)
            return
        if price == at(o, O_PRICE) and qty <= open_qty:
            if qty < open_qty:
                _reduce(book, o, qty, cmd, ts)
            self._emit(T_MODIFIED(next(self._get("_seq")), cmd, ts, series, at(o, O_ORDER_ID), at(o, O_ACCOUNT), price,
                                  qty, True))
            return
        _cancel(book, o, cmd, ts, None)
        self._emit(T_MODIFIED(next(self._get("_seq")), cmd, ts, series, at(o, O_ORDER_ID), at(o, O_ACCOUNT), price, qty,
                              False))
        # re-enter as a fresh Order (`msgspec.structs.replace` of the price): the old one stays in its
        # level's queue as a cancelled entry
        fresh = o.__copy__()
        put(fresh, O_PRICE, price)
        breaker = at(state, S_BREAKER)
        if breaker is None:
            traded = _place(book, fresh, qty, price, cmd, ts)
        else:
            traded = self._place_guarded(state, book, breaker, fresh, series, at(o, O_ORDER_ID), at(o, O_ACCOUNT),
                                         at(o, O_SIDE), LIMIT, at(o, O_TIF), qty, price, cmd, ts)
        if at(fresh, O_TIF) is GTD:
            self.engine._expires(at(fresh, O_ORDER_ID))
        if traded and (at(state, S_BUY_STOPS) or at(state, S_SELL_STOPS)):
            self.engine._trigger_swept(state, cmd, ts)

    def cancel(self, c):
        """`Engine.cancel`."""
        if type(c) is not T_CANCEL:
            return self.engine.cancel(c)
        ts = at(c, CO_TS)
        if not self._ready(ts):
            return self.engine.cancel(c)
        oid = at(c, CO_ORDER_ID)
        account = at(c, CO_ACCOUNT)
        cdef PyObject* found = get(<dict?> self._get("_live"), oid)
        if found is NULL:
            self._reject(self._next_cmd(), ts, oid, account, UNKNOWN_ORDER, None)
            return
        o = <object> found
        if type(o) is not T_ORDER or at(o, O_KIND) is not LIMIT:
            return self.engine.cancel(c)
        series = at(o, O_SERIES)
        state = self._state(series, ts)
        if state is None:
            return self.engine.cancel(c)
        cmd = self._next_cmd()
        if at(o, O_ACCOUNT) != account:
            self._reject(cmd, ts, oid, account, NOT_OWNER, series)
            return
        _cancel(at(state, S_BOOK), o, cmd, ts, CANCEL_USER)

    # ------------------------------------------------------------------ matching under the breaker

    cdef object _place_guarded(self, state, book, breaker, order, series, oid, account, side, kind, tif, qty, limit,
                               cmd, ts):
        """`CallsAndHalts._place_guarded` (``series`` to ``tif``: the order's)."""
        cdef bint buy = side is BUY
        best = _best(book, buy)
        if best is None or (limit is not None and (best > limit if buy else best < limit)):
            # nothing it may trade with even at its own limit: no trade, no breach, the edge not needed
            if not qty:
                return 0
            traded = 0
            remaining = qty
        else:
            edge = _breaker_edge(breaker, buy, ts)
            if edge is None:
                guarded = limit
            elif buy:
                guarded = edge if limit is None or limit > edge else limit
            else:
                guarded = edge if limit is None or limit < edge else limit
            if guarded is None or (best <= guarded if buy else best >= guarded):
                traded, remaining = _match(book, order, qty, guarded, cmd, ts)
                if traded:
                    _breaker_record(breaker, _last_price(book), ts)
                if not remaining:
                    return traded
                best = _best(book, buy)
            else:  # the edge stops it before the best price: the match would change nothing
                traded = 0
                remaining = qty
                if not remaining:
                    return 0
        breach = best is not None and (limit is None or (best <= limit if buy else best >= limit))
        if breach:
            self.engine._halt(state, cmd, ts, breaker.halt_until(ts), best, breaker.reference(ts))
        if kind is LIMIT and tif is not IOC and tif is not FOK:
            _rest(book, order, remaining, cmd, ts, traded)
        else:
            stopped = breach or (kind is MARKET and limit is not None and best is not None)
            self._emit(
                T_CANCELLED(next(self._get("_seq")), cmd, ts, series, oid, account, remaining,
                            CANCEL_BAND if stopped else CANCEL_REMAINDER)
            )
        return traded


# ---------------------------------------------------------------------- the book


# A `CompiledOrderBook` is called at its C interface (cfx/core/_orderbook.pxd), any other `Book` by its methods.


cdef inline object _last_price(book):
    return (<CompiledOrderBook> book).last_price if type(book) is T_BOOK else book.last_price


cdef inline object _best(book, bint buy):
    """The best price an order of that side meets: the best ask for a buy, the best bid for a sell."""
    if type(book) is T_BOOK:
        return (<CompiledOrderBook> book).best_ask_c() if buy else (<CompiledOrderBook> book).best_bid_c()
    return book.best_ask() if buy else book.best_bid()


cdef inline object _place(book, order, qty, limit, cmd, ts):
    """`Book.place` (crossing, nothing filled before)."""
    if type(book) is T_BOOK:
        return (<CompiledOrderBook> book).place_c(order, qty, limit, cmd, ts, True, 0)
    return book.place(order, qty, limit, cmd, ts)


cdef inline void _rest(book, order, remaining, cmd, ts, filled) except *:
    """`Book.rest` (what it returns not needed)."""
    if type(book) is T_BOOK:
        (<CompiledOrderBook> book).place_c(order, remaining, None, cmd, ts, False, filled)
    else:
        book.rest(order, remaining, cmd, ts, filled)


cdef inline object _match(book, order, remaining, limit, cmd, ts):
    """`Book.match`: (traded, left)."""
    if type(book) is T_BOOK:
        return (<CompiledOrderBook> book).match_c(order, remaining, limit, cmd, ts)
    return book.match(order, remaining, limit, cmd, ts)


cdef inline void _cancel(book, order, cmd, ts, reason) except *:
    """`Book.cancel`."""
    if type(book) is T_BOOK:
        (<CompiledOrderBook> book).cancel_c(order, cmd, ts, reason)
    else:
        book.cancel(order, cmd, ts, reason)


cdef inline void _reduce(book, order, new_open, cmd, ts) except *:
    """`Book.reduce`."""
    if type(book) is T_BOOK:
        (<CompiledOrderBook> book).reduce_c(order, new_open, cmd, ts)
    else:
        book.reduce(order, new_open, cmd, ts)


# ---------------------------------------------------------------------- the band and the breaker at their slots


cdef object _limits_low(band, last):
    """`PriceBand.limits(last)[0]` (``band`` a `PriceBand`)."""
    if not at(band, B_MOVING) or last is None:
        return at(band, B_LOW)
    low = last - (at(band, B_HIGH) - at(band, B_LOW)) // 2
    return low if low > PY_MIN_PRICE else PY_MIN_PRICE


cdef object _limits_high(band, last):
    """`PriceBand.limits(last)[1]`."""
    if not at(band, B_MOVING) or last is None:
        return at(band, B_HIGH)
    return last + (at(band, B_HIGH) - at(band, B_LOW)) // 2


cdef bint _allows(band, price, last) except -1:
    """`PriceBand.allows`."""
    return _limits_low(band, last) <= price <= _limits_high(band, last)


cdef object _edge_of(band, side, last):
    """`PriceBand.protection_limit`: the high edge for a buy, the low for a sell."""
    return _limits_high(band, last) if side is BUY else _limits_low(band, last)


cdef object _breaker_edge(breaker, bint buy, ts):
    """`VelocityBreaker.edge` (its lazy trim of old prices included)."""
    if type(breaker) is not T_BREAKER:
        return breaker.edge(BUY if buy else Side.SELL, ts)
    prices = at(breaker, V_PRICES)
    if not prices:
        return None
    cutoff = ts - at(breaker, V_WINDOW)
    while len(prices) > 1 and prices[1][0] <= cutoff:
        POPLEFT(prices)
    ref = prices[0][1]
    return ref + at(breaker, V_THRESHOLD) if buy else ref - at(breaker, V_THRESHOLD)


cdef void _breaker_record(breaker, price, ts) except *:
    """`VelocityBreaker.record`: a trade printed; the last one at a timestamp counts."""
    if type(breaker) is not T_BREAKER:
        breaker.record(price, ts)
        return
    prices = at(breaker, V_PRICES)
    if prices and prices[-1][0] == ts:
        prices[-1] = (ts, price)
        return
    prices.append((ts, price))
    cutoff = ts - at(breaker, V_WINDOW)
    while len(prices) > 1 and prices[1][0] <= cutoff:
        POPLEFT(prices)
