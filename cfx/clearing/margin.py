"""Initial and maintenance margin: a scanning range per contract from the
index's recent volatility, a calendar-spread credit, and maintenance as a
fraction of initial. Integers only.

Scanning range of a series (micro-$ per contract, rounded up)::

    sigma   = sqrt(mean of squared daily index returns over the lookback)   (ppm, zero-mean, RiskMetrics-style)
    scan    = max(floor, multiplier * sigma * sqrt(margin period days))       (ppm of contract value)
    range   = ceil(scan * settlement price * tick_micro * contract_unit / 1e6)

Portfolio initial margin = sum |position| * range, less the spread credit:
within one basket, long lots are paired with short lots of other months,
front month first on both sides; each pair earns ``credit_pct`` % of the two
legs' ranges (credit rounded down, so the margin rounds up).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from math import isqrt

PPM = 1_000_000


def sigma_ppm(fixings: Sequence[int], lookback: int) -> int | None:
    """Daily volatility (ppm) of the last ``lookback`` returns of ``fixings``
    (oldest first, micro-$), or None with fewer than two fixings."""
    xs = fixings[-(lookback + 1) :]
    if len(xs) < 2:
        return None
    rets = [(b - a) * PPM // a for a, b in zip(xs, xs[1:]) if a > 0]
    if not rets:
        return None
    return isqrt(sum(r * r for r in rets) // len(rets))


def scan_range(
    sigma: int | None,
    price_ticks: int,
    tick_micro: int,
    contract_unit: int,
    *,
    sigmas_pct: int,
    period_days: int,
    floor_ppm: int,
) -> int:
    """Scanning range in micro-$ per contract; ``sigma`` None uses the floor."""
    scan = floor_ppm
    if sigma is not None:
        scan = max(floor_ppm, isqrt(sigma * sigma * period_days) * sigmas_pct // 100)
    value = price_ticks * tick_micro * contract_unit
    return -(-value * scan // PPM)


def initial_margin(legs: Iterable[tuple[str, int, int, int]], credit_pct: int) -> int:
    """Portfolio initial margin of ``legs`` = (basket, month rank, signed
    lots, scanning range) — one leg per series. Runtime: O(n log n) in legs."""
    gross = 0
    longs: dict[str, list[list[int]]] = {}
    shorts: dict[str, list[list[int]]] = {}
    for basket, rank, qty, rng in legs:
        if qty > 0:
            gross += qty * rng
            longs.setdefault(basket, []).append([rank, qty, rng])
        elif qty < 0:
            gross -= qty * rng
            shorts.setdefault(basket, []).append([rank, -qty, rng])
    if not credit_pct or not longs or not shorts:
        return gross
    credit = 0
    for basket, ls in longs.items():
        ss = shorts.get(basket)
        if not ss:
            continue
        ls.sort()
        ss.sort()
        i = j = 0
        while i < len(ls) and j < len(ss):
            n = min(ls[i][1], ss[j][1])
            credit += n * (ls[i][2] + ss[j][2])
            ls[i][1] -= n
            ss[j][1] -= n
            if not ls[i][1]:
                i += 1
            if not ss[j][1]:
                j += 1
    return gross - credit * credit_pct // 100


def maintenance_margin(initial: int, num: int, den: int) -> int:
    """Maintenance = initial * num/den, rounded up (CME: initial is 110% of
    maintenance, so 10/11)."""
    return -(-initial * num // den)
