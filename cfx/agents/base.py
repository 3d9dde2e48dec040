"""The agent protocol: what a simulated participant sees and can do.

An agent is one class. The simulation calls its hooks; the agent acts
through the `Context` it is handed (never through globals, never reading
wall time or an unseeded random number):

- `on_start(ctx)`: once, at the first session open; schedule a wake-up.
- `on_wakeup(ctx)`: at a time the agent asked for (`ctx.wake_after`).
- `on_order_event(ctx, event)`: its own order events (accepted, rejected,
  trades it was part of, cancels...), after its market-data latency. An
  agent keeps its view of its own open orders from these
  (`cfx.agents.common.OwnOrders` does it).
- `on_market_data(ctx, series)`: the top of book or last trade of a series
  changed (only if ``subscribes = True``), after its market-data latency.
  An agent that registers triggers (`Context.watch`, a `Trigger` per
  series) is called only for the series it watches and only on the
  changes its trigger names (best price moved, a trade printed, a price
  reaching a level, such as its own resting order's); one that registers
  none hears every change of every series, as before.
- `on_index(ctx, name)`: a new indicative value of index `name` (basket,
  SKU or SKU.region) was published (only if ``subscribes = True``), after
  its market-data latency; read it with `ctx.index_value(name)`.
- `on_day_end(ctx, day)`: after the daily settlement: settlement prices,
  fixings of every index, and any margin call on the agent's account.

A complete example, a trader that buys one lot of the front month at the
best ask every simulated minute::

    from cfx.agents.base import SECOND, Agent, AgentSpec, register
    from cfx.types import Side, TimeInForce

    class MinuteBuyerSpec(AgentSpec, tag="minute_buyer"):
        lots: int = 1

    @register(MinuteBuyerSpec)
    class MinuteBuyer(Agent):
        def on_start(self, ctx):
            ctx.wake_after(60 * SECOND)

        def on_wakeup(self, ctx):
            series = ctx.front()
            quote = ctx.quote(series)
            if quote.ask is not None:
                ctx.submit(series, Side.BUY, self.spec.lots, quote.ask, tif=TimeInForce.IOC)
            ctx.wake_after(60 * SECOND)

A scenario then lists it as ``[[agents]] type = "minute_buyer"``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Callable, ClassVar, Protocol, runtime_checkable

import msgspec

from cfx.types import OrderKind, Side, StpMode, TimeInForce
from cfx.units import NS

if TYPE_CHECKING:
    import datetime as dt

    import numpy as np

    from cfx.products import Series

SECOND = NS
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]


MAX_DELAY_NS = 3_600 * SECOND
"""The longest fixed delay or jitter median, and the longest jitter draw
(`Participant.delay` cuts a draw there): an hour, far beyond any latency,
and a whole run's clock stays far from int64's end."""


class Latency(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="kebab"):
    """One-way delays in nanoseconds: a fixed part plus lognormal jitter
    (median ``jitter_ns``, shape ``sigma``; 0 = none). ``sigma`` is at most
    3 (the 99.99th percentile ~70,000 times the median): beyond that the
    draws overflow a float."""

    entry_ns: Annotated[int, msgspec.Meta(ge=0, le=MAX_DELAY_NS)] = 200_000
    market_data_ns: Annotated[int, msgspec.Meta(ge=0, le=MAX_DELAY_NS)] = 200_000
    jitter_ns: Annotated[int, msgspec.Meta(ge=0, le=MAX_DELAY_NS)] = 50_000
    sigma: Annotated[float, msgspec.Meta(ge=0, le=3.0)] = 0.5


def latency_default(delay_ns: int, jitter_ns: int) -> Any:
    """A spec's ``latency`` field defaulting to ``delay_ns`` each way (order
    entry and market data) plus lognormal jitter of median ``jitter_ns``:
    how far an agent type sits from the venue."""
    return msgspec.field(
        default_factory=partial(Latency, entry_ns=delay_ns, market_data_ns=delay_ns, jitter_ns=jitter_ns)
    )


class AgentSpec(msgspec.Struct, tag_field="type", kw_only=True, forbid_unknown_fields=True, rename="kebab"):
    """What every ``[[agents]]`` entry of a scenario has; each agent type
    subclasses it with ``tag="its_name"`` and adds its parameters (written
    kebab-case in TOML: ``spread_ticks`` is ``spread-ticks``)."""

    count: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    collateral_usd: Annotated[float, msgspec.Meta(ge=0, le=1e12)] = 1_000_000.0  # int64 micro-$ stay far from overflow
    latency: Latency = msgspec.field(default_factory=Latency)
    stp: StpMode | None = None  # None: the scenario's rules.stp-default


class Quote(msgspec.Struct, frozen=True):
    """Top of book as an agent sees it (after its market-data latency)."""

    bid: int | None
    bid_qty: int
    ask: int | None
    ask_qty: int
    last: int | None

    @property
    def mid(self) -> float | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2


class Depth(msgspec.Struct, frozen=True):
    """L2 as an agent sees it: (price, visible lots) per level, best first."""

    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


class PublicTrade(msgspec.Struct, frozen=True, gc=False):
    """One trade on the public tape: time, price, lots, the aggressor's side."""

    ts: int
    price: int
    qty: int
    aggressor: Side


