"""The mm-withdrawal windows of summary.json, on a hand-made run directory."""

from __future__ import annotations

import datetime as dt

from cfx import tables
from cfx.sim import scenario as scn
from cfx.sim.clock import NS, epoch_ns
from cfx.sim.outputs import BOOK_TOP_SCHEMA, TRADE_SCHEMA
from cfx.sim.windows import measure, withdrawal_windows

SCENARIO = """
name = "w"
[calendar]
start = 2027-01-04
days = 3
[[agents]]
type = "noise_trader"
[[shocks]]
type = "mm-withdrawal"
day = 1
time = "11:00"
minutes = 60
"""


def test_withdrawal_is_measured_against_the_same_window_the_day_before_and_the_recovery(tmp_path):
    sc = scn.decode(SCENARIO)
    mon, tue = epoch_ns(dt.date(2027, 1, 4), 11 * 60), epoch_ns(dt.date(2027, 1, 5), 11 * 60)
    (w,) = withdrawal_windows(sc)
    assert w == {
        "withdrawal": (tue, tue + 3600 * NS),
        "day_before": (mon, mon + 3600 * NS),
        "after_resume": (tue + 3600 * NS, tue + 7200 * NS),
    }
    rows = []
    for t0, spread, depth, drift in ((mon, 2, 20, 0), (tue, 6, 4, 1), (tue + 3600 * NS, 2, 18, 0)):
        for k in range(6):  # a snapshot every 10 minutes; the mid drifts `drift` ticks per snapshot
            mid = 300 - drift * k
            rows.append(
                (t0 + k * 600 * NS, "HOP-G27", mid - spread // 2, depth // 2, mid + spread // 2, depth // 2, None)
            )
            rows.append((t0 + k * 600 * NS, "HOP-H27", None, 0, 320, 5, None))  # the back month: one-sided
    rows.append((tue - NS, "HOP-G27", 1, 1, 999, 1, None))  # outside every window
    tables.write(
        tables.table({n: [r[i] for r in rows] for i, n in enumerate(BOOK_TOP_SCHEMA.names)}, BOOK_TOP_SCHEMA),
        tmp_path / "book_top.parquet",
    )
    trades = [(1, tue + NS, "HOP-G27", 300, 7, 1, 2, 1, 2, "buy"), (2, mon + NS, "HOP-G27", 300, 3, 1, 2, 1, 2, "buy")]
    tables.write(
        tables.table({n: [r[i] for r in trades] for i, n in enumerate(TRADE_SCHEMA.names)}, TRADE_SCHEMA),
        tmp_path / "trades.parquet",
    )
    got = measure(sc, tmp_path / "book_top.parquet", tmp_path / "trades.parquet")
    assert got["front.spread_ticks.withdrawal"] == 6.0 and got["front.spread_ticks.day_before"] == 2.0
    assert got["front.spread_ratio_vs_day_before"] == 3.0
    assert got["front.spread_ticks.after_resume"] == 2.0  # recovered
    assert got["front.depth_contracts.withdrawal"] == 4.0 and got["front.depth_contracts.day_before"] == 20.0
    assert got["front.price_impact_ticks.withdrawal"] == 5.0 and got["front.price_impact_ticks.day_before"] == 0.0
    assert got["front.volume_contracts.withdrawal"] == 7 and got["front.volume_contracts.day_before"] == 3
    assert got["front+1.two_sided_fraction.withdrawal"] == 0.0 and got["front+1.spread_ticks.withdrawal"] is None


def test_no_withdrawal_no_figures(tmp_path):
    assert measure(scn.decode(SCENARIO.split("[[shocks]]")[0]), tmp_path / "none", tmp_path / "none") == {}
