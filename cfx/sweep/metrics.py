"""Which numbers of a run summary a sweep tabulates and plots."""

from __future__ import annotations

from typing import Any


# The scalar metrics of `cfx.sim.run.summarize` a sweep can tabulate;
# dict-valued settlement_tiers becomes one column per tier.
METRICS: tuple[str, ...] = (
    "days",
    "agents",
    "engine_messages",
    "commands",
    "events",
    "trades",
    "volume_contracts",
    "mean_spread_ticks",
    "mean_top_depth_contracts",
    "two_sided_fraction",
    "settlement_volatility_annual",
    "tracking_error_rms",
    "halts",
    "auctions_uncrossed",
    "margin_calls",
    "defaults",
    "guarantee_fund_used_usd",
    "settlement_tiers.vwap",
    "settlement_tiers.mid",
    "settlement_tiers.index_moved",
    "settlement_tiers.final",
    "settlement_tiers.mark",
)
# dict-valued metrics whose entries become columns "name.key" (keys vary by scenario; "perpetual" only
# with a perpetual listed)
DICT_METRICS = ("pnl_usd_by_agent_type", "volume_by_agent_type", "otc", "perpetual")
_NOT_METRICS = {"seed", "scenario", "question", "run_hash"}


def scalar_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """Every number in a run summary, settlement tiers flattened."""
    from cfx.types import SettlementTier

    out: dict[str, Any] = {}
    for k, v in summary.items():
        if k in _NOT_METRICS or isinstance(v, bool):
            continue
        if v is None or isinstance(v, (int, float)):
            out[k] = v
    tiers = summary.get("settlement_tiers") or {}
    for t in SettlementTier:
        out[f"settlement_tiers.{t.value}"] = tiers.get(t.value, 0)
    for k in DICT_METRICS:
        for name, v in (summary.get(k) or {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out[f"{k}.{name}"] = v
    return out
