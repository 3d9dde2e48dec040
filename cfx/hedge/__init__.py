"""The dealer hedge backtest behind ``cfx hedge``.

A dealer's book of SKU-specific OTC forwards is hedged with monthly basket
futures (or, with ``--run`` and ``--hedge-with perpetual``, the run's
perpetual and its funding) under several policies; the backtest reports daily P&L hedged vs
unhedged, hedge effectiveness, the basis, costs and peak margin.

Modules, top down:

- `book`: the forward CSV (`read_book`), `Forward`, monthly `Leg` s.
- `market`: the timeline, basket index, reference prices and the futures
  curve chosen (`load_market`, `Market`).
- `run`: a ``cfx run`` directory as the futures curve and basket index
  (``--run RUN_DIR``; `read_run`, `RunCurve`).
- `curves`: the futures curves (`DerivedCurve`, `CsvCurve`,
  `read_futures_csv`), below both `run` and `market`.
- `backtest`: `HedgeConfig`, the policies and the daily loop
  (`run_backtest` -> `PolicyResult` per policy). The accounting/analytics
  boundary is stated there.
- `output`: daily Parquet/CSV, summary.json, plots, the rich table.

`main(args)` is the command; library users call `read_book`, `load_market`
and `run_backtest` directly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec

from cfx.errors import InputError
from cfx.hedge.backtest import POLICIES, HedgeConfig, PolicyResult, run_backtest
from cfx.hedge.book import Forward, Leg, read_book
from cfx.hedge.curves import CsvCurve, DerivedCurve
from cfx.hedge.market import Market, load_market

__all__ = [
    "POLICIES",
    "CsvCurve",
    "DerivedCurve",
    "Forward",
    "HedgeConfig",
    "Leg",
    "Market",
    "PolicyResult",
    "load_market",
    "main",
    "read_book",
    "run_backtest",
]

_FLAGS = (
    "window",
    "roll_days",
    "rebalance_days",
    "fee",
    "rate",
    "half_spread",
    "impact",
    "risk_premium",
    "futures_noise",
    "noise_persistence",
)


def config_from_args(args) -> HedgeConfig:
    """The flags as a validated `HedgeConfig`; a bad value is an InputError
    naming the flag."""
    raw = {k: getattr(args, k) for k in _FLAGS if getattr(args, k, None) is not None}
    try:
        return msgspec.convert(raw, HedgeConfig)
    except msgspec.ValidationError as e:
        msg = str(e).replace("`", "")
        for k in _FLAGS:
            tag = f" - at $.{k}"
            if msg.endswith(tag):
                raise InputError(f"--{k.replace('_', '-')}: {msg[: -len(tag)]}") from None
        raise InputError(msg) from None


def policies_from_args(chosen: list[str] | None) -> list[str]:
    if not chosen or "all" in chosen:
        return list(POLICIES)
    out = ["unhedged"]  # the baseline every effectiveness is measured against
    for p in chosen:
        if p not in out:
            out.append(p)
    return out


def _check_not_a_run(out: Path) -> None:
    """``--out`` is not a ``cfx run`` directory: the hedge's summary.json
    would replace the run's. A hedge's own earlier output is fine."""
    import json

    from cfx.sim.rundir import holds_run

    found = holds_run(out)
    if found == ["summary.json"]:
        try:
            doc = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            doc = None
        if isinstance(doc, dict) and "policies" in doc and "run_hash" not in doc:
            return  # what cfx hedge wrote there before
    if found:
        raise InputError(
            f"--out {out}: holds a cfx run ({', '.join(found)}); its summary.json would be replaced, use another --out"
        )


def main(args) -> dict | None:
    """`cfx hedge`: read the book, build the market, run the policies, write
    the outputs to ``--out``; print the comparison table, or with ``--json``
    return the summary (summary.json's document) for the CLI to print."""
    cfg = config_from_args(args)
    from cfx import writes

    writes.check_dir(args.out, "--out")  # before the backtest: a bad --out is the only thing said
    _check_not_a_run(Path(args.out))
    start = None
    if args.start:
        try:
            start = dt.date.fromisoformat(args.start)
        except ValueError:
            raise InputError(f"--start: {args.start!r} is not a date (YYYY-MM-DD)") from None
    run = args.run
    if run is not None and args.futures is not None:
        raise InputError("--run and --futures both give the futures curve; give one of them")
    forwards = read_book(args.book)
    market = load_market(
        forwards,
        book=args.book,
        prices=args.prices,
        fixings=args.fixings,
        futures=args.futures,
        run=run,
        hedge_with=getattr(args, "hedge_with", None),
        seed=args.seed,
        start=start,
        risk_premium=cfg.risk_premium,
        noise=cfg.futures_noise,
        persistence=cfg.noise_persistence,
    )
    policies = policies_from_args(args.policy)
    results = run_backtest(forwards, market, policies, cfg)
    minvar = results.get("minvar")
    if minvar is not None and minvar.extra.get("minvar_fallback_days"):
        import sys

        n = minvar.extra["minvar_fallback_days"]
        print(
            f"warning: minvar fell back to the naive 1:1 hedge on {n} of {len(market.dates)} days (fewer than "
            f"--window {cfg.window} price changes so far, or the future did not move)",
            file=sys.stderr,
        )
    inputs = {
        "book": Path(args.book).name,
        "prices": args.prices and Path(args.prices).name,
        "fixings": args.fixings and Path(args.fixings).name,
        "futures": args.futures and Path(args.futures).name,
        "run": run and Path(run).name,
        "seed": args.seed,
        "start": start.isoformat() if start else None,
        "policies": policies,
        "hedge_with": "perpetual" if market.perpetual else "months",
        "execution": "spread + impact model (not routed through a simulated book)",
    }
    from cfx.hedge.output import print_table, write_outputs

    out = Path(args.out)
    try:
        doc = write_outputs(out, results, market, forwards, cfg, inputs)
    except OSError as e:
        raise InputError(f"{out}: cannot write: {e.strerror}") from None
    if getattr(args, "json", False):
        return doc
    print_table(out, results, market, forwards)
    return None
