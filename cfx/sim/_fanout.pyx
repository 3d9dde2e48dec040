# cython: language_level=3
# distutils: language = c++
"""The compiled fan-out of one command's events: what
`cfx.sim.loop.Simulation._route` (with `_count_trade` and `_publish`)
does, the readable reference, in the same order and with the same latency
draws, so the same run (tests/test_fanout.py holds the two to that).

The state stays where the reference keeps it: the simulation's dicts and
tapes, the participants' slots. What is compiled is the walk: an event's
kind by its exact type, its fields and a participant's or a tape's
attributes read at their slots (cfx/core/_slots.pxd: what CPython's own
specialised attribute read does, the offset taken from the class's member
descriptor; any other class is read by name), the tape updates of `BookTape.change`,
`TradeTape.record` and `QuoteTape.record` written out in place (a tape of
another class is called), the top of a compiled book read at its C
interface (cfx/core/_orderbook.pxd; another book by its methods) and
compared field by field with the last one recorded before a `Quote` is
built, a latency's jitter popped
off `Participant._jitter` (`Participant.delay` is called only to draw the
next block), the simulation's clock, counters and day attributes read and
written in its __dict__ (`attr`, `put_attr`: `READ`), and the items pushed
straight onto the compiled schedule (`cfx.core._schedule.Schedule.put`). `Fanout.deliver` is
`Simulation._deliver` (with `Participant.on_fill`). `Fanout.run_until`
is the loop that takes the items, `Simulation._run_until`: each taken
off the compiled schedule from C (`Schedule.take`), its kind by identity,
a wake-up's or a market-data callback's participant read and written at
its slots (`at`, `put`) and its context's clock set at its slot (the
compiled context's, `cfx.sim._context.Context`, in its field), a
delivery handed to `deliver` without a Python call. `Fanout.wake` is
`Simulation.wake`, which the agents' `wake_after` calls. Python objects
throughout, so ints are the reference's ints; only the schedule's times
are int64, as the compiled schedule's are.
"""


from cpython.method cimport PyMethod_Check, PyMethod_GET_FUNCTION, PyMethod_GET_SELF
from cpython.object cimport PyObject
from cpython.set cimport PySet_Add, PySet_Contains, PySet_Discard
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from libc.stdint cimport int64_t

from cfx.core._orderbook cimport CompiledOrderBook
from cfx.core._schedule cimport Schedule
from cfx.sim._context cimport Context, Waker, attr, plain_attrs, put_attr, sim_now
from cfx.core._slots cimport at, put, slot

from cfx.agents.base import PublicTrade, Quote
from cfx.sim.loop import ARRIVE, DELIVER, MARKET_DATA, WAKE, Simulation
from cfx.sim.participant import AgentContext, Participant
from cfx.sim.tape import LOG_KEEP, LOG_MAX, NO_QUOTE, BookTape, QuoteTape, TradeTape
from cfx.types import (
    IndicativeUncross,
    LevelChanged,
    OrderAccepted,
    OrderCancelled,
    OrderModified,
    OrderRejected,
    OrderRested,
    OrderTriggered,
    Side,
    Trade,
)

cdef extern from *:
    """
    static inline int cfx_add_overflows(int64_t a, int64_t b, int64_t* out) {
        return __builtin_add_overflow(a, b, out);
    }
    """
    int cfx_add_overflows(int64_t a, int64_t b, int64_t* out)


