"""Settlement squeezer: a participant that tries to push a settlement price."""

from __future__ import annotations

from cfx.agents.base import MINUTE, SECOND, Agent, AgentSpec, Context, DayReport, register
from cfx.agents.common import (
    BUY,
    Interval,
    Lots,
    OwnOrders,
    PositionLimit,
    SeriesSelector,
    Ticks,
    exp_delay,
    resolve_series,
)
from cfx.types import OrderCancelled, OrderRejected, TimeInForce, Trade

IOC = TimeInForce.IOC


class SettlementSqueezerSpec(AgentSpec, tag="settlement_squeezer"):
    """Parameters of a `SettlementSqueezer` (prices in ticks, sizes in lots)."""

    series: SeriesSelector = "front"
    basket: str | None = None
    target_lots: PositionLimit = 200
    clip_lots: Lots = 10
    build_interval_ns: Interval = 10 * MINUTE
    push_lots: PositionLimit = 300
    push_clip_lots: Lots = 20
    push_interval_ns: Interval = 20 * SECOND
    push_through_ticks: Ticks = 5
    push_days: Lots = 1


@register(SettlementSqueezerSpec)
class SettlementSqueezer(Agent):
    """Banging the close. Before the last ``push_days`` trading days of
    ``series`` it builds a long position of ``target_lots`` with IOC buys
    of ``clip_lots`` at the best ask (wake-ups every ``build_interval_ns``
    on average). On those last days, inside the settlement window, it buys
    ``push_lots`` more in IOC clips of ``push_clip_lots`` priced
    ``push_through_ticks`` through the best ask, every ``push_interval_ns``:
    if the settlement price is the window's futures VWAP, the whole
    position is marked (or finally settled) higher. Against a final
    settlement on the index's monthly average, the push only costs it.
    ``series``: the future it squeezes (a selector: "front" is the front
    month of ``basket``, None = the first listed basket). ``pushed`` counts
    the push's filled lots (its fills, as they reach it), not what it sent.
    """

    spec: SettlementSqueezerSpec

    def __init__(self, spec: SettlementSqueezerSpec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.own = OwnOrders()
        self.target: str | None = None
        self.pushed = 0  # lots of the push filled
        self.pushing: dict[int, int] = {}  # push orders not yet done -> open lots

    def on_start(self, ctx: Context) -> None:
        self.target = resolve_series(ctx, self.spec.series, self.spec.basket)
        ctx.wake_after(exp_delay(ctx.rng.random(), self.spec.build_interval_ns))

    def on_day_end(self, ctx: Context, day: DayReport) -> None:
        if self.target is not None and self.target not in ctx.listed():
            self.target = None  # expired: the squeeze is over

    def on_order_event(self, ctx: Context, event) -> None:
        self.own.on_event(event)
        pushing = self.pushing
        if not pushing:
            return
        if type(event) is Trade:
            oid = event.taker_id if event.taker_id in pushing else event.maker_id
            if oid in pushing:
                self.pushed += event.qty
                pushing[oid] -= event.qty
                if pushing[oid] <= 0:
                    del pushing[oid]
        elif type(event) in (OrderCancelled, OrderRejected):
            pushing.pop(event.order_id, None)

    def on_wakeup(self, ctx: Context) -> None:
        spec = self.spec
        series = self.target
        if series is None:
            return
        start, end = ctx.settlement_window()
        pushing = ctx.days_to_expiry(series) < spec.push_days
        quote = ctx.quote(series)
        if pushing and start <= ctx.now < end:
            left = spec.push_lots - self.pushed - sum(self.pushing.values())
            if left > 0 and quote.ask is not None:
                qty = min(spec.push_clip_lots, left)
                oid = self.own.submit(ctx, series, BUY, qty, quote.ask + spec.push_through_ticks, tif=IOC)
                self.pushing[oid] = qty
            ctx.wake_after(spec.push_interval_ns)
            return
        if not pushing and ctx.position(series) < spec.target_lots and quote.ask is not None and not self.own:
            qty = min(spec.clip_lots, spec.target_lots - ctx.position(series))
            self.own.submit(ctx, series, BUY, qty, quote.ask, tif=IOC)
        if pushing and ctx.now < start:
            ctx.wake_after(start - ctx.now)
        else:
            ctx.wake_after(exp_delay(ctx.rng.random(), spec.build_interval_ns))
