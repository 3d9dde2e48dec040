"""Basis trader: futures against the expected final settlement."""

from __future__ import annotations

from typing import Annotated

import msgspec

from cfx.agents.base import MINUTE, Context, Latency, latency_default, register
from cfx.agents.common import (
    BUY,
    in_continuous,
    Interval,
    Lots,
    PositionLimit,
    SELL,
    SeriesList,
    SeriesSpec,
    SeriesTrader,
    TicksF,
    exp_delay,
    funding_carry,
)
from cfx.products import is_perpetual_symbol
from cfx.types import TimeInForce

IOC = TimeInForce.IOC


class BasisTraderSpec(SeriesSpec, tag="basis_trader"):
    """Parameters of a `BasisTrader` (prices in ticks, sizes in lots)."""

    latency: Latency = latency_default(150_000, 30_000)
    series: SeriesList = ("front", "front+1", "front+2")
    threshold_ticks: TicksF = 0.5
    cost_ticks: TicksF = 0.15
    clip_lots: Lots = 5
    max_position: PositionLimit = 50
    mean_interval_ns: Interval = MINUTE
    funding_intervals: Annotated[float, msgspec.Meta(ge=0.0, le=1_000.0)] = 8.0
    perpetual_threshold_ticks: TicksF = 0.25


@register(BasisTraderSpec)
class BasisTrader(SeriesTrader):
    """Trades the gap between a future and what it will settle at.

    At Poisson wake-ups (mean ``mean_interval_ns``) in continuous trading
    (never in the pre-open, where IOC orders are refused), per series: the
    edge of buying is `ctx.expected_settlement` (month-to-date fixings and
    the latest index for the rest of the month) minus the best ask minus
    ``cost_ticks`` (fees), that of selling the best bid minus the expected
    settlement minus ``cost_ticks``. Beyond ``threshold_ticks`` it takes:
    an IOC order of up to ``clip_lots`` at that price, never taking
    |position| past ``max_position``, and never while an order of its own
    in that series is still in flight. On a perpetual the expected
    settlement is the index, less the funding a long would pay over
    ``funding_intervals`` intervals at the current interval's rate (plus
    what it would receive): the cash-and-carry trade that anchors a
    perpetual (a dated future is unchanged), with
    ``perpetual_threshold_ticks`` in place of ``threshold_ticks``: the
    index it converges to is known now, not an average of fixings still to
    come, so a small edge is worth taking (the arbitrage that keeps a
    perpetual's premium inside the funding clamp).
    ``series``: which series it trades — selectors "front", "front+N" (N
    months further out) or a symbol; default every listed month of
    ``basket`` (None: the first listed basket). Re-resolved each day end.
    """

    spec: BasisTraderSpec

    def on_start(self, ctx: Context) -> None:
        self.resolve(ctx)
        ctx.wake_after(exp_delay(ctx.rng.random(), self.spec.mean_interval_ns))

    def on_wakeup(self, ctx: Context) -> None:
        spec = self.spec
        ctx.wake_after(exp_delay(ctx.rng.random(), spec.mean_interval_ns))
        if not in_continuous(ctx):
            return
        busy = {o[0] for o in self.own.orders.values()} if self.own.orders else ()
        for series in self.targets:
            if series in busy:
                continue
            fair = ctx.expected_settlement(series)
            if fair is None:
                continue
            fair -= funding_carry(ctx, series, fair, spec.funding_intervals)  # a perpetual: funding it earns or pays
            threshold = spec.perpetual_threshold_ticks if is_perpetual_symbol(series) else spec.threshold_ticks
            q = ctx.quote(series)
            bid, ask = q.bid, q.ask
            pos = ctx.position(series)
            if ask is not None and fair - ask - spec.cost_ticks > threshold:
                qty = min(spec.clip_lots, spec.max_position - pos)
                if qty > 0:
                    self.own.submit(ctx, series, BUY, qty, ask, tif=IOC)
            elif bid is not None and bid - fair - spec.cost_ticks > threshold:
                qty = min(spec.clip_lots, spec.max_position + pos)
                if qty > 0:
                    self.own.submit(ctx, series, SELL, qty, bid, tif=IOC)


__all__ = ["BasisTrader", "BasisTraderSpec"]
