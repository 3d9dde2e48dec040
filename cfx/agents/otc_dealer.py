"""OTC dealer: quotes SKU/region forwards to principals on request, keeps
the book, and hedges what is left with basket futures on the exchange."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

import msgspec

from cfx.agents.base import MINUTE, SECOND, Agent, AgentSpec, Context, DayReport, register
from cfx.agents.common import BUY, CONTRACT_GPU_HOURS, SELL, Interval, Lots, Probability
from cfx.agents.execution import Executor
from cfx.otc.forward import Forward, hedge_ratio, index_name
from cfx.otc.rfq import CreditLine, Rfq
from cfx.products import format_symbol

Bps = Annotated[float, msgspec.Meta(ge=0.0, le=10_000.0)]


class OtcDealerSpec(AgentSpec, tag="otc_dealer"):
    """Parameters of an `OtcDealer` (bps of the forward's fair price, GPU-hours, ns)."""

    basket: str | None = None
    margin_bps: Bps = 30.0
    skew_bps_per_10k_gpu_hours: Bps = 5.0
    basis_halflife_days: Annotated[float, msgspec.Meta(gt=0.0, le=1000.0)] = 5.0
    basis_current_weight: Probability = 0.8
    hedge: Literal["none", "naive", "minvar"] = "minvar"
    hedge_with: Literal["futures", "perpetual"] = "futures"
    minvar_window_days: Annotated[int, msgspec.Meta(ge=5, le=500)] = 30
    min_hedge_ratio: Annotated[float, msgspec.Meta(ge=0.0, le=2.0)] = 0.0
    max_hedge_ratio: Annotated[float, msgspec.Meta(ge=0.0, le=3.0)] = 1.5
    hedge_threshold_lots: Lots = 2
    hedge_horizon_ns: Interval = 20 * MINUTE
    max_child_lots: Lots = 10
    urgency: Probability = 0.5
    roll_days: Annotated[int, msgspec.Meta(ge=0, le=20)] = 2
    credit_limit_usd: Annotated[float, msgspec.Meta(ge=0, le=1e12)] = 10_000_000.0
    max_forward_gpu_hours: Annotated[int, msgspec.Meta(gt=0, le=10**9)] = 730_000
    funding_rate: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.05
    check_interval_ns: Interval = MINUTE


@register(OtcDealerSpec)
class OtcDealer(Agent):
    """A dealer in SKU/region forwards, hedged with one basket's futures.

    **Quote** (answering an RFQ at once; the desk adds the latency): for
    delivery month m, the basket future's mid (else its last settlement)
    in micro-$/GPU-h, plus the dealer's estimate of the SKU/region basis
    (``basis_current_weight`` × the index's latest published value minus
    the basket's, plus the rest × an exponentially weighted mean, half-life
    ``basis_halflife_days``, of the index's official fixing minus the
    basket's over the fixings published so far), minus an inventory skew of
    ``skew_bps_per_10k_gpu_hours`` per 10,000 GPU-hours it is already long
    in that index and month (plus when short), then ± ``margin_bps`` (the
    client pays more when it buys, gets less when it sells). It declines a
    month whose future is not listed or is within ``roll_days`` of expiry
    ("month"), an index without fixings ("index"), a forward over
    ``max_forward_gpu_hours`` ("size"), and one that would take the
    client's open notional plus outstanding quotes over
    ``credit_limit_usd`` ("credit").

    **Hedge**: per delivery month, the hedge is held in the month's series
    into its final settlement — the same monthly average of the basket the
    forward settles on, so it needs no roll (a position in a series it no
    longer targets is closed, down to the last lot, once the series is
    within ``roll_days`` of expiry) — and the target is minus
    Σ side × GPU-hours × β × u(forward's month) / u(hedge instrument) / 730
    in whole contracts. β is 1 (``hedge`` "naive") or the minimum-variance
    ratio of that index on the basket — the OLS slope of daily fixing
    changes over the last ``minvar_window_days`` published fixings (1:1
    until there are five changes), clipped to [``min_hedge_ratio``,
    ``max_hedge_ratio``]. u is the share of a price still to be fixed on
    the fixings published so far (`unfixed_fraction` for the forward,
    `cfx.products.unfixed_share` for the future, by its settlement rule): a
    monthly-average future on the forward's own month takes the same share
    of a lasting index move as the forward, so the shares cancel (u/u = 1:
    GPU-hours × β / 730 lots all month, and nothing to trade as the month
    fixes); a perpetual takes all of it (u = 1), so it is held in the
    forward's unfixed share. The ratio is capped at 1 (it never exceeds it
    for these instruments; the cap keeps a share near 0 out of a
    denominator). A ``twap_window`` series takes all of a move until its
    window opens (u = 1), then the unfixed share of the window's time
    weights. (Rolling two days before expiry into the next month, as the
    dealer once did, meant unwinding the whole full-size position in the
    expiring future in one ``hedge_horizon_ns``: on the seed-42 baseline,
    $95k lost on the roll day and 1-minute kurtosis 19.7.) Every ``check_interval_ns`` it compares
    each series' position plus what its executors still have to do with
    the target, and when they differ by ``hedge_threshold_lots`` or more
    works the difference with an `Executor` over ``hedge_horizon_ns``
    (children of at most ``max_child_lots``, ``urgency``).

    ``funding_rate``: the annual rate its initial margin is financed at
    (the margin cost in its P&L split). ``basket``: the basket whose futures
    it quotes off and hedges with (None: the first listed). ``hedge``
    "none" leaves the book unhedged. ``hedge_with`` "perpetual": the same
    targets are held in the basket's perpetual instead of the monthly
    futures (no roll: a perpetual never expires), and a forward whose
    month's future is not listed is priced off the perpetual's mid;
    "futures" does so only where the basket lists no monthly futures.
    """

    spec: OtcDealerSpec

    def __init__(self, spec: OtcDealerSpec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.book: dict[int, Forward] = {}
        self.credit = CreditLine(round(spec.credit_limit_usd * 1_000_000))
        self.executors: dict[str, list[Executor]] = {}
        self.hedge_root: str | None = None
        self.basket: str | None = None
        self._basis: dict[str, float] = {}  # index -> estimated fixing minus basket, micro-$
        self._beta: dict[str, float] = {}
        self._day: dt.date | None = None  # the day the estimates are for
        self._account = 0
        self._version = 0  # bumped when the book changes
        self._targets: dict[str, int] = {}
        self._targets_key: tuple | None = None
        self._expiring: dict[str, bool] = {}
        self._expiring_day: dt.date | None = None
        self._held: set[str] = set()  # series it has held a position in

    @property
    def funding_rate(self) -> float:
        return self.spec.funding_rate

    # ------------------------------------------------------------------ estimates

    def _refresh(self, ctx: Context) -> None:
        through = ctx.otc.published_through
        if self._day != through:
            self._day = through
            self._basis.clear()
            self._beta.clear()

    def basis(self, ctx: Context, name: str) -> float | None:
        """The SKU/region index's estimated premium over the basket, micro-$
        (see the class docstring)."""
        learned = self._learned_basis(ctx, name)
        if learned is None:
            return None
        s, b = ctx.otc.latest(name), ctx.otc.latest(self.basket)
        if s is None or b is None:
            return learned
        w = self.spec.basis_current_weight
        return w * (s - b) + (1.0 - w) * learned

    def _learned_basis(self, ctx: Context, name: str) -> float | None:
        """EWMA of (index fixing - basket fixing) over the published fixings."""
        self._refresh(ctx)
        if name in self._basis:
            return self._basis[name]
        n = max(self.spec.minvar_window_days, 4 * math.ceil(self.spec.basis_halflife_days))
        s, b = ctx.otc.history(name, n), ctx.otc.history(self.basket, n)
        k = min(len(s), len(b))
        if not k:
            return None
        decay = 0.5 ** (1.0 / self.spec.basis_halflife_days)
        num = den = 0.0
        w = 1.0
        for x, y in zip(reversed(s[-k:]), reversed(b[-k:])):
            num += w * (x - y)
            den += w
            w *= decay
        self._basis[name] = est = num / den
        return est

    def beta(self, ctx: Context, name: str) -> float:
        """The hedge ratio of index ``name`` on the basket (see the class docstring)."""
        if self.spec.hedge == "naive":
            return 1.0
        self._refresh(ctx)
        if name in self._beta:
            return self._beta[name]
        n = self.spec.minvar_window_days + 1
        s, b = ctx.otc.history(name, n), ctx.otc.history(self.basket, n)
        k = min(len(s), len(b))
        beta = 1.0
        if k >= 6:
            ds = [s[-k + i + 1] - s[-k + i] for i in range(k - 1)]
            db = [b[-k + i + 1] - b[-k + i] for i in range(k - 1)]
            mx, my = sum(db) / len(db), sum(ds) / len(ds)
            vx = sum((x - mx) ** 2 for x in db)
            if vx > 0:
                beta = sum((x - mx) * (y - my) for x, y in zip(db, ds)) / vx
        beta = min(self.spec.max_hedge_ratio, max(self.spec.min_hedge_ratio, beta))
        self._beta[name] = beta
        return beta

    def inventory(self, name: str, year: int, month: int) -> int:
        """Signed GPU-hours the dealer holds in one index and month (long > 0)."""
        return sum(
            f.side_of(self.account) * f.gpu_hours
            for f in self.book.values()
            if f.index == name and (f.year, f.month) == (year, month)
        )

    # ------------------------------------------------------------------ RFQs

    def on_rfq(self, ctx: Context, rfq: Rfq) -> None:
        price, reason, fair, futures = self.price(ctx, rfq)
        if price is not None:
            self.credit.reserve(rfq.id, rfq.client, rfq.gpu_hours * price)
        ctx.otc.respond(rfq.id, price, reason, fair_micro=fair, futures_micro=futures)

    def price(self, ctx: Context, rfq: Rfq) -> tuple[int | None, str, int | None, int | None]:
        """(firm price, "", fair value, futures price) for ``rfq`` in
        micro-$/GPU-h, or (None, why not, None, None)."""
        spec = self.spec
        no = None, None
        if rfq.gpu_hours > spec.max_forward_gpu_hours:
            return None, "size", *no
        symbol = format_symbol(self.hedge_root, rfq.year, rfq.month)
        if symbol not in ctx.listed() or ctx.days_to_expiry(symbol) <= spec.roll_days:
            perp = self._perpetual(ctx)
            if perp is None:
                return None, "month", *no
            symbol = perp
        name = index_name(rfq.sku, rfq.region)
        basis = self.basis(ctx, name)
        if basis is None:
            return None, "index", *no
        tick = ctx.otc.tick_micro
        mid = ctx.quote(symbol).mid
        if mid is None:
            settle = ctx.settlement(symbol)
            futures = (
                settle * tick if settle is not None else ctx.otc.futures_micro(self.hedge_root, rfq.year, rfq.month)
            )
        else:
            futures = mid * tick
        if futures is None:
            return None, "month", *no
        fair = futures + basis
        skew = -spec.skew_bps_per_10k_gpu_hours * self.inventory(name, rfq.year, rfq.month) / 10_000
        sign = 1 if rfq.side is BUY else -1
        price = round(fair * (1 + (skew + sign * spec.margin_bps) / 10_000))
        if price <= 0:
            return None, "price", *no
        if not self.credit.allows(rfq.client, rfq.gpu_hours * price):
            return None, "credit", *no
        return price, "", round(fair), round(futures)

    def on_rfq_result(self, ctx: Context, rfq_id: int, forward: Forward | None) -> None:
        if forward is None:
            self.credit.release(rfq_id)
        else:
            client = forward.seller if forward.buyer == self.account else forward.buyer
            self.credit.book(rfq_id, client, forward.gpu_hours * forward.price_micro)

    def on_otc_trade(self, ctx: Context, forward: Forward) -> None:
        self.book[forward.id] = forward
        self._version += 1

    def on_forward_settled(self, ctx: Context, forward: Forward, price_micro: int) -> None:
        f = self.book.pop(forward.id, None)
        self._version += 1
        if f is not None:
            client = f.seller if f.buyer == self.account else f.buyer
            self.credit.settle(client, f.gpu_hours * f.price_micro)

    # ------------------------------------------------------------------ hedging

    @property
    def account(self) -> int:
        return self._account

    def hedge_targets(self, ctx: Context) -> dict[str, int]:
        """Target futures position per series, in lots (negative = short):
        per forward, side × GPU-hours × β × u(forward) / u(instrument) / 730
        (the class docstring); recomputed when the book or the published
        fixings change."""
        if self.spec.hedge == "none":
            return {}
        through = ctx.otc.published_through
        key = (through, self._version)
        if self._targets_key == key:
            return self._targets
        ratio: dict[tuple[int, int], float] = {}
        where: dict[tuple[int, int], str] = {}
        hours: dict[str, float] = {}
        for f in self.book.values():
            ym = (f.year, f.month)
            if ym not in ratio:
                symbol = format_symbol(self.hedge_root, f.year, f.month)
                perp = self._perpetual(ctx)
                where[ym] = symbol = perp if perp is not None else symbol
                ratio[ym] = hedge_ratio(f.year, f.month, ctx.contract(symbol), through)
            if ratio[ym] <= 0:
                continue
            exposure = f.side_of(self.account) * f.gpu_hours * ratio[ym] * self.beta(ctx, f.index)
            hours[where[ym]] = hours.get(where[ym], 0.0) - exposure
        self._targets = {s: round(h / CONTRACT_GPU_HOURS) for s, h in hours.items()}
        self._targets_key = key
        return self._targets

    def _perpetual(self, ctx: Context) -> str | None:
        """The perpetual it hedges with: with ``hedge_with`` "perpetual", or
        where the basket lists no monthly futures at all; else None."""
        perp = ctx.perpetual(self.basket)
        if perp is None or self.spec.hedge_with == "perpetual":
            return perp
        root = self.hedge_root + "-"
        monthly = any(s.startswith(root) and s != perp for s in ctx.listed())
        return None if monthly else perp

    def _pending(self, series: str) -> int:
        return sum(e.remaining if e.side is BUY else -e.remaining for e in self.executors.get(series, ()))

    def _hedge(self, ctx: Context) -> int | None:
        spec = self.spec
        targets = self.hedge_targets(ctx)
        listed = ctx.listed()
        executors, held = self.executors, self._held
        wake: int | None = None
        # once a wake-up (every ``check_interval_ns``): names bound once, `_pending` only with executors live
        for s in sorted(targets.keys() | executors.keys() | held):
            if s not in listed:
                continue
            live = [e for e in executors.get(s, ()) if not e.done]
            executors[s] = live
            expiring = s not in targets and self._is_expiring(ctx, s)  # held but no longer wanted
            target = targets.get(s, 0)
            pos = ctx.position(s)
            if pos:
                held.add(s)
            gap = target - pos - (self._pending(s) if live else 0)
            if not live and abs(gap) >= (1 if expiring and target == 0 else spec.hedge_threshold_lots):
                now = ctx.now
                ex = Executor(
                    s,
                    BUY if gap > 0 else SELL,
                    abs(gap),
                    start_ns=now,
                    end_ns=now + spec.hedge_horizon_ns,
                    max_child_lots=spec.max_child_lots,
                    urgency=spec.urgency,
                )
                live.append(ex)
            for ex in live:
                d = ex.on_wakeup(ctx)
                if d is not None:
                    wake = d if wake is None or d < wake else wake
        return wake

    def _is_expiring(self, ctx: Context, series: str) -> bool:
        """Within ``roll_days`` of its last trading day (cached for the day)."""
        today = ctx.otc.today
        if self._expiring_day != today:
            self._expiring_day = today
            self._expiring = {}
        got = self._expiring.get(series)
        if got is None:
            got = self._expiring[series] = ctx.days_to_expiry(series) <= self.spec.roll_days
        return got

    # ------------------------------------------------------------------ hooks

    def on_start(self, ctx: Context) -> None:
        self._account = ctx.account
        self.hedge_root = ctx.otc.root(self.spec.basket)
        self.basket = ctx.otc.basket_of(self.hedge_root) if self.hedge_root else None
        ctx.wake_after(1 + int(ctx.rng.random() * self.spec.check_interval_ns))

    def on_wakeup(self, ctx: Context) -> None:
        wake = self._hedge(ctx) if self.hedge_root else None
        delay = self.spec.check_interval_ns if wake is None else min(wake, self.spec.check_interval_ns)
        ctx.wake_after(max(SECOND // 10, delay))

    def on_order_event(self, ctx: Context, event) -> None:
        for live in self.executors.values():
            for ex in live:
                ex.on_order_event(ctx, event)

    def on_day_end(self, ctx: Context, day: DayReport) -> None:
        listed = set(ctx.listed())
        for s in [s for s in self.executors if s not in listed]:
            del self.executors[s]
        self._held &= listed


__all__ = ["OtcDealer", "OtcDealerSpec"]