cdef object T_LEVEL = LevelChanged
cdef object T_RESTED = OrderRested
cdef object T_ACCEPTED = OrderAccepted
cdef object T_REJECTED = OrderRejected
cdef object T_CANCELLED = OrderCancelled
cdef object T_MODIFIED = OrderModified
cdef object T_TRIGGERED = OrderTriggered
cdef object T_TRADE = Trade
cdef object T_INDICATIVE = IndicativeUncross
cdef object T_PARTICIPANT = Participant
cdef object T_CONTEXT = AgentContext
cdef object T_BOOK_TAPE = BookTape
cdef object T_QUOTE_TAPE = QuoteTape
cdef object T_TRADE_TAPE = TradeTape
cdef object T_QUOTE = Quote
cdef object T_BOOK = CompiledOrderBook
cdef object BUY = Side.BUY
cdef object SELL = Side.SELL
cdef object DELIVER_KIND = DELIVER
cdef object MARKET_DATA_KIND = MARKET_DATA
cdef object WAKE_KIND = WAKE
cdef object ARRIVE_KIND = ARRIVE
cdef object RUN_UNTIL = Simulation._run_until  # the reference, for a simulation on the Python schedule
cdef object OBJECT_SETATTR = object.__setattr__
cdef tuple READ = (  # the simulation's attributes read (and the counters written) at their entries
    "now", "_wake_window", "_deliver", "trade_count", "liquidation_fills", "window", "_window_trades", "otc", "venue"
)
cdef Py_ssize_t KEEP = LOG_KEEP
cdef Py_ssize_t MAX = LOG_MAX

cdef Py_ssize_t LV_SERIES = slot(LevelChanged, "series"), LV_TS = slot(LevelChanged, "ts")
cdef Py_ssize_t LV_SIDE = slot(LevelChanged, "side"), LV_PRICE = slot(LevelChanged, "price")
cdef Py_ssize_t LV_QTY = slot(LevelChanged, "qty")
cdef Py_ssize_t TR_SERIES = slot(Trade, "series"), TR_TS = slot(Trade, "ts"), TR_PRICE = slot(Trade, "price")
cdef Py_ssize_t TR_QTY = slot(Trade, "qty"), TR_TAKER_ID = slot(Trade, "taker_id")
cdef Py_ssize_t TR_MAKER = slot(Trade, "maker_account"), TR_TAKER = slot(Trade, "taker_account")
cdef Py_ssize_t TR_AGGRESSOR = slot(Trade, "aggressor")
cdef Py_ssize_t P_MD_NS = slot(Participant, "md_ns"), P_JITTER = slot(Participant, "_jitter")
cdef Py_ssize_t P_ACTIVE = slot(Participant, "active"), P_PENDING = slot(Participant, "pending_md")
cdef Py_ssize_t P_TRIGGERS = slot(Participant, "triggers"), P_ACCOUNT = slot(Participant, "account")
cdef Py_ssize_t P_POSITIONS = slot(Participant, "positions"), P_AGENT = slot(Participant, "agent")
cdef Py_ssize_t P_CTX = slot(Participant, "ctx"), P_QUEUED = slot(Participant, "queued")
cdef Py_ssize_t P_WAKE_AT = slot(Participant, "wake_at")
cdef Py_ssize_t CTX_NOW = slot(AgentContext, "now")
cdef Py_ssize_t BT_BIDS = slot(BookTape, "bids"), BT_ASKS = slot(BookTape, "asks")
cdef Py_ssize_t BT_LOG = slot(BookTape, "log"), BT_LOG_TS = slot(BookTape, "log_ts")
cdef Py_ssize_t QT_TIMES = slot(QuoteTape, "times"), QT_QUOTES = slot(QuoteTape, "quotes")
cdef Py_ssize_t TT_TIMES = slot(TradeTape, "times"), TT_TRADES = slot(TradeTape, "trades")
cdef Py_ssize_t TT_COUNT = slot(TradeTape, "count")
cdef Py_ssize_t Q_BID = slot(Quote, "bid"), Q_BID_QTY = slot(Quote, "bid_qty"), Q_ASK = slot(Quote, "ask")
cdef Py_ssize_t Q_ASK_QTY = slot(Quote, "ask_qty"), Q_LAST = slot(Quote, "last")
cdef Py_ssize_t[5] OWN_ACCOUNT  # OrderAccepted, OrderCancelled, OrderModified, OrderRejected, OrderTriggered
cdef Py_ssize_t[5] OWN_SERIES
for _i, _t in enumerate((OrderAccepted, OrderCancelled, OrderModified, OrderRejected, OrderTriggered)):
    OWN_ACCOUNT[_i] = slot(_t, "account")
    OWN_SERIES[_i] = slot(_t, "series")


