"""`cfx report RUN_DIR` and `cfx compare RUN_A RUN_B`: a run directory as one HTML page.

The report is a single self-contained file (plotly.js inlined once, each
plot's data as JSON beside it, no external links) that a researcher opens
instead of reading Parquet: the scenario's name and question, the key
metrics of ``summary.json``, the run's shocks and halts, the stylized facts
with their targets (`cfx.facts`) and one interactive plot per question a
market-structure researcher asks of a run (`cfx.report.page.REPORT_PLOTS`):
prices and the index, an intraday panel per shock day, spread and depth,
daily volume and open interest, the maker × taker matrix of agent types,
volume by type, market-maker inventory, the basis against the expected
final settlement, settlement tiers, margin, P&L, rejects over time, the
front month's order-book heatmap and perpetual funding. Every plot over
time marks the shocks, halts, kill switches and withdrawal windows.

`compare` puts two runs side by side: the metrics (A, B, B - A) and the
prices, spread, depth, settlement prices, index, P&L and margin overlaid.

Money in the run tables is micro-$, prices are ticks, quantities are lots
(contracts); plots show $/GPU-hour, contracts and $. Floats only in plots.

Modules, one idea each:

- `cfx.report.load`: reading a run directory and what the plots measure
  from it (the only module that knows the run tables' files and columns);
- `cfx.report.chart`: Plotly helpers: trading-time axes, gaps, the marks;
- `cfx.report.plots`: the plots of one run;
- `cfx.report.heatmap`: the front month's order-book heatmap;
- `cfx.report.page`: the report page and ``cfx report``;
- `cfx.report.compare`: the comparison page and ``cfx compare``.
"""

from cfx.report.compare import compare_html, write_compare
from cfx.report.heatmap import depth_grid, front_month, plot_heatmap
from cfx.report.load import Run, load_run, run_window, series_top
from cfx.report.page import REPORT_PLOTS, SECTIONS, flat_metrics, report_html, write_report
from cfx.report.plots import pnl_by_type, volume_by_type

__all__ = [
    "REPORT_PLOTS",
    "SECTIONS",
    "Run",
    "compare_html",
    "depth_grid",
    "flat_metrics",
    "front_month",
    "load_run",
    "plot_heatmap",
    "pnl_by_type",
    "report_html",
    "run_window",
    "series_top",
    "volume_by_type",
    "write_compare",
    "write_report",
]
