"""The exchange as one deterministic state machine: the matching engine and
the clearing house driven by a single stream of commands.

This is what a run journals and what `cfx replay RUN/journal` rebuilds
(LMAX-style): every input — orders from participants, listings, deposits,
the daily settlement run with that day's index fixings — is a command, so
replaying the journal through a fresh `Venue` reproduces every event, bit
for bit. The commands a settlement run calls for (cancelling a defaulter's
orders, the cancels when a series delists) are not applied by the venue
itself: `take_commands` hands them to the caller, which journals and sends
them like every other command (so a replay applies them from the journal).

Pipeline per command, wired here and nowhere else: journal (when the venue
has one, the record is written before anything is applied) → risk (the
clearing house's credit check, the risk gate the engine is built with) →
matching → clearing (positions, fees, open-order exposure) → events.
`Venue.apply` returns the command's events, the engine's followed by the
clearing house's, in the order they happened; the venue owns the one event
sink the engine and its books append to, and empties it before returning.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from cfx.book import OrderBook
from cfx.clearing import ClearingConfig, ClearingHouse
from cfx.engine import Engine
from cfx.products import Series
from cfx.protections import VelocityBreaker
from cfx.session import SessionSchedule
from cfx.types import (
    AdvanceTime,
    CancelOrder,
    Command,
    EndOfDay,
    ListSeries,
    MassCancel,
    ModifyOrder,
    RejectReason,
    SetAccountStp,
    Side,
    SubmitOrder,
    Msg,
    Timestamp,
)


compiled_on_events = CreditGate = EnginePath = None
"""cfx/clearing/_clearing.pyx's `on_events`, the compiled twin of
`ClearingHouse.on_events`, and `CreditGate`, of `ClearingHouse.credit_check`;
cfx/_engine.pyx's `EnginePath`, of `Engine.submit`, `Engine.modify` and
`Engine.cancel`: what a venue on the compiled books uses (None: not built,
or ``CFX_NO_EXTENSION``)."""
if not os.environ.get("CFX_NO_EXTENSION"):
    try:
        from cfx.clearing._clearing import CreditGate, on_events as compiled_on_events
    except ImportError:
        pass
    try:
        from cfx._engine import EnginePath
    except ImportError:
        pass

NonNegative = Annotated[int, Meta(ge=0)]
"""Limits live in the types: a journal record outside them is a decode
error naming the record and field; cross-field checks are in
``__post_init__`` (msgspec makes them validation errors too)."""


class ConfigureClearing(Msg):
    """The clearing house's settings; the first line of a run's journal."""

    config: ClearingConfig


class ListContract(Msg):
    """List a futures series: a book in the engine (with its price band and
    largest order) and a series in clearing (``reference_price`` stands for
    the previous settlement until the first one). The band fields are
    `ListSeries`'s."""

    ts: Timestamp
    spec: Series
    reference_price: Annotated[int, Meta(ge=1)]
    max_qty: Annotated[int, Meta(ge=1)] = 10_000
    band_low: Annotated[int, Meta(ge=1)] | None = None
    band_high: Annotated[int, Meta(ge=1)] | None = None
    band_moving: bool = False
    auction_tie_break: Literal["reference", "cme"] = "reference"
    band_expand_pct: NonNegative = 0
    band_hits: Annotated[int, Meta(ge=1)] = 3
    band_halt_ns: NonNegative = 120_000_000_000
    band_max_expansions: NonNegative = 2

    def __post_init__(self) -> None:
        if (self.band_low is None) != (self.band_high is None):
            raise ValueError("band-low and band-high are given together or not at all")
        if self.band_low is not None and self.band_low > self.band_high:
            raise ValueError(f"band_low ({self.band_low}) is above band_high ({self.band_high})")


class OpenAccount(Msg):
    ts: Timestamp
    account: int
    deposit: NonNegative  # micro-dollars


class Deposit(Msg):
    ts: Timestamp
    account: int
    amount: NonNegative  # micro-dollars


