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
(contracts); plots show $/GPU-hour, contracts and $. Floats only here.
Columns are read by their names in the files (docs/outputs.md) and held
here under short names without their unit suffix (`_short`: ``time`` as
``ts`` in int ns, ``price_ticks`` as ``price``, ``amount_usd_micro`` as
``amount``). A run written with ``[output] events`` other than ``full``
has no event log: its heatmap says so.
Plots are drawn with matplotlib's object API on the Agg canvas (no pyplot
state, no display needed).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cfx.errors import InputError
from cfx.facts import facts_html
from cfx.facts import measure as measure_facts
from cfx.tables import numpy_columns
from cfx.writes import check, write_atomic

MICRO = 1_000_000
NS_PER_S = 1_000_000_000
GAP_NS = 3600 * NS_PER_S  # a break in time-series lines longer than this (overnight) is not drawn across
HEATMAP_COLUMNS = 900  # at most this many time samples in the depth heatmap
HEATMAP_ROWS = 160  # at most this many price levels in the depth heatmap
MONTH_CODES = "FGHJKMNQUVXZ"
TIER_MARKERS = {"vwap": "o", "mid": "s", "index_moved": "^", "final": "*"}
TABLES = ("trades", "book_top", "fixings", "settlements", "accounts", "agents", "margin_calls", "defaults")
UNIT_SUFFIXES = ("_ticks", "_lots", "_usd_micro")
SECTIONS = ("prices", "liquidity", "volume", "settlement", "margin", "pnl", "heatmap")


# --------------------------------------------------------------------------- reading a run


@dataclass
class Run:
    """What the plots need from one run directory (not the event log: that is read on demand)."""

    path: Path
    summary: dict
    tick_usd: float
    trades: dict[str, np.ndarray]
    book_top: dict[str, np.ndarray]
    fixings: dict[str, np.ndarray]
    settlements: dict[str, np.ndarray]
    accounts: dict[str, np.ndarray]
    agents: dict[str, np.ndarray]
    margin_calls: dict[str, np.ndarray]
    defaults: dict[str, np.ndarray]
    label: str = ""
    agent_type: dict[int, str] = field(default_factory=dict)

    @property
    def series(self) -> list[str]:
        """Every series that has a book snapshot, a trade or a settlement, by expiry."""
        names = set(self.book_top["series"].tolist()) | set(self.trades["series"].tolist())
        names |= set(self.settlements["series"].tolist())
        return sorted(names, key=_expiry_key)


def _read(path: Path, name: str, columns: list[str] | None = None) -> dict[str, np.ndarray]:
    """A run table's ``columns`` (as the file names them) by their `_short` names."""
    file = path / f"{name}.parquet"
    if not file.is_file():
        raise InputError(f"{path}: missing {file.name} (is this a run directory written by `cfx run`?)")
    try:
        table = pq.read_table(file, columns=columns)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{file}: cannot read Parquet table: {e}") from None
    return {_short(k): v for k, v in numpy_columns(table).items()}


def _short(column: str) -> str:
    """The report's name for a file column: ``time`` -> ``ts``, units dropped."""
    if column == "time":
        return "ts"
    for suffix in UNIT_SUFFIXES:
        if column.endswith(suffix):
            return column[:-len(suffix)]
    return column


def load_run(run_dir: str | Path) -> Run:
    """Read a run directory's summary and small tables; `InputError` if it is not one."""
    path = Path(run_dir)
    if not path.is_dir():
        raise InputError(f"{path}: no such run directory")
    summary_file = path / "summary.json"
    if not summary_file.is_file():
        raise InputError(f"{path}: missing summary.json (is this a run directory written by `cfx run`?)")
    try:
        summary = json.loads(summary_file.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{summary_file}: not valid JSON: {e}") from None
    if not isinstance(summary, dict):
        raise InputError(f"{summary_file}: expected a JSON object")
    missing = [f"{t}.parquet" for t in TABLES if not (path / f"{t}.parquet").is_file()]
    if missing:
        raise InputError(f"{path}: missing {', '.join(missing)} (is this a run directory written by `cfx run`?)")
    run = Run(
        path=path,
        summary=summary,
        tick_usd=float(summary.get("tick_usd") or 0.01),
        trades=_read(path, "trades", ["time", "series", "price_ticks", "qty_lots", "maker_account", "taker_account"]),
        book_top=_read(path, "book_top"),
        fixings=_read(path, "fixings"),
        settlements=_read(path, "settlements"),
        accounts=_read(path, "accounts", ["date", "account", "variation_margin_usd_micro", "fees_total_usd_micro",
                                          "defaulted"]),
        agents=_read(path, "agents"),
        margin_calls=_read(path, "margin_calls", ["type", "time", "date", "account", "amount_usd_micro"]),
        defaults=_read(path, "defaults", ["type", "time", "date", "account"]),
        label=path.name or str(path),
    )
    run.agent_type = {int(a): str(t) for a, t in zip(run.agents["account"], run.agents["agent_type"])}
    events = path / "events.parquet"
    if events.is_file():  # absent when the run kept no event log ([output] events)
        try:
            pq.read_schema(events)
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"{events}: cannot read Parquet table: {e}") from None
    return run


