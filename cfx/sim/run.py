"""A scenario in, a run directory out (what `cfx run`, `cfx.run` and sweeps do).

`run_scenario` is the one entry point (the CLI, the API and sweeps call it): it
builds the index fixings for the scenario's calendar, runs the simulation
with a progress bar, writes the clearing tables and ``summary.json``, and
returns the summary. Wall-clock figures go to ``timing.json`` so that
everything else in the directory is identical for the same scenario and seed.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import math
import os
import shutil
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from cfx import index as ix
from cfx.index.intraday import IntradayIndex, groups_of
from cfx import core, logs
from cfx.products import first_business_days
from cfx.errors import InputError
from cfx.sim import checkpoint
from cfx.sim import scenario as scn
from cfx.sim import windows
from cfx.sim.rundir import RunDir
from cfx.writes import write_atomic
from cfx.sim.loop import Simulation
from cfx.sim.outputs import RunWriter
from cfx.sim.clock import minutes
from cfx.sim.shocks import apply_index_moves, timeline
from cfx.types import SettlementTier

log = logs.get_logger("cfx.sim")
HISTORY_DAYS = 40  # business days of fixings before the run: volatility lookback and first references


class IndexBuild(msgspec.Struct):
    """What the index layer gives a run: the official fixings of every
    published name (micro-$/GPU-hour by date) and, with the generator, the
    intraday process (None with a quotes CSV)."""

    fixings: dict[str, dict[dt.date, int]]
    intraday: IntradayIndex | None
    quality: dict[str, dict[dt.date, tuple[int, str]]] = {}  # name -> date -> (contributors, flag)


def build_index(sc: Any) -> IndexBuild:
    """Fixings of every basket, SKU and SKU x region index covering the run,
    its history and every listed contract month to its end, with the
    scenario's index moves; the generator's seed is the scenario seed
    unless ``index.generator.seed`` pins it."""
    cal = sc.calendar
    days = first_business_days(cal.start, cal.days)
    first = days[0] - dt.timedelta(days=HISTORY_DAYS * 7 // 5 + 3)
    last_month_end = _month_end(days[-1], sc.products.months_ahead)
    cfg: ix.IndexConfig = sc.index
    baskets = list(sc.products.baskets)
    moves = [s for s in sc.shocks if isinstance(s, scn.IndexMove)]
    intraday = None
    if cfg.quotes is None:
        gen = cfg.generator or ix.GeneratorConfig()
        span = len(first_business_days(first, (last_month_end - first).days + 1))
        seed = gen.seed if gen.seed is not None else sc.seed
        gen = msgspec.structs.replace(gen, start=first, days=span, seed=seed)
        sample = ix.daily_sample(gen)
        offset = sample.dates.index(days[0])
        for jump in index_move_jumps(moves, baskets, offset):
            if jump.sku in sample.log_price:
                sample.add_jump(jump)
        parts = ix.constituents(gen, sample)
        cfg = msgspec.structs.replace(cfg, generator=gen, baskets=baskets, start=None, end=None)
        computed = ix.run(cfg, ix.quotes_of(gen, parts))
    else:
        cfg = msgspec.structs.replace(cfg, baskets=baskets)
        computed = ix.run(cfg)
    fixings = {name: ix.fixing_values(fs) for name, fs in computed.items()}
    quality = {name: {f.date: (f.contributors, f.flag.value) for f in fs} for name, fs in computed.items()}
    for b in baskets:
        if not any(d < days[0] for d in fixings[b.name]):
            raise InputError(
                f"index: no fixing of {b.name} before the first day {days[0]} (the quotes must start earlier)"
            )
    if cfg.quotes is None:
        info = sc.information
        groups = groups_of(parts, cfg.fixing, cfg.region_fixing, cfg.per_sku)
        intraday = IntradayIndex(
            gen,
            sample,
            parts,
            groups,
            baskets,
            fixings,
            seed=ix.generator_seed(gen),
            reprice_per_hour=info.reprice_per_hour,
            overnight=info.overnight_variance,
        )
    else:
        apply_index_moves(fixings, days, moves, baskets)
    return IndexBuild(fixings, intraday, quality)


def build_fixings(sc: Any) -> dict[str, dict[dt.date, int]]:
    """The official fixings of `build_index`."""
    return build_index(sc).fixings


def index_move_jumps(moves: list, baskets: list, offset: int) -> list[ix.Jump]:
    """Index moves as jumps of the SKUs of their baskets: each business day
    of a move's window one equal log step, at the move's time if it has one.
    `offset`: the sample's day number of the run's first day."""
    out = []
    for move in moves:
        skus = sorted({s for b in baskets if not move.baskets or b.name in move.baskets for s in b.weights})
        step = math.log(1 + move.pct / 100) / move.over_days
        minute = minutes(move.time) if move.time is not None else None
        for d in range(move.day, move.day + move.over_days):
            out.extend(ix.Jump(sku, offset + d, step, minute) for sku in skus)
    return out


def _month_end(day: dt.date, months_ahead: int) -> dt.date:
    y, m = day.year, day.month + months_ahead
    y += (m - 1) // 12
    m = (m - 1) % 12 + 1
    return dt.date(y, m, 1) - dt.timedelta(days=1)


def run_scenario(
    sc: Any, out: str | Path, *, progress: bool = True, overwrite: bool = False, log: bool = False
) -> dict:
    """Run ``sc`` (a loaded `Scenario`) into directory ``out``; return the
    summary. ``out`` is locked for the run and must not hold another run
    unless ``overwrite``; ``log``: write ``out/run.log`` too."""
    out = Path(out)
    book_engine = core.choose_book()  # CFX_ENGINE; an InputError before the run directory is touched
    agent_engine = core.choose_agents()  # the same variable: the built-in agents' compiled hot paths
    with RunDir(out, overwrite=overwrite):
        built = build_index(sc)
        writer = RunWriter(out, events=sc.output.events, journal=sc.output.journal)
        sim = Simulation(
            sc,
            writer,
            fixings=built.fixings,
            intraday=built.intraday,
            book_engine=book_engine,
            agent_engine=agent_engine,
        )
        sim.fixing_quality = built.quality  # for fixings.parquet; pickled with the checkpoints
        _day_done(sim, out)
        return _execute(sim, writer, out, progress, log)


def _day_done(sim: Simulation, out: Path) -> None:
    """A day boundary: a checkpoint when the run keeps a journal (resuming
    needs both), else only the day's part files closed."""
    if sim.sc.output.journal:
        checkpoint.save(sim, out)
    else:
        sim.writer.end_part()


