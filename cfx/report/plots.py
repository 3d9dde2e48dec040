"""The plots of one run as Plotly figures (zoom into a day, hover for
values). Each ``plot_*`` returns a figure, or a sentence saying why there
is nothing to draw (the page prints it instead of an empty plot). Every
plot over time carries the run's marks (`cfx.report.chart.add_marks`).
Floats only here: $/GPU-hour, contracts and $.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cfx.report import load
from cfx.report.chart import add_marks, color, day_ms, figure, gapped, marks, ms, session_hours, trading_time_axis
from cfx.report.load import MICRO, Run, expiry_key, run_window, select, series_top

Plot = go.Figure | str  # a figure, or why there is none

TIER_MARKERS = {"vwap": "circle", "mid": "square", "index_moved": "triangle-up", "final": "star"}
TIER_NAMES = {
    "vwap": "VWAP of the settlement window",
    "mid": "mid at the close",
    "index_moved": "previous settlement + index change",
    "final": "final settlement",
}
MAX_INTRADAY_DAYS = 6  # at most this many shock days get an intraday panel
PRICE = "$ per GPU-hour"


def _line(x, y, name: str, c: str, **kw) -> go.Scatter:
    return go.Scatter(x=x, y=y, name=name, mode="lines", line=dict(color=c, width=kw.pop("width", 1.4)), **kw)


def index_trace(run: Run, name: str, window: tuple[np.datetime64, np.datetime64] | None) -> go.Scatter | None:
    """A basket's daily fixings as a step line, drawn from each fixing's date to the next."""
    fx = select(run.fixings, run.fixings["index"] == name)
    order = np.argsort(fx["date"])
    dates, values = fx["date"][order], fx["value"][order] / MICRO
    if window is not None:
        start = dates[dates <= window[0]]
        lo = start.max() if len(start) else window[0]
        keep = (dates >= lo) & (dates <= window[1])
        dates, values = dates[keep], values[keep]
    if not len(dates):
        return None
    x = day_ms(np.append(dates, dates[-1] + np.timedelta64(1, "D")))
    return go.Scatter(
        x=x,
        y=np.append(values, values[-1]),
        name=f"{name} index fixing",
        mode="lines",
        line=dict(color="#444", dash="dash", width=1.2, shape="hv"),
    )


def indicative_trace(run: Run, name: str, window: tuple[int, int] | None = None) -> go.Scatter | None:
    """A basket's intraday (indicative) index as published."""
    ind = select(run.indicative, run.indicative["index"] == name)
    ts = np.asarray(ind["ts"], dtype="int64")
    keep = np.ones(len(ts), bool) if window is None else (ts >= window[0]) & (ts <= window[1])
    if not keep.any():
        return None
    o = np.argsort(ts[keep], kind="stable")
    x, y = gapped(ts[keep][o], ind["value"][keep][o] / MICRO)
    return _line(x, y, f"{name} index (intraday)", "#777", width=1.0)


def baskets(run: Run) -> list[str]:
    return run.summary.get("baskets") or sorted(set(run.fixings["index"].tolist()))


def plot_prices(run: Run) -> Plot:
    series = run.series
    if not series:
        return "none: no series traded or quoted in this run"
    fig = figure(height=460)
    for i, s in enumerate(series):
        top = series_top(run, s)
        ok = ~np.isnan(top["mid"])
        if ok.any():
            fig.add_trace(_line(*gapped(top["ts"][ok], top["mid"][ok]), f"{s} mid", color(i)))
        st = select(run.settlements, run.settlements["series"] == s)
        if len(st["ts"]):
            fig.add_trace(
                go.Scatter(
                    x=ms(st["ts"]),
                    y=st["price"] * run.tick_usd,
                    mode="markers",
                    name=f"{s} settlement",
                    marker=dict(symbol="diamond", size=9, color=color(i), line=dict(color="black", width=0.6)),
                )
            )
    window = run_window(run)
    for name in baskets(run):
        for tr in (indicative_trace(run, name), index_trace(run, name, window)):
            if tr is not None:
                fig.add_trace(tr)
    fig.update_yaxes(title_text=PRICE)
    trading_time_axis(fig, run)
    add_marks(fig, run)
    return fig


