"""What the market publishes, kept so each agent can see it as it was its
market-data latency ago: the order book by price level (L2, from the
venue's `LevelChanged` events), the public trade tape, and the indicative
uncross of a call or of the next batch (`IndicativeUncross`), and the top
of book (`QuoteTape`).

`BookTape` mirrors one series' price levels and logs each change with the
quantity it replaced, so the book as of an earlier time is the mirror with
the changes made since undone (agents' latencies are short, so only a few
changes are ever undone). `TradeTape` is the list of a series' trades in
time order. `IndicativeTape` is the indicative uncross of one series over
time. All are trimmed each evening.
"""

from __future__ import annotations

import bisect
from bisect import bisect_left, bisect_right
from heapq import nlargest, nsmallest

from cfx.agents.base import NO_INDICATIVE, Depth, Indicative, PublicTrade, Quote
from cfx.types import Side

BUY = Side.BUY
LOG_KEEP = 4096  # changes kept beyond what any agent's latency needs (the log is cut in half past 2x this)
LOG_MAX = 2 * LOG_KEEP
NO_QUOTE = Quote(None, 0, None, 0, None)
"""What an agent sees of a series with nothing published yet."""


class QuoteTape:
    """The top of book of one series over time, so that an agent can see it
    as it was ``latency`` ago. Trimmed to its last entry each evening."""

    __slots__ = ("times", "quotes")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.quotes: list[Quote] = []

    def record(self, ts: int, quote: Quote) -> bool:
        """Append if the quote changed; True if it did."""
        if self.quotes and self.quotes[-1] == quote:
            return False
        if self.times and self.times[-1] == ts:
            self.quotes[-1] = quote
        else:
            self.times.append(ts)
            self.quotes.append(quote)
        return True

    def at(self, ts: int) -> Quote:
        times = self.times
        if times and times[-1] <= ts:  # the usual case: no change within the latency
            return self.quotes[-1]
        i = bisect.bisect_right(times, ts) - 1
        return self.quotes[i] if i >= 0 else NO_QUOTE

    def latest(self) -> Quote:
        return self.quotes[-1] if self.quotes else NO_QUOTE

    def trim(self) -> None:
        if len(self.times) > 1:
            self.times = self.times[-1:]
            self.quotes = self.quotes[-1:]


class BookTape:
    """One series' L2 book as published (price -> visible lots per side)."""

    __slots__ = ("bids", "asks", "log_ts", "log")

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.log_ts: list[int] = []  # time of each change
        self.log: list[tuple[bool, int, int]] = []  # (is bid, price, quantity before the change)

    def change(self, ts: int, side: Side, price: int, qty: int) -> None:
        """A level's visible quantity is now ``qty`` (0: the level is gone)."""
        is_bid = side is BUY
        levels = self.bids if is_bid else self.asks
        prev = levels.get(price, 0)
        if qty:
            levels[price] = qty
        elif prev:
            del levels[price]
        log = self.log
        self.log_ts.append(ts)
        log.append((is_bid, price, prev))
        if len(log) > LOG_MAX:
            del self.log_ts[:LOG_KEEP]
            del log[:LOG_KEEP]

    def depth(self, levels: int, as_of: int) -> Depth:
        """The best ``levels`` levels of each side as they were at ``as_of``."""
        i = bisect_right(self.log_ts, as_of)
        if i == len(self.log):
            return Depth(nlargest_levels(self.bids, levels), nsmallest_levels(self.asks, levels))
        old_bids: dict[int, int] = {}
        old_asks: dict[int, int] = {}
        for is_bid, price, prev in reversed(self.log[i:]):  # the oldest change since as_of wins
            (old_bids if is_bid else old_asks)[price] = prev
        return Depth(_merged(self.bids, old_bids, levels, True), _merged(self.asks, old_asks, levels, False))

    def trim(self) -> None:
        self.log_ts.clear()
        self.log.clear()


def nlargest_levels(book: dict[int, int], n: int) -> list[tuple[int, int]]:
    return [(p, book[p]) for p in nlargest(n, book)]


def nsmallest_levels(book: dict[int, int], n: int) -> list[tuple[int, int]]:
    return [(p, book[p]) for p in nsmallest(n, book)]


def _merged(now: dict[int, int], then: dict[int, int], n: int, bids: bool) -> list[tuple[int, int]]:
    pick = nlargest if bids else nsmallest
    prices = set(pick(n + len(then), now)) | set(then)
    out = []
    for p in sorted(prices, reverse=True) if bids else sorted(prices):
        q = then[p] if p in then else now.get(p, 0)
        if q > 0:
            out.append((p, q))
            if len(out) == n:
                break
    return out


class TradeTape:
    """One series' trades, in time order."""

    __slots__ = ("times", "trades", "count")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.trades: list[PublicTrade] = []
        self.count = 0  # trades ever recorded (not trimmed): a market-data trigger's "a trade printed"

    def record(self, ts: int, price: int, qty: int, aggressor: Side) -> None:
        self.times.append(ts)
        self.trades.append(PublicTrade(ts, price, qty, aggressor))
        self.count += 1

    def between(self, since_ns: int, until_ns: int) -> list[PublicTrade]:
        """Trades with ``since_ns <= ts <= until_ns``."""
        times = self.times
        if not times or times[-1] < since_ns:  # the usual case (a maker's requote): nothing printed since
            return []
        hi = bisect_right(times, until_ns)
        lo = bisect_left(times, since_ns, 0, hi)
        return self.trades[lo:hi] if lo < hi else []

    def trim(self) -> None:
        self.times.clear()
        self.trades.clear()


class IndicativeTape:
    """One series' published indicative uncross over time, so that an agent
    sees the one published its market-data latency ago. An uncross voids
    it (`void`): the engine publishes the next one only when the book
    crosses again."""

    __slots__ = ("times", "views")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.views: list[Indicative] = []

    def record(self, ts: int, price: int | None, volume: int, imbalance: int, side: Side | None) -> None:
        """The indicative published at ``ts`` (a later one at the same ``ts`` replaces it)."""
        view = Indicative(price, volume, imbalance, side, ts)
        times = self.times
        if times and times[-1] == ts:
            self.views[-1] = view
            return
        times.append(ts)
        self.views.append(view)
        if len(times) > LOG_MAX:
            del times[:LOG_KEEP]
            del self.views[:LOG_KEEP]

    def void(self, ts: int) -> None:
        """The call or batch uncrossed at ``ts``: no uncross indicated until the next publication."""
        if self.views and self.views[-1].price is not None:
            self.record(ts, None, 0, 0, None)

    def at(self, ts: int) -> Indicative:
        """The indicative as it was at ``ts`` (`NO_INDICATIVE` before the first)."""
        times = self.times
        if times and times[-1] <= ts:
            return self.views[-1]
        i = bisect_right(times, ts) - 1
        return self.views[i] if i >= 0 else NO_INDICATIVE

    def trim(self) -> None:
        if len(self.times) > 1:
            self.times = self.times[-1:]
            self.views = self.views[-1:]


__all__ = ["BookTape", "IndicativeTape", "TradeTape"]
