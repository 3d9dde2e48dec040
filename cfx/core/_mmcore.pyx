# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=False
# distutils: language = c++
"""The market maker's hot path, compiled: `cfx.agents.market_maker.MarketMaker`'s
decisions with typed state and C arithmetic (what cfx.agents.compiled
puts together as `CompiledMarketMaker`).

The Python class stays the rule; this is its layout in C: the same
operations on the same values in the same order, so every command it
sends, and so every run hash, is the same (tests/test_mmcore.py runs the
two side by side). What that takes:

- floats are C doubles computed in the reference's order (no
  contraction: setup.py builds this module with ``-ffp-contract=off``);
  ints are int64, and what the reference holds as a Python int (a price,
  a position, a tick anchor, a time) converts to a double exactly as
  Python's mixed arithmetic converts it (prices and positions are far
  below 2**53; a time is converted once, rounded to nearest as Python
  rounds it);
- a value the reference may hold as None (the fair value, the last
  anchor, the side plans, what the last requote saw) is a C value and a
  flag, seen from Python as the reference's attribute (None or the value);
- where Python raises (math.floor of an infinity, math.sqrt of a
  negative, math.exp overflowing) the compiled path raises the same error;
- what is not hot (the settlement-aware value, a perpetual's funding
  carry, the batch surplus, withdrawals, the series roll) stays in the
  reference's Python methods, which it calls.

`Alarms` and `OwnOrders` are cfx.agents.common's, compiled
(cfx/core/_common.pyx, which the other compiled agents share too).
The context is called through cfx/core/_agentctx.pxd's ``ctx_*`` helpers
(the clock, quotes, the tape, positions, orders, wake-ups, the timer's
uniform draw): C calls on the compiled loop's context
(`cfx.sim._context.Context`), calls by name with the same arguments on
any other; the fields of a quote, a public trade and an order event are
read at their slots (cfx/core/_slots.pxd) when it is of that exact type.
Everything pickles (a checkpoint): Cython's generated reduce, which for
a Python subclass also carries its ``__dict__``.
"""

import math

from cpython.long cimport PyLong_AsDouble
from cpython.object cimport PyObject_RichCompareBool, Py_EQ
from libc.math cimport exp, fabs, isfinite, isinf, log1p, sqrt

from cfx.core._agentctx cimport (
    ctx_account,
    ctx_cancel,
    ctx_expected_settlement,
    ctx_now,
    ctx_position,
    ctx_quote,
    ctx_random,
    ctx_settlement,
    ctx_trades,
)
from cfx.core._common cimport Alarms, OwnOrders, py_ceil, py_floor
from cfx.core._slots cimport at, slot

from cfx.agents.base import PublicTrade, Quote
from cfx.types import OrderCancelled, OrderModified, Side, Trade

cdef object BUY = Side.BUY
cdef object SELL = Side.SELL
cdef object TRADE = Trade
cdef object CANCELLED = OrderCancelled
cdef object MODIFIED = OrderModified
cdef object T_QUOTE = Quote
cdef Py_ssize_t Q_BID = slot(Quote, "bid"), Q_BID_QTY = slot(Quote, "bid_qty"), Q_ASK = slot(Quote, "ask")
cdef Py_ssize_t Q_ASK_QTY = slot(Quote, "ask_qty"), Q_LAST = slot(Quote, "last")
cdef object T_PUBLIC = PublicTrade
cdef Py_ssize_t PT_TS = slot(PublicTrade, "ts"), PT_QTY = slot(PublicTrade, "qty")
cdef Py_ssize_t PT_AGGRESSOR = slot(PublicTrade, "aggressor")
cdef Py_ssize_t TR_SERIES = slot(Trade, "series"), TR_PRICE = slot(Trade, "price"), TR_QTY = slot(Trade, "qty")
cdef Py_ssize_t TR_MAKER = slot(Trade, "maker_account"), TR_AGGRESSOR = slot(Trade, "aggressor")
cdef Py_ssize_t CX_SERIES = slot(OrderCancelled, "series"), MD_SERIES = slot(OrderModified, "series")
cdef str TIMER = "timer"
cdef str CATCHUP = "catchup"
cdef str BATCH_ALARM = "batch:"  # cfx.agents.market_maker.BATCH_ALARM
cdef long long NEVER = -(1 << 62)  # `_Quoting.last_requote` before the first requote
cdef long long DECAY_LIMIT = 1 << 61  # the reference's news decay: none to take beyond it


