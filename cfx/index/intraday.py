"""The index between two fixings: a latent value in continuous time, the
constituent quotes that follow it, and the indicative values published from them.

The generator's daily SKU log prices (`cfx.index.daily_sample`) are the
daily sample of a continuous-time process. Between one day's fixing time and
the next, each SKU's latent log price is a Brownian bridge (so the latent
value at the fixing time is the daily value exactly, and daily statistics are
unchanged) plus the day's jumps (generator jumps, launch shocks, scenario
index moves) at their intraday times. A share ``overnight`` of the day's
diffusive variance accrues before the pre-open (the opening gap); the rest
evenly over the session. SKUs share the bridge of the common factor with
their ``beta``, as their daily returns do.

Each constituent (SKU x provider x region) reprices at Poisson times to the
latent value times its basis of the day; before its first repricing it
shows its previous quote. Every publication time an indicative value of each
index is computed from the constituents' current quotes by the index's
fixing rule (a vectorised, float version of `cfx.index.fixing_value`), so it
lags the latent value; at the fixing time it is the official fixing.

Grid: whole seconds from the day's pre-open (second 0) to its fixing time
(second ``span``). Everything of a day is computed at once with numpy
(`IndexDay.compute`). Floats throughout: this is the information process,
not the clearing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import msgspec
import numpy as np

from cfx.index import Constituent, DailySample, FixingRule, GeneratorConfig, coarse_region, region_index_name
from cfx.products import Basket


class Group(msgspec.Struct, frozen=True):
    """The constituents (row numbers) of one published index and its rule."""

    name: str
    sku: str
    rows: np.ndarray  # int indices into the constituent list
    rule: FixingRule


class IndexDay(msgspec.Struct):
    """One day of the intraday index: publication seconds (after the
    pre-open), the indicative value of every name at each (micro-$, float),
    and the latent value of every basket at every second."""

    seconds: np.ndarray  # int, ascending, last = span (the fixing time)
    names: list[str]
    values: np.ndarray  # (len(names), len(seconds)) micro-$
    latent: dict[str, np.ndarray]  # basket -> micro-$ per second 0..span


def groups_of(
    parts: Sequence[Constituent],
    rule: FixingRule,
    region_rule: FixingRule,
    per_sku: Mapping[str, FixingRule] | None = None,
) -> list[Group]:
    """The published SKU and SKU x region indices over the constituents."""
    per_sku = per_sku or {}
    by: dict[tuple[str, str], list[int]] = {}
    for i, c in enumerate(parts):
        by.setdefault((c.sku, ""), []).append(i)
        region = coarse_region(c.region)
        if region:
            by.setdefault((c.sku, region), []).append(i)
    out = []
    for (sku, region), rows in sorted(by.items()):
        name = region_index_name(sku, region) if region else sku
        out.append(Group(name, sku, np.array(rows), region_rule if region else per_sku.get(sku, rule)))
    return out


def bridge(rng: np.random.Generator, span: int, overnight: float, betas: np.ndarray) -> np.ndarray:
    """Standard Brownian bridges on [0, 1] of variance time, sampled at the
    pre-open (u = overnight) and every second to the fixing (u = 1); one
    row per SKU, correlated through a common bridge with loadings `betas`."""
    k = len(betas)
    u = overnight + (1 - overnight) * np.arange(span + 1) / span
    # w = cumsum(steps); b = w - u * w[:, -1:]; betas * b[0] + sqrt(1 - betas^2) * b[1:], each step
    # in place in one buffer where it can be (a day's bridge is ~(k + 1) x 30,000 floats): the same floats
    w = np.empty((k + 1, span + 1))
    w[:, 0] = rng.standard_normal(k + 1) * math.sqrt(overnight)
    np.multiply(rng.standard_normal((k + 1, span)), math.sqrt((1 - overnight) / span), out=w[:, 1:])
    np.cumsum(w, axis=1, out=w)
    w -= u * w[:, -1:].copy()
    out = betas[:, None] * w[0]
    out += np.sqrt(1 - betas**2)[:, None] * w[1:]
    return out


def indicative(prices: np.ndarray, weights: np.ndarray, providers: np.ndarray, rule: FixingRule) -> np.ndarray:
    """The rule's value of each column of `prices` (constituents x times;
    0 = no quote, left out), as floats. NaN where nothing is quoted."""
    present = prices > 0
    if rule.methodology == "trade_vwap":
        w = weights[:, None] * present
        with np.errstate(invalid="ignore", divide="ignore"):
            return (w * prices).sum(0) / w.sum(0)
    if rule.methodology == "two_stage_median":
        masked = np.where(present, prices, np.nan)
        per_provider = np.stack([np.nanmedian(masked[providers == p], axis=0) for p in np.unique(providers)])
        return np.nanmedian(per_provider, axis=0)
    order = np.argsort(np.where(present, prices, np.inf), axis=0)
    p = np.take_along_axis(prices, order, 0)
    w = weights[order] * np.take_along_axis(present, order, 0)
    end = np.cumsum(w, axis=0)
    start = end - w
    total = end[-1]
    lo, hi = rule.trim * total, (1 - rule.trim) * total
    kept = np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (kept * p).sum(0) / kept.sum(0)


class IntradayIndex:
    """The intraday index of a run: the generator's daily sample and
    constituents, the official fixings, and the information settings."""

    def __init__(
        self,
        gen: GeneratorConfig,
        sample: DailySample,
        parts: list[Constituent],
        groups: list[Group],
        baskets: Sequence[Basket],
        fixings: Mapping[str, Mapping],
        *,
        seed: int,
        reprice_per_hour: float,
        overnight: float,
    ) -> None:
        self.gen = gen
        self.sample = sample
        self.parts = parts
        self.groups = [g for g in groups if g.name in fixings]
        self.baskets = [b for b in baskets if all(s in sample.log_price for s in b.weights)]
        self.fixings = fixings
        self.seed = seed
        self.reprice_per_hour = reprice_per_hour
        self.overnight = overnight
        self.day_of = {d: i for i, d in enumerate(sample.dates)}
        self.skus = [s.name for s in gen.skus]
        self.vols = np.array([s.vol / math.sqrt(252) for s in gen.skus])
        self.betas = np.array([s.beta for s in gen.skus])
        self.weights = np.array([c.weight for c in parts], dtype=float)
        names = sorted({c.provider for c in parts})
        self.providers = np.array([names.index(c.provider) for c in parts])
        prices = np.stack([c.prices for c in parts]).astype(float)
        # each constituent's latest quote up to each day (0 until its first)
        idx = np.where(prices > 0, np.arange(prices.shape[1]), 0)
        np.maximum.accumulate(idx, axis=1, out=idx)
        self.latest = np.take_along_axis(prices, idx, 1)
        self.latest[np.cumsum(prices > 0, axis=1) == 0] = 0.0
        self.prices = prices

    def names(self) -> list[str]:
        return [g.name for g in self.groups] + [b.name for b in self.baskets]

    def compute(self, day, span: int, publish: np.ndarray, news: tuple[int, int], pre_open_min: int) -> IndexDay | None:
        """The day's paths and publications. `span`: seconds from the
        pre-open (minute of the day `pre_open_min`) to the fixing time;
        `publish`: publication seconds (ending with `span`); `news`: the
        second range where undated jumps fall (a dated one, `Jump.minute`,
        at its minute; before the pre-open: at it, i.e. overnight).
        None if the day is outside the sample (no intraday path)."""
        t = self.day_of.get(day)
        if t is None or t == 0:
            return None
        rng = np.random.default_rng([self.seed, 2, t])
        lp = self.sample.log_price
        b = bridge(rng, span, self.overnight, self.betas)
        paths = {}
        today_jumps = [j for j in self.sample.jumps if j.day == t]
        u = self.overnight + (1 - self.overnight) * np.arange(span + 1) / span
        for i, sku in enumerate(self.skus):
            l0, l1 = lp[sku][t - 1], lp[sku][t]
            jumped = sum(j.size for j in today_jumps if j.sku == sku)
            x = l0 + u * (l1 - l0 - jumped) + self.vols[i] * b[i]
            for j in today_jumps:
                if j.sku == sku:
                    at = rng.integers(news[0], news[1] + 1) if j.minute is None else (j.minute - pre_open_min) * 60
                    x[min(max(int(at), 0), span) :] += j.size
            x[-1] = l1  # exact at the fixing time
            paths[sku] = x
        # constituents: reprice at Poisson times to latent x basis of the day
        n_pub = len(publish)
        quotes = np.empty((len(self.parts), n_pub))
        rate = self.reprice_per_hour * span / 3600
        for r, c in enumerate(self.parts):
            carry = self.latest[r, t - 1]
            today = self.prices[r, t]
            if today <= 0:
                quotes[r] = carry
                continue
            times = np.sort(rng.integers(0, span, rng.poisson(rate)))
            if len(times):
                basis = today / math.exp(lp[c.sku][t])
                k = np.searchsorted(times, publish, side="right") - 1
                quotes[r] = np.where(k >= 0, np.exp(paths[c.sku][times[np.maximum(k, 0)]]) * basis, carry)
            else:
                quotes[r] = carry
            quotes[r, -1] = today
        rows, names = [], []
        for g in self.groups:
            prices, providers = quotes[g.rows], self.providers[g.rows]
            v = indicative(prices, self.weights[g.rows], providers, g.rule)
            # distinct providers quoting at the pre-open (a set: `np.unique` would import numpy.ma, ~40 M instructions)
            have = len(set(providers[prices[:, 0] > 0].tolist()))
            official = self.fixings[g.name].get(day)
            if have < g.rule.min_contributors or np.isnan(v).any():  # the previous fixing carries
                previous = self._previous(g.name, day)
                v = np.where(
                    np.isnan(v) | (have < g.rule.min_contributors), np.nan if previous is None else previous, v
                )
            if official is not None:
                v[-1] = official
            if np.isnan(v).any():
                continue  # nothing to publish yet (never fixed)
            rows.append(v)
            names.append(g.name)
        by_name = dict(zip(names, rows))
        latent = {}
        for bk in self.baskets:
            if any(s not in by_name for s in bk.weights):
                continue
            rows.append(sum(w * by_name[s] for s, w in bk.weights.items()))
            official = self.fixings.get(bk.name, {}).get(day)
            if official is not None:
                rows[-1][-1] = official
            names.append(bk.name)
            latent[bk.name] = sum(
                w * np.exp(paths[s]) * (self.fixings[s].get(day, 0) / math.exp(lp[s][t])) for s, w in bk.weights.items()
            )
        return IndexDay(publish, names, np.stack(rows), latent)

    def _previous(self, name: str, day) -> float | None:
        series = self.fixings[name]
        before = [d for d in series if d < day]
        return float(series[max(before)]) if before else None