class SettleDay(Msg):
    """The daily settlement run after the close: ``fixings`` are the day's
    index values (micro-$/GPU-hour) by index name; trades in
    [``window_start``, ``window_end``) set the VWAP tier; ``finals`` are the
    final settlement prices (ticks) of series expiring today; ``expected``
    the expected final settlement (ticks) of the others, which the index
    tier moves by (see `ClearingHouse.settle_day`)."""

    ts: Timestamp
    date: dt.date
    fixings: dict[str, int]
    window_start: Timestamp
    window_end: Timestamp
    finals: dict[str, int] = {}
    expected: dict[str, int] = {}


class RecordFixings(Msg):
    """Index values of a past day (history before the first settlement run:
    the volatility lookback of initial margin)."""

    ts: Timestamp
    date: dt.date
    fixings: dict[str, int]


class ConfigureSession(Msg):
    """A listed series' trading day (times as ns since midnight UTC:
    pre-open, open, settlement window start, close) and its velocity
    circuit breaker (``breaker_ticks`` 0 = none): a trade more than that
    many ticks from the price ``breaker_window_ns`` ago halts the series
    for ``breaker_halt_ns``, then it reopens with a call auction.
    ``batch_interval_ns`` > 0 trades it by periodic batch auctions (cfx/batch.py)."""

    ts: Timestamp
    series: str
    pre_open: int
    open: int
    settlement_start: int
    close: int
    breaker_ticks: NonNegative = 0
    breaker_window_ns: Annotated[int, Meta(ge=1)] = 60_000_000_000
    breaker_halt_ns: NonNegative = 120_000_000_000
    batch_interval_ns: NonNegative = 0

    def __post_init__(self) -> None:
        if not self.pre_open <= self.open <= self.settlement_start <= self.close:
            raise ValueError("expected pre_open <= open <= settlement_start <= close")


class PayFunding(Msg):
    """A perpetual's funding interval: positions in ``series`` pay or
    receive ``rate`` (1e-8 units) at ``mark`` ticks through clearing
    (`ClearingHouse.pay_funding`); journaled like every command."""

    ts: Timestamp
    series: str
    mark: int
    rate: int


class UpdateMark(Msg):
    """A perpetual's new mark price (ticks) with the index (ticks) and the
    premium sample (1e-8 units) it came from (cfx/sim/perpetual.py):
    clearing records it and liquidates on it (`ClearingHouse.update_mark`);
    the defaults it declares call for commands (`Venue.take_commands`)."""

    ts: Timestamp
    date: dt.date
    series: str
    index: int
    mark: int
    premium: int


class KillSwitch(Msg):
    """Halt every series until ``until`` (None: until `LiftHalts`)."""

    ts: Timestamp
    until: Timestamp | None = None


class LiftHalts(Msg):
    ts: Timestamp


VenueCommand = (
    Command
    | ConfigureClearing
    | ListContract
    | ConfigureSession
    | KillSwitch
    | LiftHalts
    | OpenAccount
    | Deposit
    | RecordFixings
    | SettleDay
    | PayFunding
    | UpdateMark
)
command_decoder = msgspec.json.Decoder(VenueCommand)

ENGINE_COMMANDS = (SubmitOrder, CancelOrder, ModifyOrder, MassCancel, EndOfDay, AdvanceTime, ListSeries, SetAccountStp)


