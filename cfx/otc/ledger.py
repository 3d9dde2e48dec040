"""A dealer's P&L, split so that the parts add up to the total exactly
(integer micro-dollars).

For each forward the dealer is party to (``side`` +1 bought, -1 sold;
``q`` GPU-hours; ``K`` its price; ``M`` the daily mark of its own
SKU/region index, `cfx.otc.forward.expected_price`; ``F`` the daily
settlement of the hedge basket's future for the delivery month, in
micro-$/GPU-h):

- **client spread** ``side * q * (M_trade - K)``: what the dealer earned
  against the mark at the moment it traded (its margin and skew, less any
  error of its own fair value against the mark: a client takes the quote
  that is best for it, so the winner's curse shows here);
- **forward market P&L** ``side * q * (M_close - M_prev)`` each day after,
  up to the settlement price (the forward's cash-settled value);
- of which the **curve part** ``side * q * (F_close - F_prev)``: what the
  delivery month's basket future did over the same days;
- **hedge P&L** = the futures' P&L in clearing (the sum of the daily
  variation margin and, hedged with a perpetual, its funding, gross of
  fees) + the curve part: the residual of forwards and hedge on
  the basket's move (mismatched size, timing, rounding, the hedge ratio);
- **basis P&L** = forward market P&L - curve part: the SKU/region index
  moving apart from the basket future;
- **fees**: clearing's fees (maker rebates count negative);
- **margin cost**: initial margin financed at the dealer's funding rate.

total = spread + hedge + basis - fees - margin cost
      = OTC P&L (forwards marked or settled) + exchange P&L - fees - margin cost.

In-run hedge effectiveness: ``1 - Var(hedged) / Var(unhedged)`` over the
days the dealer had forwards, with unhedged = the day's forward market
P&L and hedged = that plus the futures' P&L of the day (floats).

The forwards are marked on their index (a model mark, from the official
fixings), the futures at their daily settlement (a market price). Where the
settlements stray from the series' expected final settlement (the baseline's
are ~1 % rms off it, day by day), that error enters the hedged P&L twice a
day (today's, less yesterday's) although it cancels over the hedge's life (a
final settlement is the index average): on daily P&L a perfect 1:1 hedge
can then score below zero. ``index_effectiveness`` marks both legs alike:
the futures' P&L less the day's change of ``position x (settlement -
expected final)`` (`end_day`'s ``settlement_error``; it telescopes, so the
two measures' cumulative hedged P&L differ only by the first and last
days' terms). What is left is the forwards' index risk the hedge position
takes off: the basis of the SKU/region index to the basket, the hedge
ratio, its timing and its execution.

Hedging cost (money, positive = paid): the exchange fees, the spread paid
on the hedge's fills (each against the mid of the book just before it,
`hedge_fill`), funding paid on a perpetual hedge and the margin cost; per
notional hedged (the fills' contracts x price) in ``hedge_cost_bps``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from cfx.otc.forward import Forward


class DealerLedger:
    """One dealer's running split (see the module docstring)."""

    def __init__(self, account: int) -> None:
        self.account = account
        self.spread = 0
        self.forward_market = 0
        self.curve = 0
        self.futures_pnl = 0  # cumulative variation margin, from clearing
        self.fees = 0
        self.margin_cost = 0
        self.otc_cash = 0  # settled forwards' cash to the dealer
        self.days: list[
            tuple[dt.date, int, int, bool, int]
        ] = []  # date, unhedged, futures P&L, active, settlement error
        self.funding = 0  # a perpetual hedge's funding received (negative: paid), part of futures_pnl
        self.spread_paid = 0  # the hedge fills against the mid before each
        self.hedge_notional = 0  # the hedge fills' contracts x price
        self.hedge_lots = 0
        self._mark: dict[int, int] = {}
        self._futures: dict[int, int] = {}
        self._today = 0
        self._active = False

    def trade(self, f: Forward, futures_micro: int | None) -> int:
        """Book a new forward; returns the client spread earned."""
        side = f.side_of(self.account)
        spread = side * f.gpu_hours * (f.fair_micro - f.price_micro)
        self.spread += spread
        self._mark[f.id] = f.fair_micro
        self._futures[f.id] = f.fair_micro if futures_micro is None else futures_micro
        self._active = True
        return spread

    def mark(self, f: Forward, mark_micro: int, futures_micro: int | None) -> None:
        """The day's close: the forward marked (or settled) at ``mark_micro``;
        ``futures_micro`` None: no future to compare with (no curve part today)."""
        side = f.side_of(self.account)
        if futures_micro is None:
            futures_micro = self._futures[f.id]
        fwd = side * f.gpu_hours * (mark_micro - self._mark[f.id])
        self.forward_market += fwd
        self._today += fwd
        self.curve += side * f.gpu_hours * (futures_micro - self._futures[f.id])
        self._mark[f.id] = mark_micro
        self._futures[f.id] = futures_micro
        self._active = True

    def settle(self, f: Forward, cash_micro: int) -> None:
        """The forward settled (after its last `mark` at the settlement price)."""
        self.otc_cash += cash_micro
        del self._mark[f.id]
        del self._futures[f.id]

    def hedge_fill(self, lots: int, side: int, price_ticks: int, mid_half_ticks: int | None, tick_value: int) -> None:
        """One exchange fill of the hedge: ``side`` +1 bought, -1 sold, at
        ``price_ticks``; ``mid_half_ticks`` the book's bid + ask just before
        (None: a one-sided book, no spread counted); ``tick_value`` micro-$
        per tick per contract (even: a cent on 730 GPU-hours)."""
        self.hedge_lots += lots
        self.hedge_notional += lots * price_ticks * tick_value
        if mid_half_ticks is not None:
            self.spread_paid += side * lots * (2 * price_ticks - mid_half_ticks) * tick_value // 2

    def end_day(
        self,
        day: dt.date,
        variation_margin: int,
        fees_total: int,
        margin_cost: int,
        settlement_error: int = 0,
        funding: int = 0,
    ) -> None:
        """Close the day with clearing's variation margin of the day (the
        futures' P&L, with ``funding``, a perpetual's of the day, in it),
        fees to date, the day's margin financing and the day's change of
        position x (settlement - expected final settlement), micro-$."""
        self.days.append((day, self._today, variation_margin, self._active, settlement_error))
        self.futures_pnl += variation_margin
        self.funding += funding
        self.fees = fees_total
        self.margin_cost += margin_cost
        self._today = 0
        self._active = bool(self._mark)

    @property
    def open_value(self) -> int:
        """The open forwards' value to the dealer at their last marks."""
        return self.spread + self.forward_market - self.otc_cash

    @property
    def hedge(self) -> int:
        return self.futures_pnl + self.curve

    @property
    def basis(self) -> int:
        return self.forward_market - self.curve

    @property
    def total(self) -> int:
        return self.spread + self.hedge + self.basis - self.fees - self.margin_cost

    @property
    def hedge_cost(self) -> int:
        """Fees, spread paid, funding paid and margin cost of the hedge."""
        return self.fees + self.spread_paid - self.funding + self.margin_cost

    def effectiveness(self) -> float | None:
        """1 - Var(hedged)/Var(unhedged) of daily P&L over active days."""
        return _effectiveness([(u, h) for _, u, h, active, _ in self.days if active])

    def index_effectiveness(self) -> float | None:
        """The same with the futures marked at their expected final settlement
        (the settlement error taken out; see the module docstring)."""
        return _effectiveness([(u, h - e) for _, u, h, active, e in self.days if active])

    def summary(self) -> dict:
        eff, index_eff = self.effectiveness(), self.index_effectiveness()
        return {
            "client_spread_micro": self.spread,
            "hedge_pnl_micro": self.hedge,
            "basis_pnl_micro": self.basis,
            "fees_micro": self.fees,
            "margin_cost_micro": self.margin_cost,
            "total_pnl_micro": self.total,
            "futures_pnl_micro": self.futures_pnl,
            "forward_pnl_micro": self.spread + self.forward_market,
            "hedge_effectiveness": None if eff is None else round(eff, 4),
            "hedge_effectiveness_index": None if index_eff is None else round(index_eff, 4),
            "hedge_lots": self.hedge_lots,
            "hedge_notional_micro": self.hedge_notional,
            "hedge_spread_paid_micro": self.spread_paid,
            "hedge_funding_paid_micro": -self.funding,
            "hedge_cost_micro": self.hedge_cost,
            "hedge_cost_bps": round(self.hedge_cost / self.hedge_notional * 1e4, 3) if self.hedge_notional else None,
        }


def _effectiveness(rows: list[tuple[int, int]]) -> float | None:
    """1 - Var(unhedged + hedge) / Var(unhedged) of (unhedged, hedge) days."""
    if len(rows) < 3:
        return None
    u = np.array([r[0] for r in rows], dtype=float)
    hedged = u + np.array([r[1] for r in rows], dtype=float)
    vu = float(np.var(u, ddof=1))
    if vu == 0.0:
        return None
    return 1.0 - float(np.var(hedged, ddof=1)) / vu


__all__ = ["DealerLedger"]
