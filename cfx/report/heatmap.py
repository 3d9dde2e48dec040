"""The order-book heatmap: visible depth by price over time in the front month,
rebuilt from the event log's ``LevelChanged`` rows."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from cfx.report.chart import add_marks, figure, ms, trading_time_axis
from cfx.report.load import Run, expiry_key, level_changes, select, series_top
from cfx.report.plots import Plot

HEATMAP_COLUMNS = 900  # at most this many time samples in the depth heatmap
HEATMAP_ROWS = 160  # at most this many price levels in the depth heatmap


def front_month(run: Run) -> str | None:
    """The earliest-expiring series that was quoted; among equals, the most traded."""
    bt = run.book_top
    quoted = [
        s
        for s in run.series
        if ((bt["series"] == s) & ~np.isnan(np.asarray(bt["bid"], dtype=float))).any()
        or ((bt["series"] == s) & ~np.isnan(np.asarray(bt["ask"], dtype=float))).any()
    ]
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
    events = run.path / "events.parquet"
    if not events.is_file():
        return None
    ts, side, price, qty = level_changes(events, series)
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
    return {
        "grid": grid,
        "pmin": np.array(pmin),
        "bids": bids,
        "asks": asks,
        "mid": np.interp(grid, top["ts"], top["mid"]),
    }


def plot_heatmap(run: Run) -> Plot:
    series = front_month(run)
    data = depth_grid(run, series) if series else None
    if data is None:
        return "none: no order book to show: " + (
            "no resting orders in this run"
            if (run.path / "events.parquet").is_file()
            else "the run kept no event log ([output] events)"
        )
    pmin, tick = int(data["pmin"]), run.tick_usd
    prices = (pmin + np.arange(data["bids"].shape[0])) * tick
    x = ms(data["grid"])
    vmax = max(2.0, float(max(data["bids"].max(), data["asks"].max())))
    ticks = [v for v in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000) if v <= vmax]
    fig = figure(height=520)
    for side, bar_x, rgb in (("bids", 1.0, (31, 119, 180)), ("asks", 1.08, (214, 39, 40))):
        # contracts as small integers keep the page small; the colour scale is logarithmic in
        # the depth (stops at log positions), an empty level transparent
        z = np.minimum(data[side], 65_535).astype("uint16")
        fig.add_trace(
            go.Heatmap(
                x=x,
                y=prices,
                z=z,
                zmin=0,
                zmax=vmax,
                name=side,
                colorscale=log_scale(vmax, rgb),
                hovertemplate="%{x}<br>$%{y:.2f}: %{z:,} contracts" + f"<extra>{side}</extra>",
                colorbar=dict(
                    title=f"{side[:-1]} depth", x=bar_x, len=0.9, tickvals=ticks, ticktext=[str(v) for v in ticks]
                ),
            )
        )
    fig.add_trace(go.Scatter(x=x, y=data["mid"], mode="lines", name="mid", line=dict(color="black", width=1)))
    fig.update_yaxes(title_text="price ($ per GPU-hour)")
    fig.update_layout(margin=dict(r=140), showlegend=False, title=dict(text=f"{series}", x=0.01, font=dict(size=13)))
    trading_time_axis(fig, run)
    add_marks(fig, run)
    return fig


def log_scale(vmax: float, rgb: tuple[int, int, int]) -> list[list]:
    """A Plotly colour scale over [0, vmax] contracts that is transparent at 0
    and logarithmic from 1 (pale) to ``vmax`` (``rgb``)."""
    r, g, b = rgb
    stops: list[list] = [[0.0, "rgba(255,255,255,0)"], [0.999 / vmax, "rgba(255,255,255,0)"]]
    for i in range(11):
        depth = vmax ** (i / 10)  # 1 .. vmax, evenly in log
        f = 0.15 + 0.85 * i / 10
        stops.append(
            [
                min(1.0, depth / vmax) if i else 1 / vmax,
                f"rgba({round(255 - (255 - r) * f)},{round(255 - (255 - g) * f)},{round(255 - (255 - b) * f)},1)",
            ]
        )
    return stops
