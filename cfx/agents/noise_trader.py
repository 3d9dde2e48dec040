"""Noise trader: random limit and market orders around the mid at Poisson
times. The bulk of a scenario's message volume, so each wake-up is a
handful of arithmetic operations, one random draw and one or two messages."""

from __future__ import annotations

import math
from collections import deque
from typing import Annotated

import msgspec

from cfx.agents.base import MINUTE, SECOND, AgentSpec, Context, register
from cfx.agents.common import (
    BUY,
    Interval,
    Lots,
    PositionLimit,
    Probability,
    SELL,
    SeriesList,
    SeriesTrader,
    TicksF,
    reference_price,
)
from cfx.types import OrderKind, TimeInForce

MARKET = OrderKind.MARKET
IOC = TimeInForce.IOC


class NoiseTraderSpec(AgentSpec, tag="noise_trader"):
    """Parameters of a `NoiseTrader` (prices in ticks, sizes in lots)."""

    series: SeriesList = ("front",)
    basket: str | None = None
    mean_interval_ns: Interval = 30 * SECOND
    market_prob: Probability = 0.1
    buy_prob: Probability = 0.5
    mean_offset_ticks: TicksF = 3.0
    anchor_weight: Probability = 0.2
    min_lots: Lots = 1
    max_lots: Lots = 5
    order_lifetime_ns: Interval = 5 * MINUTE
    max_open_orders: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 5
    max_position: PositionLimit = 100

    def __post_init__(self) -> None:
        if self.max_lots < self.min_lots:
            raise ValueError("max_lots must be >= min_lots")


@register(NoiseTraderSpec)
class NoiseTrader(SeriesTrader):
    """Sends one random order per wake-up; wake-ups are a Poisson process
    with mean interval ``mean_interval_ns``.

    Each order: a series drawn uniformly from ``series``; side buy with
    probability ``buy_prob`` (but only the reducing side once
    |position| ≥ ``max_position``); size uniform in
    [``min_lots``, ``max_lots``]; with probability ``market_prob`` a market
    order (if the other side of the book has orders), else a GTC limit
    order ``k`` ticks behind a reference price on its own side — a buy at
    ⌊ref⌋ − k, a sell at ⌈ref⌉ + k — with k exponential of mean
    ``mean_offset_ticks``, rounded down (so k = 0 joins or improves the
    touch). ref = ``anchor_weight`` × the expected final settlement (else
    the index) + the rest × the market (mid, else last trade, settlement):
    noise around a fundamental, which lets the futures follow the index
    (with 0, limit orders centre on the mid and the price only drifts).
    Before sending, it cancels its limit orders older than
    ``order_lifetime_ns`` and, oldest first, those beyond
    ``max_open_orders`` − 1.
    ``series``: which series it trades — selectors "front", "front+N" (N
    months further out) or a symbol; "front" is the front month of
    ``basket`` (None: the first listed basket). Re-resolved each day end.
    """

    spec: NoiseTraderSpec

    def __init__(self, spec: NoiseTraderSpec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.sent = 0  # orders sent
        self.cancels = 0  # stale orders cancelled
        self._resting: deque = deque()  # (submit time, order id), oldest first

    def on_start(self, ctx: Context) -> None:
        self.resolve(ctx)
        ctx.wake_after(int(-math.log1p(-ctx.rng.random()) * self.spec.mean_interval_ns) + 1)

    def on_wakeup(self, ctx: Context) -> None:
        spec = self.spec
        u0, u1, u2, u3, u4, u5 = ctx.rng.random(6).tolist()
        now = ctx.now
        ctx.wake_after(int(-math.log1p(-u0) * spec.mean_interval_ns) + 1)
        targets = self.targets
        if not targets:
            return
        # stale and surplus orders go first
        resting = self._resting
        orders = self.own.orders
        oldest = now - spec.order_lifetime_ns
        keep = spec.max_open_orders - 1
        while resting and (resting[0][0] <= oldest or len(resting) > keep):
            oid = resting.popleft()[1]
            if oid in orders:
                ctx.cancel(oid)
                self.cancels += 1
        series = targets[0] if len(targets) == 1 else targets[int(u5 * len(targets))]
        pos = ctx.position(series)
        if pos >= spec.max_position:
            side = SELL
        elif pos <= -spec.max_position:
            side = BUY
        else:
            side = BUY if u1 < spec.buy_prob else SELL
        qty = spec.min_lots + int(u2 * (spec.max_lots - spec.min_lots + 1))
        if qty > spec.max_lots:
            qty = spec.max_lots
        q = ctx.quote(series)
        if u3 < spec.market_prob and (q.ask if side is BUY else q.bid) is not None:
            self.own.submit(ctx, series, side, qty, 0, kind=MARKET, tif=IOC)
            self.sent += 1
            return
        ref = reference_price(ctx, series, q)
        if ref is None:
            return
        w = spec.anchor_weight
        if w:
            anchor = ctx.expected_settlement(series)
            if anchor is None:
                anchor = ctx.index_ticks(series)
            if anchor is not None:
                ref = w * anchor + (1.0 - w) * ref
        k = int(-math.log1p(-u4) * spec.mean_offset_ticks)
        if side is BUY:
            price = math.floor(ref) - k
        else:
            price = math.ceil(ref) + k
        if price <= 0:
            return
        oid = self.own.submit(ctx, series, side, qty, price)
        self.sent += 1
        resting.append((now, oid))


__all__ = ["NoiseTrader", "NoiseTraderSpec"]
