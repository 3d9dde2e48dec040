"""One agent in a run: its account, latency and random generator
(`Participant`), and the `Context` it acts through (`AgentContext`).

Through its context an agent sees the market as it was its market-data
latency ago (the tapes, `cfx.sim.tape`; the index, `cfx.sim.information`),
and its orders reach the venue ``entry_ns`` plus lognormal jitter after it
sends them (`Participant.delay`). The simulation (`cfx.sim.loop`) owns the
clock, the heap and the venue; a context only reads it and schedules.

`AgentContext` is the reference, and what runs with ``CFX_ENGINE=python``
or without the extension; a run on the compiled loop gives its agents the
compiled twin, `cfx.sim._context.Context` (the same answers, jitter draws,
order ids and arrival times; tests/test_context.py).
"""

from __future__ import annotations

import datetime as dt
import numbers
from typing import TYPE_CHECKING

import numpy as np

from cfx.agents.base import (
    MAX_DELAY_NS,
    NO_INDICATIVE,
    Agent,
    AgentSpec,
    Depth,
    Indicative,
    PublicTrade,
    Quote,
    Trigger,
)
from cfx.products import Series
from cfx.sim.otc_desk import OtcLink
from cfx.sim.tape import NO_QUOTE
from cfx.types import CancelOrder, MassCancel, ModifyOrder, OrderKind, Side, SubmitOrder, TimeInForce, Trade
from cfx.units import NEVER_NS, micro
from cfx.venue import Deposit

if TYPE_CHECKING:
    from cfx.sim.loop import Simulation

BUY = Side.BUY  # a module constant: an enum member read off its class costs ~10x (Python 3.11)
NO_DEPTH = Depth([], [])
JITTER_BLOCK = 512
PERPETUAL_DAYS = 1_000_000
"""What `days_to_expiry` says of a perpetual: never near expiry."""
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The order ids a cancel or modify may name (`order_id_of`): the events table's int64 column."""


class Participant:
    """One agent with its account, latency and random generator."""

    __slots__ = (
        "agent",
        "account",
        "spec",
        "rng",
        "entry_ns",
        "md_ns",
        "jitter_ns",
        "sigma",
        "ctx",
        "pending_md",
        "wake_at",
        "queued",
        "active",
        "_jitter",
        "positions",
        "triggers",
    )

    def __init__(self, agent: Agent, account: int, spec: AgentSpec, rng: np.random.Generator) -> None:
        self.agent = agent
        self.account = account
        self.spec = spec
        self.rng = rng
        lat = spec.latency
        self.entry_ns = lat.entry_ns
        self.md_ns = lat.market_data_ns
        self.jitter_ns = lat.jitter_ns
        self.sigma = lat.sigma
        self.pending_md: set[str] = set()
        self.wake_at: int | None = None
        self.queued: set[int] = set()  # times of its wake-up items due within the day being run (`Simulation.wake`)
        self.active = True
        self._jitter: list[int] = []
        self.positions: dict[str, int] = {}  # series -> net lots, from its own fills as delivered
        self.triggers: dict[str, Trigger] | None = None  # watched series (`Context.watch`); None: every change

    def context(self) -> "AgentContext":
        """Its context, its clock set to the simulation's: what each of its
        hooks is called with (`AgentContext.now` is a plain attribute, set here)."""
        ctx = self.ctx
        ctx.now = ctx.sim.now
        return ctx

    def on_fill(self, e: Trade) -> None:
        """Its position as its own delivered fills tell it."""
        if e.maker_account == e.taker_account:
            return
        buyer = e.taker_account if e.aggressor is BUY else e.maker_account
        d = e.qty if buyer == self.account else -e.qty
        self.positions[e.series] = self.positions.get(e.series, 0) + d

    def delay(self, fixed: int) -> int:
        """``fixed`` plus a lognormal jitter draw (drawn from the agent's own
        generator, a block at a time)."""
        jitter = self._jitter
        if jitter:
            return fixed + jitter.pop()
        if not self.jitter_ns:
            return fixed
        # ``min(jitter_ns * lognormal, MAX_DELAY_NS)`` truncated, in place and reversed before the
        # list is made (the same doubles: tests/test_agent_fastpaths.py)
        draws = self.rng.lognormal(0.0, self.sigma, JITTER_BLOCK)
        np.multiply(draws, self.jitter_ns, out=draws)
        np.minimum(draws, MAX_DELAY_NS, out=draws)
        self._jitter = jitter = draws[::-1].astype(np.int64).tolist()
        return fixed + jitter.pop()


def integer(value: object, call: str, field: str) -> int:
    """``value`` as an int, for an agent's order: ints and numpy's integers
    (an rng draw, a rounded mid; msgspec cannot journal them). Anything else,
    a float price say, is the agent's bug: a TypeError at its call, before
    anything is journaled, not a fractional price in the book. A value of
    the right type but wrong (0 lots, a price outside the band) gets the
    venue's typed reject, as any order does."""
    if type(value) is not bool and isinstance(value, numbers.Integral):
        return int(value)
    raise TypeError(f"{call}: {field} must be an integer, got {value!r}")


