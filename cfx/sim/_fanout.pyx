# cython: language_level=3
# distutils: language = c++
"""The compiled fan-out of one command's events: what
`cfx.sim.loop.Simulation._route` (with `_count_trade` and `_publish`)
does, the readable reference, in the same order and with the same latency
draws, so the same run (tests/test_fanout.py holds the two to that).

The state stays where the reference keeps it: the simulation's dicts and
tapes, the participants' slots. What is compiled is the walk: an event's
kind by its exact type, the tape updates of `BookTape.change`,
`TradeTape.record` and `QuoteTape.record` written out in place (a tape of
another class is called), the top of book compared field by field with
the last one recorded before a `Quote` is built, a latency's jitter popped
off `Participant._jitter` (`Participant.delay` is called only to draw the
next block), and the items pushed straight onto the compiled schedule
(`cfx.core._schedule.Schedule.put`). Python objects throughout, so ints
are the reference's ints; only the schedule's times are int64, as the
compiled schedule's are.
"""

from libc.stdint cimport int64_t

from cfx.core._schedule cimport Schedule

from cfx.agents.base import PublicTrade, Quote
from cfx.sim.loop import DELIVER, MARKET_DATA
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
cdef object T_BOOK_TAPE = BookTape
cdef object T_QUOTE_TAPE = QuoteTape
cdef object T_TRADE_TAPE = TradeTape
cdef object T_QUOTE = Quote
cdef object BUY = Side.BUY
cdef object SELL = Side.SELL
cdef object DELIVER_KIND = DELIVER
cdef object MARKET_DATA_KIND = MARKET_DATA
cdef Py_ssize_t KEEP = LOG_KEEP
cdef Py_ssize_t MAX = LOG_MAX


