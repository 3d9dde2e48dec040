"""What `cfx hedge` writes and prints: the daily series (Parquet and CSV),
`summary.json`, three PNG plots, and the policy comparison as a rich table.

Files in ``--out DIR``:

- ``daily.parquet`` / ``daily.csv``: one row per (date, policy), columns
  `DAILY_COLUMNS`; ``*_micro`` exact integers, ``*_usd`` and ``hedge_ratio``
  floats. ``funding_micro`` is the perpetual hedge's funding received (+)
  or paid (-) that day, already in ``futures_pnl_micro``; 0 when the hedge
  holds monthly futures.
- ``summary.json``: inputs, settings and `PolicyResult.summary()` per policy
  (no timestamps: the same inputs and seed give the same bytes).
- ``cumulative_pnl.png``, ``hedge_ratio.png``, ``basis.png``.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from cfx import writes
from cfx.hedge.backtest import MICRO, HedgeConfig, PolicyResult
from cfx.hedge.book import Forward
from cfx.hedge.market import Market

DAILY_COLUMNS = (
    "date",
    "policy",
    "forward_pnl_micro",
    "futures_pnl_micro",
    "funding_micro",
    "hedged_pnl_micro",
    "execution_micro",
    "fees_micro",
    "financing_micro",
    "net_pnl_micro",
    "cum_net_pnl_micro",
    "basis_pnl_usd",
    "residual_pnl_usd",
    "contracts_held",
    "contracts_traded",
    "initial_margin_micro",
    "hedge_ratio",
)


def daily_columns(results: dict[str, PolicyResult]) -> dict[str, list]:
    cols: dict[str, list] = {c: [] for c in DAILY_COLUMNS}
    for name, r in results.items():
        n = len(r.dates)
        hedged = r.hedged_micro
        net = r.net_micro
        cols["date"] += r.dates
        cols["policy"] += [name] * n
        cols["forward_pnl_micro"] += r.forward_micro.tolist()
        cols["futures_pnl_micro"] += r.futures_micro.tolist()
        cols["funding_micro"] += r.funding_micro.tolist() if r.funding_micro is not None else [0] * n
        cols["hedged_pnl_micro"] += hedged.tolist()
        cols["execution_micro"] += r.execution_micro.tolist()
        cols["fees_micro"] += r.fees_micro.tolist()
        cols["financing_micro"] += r.financing_micro.tolist()
        cols["net_pnl_micro"] += net.tolist()
        cols["cum_net_pnl_micro"] += np.cumsum(net).tolist()
        cols["basis_pnl_usd"] += r.basis_usd.tolist()
        resid = hedged.astype(float) / MICRO - r.basis_usd if name != "unhedged" else np.zeros(n)
        cols["residual_pnl_usd"] += resid.tolist()
        cols["contracts_held"] += r.contracts_held.tolist()
        cols["contracts_traded"] += r.contracts_traded.tolist()
        cols["initial_margin_micro"] += r.margin_micro.tolist()
        cols["hedge_ratio"] += [None if np.isnan(x) else float(x) for x in r.hedge_ratio]
    return cols


def write_daily(out: Path, results: dict[str, PolicyResult]) -> None:
    cols = daily_columns(results)
    schema = pa.schema(
        [("date", pa.date32()), ("policy", pa.string())]
        + [(c, pa.float64() if c.endswith("_usd") or c == "hedge_ratio" else pa.int64()) for c in DAILY_COLUMNS[2:]]
    )
    with writes.atomic(out / "daily.parquet") as f:
        pq.write_table(pa.table(cols, schema=schema), f)
    with writes.atomic(out / "daily.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(DAILY_COLUMNS)
        for row in zip(*(cols[c] for c in DAILY_COLUMNS)):
            w.writerow(
                [
                    v.isoformat()
                    if isinstance(v, dt.date)
                    else ("" if v is None else (f"{v:.6f}" if isinstance(v, float) else v))
                    for v in row
                ]
            )


def _usd(micro: int) -> str:
    return f"{micro / MICRO:,.0f}"


def comparison_table(results: dict[str, PolicyResult], title: str = "") -> Table:
    """The policies side by side (one row each)."""
    t = Table(title=title or "Hedge policies compared", title_justify="left")
    for name, justify in [
        ("policy", "left"),
        ("effect.", "right"),
        ("net of costs", "right"),
        ("σ/day $", "right"),
        ("net P&L $", "right"),
        ("basis $", "right"),
        ("residual $", "right"),
        ("exec $", "right"),
        ("fees $", "right"),
        ("financing $", "right"),
        ("peak IM $", "right"),
        ("traded", "right"),
    ]:
        t.add_column(name, justify=justify, no_wrap=True)
    for name, r in results.items():
        s = r.summary()
        t.add_row(
            name,
            f"{s['effectiveness']:.3f}",
            f"{s['effectiveness_net']:.3f}",
            f"{s['daily_sd_usd']:,.0f}",
            _usd(s["net_pnl_micro"]),
            f"{s['basis_pnl_usd']:,.0f}",
            f"{s['residual_pnl_usd']:,.0f}",
            _usd(s["execution_micro"]),
            _usd(s["fees_micro"]),
            _usd(s["financing_micro"]),
            _usd(s["peak_margin_micro"]),
            f"{s['contracts_traded']:,}",
        )
    return t


def _save(fig, path: Path) -> None:
    """A figure as a PNG file, written whole or not at all (as every cfx output)."""
    with writes.atomic(path) as f:
        fig.savefig(f, format="png", dpi=100)


def write_plots(out: Path, results: dict[str, PolicyResult], market: Market, forwards: list[Forward]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    any_r = next(iter(results.values()))
    dates = any_r.dates

    fig, ax = plt.subplots(figsize=(10, 5))
    for name, r in results.items():
        ax.plot(dates, np.cumsum(r.net_micro) / MICRO, label=f"{name} (net of costs)")
    ax.set_title("Cumulative daily P&L of the book")
    ax.set_ylabel("$")
    ax.axhline(0, color="grey", lw=0.5)
    ax.legend()
    fig.autofmt_xdate()
    paths.append(out / "cumulative_pnl.png")
    _save(fig, paths[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 5))
    for name, r in results.items():
        if name != "unhedged":
            ax.plot(dates, r.hedge_ratio, label=name)
    ax.set_title("Hedge ratio: -(futures delta) / (forward delta), GPU-hours")
    ax.axhline(1, color="grey", lw=0.5)
    ax.legend()
    fig.autofmt_xdate()
    paths.append(out / "hedge_ratio.png")
    _save(fig, paths[-1])
    plt.close(fig)

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 8), sharex=True)
    for f in forwards:
        if f.basket in market.perpetual:  # hedged with the run's perpetual: the basis to its mark
            hedge = market.perpetual[f.basket]
            s, fut = hedge.series, hedge.marks * hedge.series.tick_micro
        else:
            s = market.series(f.basket, f.delivery_start.year, f.delivery_start.month)
            fut = market.curve.prices(s) * s.tick_micro
        top.plot(dates, (market.ref[f.id] - fut) / MICRO, lw=0.8, label=f"{f.id}: {f.sku} vs {s.symbol}")
    top.set_title("Basis: forward's reference price - its delivery-month future ($/GPU-h)")
    top.axhline(0, color="grey", lw=0.5)
    top.legend(fontsize=7, ncol=2)
    hedged = [r for n, r in results.items() if n != "unhedged"]
    if hedged:
        bottom.plot(dates, np.cumsum(hedged[0].basis_usd), color="tab:red", label="basis P&L")
        for r in hedged:
            resid = np.cumsum(r.hedged_micro / MICRO - r.basis_usd)
            bottom.plot(dates, resid, lw=0.8, label=f"residual P&L, {r.policy}")
    bottom.set_title("Cumulative basis P&L (any 1:1 hedge in the mapped future) and residual per policy ($)")
    bottom.axhline(0, color="grey", lw=0.5)
    bottom.legend(fontsize=8)
    fig.autofmt_xdate()
    paths.append(out / "basis.png")
    _save(fig, paths[-1])
    plt.close(fig)
    return paths


def summary_doc(
    results: dict[str, PolicyResult], market: Market, forwards: list[Forward], cfg: HedgeConfig, inputs: dict
) -> dict:
    return {
        "inputs": inputs,
        "settings": msgspec.to_builtins(cfg),
        "period": {
            "first": market.dates[0].isoformat(),
            "last": market.dates[-1].isoformat(),
            "days": len(market.dates),
        },
        "book": {
            "forwards": len(forwards),
            "gpu_hours_long": sum(f.gpu_hours for f in forwards if f.side > 0),
            "gpu_hours_short": sum(f.gpu_hours for f in forwards if f.side < 0),
        },
        "source": market.source,
        "policies": {name: r.summary() for name, r in results.items()},
    }


def write_outputs(out: Path, results, market, forwards, cfg, inputs) -> dict:
    """Write every output file; returns the summary (as summary.json holds it)."""
    out.mkdir(parents=True, exist_ok=True)
    write_daily(out, results)
    doc = summary_doc(results, market, forwards, cfg, inputs)
    writes.write_atomic(out / "summary.json", msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n")
    write_plots(out, results, market, forwards)
    return doc


def print_table(out: Path, results, market, forwards, console: Console | None = None) -> None:
    """The policy comparison for people: the rich table and what was written."""
    console = console or Console()
    if not console.is_terminal:
        console.width = max(console.width, 200)
    title = (
        f"cfx hedge: {len(forwards)} forwards, {market.dates[0]} to {market.dates[-1]} "
        f"({len(market.dates)} business days), prices from {market.source}"
    )
    console.print(comparison_table(results, title))
    console.print(
        f"effectiveness = 1 - Var(hedged daily P&L) / Var(unhedged); wrote {out}/daily.parquet, daily.csv, "
        "summary.json, cumulative_pnl.png, hedge_ratio.png, basis.png"
    )
