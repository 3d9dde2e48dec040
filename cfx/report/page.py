"""The report page: one self-contained HTML file per run, and ``cfx report``'s entry point.

Each plot is a Plotly figure written into the page as JSON next to an
empty ``<div class="plot">``; plotly.js is inlined once in the head and a
few lines at the end draw every div, so the file opens offline, alone.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable

import numpy as np
import plotly.io as pio
from plotly.offline import get_plotlyjs

from cfx.facts import facts_html
from cfx.facts import measure as measure_facts
from cfx.report import plots
from cfx.report.chart import marks
from cfx.report.heatmap import plot_heatmap
from cfx.report.load import Run, load_run
from cfx.writes import check, write_atomic

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1250px;
       padding: 0 1em; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.question { font-size: 1.15em; font-style: italic; color: #444; }
.meta { color: #666; font-size: 0.9em; }
table.metrics { border-collapse: collapse; font-size: 0.92em; }
table.metrics td, table.metrics th { border: 1px solid #ddd; padding: 3px 10px; text-align: left; }
table.metrics td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.metrics tr:nth-child(even) { background: #f7f7f7; }
div.plot { width: 100%; }
p.note { color: #555; font-size: 0.92em; margin-top: 0.3em; }
p.none { color: #777; font-size: 1.05em; padding: 1.2em; background: #f7f7f7; }
nav a { margin-right: 1em; }
"""
# Draws every plot of the page from the JSON beside it (runs once, after plotly.js).
DRAW = """
document.querySelectorAll("div.plot").forEach(function (div) {
  var spec = JSON.parse(document.getElementById(div.id + "-data").textContent);
  Plotly.newPlot(div, spec.data, spec.layout, {responsive: true, displaylogo: false});
});
"""

METRIC_NOTES = {
    "days": "trading days",
    "agents": "participants",
    "engine_messages": "orders, cancels, modifies into the engine",
    "volume_contracts": "contracts",
    "mean_spread_ticks": "ticks, when two-sided",
    "mean_top_depth_contracts": "contracts at best bid + best ask",
    "two_sided_fraction": "of book snapshots",
    "settlement_volatility_annual": "annualized, from daily settlements",
    "tracking_error_rms": "settlement vs index, relative",
    "guarantee_fund_used_usd": "$",
    "tick_usd": "$ per GPU-hour",
    "contract_unit": "GPU-hours per contract",
}
SKIP_METRICS = ("scenario", "question", "run_hash", "shocks")


def flat_metrics(summary: dict) -> dict[str, Any]:
    """The summary's metrics, nested dicts flattened to ``key.sub``."""
    out: dict[str, Any] = {}
    for k, v in summary.items():
        if k in SKIP_METRICS:
            continue
        if isinstance(v, dict):
            if not v:
                out[k] = "none"
            for sub, x in v.items():
                out[f"{k}.{sub}"] = x
        else:
            out[k] = v
    return out


def fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _metrics_table(summary: dict) -> str:
    rows = []
    for k, v in flat_metrics(summary).items():
        note = METRIC_NOTES.get(k, "")
        cls = ' class="num"' if is_num(v) else ""
        rows.append(
            f"<tr><th>{html.escape(k)}</th><td{cls}>{html.escape(fmt(v))}</td><td>{html.escape(note)}</td></tr>"
        )
    return (
        '<table class="metrics" id="metrics-table"><tr><th>metric</th><th>value</th><th>unit / note</th></tr>'
        + "".join(rows)
        + "</table>"
    )


def section(sid: str, title: str, plot: Any, note: str) -> str:
    """One ``<section>``: a heading, the plot (or the sentence saying why there is none) and a note."""
    if isinstance(plot, str):
        shown = f'<p class="none">{html.escape(plot)}</p>'
    else:
        spec = pio.to_json(plot, validate=False).replace("</", "<\\/")
        shown = (
            f'<div class="plot" id="plot-{sid}"></div>'
            f'<script type="application/json" id="plot-{sid}-data">{spec}</script>'
        )
    return f'<section id="{sid}"><h2>{html.escape(title)}</h2>{shown}<p class="note">{html.escape(note)}</p></section>'


