"""What the engine does for a series that does not simply match
continuously: its trading day (the session machine of cfx/session.py, whose
docstring has the state table), call auctions and periodic batch auctions
(cfx/auction.py, cfx/batch.py), the velocity breaker, the price band's limit
hits and the halts they cause, and the kill switch.

`Engine` (cfx/engine.py) is a `CallsAndHalts`: these are its methods, kept
here so that the continuous-matching path reads on its own. A series
without a session trades continuously and never halts (cfx replay), and
never reaches this module's code but for `SeriesState`.
"""

from __future__ import annotations

from heapq import heappush

from cfx.auction import AuctionOrder, indicative, uncross
from cfx.batch import batch_refusal, last_boundary
from cfx.book import Book, Entering, Order
from cfx.protections import PriceBand, VelocityBreaker
from cfx.session import SessionMachine, SessionSchedule, Transition
from cfx.types import (
    AuctionUncrossed,
    BatchUncrossed,
    CancelReason,
    IndicativeUncross,
    ListSeries,
    OrderAccepted,
    OrderCancelled,
    OrderKind,
    PriceBandChanged,
    RejectReason,
    SeriesHalted,
    SessionState,
    SessionStateChanged,
    SessionTrigger,
    Side,
    SubmitOrder,
    TimeInForce,
    Trade,
)

BUY = Side.BUY
LIMIT = OrderKind.LIMIT
MARKET = OrderKind.MARKET
GTD = TimeInForce.GTD
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
CONTINUOUS = SessionState.CONTINUOUS
SETTLEMENT_WINDOW = SessionState.SETTLEMENT_WINDOW
OPENING = frozenset({SessionState.PRE_OPEN, SessionState.OPENING_AUCTION})
COLLECTING = frozenset(
    {SessionState.PRE_OPEN, SessionState.OPENING_AUCTION, SessionState.HALTED, SessionState.REOPENING_AUCTION}
)  # orders collect for a call: indicative published
MATCHES = frozenset({CONTINUOUS, SETTLEMENT_WINDOW})


class SeriesState:
    """A book plus what the engine keeps beside it: rules, pending stops, and
    (once configured) the session machine, the circuit breaker and the market
    orders waiting for a call auction."""

    __slots__ = (
        "book",
        "rules",
        "buy_stops",
        "sell_stops",
        "session",
        "breaker",
        "auction_market",
        "indicative",
        "price_band",
        "limit_hits",
        "batch_ns",
        "batch_done",
        "batch_ioc",
    )

    def __init__(self, book: Book, rules: ListSeries) -> None:
        self.book = book
        self.rules = rules
        self.buy_stops: list = []  # heap of (stop_price, arrival, order)
        self.sell_stops: list = []  # heap of (-stop_price, arrival, order)
        self.session: SessionMachine | None = None  # None: continuous trading, no halts
        self.breaker: VelocityBreaker | None = None
        self.auction_market: list[Order] = []
        self.indicative: tuple | None = None  # the last IndicativeUncross published
        self.price_band: PriceBand | None = None
        self.limit_hits = [0, 0]  # orders refused beyond the low, the high edge since the last change
        self.batch_ns = 0  # periodic batch auctions every batch_ns (0: continuous matching)
        self.batch_done = 0  # the last batch boundary dealt with (uncrossed, or passed while not trading)
        self.batch_ioc: list[Order] = []  # IOC limit orders for the next batch only
        self.relist(rules)

    def relist(self, rules: ListSeries) -> None:
        self.rules = rules
        self.price_band = (
            None if rules.band_low is None else PriceBand(rules.band_low, rules.band_high, rules.band_moving)
        )
        self.limit_hits = [0, 0]

    def auction_reference(self, opening: bool) -> int | None:
        """The reference price of a call: the prior settlement for the
        opening call (as CME uses it), the last trade for a reopening one;
        either falls back on the other."""
        last = self.book.last_price
        ref = self.rules.reference
        if ref is not None and (last is None or opening):
            return ref
        return last

    def band(self) -> tuple[int, int] | None:
        """The price band now (inclusive), or None (cfx/protections.py's `PriceBand`)."""
        band = self.price_band
        return None if band is None else band.limits(self.book.last_price)

    def batching(self) -> bool:
        """Trading by periodic batch auction now: orders collect for the next batch."""
        session = self.session
        return bool(self.batch_ns) and session is not None and session.state in MATCHES

    def collecting(self) -> bool:
        """Orders collect unmatched for an uncross (a call or the next batch): the indicative is published."""
        session = self.session
        return session is not None and (
            session.state in COLLECTING or (bool(self.batch_ns) and session.state in MATCHES)
        )


