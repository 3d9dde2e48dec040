"""OTC dealer: writes SKU forwards to clients and hedges the net exposure
with basket futures, rolling the hedge before expiry."""

from __future__ import annotations

import math
from typing import Annotated

import msgspec

from cfx.agents.base import HOUR, MINUTE, Agent, AgentSpec, Context, DayReport, register
from cfx.agents.common import (
    BUY,
    CONTRACT_GPU_HOURS,
    SELL,
    Interval,
    Lots,
    OwnOrders,
    Probability,
    Ticks,
    _root,
    exp_delay,
    next_series,
)
from cfx.types import TimeInForce

IOC = TimeInForce.IOC
GpuHours = Annotated[float, msgspec.Meta(ge=0.0, le=1e12)]


class OtcDealerSpec(AgentSpec, tag="otc_dealer"):
    """Parameters of an `OtcDealer` (GPU-hours, lots, ticks, ns)."""

    basket: str | None = None
    months_ahead: Annotated[int, msgspec.Meta(ge=1, le=36)] = 3
    client_interval_ns: Interval = HOUR
    client_sell_prob: Probability = 0.5
    median_client_gpu_hours: Annotated[float, msgspec.Meta(gt=0.0, le=1e12)] = 3_650.0
    client_size_sigma: Annotated[float, msgspec.Meta(ge=0.0, le=5.0)] = 1.0
    max_client_gpu_hours: Annotated[float, msgspec.Meta(gt=0.0, le=1e12)] = 36_500.0
    hedge_ratio: Annotated[float, msgspec.Meta(ge=0.0, le=2.0)] = 1.0
    hedge_threshold_gpu_hours: GpuHours = 3_650.0
    roll_days: Annotated[int, msgspec.Meta(ge=0, le=60)] = 3
    max_order_lots: Lots = 20
    max_slippage_ticks: Ticks = 2
    check_interval_ns: Interval = 5 * MINUTE


