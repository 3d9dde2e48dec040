"""The market a hedge backtest sees: business days, basket index fixings,
each forward's reference price, and the futures curve. Integers throughout
(micro-dollars per GPU-hour, futures in ticks); floats only inside the
derived curve's model before it is rounded to the tick.

Sources, in order of precedence:

- reference prices: ``--prices`` (a quote CSV as `cfx.index.read_quotes_csv`
  reads it), else the seeded index generator (`generate_quotes`);
- index fixings: ``--fixings`` (a CSV as `read_fixings_csv` reads it; basket
  fixings are computed from its SKU fixings when the basket is absent), else
  computed from the quotes with the default `FixingRule`;
- futures: ``--futures`` (CSV ``date,series,price``, price in $/GPU-h, or
  ``price_ticks``; the stand-in for a ``cfx run`` directory's settlement
  table), else ``--run RUN_DIR`` (a ``cfx run`` directory's settlement
  prices, all tiers; `cfx.hedge.run`), else `DerivedCurve`;
- with ``--run`` and no ``--fixings``, the basket index fixings are the
  run's ``fixings.parquet`` (SKU fixings and reference prices still come
  from ``--prices`` or the generator), and the timeline starts on the run's
  first settlement day unless ``--start`` is given.

Reference price of a forward, per day: the mean of that day's quotes of its
SKU at its provider (if given) and region (if given), rounded half up to the
micro-dollar; with neither given, the SKU's index fixing. A day without a
quote carries the previous value; days before the first quote take the
first (the back-fill is stated, not hidden: it only moves the day-one mark).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from cfx.errors import InputError
from cfx.hedge.book import Forward
from cfx.hedge.curves import CsvCurve, DerivedCurve, FuturesCurve, carried
from cfx.hedge.run import RunCurve, check_covers, read_run
from cfx.index import (
    Fixing,
    GeneratorConfig,
    Quote,
    basket_fixings,
    daily_fixings,
    generate_quotes,
    read_fixings_csv,
    read_quotes_csv,
)
from cfx.products import (
    DEFAULT_BASKETS,
    Basket,
    Series,
    business_days,
    last_business_day,
    make_perpetual,
    make_series,
    perpetual_symbol,
    round_half_up,
)


@dataclass
class PerpetualHedge:
    """A run's perpetual as a basket's hedge (``--hedge-with perpetual``): its
    daily mark on the timeline (the hedge's ticks) and, per day, the funding
    intervals (mark in the run's ticks, rate 1e-8) paid on the position held
    from the previous close. `funding_tick_value_micro`: one run tick on one
    contract, the ``tick_value`` of `cfx.clearing.funding.funding_payments`."""

    series: Series
    marks: np.ndarray
    funding: list[list[tuple[int, int]]]
    funding_tick_value_micro: int


class Market:
    """Everything priced on one timeline of business days.

    `index`: basket name -> micro-$ per day; `ref`: forward id -> micro-$
    per day; `curve`: the futures; `perpetual`: basket -> `PerpetualHedge`
    when the hedge holds a run's perpetual instead of the months (empty
    otherwise). Build one with `load_market`, or directly (tests do) from
    arrays.
    """

    def __init__(
        self,
        dates: Sequence[dt.date],
        index: Mapping[str, np.ndarray],
        ref: Mapping[str, np.ndarray],
        curve: FuturesCurve,
        baskets: Mapping[str, Basket] = DEFAULT_BASKETS,
        source: str = "",
        perpetual: Mapping[str, PerpetualHedge] | None = None,
    ) -> None:
        self.dates = list(dates)
        self.index = dict(index)
        self.ref = dict(ref)
        self.curve = curve
        self.baskets = baskets
        self.source = source
        self.perpetual = dict(perpetual or {})
        self._series: dict[tuple[str, int, int], Series] = {}

    def series(self, basket: str, year: int, month: int) -> Series:
        """The monthly future of `basket` (all trading from the first day)."""
        key = (basket, year, month)
        s = self._series.get(key)
        if s is None:
            s = make_series(self.baskets[basket], year, month, first_trading_day=self.dates[0])
            self._series[key] = s
        return s


def _ref_from_quotes(f: Forward, quotes: Sequence[Quote], dates: Sequence[dt.date], book: str, src: str) -> np.ndarray:
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for q in quotes:
        if q.sku == f.sku and (not f.provider or q.provider == f.provider) and (not f.region or q.region == f.region):
            by_day[q.date].append(q.price_micro)
    if not by_day:
        field = "provider" if f.provider else "region"
        raise InputError(
            f"{book}:{f.line}: field {field!r}: no price history for {f.sku} at provider {f.provider or 'any'}, "
            f"region {f.region or 'any'} in {src}"
        )
    days = sorted(by_day)
    values: list[int | None] = []
    for d in dates:
        i = bisect.bisect_right(days, d) - 1
        values.append(None if i < 0 else round_half_up(Fraction(sum(by_day[days[i]]), len(by_day[days[i]]))))
    return carried(values, f"{src}: {f.sku}")


def horizon(forwards: Sequence[Forward]) -> dt.date:
    """The last day the backtest needs: the last trading day of the latest
    delivery month (when the last hedge would settle)."""
    last = max(f.delivery_end for f in forwards)
    return last_business_day(last.year, last.month)


def load_market(  # noqa: C901 (one reader per market source; split candidate)
    forwards: Sequence[Forward],
    *,
    book: str = "book",
    prices: str | Path | None = None,
    fixings: str | Path | None = None,
    futures: str | Path | None = None,
    run: str | Path | None = None,
    seed: int = 6,
    start: dt.date | None = None,
    risk_premium: float = -0.045,
    noise: float = 0.005,
    persistence: float = 0.9,
    baskets: Mapping[str, Basket] = DEFAULT_BASKETS,
    hedge_with: str | None = None,
) -> Market:
    """The market for a book from files or the seeded generator (see the
    module docstring). The timeline is the business days of the basket
    fixings, from `start` (generator default 2027-01-04; with `run`, the
    run's first settlement day) to `horizon`."""
    if run is not None and futures is not None:
        raise InputError("--run and --futures both give the futures curve; give one of them")
    run_data = None
    run_fx: dict[str, list[Fixing]] = {}
    if run is not None:
        run_data = read_run(run)
        if start is None:
            start = run_data.days[0]
        settle = run_data.path / "settlements.parquet"
        if hedge_with is None:
            hedge_with = "months" if run_data.monthly() else "perpetual"
        if hedge_with == "months" and not run_data.monthly():
            raise InputError(
                f"{settle}: no monthly futures settlements (the run lists only the perpetual "
                f"{', '.join(sorted(run_data.perps))}); give --hedge-with perpetual"
            )
        if hedge_with == "perpetual" and not run_data.perps:
            raise InputError(
                f"{settle}: no perpetual settlements (*-PERP, tier mark); --hedge-with perpetual "
                "needs a run that lists one"
            )
        if hedge_with == "perpetual" and run_data.funding is None:
            raise InputError(
                f"{run_data.path / 'funding.parquet'}: no such file (the perpetual hedge needs the run's funding rates)"
            )
    elif hedge_with == "perpetual":
        raise InputError("--hedge-with perpetual needs --run RUN_DIR (a run that lists a perpetual)")
    perp = hedge_with == "perpetual"
    needed_baskets = sorted({f.basket for f in forwards})
    if run_data is not None and fixings is None:
        fx_path = run_data.path / "fixings.parquet"
        have = ", ".join(sorted(run_data.fixings))
        for b in needed_baskets:
            if b not in run_data.fixings:
                raise InputError(f"{fx_path}: no fixings of basket {b}, which the book needs (have {have})")
            run_fx[b] = run_data.fixings[b]
    index_skus = {s for b in needed_baskets if b not in run_fx for s in baskets[b].weights}
    needed_skus = sorted(index_skus | {f.sku for f in forwards})
    quotes: list[Quote] | None = None
    from_run = run_data is not None and prices is None and fixings is None  # the run's own SKU/region fixings
    if from_run:
        check_covers(run_data, forwards, book, perpetual=perp)
        src = f"run {run_data.path}"
    elif prices is not None:
        quotes = read_quotes_csv(prices)
        if not quotes:
            raise InputError(f"{prices}: no quotes")
        src = str(prices)
    elif fixings is None:
        gen_start = start or GeneratorConfig().start
        days = len(business_days(gen_start, horizon(forwards)))
        if days < 2:
            raise InputError(f"the book's last delivery month ends before the start {gen_start}")
        if days > 5000:
            raise InputError(f"the book needs {days} business days of generated history from {gen_start}; at most 5000")
        gen = GeneratorConfig(seed=seed, start=gen_start, days=days)
        generated = {s.name for s in gen.skus}
        for f in forwards:
            if f.sku not in generated:
                raise InputError(
                    f"{book}:{f.line}: field 'sku': {f.sku!r} is not generated (generator SKUs: "
                    f"{', '.join(sorted(generated))}); give --prices"
                )
        quotes = generate_quotes(gen)
        src = f"generator (seed {seed})"
    else:
        src = str(fixings)

    if fixings is not None:
        fx = read_fixings_csv(fixings)
    elif from_run:
        fx = dict(run_data.fixings)
    else:
        assert quotes is not None
        quoted = {q.sku for q in quotes}
        lacking = [s for s in needed_skus if s not in quoted and s in index_skus]
        if lacking:
            raise InputError(f"{src}: no quotes for {', '.join(lacking)}, which the basket index needs")
        days_all = sorted({q.date for q in quotes})
        fx = daily_fixings(
            quotes, days=business_days(days_all[0], days_all[-1]), skus=[s for s in needed_skus if s in quoted]
        )
    fx.update(run_fx)
    if run_fx and not from_run:
        src = f"{src}; index and futures from run {run_data.path}"
    for b in needed_baskets:
        if b not in fx:
            fx[b] = basket_fixings(baskets[b], fx)
    dates = sorted({f.date for b in needed_baskets for f in fx[b]})
    if start is not None:
        dates = [d for d in dates if d >= start]
    end = horizon(forwards)
    dates = [d for d in dates if d <= end]
    if len(dates) < 2:
        raise InputError(
            f"{src}: fewer than two business days of index fixings in the backtest period"
            + (f" (from {start})" if start is not None else "")
        )

    def on_timeline(fixes: list[Fixing], what: str) -> np.ndarray:
        by = {f.date: f.value_micro for f in fixes}
        seen = sorted(by)
        vals: list[int | None] = []
        for d in dates:
            i = bisect.bisect_right(seen, d) - 1
            vals.append(by[seen[i]] if i >= 0 else None)
        return carried(vals, what)

    index = {b: on_timeline(fx[b], f"{src}: basket {b}") for b in needed_baskets}
    ref: dict[str, np.ndarray] = {}
    for f in forwards:
        if f.delivery_end < dates[0]:
            raise InputError(
                f"{book}:{f.line}: field 'delivery_end': {f.delivery_end} is before the price history starts ({dates[0]})"
            )
        if from_run:
            name = f"{f.sku}.{f.region}" if f.region else f.sku
            ref[f.id] = on_timeline(fx[name], f"{src}: {name}")
        elif f.provider or f.region:
            if quotes is None:
                raise InputError(
                    f"{book}:{f.line}: field 'provider': a provider/region price needs --prices (only --fixings given)"
                )
            ref[f.id] = _ref_from_quotes(f, quotes, dates, book, src)
        else:
            if f.sku not in fx:
                raise InputError(f"{book}:{f.line}: field 'sku': no index fixings for {f.sku} in {src}")
            ref[f.id] = on_timeline(fx[f.sku], f"{src}: {f.sku}")
    if futures is not None:
        curve: FuturesCurve = CsvCurve(dates, index, futures)
    elif run_data is not None:
        curve = RunCurve(dates, index, run_data)
        if not run_fx:
            src = f"{src}; futures from run {run_data.path}"
    else:
        curve = DerivedCurve(dates, index, risk_premium=risk_premium, noise=noise, persistence=persistence, seed=seed)
    hedges: dict[str, PerpetualHedge] = {}
    if perp:
        assert run_data is not None
        for b in needed_baskets:
            sym = perpetual_symbol(baskets[b].root)
            if sym not in run_data.perps:
                raise InputError(
                    f"{run_data.path / 'settlements.parquet'}: no {sym} marks, which the book's basket "
                    f"{b} needs (it lists {', '.join(sorted(run_data.perps))})"
                )
            by = run_data.perps[sym]
            seen = sorted(by)
            marks = carried(
                [by[seen[i]] if (i := bisect.bisect_right(seen, d) - 1) >= 0 else None for d in dates],
                f"run {run_data.path}: {sym}",
            )
            fund = (run_data.funding or {}).get(sym, {})
            ser = make_perpetual(baskets[b], first_trading_day=dates[0], contract_unit=run_data.contract_unit)
            hedges[b] = PerpetualHedge(
                ser, marks, [fund.get(d, []) for d in dates], run_data.tick_micro * run_data.contract_unit
            )
        src = f"{src}; hedged with the run's perpetual"
    return Market(dates, index, ref, curve, baskets, src, hedges)
