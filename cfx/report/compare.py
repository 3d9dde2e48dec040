"""`cfx compare RUN_A RUN_B`: two runs on one page, the metrics side by side
(A, B, B - A) and overlaid: prices, spread, depth, settlement prices, the
index, P&L and margin by agent type (A solid, B dashed)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Callable

import numpy as np
import plotly.graph_objects as go

from cfx.report import load
from cfx.report.chart import add_marks, color, day_ms, figure, gapped, marks, trading_time_axis
from cfx.report.load import MICRO, Run, expiry_key, load_run, select, series_top
from cfx.report.page import flat_metrics, fmt, is_num, page, section, write_page
from cfx.report.plots import Plot, baskets, pnl_by_type
from cfx.writes import check

RUN_DASH = ("solid", "dash")  # A, B


def _finish(fig: go.Figure, runs: list[Run], ytitle: str, trading: bool = True) -> go.Figure:
    fig.update_yaxes(title_text=ytitle)
    if trading:
        trading_time_axis(fig, runs[0])
    else:
        fig.update_xaxes(type="date", rangebreaks=[dict(bounds=["sat", "mon"])])
    add_marks(fig, runs[0])
    if marks(runs[1]) != marks(runs[0]):
        add_marks(fig, runs[1])
    return fig


def _overlay(
    runs: list[Run], ytitle: str, value: Callable[[Run, str], tuple[np.ndarray, np.ndarray]], what: str
) -> Plot:
    """One line per (run, series): colour by series, solid A, dashed B."""
    series = sorted({s for r in runs for s in r.series}, key=expiry_key)
    fig = figure(height=440)
    drawn = False
    for i, s in enumerate(series):
        for r, dash, tag in zip(runs, RUN_DASH, ("A", "B")):
            ts, y = value(r, s)
            ok = ~np.isnan(y)
            if ok.any():
                drawn = True
                fig.add_trace(
                    go.Scatter(
                        x=gapped(ts[ok], y[ok])[0],
                        y=gapped(ts[ok], y[ok])[1],
                        mode="lines",
                        name=f"{tag}: {s}",
                        line=dict(color=color(i), dash=dash, width=1.2),
                    )
                )
    if not drawn:
        return f"none: no {what} in either run"
    return _finish(fig, runs, ytitle)


def _quoted_depth(r: Run, s: str) -> tuple[np.ndarray, np.ndarray]:
    t = series_top(r, s)
    depth = t["bid_qty"] + t["ask_qty"]
    return t["ts"], np.where(depth > 0, depth, np.nan)


def _cmp_prices(runs: list[Run]) -> Plot:
    return _overlay(runs, "$ per GPU-hour", lambda r, s: (lambda t: (t["ts"], t["mid"]))(series_top(r, s)), "quotes")


def _cmp_spread(runs: list[Run]) -> Plot:
    return _overlay(
        runs,
        "spread (ticks)",
        lambda r, s: (lambda t: (t["ts"], t["spread"] / r.tick_usd))(series_top(r, s)),
        "two-sided quotes",
    )


def _cmp_depth(runs: list[Run]) -> Plot:
    return _overlay(runs, "contracts", _quoted_depth, "quotes")


def _cmp_settlement(runs: list[Run]) -> Plot:
    series = sorted({s for r in runs for s in r.settlements["series"].tolist()}, key=expiry_key)
    if not series:
        return "none: no settlement prices in either run"
    fig = figure(height=420)
    for i, s in enumerate(series):
        for r, dash, tag in zip(runs, RUN_DASH, ("A", "B")):
            st = select(r.settlements, r.settlements["series"] == s)
            if not len(st["date"]):
                continue
            order = np.argsort(st["date"], kind="stable")
            fig.add_trace(
                go.Scatter(
                    x=day_ms(st["date"][order], 16),
                    y=st["price"][order] * r.tick_usd,
                    mode="lines+markers",
                    name=f"{tag}: {s}",
                    line=dict(color=color(i), dash=dash),
                    marker=dict(symbol="circle" if tag == "A" else "square-open", size=8),
                )
            )
    return _finish(fig, runs, "$ per GPU-hour", trading=False)


def _cmp_index(runs: list[Run]) -> Plot:
    fig = figure(height=420)
    drawn = False
    names = sorted({b for r in runs for b in baskets(r)})
    for i, name in enumerate(names):
        for r, dash, tag in zip(runs, RUN_DASH, ("A", "B")):
            ind = select(r.indicative, r.indicative["index"] == name)
            if len(ind["ts"]):
                o = np.argsort(ind["ts"], kind="stable")
                x, y = gapped(np.asarray(ind["ts"], dtype="int64")[o], ind["value"][o] / MICRO)
            else:
                fx = select(r.fixings, r.fixings["index"] == name)
                window = load.run_window(r)
                k = (
                    np.ones(len(fx["date"]), bool)
                    if window is None
                    else ((fx["date"] >= window[0]) & (fx["date"] <= window[1]))
                )
                o = np.argsort(fx["date"][k])
                x, y = day_ms(fx["date"][k][o], 16), fx["value"][k][o] / MICRO
            if len(y):
                drawn = True
                fig.add_trace(
                    go.Scatter(
                        x=x, y=y, mode="lines", name=f"{tag}: {name}", line=dict(color=color(i), dash=dash, width=1.2)
                    )
                )
    if not drawn:
        return "none: no index values in either run"
    return _finish(fig, runs, "$ per GPU-hour")


def _by_type(
    runs: list[Run], measure: Callable[[Run], tuple[np.ndarray, dict[str, np.ndarray]]], ytitle: str, what: str
) -> Plot:
    """One line per (run, agent type) of a daily measure: colour by type, solid A, dashed B."""
    got = [measure(r) for r in runs]
    types = sorted({t for _, d in got for t, y in d.items() if np.any(y)})
    if not types:
        return f"none: no {what} in either run"
    fig = figure(height=440)
    for i, t in enumerate(types):
        for (dates, d), dash, tag in zip(got, RUN_DASH, ("A", "B")):
            if t in d:
                fig.add_trace(
                    go.Scatter(
                        x=day_ms(dates, 16),
                        y=d[t],
                        mode="lines+markers",
                        name=f"{tag}: {t}",
                        line=dict(color=color(i), dash=dash),
                    )
                )
    return _finish(fig, runs, ytitle, trading=False)


def _cmp_pnl(runs: list[Run]) -> Plot:
    return _by_type(runs, pnl_by_type, "$ (cumulative, net of fees)", "account statements")


def _cmp_margin(runs: list[Run]) -> Plot:
    return _by_type(runs, load.margin_by_type, "$ initial margin required", "margin requirements")


COMPARE_PLOTS = [
    (
        "prices",
        "Prices",
        _cmp_prices,
        "Mid of the best bid and ask per series, from each run's top-of-book "
        "snapshots; A solid, B dashed, one colour per series.",
    ),
    ("spread", "Bid-ask spread", _cmp_spread, "Spread in ticks when both sides are quoted."),
    ("depth", "Top-of-book depth", _cmp_depth, "Contracts at the best bid plus the best ask."),
    ("settlement", "Settlement prices", _cmp_settlement, "Daily (and final) settlement prices per series."),
    ("index", "The index", _cmp_index, "Each basket's index as published intraday (else its daily fixings)."),
    (
        "pnl",
        "P&L by agent type",
        _cmp_pnl,
        "Cumulative variation margin received minus fees paid, per agent type "
        "(one colour per type; A solid, B dashed).",
    ),
    ("margin", "Margin by agent type", _cmp_margin, "Initial margin required at each settlement, per agent type."),
]


def _compare_table(a: Run, b: Run) -> str:
    ma, mb = flat_metrics(a.summary), flat_metrics(b.summary)
    keys = list(ma) + [k for k in mb if k not in ma]
    rows = []
    for k in keys:
        va, vb = ma.get(k), mb.get(k)
        diff, rel = "", ""
        if is_num(va) and is_num(vb):
            d = vb - va
            diff = fmt(round(d, 6) if isinstance(d, float) else d)
            if d > 0:
                diff = "+" + diff
            rel = f"{d / va:+.1%}" if va and d else ""
        changed = ' style="background:#fff3cd"' if va != vb else ""
        rows.append(
            f"<tr{changed}><th>{html.escape(k)}</th>"
            + "".join(f'<td class="num">{html.escape(x)}</td>' for x in (fmt(va), fmt(vb), diff, rel))
            + "</tr>"
        )
    return (
        '<table class="metrics" id="metrics-table"><tr><th>metric</th><th>A</th><th>B</th>'
        "<th>B − A</th><th>relative</th></tr>" + "".join(rows) + "</table>"
    )


def compare_html(a: Run, b: Run) -> str:
    def who(tag: str, r: Run) -> str:
        s = r.summary
        return (
            f"<li><b>{tag}</b>: {html.escape(str(s.get('scenario', r.label)))} — "
            f"{html.escape(str(r.path.resolve()))} (seed {html.escape(fmt(s.get('seed')))}, "
            f"{html.escape(fmt(s.get('days')))} days)<br><i>{html.escape(str(s.get('question') or ''))}</i></li>"
        )

    head = (
        f"<h1>Compare: {html.escape(str(a.summary.get('scenario', a.label)))} (A) vs "
        f"{html.escape(str(b.summary.get('scenario', b.label)))} (B)</h1><ul>{who('A', a)}{who('B', b)}</ul>"
    )
    body = [
        '<section id="metrics"><h2>Key metrics</h2>'
        '<p class="note">Changed rows are highlighted; B − A and B / A − 1 for numbers.</p>'
        + _compare_table(a, b)
        + "</section>"
    ]
    for sid, title, make, note in COMPARE_PLOTS:
        body.append(section(sid, title, make([a, b]), note))
    return page("cfx compare", head, body)


def write_compare(run_a: str | Path, run_b: str | Path, out: str | Path | None = None) -> Path:
    """Write the comparison page to ``out`` (default ``RUN_B/compare.html``); return its path."""
    a, b = load_run(run_a), load_run(run_b)
    a.label, b.label = f"A: {a.label}", f"B: {b.label}"
    path = Path(out) if out else b.path / "compare.html"
    check(path, "--out")
    write_page(path, compare_html(a, b))
    return path
