"""The discrete-event loop: agents, latency and the venue on one integer
nanosecond clock.

A schedule of items (`cfx.core.schedule`), taken in time order and at equal
times in the order pushed, drives everything: an order
reaching the venue, an agent's wake-up, the delivery of an agent's own order
events or of a market-data change after its latency, a top-of-book
snapshot, a shock. Nothing reads wall time; every random draw comes from
generators seeded by the scenario seed. Each trading day: agents wake from
the pre-open (their orders collect for the opening call auction), the venue
is told the time at the open, the settlement window and the close (its
session machine uncrosses, halts and closes the series), then the daily
settlement runs (`SettleDay`) with the day's index fixings; agents hear the
day's settlement prices and margin calls, which the loop takes from the
run's own events (`SettlementPrice`, `MarginCallIssued`). During the day the index
publisher (`cfx.sim.information`) publishes indicative index values on its
schedule; agents read them with their market-data latency.

Every command the venue receives is journaled first (`RunWriter.journal`),
so `cfx replay RUN/journal` rebuilds the run's event log exactly.

Latency: an agent's order reaches the venue ``entry_ns`` plus lognormal
jitter after it sends it; its own order events and market data reach it
``market_data_ns`` plus jitter after they happen. An agent's quotes are the
top of book as it was that long ago (`QuoteTape`), so stale quotes and queue
races arise on their own.

The routing of a command's events (`Simulation._route`, `_deliver`) and
the dispatch of the items (`Simulation._run_until`) have a compiled twin,
`cfx.sim._fanout.Fanout`, which a run takes whenever it takes the compiled
schedule (`Simulation._install_fanout`): the same items in the same order,
so the same run (baseline, 5 days: the routing ~12 % of the run's time in
Python, ~7 % compiled).
"""

from __future__ import annotations

import bisect
import datetime as dt
import importlib.util
import os
from functools import partial
from typing import Any, Callable

import numpy as np

from cfx.agents.base import DayReport, Quote, Trigger
from cfx.agents.compiled import agent_class
from cfx import core
from cfx.core import schedule
from cfx.products import (
    ListingCalendar,
    Series,
    business_days,
    final_settlement,
    first_business_days,
    month_days,
)
from cfx.sim import listing, shocks
from cfx.index.intraday import IntradayIndex
from cfx.sim.clock import NS, epoch_ns, minutes
from cfx.sim.information import IndexPublisher
from cfx.sim.liquidation import Liquidator
from cfx.sim.otc_desk import OtcDesk
from cfx.sim.perpetual import PerpetualDesk
from cfx.sim.outputs import RunWriter
from cfx.sim.participant import AgentContext, Participant
from cfx.sim.tape import BookTape, IndicativeTape, QuoteTape, TradeTape
from cfx.types import (
    AuctionUncrossed,
    AdvanceTime,
    BatchUncrossed,
    EndOfDay,
    IndicativeUncross,
    LevelChanged,
    MarginCallIssued,
    OrderAccepted,
    OrderCancelled,
    OrderModified,
    OrderRejected,
    OrderRested,
    OrderTriggered,
    PriceBandChanged,
    SeriesHalted,
    SessionState,
    SessionStateChanged,
    SetAccountStp,
    SettlementPrice,
    Side,
    Trade,
)
from cfx.units import NEVER_NS, micro
from cfx.venue import (
    ConfigureClearing,
    OpenAccount,
    RecordFixings,
    SettleDay,
    Venue,
)

ARRIVE, WAKE, DELIVER, MARKET_DATA, SNAPSHOT, CALL = range(6)
BUY, SELL = Side.BUY, Side.SELL  # module constants: an enum member read off its class costs ~10x (Python 3.11)
OWN_EVENTS = frozenset((OrderAccepted, OrderRejected, OrderCancelled, OrderModified, OrderTriggered))
FIRST_ACCOUNT = 1
CTX_C = "cfx.core._agentctx"  # the context's C interface, which the compiled context and agents cimport


def fanout_available() -> bool:
    """Is the compiled fan-out (`cfx.sim._fanout`) built, with the compiled context, its C interface
    (`cfx.sim._context`, `cfx.core._agentctx`) and core (`cfx.core.available`)? Looked for, not imported."""
    return core.available() and all(map(importlib.util.find_spec, ("cfx.sim._fanout", "cfx.sim._context", CTX_C)))