@register(OtcDealerSpec)
class OtcDealer(Agent):
    """A dealer's book of client SKU forwards, hedged on the exchange.

    Clients: a Poisson process (mean ``client_interval_ns`` between
    trades). Each client trade is a forward for one delivery month, drawn
    uniformly among the first ``months_ahead`` listed months of the basket
    that are more than ``roll_days`` from expiry; with probability
    ``client_sell_prob`` the client sells capacity to the dealer (a
    neocloud: the dealer gets long), else buys it (a platform: the dealer
    gets short); its size in GPU-hours is lognormal, median
    ``median_client_gpu_hours``, shape ``client_size_sigma``, capped at
    ``max_client_gpu_hours``. `client_trade` books one directly.

    Exposure: the dealer's net forward position in GPU-hours per delivery
    month (``exposure``, keyed by that month's series; positive = long).
    Its hedge is −``hedge_ratio`` × exposure in futures (730 GPU-hours a
    contract), held in the delivery month's series — or, once that series
    is ``roll_days`` or fewer days from expiry, in the next listed month:
    the expiring position is closed whatever its size and reopened there
    (the roll). A delivery month's exposure ends when its series is
    delisted. It trades a series when the unhedged amount there exceeds
    ``hedge_threshold_gpu_hours`` (or the series is expiring), with IOC
    orders of up to ``max_order_lots`` priced ``max_slippage_ticks``
    through the other side's best price, one in flight per series.

    Wakes at each client arrival and at least every ``check_interval_ns``.
    ``basket``: the basket whose months it deals in (None: the first listed).
    """

    spec: OtcDealerSpec

    def __init__(self, spec: OtcDealerSpec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.own = OwnOrders()
        self.exposure: dict[str, float] = {}  # delivery series -> dealer's net forward GPU-hours
        self.traded: dict[str, None] = {}  # futures series it has held (ordered set)
        self.client_longs = 0  # client trades that made the dealer longer
        self.client_shorts = 0
        self._next_client = 0

    # ------------------------------------------------------------------ clients

    def client_trade(self, series: str, gpu_hours: float) -> None:
        """Book a client forward for ``series``' delivery month: ``gpu_hours``
        > 0 the dealer bought capacity (long), < 0 sold it (short)."""
        self.exposure[series] = self.exposure.get(series, 0.0) + gpu_hours
        if gpu_hours > 0:
            self.client_longs += 1
        elif gpu_hours < 0:
            self.client_shorts += 1

    def _delivery_months(self, ctx: Context) -> list[str]:
        try:
            front = ctx.front(self.spec.basket)
        except (KeyError, IndexError, ValueError, LookupError):
            return []
        root = _root(front)
        roll = self.spec.roll_days
        out = [s for s in ctx.listed() if _root(s) == root and ctx.days_to_expiry(s) > roll]
        return out[: self.spec.months_ahead]

    def _client_arrival(self, ctx: Context) -> None:
        spec = self.spec
        months = self._delivery_months(ctx)
        u_month, u_side = ctx.rng.random(2).tolist()
        z = ctx.rng.standard_normal()
        if not months:
            return
        size = min(spec.max_client_gpu_hours, spec.median_client_gpu_hours * math.exp(spec.client_size_sigma * z))
        size = float(round(size))
        self.client_trade(months[int(u_month * len(months))], size if u_side < spec.client_sell_prob else -size)

    # ------------------------------------------------------------------ hedging

    def hedge_targets(self, ctx: Context) -> dict[str, float]:
        """Target futures position per series, in GPU-hours (negative = short)."""
        roll = self.spec.roll_days
        ratio = self.spec.hedge_ratio
        targets: dict[str, float] = {}
        for s, gpuh in self.exposure.items():
            h = s
            if ctx.days_to_expiry(s) <= roll:
                h = next_series(ctx, s) or s
            targets[h] = targets.get(h, 0.0) - ratio * gpuh
        return targets

    def _hedge(self, ctx: Context) -> None:
        spec = self.spec
        targets = self.hedge_targets(ctx)
        busy = {o[0] for o in self.own.orders.values()} if self.own.orders else ()
        listed = ctx.listed()
        for s in list(targets) + [s for s in self.traded if s not in targets]:
            if s in busy or s not in listed:
                continue
            pos = ctx.position(s)
            target = targets.get(s, 0.0)
            expiring = ctx.days_to_expiry(s) <= spec.roll_days
            if expiring:
                target = 0.0
            elif abs(target - pos * CONTRACT_GPU_HOURS) <= spec.hedge_threshold_gpu_hours:
                continue
            need = round(target / CONTRACT_GPU_HOURS) - pos
            if need == 0:
                continue
            q = ctx.quote(s)
            if need > 0:
                if q.ask is None:
                    continue
                self.traded[s] = None
                self.own.submit(ctx, s, BUY, min(need, spec.max_order_lots), q.ask + spec.max_slippage_ticks, tif=IOC)
            else:
                if q.bid is None:
                    continue
                price = max(1, q.bid - spec.max_slippage_ticks)
                self.traded[s] = None
                self.own.submit(ctx, s, SELL, min(-need, spec.max_order_lots), price, tif=IOC)

    # ------------------------------------------------------------------ hooks

    def on_start(self, ctx: Context) -> None:
        self._next_client = ctx.now + exp_delay(ctx.rng.random(), self.spec.client_interval_ns)
        self._wake(ctx)

    def on_wakeup(self, ctx: Context) -> None:
        now = ctx.now
        while now >= self._next_client:
            self._client_arrival(ctx)
            self._next_client += exp_delay(ctx.rng.random(), self.spec.client_interval_ns)
        self._hedge(ctx)
        self._wake(ctx)

    def _wake(self, ctx: Context) -> None:
        ctx.wake_after(max(1, min(self._next_client - ctx.now, self.spec.check_interval_ns)))

    def on_order_event(self, ctx: Context, event) -> None:
        self.own.on_event(event)

    def on_day_end(self, ctx: Context, day: DayReport) -> None:
        listed = ctx.listed()
        for s in [s for s in self.exposure if s not in listed]:
            del self.exposure[s]  # delivered
        for s in [s for s in self.traded if s not in listed]:
            del self.traded[s]


__all__ = ["OtcDealer", "OtcDealerSpec"]
