"""The hedge backtest: policies, the daily loop, costs, margin and metrics.

Accounting is integer micro-dollars: forward P&L, futures P&L, execution
costs, fees, financing and initial margin. Analytics are floats: hedge
ratios (regression slopes), the basis split, variances and effectiveness.
The boundary is `PolicyResult`: its ``*_micro`` arrays are exact, the rest
is float dollars or ratios.

The day (close to close, t-1 -> t), in order:

1. the forward legs and the futures held since t-1 are marked to day t
   (a forward leg with ``q`` undelivered GPU-hours at t-1 earns
   ``side * q * (S(t) - S(t-1))``; delivered hours settle at that day's
   price, so marking and delivering agree);
2. financing of t-1's initial margin at ``rate`` for the calendar days between;
3. futures at or past their last trading day close at the final settlement
   price (no execution cost);
4. on a rebalance day (every ``rebalance_days`` business days, and any day a
   leg's hedge rolls) the policy sets a target per series; the difference
   is traded at the close, paying the half-spread plus linear impact and the
   fee per contract;
5. initial margin of the new positions (`cfx.clearing.margin`).

Which future hedges a leg (a forward's delivery month m): the series of
month m until its cutoff, then month m+1, and so on. The cutoff is
``roll_days`` business days before the last trading day (the position is
rolled at that close), or, with ``roll_days = 0``, the last trading day
itself (held to expiry and cash-settled).

Policies (targets in GPU-hours per series, summed over legs, then rounded
to whole contracts of 730 GPU-hours, half away from zero: the dealer hedges
the net book, not forward by forward):

- ``unhedged``: no futures.
- ``naive``: 1:1 in GPU-hours: ``-side * q / f`` where ``q`` is the leg's
  undelivered hours and ``f`` the fraction of the series' month not yet
  fixed (1 before the month). Inside the delivery month this is the leg's
  monthly GPU-hours, held constant: a monthly-average future's sensitivity
  to the index decays exactly as the forward delivers.
- ``minvar``: ``beta`` times the naive target, beta the OLS slope of
  ``f(u-1) * dS(u)`` on ``dF(u)`` over the last ``window`` days up to and
  including t (no look-ahead: the position earns from t+1), dS the
  forward's reference price change and dF the hedging series' change, both
  $/GPU-h. That is the forward's value change per undelivered GPU-hour
  regressed on the future's change per unit of the index exposure it has
  left (weighted by f^2, so tick noise in the last days of an averaging
  month does not dominate); the same slope before and inside the month and
  across a roll. Until ``window`` changes exist, or if the future did not
  move, the naive target.

Basis P&L (float $, the same for every hedged policy): what a perfect
delta-matched hedge in the mapped future leaves,
``sum side * q(t-1) * (dS(t) - dF(t) / f(t-1))``; gross hedged P&L minus
basis P&L is the residual (over- or under-hedging, contract rounding).

Hedging with a run's perpetual (``Market.perpetual``, ``--hedge-with
perpetual``): every leg of a basket maps to its perpetual on every day (no
cutoff, no roll, no expiry); its sensitivity is that of a future whose
month has not begun (f = 1), so the naive target is ``-side * q`` GPU-hours
and min-var regresses ``dS`` on the mark's change. The position held from
t-1's close earns the mark-to-mark change on day t plus the funding of day
t's intervals, each what `cfx.clearing.funding.funding_payments` gives the
position against one counterparty (``floor(|n| * mark * tick_value *
|rate| / 1e8)``, paid by longs when the rate is positive), from the run's
rate and mark of that interval. Funding is part of the futures P&L and is
also reported alone (``funding_micro``; summary ``funding_paid_micro``,
positive = the hedge paid).

Hedge ratio (reported, float): ``-(futures delta) / (net forward delta)``
in GPU-hours, futures delta = contracts * 730 * f; NaN when the net
forward delta is under 10% of the gross undelivered hours.

Hedge effectiveness: ``1 - Var(hedged) / Var(unhedged)`` of daily P&L over
the days the book has undelivered hours at the start of the day, gross of
costs (``effectiveness``) and net of costs (``effectiveness_net``).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Annotated

import msgspec
import numpy as np
from msgspec import Meta

from cfx.clearing.funding import funding_payments
from cfx.clearing import ClearingConfig
from cfx.clearing.margin import initial_margin, scan_range, sigma_ppm
from cfx.hedge.book import Forward, Leg, legs as cut_legs
from cfx.hedge.market import Market
from cfx.products import Series, add_months, business_days, month_days

POLICIES = ("unhedged", "naive", "minvar")
MICRO = 1_000_000


class HedgeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Backtest settings (each a ``cfx hedge`` flag of the same name).

    Defaults: execution crosses a one-tick spread (half-spread 0.5 tick) and
    pays 0.005 tick per contract of the order on every contract (linear
    temporary impact); the fee is clearing's taker fee ($1.00 per contract);
    margin is financed at 5% a year; the curve's risk premium and noise are
    `cfx.hedge.curves.DerivedCurve`'s.
    """

    window: Annotated[int, Meta(ge=5, le=1000)] = 20
    roll_days: Annotated[int, Meta(ge=0, le=15)] = 5
    rebalance_days: Annotated[int, Meta(ge=1, le=260)] = 1
    fee: Annotated[float, Meta(ge=0, le=1000)] = 1.0
    rate: Annotated[float, Meta(ge=0, le=1)] = 0.05
    half_spread: Annotated[float, Meta(ge=0, le=100)] = 0.5
    impact: Annotated[float, Meta(ge=0, le=100)] = 0.005
    risk_premium: Annotated[float, Meta(ge=-1, le=1)] = -0.045
    futures_noise: Annotated[float, Meta(ge=0, le=0.5)] = 0.005
    noise_persistence: Annotated[float, Meta(ge=0, lt=1)] = 0.9

    @property
    def fee_micro(self) -> int:
        return int(Decimal(repr(self.fee)) * MICRO)


