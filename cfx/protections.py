"""Price protections of one series: a price band around a reference price
and a velocity circuit breaker. Integers only (ticks, ns); both sit on the
order path, so their checks are a comparison or two.

- `PriceBand`: limit prices outside ``[reference - width, reference + width]``
  (inclusive edges) are rejected; market orders stop at the edge.
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
    """Limit prices must lie in ``[low, high] = [reference - width,
    reference + width]``, both edges allowed (the low edge floored at
    `MIN_PRICE`). The width is a fixed number of ticks, as CME's dynamic
    price fluctuation limits are per product.

    The reference starts at the last settlement price; `update_reference`
    sets a new one (the next settlement), and `on_trade` moves it to each
    trade's price when the band is ``moving``.

    - `allows(price)`, `limits()`, `protection_limit(side)`: O(1).
    - `update_reference(price)`, `on_trade(price)`: O(1).
    """

    __slots__ = ("reference", "width", "moving", "low", "high")

    def __init__(self, reference: int, width: int, moving: bool = False) -> None:
        if width < 0:
            raise InputError(f"price band: width ({width} ticks) must be >= 0")
        self.width = width
        self.moving = moving
        self.update_reference(reference)

    def allows(self, price: int) -> bool:
        """Is a limit order at ``price`` inside the band (edges included)?"""
        return self.low <= price <= self.high

    def limits(self) -> tuple[int, int]:
        """(low, high), inclusive: the engine's ``band_low``/``band_high``."""
        return self.low, self.high

    def protection_limit(self, side: Side) -> int:
        """The worst price a market order of ``side`` may trade at: the high
        edge for a buy, the low edge for a sell. Its remainder is cancelled there."""
        return self.high if side is BUY else self.low

    def update_reference(self, price: int) -> None:
        """Re-centre the band on ``price`` (a new settlement, or a trade)."""
        if price < MIN_PRICE:
            raise InputError(f"price band: reference ({price}) must be >= {MIN_PRICE}")
        self.reference = price
        self.low = max(price - self.width, MIN_PRICE)
        self.high = price + self.width

    def on_trade(self, price: int) -> None:
        """A trade printed at ``price``: a moving band follows it."""
        if self.moving:
            self.reference = price
            low = price - self.width
            self.low = low if low > MIN_PRICE else MIN_PRICE
            self.high = price + self.width


class VelocityBreaker:
    """CME-style velocity logic. The reference of a trade at ``ts`` is the
    last price recorded at or before ``ts - window_ns`` (the price "a
    window ago"), or, while the history is shorter than the window, the
    oldest price recorded. A trade breaches when it is *more than*
    ``threshold`` ticks from the reference: exactly ``threshold`` is allowed.

    Timestamps must not decrease. No price recorded yet: nothing breaches.

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
        for name, value, minimum in (("threshold", threshold, 0), ("window_ns", window_ns, 1),
                                     ("halt_ns", halt_ns, 0)):
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

    def check(self, price: int, ts: int) -> bool:
        """Would a trade at ``price`` and ``ts`` breach the threshold?"""
        ref = self.reference(ts)
        if ref is None:
            return False
        move = price - ref
        return move > self.threshold or -move > self.threshold

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