def page(title: str, head: str, body: list[str]) -> str:
    """The whole page: plotly.js once, the sections, then the script that draws them."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        + head
        + "\n".join(body)
        + f"<script>{DRAW}</script></body></html>\n"
    )


MARKS_NOTE = (
    "Shaded on every plot over time: red, a kill switch or a halt; orange, the market makers' withdrawal; "
    "dotted lines, instants (an index move at a given time, a fat-finger order, a member's default). "
    "Drag to zoom into a day, double-click to zoom out; click a legend entry to hide it."
)

REPORT_PLOTS: list[tuple[str, str, Callable[[Run], Any], str]] = [
    (
        "prices",
        "Futures prices, settlements and the index",
        plots.plot_prices,
        "Lines: the mid of the best bid and ask of each series from the top-of-book snapshots (the last trade "
        "where the book is one-sided); diamonds: daily settlement prices; grey: the basket index as published "
        "intraday, dashed steps: its daily fixings. All in $ per GPU-hour; nights and weekends are left out.",
    ),
    (
        "intraday",
        "Each shock day, intraday",
        plots.plot_intraday,
        "One panel per day with a shock or a halt: the mids, every trade (dots) and the intraday index over "
        "that day's session.",
    ),
    (
        "liquidity",
        "Bid-ask spread and top-of-book depth",
        plots.plot_liquidity,
        "From the top-of-book snapshots: the spread in ticks when both sides are quoted, and the contracts "
        "resting at the best bid and best ask.",
    ),
    (
        "daily",
        "Daily volume and open interest",
        plots.plot_daily,
        "Contracts traded each day per series (stacked), and the open interest (sum of the long positions) "
        "at each day's end, from the positions table.",
    ),
    (
        "matrix",
        "Who trades with whom: maker × taker",
        plots.plot_matrix,
        "Contracts traded with the row's agent type resting (maker) and the column's aggressing (taker); "
        "the share of all volume under each count.",
    ),
    (
        "volume",
        "Volume by agent type",
        plots.plot_volume,
        "Contracts traded, from the trades table joined with the agents table on the maker's and the "
        "taker's account; the number of agents of each type in brackets.",
    ),
    (
        "inventory",
        "Market-maker inventory",
        plots.plot_inventory,
        "Each market maker's net position (contracts, summed over series) after each of its trades.",
    ),
    (
        "basis",
        "Basis against the expected final settlement",
        plots.plot_basis,
        "Mid minus the final settlement expected at that moment: the mean of the expiry month's fixings, those "
        "already fixed as fixed and the rest at the current (intraday) index, the index taken as a martingale "
        "(the monthly-average rule). In ticks; positive: the futures trade rich.",
    ),
    (
        "settlement",
        "Daily settlement prices and tiers",
        plots.plot_settlement,
        "Each day's settlement price per series; the marker says which tier of the settlement procedure "
        "set it (VWAP in the settlement window, mid at the close, or the previous settlement moved by the "
        "index change; a star is the final cash settlement).",
    ),
    (
        "margin",
        "Margin and defaults",
        plots.plot_margin,
        "The initial margin each agent type's accounts were required to hold at each settlement, and every "
        "margin call issued or met and every default, by account, at the time it happened.",
    ),
    (
        "pnl",
        "P&L by agent type",
        plots.plot_pnl,
        "Per settlement day, the variation margin each account received (realized plus change in unrealized "
        "P&L at the settlement price) accumulated, minus the fees it paid to date (rebates count as negative "
        "fees), summed over the agents of each type. Variation margin sums to zero across all accounts.",
    ),
    (
        "rejects",
        "Rejected orders over time",
        plots.plot_rejects,
        "Orders the exchange rejected, per hour and reason, from the event log's OrderRejected rows.",
    ),
    (
        "heatmap",
        "Order-book heatmap (front month)",
        plot_heatmap,
        "Visible depth at each price level of the front-month series, rebuilt from the event log's "
        "LevelChanged rows and sampled at the top-of-book snapshot times (log colour scale); the line is the mid.",
    ),
    (
        "funding",
        "Perpetual funding rates",
        plots.plot_funding,
        "The funding rate of each perpetual series at each funding interval, from funding.parquet.",
    ),
]
SECTIONS = tuple(sid for sid, _, _, _ in REPORT_PLOTS)


def marks_table(run: Run) -> str:
    """The shocks and halts of the run, as a table (times UTC)."""
    rows = []
    for m in marks(run):
        a, b = utc(m["start"]), utc(m["end"])
        rows.append(f"<tr><td>{html.escape(m['label'])}</td><td>{a}</td><td>{b if b != a else ''}</td></tr>")
    if not rows:
        return '<p class="note">No shocks and no trading halts in this run.</p>'
    return (
        '<table class="metrics" id="marks-table"><tr><th>what</th><th>from (UTC)</th><th>to</th></tr>'
        + "".join(rows)
        + "</table>"
    )


def utc(ns: int) -> str:
    """Nanoseconds since the epoch as ``YYYY-MM-DD HH:MM:SS``."""
    return str(np.datetime64(int(ns), "ns").astype("datetime64[s]")).replace("T", " ")


def report_html(run: Run) -> str:
    s = run.summary
    name = str(s.get("scenario", run.label))
    nav = "".join(
        f'<a href="#{sid}">{html.escape(t.split(" (")[0].split(":")[0])}</a>' for sid, t, _, _ in REPORT_PLOTS
    )
    head = (
        f"<h1>{html.escape(name)}</h1>"
        f'<p class="question">{html.escape(str(s.get("question") or "(no question stated)"))}</p>'
        f'<p class="meta">run directory {html.escape(str(run.path.resolve()))}'
        f" · seed {html.escape(fmt(s.get('seed')))}"
        f" · run hash <code>{html.escape(str(s.get('run_hash', '–'))[:16])}</code></p>"
        f'<nav><a href="#marks">Shocks</a><a href="#facts">Stylized facts</a>{nav}<a href="#metrics">Metrics</a></nav>'
    )
    body = [
        '<section id="marks"><h2>Shocks and halts</h2>'
        + marks_table(run)
        + f'<p class="note">{html.escape(MARKS_NOTE)}</p></section>',
        '<section id="facts"><h2>Stylized facts</h2>' + facts_html(measure_facts(run.path)) + "</section>",
    ]
    for sid, title, make, note in REPORT_PLOTS:
        body.append(section(sid, title, make(run), note))
    body.append('<section id="metrics"><h2>All metrics (summary.json)</h2>' + _metrics_table(s) + "</section>")
    return page(f"cfx report: {name}", head, body)


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``RUN_DIR/report.html`` (or ``out``); return its path."""
    run = load_run(run_dir)
    path = Path(out) if out else run.path / "report.html"
    check(path, "--out")
    write_page(path, report_html(run))
    return path


def write_page(path: Path, text: str) -> None:
    """Whole or not at all, through a symlink, never over a device (cfx.writes)."""
    write_atomic(path, text, "--out")