cdef enum:
    K_OTHER, K_WAKE, K_MARKET_DATA, K_DELIVER, K_ARRIVE


cdef inline int kind_of(object kind) except -1:
    """An item's kind as the loop dispatches it, in the reference's order of
    comparisons (`K_OTHER`: `Simulation._dispatch`'s); the kinds are small
    ints, one object each, so the first tests are by identity."""
    if kind is WAKE_KIND:
        return K_WAKE
    if kind is MARKET_DATA_KIND:
        return K_MARKET_DATA
    if kind is DELIVER_KIND:
        return K_DELIVER
    if kind is ARRIVE_KIND:
        return K_ARRIVE
    if kind == WAKE_KIND:
        return K_WAKE
    if kind == MARKET_DATA_KIND:
        return K_MARKET_DATA
    if kind == DELIVER_KIND:
        return K_DELIVER
    if kind == ARRIVE_KIND:
        return K_ARRIVE
    return K_OTHER


cdef inline int own_kind(object t):
    """The index of an own order event's type (`OWN_ACCOUNT`), -1 for any other."""
    if t is T_ACCEPTED:
        return 0
    if t is T_CANCELLED:
        return 1
    if t is T_MODIFIED:
        return 2
    if t is T_REJECTED:
        return 3
    if t is T_TRIGGERED:
        return 4
    return -1


# ---------------------------------------------------------------------------- the fan-out


