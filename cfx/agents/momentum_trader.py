"""Momentum trader: follows the trend of the prices it sees trade."""

from __future__ import annotations

from collections import deque
from typing import Annotated, ClassVar

import msgspec

from cfx.agents.base import MINUTE, Context, Latency, latency_default, register
from cfx.agents.common import (
    BUY,
    Interval,
    Lots,
    PositionLimit,
    SELL,
    SeriesSpec,
    SeriesTrader,
    TicksF,
    UShape,
    HalfLifeS,
    activity,
    exp_delay,
    in_continuous,
)
from cfx.types import TimeInForce

IOC = TimeInForce.IOC
Window = Annotated[int, msgspec.Meta(ge=1, le=100_000)]


class MomentumTraderSpec(SeriesSpec, tag="momentum_trader"):
    """Parameters of a `MomentumTrader` (prices in ticks, sizes in lots)."""

    latency: Latency = latency_default(1_000_000, 200_000)
    short_window: Window = 5
    long_window: Window = 20
    threshold_ticks: TicksF = 0.5
    clip_lots: Lots = 2
    max_position: PositionLimit = 30
    mean_interval_ns: Interval = MINUTE
    activity_amplitude: UShape = 0.0
    activity_decay_s: HalfLifeS = 1800.0

    def __post_init__(self) -> None:
        if self.short_window >= self.long_window:
            raise ValueError("short_window must be < long_window")


class _Trend:
    __slots__ = ("short", "long", "short_sum", "long_sum")

    def __init__(self) -> None:
        self.short: deque = deque()
        self.long: deque = deque()
        self.short_sum = 0
        self.long_sum = 0


@register(MomentumTraderSpec)
class MomentumTrader(SeriesTrader):
    """Trend follower. At Poisson wake-ups (mean ``mean_interval_ns``) it
    samples each series' last trade price (continuous trading only); once it has ``long_window``
    samples it compares the mean of the last ``short_window`` with the mean
    of the last ``long_window``: short above long by more than
    ``threshold_ticks`` → target +``max_position``; below by more → target
    −``max_position``; otherwise it holds. It trades toward the target with
    IOC orders of up to ``clip_lots`` at the other side's best price, one
    in flight per series at a time. Its wake-up rate follows the U-shaped
    intraday profile `activity` (``activity_amplitude``, decay
    ``activity_decay_s``; 0 = flat).
    ``series``: which series it trades — selectors "front", "front+N" (N
    months further out) or a symbol; "front" is the front month of
    ``basket`` (None: the first listed basket). Re-resolved each day end.
    """

    spec: MomentumTraderSpec
    trend_type: ClassVar[type] = _Trend  # the compiled trader's typed `Trend` (cfx.agents.compiled)

    def __init__(self, spec: MomentumTraderSpec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.trends: dict[str, _Trend] = {}

    def on_start(self, ctx: Context) -> None:
        self.resolve(ctx)
        self._next(ctx)

    def _next(self, ctx: Context) -> None:
        spec = self.spec
        mean = spec.mean_interval_ns / activity(ctx, spec.activity_amplitude, spec.activity_decay_s)
        ctx.wake_after(exp_delay(ctx.rng.random(), int(mean)))

    def resolve(self, ctx: Context) -> None:
        super().resolve(ctx)
        self.trends = {s: self.trends.get(s) or self.trend_type() for s in self.targets}

    def signal(self, series: str) -> float | None:
        """Short minus long moving average, in ticks (None until the long window is full)."""
        t = self.trends.get(series)
        if t is None or len(t.long) < self.spec.long_window:
            return None
        return t.short_sum / len(t.short) - t.long_sum / len(t.long)

    def on_wakeup(self, ctx: Context) -> None:
        spec = self.spec
        self._next(ctx)
        if not in_continuous(ctx):
            return
        busy = {o[0] for o in self.own.orders.values()} if self.own.orders else ()
        for series in self.targets:
            q = ctx.quote(series)
            last = q.last
            if last is None:
                continue
            t = self.trends[series]
            t.short.append(last)
            t.short_sum += last
            if len(t.short) > spec.short_window:
                t.short_sum -= t.short.popleft()
            t.long.append(last)
            t.long_sum += last
            if len(t.long) > spec.long_window:
                t.long_sum -= t.long.popleft()
            diff = self.signal(series)
            if diff is None or series in busy:
                continue
            if diff > spec.threshold_ticks:
                target = spec.max_position
            elif diff < -spec.threshold_ticks:
                target = -spec.max_position
            else:
                continue
            need = target - ctx.position(series)
            if need > 0 and q.ask is not None:
                self.own.submit(ctx, series, BUY, min(need, spec.clip_lots), q.ask, tif=IOC)
            elif need < 0 and q.bid is not None:
                self.own.submit(ctx, series, SELL, min(-need, spec.clip_lots), q.bid, tif=IOC)


__all__ = ["MomentumTrader", "MomentumTraderSpec"]