@dataclass
class PolicyResult:
    """One policy's daily series on the market's timeline (index 0 = first
    day, which carries no P&L) and its summary (`summary()`)."""

    policy: str
    dates: list[dt.date]
    forward_micro: np.ndarray
    futures_micro: np.ndarray
    execution_micro: np.ndarray
    fees_micro: np.ndarray
    financing_micro: np.ndarray
    margin_micro: np.ndarray
    contracts_held: np.ndarray
    contracts_traded: np.ndarray
    basis_usd: np.ndarray
    hedge_ratio: np.ndarray
    active: np.ndarray
    day_one_mark_micro: int = 0
    extra: dict = field(default_factory=dict)
    funding_micro: np.ndarray | None = None  # received (+) / paid (-), included in futures_micro; None: no perpetual

    @property
    def costs_micro(self) -> np.ndarray:
        return self.execution_micro + self.fees_micro + self.financing_micro

    @property
    def hedged_micro(self) -> np.ndarray:
        """Gross hedged P&L: forwards plus futures, before costs."""
        return self.forward_micro + self.futures_micro

    @property
    def net_micro(self) -> np.ndarray:
        return self.hedged_micro - self.costs_micro

    def effectiveness(self, net: bool = False) -> float:
        """1 - Var(hedged)/Var(unhedged) over the active days (floats)."""
        base = self.forward_micro[self.active].astype(float)
        hedged = (self.net_micro if net else self.hedged_micro)[self.active].astype(float)
        vu = float(np.var(base, ddof=1)) if len(base) > 1 else 0.0
        if vu == 0.0:
            return float("nan")
        return 1.0 - float(np.var(hedged, ddof=1)) / vu

    def summary(self) -> dict:
        """Per-policy figures; ``*_micro`` exact integers, the rest floats."""
        a = self.active
        gross = self.hedged_micro
        basis = float(self.basis_usd.sum())
        return {
            "policy": self.policy,
            "effectiveness": round(self.effectiveness(), 6),
            "effectiveness_net": round(self.effectiveness(net=True), 6),
            "daily_sd_usd": round(float(np.std(gross[a].astype(float) / MICRO, ddof=1)), 2) if a.sum() > 1 else 0.0,
            "forward_pnl_micro": int(self.forward_micro.sum()),
            "futures_pnl_micro": int(self.futures_micro.sum()),
            "hedged_pnl_micro": int(gross.sum()),
            "net_pnl_micro": int(self.net_micro.sum()),
            "basis_pnl_usd": round(basis, 2),
            "residual_pnl_usd": round(float(gross.sum()) / MICRO - basis, 2) if self.policy != "unhedged" else 0.0,
            "execution_micro": int(self.execution_micro.sum()),
            "fees_micro": int(self.fees_micro.sum()),
            "financing_micro": int(self.financing_micro.sum()),
            "costs_micro": int(self.costs_micro.sum()),
            "peak_margin_micro": int(self.margin_micro.max()) if len(self.margin_micro) else 0,
            "contracts_traded": int(self.contracts_traded.sum()),
            "max_contracts_held": int(self.contracts_held.max()) if len(self.contracts_held) else 0,
            "worst_day_micro": int(self.net_micro[a].min()) if a.any() else 0,
            "day_one_mark_micro": self.day_one_mark_micro,
            **({"funding_paid_micro": -int(self.funding_micro.sum())} if self.funding_micro is not None else {}),
            **self.extra,
        }


