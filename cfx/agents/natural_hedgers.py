"""The natural hedgers: a neocloud (owns GPUs, is short the price: sells
futures against capacity it expects to sit idle) and an inference
platform (rents GPUs, is long the price: buys futures against compute it
will rent). One behaviour, mirrored."""

from __future__ import annotations

import math
from typing import ClassVar

from cfx.agents.base import MINUTE, AgentSpec, Context, register
from cfx.agents.common import (
    BUY,
    Interval,
    Lots,
    PositionLimit,
    Probability,
    SELL,
    SeriesList,
    SeriesTrader,
    Ticks,
    exp_delay,
    reference_price,
)
from cfx.types import Side


class _HedgerSpec(AgentSpec, tag="_natural_hedger"):
    """Shared parameters (not an agent type itself)."""

    series: SeriesList = ("front",)
    basket: str | None = None
    target_lots: PositionLimit = 50
    clip_lots: Lots = 5
    mean_interval_ns: Interval = 10 * MINUTE
    take_prob: Probability = 0.2
    max_concession_ticks: Ticks | None = None


class NeocloudSpec(_HedgerSpec, tag="neocloud"):
    """Parameters of a `Neocloud`; see `NaturalHedger`."""


class InferencePlatformSpec(_HedgerSpec, tag="inference_platform"):
    """Parameters of an `InferencePlatform`; see `NaturalHedger`."""


class NaturalHedger(SeriesTrader):
    """Works its position in each of ``series`` toward a target of
    ``target_lots`` lots (short for a neocloud, long for an inference
    platform) over the days, with one working limit order per series.

    At Poisson wake-ups (mean ``mean_interval_ns``), per series, with
    ``r`` lots still to trade: a limit order of min(``clip_lots``, r) lots,
    normally passive at the touch of its own side (a neocloud joins the
    best ask, a platform the best bid); with probability ``take_prob``
    aggressive at the other side's best price (hits the bid / lifts the
    ask). An existing working order is moved there with a modify; at the
    target it is cancelled. With ``max_concession_ticks`` set it never
    sells below (buys above) the index anchor (`ctx.expected_settlement`,
    else `ctx.index_ticks`) by more than that.

    One GPU idle (rented) for a month is one contract (730 GPU-hours), so
    ``target_lots`` is the number of GPUs hedged per month.
    ``series``: which series it trades — selectors "front", "front+N" (N
    months further out) or a symbol; "front" is the front month of
    ``basket`` (None: the first listed basket). Re-resolved each day end.
    """

    SIDE: ClassVar[Side] = SELL
    spec: _HedgerSpec

    def __init__(self, spec: _HedgerSpec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.working: dict[str, int] = {}  # series -> working order id

    def on_start(self, ctx: Context) -> None:
        self.resolve(ctx)
        self.on_wakeup(ctx)

    def remaining(self, ctx: Context, series: str) -> int:
        """Lots still to trade to reach the target in ``series``."""
        pos = ctx.position(series)
        return self.spec.target_lots - (-pos if self.SIDE is SELL else pos)

    def on_wakeup(self, ctx: Context) -> None:
        spec = self.spec
        u_wake, u_take = ctx.rng.random(2).tolist()
        ctx.wake_after(exp_delay(u_wake, spec.mean_interval_ns))
        orders = self.own.orders
        sell = self.SIDE is SELL
        for series in self.targets:
            r = self.remaining(ctx, series)
            oid = self.working.get(series)
            o = orders.get(oid) if oid is not None else None
            if r <= 0:
                if o is not None:
                    ctx.cancel(oid)
                self.working.pop(series, None)
                continue
            q = ctx.quote(series)
            near, far = (q.ask, q.bid) if sell else (q.bid, q.ask)
            if far is not None and u_take < spec.take_prob:
                price = far
            elif near is not None:
                price = near
            else:
                ref = reference_price(ctx, series, q)
                if ref is None:
                    continue
                price = math.ceil(ref) + 1 if sell else math.floor(ref) - 1
            if spec.max_concession_ticks is not None:
                anchor = ctx.expected_settlement(series)
                if anchor is None:
                    anchor = ctx.index_ticks(series)
                if anchor is not None:
                    if sell:
                        price = max(price, anchor - spec.max_concession_ticks)
                    else:
                        price = min(price, anchor + spec.max_concession_ticks)
            if price <= 0:
                continue
            qty = min(spec.clip_lots, r)
            if o is None:
                self.working[series] = self.own.submit(ctx, series, self.SIDE, qty, price)
            elif o[2] != price or o[3] != qty:
                self.own.modify(ctx, oid, price, qty)


@register(NeocloudSpec)
class Neocloud(NaturalHedger):
    """A natural short: sells futures against GPU capacity it expects to
    sit idle (``target_lots`` short per series). See `NaturalHedger`."""

    SIDE = SELL


@register(InferencePlatformSpec)
class InferencePlatform(NaturalHedger):
    """A natural long: buys futures against compute it will rent
    (``target_lots`` long per series). See `NaturalHedger`."""

    SIDE = BUY


__all__ = ["InferencePlatform", "InferencePlatformSpec", "Neocloud", "NeocloudSpec", "NaturalHedger"]