def _expiry_key(series: str) -> tuple:
    """``HOP-H27`` sorts as (2027, 3, 'HOP'); anything unparseable sorts last by name."""
    root, _, code = series.rpartition("-")
    if len(code) >= 2 and code[0] in MONTH_CODES and code[1:].isdigit():
        return (2000 + int(code[1:]), MONTH_CODES.index(code[0]) + 1, root)
    return (9999, 99, series)


def _ts(ns: np.ndarray) -> np.ndarray:
    return np.asarray(ns, dtype="int64").astype("datetime64[ns]")


def _gapped(ts: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN where consecutive samples are more than `GAP_NS` apart, so
    lines do not run across nights and weekends."""
    ts = np.asarray(ts, dtype="int64")
    y = np.asarray(y, dtype=float)
    if len(ts) < 2:
        return _ts(ts), y
    breaks = np.nonzero(np.diff(ts) > GAP_NS)[0] + 1
    if len(breaks):
        ts = np.insert(ts, breaks, ts[breaks - 1] + 1)
        y = np.insert(y, breaks, np.nan)
    return _ts(ts), y


def _mask(d: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[keep] for k, v in d.items()}


def series_top(run: Run, series: str) -> dict[str, np.ndarray]:
    """One series' snapshots: ts, mid ($), spread ($), bid/ask depth (contracts)."""
    bt = _mask(run.book_top, run.book_top["series"] == series)
    bid = np.asarray(bt["bid"], dtype=float)
    ask = np.asarray(bt["ask"], dtype=float)
    last = np.asarray(bt["last"], dtype=float)
    two_sided = ~np.isnan(bid) & ~np.isnan(ask)
    mid = np.where(two_sided, (bid + ask) / 2, last) * run.tick_usd
    spread = np.where(two_sided, ask - bid, np.nan) * run.tick_usd
    return {"ts": np.asarray(bt["ts"], dtype="int64"), "mid": mid, "spread": spread,
            "bid_qty": np.asarray(bt["bid_qty"], dtype=float), "ask_qty": np.asarray(bt["ask_qty"], dtype=float)}


def run_window(run: Run) -> tuple[np.datetime64, np.datetime64] | None:
    """First and last simulated date (from settlements, else snapshots)."""
    if len(run.settlements["date"]):
        return run.settlements["date"].min(), run.settlements["date"].max()
    if len(run.book_top["ts"]):
        d = _ts(run.book_top["ts"]).astype("datetime64[D]")
        return d.min(), d.max()
    return None


# --------------------------------------------------------------------------- figures


def _figure(width: float = 11.0, height: float = 4.6, rows: int = 1, sharex: bool = False):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=sharex, squeeze=False)[:, 0]
    return fig, list(axes)


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _time_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=True))


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=13, color="0.35")
    ax.set_xticks([])
    ax.set_yticks([])


def _dollars(ax) -> None:
    from matplotlib.ticker import FuncFormatter

    def fmt(v, _pos):
        a = abs(v)
        if a >= 1e6:
            return f"{v / 1e6:,.1f}M"
        if a >= 1e3:
            return f"{v / 1e3:,.0f}k"
        return f"{v:,.0f}"

    ax.yaxis.set_major_formatter(FuncFormatter(fmt))


