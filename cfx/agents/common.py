"""Helpers the agent library shares: parameter types, series selectors,
own-order bookkeeping, Poisson timers and a reference price.

Everything here runs in agents' hooks, so it is kept allocation-light: no
logging, no wall time, and randomness only from the ``ctx.rng`` passed in.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, ClassVar

import msgspec

from cfx.agents.base import Agent, AgentSpec
from cfx.products import is_perpetual_symbol
from cfx.types import OrderAccepted, OrderCancelled, OrderModified, OrderRejected, RejectReason, Side, Trade
from cfx.units import CONTRACT_UNIT

if TYPE_CHECKING:
    from cfx.agents.base import Context

BUY = Side.BUY
SELL = Side.SELL

CONTRACT_GPU_HOURS = CONTRACT_UNIT  # one contract = one GPU for an average month

# ----------------------------------------------------------------------------- parameter types

#: "front" (the front month of the agent's basket, or its perpetual where
#: only a perpetual is listed), "front+N" (N months further out in the same
#: basket), "perp" (the basket's perpetual), or an explicit symbol such as
#: "HOP-H27" or "HOP-PERP".
SeriesSelector = Annotated[
    str, msgspec.Meta(pattern=r"^(front(\+[0-9]{1,2})?|perp|[A-Z][A-Z0-9]{0,7}-([A-Z][0-9]{2}|PERP))$")
]
SeriesList = Annotated[tuple[SeriesSelector, ...], msgspec.Meta(min_length=1, max_length=24)]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Lots = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
PositionLimit = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
Interval = Annotated[int, msgspec.Meta(ge=1_000_000)]  # ns; at least 1 ms
Ticks = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
TicksF = Annotated[float, msgspec.Meta(ge=0.0, le=1_000_000.0)]


class SeriesSpec(AgentSpec, tag="_series"):
    """What the spec of every agent that trades listed series by selector
    has (`SeriesTrader` s and the market maker; not an agent type itself):
    the ``series`` it trades and the ``basket`` whose months the selectors
    count (none: the basket of the first series listed)."""

    series: SeriesList = ("front",)
    basket: str | None = None


# ----------------------------------------------------------------------------- series


def _root(symbol: str) -> str:
    return symbol.split("-", 1)[0]


def resolve_series(ctx: "Context", selector: str, basket: str | None = None) -> str | None:
    """The listed series a selector names now, or None (not listed, or
    nothing listed). ``front+N`` counts listed months of the front's root
    (a perpetual is no month); ``perp`` is the basket's perpetual."""
    listed = ctx.listed()
    if not listed:
        return None
    if selector == "perp":
        finder = getattr(ctx, "perpetual", None)
        return finder(basket) if finder is not None else None
    if not selector.startswith("front"):
        return selector if selector in listed else None
    try:
        front = ctx.front(basket)
    except (KeyError, IndexError, ValueError, LookupError):
        return None
    if front is None:
        return None
    n = int(selector[6:]) if len(selector) > 5 else 0
    if n == 0:
        return front
    root = _root(front)
    same = [s for s in listed if _root(s) == root and not is_perpetual_symbol(s)]
    try:
        i = same.index(front) + n
    except ValueError:
        return None
    return same[i] if i < len(same) else None


def next_series(ctx: "Context", series: str) -> str | None:
    """The listed month after ``series`` in the same root, or None."""
    root = _root(series)
    same = [s for s in ctx.listed() if _root(s) == root and not is_perpetual_symbol(s)]
    try:
        i = same.index(series) + 1
    except ValueError:
        return None
    return same[i] if i < len(same) else None


def resolve_all(ctx: "Context", selectors: tuple[str, ...], basket: str | None = None) -> list[str]:
    """Distinct listed series the selectors name, in selector order."""
    out: list[str] = []
    for sel in selectors:
        s = resolve_series(ctx, sel, basket)
        if s is not None and s not in out:
            out.append(s)
    return out


# ----------------------------------------------------------------------------- timers and prices


def exp_delay(u: float, mean_ns: int) -> int:
    """An exponential (Poisson-process) delay in ns from a uniform draw
    ``u`` in [0, 1); at least 1 ns."""
    return int(-math.log1p(-u) * mean_ns) + 1


def funding_carry(ctx: "Context", series: str, price: float, intervals: float) -> float:
    """A perpetual's expected funding over ``intervals`` funding intervals,
    ticks per lot, at the rate its current interval would pay
    (`ctx.funding_rate`, 1e-8 units): what a long pays (> 0) or receives
    (< 0) for holding it. 0 for a dated future, or without a rate."""
    if not intervals or not is_perpetual_symbol(series):
        return 0.0
    rate = ctx.funding_rate(series)
    return 0.0 if not rate else price * rate * 1e-8 * intervals