cdef class Fanout(Waker):
    """`Simulation._route`, `_deliver`, `_run_until` and `wake` compiled,
    bound to one simulation: its `send` calls `route`, its loop
    (`run_until`) is this one's and calls `deliver`, its agents' contexts
    call `wake` (the reference methods say what they do). It holds the simulation's containers that live as long
    as it does; what a day replaces (the settlement window and its trades)
    and the counters it reads off the simulation each time. Made, it
    attaches its simulation's compiled contexts (`Context.attach`)."""

    cdef object sim
    cdef object engine
    cdef object schedule  # the simulation's, compiled (`fast`) or not
    cdef Schedule fast
    cdef dict by_account, books, tapes, trade_tapes, indicatives, rejects
    cdef dict volume, volume_by_account, last_trade, printed
    cdef dict venue_books  # series -> the engine's book: made once, at its listing (`Engine.list_series`), and kept
    cdef bint plain  # the simulation's `READ` read (and its counters written) in its __dict__ (`plain_attrs`)
    cdef set indicated
    cdef list subscribers

    def __init__(self, sim):
        self.sim = sim
        self.engine = sim.venue.engine
        self.schedule = sim.schedule
        self.fast = sim.schedule if type(sim.schedule) is Schedule else None
        self.by_account = sim.by_account
        self.books = sim.books
        self.tapes = sim.tapes
        self.trade_tapes = sim.trade_tapes
        self.indicatives = sim.indicatives
        self.rejects = sim.rejects
        self.volume = sim.volume
        self.volume_by_account = sim.volume_by_account
        self.last_trade = sim.last_trade
        self.printed = sim._printed
        self.venue_books = {}
        self.indicated = sim._indicated
        self.subscribers = sim.subscribers
        self.plain = plain_attrs(sim, READ)
        for p in getattr(sim, "participants", ()):  # its compiled contexts keep what they read (`Context.attach`)
            ctx = getattr(p, "ctx", None)
            if isinstance(ctx, Context) and (<Context>ctx).sim is sim:
                (<Context>ctx).attach()

    def route(self, list events):
        """`Simulation._route`: own events to their agents after their
        latency, levels and trades to the tapes, each series touched published."""
        cdef object sim = self.sim
        cdef object now = attr(self.plain, sim, "now")
        cdef int64_t now_ns = now
        cdef list owners = []  # participants in the order first concerned ...
        cdef list batches = []  # ... and their events
        cdef list touched = []  # series in the order first touched
        cdef Py_ssize_t i
        cdef int k
        cdef object e, t, p, series, book, tape, maker, taker, reason
        for e in events:
            t = type(e)
            if t is T_LEVEL:
                book = self.books.get(at(e, LV_SERIES))
                if book is not None:
                    if type(book) is T_BOOK_TAPE:
                        book_change(book, at(e, LV_TS), at(e, LV_SIDE), at(e, LV_PRICE), at(e, LV_QTY))
                    else:
                        book.change(e.ts, e.side, e.price, e.qty)
                continue
            if t is T_RESTED:
                continue
            k = own_kind(t)
            if k >= 0:
                if k == 3:  # OrderRejected
                    reason = e.reason.value
                    self.rejects[reason] = self.rejects.get(reason, 0) + 1
                p = self.by_account.get(at(e, OWN_ACCOUNT[k]))
                if p is not None:
                    add_to_batch(owners, batches, p, e)
                series = at(e, OWN_SERIES[k])
                if series is not None and series not in touched:
                    touched.append(series)
            elif t is T_TRADE:
                series = at(e, TR_SERIES)
                if series not in touched:
                    touched.append(series)
                self.count_trade(e, series)
                maker, taker = at(e, TR_MAKER), at(e, TR_TAKER)
                p = self.by_account.get(maker)
                if p is not None:
                    add_to_batch(owners, batches, p, e)
                if taker != maker:
                    p = self.by_account.get(taker)
                    if p is not None:
                        add_to_batch(owners, batches, p, e)
            elif t is T_INDICATIVE:
                tape = self.indicatives.get(e.series)
                if tape is not None:
                    tape.record(e.ts, e.price, e.volume, e.imbalance, e.imbalance_side)
                if sim._indicative_watchers:
                    self.indicated.add(e.series)
                    if e.series not in touched:
                        touched.append(e.series)
            else:
                sim._note(e)
        for i in range(len(owners)):
            p = owners[i]
            self.push(later(now_ns, delay(p)), DELIVER_KIND, p, batches[i])
        for series in touched:
            self.publish(series, now, now_ns)

    def run_until(self, end):
        """`Simulation._run_until`: every item due before ``end`` taken off
        the compiled schedule (`Schedule.take`) and dispatched as the
        reference does, its stats counted in when the loop returns.
        Wake-ups and market data are dispatched here, a participant's
        slots read and written in place (`at`, `put`: exact types only,
        any other class by name), the context's clock set at its slot;
        a delivery is `deliver` when the simulation's `_deliver` is this
        fan-out's (else whatever it is), an arrival the simulation's
        `send` as bound when the loop starts; any other item goes to
        `Simulation._dispatch`. On the Python schedule: the reference."""
        cdef object sim = self.sim
        cdef Schedule fast = self.fast
        if fast is None:
            return RUN_UNTIL(sim, end)
        cdef int64_t before = end
        cdef object send = sim.send
        cdef Py_ssize_t arrivals = 0, wakeups = 0
        cdef int k
        cdef object item, ts, kind, a, b, ctx, w, deliver
        cdef dict state = None  # the simulation's __dict__, when `sim.now = ts` is a plain store in it
        if type(sim).__setattr__ is OBJECT_SETATTR and getattr(type(sim), "now", None) is None:
            state = getattr(sim, "__dict__", None)
            if type(state) is not dict:
                state = None
        while True:
            item = fast.take(before)
            if item is None:
                break
            if PyTuple_GET_SIZE(item) != 4:
                raise ValueError(f"a schedule item of {PyTuple_GET_SIZE(item)} values, not (ts, kind, a, b)")
            ts = <object>PyTuple_GET_ITEM(item, 0)
            kind = <object>PyTuple_GET_ITEM(item, 1)
            a = <object>PyTuple_GET_ITEM(item, 2)
            b = <object>PyTuple_GET_ITEM(item, 3)
            if state is not None:
                state["now"] = ts
            else:
                sim.now = ts
            k = kind_of(kind)
            if k == K_WAKE:
                if type(a) is T_PARTICIPANT:
                    discard(at(a, P_QUEUED), ts)
                    w = at(a, P_WAKE_AT)
                    if w is not ts and ts != w:
                        continue  # superseded by an earlier wake-up
                    put(a, P_WAKE_AT, None)
                    if truthy(at(a, P_ACTIVE)):
                        wakeups += 1
                        ctx = at(a, P_CTX)
                        set_clock(ctx, ts)
                        at(a, P_AGENT).on_wakeup(ctx)
                else:
                    a.queued.discard(ts)
                    if ts != a.wake_at:
                        continue
                    a.wake_at = None
                    if a.active:
                        wakeups += 1
                        ctx = a.ctx
                        ctx.now = ts
                        a.agent.on_wakeup(ctx)
            elif k == K_MARKET_DATA:
                if type(a) is T_PARTICIPANT:
                    discard(at(a, P_PENDING), b)
                    if truthy(at(a, P_ACTIVE)):
                        ctx = at(a, P_CTX)
                        set_clock(ctx, ts)
                        at(a, P_AGENT).on_market_data(ctx, b)
                else:
                    a.pending_md.discard(b)
                    if a.active:
                        ctx = a.ctx
                        ctx.now = ts
                        a.agent.on_market_data(ctx, b)
            elif k == K_DELIVER:
                deliver = attr(self.plain, sim, "_deliver")
                if (
                    PyMethod_Check(deliver)
                    and PyMethod_GET_SELF(deliver) is <PyObject*>self
                    and PyMethod_GET_FUNCTION(deliver) is <PyObject*>DELIVER_METHOD
                ):
                    self.deliver_to(a, b)
                else:
                    deliver(a, b)
            elif k == K_ARRIVE:
                arrivals += 1
                send(a)
            else:
                sim._dispatch(ts, kind, a, b)
        stats = sim.stats
        stats["engine_messages"] += arrivals
        stats["wakeups"] += wakeups

    cdef int wake_c(self, object p, object when) except -1:
        """`Simulation.wake`: ``p``'s one wake-up now at ``when``, an item
        pushed unless one queued for that time within the day serves (its
        ``wake``, `Waker.wake`, calls this; so does a compiled context)."""
        cdef bint typed = type(p) is T_PARTICIPANT
        if typed:
            put(p, P_WAKE_AT, when)
        else:
            p.wake_at = when
        lo, hi = attr(self.plain, self.sim, "_wake_window")
        if lo <= when < hi:
            queued = at(p, P_QUEUED) if typed else p.queued
            if type(queued) is set:
                if PySet_Contains(queued, when):
                    return 0
                PySet_Add(queued, when)
            else:
                if when in queued:
                    return 0
                queued.add(when)
        if self.fast is not None:  # (`push`, the item holding ``when`` itself)
            return self.fast.put(when, (when, WAKE_KIND, p, None))
        self.schedule.push(when, WAKE_KIND, p, None)
        return 0

    def deliver(self, p, list events):
        """`Simulation._deliver`: ``p``'s own order events, its fills first moving its position."""
        self.deliver_to(p, events)

    cdef int deliver_to(self, object p, list events) except -1:
        """`deliver`, from C (the loop's deliveries)."""
        cdef bint typed = type(p) is T_PARTICIPANT
        hook = (at(p, P_AGENT) if typed else p.agent).on_order_event
        if typed:  # `Participant.context`, written out
            ctx = at(p, P_CTX)
            if type(ctx) is Context:
                (<Context>ctx).now = sim_now(<Context>ctx)
            else:
                ctx.now = ctx.sim.now
        else:
            ctx = p.context()
        for e in events:
            if type(e) is T_TRADE:
                if typed:
                    on_fill(p, e)
                else:
                    p.on_fill(e)
            hook(ctx, e)
        return 0

    cdef count_trade(self, object e, object series):
        """`Simulation._count_trade`."""
        cdef object sim = self.sim
        cdef object qty = at(e, TR_QTY)
        cdef object ts = at(e, TR_TS)
        cdef object price = at(e, TR_PRICE)
        cdef object maker = at(e, TR_MAKER)
        cdef object taker = at(e, TR_TAKER)
        tape = self.trade_tapes.get(series)
        if tape is not None:
            if type(tape) is T_TRADE_TAPE:
                (<list>at(tape, TT_TIMES)).append(ts)
                (<list>at(tape, TT_TRADES)).append(PublicTrade(ts, price, qty, at(e, TR_AGGRESSOR)))
                tape.count = at(tape, TT_COUNT) + 1
            else:
                tape.record(ts, price, qty, e.aggressor)
        self.volume[series] = self.volume.get(series, 0) + qty
        by_acct = self.volume_by_account
        by_acct[maker] = by_acct.get(maker, 0) + qty
        by_acct[taker] = by_acct.get(taker, 0) + qty
        cdef bint plain = self.plain
        put_attr(plain, sim, "trade_count", attr(plain, sim, "trade_count") + 1)
        self.last_trade[series] = ts
        if at(e, TR_TAKER_ID) >= attr(plain, sim, "venue").clearing.config.liquidation_order_id_base:
            put_attr(plain, sim, "liquidation_fills", attr(plain, sim, "liquidation_fills") + qty)
        otc = attr(plain, sim, "otc")
        hedgers = otc.hedgers
        if maker in hedgers or taker in hedgers:
            otc.hedge_fill(e)
        window = attr(plain, sim, "window")
        if window[0] <= ts < window[1]:
            w = attr(plain, sim, "_window_trades").setdefault(series, [0, 0])
            w[0] += price * qty
            w[1] += qty

    cdef publish(self, object series, object now, int64_t now_ns):
        """`Simulation._publish`: the top of book on the series' tape, then
        the market-data callbacks it calls for."""
        cdef object tape = self.tapes.get(series)
        cdef object quotes, times, before, quote, trades, trigger, triggers, pending, p
        cdef bint changed, printed, indicated, typed
        cdef Py_ssize_t n
        if tape is None:
            return
        book = self.venue_books.get(series)
        if book is None:
            book = self.venue_books[series] = self.engine.book(series)
        if type(book) is T_BOOK:  # the compiled book's top at its C interface (cfx/core/_orderbook.pxd): no method calls
            bid = (<CompiledOrderBook>book).best_bid_c()
            ask = (<CompiledOrderBook>book).best_ask_c()
            bid_qty = (<CompiledOrderBook>book).best_qty_c(True)
            ask_qty = (<CompiledOrderBook>book).best_qty_c(False)
            last = (<CompiledOrderBook>book).last_price
        else:
            bid = book.best_bid()
            ask = book.best_ask()
            bid_qty = book.level_qty(BUY, bid) if bid is not None else 0
            ask_qty = book.level_qty(SELL, ask) if ask is not None else 0
            last = book.last_price
        if type(tape) is T_QUOTE_TAPE:  # `QuoteTape.latest` and `record`, written out
            quotes = at(tape, QT_QUOTES)
            n = len(quotes)
            before = quotes[n - 1] if n else NO_QUOTE
            if (
                n
                and type(before) is T_QUOTE
                and at(before, Q_BID) == bid
                and at(before, Q_BID_QTY) == bid_qty
                and at(before, Q_ASK) == ask
                and at(before, Q_ASK_QTY) == ask_qty
                and at(before, Q_LAST) == last
            ):
                changed = False
                quote = before  # the same values as the one the reference builds
            else:
                quote = Quote(bid, bid_qty, ask, ask_qty, last)
                changed = True
                times = at(tape, QT_TIMES)
                if n and before == quote:  # (a quote of another type on the tape)
                    changed = False
                elif times and times[len(times) - 1] == now:
                    quotes[n - 1] = quote
                else:
                    times.append(now)
                    quotes.append(quote)
        else:
            quote = Quote(bid, bid_qty, ask, ask_qty, last)
            before = tape.latest()
            changed = tape.record(now, quote)
        trades = self.trade_tapes.get(series)
        if trades is None:
            count = 0
        elif type(trades) is T_TRADE_TAPE:
            count = at(trades, TT_COUNT)
        else:
            count = trades.count
        printed = count != self.printed.get(series, 0)
        if printed:
            self.printed[series] = count
        indicated = series in self.indicated
        if indicated:
            self.indicated.discard(series)
        if not changed and not printed and not indicated:
            return
        for p in self.subscribers:
            typed = type(p) is T_PARTICIPANT
            if at(p, P_ACTIVE) if typed else p.active:
                pending = at(p, P_PENDING) if typed else p.pending_md
                if series in pending:
                    continue
                triggers = at(p, P_TRIGGERS) if typed else p.triggers
                if triggers is None:
                    if not changed:
                        continue
                else:
                    trigger = triggers.get(series)
                    if trigger is None or not trigger.fires(before, quote, printed, indicated):
                        continue
                pending.add(series)
                self.push(later(now_ns, delay(p)), MARKET_DATA_KIND, p, series)

    cdef int push(self, int64_t ts, object kind, object a, object b) except -1:
        cdef object when = ts
        if self.fast is not None:
            return self.fast.put(ts, (when, kind, a, b))
        self.schedule.push(when, kind, a, b)
        return 0