def _round_contracts(hours: Fraction, unit: int) -> int:
    """Whole contracts nearest to `hours / unit`, halves away from zero."""
    x = abs(hours) / unit
    n = (x.numerator * 2 + x.denominator) // (2 * x.denominator)
    return n if hours >= 0 else -n


class _Prep:
    """What every policy shares: legs, schedules, hedge series per leg and
    day, prices, fractions unfixed, the forward P&L and the basis split."""

    def __init__(self, forwards: list[Forward], market: Market, cfg: HedgeConfig) -> None:
        self.market = market
        self.cfg = cfg
        dates = self.dates = market.dates
        T = self.T = len(dates)
        self.legs: list[Leg] = cut_legs(forwards)
        self.series: dict[str, Series] = {}
        self.F: dict[str, np.ndarray] = {}
        self.frac: dict[str, np.ndarray] = {}
        self.cutoff: dict[str, dt.date] = {}
        self.ltd: dict[str, int] = {}
        self.S = {f.id: market.ref[f.id] for f in forwards}
        self.fallback_days: set[int] = set()  # days minvar held the naive 1:1 hedge (too few changes, flat future)

        # undelivered hours after the close of each day; qprev[t] = before day t's delivery
        self.qrem: list[np.ndarray] = []
        self.qprev: list[np.ndarray] = []
        self.hs: list[list[str]] = []  # hedge series symbol per leg per day
        for leg in self.legs:
            delivered = np.zeros(T, dtype=np.int64)
            for d, h in leg.schedule:
                i = bisect.bisect_left(dates, d)
                if i < T:
                    delivered[i] += h
            qrem = leg.gpu_hours - np.cumsum(delivered)
            qprev = np.empty(T, dtype=np.int64)
            qprev[0] = leg.gpu_hours
            qprev[1:] = qrem[:-1]
            self.qrem.append(qrem)
            self.qprev.append(qprev)
            if market.perpetual:
                self.hs.append([self._register_perpetual(leg.forward.basket)] * T)
                continue
            y, m = leg.year, leg.month
            s = self._register(leg.forward.basket, y, m)
            row = []
            for t, d in enumerate(dates):
                while qrem[t] > 0 and d >= self.cutoff[s]:
                    y, m = add_months(y, m, 1)
                    s = self._register(leg.forward.basket, y, m)
                row.append(s)
            self.hs.append(row)

        # forward P&L (exact) and the basis split (float $)
        self.forward_micro = np.zeros(T, dtype=np.int64)
        self.basis_usd = np.zeros(T)
        self.dS_usd: dict[str, np.ndarray] = {}  # each forward's daily reference price change, $/GPU-h
        for k, leg in enumerate(self.legs):
            f = leg.forward
            dS = np.zeros(T, dtype=np.int64)
            dS[1:] = np.diff(self.S[f.id])
            pnl = f.side * self.qprev[k] * dS
            self.forward_micro += pnl
            self.dS_usd[f.id] = dS.astype(float) / MICRO
            for t in range(1, T):
                q = self.qprev[k][t]
                if q:
                    s = self.hs[k][t - 1]
                    ser = self.series[s]
                    dF = float(self.F[s][t] - self.F[s][t - 1]) * ser.tick_micro
                    self.basis_usd[t] += f.side * q * (dS[t] - dF / self.frac[s][t - 1]) / MICRO
        self.active = np.zeros(T, dtype=bool)
        self.active[1:] = sum(self.qprev)[1:] > 0
        self.day_one_mark_micro = int(
            sum(f.side * f.gpu_hours * (int(self.S[f.id][0]) - f.price_micro) for f in forwards)
        )

        # daily index vol (ppm) per basket for the scanning range
        mc = ClearingConfig()
        self.margin_cfg = mc
        self.sigma: dict[str, list[int | None]] = {}
        for b, idx in market.index.items():
            vals = [int(v) for v in idx]
            lb = mc.vol_lookback_days
            self.sigma[b] = [sigma_ppm(vals[max(0, t - lb) : t + 1], lb) for t in range(T)]

    def _register(self, basket: str, year: int, month: int) -> str:
        s = self.market.series(basket, year, month)
        if s.symbol in self.series:
            return s.symbol
        self.series[s.symbol] = s
        self.F[s.symbol] = self.market.curve.prices(s)
        mdays = business_days(*month_days(year, month))
        n = len(mdays)
        self.frac[s.symbol] = np.array([(n - bisect.bisect_right(mdays, d)) / n for d in self.dates])
        ltd = s.last_trading_day
        self.cutoff[s.symbol] = mdays[-1 - self.cfg.roll_days] if self.cfg.roll_days else ltd
        self.ltd[s.symbol] = bisect.bisect_left(self.dates, ltd)
        return s.symbol

    def _register_perpetual(self, basket: str) -> str:
        hedge = self.market.perpetual[basket]
        s = hedge.series.symbol
        if s not in self.series:
            self.series[s] = hedge.series
            self.F[s] = hedge.marks
            self.frac[s] = np.ones(self.T)
            self.cutoff[s] = dt.date.max
            self.ltd[s] = self.T  # never reached: no expiry, no final settlement
        return s

    def naive_hours(self, k: int, t: int) -> Fraction:
        q = int(self.qrem[k][t])
        s = self.hs[k][t]
        if self.series[s].perpetual:
            return Fraction(-self.legs[k].forward.side * q)
        mdays = business_days(*month_days(self.series[s].year, self.series[s].month))
        n = len(mdays)
        unfixed = n - bisect.bisect_right(mdays, self.dates[t])
        return Fraction(-self.legs[k].forward.side * q * n, unfixed)

    def minvar_hours(self, k: int, t: int, window: int) -> Fraction:
        if t < window:
            self.fallback_days.add(t)
            return self.naive_hours(k, t)
        s = self.hs[k][t]
        F = self.F[s][t - window : t + 1]
        x = np.diff(F).astype(float) * self.series[s].tick_micro / MICRO
        y = self.dS_usd[self.legs[k].forward.id][t - window + 1 : t + 1] * self.frac[s][t - window : t]
        xc = x - x.mean()
        vx = float(xc @ xc)
        if vx == 0.0:
            self.fallback_days.add(t)
            return self.naive_hours(k, t)
        beta = float(xc @ (y - y.mean())) / vx
        naive = self.naive_hours(k, t)
        return Fraction(round(beta * float(naive)))