def shock_days(run: Run) -> list[np.datetime64]:
    """The days with a shock or a halt, in order (at most `MAX_INTRADAY_DAYS`)."""
    days = sorted({load.trade_days(np.array([m["start"]]))[0] for m in marks(run)})
    return days[:MAX_INTRADAY_DAYS]


def plot_intraday(run: Run) -> Plot:
    days = shock_days(run)
    if not days:
        return "none: no shocks and no halts in this run"
    hours = session_hours(run) or (0.0, 24.0)
    fig = figure(
        rows=len(days), height=330 * len(days), shared_x=False, titles=[f"{np.datetime_as_string(d)}" for d in days]
    )
    tr = run.trades
    shown: set[str] = set()
    legend: set[str] = set()  # the kinds of mark already in the legend
    for row, d in enumerate(days, start=1):
        lo = int(day_ms(np.array([d]), hours[0])[0] * 1e6)
        hi = int(day_ms(np.array([d]), hours[1])[0] * 1e6)
        for i, s in enumerate(run.series):
            top = series_top(run, s)
            k = (top["ts"] >= lo) & (top["ts"] <= hi) & ~np.isnan(top["mid"])
            if k.any():
                fig.add_trace(
                    _line(
                        ms(top["ts"][k]), top["mid"][k], f"{s} mid", color(i), legendgroup=s, showlegend=s not in shown
                    ),
                    row=row,
                    col=1,
                )
            t = (tr["series"] == s) & (tr["ts"] >= lo) & (tr["ts"] <= hi)
            if t.any():
                fig.add_trace(
                    go.Scatter(
                        x=ms(tr["ts"][t]),
                        y=tr["price"][t] * run.tick_usd,
                        mode="markers",
                        name=f"{s} trades",
                        legendgroup=s + "t",
                        showlegend=s not in shown,
                        marker=dict(size=3, color=color(i), opacity=0.45),
                    ),
                    row=row,
                    col=1,
                )
            if k.any() or t.any():
                shown.add(s)
        for name in baskets(run):
            ind = indicative_trace(run, name, (lo, hi))
            if ind is not None:
                ind.update(showlegend=row == 1, legendgroup="index")
                fig.add_trace(ind, row=row, col=1)
        fig.update_xaxes(range=[lo / 1e6, hi / 1e6], type="date", row=row, col=1)
        fig.update_yaxes(title_text=PRICE, row=row, col=1)
        add_marks(fig, run, window=(lo, hi), row=row, legend=legend)
    return fig


def plot_liquidity(run: Run) -> Plot:
    quoted = run.book_top["series"][(run.book_top["bid_qty"] > 0) | (run.book_top["ask_qty"] > 0)]
    series = [s for s in run.series if (quoted == s).any()]
    if not series:
        return "none: no top-of-book quotes in this run"
    fig = figure(
        rows=2,
        height=560,
        titles=[
            f"Bid-ask spread (ticks of ${run.tick_usd:g}; gaps: one-sided or closed book)",
            "Contracts at the best bid (solid) and ask (dotted)",
        ],
    )
    for i, s in enumerate(series):
        top = series_top(run, s)
        ok = ~np.isnan(top["spread"])
        fig.add_trace(
            _line(*gapped(top["ts"][ok], top["spread"][ok] / run.tick_usd), s, color(i), width=1.0), row=1, col=1
        )
        fig.add_trace(_line(*gapped(top["ts"], top["bid_qty"]), f"{s} bid", color(i), width=1.0), row=2, col=1)
        fig.add_trace(
            _line(*gapped(top["ts"], top["ask_qty"]), f"{s} ask", color(i), width=1.0, line_dash="dot"), row=2, col=1
        )
    fig.update_yaxes(title_text="spread (ticks)", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="contracts", rangemode="tozero", row=2, col=1)
    trading_time_axis(fig, run)
    add_marks(fig, run, rows=2)
    return fig