def _usd(v: float) -> str:
    return f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}"


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def plot_prices(run: Run) -> Any:
    fig, (ax,) = _figure(height=5.2)
    series = run.series
    if not series:
        _empty(ax, "no series traded or quoted in this run")
        ax.set_title("Futures prices, settlements and index")
        return fig
    for s, c in zip(series, _colors(len(series))):
        top = series_top(run, s)
        ok = ~np.isnan(top["mid"])
        if ok.any():
            ax.plot(*_gapped(top["ts"][ok], top["mid"][ok]), color=c, lw=1.5, label=f"{s} mid")
        st = _mask(run.settlements, run.settlements["series"] == s)
        if len(st["ts"]):
            ax.plot(_ts(st["ts"]), st["price"] * run.tick_usd, ls="none", marker="D", ms=6, mec="black",
                    mew=0.6, color=c, label=f"{s} settlement")
    window = run_window(run)
    fx = run.fixings
    baskets = run.summary.get("baskets") or sorted(set(fx["index"].tolist()))  # not the SKU and SKU.region indices
    for i, name in enumerate(baskets):
        f = _mask(fx, fx["index"] == name)
        order = np.argsort(f["date"])
        dates, values = f["date"][order], f["value"][order] / MICRO
        if window is not None:
            # the fixings that applied during the run: from the last one before it to its last day
            start = dates[dates <= window[0]]
            lo = start.max() if len(start) else window[0]
            keep = (dates >= lo) & (dates <= window[1])
            dates, values = dates[keep], values[keep]
        if not len(dates):
            continue
        # a fixing is published for its date; draw it from that day's midnight to the next fixing
        x = np.append(dates, dates[-1] + np.timedelta64(1, "D")).astype("datetime64[ns]")
        y = np.append(values, values[-1])
        ax.step(x, y, where="post", color="0.25", ls="--", lw=1.2, label=f"{name} index fixing")
        ax.plot(dates.astype("datetime64[ns]") + np.timedelta64(12, "h"), values, ls="none", marker="x",
                color="0.25", ms=6)
    ax.set_title("Futures prices (mid of best bid and ask), daily settlement prices and the basket index")
    ax.set_ylabel("$ per GPU-hour")
    ax.set_xlabel("time (UTC)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8)
    _time_axis(ax)
    return fig


def plot_liquidity(run: Run) -> Any:
    fig, (sp, dp) = _figure(height=6.4, rows=2, sharex=True)
    quoted = run.book_top["series"][(run.book_top["bid_qty"] > 0) | (run.book_top["ask_qty"] > 0)]
    series = [s for s in run.series if (quoted == s).any()]
    never = [s for s in run.series if s not in series and (run.book_top["series"] == s).any()]
    drawn = False
    for s, c in zip(series, _colors(len(series))):
        top = series_top(run, s)
        if not len(top["ts"]):
            continue
        drawn = True
        ok = ~np.isnan(top["spread"])
        if ok.any():
            sp.plot(*_gapped(top["ts"][ok], top["spread"][ok] / run.tick_usd), color=c, lw=0.8, label=s)
        dp.plot(*_gapped(top["ts"], top["bid_qty"]), color=c, lw=0.8, label=f"{s} bid")
        dp.plot(*_gapped(top["ts"], top["ask_qty"]), color=c, lw=0.8, ls=":", label=f"{s} ask")
    if not drawn:
        _empty(sp, "no top-of-book snapshots in this run")
        _empty(dp, "none")
    else:
        sp.set_title(f"Bid-ask spread (one tick = ${run.tick_usd:g} per GPU-hour; gaps: one-sided or closed book)")
        sp.set_ylabel("spread (ticks)")
        sp.set_ylim(bottom=0)
        sp.grid(alpha=0.3)
        sp.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8)
        dp.set_title("Top-of-book depth: contracts at the best bid (solid) and best ask (dotted)"
                     + (f"; never quoted: {', '.join(never)}" if never else ""))
        dp.set_ylabel("contracts")
        dp.set_xlabel("time (UTC)")
        dp.set_ylim(bottom=0)
        dp.grid(alpha=0.3)
        dp.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8)
        _time_axis(dp)
    return fig


def volume_by_type(run: Run) -> dict[str, tuple[int, int]]:
    """Contracts traded by agent type: (as maker, as taker); unknown accounts as 'account N'."""
    out: dict[str, list[int]] = {}
    tr = run.trades
    for role, col in ((0, "maker_account"), (1, "taker_account")):
        accounts, qty = tr[col].astype("int64"), tr["qty"].astype("int64")
        if not len(accounts):
            continue
        uniq, inv = np.unique(accounts, return_inverse=True)
        sums = np.bincount(inv, weights=qty)
        for a, q in zip(uniq.tolist(), sums.tolist()):
            name = run.agent_type.get(a, "other")
            out.setdefault(name, [0, 0])[role] += int(q)
    return {k: (v[0], v[1]) for k, v in sorted(out.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))}


