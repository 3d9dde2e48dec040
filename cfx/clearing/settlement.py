"""Daily settlement prices: CME's tiered procedure, in integer ticks.

Tier 1, VWAP of the series' trades in the settlement window; tier 2, the mid
of the best bid and ask at the close when the spread is at most
``max_spread`` ticks; tier 3, the previous settlement moved by the index
change converted to ticks. Final settlement is given from outside (products).

Rounding: a VWAP or a mid between two ticks goes to the nearest tick, and an
exact half tick goes toward the previous settlement (CME's rule for mids; up
when there is none). The index change in ticks rounds half away from zero.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from cfx.types import SettlementTier


class SeriesSpec(Protocol):
    """What clearing needs of a listed series (products.py's spec has it)."""

    symbol: str
    contract_unit: int  # GPU-hours per contract (730)
    tick_micro: int  # micro-dollars per GPU-hour per tick (10_000 = $0.01)
    last_trading_day: dt.date


def tick_value(spec: SeriesSpec) -> int:
    """Micro-dollars per tick per contract ($7.30 by default)."""
    return spec.tick_micro * spec.contract_unit


def round_half_away(num: int, den: int) -> int:
    """num/den to the nearest integer, exact halves away from zero; den > 0."""
    q, r = divmod(abs(num), den)
    if 2 * r >= den:
        q += 1
    return q if num >= 0 else -q


def round_toward(num: int, den: int, prev: int | None) -> int:
    """num/den to the nearest integer; an exact half goes toward ``prev``
    (up if ``prev`` is None); den > 0."""
    q, r = divmod(num, den)  # floor
    if 2 * r > den:
        return q + 1
    if 2 * r < den:
        return q
    return q if prev is not None and prev <= q else q + 1


def settlement_price(
    window_trades: list[tuple[int, int]],
    bid: int | None,
    ask: int | None,
    prev: int | None,
    index_today: int | None,
    index_before: int | None,
    tick_micro: int,
    max_spread: int,
) -> tuple[int, SettlementTier]:
    """The day's settlement price (ticks) and the tier that set it.

    ``window_trades``: (price, qty) of the trades in the window; ``bid``/``ask``
    the best prices at the close (None when a side is empty); ``prev`` the
    previous settlement (or the listing's reference price); ``index_*`` the
    basket index today and at the previous settlement, micro-$/GPU-hour.
    With no previous price, tier 3 uses today's index level itself; tier 3
    never goes below one tick."""
    if window_trades:
        notional = sum(p * q for p, q in window_trades)
        volume = sum(q for _, q in window_trades)
        return round_toward(notional, volume, prev), SettlementTier.VWAP
    if bid is not None and ask is not None and 0 <= ask - bid <= max_spread:
        return round_toward(bid + ask, 2, prev), SettlementTier.MID
    if prev is None:
        if index_today is None:
            raise ValueError("no trades, no quotes, no previous settlement and no index: cannot settle")
        return round_half_away(index_today, tick_micro), SettlementTier.INDEX_MOVED
    if index_today is None or index_before is None:
        return prev, SettlementTier.INDEX_MOVED  # no index change known: carry
    moved = prev + round_half_away(index_today - index_before, tick_micro)
    return max(moved, 1), SettlementTier.INDEX_MOVED  # a price is at least one tick