def compiled_loop() -> bool:
    """Does a run take the compiled fan-out and contexts (built, and ``CFX_ENGINE`` not ``python``)?"""
    return fanout_available() and os.environ.get("CFX_ENGINE") != "python"


class Simulation:
    """Runs a scenario: `run()` returns the summary's raw figures."""

    def __init__(
        self,
        scenario: Any,
        writer: RunWriter,
        *,
        fixings: dict[str, dict[dt.date, int]],
        intraday: IntradayIndex | None = None,
        on_progress: Callable[[int, int, int], None] | None = None,
        book_engine: str = "python",
        agent_engine: str = "python",
    ) -> None:
        self.sc = scenario
        self.writer = writer
        self.fixings = fixings  # index name (basket, SKU, SKU.region) -> date -> micro-$
        self.on_progress = on_progress
        self.book_engine = book_engine  # "python" or "compiled" (`cfx.core.choose_book`): the books the run is on
        self.venue = Venue(journal=writer.journal, book_type=core.book_type(book_engine))
        self.agent_engine = agent_engine  # "python" or "compiled" (`cfx.core.choose_agents`): its market makers
        self.now = 0
        self.schedule = schedule.new()  # items (ts, kind, a, b), kind one of ARRIVE ... CALL
        self._wake_window = (0, 0)  # [pre-open, close) of the day being run: the items only `_run_until` pops
        self._order_id = 0
        products = scenario.products
        self.batch_ns = listing.batch_interval_ns(products)
        self._batch_wake = -1  # the latest batch boundary a wake-up is scheduled for
        self.tick_micro = micro(products.tick_usd)
        self.calendar = ListingCalendar(
            start=scenario.calendar.start,
            baskets=list(products.baskets),
            months_ahead=products.months_ahead,
            contract_unit=products.contract_unit,
            tick_micro=self.tick_micro,
            settlement=products.settlement,
            window_days=products.window_days,
            listing=products.listing,
        )
        self.series: dict[str, Series] = {}  # listed, not yet expired
        self.tapes: dict[str, QuoteTape] = {}
        self.books: dict[str, BookTape] = {}  # series -> L2 as published
        self.trade_tapes: dict[str, TradeTape] = {}  # series -> public trades
        self.indicatives: dict[str, IndicativeTape] = {}  # series -> indicative uncross as published
        self._indicated: set[str] = set()  # series with an indicative published since their last publication
        self._indicative_watchers = 0  # agents whose triggers want indicatives (none: they touch no series)
        self.settlements: dict[str, int] = {}  # series -> latest daily settlement price, from SettlementPrice events
        self._calls: dict[int, int] = {}  # account -> margin call of the current settlement run, from MarginCallIssued
        self.participants: list[Participant] = []
        self.by_account: dict[int, Participant] = {}
        self.subscribers: list[Participant] = []
        self._printed: dict[str, int] = {}  # series -> trades on its tape at its last publication
        self.commands = 0
        self.today: dt.date = scenario.calendar.start
        self.published: dict[str, int] = {}  # index name -> latest official fixing, micro-$
        self.stats = {"engine_messages": 0, "wakeups": 0}
        self.window = (0, 0)  # today's settlement window, ns
        self.session_bounds = (0, 0)  # today's open and close, ns
        self._window_trades: dict[str, list[int]] = {}  # series -> [sum price*qty, qty] in the window
        self.volume: dict[str, int] = {}
        self.volume_by_account: dict[int, int] = {}  # contracts bought or sold, maker or taker
        self.trade_count = 0
        self.liquidation_fills = 0  # lots the clearing house's close-out orders got filled
        self.last_trade: dict[str, int] = {}  # series -> time of its last trade
        self.band_moves = 0  # bands re-centred on a stale book
        self.band_expansions = 0  # limit hits that widened a band
        self.reopenings = 0  # reopening call auctions (after a halt)
        self.uncrosses = 0  # call and batch auctions that traded
        self.expected_by_date: dict[tuple[dt.date, str], int] = {}  # expected final settlement at each run
        self.halts = 0
        self.rejects: dict[str, int] = {}
        self.book_stats: dict[str, dict[str, int]] = {}  # per series and per tenor ("front", "front+1", ...)
        self._expected_at_settle: dict[str, int] = {}  # series -> expected final settlement at the last run
        self.next_day = 0  # the first day `run` has still to simulate
        self._setup_agents()
        self.information = IndexPublisher(self, intraday)
        self.liquidator = Liquidator(self)
        self.otc = OtcDesk(self)  # requests for quote and forwards between principals and dealers
        self.perpetual = PerpetualDesk(self)  # perpetuals' marks and funding
        self._install_fanout()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        # the compiled fan-out's methods, if installed: bound to this run, installed afresh on load
        for name in ("_route", "_deliver", "_run_until", "wake"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._install_fanout()

    def _install_fanout(self) -> None:
        """`_route`, `_deliver`, `_run_until` and `wake` compiled
        (`cfx.sim._fanout.Fanout`: the same items in the same order) when it
        is built and allowed, by the rule of the compiled schedule it pushes
        onto and takes from (`cfx.core.schedule.new`); else the Python
        methods below, the reference."""
        if compiled_loop():
            from cfx.sim._fanout import Fanout

            fanout = Fanout(self)
            self._route, self._deliver, self._run_until = fanout.route, fanout.deliver, fanout.run_until
            self.wake = fanout.wake

    # ------------------------------------------------------------------ set-up

    def _setup_agents(self) -> None:
        """A participant per agent, its context `AgentContext` or (`compiled_loop`) its compiled twin."""
        seeds = np.random.SeedSequence(self.sc.seed).spawn(sum(s.count for s in self.sc.agents))
        account = FIRST_ACCOUNT
        k = 0
        context: type = AgentContext
        if compiled_loop():
            from cfx.sim import _context

            context = _context.Context
        for spec in self.sc.agents:
            cls = agent_class(spec, self.agent_engine)
            for i in range(spec.count):
                p = Participant(cls(spec, i), account, spec, np.random.default_rng(seeds[k]))
                p.ctx = context(self, p)
                self.participants.append(p)
                self.by_account[account] = p
                if cls.subscribes:
                    self.subscribers.append(p)
                account += 1
                k += 1

    def send(self, cmd: Any) -> None:
        """Send a command to the venue (which journals it, then applies it)
        and route its events: the one way a command reaches the venue
        (agents' orders on arrival, the day's schedule, settlement,
        close-outs and shocks)."""
        events = self.venue.apply(cmd)
        self.commands += 1
        if events:
            self._route(events)
            self.writer.write_events(events)
        if self.batch_ns:
            self._wake_for_batch()

    def _wake_for_batch(self) -> None:
        """Batch auctions: wake the venue at the next boundary with something to uncross (once per boundary)."""
        at = self.venue.engine.next_batch()
        if at is not None and at > self._batch_wake:
            self._batch_wake = at
            self.wake_venue_at(at)

    def arrive(self, ts: int, cmd: Any) -> None:
        """``cmd`` reaches the venue at ``ts`` (an agent's order, after its entry latency)."""
        self.schedule.push(ts, ARRIVE, cmd)

    def scheduled(self) -> list[tuple[int, int, Any, Any]]:
        """The items waiting, in the order they will run: ``(ts, kind, a, b)``."""
        return self.schedule.items()

    def wake(self, p: Participant, at: int) -> None:
        """``p``'s one wake-up is now at ``at``. Within the day being run an
        item already queued for ``p`` at that time (left by a wake-up that
        an earlier one superseded) pops before any pushed now and fires, so
        none is pushed: a third of the wake-ups asked for (a market maker's
        timer re-armed after each catch-up) cost no item. Outside it
        (after the close) every item is pushed: `_carry_wakeups` moves an
        agent once for each of its items due, as it always has. The
        reference: `_install_fanout` puts its compiled twin in its place."""
        p.wake_at = at
        lo, hi = self._wake_window
        if lo <= at < hi:
            queued = p.queued
            if at in queued:
                return
            queued.add(at)
        self.schedule.push(at, WAKE, p)

    def next_order_id(self) -> int:
        self._order_id += 1
        return self._order_id

    # ------------------------------------------------------------------ event routing

    def _route(self, events: list) -> None:
        """Own order events to their agents (after latency); top-of-book changes to the tape.
        Runtime complexity: O(events), then one delivery per agent concerned
        and one publication per series touched. The reference: with the
        extension built, `_install_fanout` puts its compiled twin in its place."""
        by_account = self.by_account
        books = self.books
        batches: dict[Participant, list] = {}
        touched: dict[str, None] = {}  # series in the order first touched (a set's order follows PYTHONHASHSEED)
        for e in events:  # by frequency: level changes, resting orders (only the tape's levels show them), ...
            t = type(e)
            if t is LevelChanged:
                book = books.get(e.series)
                if book is not None:
                    book.change(e.ts, e.side, e.price, e.qty)
            elif t is OrderRested:
                continue
            elif t in OWN_EVENTS:
                if t is OrderRejected:
                    self.rejects[e.reason.value] = self.rejects.get(e.reason.value, 0) + 1
                p = by_account.get(e.account)
                if p is not None:
                    batches.setdefault(p, []).append(e)
                if e.series is not None:
                    touched[e.series] = None
            elif t is Trade:
                touched[e.series] = None
                self._count_trade(e)
                maker, taker = e.maker_account, e.taker_account
                p = by_account.get(maker)
                if p is not None:
                    batches.setdefault(p, []).append(e)
                if taker != maker:
                    p = by_account.get(taker)
                    if p is not None:
                        batches.setdefault(p, []).append(e)
            elif t is IndicativeUncross:
                tape = self.indicatives.get(e.series)
                if tape is not None:
                    tape.record(e.ts, e.price, e.volume, e.imbalance, e.imbalance_side)
                if self._indicative_watchers:
                    self._indicated.add(e.series)
                    touched[e.series] = None
            else:
                self._note(e)
        now, push = self.now, self.schedule.push
        for p, batch in batches.items():
            push(now + p.delay(p.md_ns), DELIVER, p, batch)
        for series in touched:
            self._publish(series)

    def _count_trade(self, e: Trade) -> None:
        """A trade on the public tape and in the run's figures."""
        series, qty, ts = e.series, e.qty, e.ts
        tape = self.trade_tapes.get(series)
        if tape is not None:
            tape.record(ts, e.price, qty, e.aggressor)
        volume = self.volume
        volume[series] = volume.get(series, 0) + qty
        by_acct = self.volume_by_account
        by_acct[e.maker_account] = by_acct.get(e.maker_account, 0) + qty
        by_acct[e.taker_account] = by_acct.get(e.taker_account, 0) + qty
        self.trade_count += 1
        self.last_trade[series] = ts
        if e.taker_id >= self.venue.clearing.config.liquidation_order_id_base:
            self.liquidation_fills += qty
        if e.maker_account in self.otc.hedgers or e.taker_account in self.otc.hedgers:
            self.otc.hedge_fill(e)  # an OTC dealer's hedge: its spread is a hedging cost
        if self.window[0] <= ts < self.window[1]:
            w = self._window_trades.setdefault(series, [0, 0])
            w[0] += e.price * qty
            w[1] += qty

    def _note(self, e: Any) -> None:
        """The rarer events the run counts or acts on: auctions, session
        changes, band moves, halts, settlement prices, margin calls."""
        t = type(e)
        if t is BatchUncrossed or t is AuctionUncrossed:
            self.uncrosses += 1
            tape = self.indicatives.get(e.series)
            if tape is not None:
                tape.void(e.ts)
        elif t is SessionStateChanged:
            if e.old is SessionState.REOPENING_AUCTION and e.new is not SessionState.CLOSED:
                self.reopenings += 1
        elif t is PriceBandChanged:
            if e.expanded:
                self.band_expansions += 1
        elif t is SeriesHalted:
            self.halts += 1
            if e.until is not None:
                self.wake_venue_at(e.until)
        elif t is SettlementPrice:
            self.settlements[e.series] = e.price
        elif t is MarginCallIssued:
            self._calls[e.account] = e.amount

    def _publish(self, series: str) -> None:
        """Record the series' top of book on its tape and fan the change out:
        a market-data callback (after its latency, one in flight per agent
        and series) to each subscriber without triggers when the top of
        book changed, and to each watcher whose `Trigger` on the series
        fires on the change (no item, no latency draw for the rest)."""
        tape = self.tapes.get(series)
        if tape is None:
            return
        book = self.venue.engine.book(series)
        bid, ask = book.best_bid(), book.best_ask()
        quote = Quote(
            bid,
            book.level_qty(BUY, bid) if bid is not None else 0,
            ask,
            book.level_qty(SELL, ask) if ask is not None else 0,
            book.last_price,
        )
        before = tape.latest()
        changed = tape.record(self.now, quote)
        trades = self.trade_tapes.get(series)
        count = trades.count if trades is not None else 0
        printed = count != self._printed.get(series, 0)
        if printed:
            self._printed[series] = count
        indicated = series in self._indicated
        if indicated:
            self._indicated.discard(series)
        if not changed and not printed and not indicated:
            return
        now, push = self.now, self.schedule.push
        for p in self.subscribers:
            if p.active and series not in p.pending_md:
                triggers = p.triggers
                if triggers is None:
                    if not changed:
                        continue
                else:
                    trigger = triggers.get(series)
                    if trigger is None or not trigger.fires(before, quote, printed, indicated):
                        continue
                p.pending_md.add(series)
                push(now + p.delay(p.md_ns), MARKET_DATA, p, series)

    def watch(self, p: Participant, series: str, trigger: Trigger | None) -> None:
        """``p``'s market-data trigger on ``series`` (None: unwatch it); the
        first one puts ``p`` among the subscribers (in account order)."""
        if p.triggers is None:
            p.triggers = {}
        old = p.triggers.pop(series, None)
        if old is not None and old.indicative:
            self._indicative_watchers -= 1
        if trigger is None:
            return
        p.triggers[series] = trigger
        if trigger.indicative:
            self._indicative_watchers += 1
        if p not in self.subscribers:
            bisect.insort(self.subscribers, p, key=lambda q: q.account)

    # ------------------------------------------------------------------ the run

    def run(self) -> dict:
        """Run every trading day (from the next one, after a resume) and
        return the raw figures. Runtime complexity: O(items · log
        items waiting) for the loop itself, where the items are the arrivals,
        deliveries, wake-ups and market-data callbacks (about 4 per engine
        message), plus what the venue and the agents do with each."""
        sc = self.sc
        cal = sc.calendar
        pre_open_min = minutes(cal.pre_open)
        open_min = minutes(cal.open)
        settle_min = minutes(cal.settlement_start)
        close_min = minutes(cal.close)
        days = first_business_days(cal.start, cal.days)
        if self.next_day == 0:  # a run resumed from a checkpoint has done this
            self.send(ConfigureClearing(sc.rules.clearing))
            for p in self.participants:
                self.send(OpenAccount(0, p.account, micro(p.spec.collateral_usd)))
                self.send(SetAccountStp(p.account, p.spec.stp or sc.rules.stp_default, 0))
            shocks.open_accounts(self)
            self._record_history(days[0])
        shocks_by_day: dict[int, list] = {}
        for shock in sc.shocks:
            shocks_by_day.setdefault(shock.day, []).append(shock)
        for d in range(self.next_day, len(days)):
            day = days[d]
            self.today = day
            pre_open_ts = epoch_ns(day, pre_open_min)
            open_ts = epoch_ns(day, open_min)
            close_ts = epoch_ns(day, close_min)
            self.window = (epoch_ns(day, settle_min), close_ts)
            self.session_bounds = (open_ts, close_ts)
            self._window_trades = {}
            self.now = pre_open_ts
            self._wake_window = (pre_open_ts, close_ts)
            self.information.start_day(day, pre_open_ts)
            self._list_and_band(day, pre_open_ts)
            self._carry_wakeups(pre_open_ts)
            if d == 0:
                for p in self.participants:
                    p.agent.on_start(p.context())
            for shock in shocks_by_day.get(d, ()):
                self._schedule_shock(shock, day)
            for ts in (open_ts, self.window[0], close_ts):  # the session moves on even if nobody trades
                self.wake_venue_at(ts)
            self.schedule.push(open_ts, SNAPSHOT)
            self.liquidator.start_day(open_ts, close_ts)
            self.perpetual.start_day(open_ts, close_ts)
            if sc.rules.band_pct and sc.rules.band_stale_s:
                self.at(open_ts + sc.rules.band_stale_s * NS, lambda c=close_ts: self._review_bands(c))
            self._run_until(close_ts)
            self._wake_window = (0, 0)
            self._drain_in_flight(close_ts + NS)
            self.now = close_ts + NS
            self.send(EndOfDay(self.now))
            self._settle(day, epoch_ns(day, settle_min), close_ts)
            if d + 1 < len(days):  # the last day's stay: the summary may read them
                self.information.end_day()
            self.next_day = d + 1  # a day boundary: the state here can be checkpointed (cfx.sim.checkpoint)
            if self.on_progress is not None:
                self.on_progress(d + 1, len(days), self.commands)
        return self.stats

    def _run_until(self, end: int) -> None:
        """Dispatch every item due before ``end`` in (time, sequence) order.
        The hot loop: wake-ups (a third of the items, some superseded:
        `wake`), market data, deliveries and arrivals are handled here; the
        rest in `_dispatch`. The reference: with the extension built,
        `_install_fanout` puts its compiled twin in its place."""
        pop = self.schedule.pop
        send = self.send
        arrivals = wakeups = 0  # counted into `stats` when the loop returns
        while (item := pop(end)) is not None:
            ts, kind, a, b = item
            self.now = ts
            if kind == WAKE:
                a.queued.discard(ts)
                if ts != a.wake_at:
                    continue  # superseded by an earlier wake-up
                a.wake_at = None
                if a.active:
                    wakeups += 1
                    ctx = a.ctx
                    ctx.now = ts  # `Participant.context`, inlined in the hot loop
                    a.agent.on_wakeup(ctx)
            elif kind == MARKET_DATA:
                a.pending_md.discard(b)
                if a.active:
                    ctx = a.ctx
                    ctx.now = ts
                    a.agent.on_market_data(ctx, b)
            elif kind == DELIVER:
                self._deliver(a, b)
            elif kind == ARRIVE:
                arrivals += 1
                send(a)
            else:
                self._dispatch(ts, kind, a, b)
        self.stats["engine_messages"] += arrivals
        self.stats["wakeups"] += wakeups

    def _drain_in_flight(self, end: int) -> None:
        """After the close: orders and events still in flight arrive; wake-ups
        wait for the next open and snapshots stop."""
        pop = self.schedule.pop
        parked = []
        while (item := pop(end)) is not None:
            ts, kind, a, b = item
            if kind == WAKE:
                parked.append(item)
            elif kind != SNAPSHOT:
                self._dispatch(ts, kind, a, b)
        for ts, kind, a, b in parked:  # in their order again, and before whatever is pushed due at their times later
            self.schedule.push(ts, kind, a, b)

    def _deliver(self, p: Participant, events: list) -> None:
        """``p``'s own order events, delivered after its latency (its fills first move its position)."""
        hook, ctx = p.agent.on_order_event, p.context()
        for e in events:
            if type(e) is Trade:
                p.on_fill(e)
            hook(ctx, e)

    def _dispatch(self, ts: int, kind: int, a: Any, b: Any) -> None:
        """Any item but a wake-up (only `_run_until` wakes agents: after
        the close they wait for the next open)."""
        self.now = ts
        if kind == ARRIVE:
            self.stats["engine_messages"] += 1
            self.send(a)
        elif kind == DELIVER:
            self._deliver(a, b)
        elif kind == MARKET_DATA:
            a.pending_md.discard(b)
            if a.active:
                a.agent.on_market_data(a.context(), b)
        elif kind == SNAPSHOT:
            rows, book_stats, series = [], self.book_stats, self.series
            tenor: dict[str, int] = {}  # basket -> series seen so far this snapshot (0: the front month)
            for symbol, tape in self.tapes.items():
                q = tape.latest()
                rows.append((ts, symbol, (bid := q.bid), q.bid_qty, (ask := q.ask), q.ask_qty, q.last))
                basket = series[symbol].basket
                n = tenor[basket] = tenor.get(basket, -1) + 1
                for key in (symbol, "front" if n == 0 else f"front+{n}"):  # a new key's dict built only once
                    stats = book_stats.get(key) or book_stats.setdefault(
                        key, {"samples": 0, "two_sided": 0, "spread_sum": 0, "depth_sum": 0}
                    )
                    stats["samples"] += 1
                    stats["depth_sum"] += q.bid_qty + q.ask_qty
                    if bid is not None and ask is not None:
                        stats["two_sided"] += 1
                        stats["spread_sum"] += ask - bid
            self.writer.write_book_top(rows)
            self.schedule.push(ts + self.sc.output.book_top_interval_s * NS, SNAPSHOT)
        elif kind == CALL:
            a()

    def _carry_wakeups(self, open_ts: int) -> None:
        """Before the open: what was still in flight overnight happens (in
        time order), wake-ups that fell outside the session move to this
        open (in order), snapshot timers are dropped."""
        pop = self.schedule.pop
        moved = []
        while (item := pop(open_ts)) is not None:
            ts, kind, a, b = item
            if kind == WAKE:
                if ts == a.wake_at:  # not superseded
                    moved.append(a)
            elif kind != SNAPSHOT:
                self._dispatch(ts, kind, a, b)
        for i, p in enumerate(moved):
            p.wake_at = open_ts + i
            self.schedule.push(p.wake_at, WAKE, p)

    # ------------------------------------------------------------------ listing, index, settlement

    def _record_history(self, first_day: dt.date) -> None:
        """The fixings before the first day go to clearing (margin's
        volatility lookback); the latest is what agents and the first
        listings see."""
        days = sorted({d for series in self.fixings.values() for d in series if d < first_day})
        for day in days:
            values = {name: series[day] for name, series in self.fixings.items() if day in series}
            self.send(RecordFixings(0, day, values))
            self.published.update(values)

    def _list_and_band(self, day: dt.date, ts: int) -> None:
        """List the series the calendar lists from ``day``; re-centre the others' bands on their settlement."""
        for s in self.calendar.listed(day):
            reference = self.settlements.get(s.symbol)
            if s.symbol not in self.series:
                reference = self._index_ticks(s.basket)
                self.series[s.symbol] = s
                self.tapes[s.symbol] = QuoteTape()
                self.books[s.symbol] = BookTape()
                self.trade_tapes[s.symbol] = TradeTape()
                self.indicatives[s.symbol] = IndicativeTape()
                self.send(listing.list_contract(self.sc, s, reference, ts))
                self.send(listing.session(self.sc, s.symbol, reference, ts))
                self._publish(s.symbol)
            elif reference is not None:  # the new settlement: the band's centre and the opening call's reference
                self.send(listing.relist(self.sc, s.symbol, reference, reference, ts))

    def _review_bands(self, close_ts: int) -> None:
        """A band follows the index while its book is stale: a series that
        has not traded for ``band-stale-s`` has its band re-centred on the
        previous settlement moved by the change of its expected final
        settlement since then (journaled, as any listing). Then again in
        ``band-stale-s``, until the close."""
        stale_ns = self.sc.rules.band_stale_s * NS
        engine = self.venue.engine
        for symbol in self.series:
            if self.now - self.last_trade.get(symbol, 0) < stale_ns:
                continue
            settled = self.settlements.get(symbol)
            band = engine.price_band(symbol)
            moved = self._expected_move(symbol)
            if settled is None or band is None or moved is None:
                continue
            centre = max(1, settled + moved)
            if listing.band(self.sc.rules, centre) != band:
                self.band_moves += 1
                self.send(listing.relist(self.sc, symbol, centre, settled, self.now))
        if self.now + stale_ns < close_ts:
            self.at(self.now + stale_ns, lambda: self._review_bands(close_ts))

    def _expected_move(self, symbol: str) -> int | None:
        """How far the series' expected final settlement has moved since the last settlement run (ticks)."""
        now, then = self.expected_final(symbol), self._expected_at_settle.get(symbol)
        return None if now is None or then is None else now - then

    def wake_venue_at(self, ts: int) -> None:
        """Send the venue the time at ``ts`` (session changes, a halt's end)."""
        self.schedule.push(ts, CALL, partial(self.send, AdvanceTime(ts)))  # a partial, not a lambda: it pickles

    def _index_ticks(self, basket: str) -> int:
        micro = self.published.get(basket)
        if micro is None:
            raise ValueError(f"no fixing of {basket} before the run starts")
        return max(1, (micro + self.tick_micro // 2) // self.tick_micro)

    def _settle(self, day: dt.date, window_start: int, window_end: int) -> None:
        fixings = {name: series[day] for name, series in self.fixings.items() if day in series}
        self.published.update(fixings)
        finals = {}
        for symbol, s in list(self.series.items()):
            if s.last_trading_day == day:
                finals[symbol] = self._final_price(s)
        self.now += NS
        expected = {symbol: self.expected_final(symbol, day) for symbol in self.series if symbol not in finals}
        self._expected_at_settle = {k: v for k, v in expected.items() if v is not None}
        self.expected_by_date.update({(day, k): v for k, v in self._expected_at_settle.items()})
        self._calls = {}
        # the run's SettlementPrice and MarginCallIssued events update settlements and _calls (`_route`)
        self.send(
            SettleDay(
                self.now,
                day,
                fixings,
                window_start,
                window_end,
                finals,
                {k: v for k, v in expected.items() if v is not None},
            )
        )
        for cmd in self.venue.take_commands():  # a defaulter's or a delisted series' cancels: journaled too
            self.send(cmd)
        for symbol in finals:
            del self.series[symbol]
            self.tapes.pop(symbol, None)
            self.books.pop(symbol, None)
            self.trade_tapes.pop(symbol, None)
            self.indicatives.pop(symbol, None)
        for tape in self.tapes.values():
            tape.trim()
        for tapes in (self.books, self.trade_tapes, self.indicatives):
            for t in tapes.values():
                t.trim()
        self._statements()
        self.otc.end_day(day)  # forwards marked and settled on today's fixings
        calls = self._calls
        fix_ticks = {name: max(1, (v + self.tick_micro // 2) // self.tick_micro) for name, v in self.published.items()}
        for p in self.participants:
            if p.active:
                p.agent.on_day_end(
                    p.context(), DayReport(day, dict(self.settlements), fix_ticks, calls.get(p.account, 0))
                )

    def expected_final(self, symbol: str, through: dt.date | None = None) -> int | None:
        """The series' final settlement price (ticks, by its rule) if the index
        stayed at its latest published value: the official fixings up to
        ``through`` (default: before today, with the latest indicative value
        for the rest), else the latest fixing for every later business day
        of the contract month. What a series should trade near."""
        s = self.series.get(symbol)
        if s is None or s.basket not in self.published:
            return None
        if s.perpetual:  # no final settlement: funding anchors it to the index
            micro = self.information.seen(s.basket, 0) if through is None else self.published[s.basket]
            return max(1, (micro + self.tick_micro // 2) // self.tick_micro)
        if through is None:  # intraday: the latest indicative value published
            through = self.today - dt.timedelta(days=1)
            latest = self.information.seen(s.basket, 0)
        else:
            latest = self.published[s.basket]
        fixings = self.fixings[s.basket]
        days = business_days(*month_days(s.year, s.month))
        values = {d: fixings[d] if d <= through and d in fixings else latest for d in days}
        return final_settlement(s, values).price_ticks

    def _statements(self) -> None:
        """The daily statement: each agent's positions as clearing holds them
        (fills still in flight at the close arrive later and add on top)."""
        accounts = self.venue.clearing.accounts
        for p in self.participants:
            acc = accounts.get(p.account)
            p.positions = (
                {} if acc is None else {s: pos.qty for s, pos in acc.positions.items() if pos.qty and s in self.series}
            )

    def _final_price(self, s: Series) -> int:
        """The final settlement price: by the series' rule on the index
        fixings, or with ``vwap_window`` the VWAP of its trades in the last
        day's settlement window (half a tick rounds up; no trades: the
        monthly average of the index)."""
        if self.sc.products.final_settlement == "vwap_window":
            w = self._window_trades.get(s.symbol)
            if w and w[1]:
                return (2 * w[0] + w[1]) // (2 * w[1])
        return final_settlement(s, self.fixings[s.basket]).price_ticks

    # ------------------------------------------------------------------ shocks

    def _schedule_shock(self, shock: Any, day: dt.date) -> None:
        shocks.schedule(self, shock, day)

    def at(self, ts: int, action: Callable[[], None]) -> None:
        """Run ``action`` at simulated time ``ts`` (shocks and the OTC desk
        use it; an RFQ's deadline is an agent's choice): after `NEVER_NS`,
        never, as for a wake-up."""
        self.schedule.push(ts if ts <= NEVER_NS else NEVER_NS, CALL, action)