cdef inline double py_sqrt(double x) except? -1.0:
    if x < 0.0:
        math.sqrt(x)  # ValueError, as the reference
    return sqrt(x)


cdef inline double py_exp(double x) except? -1.0:
    cdef double r = exp(x)
    if isinf(r) and isfinite(x):
        math.exp(x)  # OverflowError, as the reference
    return r


cdef inline bint same(object a, object b) except -1:
    """``a == b`` as a tuple compares its items (identity first)."""
    return PyObject_RichCompareBool(a, b, Py_EQ)


cdef inline object field(object o, object cls, Py_ssize_t offset, str name):
    """``o.<name>``, read at its slot when ``o`` is exactly a ``cls``."""
    return at(o, offset) if type(o) is cls else getattr(o, name)


cdef inline object series_of(object ev):
    """An order event's ``series`` (read at its slot for the events that change an order)."""
    t = type(ev)
    if t is TRADE:
        return at(ev, TR_SERIES)
    if t is CANCELLED:
        return at(ev, CX_SERIES)
    if t is MODIFIED:
        return at(ev, MD_SERIES)
    return ev.series


# ----------------------------------------------------------------------------- per-series state


cdef class Quoting:
    """`cfx.agents.market_maker._Quoting`, typed; the same attributes for Python code."""

    cdef public list bids, asks
    cdef public double var, res, news, target, flow_mean
    cdef public object prev, expected, window
    cdef public list markouts
    cdef public long long last_requote, tape_since, heard
    cdef public bint catchup, perpetual
    cdef double _fair, _anchor
    cdef bint _has_fair, _has_anchor
    cdef object _seen_q, _seen_anchor
    cdef long long _seen_pos
    cdef bint _has_seen
    cdef long long _bid_p, _bid_room, _bid_heard, _ask_p, _ask_room, _ask_heard
    cdef bint _has_bid_plan, _has_ask_plan

    def __init__(self, int levels, perpetual=False):
        self.bids = [None] * levels
        self.asks = [None] * levels
        self.var = 0.0
        self.prev = None
        self.last_requote = NEVER
        self.res = 0.0
        self._has_fair = False
        self.tape_since = 0
        self._has_anchor = False
        self.news = 0.0
        self.markouts = []
        self._has_seen = False
        self._seen_q = self._seen_anchor = None
        self.catchup = False
        self.target = 0.0
        self.expected = None
        self.flow_mean = 0.0
        self.window = None
        self.perpetual = perpetual
        self.heard = 0
        self._has_bid_plan = self._has_ask_plan = False

    def forget(self):
        self._has_bid_plan = self._has_ask_plan = False

    @property
    def fair(self):
        return self._fair if self._has_fair else None

    @fair.setter
    def fair(self, value):
        self._has_fair = value is not None
        self._fair = value if value is not None else 0.0

    @property
    def anchor(self):
        return self._anchor if self._has_anchor else None

    @anchor.setter
    def anchor(self, value):
        self._has_anchor = value is not None
        self._anchor = value if value is not None else 0.0

    @property
    def seen(self):
        return (self._seen_q, self._seen_anchor, self._seen_pos) if self._has_seen else None

    @seen.setter
    def seen(self, value):
        self._has_seen = value is not None
        if value is None:
            self._seen_q = self._seen_anchor = None
        else:
            self._seen_q, self._seen_anchor, self._seen_pos = value

    @property
    def bid_plan(self):
        return (self._bid_p, self._bid_room, self._bid_heard) if self._has_bid_plan else None

    @bid_plan.setter
    def bid_plan(self, value):
        self._has_bid_plan = value is not None
        if value is not None:
            self._bid_p, self._bid_room, self._bid_heard = value

    @property
    def ask_plan(self):
        return (self._ask_p, self._ask_room, self._ask_heard) if self._has_ask_plan else None

    @ask_plan.setter
    def ask_plan(self, value):
        self._has_ask_plan = value is not None
        if value is not None:
            self._ask_p, self._ask_room, self._ask_heard = value


