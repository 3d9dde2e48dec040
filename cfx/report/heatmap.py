"""The order-book heatmap: visible depth by price over time in the front month,
rebuilt from the event log's ``LevelChanged`` rows."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from cfx.report.load import Run, as_datetime, expiry_key, level_changes, select, series_top
from cfx.report.plots import draw_empty, figure

HEATMAP_COLUMNS = 900  # at most this many time samples in the depth heatmap
HEATMAP_ROWS = 160  # at most this many price levels in the depth heatmap


def front_month(run: Run) -> str | None:
    """The earliest-expiring series that was quoted; among equals, the most traded."""
    bt = run.book_top
    quoted = [s for s in run.series if ((bt["series"] == s) & ~np.isnan(np.asarray(bt["bid"], dtype=float))).any()
              or ((bt["series"] == s) & ~np.isnan(np.asarray(bt["ask"], dtype=float))).any()]
    if not quoted:
        return None
    vol = run.summary.get("volume_by_series") or {}
    first = expiry_key(quoted[0])[:2]
    same = [s for s in quoted if expiry_key(s)[:2] == first]
    return max(same, key=lambda s: (vol.get(s, 0), s))


def depth_grid(run: Run, series: str) -> dict[str, np.ndarray] | None:
    """Visible depth by price over time for one series.

    The time grid is that series' top-of-book snapshot times (at most
    `HEATMAP_COLUMNS`, evenly thinned); the depth at a (side, price) level at a
    grid time is the qty of the last ``LevelChanged`` event at or before it.
    Reads only the ``LevelChanged`` rows of this series and five columns, so
    memory follows the series' book activity, not the run's size.
    """
    top = series_top(run, series)
    grid = top["ts"]
    if not len(grid):
        return None
    if len(grid) > HEATMAP_COLUMNS:
        grid = grid[np.linspace(0, len(grid) - 1, HEATMAP_COLUMNS).round().astype(int)]
    ts, side, price, qty = level_changes(run.path / "events.parquet", series)
    if not len(ts):
        return None
    # the price window: what the best bid and ask visited, plus a margin, at most HEATMAP_ROWS ticks
    bt = select(run.book_top, run.book_top["series"] == series)
    quotes = np.concatenate([np.asarray(bt["bid"], dtype=float), np.asarray(bt["ask"], dtype=float)])
    quotes = quotes[~np.isnan(quotes)]
    if len(quotes):
        lo, hi = np.percentile(quotes, [0.5, 99.5])
        centre = (lo + hi) / 2
        half = min(HEATMAP_ROWS // 2, (hi - lo) / 2 + 12)
        pmin, pmax = int(math.floor(centre - half)), int(math.ceil(centre + half))
    else:
        pmin, pmax = int(price.min()), int(price.max())
    rows = pmax - pmin + 1
    bids = np.zeros((rows, len(grid)))
    asks = np.zeros((rows, len(grid)))
    keep = (price >= pmin) & (price <= pmax)
    ts, side, price, qty = ts[keep], side[keep], price[keep], qty[keep]
    level = (price - pmin) * 2 + side  # one id per (price, side)
    order = np.lexsort((np.arange(len(level)), level))  # by level, then event order
    level, ts, qty = level[order], ts[order], qty[order]
    starts = np.flatnonzero(np.r_[True, level[1:] != level[:-1]])
    ends = np.r_[starts[1:], len(level)]
    for a, b in zip(starts, ends):
        idx = np.searchsorted(ts[a:b], grid, side="right") - 1
        depth = np.where(idx >= 0, qty[a:b][np.maximum(idx, 0)], 0)
        lv = int(level[a])
        (bids if lv % 2 else asks)[lv // 2] = depth
    return {"grid": grid, "pmin": np.array(pmin), "bids": bids, "asks": asks,
            "mid": np.interp(grid, top["ts"], top["mid"])}


def _session_ticks(grid: np.ndarray) -> tuple[list[int], list[str]]:
    """Tick positions and labels for a time axis of sample indices with the
    overnight gaps removed: every day's first sample, and hours within a
    short run."""
    times = as_datetime(grid).astype("datetime64[s]").astype(dt.datetime)
    days = sorted({t.date() for t in times})
    pos, labels = [], []
    short = len(days) <= 3
    last_day, last_hour = None, None
    for i, t in enumerate(times):
        if t.date() != last_day:
            pos.append(i)
            labels.append(t.strftime("%b %d\n%H:%M") if short else t.strftime("%b %d"))
            last_day, last_hour = t.date(), t.hour
        elif short and t.hour != last_hour and t.hour % (1 if len(days) == 1 else 2) == 0:
            pos.append(i)
            labels.append(t.strftime("%H:00"))
            last_hour = t.hour
        elif short:
            last_hour = t.hour
    if not short and len(pos) > 12:  # at most about a dozen date labels
        step = math.ceil(len(pos) / 12)
        pos, labels = pos[::step], labels[::step]
    return pos, labels


def plot_heatmap(run: Run) -> Any:
    fig, (ax,) = figure(height=5.6)
    series = front_month(run)
    data = depth_grid(run, series) if series else None
    if data is None:
        draw_empty(ax, "no order book to show: no resting orders in this run")
        ax.set_title("Order-book depth by price over time (front month)")
        return fig
    from matplotlib.colors import LogNorm

    bids, asks = data["bids"], data["asks"]
    vmax = max(1.0, float(max(bids.max(), asks.max())))
    norm = LogNorm(vmin=1, vmax=vmax)
    pmin = int(data["pmin"])
    tick = run.tick_usd
    extent = (-0.5, len(data["grid"]) - 0.5, (pmin - 0.5) * tick, (pmin + bids.shape[0] - 0.5) * tick)
    kw = {"aspect": "auto", "origin": "lower", "extent": extent, "interpolation": "nearest", "norm": norm}
    ib = ax.imshow(np.ma.masked_less(bids, 1), cmap="Blues", **kw)
    ia = ax.imshow(np.ma.masked_less(asks, 1), cmap="Reds", **kw)
    ax.plot(np.arange(len(data["grid"])), data["mid"], color="black", lw=0.7, label="mid")
    pos, labels = _session_ticks(data["grid"])
    days = as_datetime(data["grid"]).astype("datetime64[D]")
    for i in np.flatnonzero(days[1:] != days[:-1]) + 1:
        ax.axvline(i - 0.5, color="0.3", lw=0.6, ls=":")
    ax.set_xticks(pos, labels, fontsize=8)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_ylabel("price ($ per GPU-hour)")
    ax.set_xlabel("time (UTC); trading hours only, nights and weekends left out")
    ax.set_title(f"{series} order book: resting contracts at each price (bids blue, asks red, log colour scale)")
    ax.legend(loc="upper right", fontsize=8)
    from matplotlib.ticker import FuncFormatter

    for image, label in ((ib, "bid depth (contracts)"), (ia, "ask depth (contracts)")):
        bar = fig.colorbar(image, ax=ax, pad=0.01, fraction=0.04, label=label)
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    return fig
