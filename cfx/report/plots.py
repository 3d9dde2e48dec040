"""The plots of one run, each a matplotlib figure drawn with the object API on
the Agg canvas (no pyplot state, no display needed); `png` turns one into
base64 for the page. Floats only here: $/GPU-hour, contracts and $.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from cfx.report.load import MICRO, NS_PER_S, Run, as_datetime, expiry_key, run_window, select, series_top

GAP_NS = 3600 * NS_PER_S  # a break in time-series lines longer than this (overnight) is not drawn across
TIER_MARKERS = {"vwap": "o", "mid": "s", "index_moved": "^", "final": "*"}

def gapped(ts: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN where consecutive samples are more than `GAP_NS` apart, so
    lines do not run across nights and weekends."""
    ts = np.asarray(ts, dtype="int64")
    y = np.asarray(y, dtype=float)
    if len(ts) < 2:
        return as_datetime(ts), y
    breaks = np.nonzero(np.diff(ts) > GAP_NS)[0] + 1
    if len(breaks):
        ts = np.insert(ts, breaks, ts[breaks - 1] + 1)
        y = np.insert(y, breaks, np.nan)
    return as_datetime(ts), y



# --------------------------------------------------------------------------- figures


def figure(width: float = 11.0, height: float = 4.6, rows: int = 1, sharex: bool = False):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=sharex, squeeze=False)[:, 0]
    return fig, list(axes)


def png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def time_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=True))


def draw_empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=13, color="0.35")
    ax.set_xticks([])
    ax.set_yticks([])


def dollar_axis(ax) -> None:
    from matplotlib.ticker import FuncFormatter

    def fmt(v, _pos):
        a = abs(v)
        if a >= 1e6:
            return f"{v / 1e6:,.1f}M"
        if a >= 1e3:
            return f"{v / 1e3:,.0f}k"
        return f"{v:,.0f}"

    ax.yaxis.set_major_formatter(FuncFormatter(fmt))


def usd(v: float) -> str:
    return f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}"


def colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def plot_prices(run: Run) -> Any:
    fig, (ax,) = figure(height=5.2)
    series = run.series
    if not series:
        draw_empty(ax, "no series traded or quoted in this run")
        ax.set_title("Futures prices, settlements and index")
        return fig
    for s, c in zip(series, colors(len(series))):
        top = series_top(run, s)
        ok = ~np.isnan(top["mid"])
        if ok.any():
            ax.plot(*gapped(top["ts"][ok], top["mid"][ok]), color=c, lw=1.5, label=f"{s} mid")
        st = select(run.settlements, run.settlements["series"] == s)
        if len(st["ts"]):
            ax.plot(as_datetime(st["ts"]), st["price"] * run.tick_usd, ls="none", marker="D", ms=6, mec="black",
                    mew=0.6, color=c, label=f"{s} settlement")
    window = run_window(run)
    fx = run.fixings
    baskets = run.summary.get("baskets") or sorted(set(fx["index"].tolist()))  # not the SKU and SKU.region indices
    for i, name in enumerate(baskets):
        f = select(fx, fx["index"] == name)
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
    time_axis(ax)
    return fig


def plot_liquidity(run: Run) -> Any:
    fig, (sp, dp) = figure(height=6.4, rows=2, sharex=True)
    quoted = run.book_top["series"][(run.book_top["bid_qty"] > 0) | (run.book_top["ask_qty"] > 0)]
    series = [s for s in run.series if (quoted == s).any()]
    never = [s for s in run.series if s not in series and (run.book_top["series"] == s).any()]
    drawn = False
    for s, c in zip(series, colors(len(series))):
        top = series_top(run, s)
        if not len(top["ts"]):
            continue
        drawn = True
        ok = ~np.isnan(top["spread"])
        if ok.any():
            sp.plot(*gapped(top["ts"][ok], top["spread"][ok] / run.tick_usd), color=c, lw=0.8, label=s)
        dp.plot(*gapped(top["ts"], top["bid_qty"]), color=c, lw=0.8, label=f"{s} bid")
        dp.plot(*gapped(top["ts"], top["ask_qty"]), color=c, lw=0.8, ls=":", label=f"{s} ask")
    if not drawn:
        draw_empty(sp, "no top-of-book snapshots in this run")
        draw_empty(dp, "none")
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
        time_axis(dp)
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
    fig, (ax,) = figure(height=max(3.2, 0.5 * len(vol) + 1.6) if vol else 2.2)
    if not vol:
        draw_empty(ax, "no trades in this run")
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
    fig, (ax,) = figure(height=4.6)
    st = run.settlements
    series = sorted(set(st["series"].tolist()), key=expiry_key)
    if not series:
        draw_empty(ax, "no settlement prices in this run")
        ax.set_title("Daily settlement prices by tier")
        return fig
    from matplotlib.lines import Line2D

    handles = []
    for s, c in zip(series, colors(len(series))):
        r = select(st, st["series"] == s)
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
    time_axis(ax)
    if len(set(st["date"].tolist())) == 1:
        d = st["date"][0].astype("datetime64[ns]")
        ax.set_xlim(d - np.timedelta64(1, "D"), d + np.timedelta64(1, "D"))
    return fig


def plot_margin(run: Run) -> Any:
    mc, df = run.margin_calls, run.defaults
    accounts = sorted(set(mc["account"].astype("int64").tolist()) | set(df["account"].astype("int64").tolist()))
    fig, (ax,) = figure(height=max(3.0, 0.35 * len(accounts) + 2.0) if accounts else 2.2)
    if not accounts:
        draw_empty(ax, "none: no margin calls and no defaults in this run")
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
            ax.scatter(as_datetime(table["ts"][k]), ys, marker=marker, s=size, facecolors=color, label=label,
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
    time_axis(ax)
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
    fig, (ax,) = figure(height=4.8)
    dates, pnl = pnl_by_type(run)
    if not pnl:
        draw_empty(ax, "no account statements in this run")
        ax.set_title("P&L by agent type")
        return fig
    x = dates.astype("datetime64[ns]")
    for (t, y), c in zip(sorted(pnl.items(), key=lambda kv: -abs(kv[1][-1])), colors(len(pnl))):
        ax.plot(x, y, marker="o", ms=4, color=c, label=f"{t}: {usd(y[-1])}")
    ax.axhline(0, color="0.4", lw=0.7)
    ax.set_title("Cumulative P&L by agent type, net of fees (variation margin received - fees paid)")
    ax.set_ylabel("$ (summed over the type's accounts)")
    ax.set_xlabel("settlement date")
    dollar_axis(ax)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8, title="type: P&L at the end")
    time_axis(ax)
    if len(dates) == 1:
        ax.set_xlim(x[0] - np.timedelta64(1, "D"), x[0] + np.timedelta64(1, "D"))
    return fig