def plot_volume(run: Run) -> Any:
    vol = volume_by_type(run)
    fig, (ax,) = _figure(height=max(3.2, 0.5 * len(vol) + 1.6) if vol else 2.2)
    if not vol:
        _empty(ax, "no trades in this run")
        ax.set_title("Volume by agent type")
        return fig
    names = list(vol)[::-1]
    maker = np.array([vol[n][0] for n in names])
    taker = np.array([vol[n][1] for n in names])
    y = np.arange(len(names))
    ax.barh(y, maker, color="tab:blue", label="as maker (resting order filled)")
    ax.barh(y, taker, left=maker, color="tab:orange", label="as taker (aggressing order)")
    for yi, m, t in zip(y, maker, taker):
        ax.text(m + t, yi, f" {m + t:,}", va="center", fontsize=8)
    ax.set_yticks(y, [f"{n} ({int((run.agents['agent_type'] == n).sum())})" for n in names])
    ax.set_xlabel("contracts traded (each trade counts once for the maker and once for the taker)")
    ax.set_xlim(right=(maker + taker).max() * 1.12 or 1)
    ax.set_title("Volume by agent type (number of agents in brackets)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_settlement(run: Run) -> Any:
    fig, (ax,) = _figure(height=4.6)
    st = run.settlements
    series = sorted(set(st["series"].tolist()), key=_expiry_key)
    if not series:
        _empty(ax, "no settlement prices in this run")
        ax.set_title("Daily settlement prices by tier")
        return fig
    from matplotlib.lines import Line2D

    handles = []
    for s, c in zip(series, _colors(len(series))):
        r = _mask(st, st["series"] == s)
        order = np.argsort(r["date"], kind="stable")
        dates = r["date"][order].astype("datetime64[ns]")
        price = r["price"][order] * run.tick_usd
        ax.plot(dates, price, color=c, lw=1.0, alpha=0.7)
        for tier, marker in TIER_MARKERS.items():
            k = r["tier"][order] == tier
            if k.any():
                ax.plot(dates[k], price[k], ls="none", marker=marker, ms=8 if tier != "final" else 13,
                        color=c, mec="black", mew=0.6)
        handles.append(Line2D([], [], color=c, lw=1.5, label=s))
    tiers_seen = set(st["tier"].tolist())
    for tier, marker in TIER_MARKERS.items():
        if tier in tiers_seen:
            label = {"vwap": "VWAP of the settlement window", "mid": "mid at the close",
                     "index_moved": "previous settlement + index change", "final": "final settlement"}[tier]
            handles.append(Line2D([], [], ls="none", marker=marker, color="0.6", mec="black", ms=8, label=label))
    for t in sorted(tiers_seen - set(TIER_MARKERS)):
        handles.append(Line2D([], [], ls="none", marker="P", color="0.6", label=t))
    ax.set_title("Daily settlement prices; the marker shows the tier that set each price")
    ax.set_ylabel("$ per GPU-hour")
    ax.set_xlabel("settlement date")
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8)
    _time_axis(ax)
    if len(set(st["date"].tolist())) == 1:
        d = st["date"][0].astype("datetime64[ns]")
        ax.set_xlim(d - np.timedelta64(1, "D"), d + np.timedelta64(1, "D"))
    return fig


