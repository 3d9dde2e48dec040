"""The report page: one self-contained HTML file per run (every plot an inline
base64 PNG, no external links), and ``cfx report``'s entry point."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable

from cfx.facts import facts_html
from cfx.facts import measure as measure_facts
from cfx.report.heatmap import plot_heatmap
from cfx.report.load import Run, load_run
from cfx.report.plots import plot_liquidity, plot_margin, plot_pnl, plot_prices, plot_settlement, plot_volume, png
from cfx.writes import check, write_atomic

SECTIONS = ("prices", "liquidity", "volume", "settlement", "margin", "pnl", "heatmap")


CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1150px;
       padding: 0 1em; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.question { font-size: 1.15em; font-style: italic; color: #444; }
.meta { color: #666; font-size: 0.9em; }
table.metrics { border-collapse: collapse; font-size: 0.92em; }
table.metrics td, table.metrics th { border: 1px solid #ddd; padding: 3px 10px; text-align: left; }
table.metrics td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.metrics tr:nth-child(even) { background: #f7f7f7; }
img { max-width: 100%; height: auto; display: block; }
p.note { color: #555; font-size: 0.92em; margin-top: 0.3em; }
nav a { margin-right: 1em; }
"""

METRIC_NOTES = {
    "days": "trading days", "agents": "participants", "engine_messages": "orders, cancels, modifies into the engine",
    "volume_contracts": "contracts", "mean_spread_ticks": "ticks, when two-sided",
    "mean_top_depth_contracts": "contracts at best bid + best ask", "two_sided_fraction": "of book snapshots",
    "settlement_volatility_annual": "annualized, from daily settlements",
    "tracking_error_rms": "settlement vs index, relative", "guarantee_fund_used_usd": "$",
    "tick_usd": "$ per GPU-hour", "contract_unit": "GPU-hours per contract",
}
SKIP_METRICS = ("scenario", "question", "run_hash")


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
        rows.append(f"<tr><th>{html.escape(k)}</th><td{cls}>{html.escape(fmt(v))}</td>"
                    f"<td>{html.escape(note)}</td></tr>")
    return ('<table class="metrics" id="metrics-table"><tr><th>metric</th><th>value</th><th>unit / note</th></tr>'
            + "".join(rows) + "</table>")


def section(sid: str, title: str, png: str, note: str) -> str:
    return (f'<section id="{sid}"><h2>{html.escape(title)}</h2>'
            f'<img alt="{html.escape(title)}" src="data:image/png;base64,{png}">'
            f'<p class="note">{html.escape(note)}</p></section>')


def page(title: str, head: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            + head + "\n".join(body) + "</body></html>\n")


def _render(make: Callable[[Run], Any], run: Run) -> str:
    fig = make(run)
    return png(fig)


REPORT_PLOTS: list[tuple[str, str, Callable[[Run], Any], str]] = [
    ("prices", "Futures prices, settlements and the index", plot_prices,
     "Lines: the mid of the best bid and ask of each series from the top-of-book snapshots (the last trade "
     "where the book is one-sided); diamonds: daily settlement prices; dashed steps and crosses: the basket "
     "index's daily fixings. All in $ per GPU-hour; gaps are nights and weekends."),
    ("liquidity", "Bid-ask spread and top-of-book depth", plot_liquidity,
     "From the top-of-book snapshots: the spread in ticks when both sides are quoted, and the contracts "
     "resting at the best bid and best ask."),
    ("volume", "Volume by agent type", plot_volume,
     "Contracts traded, from the trades table joined with the agents table on the maker's and the "
     "taker's account."),
    ("settlement", "Daily settlement prices and tiers", plot_settlement,
     "Each day's settlement price per series; the marker says which tier of the settlement procedure "
     "set it (VWAP in the settlement window, mid at the close, or the previous settlement moved by the "
     "index change; a star is the final cash settlement)."),
    ("margin", "Margin calls and defaults", plot_margin,
     "Every margin call issued or met and every default, by account, at the time it happened."),
    ("pnl", "P&L by agent type", plot_pnl,
     "Per settlement day, the variation margin each account received (realized plus change in unrealized "
     "P&L at the settlement price) accumulated, minus the fees it paid to date (rebates count as negative "
     "fees), summed over the agents of each type. Variation margin sums to zero across all accounts."),
    ("heatmap", "Order-book heatmap (front month)", plot_heatmap,
     "Visible depth at each price level of the front-month series, rebuilt from the event log's "
     "LevelChanged rows and sampled at the top-of-book snapshot times; the black line is the mid."),
]


def report_html(run: Run) -> str:
    s = run.summary
    name = str(s.get("scenario", run.label))
    head = (f"<h1>{html.escape(name)}</h1>"
            f'<p class="question">{html.escape(str(s.get("question") or "(no question stated)"))}</p>'
            f'<p class="meta">run directory {html.escape(str(run.path.resolve()))}'
            f' · seed {html.escape(fmt(s.get("seed")))}'
            f' · run hash <code>{html.escape(str(s.get("run_hash", "–"))[:16])}</code></p>'
            '<nav><a href="#facts">Stylized facts</a>' + "".join(f'<a href="#{sid}">{html.escape(t.split(" (")[0])}</a>' for sid, t, _, _ in REPORT_PLOTS)
            + "</nav>")
    body = ['<section id="metrics"><h2>Key metrics</h2>' + _metrics_table(s) + "</section>",
            '<section id="facts"><h2>Stylized facts</h2>' + facts_html(measure_facts(run.path)) + "</section>"]
    for sid, title, make, note in REPORT_PLOTS:
        body.append(section(sid, title, _render(make, run), note))
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
