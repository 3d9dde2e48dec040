"""Price protections of one series: a price band around a reference price
and a velocity circuit breaker. Integers only (ticks, ns); both sit on the
order path, so their checks are a comparison or two.

- `PriceBand`: limit prices outside ``[low, high]`` (inclusive edges) are
  rejected; market orders stop at the edge; it can expand.
- `band_limits`: the listed band around a reference price.
- `VelocityBreaker`: a trade more than ``threshold`` ticks away from the
  price ``window_ns`` earlier halts the series for ``halt_ns``.
"""

from __future__ import annotations

from collections import deque

from cfx.errors import InputError
from cfx.types import Side

MIN_PRICE = 1
"""The lowest valid price in ticks: a band never reaches below it."""

BUY = Side.BUY


class PriceBand:
    """The engine's price band of one series (the one implementation): limit
    prices must lie in ``[low, high]``, both edges allowed; market orders
    stop at the edge. Listed as limits around a reference (the last
    settlement, see `band_limits`); with ``moving`` the band keeps its
    half-width but is centred on the last trade once there is one.

    Dynamic price limits (as CME's daily limits with expansion): `expand`
    widens the band by ``pct`` percent of its half-width on both sides
    (after a limit hit and its cooling-off halt, decided by the engine). A
    band that follows the index while the book is stale is a new listing
    around a new reference (`band_limits`, sent by the sim loop).

    - `limits(last)`, `allows(price, last)`, `protection_limit(side, last)`: O(1).
    - `expand(pct)`: O(1).
    """

    __slots__ = ("low", "high", "moving", "expansions")

    def __init__(self, low: int, high: int, moving: bool = False) -> None:
        if low < MIN_PRICE or high < low:
            raise InputError(f"price band: expected {MIN_PRICE} <= low <= high, got [{low}, {high}]")
        self.low = low
        self.high = high
        self.moving = moving
        self.expansions = 0

    @property
    def half_width(self) -> int:
        return (self.high - self.low) // 2

    def limits(self, last: int | None = None) -> tuple[int, int]:
        """(low, high), inclusive, given the last trade price (used only when moving)."""
        if not self.moving or last is None:
            return self.low, self.high
        half = (self.high - self.low) // 2
        low = last - half
        return (low if low > MIN_PRICE else MIN_PRICE), last + half

    def allows(self, price: int, last: int | None = None) -> bool:
        """Is a limit order at ``price`` inside the band (edges included)?"""
        if not self.moving or last is None:
            return self.low <= price <= self.high
        low, high = self.limits(last)
        return low <= price <= high

    def protection_limit(self, side: Side, last: int | None = None) -> int:
        """The worst price a market order of ``side`` may trade at: the high
        edge for a buy, the low edge for a sell."""
        low, high = self.limits(last)
        return high if side is BUY else low

    def expand(self, pct: int) -> None:
        """Widen both edges by ``pct`` percent of the half-width (at least a tick)."""
        step = max(1, self.half_width * pct // 100)
        self.low = max(MIN_PRICE, self.low - step)
        self.high += step
        self.expansions += 1


def band_limits(reference: int, pct: float) -> tuple[int, int]:
    """The listed band around ``reference``: ``pct`` percent of it either
    side (at least a tick), the low edge floored at `MIN_PRICE`."""
    width = max(1, round(reference * pct / 100))
    return max(MIN_PRICE, reference - width), reference + width


class VelocityBreaker:
    """CME-style velocity logic. The reference of a trade at ``ts`` is the
    last price recorded at or before ``ts - window_ns`` (the price "a
    window ago"), or, while the history is shorter than the window, the
    oldest price recorded. A trade breaches when it is *more than*
    ``threshold`` ticks from the reference: exactly ``threshold`` is allowed.

    Timestamps must not decrease. No price recorded yet: nothing breaches.

    - `edge(side, ts)`: the worst price a trade may print at now (what the engine uses).
    - `check(price, ts) -> bool`: would a trade at ``price`` breach?
    - `record(price, ts)`: a trade printed.
    - `reference(ts)`: the price a trade at ``ts`` is measured from.
    - `halt_until(ts) -> int`: when a halt starting at ``ts`` ends.
    - `reset(price, ts)`: forget the history and start from ``price``
      (after the reopening auction: its price is the new reference).

    Runtime complexity: O(1) amortised per call; memory one entry per
    distinct trade timestamp within the window, plus one.
    """

    __slots__ = ("threshold", "window_ns", "halt_ns", "_prices")

    def __init__(self, threshold: int, window_ns: int, halt_ns: int) -> None:
        for name, value, minimum in (("threshold", threshold, 0), ("window_ns", window_ns, 1), ("halt_ns", halt_ns, 0)):
            if value < minimum:
                raise InputError(f"velocity breaker: {name} ({value}) must be >= {minimum}")
        self.threshold = threshold
        self.window_ns = window_ns
        self.halt_ns = halt_ns
        self._prices: deque[tuple[int, int]] = deque()  # (ts, price), oldest first

    def reference(self, ts: int) -> int | None:
        """The price a trade at ``ts`` is measured from (None: no history).
        Drops what no later call can need."""
        prices = self._prices
        if not prices:
            return None
        cutoff = ts - self.window_ns
        while len(prices) > 1 and prices[1][0] <= cutoff:
            prices.popleft()
        return prices[0][1]

    def edge(self, side: Side, ts: int) -> int | None:
        """The worst price an aggressor of ``side`` may trade at ``ts``
        without breaching (the engine stops a sweep there and halts), or
        None when no price is recorded."""
        prices = self._prices  # `reference`, written out (the engine asks for every order under a breaker)
        if not prices:
            return None
        cutoff = ts - self.window_ns
        while len(prices) > 1 and prices[1][0] <= cutoff:
            prices.popleft()
        ref = prices[0][1]
        return ref + self.threshold if side is BUY else ref - self.threshold

    def check(self, price: int, ts: int) -> bool:
        """Would a trade at ``price`` and ``ts`` breach the threshold (beyond either `edge`)?"""
        high = self.edge(BUY, ts)
        return high is not None and (price > high or price < self.edge(Side.SELL, ts))

    def record(self, price: int, ts: int) -> None:
        """A trade printed at ``price``; the last one at a timestamp counts."""
        prices = self._prices
        if prices and prices[-1][0] == ts:
            prices[-1] = (ts, price)
            return
        prices.append((ts, price))
        cutoff = ts - self.window_ns
        while len(prices) > 1 and prices[1][0] <= cutoff:
            prices.popleft()

    def halt_until(self, ts: int) -> int:
        return ts + self.halt_ns

    def reset(self, price: int, ts: int) -> None:
        self._prices.clear()
        self._prices.append((ts, price))
