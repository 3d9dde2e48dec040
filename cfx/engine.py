"""The matching engine: validation, risk gate, order types, self-trade
prevention and expiry in front of one `OrderBook` per series.

A deterministic pipeline, one command at a time: give every command a
sequence number, expire what is due, validate, ask the risk gate, then
match; every outcome is an event appended to ``Engine.events``. A command
that is refused gets one `OrderRejected` with a typed reason and changes
nothing. Same commands in, same events out, bit for bit: nothing here reads
a clock or a random number.

Order types and time in force:

- limit; market (trades what it can, the rest is cancelled, never rests);
  IOC (the rest is cancelled); FOK (all at once or rejected);
  post-only (rejected if it would take liquidity);
  iceberg (``display_qty`` shown at a time, each refill to the back);
  stop-market and stop-limit (triggered by trade prices: a buy stop when a
  trade is at or above its stop price, a sell stop at or below, including
  the intermediate prices of a sweep; a stop already through its trigger
  when it arrives enters at once; triggered stops enter one at a time, the
  nearest trigger first, then by arrival; a stop cannot be FOK).
- GTC; DAY (expires at `EndOfDay`); GTD (expires at ``expire_ns``, checked
  before every command); IOC; FOK.

Modify is cancel-replace with the new open quantity: a decrease at the same
price keeps time priority, any price change or increase loses it and the
order may trade as the aggressor. An increase passes the risk gate as a new
order of the added quantity (so a 1-lot order cannot grow past the credit
limit that a new order of that size would meet). Pending stops cannot be modified (cancel
and resubmit). Self-trade prevention uses the aggressing order's mode, or
its account's default, or cancel-aggressing (CME's default: the newest
order is cancelled).

Sessions (`configure_session`; none for a plain replay; the engine's code
for them, its auctions and its halts is in cfx/calls.py): the state of each
series (cfx/session.py's table) decides what is accepted and whether
orders match; a call auction collects orders unmatched and uncrosses them
(cfx/auction.py); the velocity breaker halts a series whose trade
would move too far too fast; `halt_all` is the kill switch. Price bands
(`ListSeries`) reject limit prices outside them and stop market orders at
their edge.

Periodic batch auctions (``configure_session(..., batch_interval_ns=n)``,
cfx/batch.py has the rules and what is refused): while such a series
trades it never matches continuously; it is a call that uncrosses at every
multiple of ``n`` ns since the epoch, by the call auction's rule.

`submit`, `modify` and `cancel` are the reference of their compiled twin
(cfx/_engine.pyx's `EnginePath`, which a venue on the compiled books
dispatches them to): it takes their common path and hands them anything
else, before it has changed anything; a change here is a change there.
"""

from __future__ import annotations

from heapq import heappop, heappush
from itertools import count
from typing import Callable

import msgspec

from cfx.book import Book, Entering, Order, OrderBook
from cfx.calls import CallsAndHalts, SeriesState
from cfx.session import SessionMachine
from cfx.validation import MAX_PRICE, PLAIN, modify_reason, submit_reason
from cfx.types import (
    AdvanceTime,
    CancelOrder,
    CancelReason,
    Command,
    EndOfDay,
    ListSeries,
    MassCancel,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderKind,
    OrderModified,
    OrderRejected,
    OrderTriggered,
    PriceBandChanged,
    RejectReason,
    SessionState,
    SetAccountStp,
    Side,
    StpMode,
    SubmitOrder,
    TimeInForce,
)

BUY = Side.BUY
LIMIT = OrderKind.LIMIT
MARKET = OrderKind.MARKET
STOP_MARKET = OrderKind.STOP_MARKET
STOP_LIMIT = OrderKind.STOP_LIMIT
GTC = TimeInForce.GTC
GTD = TimeInForce.GTD
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
DAY = TimeInForce.DAY
CANCEL_USER = CancelReason.USER
CONTINUOUS = SessionState.CONTINUOUS
SETTLEMENT_WINDOW = SessionState.SETTLEMENT_WINDOW
REJECT_UNKNOWN_ORDER = RejectReason.UNKNOWN_ORDER
PRICE_OUTSIDE_BAND = RejectReason.PRICE_OUTSIDE_BAND

_replace = msgspec.structs.replace

