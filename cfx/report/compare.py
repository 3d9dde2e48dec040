"""`cfx compare RUN_A RUN_B`: two runs on one page, the metrics side by side
(A, B, B - A) and the prices, spread, depth and settlement prices overlaid."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable

import numpy as np

from cfx.report.load import Run, expiry_key, load_run, select, series_top
from cfx.report.page import flat_metrics, fmt, is_num, page, section, write_page
from cfx.report.plots import draw_empty, figure, gapped, png, time_axis
from cfx.writes import check


RUN_COLORS = ("tab:blue", "tab:red")  # A, B
SERIES_STYLES = ["-", "--", ":", "-."]


def _overlay(runs: list[Run], title: str, ylabel: str, value: Callable[[Run, str], tuple[np.ndarray, np.ndarray]],
             what: str) -> Any:
    fig, (ax,) = figure(height=4.8)
    series = sorted({s for r in runs for s in r.series}, key=expiry_key)
    drawn = False
    for s, ls in zip(series, SERIES_STYLES * len(series)):
        for r, c, tag in zip(runs, RUN_COLORS, ("A", "B")):
            ts, y = value(r, s)
            ok = ~np.isnan(y)
            if ok.any():
                drawn = True
                ax.plot(*gapped(ts[ok], y[ok]), color=c, ls=ls, lw=1.1, alpha=0.8, label=f"{tag}: {s}")
    if not drawn:
        draw_empty(ax, f"no {what} in either run")
    else:
        ax.set_ylabel(ylabel)
        ax.set_xlabel("time (UTC)")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8)
        time_axis(ax)
    ax.set_title(title)
    return fig


def _quoted_depth(r: Run, s: str) -> tuple[np.ndarray, np.ndarray]:
    t = series_top(r, s)
    depth = t["bid_qty"] + t["ask_qty"]
    return t["ts"], np.where(depth > 0, depth, np.nan)


def _cmp_prices(runs: list[Run]) -> Any:
    return _overlay(runs, "Futures mid prices: A blue, B red (line style per series)", "$ per GPU-hour",
                    lambda r, s: (lambda t: (t["ts"], t["mid"]))(series_top(r, s)), "quotes")


def _cmp_spread(runs: list[Run]) -> Any:
    fig = _overlay(runs, "Bid-ask spread: A blue, B red (line style per series)", "spread (ticks)",
                   lambda r, s: (lambda t: (t["ts"], t["spread"] / r.tick_usd))(series_top(r, s)), "two-sided quotes")
    return fig


def _cmp_depth(runs: list[Run]) -> Any:
    return _overlay(runs, "Top-of-book depth (best bid + best ask, when quoted): A blue, B red", "contracts",
                    _quoted_depth, "quotes")


def _cmp_settlement(runs: list[Run]) -> Any:
    fig, (ax,) = figure(height=4.6)
    series = sorted({s for r in runs for s in r.settlements["series"].tolist()}, key=expiry_key)
    if not series:
        draw_empty(ax, "no settlement prices in either run")
    for s, ls in zip(series, SERIES_STYLES * len(series)):
        for r, c, tag in zip(runs, RUN_COLORS, ("A", "B")):
            st = select(r.settlements, r.settlements["series"] == s)
            if not len(st["date"]):
                continue
            order = np.argsort(st["date"], kind="stable")
            ax.plot(st["date"][order].astype("datetime64[ns]"), st["price"][order] * r.tick_usd, ls=ls, color=c,
                    marker="o" if tag == "A" else "s", ms=5, mfc="none" if tag == "B" else c, label=f"{tag}: {s}")
    if series:
        ax.set_ylabel("$ per GPU-hour")
        ax.set_xlabel("settlement date")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8)
        time_axis(ax)
    ax.set_title("Daily settlement prices: A blue dots, B red open squares (line style per series)")
    return fig


COMPARE_PLOTS = [
    ("prices", "Prices", _cmp_prices, "Mid of the best bid and ask per series, from each run's top-of-book snapshots."),
    ("spread", "Bid-ask spread", _cmp_spread, "Spread in ticks when both sides are quoted."),
    ("depth", "Top-of-book depth", _cmp_depth, "Contracts at the best bid plus the best ask."),
    ("settlement", "Settlement prices", _cmp_settlement, "Daily (and final) settlement prices per series."),
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
        rows.append(f"<tr{changed}><th>{html.escape(k)}</th>"
                    + "".join(f'<td class="num">{html.escape(x)}</td>' for x in (fmt(va), fmt(vb), diff, rel))
                    + "</tr>")
    return ('<table class="metrics" id="metrics-table"><tr><th>metric</th><th>A</th><th>B</th>'
            "<th>B − A</th><th>relative</th></tr>" + "".join(rows) + "</table>")


def compare_html(a: Run, b: Run) -> str:
    def who(tag: str, r: Run) -> str:
        s = r.summary
        return (f"<li><b>{tag}</b>: {html.escape(str(s.get('scenario', r.label)))} — "
                f"{html.escape(str(r.path.resolve()))} (seed {html.escape(fmt(s.get('seed')))}, "
                f"{html.escape(fmt(s.get('days')))} days)<br><i>{html.escape(str(s.get('question') or ''))}</i></li>")

    head = (f"<h1>Compare: {html.escape(str(a.summary.get('scenario', a.label)))} (A) vs "
            f"{html.escape(str(b.summary.get('scenario', b.label)))} (B)</h1><ul>{who('A', a)}{who('B', b)}</ul>")
    body = ['<section id="metrics"><h2>Key metrics</h2>'
            '<p class="note">Changed rows are highlighted; B − A and B / A − 1 for numbers.</p>'
            + _compare_table(a, b) + "</section>"]
    for sid, title, make, note in COMPARE_PLOTS:
        body.append(section(sid, title, png(make([a, b])), note))
    return page("cfx compare", head, body)


def write_compare(run_a: str | Path, run_b: str | Path, out: str | Path | None = None) -> Path:
    """Write the comparison page to ``out`` (default ``RUN_B/compare.html``); return its path."""
    a, b = load_run(run_a), load_run(run_b)
    a.label, b.label = f"A: {a.label}", f"B: {b.label}"
    path = Path(out) if out else b.path / "compare.html"
    check(path, "--out")
    write_page(path, compare_html(a, b))
    return path