# ----------------------------------------------------------------------------- the maker


cdef class MakerCore:
    """The hooks that run per message (`on_wakeup`, `on_market_data`,
    `on_order_event`) and what they call (`_requote`, its sides, the
    timer, the mark-out), over typed fields. A base of
    `CompiledMarketMaker` (with `MarketMaker` after it: its ``__init__``
    fills the fields the reference has, `load` the typed copy of the spec,
    and its other methods run as they are)."""

    cdef public OwnOrders own
    cdef public dict quoting
    cdef public Alarms alarms
    cdef public bint withdrawn, _pending_withdraw, _index_seen
    cdef public long long timer_wakeups, _markout_ns, _batch_ns
    cdef public double spread_ticks, adverse_ticks
    cdef public double _alpha, _anchor_k, _perp_anchor_k, _news_k, _flow_keep, _flow_per_lot
    # the spec, typed (`load`)
    cdef long long quote_lots, level_spacing, max_position, requote_interval_ns, min_requote_ns
    cdef double half_spread_ticks, max_half_spread_ticks, min_edge_ticks, vol_mult, news_mult
    cdef double index_weight, perpetual_index_weight, flow_discount, skew_ticks_per_lot, funding_intervals
    cdef bint flow_memory, settlement_aware

    def load(self, spec):
        """Copy the spec's numbers the hot path reads into typed fields."""
        self.quote_lots = spec.quote_lots
        self.level_spacing = spec.level_spacing_ticks
        self.max_position = spec.max_position
        self.requote_interval_ns = spec.requote_interval_ns
        self.min_requote_ns = spec.min_requote_ns
        self.half_spread_ticks = spec.half_spread_ticks
        self.max_half_spread_ticks = spec.max_half_spread_ticks
        self.min_edge_ticks = spec.min_edge_ticks
        self.vol_mult = spec.vol_mult
        self.news_mult = spec.news_mult
        self.index_weight = spec.index_weight
        self.perpetual_index_weight = spec.perpetual_index_weight
        self.flow_discount = spec.flow_discount
        self.skew_ticks_per_lot = spec.skew_ticks_per_lot
        self.funding_intervals = spec.funding_intervals
        self.flow_memory = bool(spec.flow_memory)
        self.settlement_aware = spec.settlement_aware

    # ------------------------------------------------------------------ hooks

    def on_wakeup(self, ctx):
        cdef list fired = self.alarms.due_c(ctx)
        cdef Quoting st
        if self._pending_withdraw:
            self._cancel_everything(ctx)
        if self._batch_ns:
            surplus = [f for f in fired if f.startswith(BATCH_ALARM)]
            if surplus:
                for name in surplus:
                    self._offer_against_surplus(ctx, name[len(BATCH_ALARM) :])
                if len(surplus) == len(fired):
                    return
                fired = [f for f in fired if not f.startswith(BATCH_ALARM)]
        cdef bint timer = TIMER in fired
        if timer:
            self.timer_wakeups += 1
            self.schedule_c(ctx)
        if timer or CATCHUP not in fired:
            self.requote_all_c(ctx)
        elif not self.withdrawn:  # only the series whose update was throttled
            for s, q in self.quoting.items():
                st = q
                if st.catchup:
                    self.requote_c(ctx, s, st)

    def on_market_data(self, ctx, series):
        cdef Quoting st
        cdef long long now, wait
        if self.withdrawn:
            if self._pending_withdraw:
                self._cancel_everything(ctx)
            return
        q = self.quoting.get(series)
        if q is None:
            return
        st = q
        if self._batch_ns:
            self._arm_for_surplus(ctx, series, st)
        now = ctx_now(ctx)
        wait = st.last_requote + self.min_requote_ns - now
        if wait <= 0:
            self.requote_c(ctx, series, st)
        else:
            st.catchup = True
            if not self.alarms.pending_c(CATCHUP):
                self.alarms.arm_c(ctx, CATCHUP, now + wait)

    def on_order_event(self, ctx, event):
        cdef OwnOrders own = self.own
        cdef long long changes = own.changes
        cdef Quoting st
        cdef double sign
        own.on_event_c(event)
        if own.changes != changes:  # one of its orders changed: its series' sides are looked at again
            q = self.quoting.get(series_of(event))
            if q is not None:
                st = q
                st.heard += 1
            else:  # (a reject need not name its series)
                for q in self.quoting.values():
                    st = q
                    st.heard += 1
        if type(event) is TRADE and at(event, TR_MAKER) == ctx_account(ctx):
            q = self.quoting.get(at(event, TR_SERIES))
            if q is not None:
                st = q
                if st._has_fair:
                    sign = 1.0 if at(event, TR_AGGRESSOR) is SELL else -1.0
                    qty = at(event, TR_QTY)
                    self.spread_ticks += sign * (st._fair - <double>at(event, TR_PRICE)) * <double>qty
                    st.markouts.append((ctx_now(ctx) + self._markout_ns, sign, qty, st._fair))

    # ------------------------------------------------------------------ what the reference's other methods call

    def _schedule(self, ctx):
        self.schedule_c(ctx)

    def _requote_all(self, ctx):
        self.requote_all_c(ctx)

    def _requote(self, ctx, series, Quoting st):
        self.requote_c(ctx, series, st)

    def _mark_out(self, Quoting st, long long now, fair):
        if fair is not None:
            self.mark_out_c(st, now, fair)

    # ------------------------------------------------------------------ the compiled path

    cdef int schedule_c(self, ctx) except -1:
        cdef double u = ctx_random(ctx)
        cdef long long delay = <long long>(-log1p(-u) * <double>self.requote_interval_ns) + 1  # `exp_delay`
        self.alarms.arm_c(ctx, TIMER, <long long>ctx_now(ctx) + delay)
        return 0

    cdef int requote_all_c(self, ctx) except -1:
        cdef Quoting st
        if self.withdrawn:
            return 0
        for s, q in self.quoting.items():
            st = q
            self.requote_c(ctx, s, st)
        return 0

    cdef int mark_out_c(self, Quoting st, long long now, double fair) except -1:
        cdef list keep = []
        for m in st.markouts:
            if <long long>m[0] <= now:
                self.adverse_ticks += <double>m[1] * (fair - <double>m[3]) * <double>m[2]
            else:
                keep.append(m)
        st.markouts = keep
        return 0

    cdef int requote_c(self, ctx, series, Quoting st) except -1:  # `MarketMaker._requote`, step by step
        cdef long long now = ctx_now(ctx)
        cdef long long pos, dt, bid = 0, ask = 0, mine, b0, a0, room_buy, room_sell, step, heard, x
        cdef bint has_bid, has_ask, has_market, has_prev, up, exact
        cdef double market = 0.0, target, a = 0.0, news, fair, prev, var, d, res, h, edge, w, k
        cdef double surprise, expect, keep, discount
        cdef dict orders
        cdef list o
        st.catchup = False
        q = ctx_quote(ctx, series)
        anchor = st.expected
        if anchor is None:
            anchor = ctx_expected_settlement(ctx, series)
            if self._index_seen:
                st.expected = anchor
        pos_obj = ctx_position(ctx, series)
        pos = pos_obj
        if (
            st._has_seen
            and same(q, st._seen_q)
            and same(anchor, st._seen_anchor)
            and pos == st._seen_pos
            and st.news < 0.05
            and st._has_fair
            and fabs(st.target - st._fair) < 0.05
            and not (self.settlement_aware and self._in_final_window(ctx, series))
        ):
            return 0  # nothing it looks at changed and its fair value has settled: the quotes stand
        st._seen_q = q
        st._seen_anchor = anchor
        st._seen_pos = pos
        st._has_seen = True
        dt = now - st.last_requote
        st.last_requote = now
        # the other participants' best prices (ours alone at the touch: unknown)
        orders = self.own.orders
        exact = type(q) is T_QUOTE  # (its fields read at their slots)
        qbid = at(q, Q_BID) if exact else q.bid
        has_bid = qbid is not None
        if has_bid:
            bid = qbid
            mine = 0
            for oid in st.bids:
                o = orders.get(oid)
                if o is not None and <long long>o[2] == bid:
                    mine += <long long>o[3]
            if <long long>(at(q, Q_BID_QTY) if exact else q.bid_qty) <= mine:
                has_bid = False
        qask = at(q, Q_ASK) if exact else q.ask
        has_ask = qask is not None
        if has_ask:
            ask = qask
            mine = 0
            for oid in st.asks:
                o = orders.get(oid)
                if o is not None and <long long>o[2] == ask:
                    mine += <long long>o[3]
            if <long long>(at(q, Q_ASK_QTY) if exact else q.ask_qty) <= mine:
                has_ask = False
        if has_bid and has_ask:
            market = <double>(bid + ask) / 2.0
            has_market = True
        else:
            last = at(q, Q_LAST) if exact else q.last
            has_market = last is not None
            if has_market:
                market = <double><long long>last
        if anchor is None:
            anchor = ctx.index_ticks(series)
            if anchor is None:
                anchor = ctx_settlement(ctx, series)
        if anchor is not None:
            a = PyLong_AsDouble(anchor) if type(anchor) is int else anchor  # (int's float(), without the float)
        if anchor is None:
            if not has_market:
                return 0
            target = market
        elif not has_market:
            target = a
        else:
            w = self.perpetual_index_weight if st.perpetual else self.index_weight
            target = w * a + (1.0 - w) * market
        # news: a jump of the index anchor widens the quotes for a while
        news = st.news
        if news != 0.0:
            news *= py_exp(-self._news_k * <double>dt) if dt < DECAY_LIMIT else 0.0
        if anchor is not None:
            if st._has_anchor:
                d = fabs(a - st._anchor)
                if d > news:
                    news = d
            st._anchor = a
            st._has_anchor = True
        st.news = news
        has_prev = st._has_fair
        fair = prev = st._fair
        final = (
            self._final_day_value(ctx, series, st, fair if has_prev else target, anchor)
            if self.settlement_aware
            else None
        )
        if final is not None:  # the final settlement's value, which flow does not move
            for t in ctx_trades(ctx, series, st.tape_since):
                st.tape_since = <long long>t.ts + 1
            fair = target = final
        elif not has_prev:
            fair = target
            st.tape_since = now
        else:
            trades = ctx_trades(ctx, series, st.tape_since)
            if trades:
                surprise = 0.0
                expect = st.flow_mean
                keep = self._flow_keep
                discount = self.flow_discount if self.flow_memory else 0.0
                for t in trades:
                    x = field(t, T_PUBLIC, PT_QTY, "qty")
                    if field(t, T_PUBLIC, PT_AGGRESSOR, "aggressor") is not BUY:
                        x = -x
                    surprise += <double>x - discount * expect
                    expect = keep * expect + (1.0 - keep) * <double>x
                st.tape_since = <long long>field(trades[len(trades) - 1], T_PUBLIC, PT_TS, "ts") + 1  # (no wraparound)
                st.flow_mean = expect
                fair += self._flow_per_lot * surprise
            else:
                fair += 0.0  # (a -0.0 made 0.0, as the reference)
            k = (self._perp_anchor_k if st.perpetual else self._anchor_k) * <double>dt
            if k < 50.0:
                fair += (1.0 - py_exp(-k)) * (target - fair)
            else:
                fair += target - fair
        st.target = target
        var = st.var
        if has_prev:
            d = fair - prev
            var += self._alpha * (d * d - var)
            st.var = var
        st._fair = fair
        st._has_fair = True
        markouts = st.markouts
        if markouts and <long long>markouts[0][0] <= now:  # fills are marked out in time order
            self.mark_out_c(st, now, fair)
        res = fair - self.skew_ticks_per_lot * <double>pos
        if st.perpetual and self.funding_intervals != 0.0:
            res -= <double>self._funding_carry(ctx, series, fair)
        h = self.half_spread_ticks + self.vol_mult * py_sqrt(var) + self.news_mult * news
        if h > self.max_half_spread_ticks:
            h = self.max_half_spread_ticks
        b0 = py_floor(res - h + 0.5)
        a0 = py_ceil(res + h - 0.5)
        if a0 <= b0:
            if res - <double>b0 >= 0.5:
                a0 = b0 + 1
            else:
                b0 = a0 - 1
        # join the others' touch when behind it and the edge allows
        edge = self.min_edge_ticks
        if has_bid and b0 < bid and <double>bid <= res - edge:
            b0 = bid
        if has_ask and a0 > ask and <double>ask >= res + edge:
            a0 = ask
        # never cross the book as seen (ours included)
        if qask is not None and b0 >= <long long>qask:
            b0 = <long long>qask - 1
        if qbid is not None and a0 <= <long long>qbid:
            a0 = <long long>qbid + 1
        up = res > st.res
        st.res = res
        room_buy = self.max_position - pos
        room_sell = self.max_position + pos
        step = self.level_spacing
        heard = st.heard
        if up:  # move the asks out of the way first (no self-cross in flight)
            if not (st._has_ask_plan and st._ask_p == a0 and st._ask_room == room_sell and st._ask_heard == heard):
                self.side_c(ctx, series, st.asks, SELL, a0, step, room_sell)
                st._ask_p, st._ask_room, st._ask_heard, st._has_ask_plan = a0, room_sell, heard, True
            if not (st._has_bid_plan and st._bid_p == b0 and st._bid_room == room_buy and st._bid_heard == heard):
                self.side_c(ctx, series, st.bids, BUY, b0, -step, room_buy)
                st._bid_p, st._bid_room, st._bid_heard, st._has_bid_plan = b0, room_buy, heard, True
        else:
            if not (st._has_bid_plan and st._bid_p == b0 and st._bid_room == room_buy and st._bid_heard == heard):
                self.side_c(ctx, series, st.bids, BUY, b0, -step, room_buy)
                st._bid_p, st._bid_room, st._bid_heard, st._has_bid_plan = b0, room_buy, heard, True
            if not (st._has_ask_plan and st._ask_p == a0 and st._ask_room == room_sell and st._ask_heard == heard):
                self.side_c(ctx, series, st.asks, SELL, a0, step, room_sell)
                st._ask_p, st._ask_room, st._ask_heard, st._has_ask_plan = a0, room_sell, heard, True
        return 0

    cdef int side_c(self, ctx, series, list ids, side, long long p0, long long step, long long room) except -1:
        """`MarketMaker._side`: one side's levels to p0, p0 + step, ...; only what differs is sent."""
        cdef OwnOrders own = self.own
        cdef dict orders = own.orders
        cdef long long lots = self.quote_lots, price, qty, op = 0, oq = 0
        cdef Py_ssize_t i, n = len(ids)
        cdef list o
        for i in range(n):
            oid = ids[i]
            price = p0 + i * step
            qty = lots if room >= lots else room
            room -= qty
            o = orders.get(oid)  # (None for an empty level)
            if o is not None:
                op = o[2]
                oq = o[3]
                if op == price and oq <= qty <= 2 * oq and price > 0 < qty:
                    continue  # the usual case: the level stands as it is
            if qty <= 0 or price <= 0:
                if o is not None:
                    ctx_cancel(ctx, oid)
                ids[i] = None
            elif o is None:
                ids[i] = own.submit_c(ctx, series, side, qty, price)
            elif op != price:
                if not (i and (op - price if op >= price else price - op) <= 1 and oq <= qty and (op - p0) * step > 0):
                    own.modify_c(ctx, oid, price, qty)  # (a deeper level one tick off keeps its place in the queue)
            else:  # cut to the room left, or topped up once half gone
                own.modify_c(ctx, oid, price, qty)
        return 0