def reference_price(ctx: "Context", series: str, quote=None) -> float | None:
    """Where the market is, in ticks: the book mid; else the last trade;
    else the last settlement; else the expected final settlement; else
    the index; else whichever side of the book exists; else None."""
    q = ctx.quote(series) if quote is None else quote
    bid, ask = q.bid, q.ask
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    if q.last is not None:
        return q.last
    p = ctx.settlement(series)
    if p is None:
        p = ctx.expected_settlement(series)
        if p is None:
            p = ctx.index_ticks(series)
    if p is not None:
        return p
    return bid if bid is not None else ask


# ----------------------------------------------------------------------------- own orders

_UNKNOWN = RejectReason.UNKNOWN_ORDER


class OwnOrders:
    """An agent's view of its live orders, kept from what it sent and the
    order events it receives (which arrive after its latency).

    ``orders[order_id] = [series, side, price, open_qty, acked]``. Submits
    and modifies are recorded when sent (so an agent never sends the same
    thing twice while waiting for the answer); events correct the record:
    a reject of a new order drops it, a rejected modify marks its price
    unknown (0) so the next requote re-sends it, fills reduce the open
    quantity, cancels and complete fills drop it. Order events must reach
    the agent after ``ctx.submit`` has returned (as they do through the
    market-data latency), never from inside it.

    ``changes`` counts the changes of any order's price, open quantity or
    presence (not an ack of what was sent): an event that leaves it as it
    was changed none of the agent's orders (what the market maker's side
    skip relies on)."""

    __slots__ = ("orders", "changes")

    def __init__(self) -> None:
        self.orders: dict[int, list] = {}
        self.changes = 0

    def __len__(self) -> int:
        return len(self.orders)

    def __contains__(self, order_id: int) -> bool:
        return order_id in self.orders

    def submit(self, ctx: "Context", series: str, side: Side, qty: int, price: int = 0, **kw) -> int:
        """``ctx.submit`` and record the order."""
        oid = ctx.submit(series, side, qty, price, **kw)
        self.orders[oid] = [series, side, price, qty, False]
        self.changes += 1
        return oid

    def modify(self, ctx: "Context", order_id: int, price: int, qty: int) -> None:
        o = self.orders.get(order_id)
        if o is not None:
            o[2] = price
            o[3] = qty
            self.changes += 1
        ctx.modify(order_id, price, qty)

    def cancel(self, ctx: "Context", order_id: int) -> None:
        """Ask to cancel (the record goes when the cancel is confirmed)."""
        ctx.cancel(order_id)

    def open_qty(self, series: str, side: Side) -> int:
        return sum(o[3] for o in self.orders.values() if o[0] == series and o[1] is side)

    def ids(self, series: str | None = None) -> list[int]:
        if series is None:
            return list(self.orders)
        return [i for i, o in self.orders.items() if o[0] == series]

    def on_event(self, ev) -> None:
        t = type(ev)
        orders = self.orders
        if t is Trade:
            q = ev.qty
            for oid in (ev.maker_id, ev.taker_id):
                o = orders.get(oid)
                if o is not None:
                    self.changes += 1
                    o[3] -= q
                    if o[3] <= 0:
                        del orders[oid]
        elif t is OrderCancelled:
            if orders.pop(ev.order_id, None) is not None:
                self.changes += 1
        elif t is OrderAccepted:
            o = orders.get(ev.order_id)
            if o is not None:
                o[4] = True
        elif t is OrderModified:
            o = orders.get(ev.order_id)
            if o is not None and (o[2] != ev.price or o[3] != ev.qty):  # an ack of what it sent changes nothing
                self.changes += 1
                o[2] = ev.price
                o[3] = ev.qty
        elif t is OrderRejected:
            o = orders.get(ev.order_id)
            if o is not None:
                self.changes += 1
                if not o[4] or ev.reason is _UNKNOWN:
                    del orders[ev.order_id]
                else:  # a refused modify or cancel: the order lives on, at a price we no longer know
                    o[2] = 0


