"""A sweep's points compared over its seeds: per point and metric the mean
± standard error over the seeds, and for the metrics whose better direction
the sweep file names (``better``) which point is best and which of the
others are within noise of it, in words (`answer`).

Within noise: the seeds are paired (every point runs the same seeds, and
a seed fixes the index path), so each other point is compared with the best
by the per-seed differences: their mean, its standard error, and a 95 %
t interval (Student's t with n - 1 degrees of freedom). A point whose
interval contains zero is "within noise" of the best; one whose interval
excludes it is worse. With fewer than two paired seeds nothing is ranked.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec

# two-sided 95 % quantiles of Student's t, by degrees of freedom (df > 30: the normal's 1.96)
T95 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def t95(df: int) -> float:
    """The two-sided 95 % quantile of Student's t with ``df`` >= 1 degrees of freedom."""
    return T95[df - 1] if df <= len(T95) else 1.96


class Cell(msgspec.Struct, frozen=True):
    """One point's metric over its seeds."""

    n: int
    mean: float | None
    se: float | None  # None with fewer than two values


class Ranking(msgspec.Struct, frozen=True):
    """Which point is best on one metric and how the others compare with it."""

    metric: str
    better: str  # "higher" or "lower"
    best: int  # point index
    tied: list[int]  # within noise of the best (paired 95 % interval of the difference contains zero)
    worse: list[int]
    diffs: dict[int, tuple[float, float, int]]  # other point -> (mean difference to the best, its s.e., pairs)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def cell(values: list[float]) -> Cell:
    """Mean and standard error (sample sd / sqrt n) of ``values``."""
    n = len(values)
    if not n:
        return Cell(0, None, None)
    mean = sum(values) / n
    if n < 2:
        return Cell(n, mean, None)
    var = sum((x - mean) ** 2 for x in values) / (n - 1)
    return Cell(n, mean, math.sqrt(var / n))


def by_seed(rows: list[dict[str, Any]], point: int, metric: str) -> dict[int, float]:
    """The metric's value per seed at one point (ok runs with a number only)."""
    return {
        r["seed"]: float(r[metric])
        for r in rows
        if r["point"] == point and r["status"] == "ok" and _number(r.get(metric))
    }


def table(rows: list[dict[str, Any]], points: int, metrics: list[str]) -> dict[str, list[Cell]]:
    """metric -> a `Cell` per point."""
    return {m: [cell(list(by_seed(rows, i, m).values())) for i in range(points)] for m in metrics}


def rank(rows: list[dict[str, Any]], points: int, metric: str, better: str) -> Ranking | None:
    """The best point on ``metric`` by its mean and every other point's paired
    difference to it; None when no point has two values."""
    values = [by_seed(rows, i, metric) for i in range(points)]
    means = {i: sum(v.values()) / len(v) for i, v in enumerate(values) if len(v) >= 2}
    if not means:
        return None
    sign = 1 if better == "higher" else -1
    best = max(means, key=lambda i: (sign * means[i], -i))
    tied, worse, diffs = [], [], {}
    for i in means:
        if i == best:
            continue
        seeds = sorted(set(values[i]) & set(values[best]))
        d = [values[i][s] - values[best][s] for s in seeds]
        c = cell(d)
        if c.se is None:
            continue
        diffs[i] = (c.mean, c.se, c.n)
        (tied if abs(c.mean) <= t95(c.n - 1) * c.se else worse).append(i)
    return Ranking(metric, better, best, tied, worse, diffs)


def fmt(x: float | None) -> str:
    """A figure for a table: thousands separated from 1,000, else 3 significant digits."""
    if x is None:
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{min(digits, 6)}f}"


def mean_se(c: Cell) -> str:
    if c.mean is None:
        return "–"
    return fmt(c.mean) if c.se is None else f"{fmt(c.mean)} ± {fmt(c.se)}"


def point_labels(points: list[dict[str, Any]], labels: list[str] | None) -> list[str]:
    """The sweep file's ``labels``, else each point's parameters in short:
    ``key=value`` for a table's entries, ``value`` for a single parameter."""
    if labels:
        return list(labels)
    out = []
    for p in points:
        parts = []
        for k, v in p.items():
            if isinstance(v, dict):
                parts.extend(f"{kk}={json.dumps(vv) if not isinstance(vv, str) else vv}" for kk, vv in v.items())
            else:
                parts.append(f"{k}={json.dumps(v) if not isinstance(v, str) else v}")
        out.append(", ".join(parts) or "base")
    return out


def answer(rows: list[dict[str, Any]], labels: list[str], better: dict[str, str]) -> list[str]:
    """One sentence per ranked metric: the best point, those within noise of
    it and those worse (see the module docstring)."""
    out = []
    for metric, direction in better.items():
        r = rank(rows, len(labels), metric, direction)
        if r is None:
            out.append(f"{metric}: fewer than two seeds with a value at every point; not ranked.")
            continue
        best = table(rows, len(labels), [metric])[metric][r.best]
        text = f"{metric} ({direction} is better): best {labels[r.best]} ({mean_se(best)})"
        if r.tied:
            text += "; within noise of it: " + ", ".join(f"{labels[i]} ({_diff(r.diffs[i])})" for i in r.tied)
        if r.worse:
            text += "; worse: " + ", ".join(f"{labels[i]} ({_diff(r.diffs[i])})" for i in r.worse)
        if not r.tied and r.worse:
            text += "; the best is clear of every other point"
        elif r.tied and not r.worse:
            text += "; no point is clear of it"
        out.append(text + ".")
    return out


def _diff(d: tuple[float, float, int]) -> str:
    mean, se, n = d
    sign = "+" if mean > 0 else ""
    return f"{sign}{fmt(mean)} ± {fmt(se)} paired over {n}"


def markdown(rows: list[dict[str, Any]], labels: list[str], metrics: list[str], better: dict[str, str]) -> str:
    """The table (mean ± s.e. over seeds, one row per point, one column per
    metric) and the answer, as plain text for a sweep file's header."""
    cells = table(rows, len(labels), metrics)
    seeds = sorted({r["seed"] for r in rows if r["status"] == "ok"})
    lines = [
        f"mean ± standard error over {len(seeds)} seeds ({', '.join(map(str, seeds))}); "
        "each metric a block, one line per point",
        "",
    ]
    width = max(len(lb) for lb in labels) if labels else 0
    for m in metrics:
        lines.append(m + (f" ({better[m]} is better)" if m in better else ""))
        for lb, c in zip(labels, cells[m]):
            lines.append(f"  {lb:<{width}}  {mean_se(c)}")
    lines += [
        "",
        "Answer (paired by seed; within noise = the 95 % t interval of the difference to the best contains zero):",
        "",
    ]
    lines += [f"- {s}" for s in answer(rows, labels, better)]
    return "\n".join(lines) + "\n"


__all__ = [
    "Cell",
    "Ranking",
    "T95",
    "answer",
    "by_seed",
    "cell",
    "fmt",
    "markdown",
    "mean_se",
    "point_labels",
    "rank",
    "t95",
    "table",
]
