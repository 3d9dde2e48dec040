"""Plotly helpers shared by the report's plots: time axes that leave out
nights and weekends, lines broken at gaps, and the marks (shocks, halts,
kill switches, withdrawal windows) every time plot carries.

Times go to Plotly as milliseconds since the epoch (a date axis reads them
as UTC), so arrays stay numeric and compact in the page.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cfx.report.load import NS_PER_S, Run, halts, shock_marks

GAP_NS = 3600 * NS_PER_S  # a break in time-series lines longer than this (overnight) is not drawn across
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
MARK_COLORS = {
    "kill-switch": "#d62728",
    "mm-withdrawal": "#ff7f0e",
    "index-move": "#9467bd",
    "fat-finger": "#8c564b",
    "member-default": "#e377c2",
    "halt": "#d62728",
}
MAX_LABELLED_HALTS = 3  # more halts than this are shaded without a label each


def ms(ns: Any) -> np.ndarray:
    """Nanoseconds since the epoch as Plotly's milliseconds (floats)."""
    return np.asarray(ns, dtype="int64") / 1e6


def day_ms(dates: np.ndarray, hours: float = 0.0) -> np.ndarray:
    """Dates (datetime64[D]) as milliseconds, ``hours`` after midnight."""
    return np.asarray(dates).astype("datetime64[D]").astype("int64") * 86_400_000.0 + hours * 3_600_000


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def gapped(ts: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Times (ms) and values with a NaN where consecutive samples are more
    than `GAP_NS` apart, so lines do not run across nights and weekends."""
    ts = np.asarray(ts, dtype="int64")
    y = np.asarray(y, dtype=float)
    if len(ts) >= 2:
        breaks = np.nonzero(np.diff(ts) > GAP_NS)[0] + 1
        if len(breaks):
            ts = np.insert(ts, breaks, ts[breaks - 1] + 1)
            y = np.insert(y, breaks, np.nan)
    return ms(ts), y.astype("float32")  # float32: half the bytes in the page, ample for $ and contracts


def figure(
    rows: int = 1, height: int = 420, titles: list[str] | None = None, shared_x: bool = True, **kw: Any
) -> go.Figure:
    """An empty figure of ``rows`` stacked plots with the report's layout."""
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=shared_x,
        vertical_spacing=0.09 if rows > 1 else 0.02,
        subplot_titles=titles,
        **kw,
    )
    fig.update_layout(
        height=height,
        template="plotly_white",
        margin=dict(l=70, r=20, t=40, b=40),
        legend=dict(font=dict(size=11)),
        hovermode="closest",
    )
    return fig


def session_hours(run: Run) -> tuple[float, float] | None:
    """The session's first and last hour of the day (UTC) from the snapshots."""
    ts = np.asarray(run.book_top["ts"], dtype="int64")
    if not len(ts):
        return None
    tod = (ts // NS_PER_S) % 86_400 / 3600
    return math.floor(tod.min() * 4) / 4, math.ceil(tod.max() * 4 + 1e-9) / 4


def trading_time_axis(fig: go.Figure, run: Run) -> None:
    """Leave nights and weekends out of every date axis (a run of days shows its sessions side by side)."""
    hours = session_hours(run)
    days = len(np.unique(np.asarray(run.book_top["ts"], dtype="int64") // (86_400 * NS_PER_S)))
    breaks: list[dict] = [dict(bounds=["sat", "mon"])]
    if hours is not None and days > 1 and hours[1] - hours[0] < 23:
        breaks.append(dict(bounds=[hours[1], hours[0]], pattern="hour"))
    fig.update_xaxes(type="date", rangebreaks=breaks, showspikes=True, spikemode="across", spikethickness=1)


def marks(run: Run) -> list[dict]:
    """What to mark on the time plots: the scenario's shocks (summary.json)
    and the halts in the event log (a kill switch's halts are its shock's
    window already, so only halts outside every kill switch are added)."""
    out = [
        {"kind": s["type"], "start": s["start_ns"], "end": s["end_ns"], "label": s["label"]} for s in shock_marks(run)
    ]
    kills = [(m["start"], m["end"]) for m in out if m["kind"] == "kill-switch"]
    seen = set()
    for series, a, b in halts(run):
        if any(k0 <= a <= k1 for k0, k1 in kills) or (a, b) in seen:
            continue
        seen.add((a, b))
        out.append({"kind": "halt", "start": a, "end": b, "label": f"halt {series}"})
    return out


def add_marks(
    fig: go.Figure,
    run: Run,
    rows: int = 1,
    window: tuple[int, int] | None = None,
    row: int | None = None,
    legend: set[str] | None = None,
) -> None:
    """Shade each mark's window (a line for an instant) on every row of
    ``fig`` (or only on ``row``, for marks inside ``window``), label the
    shocks (and the halts when there are few) on the top row, and put one
    legend entry per kind of mark (not for the kinds in ``legend``, which
    gets the new ones: a figure drawn row by row lists each kind once)."""
    ms_list = [m for m in marks(run) if window is None or (m["end"] >= window[0] and m["start"] <= window[1])]
    halts_n = sum(m["kind"] == "halt" for m in ms_list)
    on = [row] if row is not None else list(range(1, rows + 1))
    kinds: list[str] = []
    labelled = 0
    for m in ms_list:
        c = MARK_COLORS.get(m["kind"], "#555")
        x0, x1 = float(ms(m["start"])), float(ms(m["end"]))
        for r in on:
            if x1 > x0:
                fig.add_vrect(x0=x0, x1=x1, fillcolor=c, opacity=0.14, line_width=0, layer="below", row=r, col=1)
            else:
                fig.add_vline(x=x0, line=dict(color=c, width=1.5, dash="dot"), row=r, col=1)
        if m["kind"] != "halt" or halts_n <= MAX_LABELLED_HALTS:
            y = 1.0 - 0.07 * (labelled % 4)  # staggered, so labels of nearby marks do not overprint
            labelled += 1
            fig.add_annotation(
                x=x0,
                y=y,
                yref="y domain",
                text=m["label"],
                showarrow=False,
                xanchor="left",
                yanchor="top",
                font=dict(size=10, color=c),
                bgcolor="rgba(255,255,255,0.7)",
                row=on[0],
                col=1,
            )
        if m["kind"] not in kinds:
            kinds.append(m["kind"])
    if legend is not None:
        kinds, _ = [k for k in kinds if k not in legend], legend.update(kinds)
    for k in kinds:
        name = {"halt": "trading halt (circuit breaker)"}.get(k, k.replace("-", " "))
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=name,
                legendgroup="marks",
                marker=dict(symbol="square", size=12, color=MARK_COLORS.get(k, "#555"), opacity=0.5),
            ),
            row=on[0],
            col=1,
        )