class SeriesTrader(Agent):
    """Base of the agents that trade the series their spec's ``series``
    selectors name (``basket`` picks the front month's basket), resolved
    at the start and again at each day end as months roll, and that keep
    their own orders (`OwnOrders`) from their order events."""

    orders_type: ClassVar[type] = OwnOrders  # a compiled agent's typed `OwnOrders` (cfx.agents.compiled)

    def __init__(self, spec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.own = self.orders_type()
        self.targets: list[str] = []

    def resolve(self, ctx: "Context") -> None:
        self.targets = resolve_all(ctx, self.spec.series, self.spec.basket)

    def on_day_end(self, ctx: "Context", day) -> None:
        self.resolve(ctx)

    def on_order_event(self, ctx: "Context", event) -> None:
        self.own.on_event(event)


# ----------------------------------------------------------------------------- timers, activity, sizes


class Alarms:
    """Several pending deadlines on the loop's single wake-up per agent.

    `Context.wake_after` keeps one wake-up per agent (the earliest asked
    for), so an agent that needs a Poisson timer *and* a catch-up wake-up
    keeps both here: `arm` records a deadline and asks for a wake-up only if
    it is the earliest; `due` (call it first thing in ``on_wakeup``) returns
    the names whose time has come and re-arms the earliest of the rest, so
    no deadline is ever dropped."""

    __slots__ = ("at", "earliest")

    def __init__(self) -> None:
        self.at: dict[str, int] = {}
        # min(at.values()), None when there is none: `arm` and `due`, the only writers of ``at``,
        # keep it (`arm` compared each deadline with a min() over all of them; tests hold the two alike)
        self.earliest: int | None = None

    def arm(self, ctx: "Context", name: str, at: int) -> None:
        """Runtime complexity: O(1), or O(deadlines) (a handful) when it
        moves the earliest deadline later."""
        now = ctx.now
        if at <= now:
            at = now + 1
        pending = self.at
        earliest = self.earliest
        if earliest is not None and at > earliest:  # an earlier deadline stands: no wake-up to ask for
            moved = pending.get(name) == earliest  # (its own deadline was the earliest and moves later)
            pending[name] = at
            if moved:
                self.earliest = min(pending.values())
            return
        pending[name] = at
        self.earliest = at
        ctx.wake_after(at - now)

    def due(self, ctx: "Context") -> list[str]:
        """The names whose deadline has come, removed; one pass over the
        deadlines, then a wake-up for the earliest left."""
        now = ctx.now
        pending = self.at
        fired = []
        earliest = None
        for k, t in pending.items():
            if t <= now:
                fired.append(k)
            elif earliest is None or t < earliest:
                earliest = t
        for k in fired:
            del pending[k]
        self.earliest = earliest
        if earliest is not None:
            ctx.wake_after(earliest - now)  # > 0: only deadlines after now are left
        return fired

    def pending(self, name: str) -> bool:
        return name in self.at


UShape = Annotated[float, msgspec.Meta(ge=0.0, le=20.0)]
HalfLifeS = Annotated[float, msgspec.Meta(gt=0.0, le=1e7)]


def activity(ctx: "Context", amplitude: float, decay_s: float) -> float:
    """How busy traders are at this time of day, relative to midday: 1 +
    ``amplitude`` × (e^(−t_open/τ) + e^(−t_close/τ)), t_open (t_close) the
    time since the open (until the close), τ = ``decay_s``. Real traders
    crowd the open and the close (the U-shaped intraday volume profile);
    1 when the session is unknown or amplitude is 0."""
    if not amplitude:
        return 1.0
    session = getattr(ctx, "session", None)
    if session is None:
        return 1.0
    open_ns, close_ns = session()
    if close_ns <= open_ns:
        return 1.0
    now = ctx.now
    tau = decay_s * 1e9
    since = max(0, now - open_ns) / tau
    until = max(0, close_ns - now) / tau
    return 1.0 + amplitude * (math.exp(-since) + math.exp(-until))


def pareto_lots(u: float, min_lots: int, alpha: float, cap: int) -> int:
    """A heavy-tailed (Pareto, tail index ``alpha``) order size of at least
    ``min_lots`` and at most ``cap`` from a uniform draw ``u`` in [0, 1)."""
    try:
        q = int(min_lots * (1.0 - u) ** (-1.0 / alpha))
    except OverflowError:  # a tiny alpha: a size beyond any float, so beyond the cap
        return cap
    return min(cap, max(min_lots, q))


def in_continuous(ctx: "Context") -> bool:
    """Whether continuous trading is on now (between today's open and close);
    True when the context does not say."""
    session = getattr(ctx, "session", None)
    if session is None:
        return True
    open_ns, close_ns = session()
    return open_ns <= ctx.now < close_ns