cdef object DELIVER_METHOD = Fanout.__dict__["deliver"]  # what `Simulation._deliver` is bound to when installed


cdef inline int discard(object s, object v) except -1:
    """``s.discard(v)``, through the C API for an exact set."""
    if type(s) is set:
        PySet_Discard(s, v)
    else:
        s.discard(v)
    return 0


cdef inline bint truthy(object v) except -1:
    """``bool(v)``, by identity for True and False (a participant's ``active``)."""
    return v is True or (v is not False and v)


cdef inline int set_clock(object ctx, object ts) except -1:
    """``ctx.now = ts``: its field for the compiled `Context`, at its slot
    for an exact `AgentContext`."""
    if type(ctx) is Context:
        (<Context>ctx).now = ts
    elif type(ctx) is T_CONTEXT:
        put(ctx, CTX_NOW, ts)
    else:
        ctx.now = ts
    return 0


cdef inline int add_to_batch(list owners, list batches, object p, object e) except -1:
    """``batches.setdefault(p, []).append(e)`` of the reference, on two
    lists: a command concerns one to three participants."""
    cdef Py_ssize_t i
    for i in range(len(owners)):
        if owners[i] is p:
            (<list>batches[i]).append(e)
            return 0
    owners.append(p)
    batches.append([e])
    return 0