def _targets(prep: _Prep, policy: str, t: int) -> dict[str, int]:
    if policy == "unhedged":
        return {}
    hours: dict[str, Fraction] = {}
    for k in range(len(prep.legs)):
        if prep.qrem[k][t] <= 0:
            continue
        h = prep.naive_hours(k, t) if policy == "naive" else prep.minvar_hours(k, t, prep.cfg.window)
        s = prep.hs[k][t]
        hours[s] = hours.get(s, Fraction(0)) + h
    return {s: n for s, h in hours.items() if (n := _round_contracts(h, prep.series[s].contract_unit))}


def _run_policy(prep: _Prep, policy: str) -> PolicyResult:
    cfg, T, dates = prep.cfg, prep.T, prep.dates
    mc = prep.margin_cfg
    fut = np.zeros(T, dtype=np.int64)
    exe = np.zeros(T, dtype=np.int64)
    fees = np.zeros(T, dtype=np.int64)
    fin = np.zeros(T, dtype=np.int64)
    fund = np.zeros(T, dtype=np.int64)
    im = np.zeros(T, dtype=np.int64)
    held = np.zeros(T, dtype=np.int64)
    traded = np.zeros(T, dtype=np.int64)
    ratio = np.full(T, np.nan)
    half = Fraction(repr(cfg.half_spread))
    lam = Fraction(repr(cfg.impact))
    rate = Fraction(repr(cfg.rate))
    fee = cfg.fee_micro
    pos: dict[str, int] = {}
    last_map: list[str | None] = [None] * len(prep.legs)
    for t in range(T):
        if t:
            fut[t] = sum(
                n * int(prep.F[s][t] - prep.F[s][t - 1]) * prep.series[s].tick_value_micro for s, n in pos.items()
            )
            for s, n in pos.items():
                ser = prep.series[s]
                if ser.perpetual:
                    hedge = prep.market.perpetual[ser.basket]
                    for mark, r in hedge.funding[t]:
                        fund[t] += funding_payments({0: n, 1: -n}, mark, r, hedge.funding_tick_value_micro).get(0, 0)
            fut[t] += fund[t]
            days = (dates[t] - dates[t - 1]).days
            fin[t] = -(-int(im[t - 1]) * rate.numerator * days // (rate.denominator * 365))
        for s in [s for s in pos if t >= prep.ltd[s]]:
            del pos[s]  # cash-settled at the final settlement price, marked above
        live = [prep.hs[k][t] if prep.qrem[k][t] > 0 else None for k in range(len(prep.legs))]
        rolled = any(s is not None and s != last_map[k] for k, s in enumerate(live) if last_map[k] is not None)
        stale = any(dates[t] >= prep.cutoff[s] for s in pos)
        if t % cfg.rebalance_days == 0 or rolled or stale or t == 0:
            target = _targets(prep, policy, t)
            last_map = live
        else:
            target = pos
        for s in sorted(set(pos) | set(target)):  # fixed order: the float costs sum the same way in every process
            n = abs(target.get(s, 0) - pos.get(s, 0))
            if n:
                tv = prep.series[s].tick_value_micro
                slip = n * (half + lam * n) * tv
                exe[t] += -(-slip.numerator // slip.denominator)
                fees[t] += n * fee
                traded[t] += n
        pos = {s: n for s, n in target.items() if n}
        if pos:
            legs = []
            for s, n in pos.items():
                ser = prep.series[s]
                rng = scan_range(
                    prep.sigma[ser.basket][t],
                    int(prep.F[s][t]),
                    ser.tick_micro,
                    ser.contract_unit,
                    sigmas_pct=mc.scan_sigmas_pct,
                    period_days=mc.margin_period_days,
                    floor_ppm=mc.scan_floor_ppm,
                )
                legs.append((ser.basket, ser.year * 12 + ser.month, n, rng))
            im[t] = initial_margin(legs, mc.spread_credit_pct)
        held[t] = sum(abs(n) for n in pos.values())
        fwd_delta = sum(prep.legs[k].forward.side * int(prep.qrem[k][t]) for k in range(len(prep.legs)))
        gross = sum(int(prep.qrem[k][t]) for k in range(len(prep.legs)))
        if fwd_delta and abs(fwd_delta) * 10 >= gross:  # a nearly flat net book has no meaningful ratio
            fut_delta = sum(n * prep.series[s].contract_unit * prep.frac[s][t] for s, n in pos.items())
            ratio[t] = -fut_delta / fwd_delta
    return PolicyResult(
        policy=policy,
        dates=dates,
        forward_micro=prep.forward_micro.copy(),
        futures_micro=fut,
        execution_micro=exe,
        fees_micro=fees,
        financing_micro=fin,
        margin_micro=im,
        contracts_held=held,
        contracts_traded=traded,
        basis_usd=prep.basis_usd.copy() if policy != "unhedged" else np.zeros(T),
        hedge_ratio=ratio if policy != "unhedged" else np.zeros(T),
        active=prep.active,
        day_one_mark_micro=prep.day_one_mark_micro,
        funding_micro=fund if prep.market.perpetual else None,
    )


def run_backtest(
    forwards: list[Forward], market: Market, policies: list[str], cfg: HedgeConfig | None = None
) -> dict[str, PolicyResult]:
    """Each policy's result, by name, in the order given. Deterministic."""
    prep = _Prep(forwards, market, cfg or HedgeConfig())
    out = {p: _run_policy(prep, p) for p in policies}
    if "minvar" in out:
        rebalanced = int((out["minvar"].contracts_held > 0).sum())
        out["minvar"].extra.update(minvar_fallback_days=len(prep.fallback_days), minvar_hedged_days=rebalanced)
    return out