cdef class Fanout:
    """`Simulation._route` compiled, bound to one simulation: `route` is
    what its `send` calls (`Simulation._route` says what it does). It
    holds the simulation's containers that live as long as it does; the
    ones a day replaces (the settlement window's trades) it reads off the
    simulation each time."""

    cdef object sim
    cdef object engine
    cdef object schedule  # the simulation's, compiled (`fast`) or not
    cdef Schedule fast
    cdef dict by_account, books, tapes, trade_tapes, indicatives, rejects
    cdef dict volume, volume_by_account, last_trade, printed
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
        self.indicated = sim._indicated
        self.subscribers = sim.subscribers

    def route(self, list events):
        """`Simulation._route`: own events to their agents after their
        latency, levels and trades to the tapes, each series touched published."""
        cdef object sim = self.sim
        cdef object now = sim.now
        cdef int64_t now_ns = now
        cdef list owners = []  # participants in the order first concerned ...
        cdef list batches = []  # ... and their events
        cdef list touched = []  # series in the order first touched
        cdef Py_ssize_t i
        cdef object e, t, p, series, book, tape, maker, taker, reason
        for e in events:
            t = type(e)
            if t is T_LEVEL:
                book = self.books.get(e.series)
                if book is not None:
                    if type(book) is T_BOOK_TAPE:
                        book_change(book, e.ts, e.side, e.price, e.qty)
                    else:
                        book.change(e.ts, e.side, e.price, e.qty)
            elif t is T_RESTED:
                continue
            elif t is T_ACCEPTED or t is T_CANCELLED or t is T_MODIFIED or t is T_REJECTED or t is T_TRIGGERED:
                if t is T_REJECTED:
                    reason = e.reason.value
                    self.rejects[reason] = self.rejects.get(reason, 0) + 1
                p = self.by_account.get(e.account)
                if p is not None:
                    add_to_batch(owners, batches, p, e)
                series = e.series
                if series is not None and series not in touched:
                    touched.append(series)
            elif t is T_TRADE:
                series = e.series
                if series not in touched:
                    touched.append(series)
                self.count_trade(e, series)
                maker, taker = e.maker_account, e.taker_account
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
            self.push(at(now_ns, delay(p, p.md_ns)), DELIVER_KIND, p, batches[i])
        for series in touched:
            self.publish(series, now, now_ns)

    cdef count_trade(self, object e, object series):
        """`Simulation._count_trade`."""
        cdef object sim = self.sim
        cdef object qty = e.qty
        cdef object ts = e.ts
        cdef object maker = e.maker_account
        cdef object taker = e.taker_account
        tape = self.trade_tapes.get(series)
        if tape is not None:
            if type(tape) is T_TRADE_TAPE:
                tape.times.append(ts)
                tape.trades.append(PublicTrade(ts, e.price, qty, e.aggressor))
                tape.count = tape.count + 1
            else:
                tape.record(ts, e.price, qty, e.aggressor)
        self.volume[series] = self.volume.get(series, 0) + qty
        by_acct = self.volume_by_account
        by_acct[maker] = by_acct.get(maker, 0) + qty
        by_acct[taker] = by_acct.get(taker, 0) + qty
        sim.trade_count = sim.trade_count + 1
        self.last_trade[series] = ts
        if e.taker_id >= sim.venue.clearing.config.liquidation_order_id_base:
            sim.liquidation_fills = sim.liquidation_fills + qty
        otc = sim.otc
        hedgers = otc.hedgers
        if maker in hedgers or taker in hedgers:
            otc.hedge_fill(e)
        window = sim.window
        if window[0] <= ts < window[1]:
            w = sim._window_trades.setdefault(series, [0, 0])
            w[0] += e.price * qty
            w[1] += qty

    cdef publish(self, object series, object now, int64_t now_ns):
        """`Simulation._publish`: the top of book on the series' tape, then
        the market-data callbacks it calls for."""
        cdef object tape = self.tapes.get(series)
        cdef object quotes, times, before, quote, trades, trigger, triggers, pending, p
        cdef bint changed, printed, indicated
        cdef Py_ssize_t n
        if tape is None:
            return
        book = self.engine.book(series)
        bid = book.best_bid()
        ask = book.best_ask()
        bid_qty = book.level_qty(BUY, bid) if bid is not None else 0
        ask_qty = book.level_qty(SELL, ask) if ask is not None else 0
        last = book.last_price
        if type(tape) is T_QUOTE_TAPE:  # `QuoteTape.latest` and `record`, written out
            quotes = tape.quotes
            n = len(quotes)
            before = quotes[n - 1] if n else NO_QUOTE
            if (
                n
                and type(before) is T_QUOTE
                and before.bid == bid
                and before.bid_qty == bid_qty
                and before.ask == ask
                and before.ask_qty == ask_qty
                and before.last == last
            ):
                changed = False
                quote = before  # the same values as the one the reference builds
            else:
                quote = Quote(bid, bid_qty, ask, ask_qty, last)
                changed = True
                times = tape.times
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
        count = trades.count if trades is not None else 0
        printed = count != self.printed.get(series, 0)
        if printed:
            self.printed[series] = count
        indicated = series in self.indicated
        if indicated:
            self.indicated.discard(series)
        if not changed and not printed and not indicated:
            return
        for p in self.subscribers:
            if p.active:
                pending = p.pending_md
                if series in pending:
                    continue
                triggers = p.triggers
                if triggers is None:
                    if not changed:
                        continue
                else:
                    trigger = triggers.get(series)
                    if trigger is None or not trigger.fires(before, quote, printed, indicated):
                        continue
                pending.add(series)
                self.push(at(now_ns, delay(p, p.md_ns)), MARKET_DATA_KIND, p, series)

    cdef int push(self, int64_t ts, object kind, object a, object b) except -1:
        cdef object when = ts
        if self.fast is not None:
            return self.fast.put(ts, (when, kind, a, b))
        self.schedule.push(when, kind, a, b)
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


cdef inline int64_t delay(object p, object fixed) except? -1:
    """`Participant.delay`: the next jitter draw off its block (the block
    drawn by `Participant.delay` itself)."""
    cdef list jitter = p._jitter
    if jitter:
        return at(fixed, jitter.pop())
    return p.delay(fixed)


cdef inline int64_t at(int64_t t, int64_t d) except? -1:
    """``t + d``, as the compiled schedule takes a time: beyond int64 an OverflowError."""
    cdef int64_t out
    if cfx_add_overflows(t, d, &out):
        raise OverflowError("a time beyond int64")
    return out


cdef inline int book_change(object book, object ts, object side, object price, object qty) except -1:
    """`BookTape.change`, written out."""
    cdef bint is_bid = side is BUY
    cdef dict levels = book.bids if is_bid else book.asks
    cdef list log = book.log
    cdef list log_ts = book.log_ts
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