def plot_daily(run: Run) -> Plot:
    dates, vol = load.daily_volume(run)
    odates, oi = load.open_interest(run)
    if not vol and not oi:
        return "none: no trades and no open positions in this run"
    fig = figure(rows=2, height=520, titles=["Contracts traded per day", "Open interest at the end of each day"])
    for i, s in enumerate(run.series):
        if s in vol:
            fig.add_trace(
                go.Bar(
                    x=day_ms(dates, 12), y=vol[s], name=f"{s} volume", marker_color=color(i), width=0.6 * 86_400_000
                ),
                row=1,
                col=1,
            )
        if s in oi:
            fig.add_trace(
                go.Scatter(
                    x=day_ms(odates, 12),
                    y=oi[s],
                    name=f"{s} open interest",
                    mode="lines+markers",
                    line=dict(color=color(i)),
                ),
                row=2,
                col=1,
            )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="contracts", rangemode="tozero")
    fig.update_xaxes(type="date", rangebreaks=[dict(bounds=["sat", "mon"])])
    add_marks(fig, run, rows=2)
    return fig


def plot_matrix(run: Run) -> Plot:
    types, m = load.maker_taker(run)
    if not m.sum():
        return "none: no trades in this run"
    share = m / m.sum()
    text = [[f"{int(v):,}<br>{p:.1%}" if v else "" for v, p in zip(r, pr)] for r, pr in zip(m, share)]
    fig = go.Figure(
        go.Heatmap(
            z=m,
            x=types,
            y=types,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            hovertemplate="maker %{y}<br>taker %{x}<br>%{z:,} contracts<extra></extra>",
            colorbar=dict(title="contracts"),
        )
    )
    fig.update_layout(
        height=140 + 50 * len(types),
        template="plotly_white",
        margin=dict(l=140, r=20, t=30, b=90),
        xaxis=dict(title="taker (aggressing order)", side="bottom"),
        yaxis=dict(title="maker (resting order)", autorange="reversed"),
    )
    return fig


def volume_by_type(run: Run) -> dict[str, tuple[int, int]]:
    """Contracts traded by agent type: (as maker, as taker), most traded first."""
    types, m = load.maker_taker(run)
    out = {t: (int(m[i].sum()), int(m[:, i].sum())) for i, t in enumerate(types)}
    return dict(sorted(out.items(), key=lambda kv: -(kv[1][0] + kv[1][1])))


def plot_volume(run: Run) -> Plot:
    vol = volume_by_type(run)
    if not vol:
        return "none: no trades in this run"
    names = list(vol)[::-1]
    counts = {n: int((run.agents["agent_type"] == n).sum()) for n in names}
    labels = [f"{n} ({counts[n]})" for n in names]
    fig = go.Figure(
        [
            go.Bar(
                y=labels,
                x=[vol[n][0] for n in names],
                orientation="h",
                name="as maker (resting order)",
                marker_color=color(0),
            ),
            go.Bar(
                y=labels,
                x=[vol[n][1] for n in names],
                orientation="h",
                name="as taker (aggressing)",
                marker_color=color(1),
            ),
        ]
    )
    fig.update_layout(
        barmode="stack",
        height=140 + 36 * len(names),
        template="plotly_white",
        margin=dict(l=170, r=20, t=20, b=50),
        xaxis=dict(title="contracts (each trade counts once for the maker and once for the taker)"),
    )
    return fig


def plot_inventory(run: Run) -> Plot:
    inv = load.inventory(run)
    if not inv:
        return "none: no market maker traded in this run"
    fig = figure(height=420)
    for i, (a, (ts, pos)) in enumerate(sorted(inv.items())):
        x, y = gapped(ts, pos)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                name=f"market_maker (account {a})",
                line=dict(color=color(i), shape="hv", width=1.2),
            )
        )
    fig.add_hline(y=0, line=dict(color="#888", width=0.8))
    fig.update_yaxes(title_text="net position (contracts, all series)")
    trading_time_axis(fig, run)
    add_marks(fig, run)
    return fig