RiskCheck = Callable[[SubmitOrder], "RejectReason | None"]


def _discard(event: object) -> None:
    """The sink of a trades-only engine for every event but a trade."""


class OrderStatus(msgspec.Struct):
    order_id: int
    account: int
    series: str
    side: Side
    kind: OrderKind
    price: int
    open_qty: int
    visible_qty: int
    filled_qty: int
    state: str  # "resting", "stop_pending" or "auction" (a market order waiting for the uncross)


class Engine(CallsAndHalts):
    """Routes commands to books and emits events.

    - `apply(cmd)`: any `Command`; `apply_batch(cmds)`: each in order (a
      replay's loop); or call `submit`, `cancel`, `modify`, `mass_cancel`,
      `end_of_day`, `advance_time` directly.
    - `events`: the event sink (given, or its own list) every book of this
      engine appends to; the caller takes and clears it (`cfx.venue.Venue`
      owns it in a run and hands each command's events back).
    - ``trades_only`` (given when the engine is built): only trades reach
      ``events``, and the other events are never built (what a throughput
      replay reads; their ``seq`` numbers then differ from a full engine's).
    - ``risk_check`` (given when the engine is built), `list_series`,
      `set_account_stp` (also commands), `configure_session`:
      configuration; `halt_all`, `lift_halts`: the kill switch.
    - ``book_type`` (given when the engine is built): the class of its
      books, `cfx.book.OrderBook` (the reference) or one with the same
      constructor and `cfx.book.Book` protocol (the compiled
      `cfx.core._orderbook.CompiledOrderBook`, see `cfx.core.book_type`);
      None: the reference.
    - `book(series)`, `status(order_id)`, `session_state(series)`: queries.
    """

    def __init__(
        self,
        risk_check: RiskCheck | None = None,
        sink: list | None = None,
        *,
        trades_only: bool = False,
        book_type: type | None = None,
    ) -> None:
        self.events: list = [] if sink is None else sink
        self.cmd_seq = 0
        self.risk_check = risk_check
        self._seq = count(1)
        self._sessions = False  # does any series have a session (so cancels and modifies check it)?
        # bound once: the hot paths emit per message. ``trades_only`` (a throughput
        # replay, which reads nothing else) lets only trades into the sink, and the
        # hot paths skip building the other events (`_full`); ``seq`` then numbers
        # the events built, so it is not a full engine's
        self.trades_only = trades_only
        self.book_type = OrderBook if book_type is None else book_type
        self._full = not trades_only
        self._trade = self.events.append
        self._emit = self.events.append if self._full else _discard
        self._live: dict[int, Order] = {}
        self._series: dict[str, SeriesState] = {}
        self._account_stp: dict[int, StpMode] = {}
        self._gtd: list = []  # heap of (expire_ns, arrival, order)
        self._arrival = count()
        self._dispatch = {
            SubmitOrder: self.submit,
            CancelOrder: self.cancel,
            ModifyOrder: self.modify,
            MassCancel: self.mass_cancel,
            EndOfDay: self.end_of_day,
            AdvanceTime: self.advance_time,
            ListSeries: self.list_series,
            SetAccountStp: self.set_account_stp,
        }

    # ------------------------------------------------------------------ configuration

    def list_series(self, rules: ListSeries | str) -> Book:
        """Open a book for a series, or replace its rules if it is listed
        (e.g. a new band after a settlement). Changes no order."""
        if isinstance(rules, str):
            rules = ListSeries(symbol=rules)
        self.cmd_seq = cmd = self.cmd_seq + 1
        if self._gtd and self._gtd[0][0] <= rules.ts:
            self._expire_gtd(cmd, rules.ts)
        state = self._series.get(rules.symbol)
        if state is None:
            book = self.book_type(
                rules.symbol, self._live, self.events, self._seq, self._account_stp, trades_only=not self._full
            )
            state = self._series[rules.symbol] = SeriesState(book, rules)
        else:
            state.relist(rules)
        if state.price_band is not None and state.session is not None:
            low, high = state.band()
            self._emit(PriceBandChanged(next(self._seq), cmd, rules.ts, rules.symbol, low, high, False))
        return state.book

    def set_account_stp(self, c: SetAccountStp) -> None:
        self.cmd_seq = cmd = self.cmd_seq + 1
        if self._gtd and self._gtd[0][0] <= c.ts:
            self._expire_gtd(cmd, c.ts)
        self._account_stp[c.account] = c.mode

    # ------------------------------------------------------------------ queries

    def book(self, series: str) -> Book:
        return self._series[series].book

    @property
    def series(self) -> list[str]:
        return list(self._series)

    def status(self, order_id: int) -> OrderStatus | None:
        """The status of a live order (resting or pending stop), or None."""
        o = self._live.get(order_id)
        if o is None:
            return None
        pending = o.kind is STOP_MARKET or o.kind is STOP_LIMIT
        state = "stop_pending" if pending else "auction" if o.kind is MARKET else "resting"
        return OrderStatus(
            order_id=o.order_id,
            account=o.account,
            series=o.series,
            side=o.side,
            kind=o.kind,
            price=o.price,
            open_qty=o.qty + o.hidden,
            visible_qty=0 if pending else o.qty,
            filled_qty=o.filled,
            state=state,
        )

    def session_state(self, series: str) -> SessionState:
        """The series' trading state (CONTINUOUS if it has no session)."""
        session = self._series[series].session
        return CONTINUOUS if session is None else session.state

    def price_band(self, series: str) -> tuple[int, int] | None:
        """The series' price band now (inclusive), or None."""
        return self._series[series].band()

    def live_orders(self) -> list[Order]:
        return list(self._live.values())

    # ------------------------------------------------------------------ commands

    def apply(self, cmd: Command) -> None:
        """Apply any engine command; its events go to ``events``. Runtime
        complexity: that of the command's method."""
        self._dispatch[type(cmd)](cmd)

    def apply_batch(self, cmds: list[Command]) -> int:
        """`apply` each of ``cmds`` in order, up to the first that is not an
        engine command; returns how many it applied (`cfx.venue.Venue.apply_batch`
        applies the rest itself). The loop of a CSV replay. When no GTD order is due,
        a replay's two commonest commands are dealt with here, with the events
        their methods would make, without calling them:

        - a valid limit or market order with no option (what
          `cfx.validation.submit_reason` calls `PLAIN`: that rule is repeated
          inline, as calling it costs ~4 % of a replay's instructions) on a
          series with no session, breaker or risk gate goes to the book
          (calling `submit`: ~4 %, and ~2 % more for the market orders, 5 %
          of a replay's messages, whose path through it is longer);
        - with no session on any series, a cancel of an order that is not live
          is refused, and one of the sender's resting limit orders goes to the
          book's cancel (calling `cancel`: ~3 %).

        Everything else goes to its method. tests/test_validation.py holds the
        inline PLAIN rule to `submit_reason`'s verdicts, tests/test_replay.py
        this loop to `apply`'s events. Runtime complexity: the sum of the
        commands' methods."""
        dispatch = self._dispatch
        series = self._series
        live = self._live
        gtd = self._gtd
        direct = self.risk_check is None
        full = self._full
        try:
            for c in cmds:
                command = type(c)
                if gtd and gtd[0][0] <= c.ts:  # GTD orders are due: the command's method expires them first
                    pass
                elif command is SubmitOrder and direct:
                    state = series.get(c.series)
                    if state is not None and state.session is None and state.breaker is None:
                        qty = c.qty
                        price = c.price
                        tif = c.tif
                        band = state.price_band
                        book = state.book
                        # a limit, else a market order (tests repeated, not stored: CPython 3.11 specializes a
                        # comparison only where it jumps)
                        if (
                            c.kind is LIMIT
                            and (tif is GTC or tif is DAY or tif is IOC)
                            and not (c.display_qty or c.post_only or c.stop_price or c.expire_ns)
                            and 0 < qty <= state.rules.max_qty
                            and 0 < price <= MAX_PRICE
                            and c.order_id not in live
                            and (band is None or band.allows(price, book.last_price))
                        ):
                            limit = price
                        elif (
                            c.kind is MARKET
                            and price == 0
                            and (tif is GTC or tif is DAY or tif is IOC)
                            and not (c.display_qty or c.post_only or c.stop_price or c.expire_ns)
                            and 0 < qty <= state.rules.max_qty
                            and c.order_id not in live
                        ):
                            limit = self._market_limit(state, c.side)
                        else:
                            dispatch[command](c)
                            continue
                        self.cmd_seq = cmd = self.cmd_seq + 1
                        ts = c.ts
                        if full:
                            self._accept(c, cmd, ts)
                        if book.place(c, qty, limit, cmd, ts) and (state.buy_stops or state.sell_stops):
                            self._trigger_swept(state, cmd, ts)
                        continue
                elif command is CancelOrder and not self._sessions:
                    o = live.get(c.order_id)
                    if o is None:
                        self.cmd_seq = cmd = self.cmd_seq + 1
                        if full:
                            self._reject(cmd, c.ts, c.order_id, c.account, REJECT_UNKNOWN_ORDER)
                        continue
                    if o.account == c.account and o.kind is LIMIT:
                        self.cmd_seq = cmd = self.cmd_seq + 1
                        series[o.series].book.cancel(o, cmd, c.ts, CANCEL_USER)
                        continue
                dispatch[command](c)
        except KeyError:
            if type(c) in dispatch:  # raised inside a command's method, not by the lookup
                raise
            return cmds.index(c)  # a venue command
        return len(cmds)

    def handlers(self) -> dict[type, Callable]:
        """The method each command type goes to (what `apply` dispatches
        on; `cfx.venue.Venue` adds its own commands to a copy)."""
        return dict(self._dispatch)

    def _reject(
        self, cmd: int, ts: int, order_id: int, account: int, reason: RejectReason, series: str | None = None
    ) -> None:
        if self._full:
            self._emit(OrderRejected(next(self._seq), cmd, ts, order_id, account, reason, series))

    def submit(self, c: SubmitOrder) -> None:
        """A new order: expire due GTD orders, bring its session up to
        ``c.ts``, validate, ask the risk gate, then match or collect it.
        Runtime complexity: O(1) amortised for an order that rests (O(log
        levels) at a new price), O(fills + levels swept · log levels) for
        one that trades, plus the stops it triggers; a call collects it in
        O(levels it can cross) for the indicative."""
        self.cmd_seq = cmd = self.cmd_seq + 1
        ts = c.ts
        if self._gtd and self._gtd[0][0] <= ts:
            self._expire_gtd(cmd, ts)
        try:  # a subscript costs nothing more unless raised (a get is a method call per order)
            state = self._series[c.series]
        except KeyError:
            self._reject(cmd, ts, c.order_id, c.account, RejectReason.UNKNOWN_SERIES, c.series)
            return
        session = state.session
        if session is not None:  # `_advance_session`, written out (a call per order)
            if state.batch_ns:
                self._advance_batched(state, cmd, ts)
            else:
                for t in session.advance(ts):
                    self._on_transition(state, t, cmd)
        book = state.book
        # validation (cfx/validation.py), then the risk gate
        reason = submit_reason(c, state.rules, state.price_band, book.last_price, self._live)
        if reason is PLAIN:  # valid (`apply_batch` sends it to the book itself where it can)
            reason = None
        if reason is None and self.risk_check is not None:
            reason = self.risk_check(c)
        if reason is not None:
            self._reject(cmd, ts, c.order_id, c.account, reason, c.series)
            if reason is PRICE_OUTSIDE_BAND and state.rules.band_expand_pct:
                self._limit_hit(state, c.price, cmd, ts)
            return
        if session is not None and (
            state.batch_ns or (session.state is not CONTINUOUS and session.state is not SETTLEMENT_WINDOW)
        ):
            self._submit_in_call(state, c, cmd, ts)
            return
        kind = c.kind
        tif = c.tif
        if c.post_only and book.crosses(c.side, c.price):
            self._reject(cmd, ts, c.order_id, c.account, RejectReason.POST_ONLY_WOULD_CROSS, c.series)
            return
        if tif is FOK and (kind is LIMIT or kind is MARKET):
            side = c.side
            limit = self._guard(state, side, self._market_limit(state, side) if kind is MARKET else c.price, ts)
            if not book.fillable(side, limit, c.account, c.stp, c.qty):
                self._reject(cmd, ts, c.order_id, c.account, RejectReason.FOK_CANNOT_FILL, c.series)
                return
        if self._full:
            self._accept(c, cmd, ts)
        # a limit or market order meets the book as its command: the book builds its Order if it rests
        if kind is LIMIT or kind is MARKET:  # what _enter does, written out for these
            limit = c.price if kind is LIMIT else self._market_limit(state, c.side)
            if state.breaker is None:
                traded = book.place(c, c.qty, limit, cmd, ts)
            else:
                traded = self._place_guarded(state, c, c.qty, limit, cmd, ts)
            if tif is GTD:
                self._expires(c.order_id)
            if traded and (state.buy_stops or state.sell_stops):
                self._trigger_swept(state, cmd, ts)
        else:  # a stop waits, off the book, as an Order of the engine's
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
                tif,
                c.stp,
                c.post_only,
                c.stop_price,
                c.expire_ns,
            )
            self._live[c.order_id] = order
            if c.side is BUY:
                heappush(state.buy_stops, (c.stop_price, next(self._arrival), order))
            else:
                heappush(state.sell_stops, (-c.stop_price, next(self._arrival), order))
            if tif is GTD:
                heappush(self._gtd, (c.expire_ns, next(self._arrival), order))
            last = book.last_price
            if last is not None:  # already through its trigger: it enters now
                self._trigger_stops(state, cmd, ts, last, last)

    def _accept(self, c: SubmitOrder, cmd: int, ts: int) -> None:
        """The `OrderAccepted` of an order about to meet the book (a full engine's: a trades-only one has none)."""
        self._emit(
            OrderAccepted(
                next(self._seq),
                cmd,
                ts,
                c.series,
                c.order_id,
                c.account,
                c.side,
                c.kind,
                c.tif,
                c.price,
                c.qty,
                c.display_qty,
                c.stop_price,
            )
        )

    def _expires(self, order_id: int) -> None:
        """A GTD order just entered: if it rests, it expires at its ``expire_ns``."""
        o = self._live.get(order_id)
        if o is not None:
            heappush(self._gtd, (o.expire_ns, next(self._arrival), o))

    def _enter(self, state: SeriesState, order: Entering, qty: int, cmd: int, ts: int) -> None:
        """An accepted (or re-priced) order meets the book; a market order is
        stopped at the price band's edge. Then the stops its trades reached."""
        if self._place(state, order, qty, cmd, ts) and (state.buy_stops or state.sell_stops):
            self._trigger_swept(state, cmd, ts)

    def _place(self, state: SeriesState, order: Entering, qty: int, cmd: int, ts: int) -> int:
        """`OrderBook.place` under the band and the breaker; returns the quantity traded."""
        limit = self._market_limit(state, order.side) if order.kind is MARKET else order.price
        if state.breaker is not None:
            traded = self._place_guarded(state, order, qty, limit, cmd, ts)
        else:
            traded = state.book.place(order, qty, limit, cmd, ts)
        if order.tif is GTD:
            self._expires(order.order_id)
        return traded

    def _trigger_swept(self, state: SeriesState, cmd: int, ts: int) -> None:
        """Stops reached by the sweep that just traded (a sweep moves one way:
        its first and last prices bound every price it traded at)."""
        first, last = state.book.first_price, state.book.last_price
        self._trigger_stops(state, cmd, ts, min(first, last), max(first, last))

    def _trigger_stops(self, state: SeriesState, cmd: int, ts: int, low: int, high: int) -> None:
        """Enter, one at a time, every stop that a price traded in this
        command reached: a buy stop at or below ``high``, a sell stop at or
        above ``low`` (buys first, nearest trigger first, then by arrival).
        A triggered stop's own trades widen [``low``, ``high``]."""
        live = self._live
        book = state.book
        while True:
            buys, sells = state.buy_stops, state.sell_stops
            while buys and live.get(buys[0][2].order_id) is not buys[0][2]:
                heappop(buys)
            while sells and live.get(sells[0][2].order_id) is not sells[0][2]:
                heappop(sells)
            if buys and buys[0][0] <= high:
                order = heappop(buys)[2]
            elif sells and -sells[0][0] >= low:
                order = heappop(sells)[2]
            else:
                return
            del live[order.order_id]
            self._emit(
                OrderTriggered(next(self._seq), cmd, ts, order.series, order.order_id, order.account, order.stop_price)
            )
            order.kind = MARKET if order.kind is STOP_MARKET else LIMIT
            qty = order.qty
            order.qty = 0
            if self._place(state, order, qty, cmd, ts):
                low = min(low, book.first_price, book.last_price)
                high = max(high, book.first_price, book.last_price)

    def cancel(self, c: CancelOrder) -> None:
        """Cancel a live order of the sender's (resting, pending stop or
        waiting for an auction). Runtime complexity: O(1) (the order stays
        in its level's queue as a dead entry, skipped later)."""
        self.cmd_seq = cmd = self.cmd_seq + 1
        ts = c.ts
        if self._gtd and self._gtd[0][0] <= ts:
            self._expire_gtd(cmd, ts)
        oid = c.order_id
        if self._sessions:
            o, session = self._order_and_session(oid, cmd, ts)
        else:  # no series has a session (a replay): nothing to catch up with first
            o, session = self._live.get(oid), None
        if o is None:
            if self._full:
                self._emit(OrderRejected(next(self._seq), cmd, ts, oid, c.account, REJECT_UNKNOWN_ORDER))
            return
        if o.account != c.account:
            self._reject(cmd, ts, oid, c.account, RejectReason.NOT_OWNER, o.series)
            return
        if session is not None and not session.allows_cancel():
            self._reject(cmd, ts, oid, c.account, session.reject_reason(), o.series)
            return
        state = self._series[o.series]
        if o.kind is LIMIT:
            state.book.cancel(o, cmd, ts, CANCEL_USER)
        else:
            self._cancel(o, cmd, ts, CANCEL_USER)
        if session is not None and state.collecting():
            self._publish_indicative(state, cmd, ts)

    def _order_and_session(self, order_id: int, cmd: int, ts: int) -> tuple[Order | None, SessionMachine | None]:
        """The live order and its series' session (None: it has none), once
        the session has caught up with ``ts`` (an uncross may have filled it)."""
        o = self._live.get(order_id)
        if not self._sessions or o is None:
            return o, None
        state = self._series[o.series]
        if state.session is None:
            return o, None
        self._advance_session(state, cmd, ts)
        return self._live.get(order_id), state.session

    def _cancel(self, o: Order, cmd: int, ts: int, reason: CancelReason) -> None:
        if o.kind is not LIMIT:  # a pending stop, or a market order waiting for an auction
            del self._live[o.order_id]  # its heap or auction entry is dropped lazily
            self._emit(OrderCancelled(next(self._seq), cmd, ts, o.series, o.order_id, o.account, o.qty, reason))
        else:
            self._series[o.series].book.cancel(o, cmd, ts, reason)

    def modify(self, c: ModifyOrder) -> None:
        """Cancel-replace a resting limit order (see the module docstring for
        priority). Runtime complexity: O(1) for a decrease at the same
        price; otherwise a cancel and a `submit`'s matching."""
        self.cmd_seq = cmd = self.cmd_seq + 1
        ts = c.ts
        if self._gtd and self._gtd[0][0] <= ts:
            self._expire_gtd(cmd, ts)
        # `_order_and_session`, written out (a call and a tuple per modify)
        live = self._live
        o = live.get(c.order_id)
        session = None
        if o is not None and self._sessions:
            state = self._series[o.series]
            session = state.session
            if session is not None:  # `_advance_session`, written out
                if state.batch_ns:
                    self._advance_batched(state, cmd, ts)
                else:
                    for t in session.advance(ts):
                        self._on_transition(state, t, cmd)
                o = live.get(c.order_id)  # an uncross may have filled it
        reason = None
        if o is None:
            reason = RejectReason.UNKNOWN_ORDER
        elif o.account != c.account:
            reason = RejectReason.NOT_OWNER
        elif o.kind is not LIMIT:
            reason = RejectReason.NOT_MODIFIABLE
        elif session is not None and not session.allows_modify():
            reason = session.reject_reason()
        else:
            state = self._series[o.series]
            reason = modify_reason(c, state.rules, state.price_band, state.book.last_price)
            if reason is None and o.post_only and c.price != o.price and state.book.crosses(o.side, c.price):
                reason = RejectReason.POST_ONLY_WOULD_CROSS
            elif reason is None and self.risk_check is not None and c.qty > o.qty + o.hidden:
                # the increase is new exposure: the risk gate sees it as a new order of that size
                reason = self.risk_check(
                    SubmitOrder(ts, o.series, o.order_id, o.account, o.side, c.qty - o.qty - o.hidden, c.price)
                )
        if reason is not None:
            self._reject(cmd, ts, c.order_id, c.account, reason, None if o is None else o.series)
            if reason is PRICE_OUTSIDE_BAND and state.rules.band_expand_pct:
                self._limit_hit(state, c.price, cmd, ts)
            return
        book = state.book
        open_qty = o.qty + o.hidden
        if c.price == o.price and c.qty <= open_qty:
            if c.qty < open_qty:
                book.reduce(o, c.qty, cmd, ts)
            self._emit(OrderModified(next(self._seq), cmd, ts, o.series, o.order_id, o.account, c.price, c.qty, True))
            if session is not None and state.collecting():
                self._publish_indicative(state, cmd, ts)
            return
        book.cancel(o, cmd, ts, None)
        self._emit(OrderModified(next(self._seq), cmd, ts, o.series, o.order_id, o.account, c.price, c.qty, False))
        # re-enter as a fresh Order: the old one stays in its level's deque as a
        # cancelled (qty 0) entry, and must never come back to life there
        fresh = _replace(o, price=c.price)
        if session is not None and (not session.allows_matching() or state.batch_ns):
            book.rest(fresh, c.qty, cmd, ts)  # collected for the call auction or the next batch
            if o.tif is IOC and state.batching():
                state.batch_ioc.append(fresh)
            self._publish_indicative(state, cmd, ts)
            return
        # `_enter` of a limit order, written out
        if state.breaker is None:
            traded = book.place(fresh, c.qty, c.price, cmd, ts)
        else:
            traded = self._place_guarded(state, fresh, c.qty, c.price, cmd, ts)
        if fresh.tif is GTD:
            self._expires(fresh.order_id)
        if traded and (state.buy_stops or state.sell_stops):
            self._trigger_swept(state, cmd, ts)

    def mass_cancel(self, c: MassCancel) -> None:
        """Cancel every live order (resting or pending stop) of the account
        and/or series, in the order they became live."""
        self.cmd_seq = cmd = self.cmd_seq + 1
        if self._gtd and self._gtd[0][0] <= c.ts:
            self._expire_gtd(cmd, c.ts)
        self._advance_batches(cmd, c.ts)
        touched = set()
        for o in [
            o
            for o in self._live.values()
            if (c.account is None or o.account == c.account) and (c.series is None or o.series == c.series)
        ]:
            self._cancel(o, cmd, c.ts, CancelReason.MASS_CANCEL)
            touched.add(o.series)
        for series in sorted(touched):
            state = self._series[series]
            if state.collecting():
                self._publish_indicative(state, cmd, c.ts)

    def end_of_day(self, c: EndOfDay) -> None:
        """The session ends: DAY orders expire."""
        self.cmd_seq = cmd = self.cmd_seq + 1
        if self._gtd and self._gtd[0][0] <= c.ts:
            self._expire_gtd(cmd, c.ts)
        self._advance_batches(cmd, c.ts)
        self._expire_day_orders(c.series, cmd, c.ts)

    def _expire_day_orders(self, series: str | None, cmd: int, ts: int) -> None:
        """DAY orders of ``series`` (None: every series) expire, in the order they became live."""
        for o in [o for o in self._live.values() if o.tif is DAY and (series is None or o.series == series)]:
            self._cancel(o, cmd, ts, CancelReason.EXPIRY)

    def advance_time(self, c: AdvanceTime) -> None:
        """Tell the engine the time: due GTD orders expire, and every series'
        session moves on (open, close, a halt's end, auctions uncross)."""
        self.cmd_seq = cmd = self.cmd_seq + 1
        if self._gtd and self._gtd[0][0] <= c.ts:
            self._expire_gtd(cmd, c.ts)
        for state in self._series.values():
            if state.session is not None:
                self._advance_session(state, cmd, c.ts)

    def _expire_gtd(self, cmd: int, ts: int) -> None:
        gtd = self._gtd
        live = self._live
        while gtd and gtd[0][0] <= ts:
            o = heappop(gtd)[2]
            if live.get(o.order_id) is o:
                self._cancel(o, cmd, ts, CancelReason.EXPIRY)
                state = self._series[o.series]
                if state.collecting():
                    self._publish_indicative(state, cmd, ts)
