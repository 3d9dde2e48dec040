"""Value (informed) trader: trades toward a private, noisy view of what the
future will settle at, working each position change over time."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from cfx.agents.base import MINUTE, Context, Latency, latency_default, register
from cfx.agents.common import (
    BUY,
    SELL,
    Alarms,
    HalfLifeS,
    Interval,
    Lots,
    PositionLimit,
    Probability,
    SeriesSpec,
    SeriesTrader,
    TicksF,
    UShape,
    activity,
    exp_delay,
    in_continuous,
    reference_price,
)
from cfx.agents.execution import Executor


class ValueTraderSpec(SeriesSpec, tag="value_trader"):
    """Parameters of a `ValueTrader` (prices in ticks, sizes in lots)."""

    latency: Latency = latency_default(500_000, 100_000)
    noise_ticks: TicksF = 2.0
    memory: Annotated[float, msgspec.Meta(ge=0.0, le=10_000.0)] = 4.0
    threshold_ticks: TicksF = 1.0
    lots_per_tick: Annotated[float, msgspec.Meta(gt=0.0, le=10_000.0)] = 5.0
    max_position: PositionLimit = 60
    min_trade_lots: Lots = 3
    mean_interval_ns: Interval = 2 * MINUTE
    horizon_s: HalfLifeS = 600.0
    child_lots: Lots = 3
    urgency: Probability = 0.7
    activity_amplitude: UShape = 0.0
    activity_decay_s: HalfLifeS = 1800.0


@register(ValueTraderSpec)
class ValueTrader(SeriesTrader):
    """An informed trader (as ABIDES' value agents): at Poisson wake-ups
    (mean ``mean_interval_ns``, following the U-shaped intraday profile
    `activity` with ``activity_amplitude`` and ``activity_decay_s``) it
    draws a private observation of the latent expected final settlement,
    `ctx.value_signal` with noise ``noise_ticks`` (without one,
    `ctx.expected_settlement` plus its own N(0, ``noise_ticks``) noise),
    folds it into its belief (an average of its observations with
    half-life ``memory`` observations; 0 = the latest alone), and compares
    the belief with the market (mid, else
    last trade). Beyond ``threshold_ticks`` of mispricing its target
    position is ``lots_per_tick`` × (|edge| − threshold) on the cheap side,
    within ±``max_position``; inside the band it holds. A change of at
    least ``min_trade_lots`` is worked by an `Executor` over
    ``horizon_s`` seconds in children of at most ``child_lots`` that cross
    with probability ``urgency``; a new view on the other side cancels the
    parent being worked. Continuous trading only.
    ``series``: which series it trades ("front", "front+N" or a symbol;
    "front" of ``basket``). Re-resolved each day end.
    """

    spec: ValueTraderSpec
    alarms_type: ClassVar[type] = Alarms  # a compiled agent's typed `Alarms` (cfx.agents.compiled)

    def __init__(self, spec: ValueTraderSpec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.alarms = self.alarms_type()
        self.executors: dict[str, Executor] = {}
        self.views = 0  # observations drawn
        self.beliefs: dict[str, float] = {}  # series -> its estimate of the final settlement, ticks
        self._keep = 0.5 ** (1.0 / spec.memory) if spec.memory else 0.0

    def on_start(self, ctx: Context) -> None:
        self.resolve(ctx)
        self._next(ctx)

    def _next(self, ctx: Context) -> None:
        spec = self.spec
        mean = spec.mean_interval_ns / activity(ctx, spec.activity_amplitude, spec.activity_decay_s)
        self.alarms.arm(ctx, "view", ctx.now + exp_delay(ctx.rng.random(), int(mean)))

    def on_order_event(self, ctx: Context, event) -> None:
        self.own.on_event(event)
        for ex in self.executors.values():
            ex.on_order_event(ctx, event)

    def signal(self, ctx: Context, series: str) -> float | None:
        """Its private view of the final settlement, in ticks."""
        observe = getattr(ctx, "value_signal", None)
        if observe is not None:
            v = observe(series, self.spec.noise_ticks)
            if v is not None:
                return v
        v = ctx.expected_settlement(series)  # no private view offered: its own noisy reading of the public one
        return None if v is None else v + self.spec.noise_ticks * float(ctx.rng.standard_normal())

    def on_wakeup(self, ctx: Context) -> None:
        fired = self.alarms.due(ctx)
        if "view" in fired:
            self._next(ctx)
            if in_continuous(ctx):
                for series in self.targets:
                    self._view(ctx, series)
        for series, ex in list(self.executors.items()):
            if ex.done:
                del self.executors[series]
                continue
            if f"ex:{series}" in fired:
                self._work(ctx, series, ex)

    def _view(self, ctx: Context, series: str) -> None:
        spec = self.spec
        obs = self.signal(ctx, series)
        self.views += 1
        mkt = reference_price(ctx, series)
        if obs is None or mkt is None:
            return
        old = self.beliefs.get(series)
        v = obs if old is None else self._keep * old + (1.0 - self._keep) * obs
        self.beliefs[series] = v
        edge = v - mkt
        if abs(edge) <= spec.threshold_ticks:
            return
        size = min(spec.max_position, int(spec.lots_per_tick * (abs(edge) - spec.threshold_ticks)))
        target = size if edge > 0 else -size
        ex = self.executors.get(series)
        pos = ctx.position(series)
        working = 0
        if ex is not None and not ex.done:
            working = ex.remaining if ex.side is BUY else -ex.remaining
        need = target - pos - working
        if abs(need) < spec.min_trade_lots:
            return
        side = BUY if need > 0 else SELL
        if ex is not None and not ex.done:
            if ex.side is side:
                return  # already working toward it
            ex.cancel(ctx)
        now = ctx.now
        ex = Executor(
            series,
            side,
            abs(need),
            start_ns=now,
            end_ns=now + int(spec.horizon_s * 1e9),
            max_child_lots=spec.child_lots,
            urgency=spec.urgency,
        )
        self.executors[series] = ex
        self._work(ctx, series, ex)

    def _work(self, ctx: Context, series: str, ex: Executor) -> None:
        if not in_continuous(ctx):
            self.alarms.arm(ctx, f"ex:{series}", ctx.now + MINUTE)
            return
        delay = ex.on_wakeup(ctx)
        if delay is None:
            self.executors.pop(series, None)
        else:
            self.alarms.arm(ctx, f"ex:{series}", ctx.now + delay)

    def on_day_end(self, ctx: Context, day) -> None:
        for ex in self.executors.values():
            ex.cancel(ctx)
        self.executors.clear()
        super().on_day_end(ctx, day)


__all__ = ["ValueTrader", "ValueTraderSpec"]