def plot_basis(run: Run) -> Plot:
    fig = figure(height=420)
    drawn = False
    for i, s in enumerate(run.series):
        top = series_top(run, s)
        exp = load.expected_final(run, s, top["ts"])
        b = top["mid"] - exp
        ok = ~np.isnan(b)
        if ok.any():
            drawn = True
            fig.add_trace(_line(*gapped(top["ts"][ok], b[ok] / run.tick_usd), s, color(i), width=1.1))
    if not drawn:
        return "none: no quotes, or no index to settle on, in this run"
    fig.add_hline(y=0, line=dict(color="#888", width=0.8))
    fig.update_yaxes(title_text="mid − expected final settlement (ticks)")
    trading_time_axis(fig, run)
    add_marks(fig, run)
    return fig


def plot_settlement(run: Run) -> Plot:
    st = run.settlements
    series = sorted(set(st["series"].tolist()), key=expiry_key)
    if not series:
        return "none: no settlement prices in this run"
    fig = figure(height=420)
    for i, s in enumerate(series):
        r = select(st, st["series"] == s)
        order = np.argsort(r["date"], kind="stable")
        x, price, tiers = day_ms(r["date"][order], 16), r["price"][order] * run.tick_usd, r["tier"][order]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=price,
                mode="lines+markers",
                name=s,
                line=dict(color=color(i), width=1),
                marker=dict(
                    size=10,
                    color=color(i),
                    line=dict(color="black", width=0.6),
                    symbol=[TIER_MARKERS.get(t, "cross") for t in tiers],
                ),
                text=[TIER_NAMES.get(t, t) for t in tiers],
                hovertemplate="%{x|%b %d}: $%{y:.4f}<br>%{text}<extra>" + s + "</extra>",
            )
        )
    for tier in sorted(set(st["tier"].tolist())):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=TIER_NAMES.get(tier, tier),
                marker=dict(
                    symbol=TIER_MARKERS.get(tier, "cross"), size=10, color="#aaa", line=dict(color="black", width=0.6)
                ),
            )
        )
    fig.update_yaxes(title_text=PRICE)
    fig.update_xaxes(type="date", rangebreaks=[dict(bounds=["sat", "mon"])])
    add_marks(fig, run)
    return fig


MARGIN_STYLES = {
    "MarginCallIssued": ("triangle-down", "#ff7f0e", "margin call issued (size: amount)"),
    "MarginCallMet": ("circle", "#2ca02c", "margin call met"),
    "AccountDefaulted": ("x", "#d62728", "account defaulted"),
    "DefaultLossCovered": ("square-open", "#333", "default loss covered (waterfall)"),
}


def margin_title(run: Run) -> str:
    mc, df = run.margin_calls, run.defaults
    issued = mc["type"] == "MarginCallIssued"
    total = float(np.sum(mc["amount"][issued])) / MICRO if len(mc["type"]) else 0.0
    return (
        f"Margin calls and defaults ({int(issued.sum())} calls, ${total:,.0f} called; "
        f"{int((df['type'] == 'AccountDefaulted').sum())} defaults)"
    )


def plot_margin(run: Run) -> Plot:
    dates, im = load.margin_by_type(run)
    mc, df = run.margin_calls, run.defaults
    calls = len(mc["type"]) + len(df["type"])
    if not len(dates) and not calls:
        return "none: no account statements, margin calls or defaults in this run"
    rows = 2 if calls else 1
    fig = figure(
        rows=rows,
        height=420 + 260 * (rows - 1),
        titles=["Initial margin required, by agent type"] + ([margin_title(run)] if calls else []),
    )
    for i, (t, y) in enumerate(sorted(im.items(), key=lambda kv: -kv[1].max(initial=0))):
        if y.any():
            fig.add_trace(
                go.Scatter(x=day_ms(dates, 16), y=y, mode="lines+markers", name=t, line=dict(color=color(i))),
                row=1,
                col=1,
            )
    fig.update_yaxes(title_text="$ (summed over the type's accounts)", row=1, col=1)
    if calls:
        big = max([1.0] + [float(a) for a in mc["amount"]])
        for table in (mc, df):
            for kind in sorted(set(table["type"].tolist())):
                k = table["type"] == kind
                sym, c, label = MARGIN_STYLES.get(kind, ("cross", "#9467bd", kind))
                size = 10.0
                if kind == "MarginCallIssued":
                    size = 6 + 20 * np.sqrt(np.asarray(table["amount"][k], dtype=float) / big)
                y = [f"{run.agent_type.get(int(a), '?')} (account {int(a)})" for a in table["account"][k]]
                fig.add_trace(
                    go.Scatter(
                        x=ms(table["ts"][k]),
                        y=y,
                        mode="markers",
                        name=label,
                        marker=dict(symbol=sym, size=size, color=c, line=dict(color="black", width=0.5)),
                    ),
                    row=2,
                    col=1,
                )
    fig.update_xaxes(type="date", rangebreaks=[dict(bounds=["sat", "mon"])])
    add_marks(fig, run, rows=rows)
    return fig


