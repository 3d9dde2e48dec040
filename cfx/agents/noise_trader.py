"""Noise trader: random limit and market orders around the mid at Poisson
times, with heavy-tailed sizes; a large market order is worked over time
by an `Executor`. Each plain wake-up is a handful of arithmetic
operations, one random draw and one or two messages."""

from __future__ import annotations

import math
from collections import deque
from typing import Annotated, ClassVar

import msgspec

from cfx.agents.base import MINUTE, SECOND, Context, Latency, NonNegativeInt, latency_default, register
from cfx.agents.common import (
    BUY,
    Alarms,
    HalfLifeS,
    UShape,
    activity,
    in_continuous,
    pareto_lots,
    Interval,
    Lots,
    PositionLimit,
    Probability,
    SELL,
    SeriesSpec,
    SeriesTrader,
    TicksF,
    reference_price,
)
from cfx.agents.execution import Executor
from cfx.types import OrderKind, TimeInForce

MARKET = OrderKind.MARKET
IOC = TimeInForce.IOC


class NoiseTraderSpec(SeriesSpec, tag="noise_trader"):
    """Parameters of a `NoiseTrader` (prices in ticks, sizes in lots)."""

    latency: Latency = latency_default(2_000_000, 500_000)
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
    size_alpha: Annotated[float, msgspec.Meta(ge=0.0, le=10.0)] = 0.0
    child_lots: NonNegativeInt = 0
    child_interval_ns: Interval = 20 * SECOND
    urgency: Probability = 0.8
    activity_amplitude: UShape = 0.0
    activity_decay_s: HalfLifeS = 1800.0
    excitement: Annotated[float, msgspec.Meta(ge=0.0, le=100.0)] = 0.0
    excitement_max_ticks: TicksF = 5.0
    busy_mult: Annotated[float, msgspec.Meta(ge=1.0, le=100.0)] = 1.0
    # a calm spell lasts busy_mean_s * (1 - busy_share) / busy_share on average:
    # a share near 0 made that (times 1e9 ns) infinite, and int() of it crashed;
    # one millionth of the time busy is rarer than any use and keeps it finite
    busy_share: Annotated[float, msgspec.Meta(ge=1e-6, lt=1.0)] = 0.2
    busy_mean_s: HalfLifeS = 600.0

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
    [``min_lots``, ``max_lots``], or with ``size_alpha`` > 0 heavy-tailed:
    Pareto with tail index ``size_alpha`` from ``min_lots``, capped at
    ``max_lots``; with probability ``market_prob`` a market order (if the
    other side of the book has orders, and only in continuous trading:
    in the pre-open it sends a limit order instead) — one larger than ``child_lots``
    (> 0) is worked by an `Executor` instead, in children of at most
    ``child_lots`` about ``child_interval_ns`` apart crossing the spread
    with probability ``urgency`` (one parent at a time; no other order
    meanwhile) — else a GTC limit
    order ``k`` ticks behind a reference price on its own side — a buy at
    ⌊ref⌋ − k, a sell at ⌈ref⌉ + k — with k exponential of mean
    ``mean_offset_ticks``, rounded down (so k = 0 joins or improves the
    touch). ref = ``anchor_weight`` × the expected final settlement (else
    the index) + the rest × the market (mid, else last trade, settlement):
    noise around a fundamental, which lets the futures follow the index
    (with 0, limit orders centre on the mid and the price only drifts).
    Before sending, it cancels its limit orders older than
    ``order_lifetime_ns`` and, oldest first, those beyond
    ``max_open_orders`` − 1. The wake-up rate follows the U-shaped
    intraday profile `activity` (``activity_amplitude``, decay
    ``activity_decay_s``; 0 = flat), and rises after the price moves
    (traders react to volatility, which clusters it): × (1 + ``excitement``
    × |change of the mid since its last wake-up|, in ticks, at most
    ``excitement_max_ticks``: a per-tick rate and a cap in ticks, both
    scaled with the tick to mean the same in dollars),
    and in busy spells: it alternates calm and busy spells of exponential
    length (busy ones ``busy_mean_s`` on average, ``busy_share`` of the
    time), ``busy_mult`` × busier in a busy one (1 = no spells). The same
    intensity paces a parent's children (``child_interval_ns`` / intensity).
    ``series``: which series it trades — selectors "front", "front+N" (N
    months further out) or a symbol; "front" is the front month of
    ``basket`` (None: the first listed basket). Re-resolved each day end.
    """

    spec: NoiseTraderSpec
    alarms_type: ClassVar[type] = Alarms  # a compiled agent's typed `Alarms` (cfx.agents.compiled)

    def __init__(self, spec: NoiseTraderSpec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.sent = 0  # orders sent
        self.cancels = 0  # stale orders cancelled
        self._resting: deque = deque()  # (submit time, order id), oldest first
        self.executor: Executor | None = None
        self.alarms = self.alarms_type() if spec.child_lots else None
        self._last_mid: float | None = None
        self._busy = True  # flips to calm at the first look
        self._spell_end = 0

    def on_start(self, ctx: Context) -> None:
        self.resolve(ctx)
        self._next(ctx, ctx.rng.random())

    def intensity(self, ctx: Context) -> float:
        """How much busier than its base rate it is now: time of day, its
        busy spells, and the price moves it has seen."""
        spec = self.spec
        k = 1.0
        if spec.activity_amplitude:
            k = activity(ctx, spec.activity_amplitude, spec.activity_decay_s)
        if spec.busy_mult != 1.0:
            now = ctx.now
            while now >= self._spell_end:  # alternate calm and busy spells (exponential lengths)
                self._busy = not self._busy
                mean = spec.busy_mean_s if self._busy else spec.busy_mean_s * (1.0 - spec.busy_share) / spec.busy_share
                self._spell_end = max(self._spell_end, now) + int(-math.log1p(-ctx.rng.random()) * mean * 1e9) + 1
            if self._busy:
                k *= spec.busy_mult
        if spec.excitement and self.targets:
            mid = ctx.quote(self.targets[0]).mid
            if mid is not None:
                last = self._last_mid
                self._last_mid = mid
                if last is not None:
                    k *= 1.0 + spec.excitement * min(spec.excitement_max_ticks, abs(mid - last))
        return k

    def _next(self, ctx: Context, u: float) -> None:
        mean = self.spec.mean_interval_ns / self.intensity(ctx)
        delay = int(-math.log1p(-u) * mean) + 1
        if self.alarms is None:
            ctx.wake_after(delay)
        else:
            self.alarms.arm(ctx, "order", ctx.now + delay)

    def on_order_event(self, ctx: Context, event) -> None:
        self.own.on_event(event)
        ex = self.executor
        if ex is not None:
            ex.on_order_event(ctx, event)

    def on_wakeup(self, ctx: Context) -> None:
        if self.alarms is not None:
            fired = self.alarms.due(ctx)
            if "exec" in fired and self.executor is not None:
                self._work(ctx)
            if "order" not in fired:
                return
        spec = self.spec
        u0, u1, u2, u3, u4, u5 = ctx.rng.random(6).tolist()
        now = ctx.now
        self._next(ctx, u0)
        if self.executor is not None:
            return
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
        if spec.size_alpha:
            qty = pareto_lots(u2, spec.min_lots, spec.size_alpha, spec.max_lots)
        else:
            qty = spec.min_lots + int(u2 * (spec.max_lots - spec.min_lots + 1))
            if qty > spec.max_lots:
                qty = spec.max_lots
        q = ctx.quote(series)
        if u3 < spec.market_prob and (q.ask if side is BUY else q.bid) is not None and in_continuous(ctx):
            if spec.child_lots and qty > spec.child_lots:
                n = -(-qty // spec.child_lots)
                pace = spec.child_interval_ns / self.intensity(ctx)
                self.executor = Executor(
                    series,
                    side,
                    qty,
                    start_ns=now,
                    end_ns=now + int(n * pace),
                    max_child_lots=spec.child_lots,
                    urgency=spec.urgency,
                )
                self._work(ctx)
                return
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

    def _work(self, ctx: Context) -> None:
        """Let the executor send what is due; drop it once done."""
        ex = self.executor
        before = ex.sent
        delay = ex.on_wakeup(ctx)
        self.sent += ex.sent - before
        if delay is None:
            self.executor = None
        else:
            self.alarms.arm(ctx, "exec", ctx.now + delay)


__all__ = ["NoiseTrader", "NoiseTraderSpec"]
