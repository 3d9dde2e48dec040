"""A sweep's report.html: a figure per varied parameter, the failures and
the table, one self-contained page."""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cfx.sweep import stats
from cfx.sweep.metrics import METRICS
from cfx.sweep.plan import Plan


def _numeric(values: Iterable[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _plot_param(plan: Plan, rows: list[dict[str, Any]], param: str, metrics: list[str]) -> str:
    """One figure: a panel per metric of ``metric`` against ``param``; dots
    per run, the mean line and the min-max band over seeds (and over the
    other parameters, if any)."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["status"] == "ok"]
    xs_all = [r[param] for r in ok]
    numeric = _numeric(xs_all)
    if numeric:
        levels = sorted(set(xs_all))
        pos = {v: v for v in levels}
    else:
        levels = list(dict.fromkeys(json.dumps(p[param], default=str) for p in plan.points))
        pos = {v: i for i, v in enumerate(levels)}
    key = (lambda v: v) if numeric else (lambda v: json.dumps(v, default=str))
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.0 * nrows), squeeze=False)
    for ax, m in zip(axes.flat, metrics):
        pts = [(pos[key(r[param])], r[m]) for r in ok if isinstance(r.get(m), (int, float))]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=12, alpha=0.5, color="tab:blue", label="runs")
            by: dict[Any, list[float]] = {}
            for x, y in pts:
                by.setdefault(x, []).append(y)
            if plan.mode == "grid" or not numeric:  # values shared by several runs: their mean and range
                xs = sorted(by)
                means = [sum(by[x]) / len(by[x]) for x in xs]
                ax.plot(xs, means, color="tab:red", marker="o", ms=3, label="mean")
                ax.fill_between(
                    xs, [min(by[x]) for x in xs], [max(by[x]) for x in xs], color="tab:red", alpha=0.15, label="min-max"
                )
        else:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes, color="grey")
        ax.set_title(m, fontsize=9)
        ax.tick_params(labelsize=8)
        if numeric and levels and min(levels) > 0 and max(levels) / min(levels) >= 20:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(levels)), [lv.strip('"') for lv in levels], rotation=30, fontsize=7)
        ax.set_xlabel(param, fontsize=8)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=8)
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _points_table(plan: Plan, rows: list[dict[str, Any]], metrics: list[str]) -> str:
    """Mean ± standard error over the seeds per point and metric, and the
    ranked metrics' answer (`cfx.sweep.stats`)."""
    e = html.escape
    labels = stats.point_labels(plan.points, plan.labels)
    cells = stats.table(rows, len(labels), metrics)
    out = [
        f"<h2>Points compared</h2><p>Mean ± standard error over the seeds ({len(plan.seeds)} per point); "
        "the best point of each ranked metric in bold.</p><table><tr><th>metric</th>"
        + "".join(f"<th>{e(lb)}</th>" for lb in labels)
        + "</tr>"
    ]
    for m in metrics:
        r = stats.rank(rows, len(labels), m, plan.better[m]) if m in plan.better else None
        tds = []
        for i, c in enumerate(cells[m]):
            v = e(stats.mean_se(c))
            tds.append(f"<td><b>{v}</b></td>" if r is not None and r.best == i else f"<td>{v}</td>")
        name = e(m) + (f" ({e(plan.better[m])} is better)" if m in plan.better else "")
        out.append(f"<tr><th>{name}</th>" + "".join(tds) + "</tr>")
    out.append("</table>")
    if plan.better:
        out.append(
            "<h3>Answer</h3><p>Paired by seed; within noise = the 95 % t interval of the difference to the "
            "best contains zero.</p><ul>"
            + "".join(f"<li>{e(s)}</li>" for s in stats.answer(rows, labels, plan.better))
            + "</ul>"
        )
    return "\n".join(out)


def write_summary(plan: Plan, rows: list[dict[str, Any]], path: Path) -> None:
    """``summary.md``: the points' table (mean ± s.e. over seeds) and the
    answer as plain text (`cfx.sweep.stats.markdown`), for a sweep file's header."""
    metrics = plan.metrics or [m for m in METRICS if any(isinstance(r.get(m), (int, float)) for r in rows)]
    labels = stats.point_labels(plan.points, plan.labels)
    text = f"# {plan.name}\n\n{plan.question}\n\n" + stats.markdown(rows, labels, metrics, plan.better)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_report(plan: Plan, rows: list[dict[str, Any]], path: Path) -> None:
    """A self-contained HTML page: the sweep, a figure per varied parameter,
    failures and the table."""
    e = html.escape
    metrics = plan.metrics or [m for m in METRICS if any(isinstance(r.get(m), (int, float)) for r in rows)]
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] != "ok"]
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>cfx sweep {e(plan.name)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1300px}table{border-collapse:collapse;"
        "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "pre{background:#f6f6f6;padding:6px;overflow-x:auto;font-size:11px}</style>",
        f"<h1>cfx sweep: {e(plan.name)}</h1>",
    ]
    if plan.question:
        parts.append(f"<p><b>Question:</b> {e(plan.question)}</p>")
    parts.append(
        f"<p>Sweep file <code>{e(plan.source)}</code> (sha256 {plan.sweep_sha256[:12]}), base scenario "
        f"<code>{e(plan.base)}</code>; {plan.mode} of {len(plan.points)} points × {len(plan.seeds)} seeds "
        f"= {len(plan.tasks)} runs: {len(ok)} ok, {len(failed)} failed, "
        f"{len(plan.tasks) - len(rows)} without a result.</p>"
    )
    if ok and plan.mode == "grid":
        parts.append(_points_table(plan, rows, metrics))
    others = len(plan.params) > 1
    for p in plan.params:
        parts.append(f"<h2>{e(p)}</h2>")
        if others:
            parts.append(
                "<p>Each panel pools the runs at a value of this parameter over the seeds and the other parameters.</p>"
            )
        if ok:
            parts.append(f"<img alt='{e(p)}' src='data:image/png;base64,{_plot_param(plan, rows, p, metrics)}'>")
        else:
            parts.append("<p>No successful runs to plot.</p>")
    if failed:
        parts.append("<h2>Failed runs</h2>")
        for r in failed:
            desc = ", ".join(f"{p} = {r[p]!r}" for p in plan.params)
            parts.append(f"<p>{e(r['point_id'])} ({e(desc)}), seed {r['seed']}:</p><pre>{e(r['error'] or '')}</pre>")
    cols = ["point_id", *plan.params, "seed", "status", *metrics, "run_hash"]
    shown = rows[:500]
    parts.append(
        f"<h2>Runs</h2><p>{len(rows)} rows"
        + (", the first 500 shown" if len(rows) > 500 else "")
        + "; all in <code>results.parquet</code>.</p><table><tr>"
        + "".join(f"<th>{e(c)}</th>" for c in cols)
        + "</tr>"
    )
    for r in shown:
        cells = []
        for c in cols:
            v = r.get(c)
            v = v[:12] if c == "run_hash" and v else v
            cells.append(f"<td>{e('' if v is None else str(v))}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(parts) + "\n")
    os.replace(tmp, path)
