"""An agent's own cost per wake-up, measured against a do-nothing context
(the sim's costs excluded): a noise trader should stay well under the
~50 µs a whole message may cost. A timing, so here and not in the unit
suite (`make bench`)."""

from __future__ import annotations

import itertools

import numpy as np

from cfx.agents import NoiseTrader, NoiseTraderSpec, Quote

SERIES = "HOP-H27"
WAKEUPS = 20_000


class NullContext:
    """Just what a noise trader's wake-up reads and calls, doing nothing."""

    now = 0
    account = 1

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self.q = Quote(299, 10, 301, 10, 300)
        self.ids = itertools.count(1)

    def listed(self):
        return [SERIES]

    def front(self, basket=None):
        return SERIES

    def quote(self, series):
        return self.q

    def position(self, series):
        return 0

    def submit(self, *a, **k):
        return next(self.ids)

    def cancel(self, oid):
        pass

    def wake_after(self, d):
        self.now += d

    def settlement(self, s):
        return None

    expected_settlement = index_ticks = settlement


def wake(trader: NoiseTrader, ctx: NullContext) -> None:
    for _ in range(WAKEUPS):
        trader.on_wakeup(ctx)


def test_noise_trader_wakeup_is_cheap(benchmark):
    ctx = NullContext()
    trader = NoiseTrader(NoiseTraderSpec())
    trader.on_start(ctx)
    benchmark.pedantic(wake, args=(trader, ctx), rounds=3, iterations=1)
    if benchmark.stats is None:  # --benchmark-disable: it ran once, untimed
        return
    per = benchmark.stats.stats.median / WAKEUPS
    benchmark.extra_info["us_per_wakeup"] = round(per * 1e6, 2)
    assert per < 50e-6, per
