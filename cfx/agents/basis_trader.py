"""Basis trader: futures against the expected final settlement."""

from __future__ import annotations

from cfx.agents.base import MINUTE, AgentSpec, Context, register
from cfx.agents.common import (
    BUY,
    Interval,
    Lots,
    PositionLimit,
    SELL,
    SeriesList,
    SeriesTrader,
    TicksF,
    exp_delay,
)
from cfx.types import TimeInForce

IOC = TimeInForce.IOC


class BasisTraderSpec(AgentSpec, tag="basis_trader"):
    """Parameters of a `BasisTrader` (prices in ticks, sizes in lots)."""

    series: SeriesList = ("front",)
    basket: str | None = None
    threshold_ticks: TicksF = 5.0
    clip_lots: Lots = 5
    max_position: PositionLimit = 50
    mean_interval_ns: Interval = MINUTE


@register(BasisTraderSpec)
class BasisTrader(SeriesTrader):
    """Trades the gap between a future and what it will settle at.

    At Poisson wake-ups (mean ``mean_interval_ns``), per series: the edge
    is `ctx.expected_settlement` (the final price if the index stays where
    it is, given the fixings so far) minus the futures mid (one-sided book:
    the ask for buying, the bid for selling). If the futures are cheap by
    more than ``threshold_ticks`` it buys, if rich by more it sells: an IOC
    order of up to ``clip_lots`` at the other side's best price, never
    taking |position| past ``max_position``, and never while an order of
    its own in that series is still in flight.
    ``series``: which series it trades — selectors "front", "front+N" (N
    months further out) or a symbol; "front" is the front month of
    ``basket`` (None: the first listed basket). Re-resolved each day end.
    """

    spec: BasisTraderSpec

    def on_start(self, ctx: Context) -> None:
        self.resolve(ctx)
        ctx.wake_after(exp_delay(ctx.rng.random(), self.spec.mean_interval_ns))

    def on_wakeup(self, ctx: Context) -> None:
        spec = self.spec
        ctx.wake_after(exp_delay(ctx.rng.random(), spec.mean_interval_ns))
        busy = {o[0] for o in self.own.orders.values()} if self.own.orders else ()
        for series in self.targets:
            if series in busy:
                continue
            fair = ctx.expected_settlement(series)
            if fair is None:
                continue
            q = ctx.quote(series)
            bid, ask = q.bid, q.ask
            mid = (bid + ask) / 2 if bid is not None and ask is not None else None
            pos = ctx.position(series)
            if ask is not None and fair - (ask if mid is None else mid) > spec.threshold_ticks:
                qty = min(spec.clip_lots, spec.max_position - pos)
                if qty > 0:
                    self.own.submit(ctx, series, BUY, qty, ask, tif=IOC)
            elif bid is not None and (bid if mid is None else mid) - fair > spec.threshold_ticks:
                qty = min(spec.clip_lots, spec.max_position + pos)
                if qty > 0:
                    self.own.submit(ctx, series, SELL, qty, bid, tif=IOC)


__all__ = ["BasisTrader", "BasisTraderSpec"]
