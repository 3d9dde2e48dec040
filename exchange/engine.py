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
order may trade as the aggressor. Pending stops cannot be modified (cancel
and resubmit). Self-trade prevention uses the aggressing order's mode, or
its account's default, or cancel-aggressing (CME's default: the newest
order is cancelled).
"""

from __future__ import annotations

from heapq import heappop, heappush
from itertools import count
from typing import Callable

import msgspec

from exchange.book import Order, OrderBook
from exchange.types import (
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
    RejectReason,
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
REJECT_UNKNOWN_ORDER = RejectReason.UNKNOWN_ORDER

RiskCheck = Callable[[SubmitOrder], "RejectReason | None"]


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
    state: str  # "resting" or "stop_pending"


class _SeriesState:
    """A book plus what the engine keeps beside it: rules and pending stops."""

    __slots__ = ("book", "rules", "buy_stops", "sell_stops")

    def __init__(self, book: OrderBook, rules: ListSeries) -> None:
        self.book = book
        self.rules = rules
        self.buy_stops: list = []  # heap of (stop_price, arrival, order)
        self.sell_stops: list = []  # heap of (-stop_price, arrival, order)


class Engine:
    """Routes commands to books and emits events.

    - `apply(cmd)`: any `Command`; or call `submit`, `cancel`, `modify`,
      `mass_cancel`, `end_of_day`, `advance_time` directly.
    - `events`: the events so far, and `trades` the trades among them;
      the caller takes and clears them.
    - `list_series`, `set_account_stp` (also commands), ``risk_check``: configuration.
    - `book(series)`, `status(order_id)`: queries.
    """

    def __init__(self, risk_check: RiskCheck | None = None) -> None:
        self.events: list = []
        self.trades: list = []  # the Trade events among them, for consumers that want only those
        self.cmd_seq = 0
        self.risk_check = risk_check
        self._seq = count(1)
        self._live: dict[int, Order] = {}
        self._series: dict[str, _SeriesState] = {}
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

    def list_series(self, rules: ListSeries | str) -> OrderBook:
        """Open a book for a series, or replace its rules if it is listed
        (e.g. a new band after a settlement). Changes no order."""
        if isinstance(rules, str):
            rules = ListSeries(symbol=rules)
        self.cmd_seq = cmd = self.cmd_seq + 1
        if self._gtd and self._gtd[0][0] <= rules.ts:
            self._expire_gtd(cmd, rules.ts)
        state = self._series.get(rules.symbol)
        if state is None:
            book = OrderBook(rules.symbol, self._live, self.events, self._seq, self.trades, self._account_stp)
            state = self._series[rules.symbol] = _SeriesState(book, rules)
        else:
            state.rules = rules
        return state.book

    def set_account_stp(self, c: SetAccountStp) -> None:
        self.cmd_seq = cmd = self.cmd_seq + 1
        if self._gtd and self._gtd[0][0] <= c.ts:
            self._expire_gtd(cmd, c.ts)
        self._account_stp[c.account] = c.mode

    # ------------------------------------------------------------------ queries

    def book(self, series: str) -> OrderBook:
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
        return OrderStatus(o.order_id, o.account, o.series, o.side, o.kind, o.price, o.qty + o.hidden,
                           0 if pending else o.qty, o.filled, "stop_pending" if pending else "resting")

    def live_orders(self) -> list[Order]:
        return list(self._live.values())

    # ------------------------------------------------------------------ commands

    def apply(self, cmd: Command) -> None:
        self._dispatch[type(cmd)](cmd)

    def _reject(self, cmd: int, ts: int, order_id: int, account: int, reason: RejectReason,
                series: str | None = None) -> None:
        self.events.append(OrderRejected(next(self._seq), cmd, ts, order_id, account, reason, series))

    def submit(self, c: SubmitOrder) -> None:
        self.cmd_seq = cmd = self.cmd_seq + 1
        ts = c.ts
        gtd = self._gtd
        if gtd and gtd[0][0] <= ts:
            self._expire_gtd(cmd, ts)
        state = self._series.get(c.series)
        kind = c.kind
        tif = c.tif
        qty = c.qty
        price = c.price
        # the checks every order needs inline; the rarer options in _validate_options
        if state is None:
            reason = RejectReason.UNKNOWN_SERIES
        elif qty <= 0:
            reason = RejectReason.BAD_QUANTITY
        elif qty > state.rules.max_qty:
            reason = RejectReason.QUANTITY_TOO_LARGE
        elif c.order_id in self._live:
            reason = RejectReason.DUPLICATE_ORDER_ID
        elif kind is LIMIT and tif is not GTD and not (c.display_qty or c.post_only or c.stop_price or c.expire_ns):
            rules = state.rules
            if price <= 0:
                reason = RejectReason.BAD_PRICE
            elif rules.band_low is not None and (price < rules.band_low or price > rules.band_high):
                reason = RejectReason.PRICE_OUTSIDE_BAND
            else:
                reason = None
        else:
            reason = self._validate_options(c, state.rules)
        if reason is None and self.risk_check is not None:
            reason = self.risk_check(c)
        if reason is not None:
            self._reject(cmd, ts, c.order_id, c.account, reason, c.series)
            return
        book = state.book
        if c.post_only and book.crosses(c.side, price):
            self._reject(cmd, ts, c.order_id, c.account, RejectReason.POST_ONLY_WOULD_CROSS, c.series)
            return
        if tif is FOK and (kind is LIMIT or kind is MARKET):
            if kind is MARKET:  # a market order stops at the band's edge (see _enter)
                rules = state.rules
                limit = None if rules.band_low is None else rules.band_high if c.side is BUY else rules.band_low
            else:
                limit = price
            if not book.fillable(c.side, limit, c.account, c.stp, qty):
                self._reject(cmd, ts, c.order_id, c.account, RejectReason.FOK_CANNOT_FILL, c.series)
                return
        self.events.append(OrderAccepted(next(self._seq), cmd, ts, c.series, c.order_id, c.account, c.side,
                                         kind, tif, price, qty, c.display_qty, c.stop_price))
        order = Order(c.order_id, c.account, c.side, price, qty, c.series, 0, c.display_qty, kind, tif,
                      c.stp, c.post_only, c.stop_price, c.expire_ns)
        if kind is LIMIT:  # what _enter does, inlined for the commonest order
            trades = len(self.trades)
            book.place(order, qty, price, cmd, ts)
            if tif is GTD and order.qty:
                heappush(gtd, (order.expire_ns, next(self._arrival), order))
            if len(self.trades) != trades and (state.buy_stops or state.sell_stops):
                self._trigger_swept(state, cmd, ts)
        elif kind is MARKET:
            self._enter(state, order, qty, cmd, ts)
        else:
            self._live[c.order_id] = order
            if c.side is BUY:
                heappush(state.buy_stops, (c.stop_price, next(self._arrival), order))
            else:
                heappush(state.sell_stops, (-c.stop_price, next(self._arrival), order))
            if tif is GTD:
                heappush(gtd, (c.expire_ns, next(self._arrival), order))
            last = book.last_price
            if last is not None:  # already through its trigger: it enters now
                self._trigger_stops(state, cmd, ts, last, last)

    @staticmethod
    def _validate_options(c: SubmitOrder, rules: ListSeries) -> RejectReason | None:
        """Why to refuse an order that is not a plain limit order (market,
        stop, iceberg, post-only, GTD), or None. Series, quantity and id are
        already checked."""
        qty = c.qty
        kind = c.kind
        if kind is LIMIT or kind is STOP_LIMIT:
            price = c.price
            if price <= 0:
                return RejectReason.BAD_PRICE
            if rules.band_low is not None and (price < rules.band_low or price > rules.band_high):
                return RejectReason.PRICE_OUTSIDE_BAND
        elif c.price != 0:
            return RejectReason.BAD_PRICE
        if kind is STOP_LIMIT or kind is STOP_MARKET:
            if c.stop_price <= 0 or c.tif is FOK:  # a stop cannot promise all-or-nothing when it triggers
                return RejectReason.BAD_ORDER_TYPE
        elif c.stop_price:
            return RejectReason.BAD_ORDER_TYPE
        tif = c.tif
        if c.display_qty:
            if c.display_qty < 0 or c.display_qty > qty:
                return RejectReason.BAD_DISPLAY_QUANTITY
            if kind is not LIMIT or tif is IOC or tif is FOK:
                return RejectReason.BAD_ORDER_TYPE
        if c.post_only and (kind is not LIMIT or tif is IOC or tif is FOK):
            return RejectReason.BAD_ORDER_TYPE
        if tif is GTD:
            if c.expire_ns <= c.ts:
                return RejectReason.BAD_EXPIRY
        elif c.expire_ns:
            return RejectReason.BAD_EXPIRY
        return None

    def _enter(self, state: _SeriesState, order: Order, qty: int, cmd: int, ts: int) -> None:
        """An accepted (or re-priced) order meets the book; a market order is
        stopped at the price band's edge. Then the stops its trades reached."""
        trades = len(self.trades)
        self._place(state, order, qty, cmd, ts)
        if len(self.trades) != trades and (state.buy_stops or state.sell_stops):
            self._trigger_swept(state, cmd, ts)

    def _place(self, state: _SeriesState, order: Order, qty: int, cmd: int, ts: int) -> None:
        book = state.book
        if order.kind is MARKET:
            rules = state.rules
            limit = None if rules.band_low is None else rules.band_high if order.side is BUY else rules.band_low
        else:
            limit = order.price
        book.place(order, qty, limit, cmd, ts)
        if order.tif is GTD and order.qty:
            heappush(self._gtd, (order.expire_ns, next(self._arrival), order))

    def _trigger_swept(self, state: _SeriesState, cmd: int, ts: int) -> None:
        """Stops reached by the sweep that just traded (a sweep moves one way:
        its first and last prices bound every price it traded at)."""
        first, last = state.book.first_price, state.book.last_price
        self._trigger_stops(state, cmd, ts, min(first, last), max(first, last))

    def _trigger_stops(self, state: _SeriesState, cmd: int, ts: int, low: int, high: int) -> None:
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
            self.events.append(OrderTriggered(next(self._seq), cmd, ts, order.series, order.order_id,
                                              order.account, order.stop_price))
            order.kind = MARKET if order.kind is STOP_MARKET else LIMIT
            qty = order.qty
            order.qty = 0
            trades = len(self.trades)
            self._place(state, order, qty, cmd, ts)
            if len(self.trades) != trades:
                low = min(low, book.first_price, book.last_price)
                high = max(high, book.first_price, book.last_price)

    def cancel(self, c: CancelOrder) -> None:
        self.cmd_seq = cmd = self.cmd_seq + 1
        ts = c.ts
        if self._gtd and self._gtd[0][0] <= ts:
            self._expire_gtd(cmd, ts)
        o = self._live.get(c.order_id)
        if o is None:
            self.events.append(OrderRejected(next(self._seq), cmd, ts, c.order_id, c.account, REJECT_UNKNOWN_ORDER))
        elif o.account != c.account:
            self._reject(cmd, ts, c.order_id, c.account, RejectReason.NOT_OWNER, o.series)
        elif o.kind is LIMIT:
            self._series[o.series].book.cancel(o, cmd, ts, CANCEL_USER)
        else:
            self._cancel(o, cmd, ts, CANCEL_USER)

    def _cancel(self, o: Order, cmd: int, ts: int, reason: CancelReason) -> None:
        if o.kind is STOP_MARKET or o.kind is STOP_LIMIT:
            del self._live[o.order_id]  # its heap entry is dropped lazily
            self.events.append(OrderCancelled(next(self._seq), cmd, ts, o.series, o.order_id, o.account,
                                              o.qty, reason))
        else:
            self._series[o.series].book.cancel(o, cmd, ts, reason)

    def modify(self, c: ModifyOrder) -> None:
        self.cmd_seq = cmd = self.cmd_seq + 1
        ts = c.ts
        if self._gtd and self._gtd[0][0] <= ts:
            self._expire_gtd(cmd, ts)
        o = self._live.get(c.order_id)
        reason = None
        if o is None:
            reason = RejectReason.UNKNOWN_ORDER
        elif o.account != c.account:
            reason = RejectReason.NOT_OWNER
        elif o.kind is not LIMIT:
            reason = RejectReason.NOT_MODIFIABLE
        else:
            state = self._series[o.series]
            rules = state.rules
            if c.qty <= 0:
                reason = RejectReason.BAD_QUANTITY
            elif c.qty > rules.max_qty:
                reason = RejectReason.QUANTITY_TOO_LARGE
            elif c.price <= 0:
                reason = RejectReason.BAD_PRICE
            elif rules.band_low is not None and (c.price < rules.band_low or c.price > rules.band_high):
                reason = RejectReason.PRICE_OUTSIDE_BAND
            elif o.post_only and c.price != o.price and state.book.crosses(o.side, c.price):
                reason = RejectReason.POST_ONLY_WOULD_CROSS
        if reason is not None:
            self._reject(cmd, ts, c.order_id, c.account, reason, None if o is None else o.series)
            return
        book = state.book
        open_qty = o.qty + o.hidden
        if c.price == o.price and c.qty <= open_qty:
            if c.qty < open_qty:
                book.reduce(o, c.qty, cmd, ts)
            self.events.append(OrderModified(next(self._seq), cmd, ts, o.series, o.order_id, o.account,
                                             c.price, c.qty, True))
            return
        book.cancel(o, cmd, ts, None)
        self.events.append(OrderModified(next(self._seq), cmd, ts, o.series, o.order_id, o.account,
                                         c.price, c.qty, False))
        # re-enter as a fresh Order: the old one stays in its level's deque as a
        # cancelled (qty 0) entry, and must never come back to life there
        self._enter(state, msgspec.structs.replace(o, price=c.price), c.qty, cmd, ts)

    def mass_cancel(self, c: MassCancel) -> None:
        """Cancel every live order (resting or pending stop) of the account
        and/or series, in the order they became live."""
        self.cmd_seq = cmd = self.cmd_seq + 1
        if self._gtd and self._gtd[0][0] <= c.ts:
            self._expire_gtd(cmd, c.ts)
        for o in [o for o in self._live.values()
                  if (c.account is None or o.account == c.account) and (c.series is None or o.series == c.series)]:
            self._cancel(o, cmd, c.ts, CancelReason.MASS_CANCEL)

    def end_of_day(self, c: EndOfDay) -> None:
        """The session ends: DAY orders expire."""
        self.cmd_seq = cmd = self.cmd_seq + 1
        if self._gtd and self._gtd[0][0] <= c.ts:
            self._expire_gtd(cmd, c.ts)
        for o in [o for o in self._live.values() if o.tif is DAY and (c.series is None or o.series == c.series)]:
            self._cancel(o, cmd, c.ts, CancelReason.EXPIRY)

    def advance_time(self, c: AdvanceTime) -> None:
        self.cmd_seq = cmd = self.cmd_seq + 1
        if self._gtd and self._gtd[0][0] <= c.ts:
            self._expire_gtd(cmd, c.ts)

    def _expire_gtd(self, cmd: int, ts: int) -> None:
        gtd = self._gtd
        live = self._live
        while gtd and gtd[0][0] <= ts:
            o = heappop(gtd)[2]
            if live.get(o.order_id) is o:
                self._cancel(o, cmd, ts, CancelReason.EXPIRY)