def pnl_by_type(run: Run) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Dates and, per agent type, cumulative variation margin minus cumulative fees ($)."""
    ac = run.accounts
    dates = np.unique(ac["date"])
    if not len(dates):
        return dates, {}
    di = np.searchsorted(dates, ac["date"])
    types = np.array([run.agent_type.get(int(a), "other") for a in ac["account"].astype("int64")], dtype=object)
    out = {}
    for t in sorted(set(types.tolist())):
        k = types == t
        vm = np.bincount(di[k], weights=ac["variation_margin"][k].astype(float), minlength=len(dates))
        fees = np.bincount(di[k], weights=ac["fees_total"][k].astype(float), minlength=len(dates))
        out[t] = (np.cumsum(vm) - fees) / MICRO  # fees_total is already cumulative
    return dates, out


def usd(v: float) -> str:
    return f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}"


def plot_pnl(run: Run) -> Plot:
    dates, pnl = pnl_by_type(run)
    if not pnl:
        return "none: no account statements in this run"
    fig = figure(height=440)
    for i, (t, y) in enumerate(sorted(pnl.items(), key=lambda kv: -abs(kv[1][-1]))):
        fig.add_trace(
            go.Scatter(
                x=day_ms(dates, 16), y=y, mode="lines+markers", name=f"{t}: {usd(y[-1])}", line=dict(color=color(i))
            )
        )
    fig.add_hline(y=0, line=dict(color="#888", width=0.8))
    fig.update_yaxes(title_text="$ (summed over the type's accounts)", tickformat="$,.3s")
    fig.update_xaxes(type="date", rangebreaks=[dict(bounds=["sat", "mon"])])
    fig.update_layout(legend_title_text="type: P&L at the end")
    add_marks(fig, run)
    return fig


def plot_rejects(run: Run) -> Plot:
    rj = load.rejects(run)
    if not len(rj["ts"]):
        return "none: no order was rejected in this run"
    fig = figure(height=400)
    hour = (rj["ts"] // (3600 * 10**9)) * 3600 * 10**9
    for i, reason in enumerate(sorted(set(rj["reason"].tolist()), key=lambda r: -(rj["reason"] == r).sum())):
        h, n = np.unique(hour[rj["reason"] == reason], return_counts=True)
        fig.add_trace(
            go.Bar(
                x=ms(h + 1800 * 10**9), y=n, name=f"{reason} ({int(n.sum()):,})", marker_color=color(i), width=3_400_000
            )
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="rejected orders per hour")
    trading_time_axis(fig, run)
    add_marks(fig, run)
    return fig


def plot_funding(run: Run) -> Plot:
    rates = load.funding_rates(run)
    if not rates:
        return "none: no perpetual series (no funding payments) in this run"
    fig = figure(height=380)
    for i, (s, (ts, rate)) in enumerate(rates.items()):
        fig.add_trace(go.Scatter(x=ms(ts), y=rate * 1e4, mode="lines+markers", name=s, line=dict(color=color(i))))
    fig.update_yaxes(title_text="funding rate per interval (bp; > 0: longs pay shorts)")
    trading_time_axis(fig, run)
    add_marks(fig, run)
    return fig
