"""A perpetual's mark price and funding on the loop's clock: the desk that
samples the book against the index and sends the venue its `UpdateMark`
and `PayFunding` commands (journaled like every command, so a replay pays
the same funding).

Every ``sample-s`` seconds of the session (`[products.perpetual]`), for
each listed perpetual:

- the index is the latest value the index publisher has published
  (micro-$, no latency: the venue's own feed);
- the **premium** sample is `premium_sample` on the impact bid and ask
  (the price the book's best levels would fill ``impact-lots`` lots at; a
  side without that many lots counts as missing) in micro-$ against the
  index: 0 while the book straddles the index;
- the **basis** sample is the book mid minus the index, in micro-$
  (``(bid + ask) * tick // 2 - index``, integer); a one-sided book adds
  none (the average keeps the last ones);
- the **mark** is `mark_price` on the index and the last ``mark-samples``
  basis samples (a moving average: 30 one-minute samples by default),
  clamped to ``mark-clamp-pct`` of the index, then rounded half to even to
  ticks. Before the first two-sided sample the mark is the index.

At each multiple of ``funding-interval-min`` from the open that falls in
the session (the close included), the funding rate is `funding_rate` on
the interval's premium samples with the interest and clamps of the
scenario, paid at the latest mark (`PayFunding`). Nothing is paid for time
outside the session: the interval restarts at each open.

Percentages are turned into integer 1e-8 rate units once (exact decimal,
rounded half to even): every figure the clearing house sees is an integer.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import TYPE_CHECKING

from cfx.clearing.funding import RATE_UNIT, funding_rate, mark_price, premium_sample
from cfx.units import NS
from cfx.venue import PayFunding, UpdateMark

if TYPE_CHECKING:
    from cfx.sim.loop import Simulation

MINUTE_NS = 60 * NS


def pct_to_rate(pct: float) -> int:
    """A percentage as the decimal it is written as, in 1e-8 rate units (half to even)."""
    return round(Fraction(repr(float(pct))) * RATE_UNIT / 100)


def impact_price(levels: list[tuple[int, int]], lots: int) -> int | None:
    """The worst price of the levels that fill ``lots`` (best first), None if they cannot."""
    left = lots
    for price, qty in levels:
        left -= qty
        if left <= 0:
            return price
    return None


class PerpetualDesk:
    """Marks and funds every listed perpetual; `start_day(open_ts, close_ts)`
    each morning. ``intervals`` records each funding interval (ts, series,
    index micro-$, mark ticks, mean premium, rate, samples); ``samples``
    each sample (ts, series, premium rate units, basis micro-$ or None)."""

    def __init__(self, sim: "Simulation") -> None:
        self.sim = sim
        spec = sim.sc.products.perpetual
        self.sample_ns = spec.sample_s * NS
        self.interval_ns = spec.funding_interval_min * MINUTE_NS
        self.interest = pct_to_rate(spec.interest_pct)
        self.clamp = pct_to_rate(spec.clamp_pct)
        self.cap = pct_to_rate(spec.cap_pct)
        self.mark_clamp = pct_to_rate(spec.mark_clamp_pct)
        self.impact_lots = spec.impact_lots
        self.basis: dict[str, deque[int]] = {}
        self.premiums: dict[str, list[int]] = {}
        self.marks: dict[str, int] = {}
        self.close_ts = 0
        self.intervals: list[tuple[int, str, int, int, int, int, int]] = []
        self.samples: list[tuple[int, str, int, int | None]] = []
        self.window = spec.mark_samples

    def perpetuals(self) -> list[str]:
        return [sym for sym, s in self.sim.series.items() if s.perpetual]

    def start_day(self, open_ts: int, close_ts: int) -> None:
        if not self.perpetuals():
            return
        self.close_ts = close_ts
        for sym in self.perpetuals():
            self.premiums[sym] = []  # the interval restarts at the open
        self.sim.at(open_ts + self.sample_ns, self.sample)
        t = open_ts + self.interval_ns
        while t <= close_ts:
            self.sim.at(t, self.fund)
            t += self.interval_ns

    def sample(self) -> None:
        """One premium and basis sample per perpetual, and its new mark."""
        sim = self.sim
        now = sim.now
        tick = sim.tick_micro
        for sym in self.perpetuals():
            s = sim.series[sym]
            index = sim.information.seen(s.basket, 0)
            if index is None or index <= 0:
                continue
            depth = sim.books[sym].depth(10, now)
            bid = impact_price(depth.bids, self.impact_lots)
            ask = impact_price(depth.asks, self.impact_lots)
            premium = premium_sample(None if bid is None else bid * tick, None if ask is None else ask * tick, index)
            self.premiums.setdefault(sym, []).append(premium)
            basis = None
            if depth.bids and depth.asks:
                basis = (depth.bids[0][0] + depth.asks[0][0]) * tick // 2 - index
                self.basis.setdefault(sym, deque(maxlen=self.window)).append(basis)
            self.samples.append((now, sym, premium, basis))
            mark_micro = mark_price(index, list(self.basis.get(sym, ())), self.mark_clamp)
            mark = max(1, round(Fraction(mark_micro, tick)))
            self.marks[sym] = mark
            index_ticks = max(1, round(Fraction(index, tick)))
            sim.send(UpdateMark(now, sim.today, sym, index_ticks, mark, premium))
            commands = sim.venue.take_commands()
            for cmd in commands:  # a default on the mark: its orders cancelled, its positions closed out now
                sim.send(cmd)
            if commands:
                sim.liquidator.kick()
        if now + self.sample_ns <= self.close_ts:
            sim.at(now + self.sample_ns, self.sample)

    def fund(self) -> None:
        """The funding interval ends: pay it at the latest mark."""
        sim = self.sim
        for sym in self.perpetuals():
            premiums = self.premiums.get(sym, [])
            mark = self.marks.get(sym)
            s = sim.series[sym]
            index = sim.information.seen(s.basket, 0)
            if mark is None or index is None:
                continue
            rate = funding_rate(premiums, self.interest, self.clamp, self.cap)
            mean = round(Fraction(sum(premiums), len(premiums))) if premiums else 0
            self.intervals.append((sim.now, sym, index, mark, mean, rate, len(premiums)))
            sim.send(PayFunding(sim.now, sym, mark, rate))
            self.premiums[sym] = []

    def predicted_rate(self, series: str) -> int | None:
        """The funding rate the current interval would pay now (1e-8 units), None for a non-perpetual."""
        s = self.sim.series.get(series)
        if s is None or not s.perpetual:
            return None
        return funding_rate(self.premiums.get(series, []), self.interest, self.clamp, self.cap)

    def summary(self, tick_micro: int) -> dict:
        """Premium, basis and funding figures per perpetual (for summary.json)."""
        out = {}
        for sym in sorted({r[1] for r in self.samples}):
            rows = [r for r in self.samples if r[1] == sym]
            basis = [r[3] for r in rows if r[3] is not None]
            ints = [r for r in self.intervals if r[1] == sym]
            out[sym] = {
                "samples": len(rows),
                "mean_abs_premium_pct": round(sum(abs(r[2]) for r in rows) / len(rows) * 100 / RATE_UNIT, 6),
                "nonzero_premium_fraction": round(sum(1 for r in rows if r[2]) / len(rows), 4),
                "mean_abs_basis_ticks": round(sum(abs(b) for b in basis) / len(basis) / tick_micro, 4)
                if basis
                else None,
                "funding_intervals": len(ints),
                "mean_abs_interval_premium_pct": round(sum(abs(r[4]) for r in ints) / len(ints) * 100 / RATE_UNIT, 6)
                if ints
                else None,
                "mean_abs_funding_rate_pct": round(sum(abs(r[5]) for r in ints) / len(ints) * 100 / RATE_UNIT, 6)
                if ints
                else None,
                "intervals_at_interest_rate": sum(1 for r in ints if r[5] == self.interest),
                "interest_pct": self.interest * 100 / RATE_UNIT,
                "clamp_pct": self.clamp * 100 / RATE_UNIT,
                "one_tick_pct_of_index": round(tick_micro / (sum(r[2] for r in ints) / len(ints)) * 100, 4)
                if ints
                else None,
            }
        return out


__all__ = ["PerpetualDesk", "impact_price", "pct_to_rate"]