def resume_run(out: str | Path, *, progress: bool = True, log: bool = False) -> dict:
    """Continue the killed run in ``out`` from its last checkpoint; return
    the summary, the same as the uninterrupted run's."""
    out = Path(out)
    with RunDir(out, resume=True):
        sim, cp = checkpoint.load(out)
        writer = RunWriter(out, parts=cp.parts, position=cp.position, events=sim.sc.output.events, digests=cp.digests)
        sim.writer = writer
        sim.venue.journal = writer.journal  # not pickled with the venue: the resumed run's own
        return _execute(sim, writer, out, progress, log)


@contextmanager
def _few_collections():
    """While a simulation runs, the cyclic garbage collector looks less
    often: what exists before it (modules, the scenario, the built
    simulation) is frozen out of its view, and the youngest generation is
    collected every 20,000 net allocations instead of 700 (the run makes
    millions of short-lived events and heap items, almost none of them in
    cycles). Baseline, 5 days: 0.15 s -> 0.06 s in the collector. The
    settings before are restored after; the run's outputs do not change."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(20_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _execute(sim: Simulation, writer: RunWriter, out: Path, progress: bool, log_file: bool) -> dict:
    """Run ``sim`` to its end, checkpointing each day, then write the final
    tables, the summary and the timing."""
    sc = sim.sc
    if log_file:
        logs.configure(out / "run.log")
    started = time.perf_counter()
    bar = _Bar(sc.calendar.days, sim.next_day) if progress else None

    def on_day(day: int, days: int, commands: int) -> None:
        if day < days:
            _day_done(sim, out)
        if bar is not None:
            bar.update(day, commands)

    sim.on_progress = on_day
    log.info(
        "run.start",
        scenario=sc.name,
        seed=sc.seed,
        days=sc.calendar.days,
        agents=len(sim.participants),
        out=str(out),
        from_day=sim.next_day,
    )
    try:
        try:
            with _few_collections():
                stats = sim.run()
        except BaseException:
            writer.abandon()
            raise
        finally:
            if bar is not None:
                bar.stop()
        writer.close()
        seconds = time.perf_counter() - started
        staging = out / ".staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        sim.venue.clearing.write_tables(staging, quality=getattr(sim, "fixing_quality", None))
        sim.otc.write(staging)
        write_agents_table(sim, staging / "agents.parquet")
        sim.information.write_table(staging / "indicative.parquet")
        for f in sorted(staging.iterdir()):
            os.replace(f, out / f.name)
        staging.rmdir()
        summary = summarize(sc, sim, writer, stats)
        timing = {
            "wall_seconds": round(seconds, 2),
            "engine_messages": stats["engine_messages"],
            "events": writer.event_count,
            "events_per_s": round(writer.event_count / seconds) if seconds else 0,
            "engine_messages_per_s": round(stats["engine_messages"] / seconds) if seconds else 0,
            "engine": getattr(sim, "book_engine", "python"),
            "agents_engine": getattr(sim, "agent_engine", "python"),
        }  # the books' engine (cfx.core.choose_book) and the built-in agents' (cfx.core.choose_agents)
        write_atomic(out / "timing.json", json.dumps(timing, indent=2) + "\n")
        write_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")
        checkpoint.remove(out)
        writer.cleanup()
        log.info("run.done", run_hash=summary["run_hash"], **timing)
    finally:
        if log_file:
            logs.configure()
    return summary


def write_agents_table(sim: Simulation, path: Path) -> None:
    """Who is who: account, agent type and number, starting collateral."""
    import pyarrow as pa

    from cfx import tables

    ps = sim.participants
    schema = tables.schema(
        "agents",
        [
            ("account", pa.int64()),
            ("agent_type", tables.STRING),
            ("agent_index", pa.int64()),
            ("collateral_usd", pa.float64()),
        ],
    )
    tables.write(
        tables.table(
            {
                "account": [p.account for p in ps],
                "agent_type": [type(p.spec).__struct_config__.tag for p in ps],
                "agent_index": [p.agent.index for p in ps],
                "collateral_usd": [float(p.spec.collateral_usd) for p in ps],
            },
            schema,
        ),
        path,
    )


def summarize(sc: Any, sim: Simulation, writer: RunWriter, stats: dict) -> dict:
    """The key metrics of a run (all deterministic)."""
    ch = sim.venue.clearing
    tiers = Counter(str(s.tier) for s in ch.settlements)
    by_series: dict[str, list] = {}
    for s in ch.settlements:
        by_series.setdefault(s.series, []).append(s)
    vols, tracking = [], []
    deviation: dict[str, float] = {}
    for symbol, rows in by_series.items():
        prices = [r.price for r in rows if r.tier is not SettlementTier.FINAL]
        rets = [math.log(b / a) for a, b in zip(prices, prices[1:]) if a > 0 and b > 0]
        if len(rets) > 1:
            mean = sum(rets) / len(rets)
            vols.append(math.sqrt(sum((r - mean) ** 2 for r in rets) / (len(rets) - 1) * 252))
        for r in rows:  # against what the series should trade at: its expected final settlement that day
            if r.tier is SettlementTier.FINAL:
                continue
            expected = sim.expected_by_date.get((r.date, symbol))
            if expected:
                t = (r.price - expected) / expected
                tracking.append(t)
                deviation[symbol] = max(deviation.get(symbol, 0.0), abs(t))
    snaps = sim.book_stats
    front = snaps.get("front", {})

    def book_figures(st: dict) -> dict:
        return {
            "mean_spread_ticks": round(st["spread_sum"] / st["two_sided"], 3) if st["two_sided"] else None,
            "mean_top_depth_contracts": round(st["depth_sum"] / st["samples"], 2),
            "two_sided_fraction": round(st["two_sided"] / st["samples"], 4),
        }

    layers = {
        "collateral": 0,
        "own_contribution": 0,
        "insurance_fund": 0,
        "others_contributions": 0,
        "house_capital": 0,
        "uncovered": 0,
    }
    for d in ch.defaults:
        if type(d).__name__ == "DefaultLossCovered":
            layers["collateral"] += d.from_collateral
            layers["own_contribution"] += d.from_own_contribution
            layers["insurance_fund"] += d.from_insurance
            layers["others_contributions"] += d.from_fund
            layers["house_capital"] += d.from_house
    uncovered: dict[int, int] = {}
    for d in ch.defaults:
        if type(d).__name__ == "DefaultLossCovered":
            uncovered[d.account] = d.uncovered  # cumulative: the last run's figure per defaulter
    layers["uncovered"] = sum(uncovered.values())
    defaulted = {d.account for d in ch.defaults if type(d).__name__ == "AccountDefaulted"}
    still_open = {a: {s: p.qty for s, p in ch.accounts[a].positions.items() if p.qty} for a in sorted(defaulted)}
    calls = [c for c in ch.calls if type(c).__name__ == "MarginCallIssued"]
    defaults = [d for d in ch.defaults if type(d).__name__ == "AccountDefaulted"]
    volume = sum(sim.volume.values())
    kind = {p.account: type(p.spec).__struct_config__.tag for p in sim.participants}
    last: dict[int, Any] = {}
    for st in ch.statements:
        last[st.account] = st
    pnl: dict[str, float] = {}
    for account, st in last.items():
        if account in kind:
            t = kind[account]
            pnl[t] = pnl.get(t, 0) + (st.realized_pnl + st.unrealized_pnl - st.fees_total)
    funding: dict[str, int] = {}  # perpetual funding received (+) or paid (-), in P&L too
    for f in ch.funding:
        t = kind.get(f.account, "other")
        funding[t] = funding.get(t, 0) + f.amount
        if t in pnl:
            pnl[t] += f.amount
    tick_lot_usd = sc.products.tick_usd * sc.products.contract_unit
    parts: dict[str, dict[str, float]] = {}  # agents that split their P&L (market makers: spread, adverse selection)
    for p in sim.participants:
        split = getattr(p.agent, "pnl_parts", None)
        if split is not None:
            acc = parts.setdefault(kind[p.account], {})
            for k, v in split().items():
                acc[k] = acc.get(k, 0.0) + v * tick_lot_usd
    traded: dict[str, int] = {}
    for account, qty in sim.volume_by_account.items():
        t = kind.get(account, "other")
        traded[t] = traded.get(t, 0) + qty
    return {
        "scenario": sc.name,
        "question": sc.question,
        "seed": sc.seed,
        "days": sc.calendar.days,
        "agents": len(sim.participants),
        "engine_messages": stats["engine_messages"],
        "commands": sim.commands,
        "events": writer.event_count,
        "trades": sim.trade_count,
        "volume_contracts": volume,
        "volume_by_series": dict(sorted(sim.volume.items())),
        **(
            book_figures(front)
            if front
            else {"mean_spread_ticks": None, "mean_top_depth_contracts": None, "two_sided_fraction": None}
        ),
        "book_by_series": {k: book_figures(v) for k, v in sorted(snaps.items())},
        "settlement_volatility_annual": round(sum(vols) / len(vols), 4) if vols else None,
        "tracking_error_rms": round(math.sqrt(sum(t * t for t in tracking) / len(tracking)), 5) if tracking else None,
        "max_settlement_deviation_by_series": {k: round(v, 4) for k, v in sorted(deviation.items())},
        "settlement_tiers": dict(sorted(tiers.items())),
        "halts": sim.halts,
        "auctions_reopening": sim.reopenings,
        "auctions_uncrossed": sim.uncrosses,
        "band_expansions": sim.band_expansions,
        "band_recentres": sim.band_moves,
        "margin_calls": len(calls),
        "defaults": len(defaults),
        "liquidation_fills_contracts": sim.liquidation_fills,
        "default_auctions": len(sim.liquidator.auctions),
        "defaulters_open_positions": {str(a): p for a, p in still_open.items() if p},
        "default_losses_usd_by_layer": {k: round(v / 1e6, 2) for k, v in layers.items()},
        "guarantee_fund_used_usd": round((layers["own_contribution"] + layers["others_contributions"]) / 1e6, 2),
        "rejects": dict(sorted(sim.rejects.items())),
        "mm_withdrawal": windows.measure(sc, writer.path("book_top"), writer.path("trades")),
        "shocks": timeline(sc),
        "pnl_usd_by_agent_type": {t: round(v / 1e6, 2) for t, v in sorted(pnl.items())},
        "pnl_parts_usd_by_agent_type": {t: {k: round(v, 2) for k, v in d.items()} for t, d in sorted(parts.items())},
        "volume_by_agent_type": dict(sorted(traded.items())),
        "baskets": [b.name for b in sc.products.baskets],
        "otc": sim.otc.summary(),
        **perpetual_summary(sim, ch, funding, defaults),
        "tick_usd": sc.products.tick_usd,
        "contract_unit": sc.products.contract_unit,
        "run_hash": writer.hash.hexdigest(),
    }


def perpetual_summary(sim: Simulation, ch: Any, funding: dict[str, int], defaults: list) -> dict:
    """The perpetuals' figures: premium, basis and funding per series, funding
    by agent type, and the defaults declared on the mark (none without a perpetual)."""
    perps = sim.perpetual.summary(sim.tick_micro)
    if not perps:
        return {}
    by_interval: dict[tuple[int, str], int] = {}
    for f in ch.funding:
        by_interval[(f.ts, f.series)] = by_interval.get((f.ts, f.series), 0) + f.amount
    n = len(perps)
    basis = [p["mean_abs_basis_ticks"] for p in perps.values() if p["mean_abs_basis_ticks"] is not None]
    return {
        "perpetual": {
            "mean_abs_premium_pct": round(sum(p["mean_abs_premium_pct"] for p in perps.values()) / n, 6),
            "mean_abs_basis_ticks": round(sum(basis) / len(basis), 4) if basis else None,
            "mean_abs_interval_premium_pct": round(
                sum(p["mean_abs_interval_premium_pct"] or 0 for p in perps.values()) / n, 6
            ),
            "mean_abs_funding_rate_pct": round(sum(p["mean_abs_funding_rate_pct"] or 0 for p in perps.values()) / n, 6),
            "series": perps,
            "funding_paid_usd_by_agent_type": {t: round(v / 1e6, 2) for t, v in sorted(funding.items())},
            "funding_intervals_paid": len(by_interval),
            "funding_net_max_abs": max((abs(v) for v in by_interval.values()), default=0),
            "defaults_on_mark": len(ch.mark_defaults),
            "defaults": len(defaults),
            "liquidation_fills_contracts": sim.liquidation_fills,
        }
    }


class _Bar:
    """A rich progress bar over simulated days, with engine commands per second."""

    def __init__(self, days: int, done: int = 0) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("simulating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("days"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            transient=False,
            console=Console(stderr=True),
        )
        self.task = self.progress.add_task("run", total=days, completed=done, rate="")
        self.started = time.perf_counter()
        self.progress.start()

    def update(self, day: int, commands: int) -> None:
        elapsed = time.perf_counter() - self.started
        rate = f"{commands / elapsed:,.0f} commands/s" if elapsed else ""
        self.progress.update(self.task, completed=day, rate=rate)

    def stop(self) -> None:
        self.progress.stop()