class Indicative(msgspec.Struct, frozen=True, gc=False):
    """The indicative uncross of a series' call or next batch as an agent
    sees it (after its market-data latency; `Context.indicative`): the
    price and lots an uncross would have now and the unmatched surplus
    (``imbalance`` lots on ``imbalance_side``, None when balanced).
    ``price`` None (volume 0): no uncross is indicated (the book does not
    cross, nothing was published yet, or the last batch has just
    uncrossed). ``ts``: when it was published (0: never)."""

    price: int | None
    volume: int
    imbalance: int
    imbalance_side: Side | None
    ts: int = 0


NO_INDICATIVE = Indicative(None, 0, 0, None, 0)


class Trigger(msgspec.Struct, frozen=True, kw_only=True):
    """Which changes of one series' published market data call an agent's
    `on_market_data` (register with `Context.watch`). Any named change
    fires; with none named it never fires.

    - ``quote``: anything on the top of book changed (a best price, its
      size, the last trade price): what an agent without triggers hears.
    - ``best``: the best bid or the best ask price moved (sizes alone do not).
    - ``trade``: a trade printed on the series (even at an unchanged price).
    - ``above``: the best bid or the last trade price reached ``above`` or
      higher, having been below it (edge-triggered: once per crossing).
    - ``below``: the best ask or the last trade price reached ``below`` or
      lower, having been above it.
    - ``indicative``: the venue published a new indicative uncross of the
      series (during a call, or between batches; read it with
      `Context.indicative`).

    Its own resting order touched: ``above`` = its ask's price, ``below`` =
    its bid's price (the other side reached it, or a trade printed at it)."""

    quote: bool = False
    best: bool = False
    trade: bool = False
    above: int | None = None
    below: int | None = None
    indicative: bool = False

    def fires(self, before: Quote, after: Quote, printed: bool, indicated: bool = False) -> bool:
        """Whether the change from ``before`` to ``after`` (``printed``: a
        trade printed in between; ``indicated``: an indicative uncross was
        published) is one this trigger names."""
        if self.quote and before != after:
            return True
        if self.indicative and indicated:
            return True
        if self.best and (before.bid != after.bid or before.ask != after.ask):
            return True
        if self.trade and (printed or before.last != after.last):
            return True
        if self.above is not None:
            level = self.above
            if _reached_above(after, level) and not _reached_above(before, level):
                return True
        if self.below is not None:
            level = self.below
            if _reached_below(after, level) and not _reached_below(before, level):
                return True
        return False


def _reached_above(q: Quote, level: int) -> bool:
    return (q.bid is not None and q.bid >= level) or (q.last is not None and q.last >= level)


def _reached_below(q: Quote, level: int) -> bool:
    return (q.ask is not None and q.ask <= level) or (q.last is not None and q.last <= level)


class DayReport(msgspec.Struct, frozen=True):
    """What an agent learns after a day's settlement."""

    date: "dt.date"
    settlements: dict[str, int]  # series -> settlement price, ticks
    fixings: dict[str, int]  # index name (basket, SKU, SKU.region) -> official fixing, ticks
    margin_call: int  # micro-dollars owed by this agent's account (0: none)


