"""The principals: a neocloud (owns GPUs, a natural short: sells capacity
forward) and an inference platform (rents GPUs, a natural long: buys
compute forward). Each has capacity needs for a SKU in a region and
delivery month, and trades them as OTC forwards with dealers by request
for quote. One behaviour, mirrored."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, ClassVar

import msgspec

from cfx.agents.base import HOUR, MINUTE, SECOND, Agent, AgentSpec, Context, register
from cfx.agents.common import BUY, CONTRACT_GPU_HOURS, SELL, Interval, Lots, Probability, exp_delay
from cfx.agents.execution import Executor
from cfx.otc.forward import Forward, hedge_ratio
from cfx.otc.rfq import DealerQuote, Rfq, best_quote
from cfx.products import add_months, format_symbol
from cfx.types import Side

Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]


class _PrincipalSpec(AgentSpec, tag="_principal"):
    """Shared parameters (not an agent type itself)."""

    skus: Annotated[tuple[Name, ...], msgspec.Meta(min_length=1, max_length=16)] = ("H100", "H200")
    regions: Annotated[tuple[Name, ...], msgspec.Meta(min_length=1, max_length=16)] = ("us-east",)
    delivery_months: Annotated[
        tuple[Annotated[int, msgspec.Meta(ge=0, le=24)], ...], msgspec.Meta(min_length=1, max_length=24)
    ] = (0, 1)
    median_gpu_hours: Annotated[float, msgspec.Meta(gt=0.0, le=1e9)] = 21_900.0
    size_sigma: Annotated[float, msgspec.Meta(ge=0.0, le=5.0)] = 0.8
    max_gpu_hours: Annotated[int, msgspec.Meta(gt=0, le=10**9)] = 219_000
    need_interval_ns: Interval = 4 * HOUR
    max_needs: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0
    reservation_bps: Annotated[float, msgspec.Meta(ge=0.0, le=10_000.0)] = 100.0
    patience_ns: Interval = 8 * HOUR
    retry_ns: Interval = 30 * MINUTE
    response_ns: Interval = 2 * SECOND
    dealers_asked: Annotated[int, msgspec.Meta(ge=0, le=100)] = 3
    exchange_access: bool = False
    exchange_fraction: Probability = 1.0
    exchange_min_days: Annotated[int, msgspec.Meta(ge=0, le=20)] = 2
    basket: str | None = None
    exchange_horizon_ns: Interval = 30 * MINUTE
    max_child_lots: Lots = 10
    urgency: Probability = 0.5


class NeocloudSpec(_PrincipalSpec, tag="neocloud"):
    """Parameters of a `Neocloud`; see `Principal`."""


class InferencePlatformSpec(_PrincipalSpec, tag="inference_platform"):
    """Parameters of an `InferencePlatform`; see `Principal`."""


@dataclass
class Need:
    """Capacity to buy or sell forward: one SKU, region and delivery month."""

    sku: str
    region: str
    year: int
    month: int
    gpu_hours: int
    by_ns: int  # trade by then, or walk away
    next_try_ns: int
    rfq: int | None = None
    done: bool = False


class Principal(Agent):
    """A principal with capacity needs, traded OTC by request for quote.

    Needs arrive as a Poisson process in trading time (mean
    ``need_interval_ns`` between them, counted from when the last one was
    seen, so nights do not pile them up; at most ``max_needs``, 0 = no
    limit): a SKU from ``skus`` and a region from
    ``regions`` (uniformly), a delivery month ``delivery_months`` months
    from the current one (0 = this month), GPU-hours lognormal (median
    ``median_gpu_hours``, shape ``size_sigma``, capped at
    ``max_gpu_hours``), to be traded within ``patience_ns``.

    For each open need it sends an RFQ to ``dealers_asked`` dealers drawn
    at random (0 = all) with a response deadline ``response_ns`` away; at
    the deadline it takes the best quote (`cfx.otc.rfq.best_quote`) within
    its reservation price — the desk's mark of the forward (its index's
    official fixings) ``reservation_bps`` worse for it — or walks away
    and asks again ``retry_ns`` later, until its time is up. Then, with
    ``exchange_access`` (an experiment; off by default), it hedges part of
    the need on the exchange instead: that month's future of ``basket``
    (None: the first listed), ``exchange_fraction`` of the need's
    GPU-hours times `hedge_ratio` (its unfixed share over the future's: 1
    for the month's own monthly-average future, the share itself for a
    perpetual or a later month) in whole contracts, worked by an `Executor` over
    ``exchange_horizon_ns`` (children of at most ``max_child_lots``,
    ``urgency``). Only a fraction: the exchange is its fallback when no
    dealer would write the forward within its reservation price, a basket
    future leaves its SKU/region basis open, and a principal's budget is for
    capacity, not for running a futures book, so it takes some of the
    curve risk off and keeps the rest; and not in a future within
    ``exchange_min_days`` business days of its last trading day (the need
    then stays unhedged, as a dealer declines that month). Without exchange access the need
    goes unhedged. With no dealers at all it goes straight to the exchange
    (or gives up).

    ``SIDE`` is what it does with capacity: a neocloud SELLs it forward, an
    inference platform BUYs it."""

    SIDE: ClassVar[Side] = SELL
    spec: _PrincipalSpec

    def __init__(self, spec: _PrincipalSpec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.needs: list[Need] = []
        self.forwards: list[Forward] = []
        self.executors: list[Executor] = []
        self.arrived = 0
        self.walked_away = 0
        self.unhedged = 0  # needs it gave up on
        self._next_need = 0

    def on_start(self, ctx: Context) -> None:
        self._next_need = ctx.now + exp_delay(ctx.rng.random(), self.spec.need_interval_ns)
        self._wake(ctx)

    def _wake(self, ctx: Context, extra: int | None = None) -> None:
        now = ctx.now
        times = [self._next_need] if (not self.spec.max_needs or self.arrived < self.spec.max_needs) else []
        times += [n.next_try_ns for n in self.needs if not n.done and n.rfq is None]
        at = min(times) if times else None
        delay = None if at is None else max(1, at - now)
        if extra is not None:
            delay = extra if delay is None else min(delay, extra)
        if delay is not None:
            ctx.wake_after(delay)

    def _new_need(self, ctx: Context) -> None:
        spec = self.spec
        u_sku, u_region, u_month = ctx.rng.random(3).tolist()
        z = ctx.rng.standard_normal()
        today = ctx.otc.today
        y, m = add_months(today.year, today.month, spec.delivery_months[int(u_month * len(spec.delivery_months))])
        size = min(spec.max_gpu_hours, max(1, round(spec.median_gpu_hours * math.exp(spec.size_sigma * z))))
        self.needs.append(
            Need(
                spec.skus[int(u_sku * len(spec.skus))],
                spec.regions[int(u_region * len(spec.regions))],
                y,
                m,
                size,
                ctx.now + spec.patience_ns,
                ctx.now,
            )
        )
        self.arrived += 1

    def on_wakeup(self, ctx: Context) -> None:
        spec = self.spec
        now = ctx.now
        if now >= self._next_need and (not spec.max_needs or self.arrived < spec.max_needs):
            self._new_need(ctx)  # one at a time: the clock of needs runs in trading hours, not overnight
            self._next_need = now + exp_delay(ctx.rng.random(), spec.need_interval_ns)
        for need in self.needs:
            if not need.done and need.rfq is None and need.next_try_ns <= now:
                self._ask(ctx, need)
        self.needs = [n for n in self.needs if not n.done]
        extra = None
        live = []
        for ex in self.executors:
            d = ex.on_wakeup(ctx)
            if not ex.done:
                live.append(ex)
                extra = d if extra is None or (d is not None and d < extra) else extra
        self.executors = live
        self._wake(ctx, None if extra is None else max(SECOND // 10, extra))

    def _ask(self, ctx: Context, need: Need) -> None:
        spec = self.spec
        dealers = ctx.otc.dealers()
        mark = ctx.otc.mark(need.sku, need.region, need.year, need.month)
        if not dealers or mark is None:
            self.give_up(ctx, need)
            return
        if spec.dealers_asked and spec.dealers_asked < len(dealers):
            picks = ctx.rng.permutation(len(dealers))[: spec.dealers_asked].tolist()
            dealers = [dealers[i] for i in sorted(picks)]
        worse = spec.reservation_bps / 10_000
        reservation = round(mark * (1 + worse)) if self.SIDE is BUY else round(mark * (1 - worse))
        need.rfq = ctx.otc.request(
            sku=need.sku,
            region=need.region,
            year=need.year,
            month=need.month,
            gpu_hours=need.gpu_hours,
            side=self.SIDE,
            response_ns=spec.response_ns,
            dealers=dealers,
            reservation_micro=reservation,
        )

    def on_rfq_closed(self, ctx: Context, rfq: Rfq, quotes: list[DealerQuote]) -> DealerQuote | None:
        """The deadline: take the best quote within the reservation, or walk away."""
        need = next((n for n in self.needs if n.rfq == rfq.id), None)
        chosen = best_quote(rfq, quotes)
        if need is None:
            return None
        need.rfq = None
        if chosen is not None:
            need.done = True
            return chosen
        self.walked_away += 1
        need.next_try_ns = ctx.now + self.spec.retry_ns
        if need.next_try_ns > need.by_ns:
            self.give_up(ctx, need)
        self._wake(ctx)
        return None

    def give_up(self, ctx: Context, need: Need) -> None:
        """No forward in time: hedge on the exchange if it may, else stay unhedged."""
        need.done = True
        if not self.spec.exchange_access:
            self.unhedged += 1
            return
        root = ctx.otc.root(self.spec.basket)
        symbol = format_symbol(root, need.year, need.month) if root else None
        if symbol is not None and symbol not in ctx.listed():
            symbol = ctx.perpetual(ctx.otc.basket_of(root))  # no monthly listed: the basket's perpetual, if any
        if symbol is None or symbol not in ctx.listed() or ctx.days_to_expiry(symbol) <= self.spec.exchange_min_days:
            self.unhedged += 1
            return
        ratio = hedge_ratio(need.year, need.month, ctx.contract(symbol), ctx.otc.published_through)
        lots = round(self.spec.exchange_fraction * need.gpu_hours * ratio / CONTRACT_GPU_HOURS)
        if lots <= 0:
            return
        spec = self.spec
        ex = Executor(
            symbol,
            self.SIDE,
            lots,
            start_ns=ctx.now,
            end_ns=ctx.now + spec.exchange_horizon_ns,
            max_child_lots=spec.max_child_lots,
            urgency=spec.urgency,
        )
        self.executors.append(ex)
        self._wake(ctx, 1)

    def on_otc_trade(self, ctx: Context, forward: Forward) -> None:
        self.forwards.append(forward)

    def on_order_event(self, ctx: Context, event) -> None:
        for ex in self.executors:
            ex.on_order_event(ctx, event)


@register(NeocloudSpec)
class Neocloud(Principal):
    """A natural short: sells GPU capacity forward. See `Principal`."""

    SIDE = SELL


@register(InferencePlatformSpec)
class InferencePlatform(Principal):
    """A natural long: buys compute forward. See `Principal`."""

    SIDE = BUY


__all__ = ["InferencePlatform", "InferencePlatformSpec", "Need", "Neocloud", "NeocloudSpec", "Principal"]