cdef inline int64_t delay(object p) except? -1:
    """``p.delay(p.md_ns)``: the next jitter draw off its block (the block
    drawn by `Participant.delay` itself)."""
    if type(p) is not T_PARTICIPANT:
        return p.delay(p.md_ns)
    cdef list jitter = at(p, P_JITTER)
    if jitter:
        return later(at(p, P_MD_NS), jitter.pop())
    return p.delay(at(p, P_MD_NS))


cdef inline int64_t later(int64_t t, int64_t d) except? -1:
    """``t + d``, as the compiled schedule takes a time: beyond int64 an OverflowError."""
    cdef int64_t out
    if cfx_add_overflows(t, d, &out):
        raise OverflowError("a time beyond int64")
    return out


cdef inline int book_change(object book, object ts, object side, object price, object qty) except -1:
    """`BookTape.change`, written out."""
    cdef bint is_bid = side is BUY
    cdef dict levels = at(book, BT_BIDS) if is_bid else at(book, BT_ASKS)
    cdef list log = at(book, BT_LOG)
    cdef list log_ts = at(book, BT_LOG_TS)
    prev = levels.get(price, 0)
    if qty:
        levels[price] = qty
    elif prev:
        del levels[price]
    log_ts.append(ts)
    log.append((is_bid, price, prev))
    if len(log) > MAX:
        del log_ts[:KEEP]
        del log[:KEEP]
    return 0


cdef inline int on_fill(object p, object e) except -1:
    """`Participant.on_fill`, written out."""
    maker, taker = at(e, TR_MAKER), at(e, TR_TAKER)
    if maker == taker:
        return 0
    buyer = taker if at(e, TR_AGGRESSOR) is BUY else maker
    qty = at(e, TR_QTY)
    d = qty if buyer == at(p, P_ACCOUNT) else -qty
    positions = at(p, P_POSITIONS)
    series = at(e, TR_SERIES)
    positions[series] = positions.get(series, 0) + d
    return 0
