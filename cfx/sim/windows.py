"""Stress windows measured against calm ones: what a market-maker
withdrawal does to the book, from a run's top-of-book snapshots and trades.

For each ``mm-withdrawal`` shock (not on the first day), three windows of
the shock's length, at the same clock time: the withdrawal itself, the same
window the business day before, and the window right after the makers
resume (the recovery). Per tenor ("front", "front+1", ...): the mean spread
(ticks, two-sided snapshots), the mean top-of-book depth (contracts), the
fraction of snapshots that are two-sided, the price impact (the largest
move of the mid away from its value at the window's start, ticks) and the
contracts traded. Floats: analytics, not clearing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cfx.products import first_business_days
from cfx.sim.clock import NS, epoch_ns, minutes
from cfx.sim.scenario import MarketMakerWithdrawal


def withdrawal_windows(sc: Any) -> list[dict[str, tuple[int, int]]]:
    """(start, end) ns of each withdrawal's windows: ``withdrawal``, ``day_before``, ``after_resume``."""
    days = first_business_days(sc.calendar.start, sc.calendar.days)
    close = minutes(sc.calendar.close)
    out = []
    for shock in sc.shocks:
        if not isinstance(shock, MarketMakerWithdrawal) or shock.day == 0:
            continue
        length = shock.minutes * 60 * NS
        start = epoch_ns(days[shock.day], minutes(shock.time))
        before = epoch_ns(days[shock.day - 1], minutes(shock.time))
        end_of_day = epoch_ns(days[shock.day], close)
        out.append(
            {
                "withdrawal": (start, start + length),
                "day_before": (before, before + length),
                "after_resume": (start + length, min(start + 2 * length, end_of_day)),
            }
        )
    return out


def measure(sc: Any, book_top: Path, trades_file: Path) -> dict[str, float | int | None]:
    """The withdrawal figures, flat (``front.spread_ticks.withdrawal`` style keys
    under each shock's number), for summary.json, from the run's
    ``book_top`` and ``trades_file`` tables; empty without a withdrawal."""
    windows = withdrawal_windows(sc)
    if not windows:
        return {}
    top = _ns(pq.read_table(book_top))
    trades = _ns(pq.read_table(trades_file, columns=["time", "series", "qty_lots"]))
    listed: dict[int, list[str]] = {}  # day ordinal -> series in book_top order (front month first)
    for ts, s in zip(top["time"], top["series"]):
        day = ts // (86_400 * NS)
        lst = listed.setdefault(day, [])
        if s not in lst:
            lst.append(s)
    out: dict[str, float | int | None] = {}
    for n, w in enumerate(windows):
        for label, (start, end) in w.items():
            day = start // (86_400 * NS)
            tenor = {s: ("front" if i == 0 else f"front+{i}") for i, s in enumerate(listed.get(day, []))}
            acc: dict[str, dict[str, Any]] = {}
            for ts, s, b, bq, a, aq in zip(
                top["time"], top["series"], top["bid_ticks"], top["bid_qty_lots"], top["ask_ticks"], top["ask_qty_lots"]
            ):
                if not start <= ts < end or s not in tenor:
                    continue
                st = acc.setdefault(tenor[s], {"n": 0, "two": 0, "spread": 0, "depth": 0, "mid0": None, "move": 0.0})
                st["n"] += 1
                st["depth"] += (bq or 0) + (aq or 0)
                if b is not None and a is not None:
                    st["two"] += 1
                    st["spread"] += a - b
                    mid = (a + b) / 2
                    if st["mid0"] is None:
                        st["mid0"] = mid
                    st["move"] = max(st["move"], abs(mid - st["mid0"]))
            volume: dict[str, int] = {}
            for ts, s, q in zip(trades["time"], trades["series"], trades["qty_lots"]):
                if start <= ts < end and s in tenor:
                    volume[tenor[s]] = volume.get(tenor[s], 0) + q
            prefix = f"{n}." if len(windows) > 1 else ""
            for t, st in sorted(acc.items()):
                key = f"{prefix}{t}"
                out[f"{key}.spread_ticks.{label}"] = round(st["spread"] / st["two"], 3) if st["two"] else None
                out[f"{key}.depth_contracts.{label}"] = round(st["depth"] / st["n"], 2)
                out[f"{key}.two_sided_fraction.{label}"] = round(st["two"] / st["n"], 4)
                out[f"{key}.price_impact_ticks.{label}"] = round(st["move"], 2)
                out[f"{key}.volume_contracts.{label}"] = volume.get(t, 0)
        for t in ("front", "front+1"):
            key = f"{prefix}{t}"
            a, b = out.get(f"{key}.spread_ticks.withdrawal"), out.get(f"{key}.spread_ticks.day_before")
            if a is not None and b:
                out[f"{key}.spread_ratio_vs_day_before"] = round(a / b, 3)
    return dict(sorted(out.items()))


def _ns(table: pa.Table) -> dict[str, list]:
    """A table as Python lists, its times as int nanoseconds."""
    out = {}
    for name in table.column_names:
        col = table.column(name)
        out[name] = (col.cast(pa.int64()) if pa.types.is_timestamp(col.type) else col).to_pylist()
    return out