def flag(value: object, call: str, field: str) -> bool:
    """``value`` as a bool for an agent's order (numpy's bools are taken); a
    string such as "no" is not one (its truth would be True): a TypeError."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{call}: {field} must be a bool, got {value!r}")


def member(kind: type, value: object, field: str):
    """``value`` as a member of the enum ``kind`` for an agent's order (its
    string, "buy", is taken); anything else is a ValueError at the call."""
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"submit: {field} must be one of {', '.join(kind)}, got {value!r}") from None


def order_id_of(value: object, call: str) -> int:
    """The order id a cancel or modify names, as an int: one that is not an
    integer, or is outside int64 (ids count from 1), is no order's, and the
    events table's int64 column could not hold it: a ValueError at the call.
    Any other unknown id gets the venue's unknown-order reject."""
    if type(value) is not int:
        try:
            value = integer(value, call, "order_id")
        except TypeError as e:
            raise ValueError(str(e)) from None
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{call}: order_id {value} is outside int64, so it is no order's")
    return value


class AgentContext:
    """The `Context` an agent acts through (see cfx/agents/base.py).
    ``now``, the simulated time, is a plain attribute the simulation sets
    before each of the agent's hooks (`Participant.context`): agents read it
    about four times a message, and a property costs a Python call each."""

    __slots__ = ("sim", "p", "account", "rng", "now")

    def __init__(self, sim: Simulation, p: Participant) -> None:
        self.sim = sim
        self.p = p
        self.account = p.account
        self.rng = p.rng
        self.now = sim.now

    @property
    def otc(self) -> OtcLink:
        """The OTC market: requests for quote, quotes, forwards (`cfx.sim.otc_desk`)."""
        return OtcLink(self.sim.otc, self.p)

    def listed(self) -> list[str]:
        return list(self.sim.series)

    def front(self, basket: str | None = None) -> str:
        for symbol, s in self.sim.series.items():
            if basket is None or s.basket == basket:
                return symbol
        raise LookupError(f"no series listed for basket {basket!r}")

    def quote(self, series: str) -> Quote:
        sim = self.sim
        tape = sim.tapes.get(series)
        if tape is None:
            return NO_QUOTE
        as_of = sim.now - self.p.md_ns
        times = tape.times
        if times and times[-1] <= as_of:  # `Tape.at`'s usual case, inlined: agents ask for quotes 3x a message
            return tape.quotes[-1]
        return tape.at(as_of)

    def depth(self, series: str, levels: int = 5) -> Depth:
        """L2: the best ``levels`` price levels of each side as this agent sees them."""
        book = self.sim.books.get(series)
        return NO_DEPTH if book is None else book.depth(levels, self.sim.now - self.p.md_ns)

    def trades(self, series: str, since_ns: int) -> list[PublicTrade]:
        """The public tape from ``since_ns`` to what this agent has seen by now."""
        tape = self.sim.trade_tapes.get(series)
        if tape is None:
            return []
        times = tape.times
        if not times or times[-1] < since_ns:  # `TradeTape.between`'s usual case, inlined: nothing printed since
            return []
        return tape.between(since_ns, self.sim.now - self.p.md_ns)

    def index_ticks(self, series: str) -> int | None:
        s = self.sim.series.get(series)
        return None if s is None else self.index_value(s.basket)

    def index_value(self, name: str) -> int | None:
        micro = self.sim.information.seen(name, self.p.md_ns)
        if micro is None:
            return None
        tick = self.sim.tick_micro
        return max(1, (micro + tick // 2) // tick)

    def expected_settlement(self, series: str) -> int | None:
        """Month-to-date fixings plus the latest indicative this agent has
        seen for the rest of the contract month (moves intraday)."""
        s = self.sim.series.get(series)
        return None if s is None else self.sim.information.expected_ticks(s, self.p.md_ns)

    def value_signal(self, series: str, noise_ticks: float) -> float | None:
        """The latent expected final settlement (ahead of publication) plus
        N(0, noise_ticks) from this agent's generator."""
        s = self.sim.series.get(series)
        if s is None:
            return None
        info = self.sim.information
        latent = info.latent(s.basket)
        if latent is None:
            return None
        value = info.expected(s, latent)
        return value + float(self.rng.normal(0.0, noise_ticks)) if noise_ticks > 0 else value

    def settlement(self, series: str) -> int | None:
        return self.sim.settlements.get(series)

    def is_perpetual(self, series: str) -> bool:
        s = self.sim.series.get(series)
        return s is not None and s.perpetual

    def perpetual(self, basket: str | None = None) -> str | None:
        """The listed perpetual of ``basket`` (default: any), or None."""
        for symbol, s in self.sim.series.items():
            if s.perpetual and (basket is None or s.basket == basket):
                return symbol
        return None

    def funding_rate(self, series: str) -> int | None:
        """The funding rate the perpetual's current interval would pay now
        (1e-8 units: positive, longs pay); None for a dated future."""
        return self.sim.perpetual.predicted_rate(series)

    def batch_interval_ns(self) -> int:
        """The venue's periodic batch interval in ns (``products.matching = "batch"``); 0 under continuous matching."""
        return self.sim.batch_ns

    def indicative(self, series: str) -> Indicative:
        """The indicative uncross of the series' call or next batch as this
        agent has seen it (published its market-data latency ago; `NO_INDICATIVE`: none)."""
        tape = self.sim.indicatives.get(series)
        return NO_INDICATIVE if tape is None else tape.at(self.sim.now - self.p.md_ns)

    def days_to_expiry(self, series: str) -> int:
        """Business days to the last trading day (0 on it); a perpetual: `PERPETUAL_DAYS`."""
        s = self.sim.series[series]
        if s.perpetual:
            return PERPETUAL_DAYS
        return (
            len(
                [
                    1
                    for i in range((s.last_trading_day - self.sim.today).days + 1)
                    if (self.sim.today + dt.timedelta(days=i)).weekday() < 5
                ]
            )
            - 1
        )

    def contract(self, series: str) -> Series:
        """The series' terms (contract month, settlement rule) under the
        listing calendar, whether or not it is listed today."""
        s = self.sim.series.get(series)
        return s if s is not None else self.sim.calendar.series(series)

    def settlement_window(self) -> tuple[int, int]:
        return self.sim.window

    def final_settlement_rule(self) -> str:
        return self.sim.sc.products.final_settlement

    def session(self) -> tuple[int, int]:
        return self.sim.session_bounds

    def position(self, series: str) -> int:
        """Net lots: the last daily statement plus its own fills delivered since."""
        return self.p.positions.get(series, 0)

    def submit(
        self,
        series: str,
        side: Side,
        qty: int,
        price: int = 0,
        *,
        kind: OrderKind = OrderKind.LIMIT,
        tif: TimeInForce = TimeInForce.GTC,
        post_only: bool = False,
    ) -> int:
        if type(series) is not str:
            raise TypeError(f"submit: series must be a symbol (str), got {series!r}")
        if type(qty) is not int or type(price) is not int:
            qty, price = integer(qty, "submit", "qty"), integer(price, "submit", "price")
        if post_only is not False and post_only is not True:
            post_only = flag(post_only, "submit", "post_only")
        if type(side) is not Side or type(kind) is not OrderKind or type(tif) is not TimeInForce:
            side, kind, tif = (
                member(Side, side, "side"),
                member(OrderKind, kind, "kind"),
                member(TimeInForce, tif, "tif"),
            )
        oid = self.sim.next_order_id()
        ts = self._arrival()
        self.sim.arrive(ts, SubmitOrder(ts, series, oid, self.account, side, qty, price, kind, tif, post_only))
        return oid

    def cancel(self, order_id: int) -> None:
        order_id = order_id_of(order_id, "cancel")
        ts = self._arrival()
        self.sim.arrive(ts, CancelOrder(ts, order_id, self.account))

    def modify(self, order_id: int, price: int, qty: int) -> None:
        order_id = order_id_of(order_id, "modify")
        if type(qty) is not int or type(price) is not int:
            qty, price = integer(qty, "modify", "qty"), integer(price, "modify", "price")
        ts = self._arrival()
        self.sim.arrive(ts, ModifyOrder(ts, order_id, self.account, price, qty))

    def cancel_all(self, series: str | None = None) -> None:
        if series is not None and type(series) is not str:
            raise TypeError(f"cancel_all: series must be a symbol (str) or None, got {series!r}")
        ts = self._arrival()
        self.sim.arrive(ts, MassCancel(ts, self.account, series))

    def wake_after(self, delay_ns: int) -> None:
        """One wake-up at a time: the earliest asked for wins. One asked for
        after `NEVER_NS` is kept at it (it still never fires)."""
        p = self.p
        sim = self.sim
        delay_ns = int(delay_ns)
        at = sim.now + (delay_ns if delay_ns > 1 else 1)
        if at > NEVER_NS:
            at = NEVER_NS
        wake_at = p.wake_at
        if wake_at is None or at < wake_at:
            sim.wake(p, at)

    def watch(self, series: str, trigger: Trigger) -> None:
        """``on_market_data`` for ``series`` only on ``trigger``'s changes;
        once any is set, series not watched are not heard at all."""
        self.sim.watch(self.p, series, trigger)

    def unwatch(self, series: str) -> None:
        self.sim.watch(self.p, series, None)

    def deposit(self, amount_usd: float) -> None:
        ts = self._arrival()
        self.sim.arrive(ts, Deposit(ts, self.account, micro(amount_usd)))

    def _arrival(self) -> int:
        """When a message sent now reaches the venue (its timestamp there)."""
        return self.sim.now + self.p.delay(self.p.entry_ns)
