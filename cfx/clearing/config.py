"""The clearing house's settings (the scenario's ``[clearing]`` table): fees,
the margin model's parameters, the default waterfall's funds. Money in
micro-$."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

# A fee is charged per contract and times a fill's lots (at most
# max-order-qty, 10^9) goes into int64 fee columns, so its size must stay far
# below 2^63 / 10^9: +-$1,000 a contract (half a contract's whole value, the
# bound of `cfx hedge --fee`) keeps a whole fill's fee below 10^18 micro-$.
Fee = Annotated[int, Meta(ge=-1_000_000_000, le=1_000_000_000)]
# The funds' money goes into int64 columns (the waterfall's layers) and the
# clearing house's deposit (house capital + insurance fund): 10^18 micro-$
# ($10^12, the per-agent collateral cap of AgentSpec.collateral_usd) keeps
# those sums below 2^63 (9.2 * 10^18).
Funds = Annotated[int, Meta(ge=0, le=10**18)]


class ClearingConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="kebab"):
    """Clearing settings; money in micro-$. Defaults, and why:

    fees: $1.00 taker, $0.25 maker rebate per contract (a contract is about
    $1,800 of compute). Scanning range: 3.00 sigma of daily index returns
    over 20 days, scaled to a 2-day margin period, at least 3% of contract
    value. Calendar spreads get 75% of both legs' ranges back. Maintenance
    is 10/11 of initial (CME sets initial at 110% of maintenance). A margin
    call is due by the next day's settlement run. Settlement mids count when
    the spread is at most 5 ticks. ``house_capital``: the clearing house's
    own money, the last layer of the waterfall (0 by default).
    ``insurance_fund``: the insurance fund's opening balance (the
    perpetual venues' layer before losses are mutualised: after the
    defaulter's own contribution, before the other members'; 0 by
    default). Liquidation orders carry ids from ``liquidation_order_id_base`` up."""

    maker_fee: Fee = -250_000
    taker_fee: Fee = 1_000_000
    vol_lookback_days: int = 20
    scan_sigmas_pct: int = 300
    margin_period_days: int = 2
    scan_floor_ppm: int = 30_000
    spread_credit_pct: int = 75
    maintenance_num: int = 10
    maintenance_den: int = 11
    mid_max_spread_ticks: int = 5
    call_deadline_days: int = 1
    guarantee_fund_contribution: Funds = 0
    house_capital: Funds = 0
    insurance_fund: Funds = 0
    liquidation_order_id_base: int = 1 << 60

    def __post_init__(self) -> None:
        positive = ("vol_lookback_days", "margin_period_days", "maintenance_den", "liquidation_order_id_base")
        non_negative = (
            "scan_sigmas_pct",
            "scan_floor_ppm",
            "spread_credit_pct",
            "maintenance_num",
            "mid_max_spread_ticks",
            "call_deadline_days",
            "guarantee_fund_contribution",  # also in the type; kept for direct construction
            "house_capital",
            "insurance_fund",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.spread_credit_pct > 100:
            raise ValueError("spread_credit_pct must be <= 100")