class Venue:
    """Engine + clearing behind one `apply`.

    - `apply(cmd)`, `apply_batch(cmds)`: the one way in; each returns the
      events the commands caused.
    - `take_commands`: what the last settlement run calls for.
    - ``engine``, ``clearing``, ``journal``: the stages, for queries.

    The engine is built with the clearing house's credit check as its risk
    gate (``risk=False``: none, a plain order-flow replay; ``trades_only``:
    the engine's events are its trades alone, what a throughput replay
    reads, see `cfx.engine.Engine`; ``book_type`` the engine's book class,
    the Python reference or the compiled one, see `cfx.core.book_type`;
    with the compiled books a command's events go into clearing by the
    compiled twin of `ClearingHouse.on_events`, and its gate is the
    compiled `CreditGate`, cfx/clearing/_clearing.pyx; its submits,
    modifies and cancels go to the compiled twin of the engine's methods,
    cfx/_engine.pyx's `EnginePath`). Until a contract
    is listed with `ListContract` clearing is idle and the gate passes
    every order. ``journal`` (anything with ``write(cmd)``, e.g.
    `cfx.journal.Journal`) gets every command before it is applied; it is
    not pickled with the venue (a checkpoint's resume gives it again)."""

    def __init__(
        self,
        clearing: ClearingConfig | None = None,
        *,
        journal: Any = None,
        risk: bool = True,
        trades_only: bool = False,
        book_type: type | None = None,
    ) -> None:
        self._events: list = []  # the one event sink: the engine's books and the clearing house's events
        self.clearing = ClearingHouse(clearing)
        # the compiled twin of `ClearingHouse.on_events` with the compiled books (the same choice)
        self._compiled_clearing = compiled_on_events is not None and book_type not in (None, OrderBook)
        self.engine = Engine(
            risk_check=self._credit_check if risk else None,
            sink=self._events,
            trades_only=trades_only,
            book_type=book_type,
        )
        self.journal = journal
        self._clearing_on = False
        self._commands: list = []  # what the last settlement run calls for, for the caller to send
        self._dispatch = dict(self.engine.handlers())
        self._dispatch.update(
            {
                ConfigureClearing: self._configure,
                ListContract: self._list_contract,
                OpenAccount: self._open_account,
                Deposit: self._deposit,
                ConfigureSession: self._configure_session,
                KillSwitch: self._kill_switch,  # methods, not lambdas: a checkpoint pickles the venue
                LiftHalts: self._lift_halts,
                RecordFixings: self._record_fixings,
                SettleDay: self._settle_day,
                PayFunding: self._pay_funding,
                UpdateMark: self._update_mark,
            }
        )
        # the compiled twin of the engine's commonest commands, with the compiled books (the same choice)
        self._compiled_engine = EnginePath is not None and book_type not in (None, OrderBook)
        if self._compiled_engine:
            path = EnginePath(self.engine)
            self._dispatch.update({SubmitOrder: path.submit, ModifyOrder: path.modify, CancelOrder: path.cancel})

    def _kill_switch(self, c: KillSwitch) -> None:
        self.engine.halt_all(c.ts, c.until)

    def _pay_funding(self, c: PayFunding) -> None:
        self.clearing.pay_funding(c.series, c.mark, c.rate, c.ts)

    def _update_mark(self, c: UpdateMark) -> None:
        self._commands.extend(self.clearing.update_mark(c.series, c.index, c.mark, c.premium, c.ts, c.date))

    def _lift_halts(self, c: LiftHalts) -> None:
        self.engine.lift_halts(c.ts)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["journal"] = None  # a file being written: the resumed run gives its own
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._compiled_clearing = self._compiled_clearing and compiled_on_events is not None  # resumed without it

    def _credit_check(self, c: SubmitOrder) -> RejectReason | None:
        """The engine's risk gate until a contract is listed (every order
        passes); the listing gives the engine `ClearingHouse.credit_check` itself."""
        return self.clearing.credit_check(c) if self._clearing_on else None

    def apply(self, cmd: VenueCommand) -> list:
        """Journal ``cmd``, apply it (risk, matching, clearing) and return
        its events in order. A refused order is an `OrderRejected` event;
        an exception means an impossible command (e.g. a second
        `ConfigureClearing`). Runtime complexity: the engine's for the
        command, plus O(events) for clearing."""
        if self.journal is not None:
            self.journal.write(cmd)
        events = self._events
        self._dispatch[type(cmd)](cmd)
        if self._clearing_on:  # the engine's events so far: clearing has seen its own
            clearing = self.clearing
            if self._compiled_clearing:
                compiled_on_events(clearing, events)
            else:
                clearing.on_events(events)
            if clearing.events:  # `_take_clearing_events`, written out: most commands have none
                events.extend(clearing.events)
                clearing.events.clear()
        out = events[:]
        events.clear()
        return out

    def apply_batch(self, cmds: list) -> list:
        """`apply` each of ``cmds`` in order and return all their events.
        While clearing is idle and there is no journal, engine commands go
        to the engine's own loop (`Engine.apply_batch`, the replay's hot
        loop: the same events) up to the first venue command. Runtime
        complexity: the sum of the commands' `apply`."""
        out: list = []
        if not (self._clearing_on or self.journal is not None):
            events = self._events
            done = self.engine.apply_batch(cmds)
            out = events[:]
            events.clear()
            cmds = cmds[done:]  # from a venue command on (a listing may switch clearing on): one at a time
        for c in cmds:
            out += self.apply(c)
        return out

    def take_commands(self) -> list:
        """The commands the last settlement run calls for (cancel a
        defaulter's orders, a delisted series' orders), for the caller to
        journal and `apply` in order; taken once."""
        out, self._commands = self._commands, []
        return out

    def _take_clearing_events(self) -> None:
        if self.clearing.events:
            self._events.extend(self.clearing.events)
            self.clearing.events.clear()

    def _configure(self, c: ConfigureClearing) -> None:
        if self._clearing_on:
            raise ValueError("clearing is configured once, before the first listing")
        self.clearing = ClearingHouse(c.config)

    def _list_contract(self, c: ListContract) -> None:
        self.engine.list_series(
            ListSeries(
                symbol=c.spec.symbol,
                ts=c.ts,
                max_qty=c.max_qty,
                band_low=c.band_low,
                band_high=c.band_high,
                band_moving=c.band_moving,
                reference=c.reference_price,
                auction_tie_break=c.auction_tie_break,
                band_expand_pct=c.band_expand_pct,
                band_hits=c.band_hits,
                band_halt_ns=c.band_halt_ns,
                band_max_expansions=c.band_max_expansions,
            )
        )
        self.clearing.list_series(c.spec, c.reference_price)
        self._clearing_on = True
        if self.engine.risk_check is not None:  # the gate asks clearing itself from now on (a call less per order)
            clearing = self.clearing
            self.engine.risk_check = CreditGate(clearing) if self._compiled_clearing else clearing.credit_check

    def _configure_session(self, c: ConfigureSession) -> None:
        schedule = SessionSchedule(pre_open=c.pre_open, open=c.open, settlement_start=c.settlement_start, close=c.close)
        breaker = VelocityBreaker(c.breaker_ticks, c.breaker_window_ns, c.breaker_halt_ns) if c.breaker_ticks else None
        self.engine.configure_session(c.series, schedule, c.ts, breaker=breaker, batch_interval_ns=c.batch_interval_ns)

    def _open_account(self, c: OpenAccount) -> None:
        self.clearing.open_account(c.account, c.deposit, c.ts)

    def _deposit(self, c: Deposit) -> None:
        self.clearing.deposit(c.account, c.amount, c.ts)

    def _record_fixings(self, c: RecordFixings) -> None:
        for name, value in c.fixings.items():
            self.clearing.record_fixing(c.date, name, value)

    def _settle_day(self, c: SettleDay) -> None:
        """The settlement run, with the close's quotes. A series' quotes may
        not set the mid tier when its book is stale (no trade since the last
        run) or one participant's (a single account holds the best bid and
        the best ask): then the next tier applies."""
        quotes = {}
        stale = set()
        clearing = self.clearing
        for symbol in clearing.live_series():
            book = self.engine.book(symbol)
            bid, ask = book.best_bid(), book.best_ask()
            quotes[symbol] = (bid, ask)
            if bid is None or ask is None:
                continue
            owners = {
                o.account for side, p in ((Side.BUY, bid), (Side.SELL, ask)) for o in book.orders_at(side, p) if o.qty
            }
            if len(owners) < 2 or not clearing.traded_today(symbol):
                stale.add(symbol)
        self._commands.extend(
            clearing.settle_day(
                c.date,
                c.ts,
                fixings=c.fixings,
                quotes=quotes,
                window=(c.window_start, c.window_end),
                finals=c.finals,
                stale=stale,
                expected=c.expected,
            )
        )
        self._take_clearing_events()