class CallsAndHalts:
    """The engine's sessions, auctions and halts (see the module docstring).

    Public: `configure_session`, `next_batch`, `halt_all`, `lift_halts`.
    The rest is called by the engine's commands: `_advance_session` and
    `_advance_batches` (time moved), `_submit_in_call` (an order while the
    series does not match), `_publish_indicative`, `_market_limit`,
    `_guard`, `_place_guarded` (matching under the breaker), `_limit_hit`.
    It works on the engine's state (``_series``, ``_live``, ``_gtd``,
    ``cmd_seq``, the sequence ``_seq`` and ``_arrival``, the sinks ``_emit``
    and ``_trade``) and calls three of its methods: ``_reject``,
    ``_cancel`` and ``_expire_day_orders``."""

    def configure_session(
        self,
        series: str,
        schedule: SessionSchedule | None,
        ts: int,
        *,
        breaker: VelocityBreaker | None = None,
        reopen_call_ns: int = 0,
        batch_interval_ns: int = 0,
    ) -> None:
        """Give a listed series a trading day (None: continuous, but it can
        halt), optionally a velocity circuit breaker, and its matching mode:
        ``batch_interval_ns`` > 0 trades it by periodic batch auctions
        (cfx/batch.py), 0 continuously. Counts as a command."""
        if batch_interval_ns < 0:
            raise ValueError(f"batch_interval_ns ({batch_interval_ns}) must be >= 0")
        self.cmd_seq += 1
        state = self._series[series]
        state.session = SessionMachine(schedule, ts, reopen_call_ns)
        self._sessions = True
        state.breaker = breaker
        state.batch_ns = batch_interval_ns
        state.batch_done = last_boundary(ts, batch_interval_ns) if batch_interval_ns else 0
        state.batch_ioc = []

    def next_batch(self) -> int | None:
        """The earliest batch boundary at which some series has something to
        uncross (a crossing indicative, or orders waiting for the batch only),
        or None: when a sim loop should send `AdvanceTime`. A batch also runs,
        at its own boundary's time, on any later command to its series."""
        out = None
        for state in self._series.values():
            if (
                state.batch_ns
                and state.batching()
                and (state.indicative is not None or state.auction_market or state.batch_ioc)
            ):
                at = state.batch_done + state.batch_ns
                if out is None or at < out:
                    out = at
        return out

    def halt_all(self, ts: int, until: int | None) -> None:
        """The kill switch: every series halts until ``until`` (None: until
        `lift_halts`); each reopens with a call auction."""
        self.cmd_seq = cmd = self.cmd_seq + 1
        self._sessions = True
        for state in self._series.values():
            if state.session is None:
                state.session = SessionMachine(None, ts)
            self._advance_session(state, cmd, ts)
            self._halt(state, cmd, ts, until)

    def lift_halts(self, ts: int) -> None:
        """End every halt now: the series go into their reopening auctions."""
        self.cmd_seq = cmd = self.cmd_seq + 1
        for state in self._series.values():
            session = state.session
            if session is not None and session.state is SessionState.HALTED:
                self._on_transition(state, session.transition(SessionTrigger.HALT_END, ts), cmd)
                self._advance_session(state, cmd, ts)

    def _advance_session(self, state: SeriesState, cmd: int, ts: int) -> None:
        if state.batch_ns:
            self._advance_batched(state, cmd, ts)
            return
        for t in state.session.advance(ts):
            self._on_transition(state, t, cmd)

    def _advance_batches(self, cmd: int, ts: int) -> None:
        """Bring every batch series up to ``ts`` (for the commands that do not advance sessions themselves)."""
        for state in self._series.values():
            if state.batch_ns and state.session is not None:
                self._advance_batched(state, cmd, ts)

    def _advance_batched(self, state: SeriesState, cmd: int, ts: int) -> None:
        """`_advance_session` for a batch series: the batch boundaries and the
        session's triggers in time order; on a tie the batch goes first, in
        the state before the trigger (so the close's boundary uncrosses, the
        open's does not: the opening call does). Only the first boundary
        after the last batch can trade: a batch leaves a book that does not
        cross and no market or IOC order, so the later ones up to ``ts``
        (with no command in between) would do nothing."""
        session = state.session
        n = state.batch_ns
        while True:
            nxt = session.next_transition()
            due = nxt is not None and nxt[0] <= ts
            limit = nxt[0] if due else ts
            last = last_boundary(limit, n)
            if last > state.batch_done:
                if session.state in MATCHES:
                    self._batch(state, cmd, state.batch_done + n)
                state.batch_done = last
            if not due:
                return
            for t in session.advance(limit):
                self._on_transition(state, t, cmd)

    def _batch(self, state: SeriesState, cmd: int, ts: int) -> None:
        """One periodic batch auction at boundary ``ts``: the call auction's
        uncross (reference: the last trade, else the prior settlement), then
        the batch's IOC orders lose what did not fill."""
        self._uncross(state, cmd, ts, False, batch=True)
        live = self._live
        for o in state.batch_ioc:
            if live.get(o.order_id) is o:
                state.book.cancel(o, cmd, ts, CancelReason.IOC_REMAINDER)
        state.batch_ioc.clear()

    def _on_transition(self, state: SeriesState, t: Transition, cmd: int) -> None:
        if type(t) is not Transition or t.old is t.new:
            return
        series = state.book.series
        self._emit(SessionStateChanged(next(self._seq), cmd, t.ts, series, t.old, t.new, t.trigger))
        if t.uncross:
            self._uncross(state, cmd, t.ts, t.old in OPENING)
        if state.batch_ioc and t.new not in MATCHES:  # a batch's IOC orders cannot wait for a call
            for o in state.batch_ioc:
                if self._live.get(o.order_id) is o:
                    state.book.cancel(o, cmd, t.ts, CancelReason.IOC_REMAINDER)
            state.batch_ioc.clear()
        if t.new is SessionState.CLOSED:  # a call that never uncrossed: its market orders go too
            for o in state.auction_market:
                if self._live.get(o.order_id) is o:
                    self._cancel(o, cmd, t.ts, CancelReason.IOC_REMAINDER)
            state.auction_market.clear()
            self._expire_day_orders(series, cmd, t.ts)

    def _submit_in_call(self, state: SeriesState, c: SubmitOrder, cmd: int, ts: int) -> None:
        """An order while the series does not match (pre-open, a call, a halt,
        closed): refused where the state refuses new orders, and IOC/FOK limit
        orders always (they cannot wait); otherwise accepted unmatched: a limit
        order rests (the book may cross until the uncross), a market order
        waits for the uncross, a stop waits for its trigger."""
        session = state.session
        kind = c.kind
        batching = state.batching()
        refusal = batch_refusal(c) if state.batch_ns else None
        if refusal is not None:
            self._reject(cmd, ts, c.order_id, c.account, refusal, c.series)
            return
        if not session.allows_new_orders() or (not batching and kind is LIMIT and (c.tif is IOC or c.tif is FOK)):
            self._reject(
                cmd, ts, c.order_id, c.account, session.reject_reason() or RejectReason.MARKET_CLOSED, c.series
            )
            return
        self._emit(
            OrderAccepted(
                next(self._seq),
                cmd,
                ts,
                c.series,
                c.order_id,
                c.account,
                c.side,
                kind,
                c.tif,
                c.price,
                c.qty,
                c.display_qty,
                c.stop_price,
            )
        )
        if kind is LIMIT:
            order = state.book.rest(c, c.qty, cmd, ts)
            if batching and c.tif is IOC:
                state.batch_ioc.append(order)
        else:  # a market order waits for the uncross, a stop for its trigger: the engine's, off the book
            order = Order(
                c.order_id,
                c.account,
                c.side,
                c.price,
                c.qty,
                c.series,
                0,
                c.display_qty,
                kind,
                c.tif,
                c.stp,
                c.post_only,
                c.stop_price,
                c.expire_ns,
            )
            self._live[c.order_id] = order
            if kind is MARKET:
                state.auction_market.append(order)
            elif c.side is BUY:
                heappush(state.buy_stops, (c.stop_price, next(self._arrival), order))
            else:
                heappush(state.sell_stops, (-c.stop_price, next(self._arrival), order))
        if c.tif is GTD and kind is not MARKET:
            heappush(self._gtd, (c.expire_ns, next(self._arrival), order))
        self._publish_indicative(state, cmd, ts)

    def _auction_orders(self, state: SeriesState) -> list[AuctionOrder]:
        """Everything a call would execute: resting limit orders (their whole
        open quantity, queue position as time priority) and waiting market orders."""
        live = self._live
        book = state.book
        orders = []
        for side, levels in zip((BUY, Side.SELL), self._crossing_levels(state)):
            for price, _, _ in levels:
                orders.extend(
                    AuctionOrder(o.order_id, o.account, side, price, o.qty + o.hidden, i)
                    for i, o in enumerate(book.orders_at(side, price))
                )
        orders.extend(
            AuctionOrder(o.order_id, o.account, o.side, None, o.qty, i)
            for i, o in enumerate(state.auction_market)
            if live.get(o.order_id) is o
        )
        return orders

    def _crossing_levels(self, state: SeriesState) -> tuple[list, list]:
        """The levels (`OrderBook.levels`) of bids and asks an uncross can reach.
        Without market orders only a bid at or above the best ask and an ask
        at or below the best bid can trade, and the others change neither
        the uncross price (every price with volume lies between those two)
        nor the allocation, so they are left out: a deep book's batch then
        costs what its crossing part does. With market orders, every level."""
        book = state.book
        live = self._live
        if any(live.get(o.order_id) is o for o in state.auction_market):
            return book.levels(BUY), book.levels(Side.SELL)
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None or bid < ask:
            return [], []
        return book.levels(BUY, ask), book.levels(Side.SELL, bid)

    def _auction_depth(self, state: SeriesState) -> list[AuctionOrder]:
        """What the published indicative price needs: one entry per price
        level with its displayed quantity (an iceberg's reserve is not
        public, though the uncross executes it) and one per side for the
        market orders. O(levels), not O(orders)."""
        live = self._live
        out = []
        for side, levels in zip((BUY, Side.SELL), self._crossing_levels(state)):
            for price, qty, _ in levels:
                out.append(AuctionOrder(0, 0, side, price, qty, 0))
        for side in (BUY, Side.SELL):
            qty = sum(o.qty for o in state.auction_market if o.side is side and live.get(o.order_id) is o)
            if qty:
                out.append(AuctionOrder(0, 0, side, None, qty, 0))
        return out

    def _publish_indicative(self, state: SeriesState, cmd: int, ts: int) -> None:
        """Market data during a call: the indicative uncross (on displayed
        quantity), each time it changes; when the book stops crossing, one
        with no price and volume 0 (CME publishes every change of the
        indicative opening price)."""
        reference = state.auction_reference(state.session.state in OPENING)
        ind = indicative(self._auction_depth(state), reference, state.rules.auction_tie_break)
        key = None if ind is None else (ind.price, ind.volume, ind.imbalance, ind.imbalance_side)
        if key != state.indicative:
            if ind is not None:
                self._emit(IndicativeUncross(next(self._seq), cmd, ts, state.book.series, *key))
            elif state.indicative is not None:
                self._emit(IndicativeUncross(next(self._seq), cmd, ts, state.book.series, None, 0, 0, None))
        state.indicative = key

    def _uncross(self, state: SeriesState, cmd: int, ts: int, opening: bool, batch: bool = False) -> None:
        """Execute the call (``batch``: a periodic batch, told by its event,
        `BatchUncrossed`, from a call's `AuctionUncrossed`): every fill at
        the one uncross price (see cfx/auction.py for the price and
        allocation rules). The side
        with the surplus counts as the aggressor (buy when balanced). Market
        orders left over are cancelled. The breaker restarts from the
        auction's price, or, after a reopening call that traded nothing,
        from the mid of the book it leaves."""
        book = state.book
        live = self._live
        result = uncross(self._auction_orders(state), state.auction_reference(opening), state.rules.auction_tie_break)
        if result is not None and result.volume:
            price = result.price
            aggressor = result.imbalance_side or BUY
            self._emit(
                (BatchUncrossed if batch else AuctionUncrossed)(
                    next(self._seq), cmd, ts, book.series, price, result.volume, result.imbalance, result.imbalance_side
                )
            )
            for fill in result.fills:
                buy, sell = live[fill.buy_id], live[fill.sell_id]
                maker, taker = (sell, buy) if aggressor is BUY else (buy, sell)
                trade = Trade(
                    next(self._seq),
                    cmd,
                    ts,
                    book.series,
                    price,
                    fill.qty,
                    maker.order_id,
                    taker.order_id,
                    maker.account,
                    taker.account,
                    aggressor,
                )
                self._trade(trade)
                self._auction_fill(state, buy, fill.qty, cmd, ts)
                self._auction_fill(state, sell, fill.qty, cmd, ts)
            book.record_uncross(price)
            if state.breaker is not None:
                state.breaker.reset(price, ts)
        for o in state.auction_market:
            if live.get(o.order_id) is o:
                del live[o.order_id]
                self._emit(
                    OrderCancelled(
                        next(self._seq), cmd, ts, o.series, o.order_id, o.account, o.qty, CancelReason.IOC_REMAINDER
                    )
                )
        state.auction_market.clear()
        state.indicative = None
        if state.breaker is not None and not opening and (result is None or not result.volume):
            bid, ask = book.best_bid(), book.best_ask()
            if bid is not None and ask is not None:
                # no auction price: the book after the call is the new reference, not a stale
                # last trade (else the first trade at the price that halted it halts it again)
                state.breaker.reset((bid + ask) // 2, ts)

    def _auction_fill(self, state: SeriesState, o: Order, qty: int, cmd: int, ts: int) -> None:
        if o.kind is MARKET:  # waiting for the uncross: the engine's, not on the book
            o.filled += qty
            o.qty -= qty
            if not o.qty:
                del self._live[o.order_id]
            return
        state.book.fill(o, qty, cmd, ts)  # keeps its place (an iceberg's reserve goes first), or leaves

    def _market_limit(self, state: SeriesState, side: Side) -> int | None:
        """How far a market order may go: the price band's edge, if any."""
        band = state.price_band
        return None if band is None else band.protection_limit(side, state.book.last_price)

    def _guard(self, state: SeriesState, side: Side, limit: int | None, ts: int) -> int | None:
        """``limit`` tightened to what the circuit breaker lets trade now."""
        breaker = state.breaker
        edge = None if breaker is None else breaker.edge(side, ts)
        if edge is None:
            return limit
        if side is BUY:
            return edge if limit is None or limit > edge else limit
        return edge if limit is None or limit < edge else limit

    def _place_guarded(
        self, state: SeriesState, order: Entering, qty: int, limit: int | None, cmd: int, ts: int
    ) -> int:
        """Matching under the velocity breaker: trade only within the
        threshold of the price a window ago; if the order would trade beyond
        it, the series halts (CME velocity logic), a limit order's remainder
        rests for the reopening auction and a market or IOC remainder is
        cancelled. Returns the quantity traded."""
        book = state.book
        breaker = state.breaker
        side = order.side
        buy = side is BUY
        best = book.best_ask() if buy else book.best_bid()
        if best is None or (limit is not None and (best > limit if buy else best < limit)):
            # nothing it may trade with even at its own limit (most quotes): no trade and no
            # breach, so the edge is not needed (its lazy trim of old prices waits for the next ask)
            if not qty:
                return 0
            traded = 0
            remaining = qty
        else:
            edge = breaker.edge(side, ts)  # `_guard`, written out
            if edge is None:
                guarded = limit
            elif buy:
                guarded = edge if limit is None or limit > edge else limit
            else:
                guarded = edge if limit is None or limit < edge else limit
            if guarded is None or (best <= guarded if buy else best >= guarded):
                traded, remaining = book.match(order, qty, guarded, cmd, ts)
                if traded:
                    breaker.record(book.last_price, ts)
                if not remaining:
                    return traded
                best = book.best_ask() if buy else book.best_bid()
            else:  # the edge stops it before the best price: the match would change nothing
                traded = 0
                remaining = qty
                if not remaining:
                    return 0
        breach = best is not None and (limit is None or (best <= limit if buy else best >= limit))
        if breach:
            self._halt(state, cmd, ts, breaker.halt_until(ts), best, breaker.reference(ts))
        if order.kind is LIMIT and order.tif is not IOC and order.tif is not FOK:
            book.rest(order, remaining, cmd, ts, traded)
        else:
            stopped = breach or (order.kind is MARKET and limit is not None and best is not None)
            reason = CancelReason.BAND if stopped else CancelReason.IOC_REMAINDER
            self._emit(
                OrderCancelled(next(self._seq), cmd, ts, order.series, order.order_id, order.account, remaining, reason)
            )
        return traded

    def _limit_hit(self, state: SeriesState, price: int, cmd: int, ts: int) -> None:
        """An order refused beyond an edge of the band while the series
        trades: the ``band_hits``-th in a row beyond the same edge is a limit
        hit, and (up to ``band_max_expansions`` times) the band widens and
        the series halts to cool off, reopening by auction within the new band."""
        session = state.session
        band = state.price_band
        if session is None or not session.allows_matching() or band.expansions >= state.rules.band_max_expansions:
            return
        low, high = state.band()
        edge = 0 if price < low else 1
        hits = state.limit_hits
        hits[edge] += 1
        hits[1 - edge] = 0
        if hits[edge] < state.rules.band_hits:
            return
        hits[edge] = 0
        band.expand(state.rules.band_expand_pct)
        low, high = state.band()
        self._emit(PriceBandChanged(next(self._seq), cmd, ts, state.book.series, low, high, True))
        self._halt(state, cmd, ts, ts + state.rules.band_halt_ns, price, high if edge else low)

    def _halt(
        self,
        state: SeriesState,
        cmd: int,
        ts: int,
        until: int | None,
        price: int | None = None,
        reference: int | None = None,
    ) -> None:
        t = state.session.transition(SessionTrigger.HALT, ts, until)
        if type(t) is Transition:
            self._emit(
                SeriesHalted(next(self._seq), cmd, ts, state.book.series, state.session.halt_until, price, reference)
            )
            self._on_transition(state, t, cmd)
