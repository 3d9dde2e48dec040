"""Perpetual futures: the mark price and the funding payment between longs
and shorts, in the form the large perpetual venues publish (Binance,
BitMEX). Pure integer functions; rates are integers in `RATE_UNIT` (1e-8:
``50_000`` is 0.05 %), prices in ticks, money in micro-dollars.

Premium index. Sampled (e.g. each minute) from the perpetual's book and
the index: ``(max(0, impact_bid - index) - max(0, index - impact_ask)) /
index`` (0 while the book straddles the index), rounded half to even to
a rate unit.

Funding rate of an interval, from the mean premium P of its samples
(exact mean, rounded half to even) and the interest rate I per interval:
``F = P + clamp(I - P, -clamp, +clamp)``, then ``clamp(F, -cap, +cap)``.
So while the premium stays within ``clamp`` of the interest rate the
funding rate is the interest rate itself (Binance: I = 0.01 % per 8 h,
clamp 0.05 %). A positive rate: longs pay shorts.

Mark price: the index plus the mean of the last basis samples (perpetual
mid - index, in the index's integer unit: cfx/sim/perpetual.py passes
micro-$ and rounds the mark half to even to ticks; it keeps 30 one-minute
samples, a 30-minute moving average), rounded half to even, clamped to
within ``mark_clamp`` (a rate) of the index. Margin is computed on the mark, not
on the last trade, so a thin book's last print cannot liquidate anyone.

Payments (`funding_payments`), exactly zero-sum: the amount owed per lot
is ``A = mark * tick_value * |F|`` (exact rational, micro-$; ``tick_value``
is one tick on one contract). Each payer (longs if F > 0, shorts if F < 0)
pays ``floor(|q| * A)``: never more than it owes. The receivers share the
total paid T in proportion to their lots by the largest remainder method:
each gets ``floor(T * |q| / Q)`` (Q their total lots), and the micro-dollars
left (fewer than the number of receivers) go one each to the largest
fractional parts, ties to the lower account id. The payments therefore sum
to exactly zero at every interval, and no account is more than one
micro-dollar from its exact share. With nobody on one side there is no
payment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

RATE_UNIT = 100_000_000
"""Rates are integers in units of 1e-8 (1 = 0.000001 %)."""


def _round_even(x: Fraction) -> int:
    return round(x)  # Fraction.__round__ is exact and rounds half to even


def premium_sample(impact_bid: int | None, impact_ask: int | None, index: int) -> int:
    """One premium index sample (rate units); a missing side counts as the index (no premium from it)."""
    if index <= 0:
        raise ValueError(f"index ({index}) must be > 0")
    up = max(0, impact_bid - index) if impact_bid is not None else 0
    down = max(0, index - impact_ask) if impact_ask is not None else 0
    return _round_even(Fraction((up - down) * RATE_UNIT, index))


def funding_rate(premiums: Sequence[int], interest: int, clamp: int, cap: int) -> int:
    """``clamp(P + clamp(I - P, ±clamp), ±cap)`` with P the mean premium (module docstring); 0 premiums: I."""
    if clamp < 0 or cap < 0:
        raise ValueError("clamp and cap must be >= 0")
    p = _round_even(Fraction(sum(premiums), len(premiums))) if premiums else interest
    rate = p + min(max(interest - p, -clamp), clamp)
    return min(max(rate, -cap), cap)


def mark_price(index: int, basis_samples: Sequence[int], mark_clamp: int) -> int:
    """The index plus the mean basis (ticks), within ``mark_clamp`` (a rate) of the index."""
    if not basis_samples:
        return index
    basis = _round_even(Fraction(sum(basis_samples), len(basis_samples)))
    band = index * mark_clamp // RATE_UNIT
    return index + min(max(basis, -band), band)


def funding_payments(positions: Mapping[int, int], mark: int, rate: int, tick_value: int) -> dict[int, int]:
    """Account -> signed payment in micro-$ (negative: it pays) for one
    interval, summing to exactly 0 (module docstring). ``positions`` are
    signed lots; accounts that neither pay nor receive are left out."""
    if rate == 0 or mark <= 0:
        return {}
    per_lot = Fraction(mark * tick_value * abs(rate), RATE_UNIT)
    payers_long = rate > 0
    payers = {a: q for a, q in positions.items() if q and (q > 0) == payers_long}
    receivers = {a: abs(q) for a, q in positions.items() if q and (q > 0) != payers_long}
    if not payers or not receivers:
        return {}
    out = {a: -int(abs(q) * per_lot) for a, q in payers.items()}  # int() floors a positive Fraction
    total = -sum(out.values())
    lots = sum(receivers.values())
    shares = {a: divmod(total * q, lots) for a, q in receivers.items()}
    left = total - sum(whole for whole, _ in shares.values())
    for a in sorted(shares, key=lambda a: (-shares[a][1], a))[:left]:
        shares[a] = (shares[a][0] + 1, 0)
    for a, (whole, _) in shares.items():
        out[a] = whole
    return {a: v for a, v in out.items() if v}