class Context(Protocol):
    """What the simulation offers an agent. Prices in ticks, quantities in lots."""

    now: int
    account: int
    rng: "np.random.Generator"

    def listed(self) -> list[str]: ...  # tradable series, front month first
    def front(self, basket: str | None = None) -> str: ...
    def quote(self, series: str) -> Quote: ...
    def depth(self, series: str, levels: int = 5) -> Depth: ...  # L2 as seen (after market-data latency)
    def trades(self, series: str, since_ns: int) -> list[PublicTrade]: ...  # public tape as seen, ts >= since_ns
    def index_ticks(self, series: str) -> int | None: ...  # latest seen indicative of the series' basket, ticks
    def index_value(self, name: str) -> int | None: ...  # same for any index name (basket, SKU, SKU.region)
    # month-to-date fixings + the latest seen indicative for the rest of the month (moves intraday)
    def expected_settlement(self, series: str) -> int | None: ...
    # the latent expected final settlement (ahead of publication) + N(0, noise_ticks) from ctx.rng
    def value_signal(self, series: str, noise_ticks: float) -> float | None: ...
    def settlement(self, series: str) -> int | None: ...  # last daily settlement price
    def days_to_expiry(self, series: str) -> int: ...  # business days after today until its last trading day
    def contract(self, series: str) -> Series: ...  # its terms (month, settlement rule), listed or not
    def batch_interval_ns(self) -> int: ...  # the periodic batch interval (products.matching "batch"); 0: continuous
    # the latest indicative uncross of a call or the next batch as seen (after market-data latency)
    def indicative(self, series: str) -> Indicative: ...
    def perpetual(self, basket: str | None = None) -> str | None: ...  # the listed perpetual (HOP-PERP), or None
    def funding_rate(self, series: str) -> int | None: ...  # a perpetual's predicted funding rate (1e-8; + longs pay)
    def settlement_window(self) -> tuple[int, int]: ...  # today's [start, end) ns of the settlement window
    def final_settlement_rule(self) -> str: ...  # "index" or "vwap_window" (products.final-settlement)
    def session(self) -> tuple[int, int]: ...  # today's continuous trading [open, close) ns
    def position(self, series: str) -> int: ...  # net lots from its own fills as delivered, and the daily statement
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
    ) -> int: ...
    def cancel(self, order_id: int) -> None: ...
    def modify(self, order_id: int, price: int, qty: int) -> None: ...
    def cancel_all(self, series: str | None = None) -> None: ...
    def wake_after(self, delay_ns: int) -> None: ...
    # on_market_data for `series` only on `trigger`'s changes (and, once any is set, only for watched series)
    def watch(self, series: str, trigger: Trigger) -> None: ...
    def unwatch(self, series: str) -> None: ...  # no more on_market_data for `series` (a watcher's)
    def deposit(self, amount_usd: float) -> None: ...


@runtime_checkable
class Withdrawable(Protocol):
    """An agent that can pull its quotes and stop quoting, then come back:
    what an ``mm-withdrawal`` shock asks of market makers."""

    def withdraw(self, ctx: Context | None = None) -> None: ...
    def resume(self, ctx: Context | None = None) -> None: ...


class Agent:
    """Base class: override the hooks you need. ``spec`` holds the agent's
    parameters from the scenario; ``index`` numbers agents of one type.

    ``subscribes = True``: `on_market_data` on every top-of-book change of
    every series, and `on_index` on each publication. To hear less, call
    ``ctx.watch(series, Trigger(...))`` (see `Trigger`): from then on only
    watched series, and only on their triggers' changes, call
    `on_market_data` (an agent that watches need not set ``subscribes``)."""

    subscribes: ClassVar[bool] = False

    def __init__(self, spec: AgentSpec, index: int = 0) -> None:
        self.spec = spec
        self.index = index

    def on_start(self, ctx: Context) -> None:
        pass

    def on_wakeup(self, ctx: Context) -> None:
        pass

    def on_order_event(self, ctx: Context, event: Any) -> None:
        pass

    def on_market_data(self, ctx: Context, series: str) -> None:
        pass

    def on_index(self, ctx: Context, name: str) -> None:
        pass

    def on_day_end(self, ctx: Context, day: DayReport) -> None:
        pass


REGISTRY: dict[type[AgentSpec], type[Agent]] = {}


def register(spec: type[AgentSpec]) -> Callable[[type[Agent]], type[Agent]]:
    """Class decorator: scenarios may now name ``spec``'s tag as an agent type."""

    def deco(cls: type[Agent]) -> type[Agent]:
        REGISTRY[spec] = cls
        return cls

    return deco


def agent_for(spec: AgentSpec) -> type[Agent]:
    return REGISTRY[type(spec)]