def plot_margin(run: Run) -> Any:
    mc, df = run.margin_calls, run.defaults
    accounts = sorted(set(mc["account"].astype("int64").tolist()) | set(df["account"].astype("int64").tolist()))
    fig, (ax,) = _figure(height=max(3.0, 0.35 * len(accounts) + 2.0) if accounts else 2.2)
    if not accounts:
        _empty(ax, "none: no margin calls and no defaults in this run")
        ax.set_title("Margin calls and defaults")
        return fig
    row = {a: i for i, a in enumerate(accounts)}
    styles = {"MarginCallIssued": ("v", "tab:orange", "margin call issued (size: amount)"),
              "MarginCallMet": ("o", "tab:green", "margin call met"),
              "AccountDefaulted": ("X", "tab:red", "account defaulted"),
              "DefaultLossCovered": ("s", "none", "default loss covered (waterfall)")}
    big = max([1.0] + [float(a) for a in mc["amount"]])
    for table in (mc, df):
        for kind in sorted(set(table["type"].tolist())):
            k = table["type"] == kind
            marker, color, label = styles.get(kind, ("P", "tab:purple", kind))
            ys = [row[int(a)] for a in table["account"][k]]
            size = 60.0
            if kind == "MarginCallIssued":
                size = 30 + 250 * np.sqrt(np.asarray(table["amount"][k], dtype=float) / big)
            elif kind == "DefaultLossCovered":
                size = 220.0  # an open square around the default's cross
            ax.scatter(_ts(table["ts"][k]), ys, marker=marker, s=size, facecolors=color, label=label,
                       edgecolors="black", linewidths=1.0 if color == "none" else 0.5,
                       zorder=4 if kind == "AccountDefaulted" else 3)
    labels = [f"{run.agent_type.get(a, '?')} (account {a})" for a in accounts]
    ax.set_yticks(range(len(accounts)), labels)
    ax.set_ylim(-0.7, len(accounts) - 0.3)
    total = float(np.sum(mc["amount"][mc["type"] == "MarginCallIssued"])) / MICRO if len(mc["type"]) else 0.0
    ax.set_title(f"Margin calls and defaults ({int((mc['type'] == 'MarginCallIssued').sum())} calls, "
                 f"${total:,.0f} called; {int((df['type'] == 'AccountDefaulted').sum())} defaults)")
    ax.set_xlabel("time (UTC)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8)
    _time_axis(ax)
    window = run_window(run)
    if window is not None:
        ax.set_xlim(window[0].astype("datetime64[ns]"), (window[1] + np.timedelta64(1, "D")).astype("datetime64[ns]"))
    return fig


def pnl_by_type(run: Run) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Dates and, per agent type, cumulative variation margin minus cumulative fees ($)."""
    ac = run.accounts
    dates = np.unique(ac["date"])
    if not len(dates):
        return dates, {}
    di = np.searchsorted(dates, ac["date"])
    accounts = ac["account"].astype("int64")
    types = np.array([run.agent_type.get(int(a), "other") for a in accounts], dtype=object)
    out = {}
    for t in sorted(set(types.tolist())):
        k = types == t
        vm = np.bincount(di[k], weights=ac["variation_margin"][k].astype(float), minlength=len(dates))
        fees = np.bincount(di[k], weights=ac["fees_total"][k].astype(float), minlength=len(dates))
        out[t] = (np.cumsum(vm) - fees) / MICRO  # fees_total is already cumulative
    return dates, out


def plot_pnl(run: Run) -> Any:
    fig, (ax,) = _figure(height=4.8)
    dates, pnl = pnl_by_type(run)
    if not pnl:
        _empty(ax, "no account statements in this run")
        ax.set_title("P&L by agent type")
        return fig
    x = dates.astype("datetime64[ns]")
    for (t, y), c in zip(sorted(pnl.items(), key=lambda kv: -abs(kv[1][-1])), _colors(len(pnl))):
        ax.plot(x, y, marker="o", ms=4, color=c, label=f"{t}: {_usd(y[-1])}")
    ax.axhline(0, color="0.4", lw=0.7)
    ax.set_title("Cumulative P&L by agent type, net of fees (variation margin received - fees paid)")
    ax.set_ylabel("$ (summed over the type's accounts)")
    ax.set_xlabel("settlement date")
    _dollars(ax)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8, title="type: P&L at the end")
    _time_axis(ax)
    if len(dates) == 1:
        ax.set_xlim(x[0] - np.timedelta64(1, "D"), x[0] + np.timedelta64(1, "D"))
    return fig


def front_month(run: Run) -> str | None:
    """The earliest-expiring series that was quoted; among equals, the most traded."""
    bt = run.book_top
    quoted = [s for s in run.series if ((bt["series"] == s) & ~np.isnan(np.asarray(bt["bid"], dtype=float))).any()
              or ((bt["series"] == s) & ~np.isnan(np.asarray(bt["ask"], dtype=float))).any()]
    if not quoted:
        return None
    vol = run.summary.get("volume_by_series") or {}
    first = _expiry_key(quoted[0])[:2]
    same = [s for s in quoted if _expiry_key(s)[:2] == first]
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
    ts, side, price, qty = _level_changes(events, series)
    if not len(ts):
        return None
    # the price window: what the best bid and ask visited, plus a margin, at most HEATMAP_ROWS ticks
    bt = _mask(run.book_top, run.book_top["series"] == series)
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


def _level_changes(path: Path, series: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ts, is-bid, price, qty of one series' ``LevelChanged`` events, in event order.

    Streams the event log in batches of six columns and keeps only the
    matching rows, so peak memory is one batch plus the result."""
    import pyarrow.compute as pc

    parts: list[pa.RecordBatch] = []
    try:
        f = pq.ParquetFile(path)
        columns = ["type", "series", "time", "side", "price_ticks", "qty_lots"]
        for batch in f.iter_batches(batch_size=65_536, columns=columns):
            text = lambda n: batch.column(n).cast(pa.string())  # noqa: E731  (dictionary-encoded)
            keep = pc.and_(pc.equal(text("type"), "LevelChanged"), pc.equal(text("series"), series))
            sub = batch.filter(keep)
            if sub.num_rows:
                parts.append(pa.record_batch([pc.equal(sub.column("side").cast(pa.string()), "buy"),
                                              sub.column("time").cast(pa.int64()), sub.column("price_ticks"),
                                              sub.column("qty_lots")],
                                             names=["bid", "ts", "price", "qty"]))
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{path}: cannot read Parquet table: {e}") from None
    if not parts:
        empty = np.zeros(0, dtype="int64")
        return empty, np.zeros(0, dtype=bool), empty, empty
    t = pa.Table.from_batches(parts)
    col = lambda n, d: t.column(n).to_numpy(zero_copy_only=False).astype(d)  # noqa: E731
    return col("ts", "int64"), col("bid", bool), col("price", "int64"), col("qty", "int64")


def _session_ticks(grid: np.ndarray) -> tuple[list[int], list[str]]:
    """Tick positions and labels for a time axis of sample indices with the
    overnight gaps removed: every day's first sample, and hours within a
    short run."""
    times = _ts(grid).astype("datetime64[s]").astype(dt.datetime)
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
    fig, (ax,) = _figure(height=5.6)
    series = front_month(run)
    data = depth_grid(run, series) if series else None
    if data is None:
        _empty(ax, "no order book to show: no resting orders in this run" if (run.path / "events.parquet").is_file()
               else "no order book to show: the run kept no event log ([output] events)")
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
    days = _ts(data["grid"]).astype("datetime64[D]")
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


# --------------------------------------------------------------------------- HTML

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


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _metrics_table(summary: dict) -> str:
    rows = []
    for k, v in flat_metrics(summary).items():
        note = METRIC_NOTES.get(k, "")
        cls = ' class="num"' if _is_num(v) else ""
        rows.append(f"<tr><th>{html.escape(k)}</th><td{cls}>{html.escape(_fmt(v))}</td>"
                    f"<td>{html.escape(note)}</td></tr>")
    return ('<table class="metrics" id="metrics-table"><tr><th>metric</th><th>value</th><th>unit / note</th></tr>'
            + "".join(rows) + "</table>")


def _section(sid: str, title: str, png: str, note: str) -> str:
    return (f'<section id="{sid}"><h2>{html.escape(title)}</h2>'
            f'<img alt="{html.escape(title)}" src="data:image/png;base64,{png}">'
            f'<p class="note">{html.escape(note)}</p></section>')


def _page(title: str, head: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            + head + "\n".join(body) + "</body></html>\n")


def _render(make: Callable[[Run], Any], run: Run) -> str:
    fig = make(run)
    return _png(fig)


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
            f' · seed {html.escape(_fmt(s.get("seed")))}'
            f' · run hash <code>{html.escape(str(s.get("run_hash", "–"))[:16])}</code></p>'
            '<nav><a href="#facts">Stylized facts</a>' + "".join(f'<a href="#{sid}">{html.escape(t.split(" (")[0])}</a>' for sid, t, _, _ in REPORT_PLOTS)
            + "</nav>")
    body = ['<section id="metrics"><h2>Key metrics</h2>' + _metrics_table(s) + "</section>",
            '<section id="facts"><h2>Stylized facts</h2>' + facts_html(measure_facts(run.path)) + "</section>"]
    for sid, title, make, note in REPORT_PLOTS:
        body.append(_section(sid, title, _render(make, run), note))
    return _page(f"cfx report: {name}", head, body)


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``RUN_DIR/report.html`` (or ``out``); return its path."""
    run = load_run(run_dir)
    path = Path(out) if out else run.path / "report.html"
    check(path, "--out")
    _write(path, report_html(run))
    return path


def _write(path: Path, text: str) -> None:
    """Whole or not at all, through a symlink, never over a device (cfx.writes)."""
    write_atomic(path, text, "--out")


# --------------------------------------------------------------------------- compare


RUN_COLORS = ("tab:blue", "tab:red")  # A, B
SERIES_STYLES = ["-", "--", ":", "-."]


def _overlay(runs: list[Run], title: str, ylabel: str, value: Callable[[Run, str], tuple[np.ndarray, np.ndarray]],
             what: str) -> Any:
    fig, (ax,) = _figure(height=4.8)
    series = sorted({s for r in runs for s in r.series}, key=_expiry_key)
    drawn = False
    for s, ls in zip(series, SERIES_STYLES * len(series)):
        for r, c, tag in zip(runs, RUN_COLORS, ("A", "B")):
            ts, y = value(r, s)
            ok = ~np.isnan(y)
            if ok.any():
                drawn = True
                ax.plot(*_gapped(ts[ok], y[ok]), color=c, ls=ls, lw=1.1, alpha=0.8, label=f"{tag}: {s}")
    if not drawn:
        _empty(ax, f"no {what} in either run")
    else:
        ax.set_ylabel(ylabel)
        ax.set_xlabel("time (UTC)")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8)
        _time_axis(ax)
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
    fig, (ax,) = _figure(height=4.6)
    series = sorted({s for r in runs for s in r.settlements["series"].tolist()}, key=_expiry_key)
    if not series:
        _empty(ax, "no settlement prices in either run")
    for s, ls in zip(series, SERIES_STYLES * len(series)):
        for r, c, tag in zip(runs, RUN_COLORS, ("A", "B")):
            st = _mask(r.settlements, r.settlements["series"] == s)
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
        _time_axis(ax)
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
        if _is_num(va) and _is_num(vb):
            d = vb - va
            diff = _fmt(round(d, 6) if isinstance(d, float) else d)
            if d > 0:
                diff = "+" + diff
            rel = f"{d / va:+.1%}" if va and d else ""
        changed = ' style="background:#fff3cd"' if va != vb else ""
        rows.append(f"<tr{changed}><th>{html.escape(k)}</th>"
                    + "".join(f'<td class="num">{html.escape(x)}</td>' for x in (_fmt(va), _fmt(vb), diff, rel))
                    + "</tr>")
    return ('<table class="metrics" id="metrics-table"><tr><th>metric</th><th>A</th><th>B</th>'
            "<th>B − A</th><th>relative</th></tr>" + "".join(rows) + "</table>")


def compare_html(a: Run, b: Run) -> str:
    def who(tag: str, r: Run) -> str:
        s = r.summary
        return (f"<li><b>{tag}</b>: {html.escape(str(s.get('scenario', r.label)))} — "
                f"{html.escape(str(r.path.resolve()))} (seed {html.escape(_fmt(s.get('seed')))}, "
                f"{html.escape(_fmt(s.get('days')))} days)<br><i>{html.escape(str(s.get('question') or ''))}</i></li>")

    head = (f"<h1>Compare: {html.escape(str(a.summary.get('scenario', a.label)))} (A) vs "
            f"{html.escape(str(b.summary.get('scenario', b.label)))} (B)</h1><ul>{who('A', a)}{who('B', b)}</ul>")
    body = ['<section id="metrics"><h2>Key metrics</h2>'
            '<p class="note">Changed rows are highlighted; B − A and B / A − 1 for numbers.</p>'
            + _compare_table(a, b) + "</section>"]
    for sid, title, make, note in COMPARE_PLOTS:
        body.append(_section(sid, title, _png(make([a, b])), note))
    return _page("cfx compare", head, body)


def write_compare(run_a: str | Path, run_b: str | Path, out: str | Path | None = None) -> Path:
    """Write the comparison page to ``out`` (default ``RUN_B/compare.html``); return its path."""
    a, b = load_run(run_a), load_run(run_b)
    a.label, b.label = f"A: {a.label}", f"B: {b.label}"
    path = Path(out) if out else b.path / "compare.html"
    check(path, "--out")
    _write(path, compare_html(a, b))
    return path
