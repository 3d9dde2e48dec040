"""`cfx report RUN_DIR` and `cfx compare RUN_A RUN_B`: a run directory as one HTML page.

The report is a single self-contained file (every plot an inline base64
PNG, no external links) that a researcher opens instead of reading Parquet:
the scenario's name and question, the key metrics of ``summary.json``, the
stylized facts with their targets (`cfx.facts`) and one plot per question a
market-structure researcher asks of a run:

- ``prices``: each series' mid (top-of-book snapshots; last trade where the
  book is one-sided), its daily settlement prices, and the basket index fixings;
- ``liquidity``: bid-ask spread and top-of-book depth over time;
- ``volume``: contracts traded by agent type, as maker and as taker;
- ``settlement``: daily settlement prices with the tier that set each;
- ``margin``: margin calls and defaults on a timeline;
- ``pnl``: cumulative P&L by agent type (variation margin minus fees);
- ``heatmap``: visible depth by price over time in the front month,
  rebuilt from the event log's ``LevelChanged`` rows.

`compare` puts two runs side by side: the metrics (A, B, B - A) and the
prices, spread, depth and settlement prices overlaid.

Money in the run tables is micro-$, prices are ticks, quantities are lots
(contracts); plots show $/GPU-hour, contracts and $. Floats only in plots.

Modules, one idea each:

- `cfx.report.load`: reading a run directory (the only module that knows
  the run tables' files and column names);
- `cfx.report.plots`: the plots of one run;
- `cfx.report.heatmap`: the front month's order-book heatmap;
- `cfx.report.page`: the report page and ``cfx report``;
- `cfx.report.compare`: the comparison page and ``cfx compare``.
"""

from cfx.report.compare import compare_html, write_compare
from cfx.report.heatmap import depth_grid, front_month, plot_heatmap
from cfx.report.load import Run, load_run, run_window, series_top
from cfx.report.page import SECTIONS, flat_metrics, report_html, write_report
from cfx.report.plots import (
    plot_liquidity,
    plot_margin,
    plot_pnl,
    plot_prices,
    plot_settlement,
    plot_volume,
    pnl_by_type,
    png,
    volume_by_type,
)

__all__ = [
    "SECTIONS", "Run", "compare_html", "depth_grid", "flat_metrics", "front_month", "load_run",
    "plot_heatmap", "plot_liquidity", "plot_margin", "plot_pnl", "plot_prices", "plot_settlement",
    "plot_volume", "pnl_by_type", "png", "report_html", "run_window", "series_top", "volume_by_type",
    "write_compare", "write_report",
]
