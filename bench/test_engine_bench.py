"""Engine throughput on message mixes that stress one path each, for both
engines.

Each benchmark replays a fixed, seeded list of commands through a fresh
engine: the Python engine by the same `replay.stream` the CLI times, the
compiled core (when it is built) by the same column batches
cfx/core/replay.py applies. Compare runs with
``pytest-benchmark compare``; for a figure that survives a noisy machine,
quote `cfx replay` as a ratio against the benchmark yardstick instead (README).
"""

from __future__ import annotations

import numpy as np
import pytest

from cfx import core, orders_csv, replay, workload
from cfx.journal import Fills
from cfx.venue import Venue
from cfx.types import CancelOrder, ListSeries, OrderKind, Side, SubmitOrder, TimeInForce

N = 50_000
SERIES = "BENCH"


def fresh_venue() -> Venue:
    v = Venue(risk=False)  # an order-flow replay, as `cfx replay ORDERS.csv` builds it
    v.apply(ListSeries(SERIES, max_qty=orders_csv.MAX_QTY))
    return v


def add_heavy(n: int) -> list:
    """Passive limit orders only: the book grows, nothing trades."""
    rng = np.random.default_rng(1)
    side = rng.integers(0, 2, n)
    off = rng.geometric(0.2, n)
    return [
        SubmitOrder(
            i, SERIES, i + 1, int(s), Side.BUY if s == 0 else Side.SELL, 10, int(10_000 - o if s == 0 else 10_000 + o)
        )
        for i, (s, o) in enumerate(zip(side, off))
    ]


def cancel_heavy(n: int) -> list:
    """Each passive order is cancelled soon after (add, cancel, add, cancel...)."""
    adds = add_heavy(n // 2)
    out: list = []
    for i, a in enumerate(adds):
        out.append(a)
        if i >= 3:
            prev = adds[i - 3]
            out.append(CancelOrder(a.ts, prev.order_id, prev.account))
    return out


def match_heavy(n: int) -> list:
    """Resting sellers, then aggressive buyers that take 1-3 levels each."""
    rng = np.random.default_rng(2)
    cmds: list = []
    oid = 0
    for i in range(n):
        oid += 1
        if i % 2 == 0:
            cmds.append(
                SubmitOrder(
                    i, SERIES, oid, 100 + i % 7, Side.SELL, int(rng.integers(1, 20)), 10_000 + int(rng.integers(0, 5))
                )
            )
        else:
            cmds.append(SubmitOrder(i, SERIES, oid, 200 + i % 7, Side.BUY, int(rng.integers(5, 40)), 10_004))
    return cmds


def deep_book_sweep(levels: int) -> list:
    """A book ``levels`` deep, then one market order that sweeps all of it."""
    cmds: list = [SubmitOrder(i, SERIES, i + 1, 1, Side.SELL, 5, 10_000 + i) for i in range(levels)]
    cmds.append(
        SubmitOrder(levels, SERIES, levels + 1, 2, Side.BUY, 5 * levels, kind=OrderKind.MARKET, tif=TimeInForce.IOC)
    )
    return cmds


def mixed(n: int) -> list:
    return orders_csv.load_csv_rows(workload.generate(n, seed=7), SERIES)


CASES = {
    "add_heavy": lambda: add_heavy(N),
    "cancel_heavy": lambda: cancel_heavy(N),
    "match_heavy": lambda: match_heavy(N),
    "deep_book_sweep": lambda: deep_book_sweep(10_000),
    "mixed_workload": lambda: mixed(N),
}


@pytest.mark.parametrize("case", list(CASES))
def test_engine_throughput(benchmark, case):
    cmds = CASES[case]()

    fills: list[Fills] = []

    def setup():
        fills.append(Fills())
        return (fresh_venue(), [cmds], fills[-1]), {}

    benchmark.pedantic(replay.stream, setup=setup, rounds=5)
    benchmark.extra_info["engine"] = "python"
    benchmark.extra_info["messages"] = len(cmds)
    benchmark.extra_info["fills"] = fills[-1].count
    assert case in ("add_heavy", "cancel_heavy") or fills[-1].count


def run_compiled(engine, cols) -> int:
    """Apply the columns in the replay's batches, dropping the rows as it does; the fills."""
    from cfx.core.replay import BATCH

    book = engine.book
    arrays = cols.arrays()
    for start in range(0, len(cols), BATCH):
        book.apply(*arrays, start, min(len(cols), start + BATCH))
        book.clear()
    return book.fills


@pytest.mark.skipif(not core.available(), reason="the compiled core is not built")
@pytest.mark.parametrize("case", list(CASES))
def test_compiled_engine_throughput(benchmark, case):
    from cfx.core.columns import from_commands
    from cfx.core.engine import CompiledEngine

    cmds = CASES[case]()
    cols = from_commands(cmds)

    def setup():
        return (CompiledEngine(ListSeries(SERIES, max_qty=orders_csv.MAX_QTY)), cols), {}

    fills = benchmark.pedantic(run_compiled, setup=setup, rounds=5)
    benchmark.extra_info["engine"] = "compiled"
    benchmark.extra_info["messages"] = len(cmds)
    benchmark.extra_info["fills"] = fills
    assert case in ("add_heavy", "cancel_heavy") or fills
