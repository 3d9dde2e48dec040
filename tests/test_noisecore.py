"""The compiled noise trader (cfx/core/_noisecore.pyx, `CompiledNoiseTrader`)
against the Python reference (`NoiseTrader`), side by side.

A hypothesis property drives a pair of them through the same random script
(quotes, anchors, positions, session bounds, fills and other order events
of their limit orders and of their executors' children, wake-ups at the
times they asked for and spurious ones, day ends, pickling) on two
identical scripted contexts, over specs that reach every branch (Pareto
sizes, executor children, busy spells, excitement, the U-shaped activity,
max_position), and fails on any difference in what they send (commands,
wake-up requests, arguments and their types), in what they drew from
their generators, or in their state (every field, floats to the bit). The
compiled `Executor` is held to the reference's the same way on its own
(its pov style and limit price, which the noise trader does not use).
Whole runs check the run hash on both engines."""

from __future__ import annotations

import datetime as dt
import json
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_agents import H27, J27
from test_mmcore import ScriptCtx, bits

from cfx import core
from cfx.agents import DayReport, NoiseTrader, NoiseTraderSpec, Quote
from cfx.agents.base import REGISTRY, SECOND, PublicTrade
from cfx.agents.compiled import COMPILED, FITS, agent_class
from cfx.agents.execution import Executor
from cfx.types import (
    CancelReason,
    OrderAccepted,
    OrderCancelled,
    OrderKind,
    OrderRejected,
    RejectReason,
    Side,
    TimeInForce,
    Trade,
)

needs_nc = pytest.mark.skipif(
    not core.agents_available() or NoiseTrader not in COMPILED, reason="the compiled noise trader is not built"
)
BUY, SELL = Side.BUY, Side.SELL
SERIES = (H27, J27)
ACCOUNT = 1


def compiled_type() -> type:
    return COMPILED[NoiseTrader]


def compiled_executor() -> type:
    from cfx.core._noisecore import Executor as CompiledExecutor

    return CompiledExecutor


class SessionCtx(ScriptCtx):
    """`ScriptCtx` with today's session bounds (``session``), which `activity` and `in_continuous` read."""

    bounds = (0, 0)

    def session(self):
        return self.bounds


# ----------------------------------------------------------------------------- state, to the bit

EXECUTOR = (
    "series side qty start_ns end_ns style pov_rate max_child_lots limit_ticks urgency filled done children "
    "slice_ns pov_interval_ns grace_ns market_volume _tape_since crossed sent remaining working"
).split()
TRADER = "sent cancels _last_mid _busy _spell_end targets".split()


def executor_state(ex) -> dict | None:
    return None if ex is None else {f: bits(getattr(ex, f)) for f in EXECUTOR}


def state(nt, ctx) -> dict:
    out = {f: bits(getattr(nt, f)) for f in TRADER}
    out["resting"] = bits(list(nt._resting))
    out["orders"] = bits(nt.own.orders)
    out["changes"] = nt.own.changes
    out["alarms"] = None if nt.alarms is None else (bits(nt.alarms.at), bits(nt.alarms.earliest))
    out["executor"] = executor_state(nt.executor)
    out["rng"] = ctx.rng.bit_generator.state  # the same draws, as many
    return out


# ----------------------------------------------------------------------------- the script

prices = st.integers(1, 400)
maybe_price = st.none() | prices
series_i = st.integers(0, len(SERIES) - 1)

steps = st.one_of(
    st.tuples(st.just("time"), st.integers(0, 40 * SECOND)),
    st.tuples(
        st.just("quote"), series_i, maybe_price, st.integers(1, 30), st.integers(0, 4), st.integers(1, 30), maybe_price
    ),
    st.tuples(st.just("one_side"), series_i, prices, st.booleans()),
    st.tuples(st.just("anchor"), series_i, maybe_price, maybe_price, maybe_price),
    st.tuples(st.just("position"), series_i, st.integers(-40, 40)),
    st.tuples(st.just("session"), st.integers(-3600, 600), st.integers(-600, 3600)),  # (closed when open >= close)
    st.tuples(st.just("delist"), st.booleans()),  # nothing listed from the next day end (no targets), or all again
    st.tuples(st.just("fill"), st.integers(0, 9), st.integers(1, 12), st.booleans()),
    st.tuples(
        st.just("event"),
        st.sampled_from(["accepted", "cancelled", "reject", "reject_unknown"]),
        st.integers(0, 9),
    ),
    st.tuples(st.just("wake"), st.booleans()),
    st.tuples(st.just("run"), st.integers(1, 40)),  # wake-ups at the times asked for, the market as it is
    st.tuples(st.just("day_end")),
    st.tuples(st.just("pickle")),
)

specs = st.fixed_dictionaries(
    {
        "series": st.sampled_from([("front",), ("front", "front+1")]),
        "mean_interval_ns": st.integers(SECOND // 100, 60 * SECOND),
        "market_prob": st.sampled_from([0.0, 0.3, 0.7, 1.0]),
        "buy_prob": st.floats(0.0, 1.0),
        "mean_offset_ticks": st.sampled_from([0.0, 0.7, 4.0, 40.0]),
        "anchor_weight": st.sampled_from([0.0, 0.2, 1.0]),
        "min_lots": st.integers(1, 4),
        "extra_lots": st.integers(0, 30),
        "order_lifetime_ns": st.integers(SECOND // 100, 300 * SECOND),
        "max_open_orders": st.integers(1, 6),
        "max_position": st.integers(0, 30),
        "size_alpha": st.sampled_from([0.0, 0.001, 0.5, 1.2, 3.0]),  # 0.001: sizes beyond a float
        "child_lots": st.sampled_from([0, 0, 1, 2, 5]),
        "child_interval_ns": st.integers(SECOND // 100, 60 * SECOND),
        "urgency": st.sampled_from([0.0, 0.5, 0.9, 1.0]),
        "activity_amplitude": st.sampled_from([0.0, 2.5]),
        "activity_decay_s": st.floats(1.0, 3600.0),
        "excitement": st.sampled_from([0.0, 0.05, 0.5, 5.0]),
        "excitement_max_ticks": st.sampled_from([0.0, 1.0, 5.0, 50.0]),
        "busy_mult": st.sampled_from([1.0, 1.0, 10.0]),
        "busy_share": st.sampled_from([1e-6, 0.15, 0.5, 0.9]),
        "busy_mean_s": st.sampled_from([0.5, 30.0, 600.0]),
    }
)


def make_spec(params: dict) -> NoiseTraderSpec:
    p = dict(params)
    p["max_lots"] = p["min_lots"] + p.pop("extra_lots")
    return NoiseTraderSpec(**p)


def _orders(nt) -> list:
    """The trader's live orders and its executor's children: (id, series, side, price, qty)."""
    got = [(oid, o[0], o[1], o[2], o[3]) for oid, o in nt.own.orders.items()]
    ex = nt.executor
    if ex is not None:
        got += [(oid, ex.series, ex.side, c[0], c[1]) for oid, c in ex.children.items()]
    return got


def order_events(orders: list, ctx: ScriptCtx, step: tuple) -> list:
    """The order events a "fill" or "event" step delivers, to the k-th (mod count) of ``orders``
    (the reference trader's, as `_orders` lists them)."""
    kind = step[0]
    if not orders:
        return []
    oid, series, side, price, qty = orders[(step[2] if kind == "event" else step[1]) % len(orders)]
    now = ctx.now
    other = SELL if side is BUY else BUY
    if kind == "fill":
        lots, maker = step[2], step[3]
        price = price or 300  # (a market order has no price)
        if maker:
            return [Trade(0, 0, now, series, price, lots, oid, 5, ACCOUNT, 9, other)]
        return [Trade(0, 0, now, series, price, lots, 5, oid, 9, ACCOUNT, side)]
    what = step[1]
    if what == "accepted":
        return [OrderAccepted(0, 0, now, series, oid, ACCOUNT, side, OrderKind.LIMIT, TimeInForce.GTC, price, qty)]
    if what == "cancelled":
        return [OrderCancelled(0, 0, now, series, oid, ACCOUNT, qty, CancelReason.USER)]
    reason = RejectReason.UNKNOWN_ORDER if what == "reject_unknown" else RejectReason.MARKET_CLOSED
    return [OrderRejected(0, 0, now, oid, ACCOUNT, reason, series)]


def apply_market(ctx: ScriptCtx, step: tuple, series: tuple = SERIES) -> None:
    """The market a step sets on ``ctx``, its series index into ``series``."""
    kind = step[0]
    if kind == "time":
        ctx.now += step[1]
    elif kind == "quote":
        _, i, bid, bq, spread, aq, last = step
        ask = None if bid is None else bid + 1 + spread
        ctx.quotes[series[i]] = Quote(bid, bq if bid is not None else 0, ask, aq if ask is not None else 0, last)
    elif kind == "one_side":
        _, i, price, bid_side = step
        q = ctx.quotes[series[i]]
        ctx.quotes[series[i]] = Quote(price, 3, None, 0, q.last) if bid_side else Quote(None, 0, price, 3, q.last)
    elif kind == "anchor":
        s = series[step[1]]
        ctx.expected[s], ctx.index[s], ctx.settle[s] = step[2], step[3], step[4]
    elif kind == "position":
        ctx.positions[series[step[1]]] += step[2]
    elif kind == "session":
        ctx.bounds = (ctx.now + step[1] * SECOND, ctx.now + step[2] * SECOND)
    elif kind == "delist":
        ctx.series = [] if step[1] else list(series)


def wake_at_asked(nt, ctx: ScriptCtx) -> None:
    """The earliest wake-up asked for (if later than now), as the loop keeps one per agent."""
    if ctx.wakes:
        at = min(ctx.wakes)
        ctx.now = max(ctx.now, at)
        ctx.wakes = [w for w in ctx.wakes if w > at]
    nt.on_wakeup(ctx)


def hook(nt, ctx: ScriptCtx, step: tuple, events: list) -> None:
    kind = step[0]
    for ev in events:
        nt.on_order_event(ctx, ev)
    if kind == "wake":
        if step[1]:
            wake_at_asked(nt, ctx)
        else:
            nt.on_wakeup(ctx)  # a spurious one: nothing due
    elif kind == "run":
        for _ in range(step[1]):
            wake_at_asked(nt, ctx)
    elif kind == "day_end":
        nt.on_day_end(ctx, DayReport(dt.date(2027, 1, 4), {}, {}, 0))


def run_pair(params: dict, script: list, session: bool, seed: int = 5) -> int:
    """Both traders through ``script``; assert they agree after every step. Returns the commands sent."""
    spec = make_spec(params)
    traders = [NoiseTrader(spec), compiled_type()(spec)]
    ctxs = [(SessionCtx if session else ScriptCtx)(SERIES, seed, 0) for _ in traders]
    for nt, ctx in zip(traders, ctxs):
        for s in SERIES:
            ctx.expected[s] = ctx.index[s] = 300
        ctx.quotes[SERIES[0]] = Quote(299, 5, 301, 5, 300)
        if session:
            ctx.bounds = (-600 * SECOND, 8 * 3600 * SECOND)
        nt.on_start(ctx)
    return drive(traders, ctxs, script, state, _orders, apply_market)


def drive(traders: list, ctxs: list, script: list, state, orders, apply) -> int:
    """The reference and the compiled trader (started) through ``script`` on their own contexts:
    ``apply(ctx, step)`` sets the market, `hook` runs the step's hooks with the order events
    `order_events` builds from ``orders(reference)``; after every step both must have sent the same
    and ``state(trader, ctx)`` must agree (an error too, which ends the script). Returns the commands sent."""
    compiled = type(traders[1])
    assert ctxs[0].sent == ctxs[1].sent
    assert state(traders[0], ctxs[0]) == state(traders[1], ctxs[1])
    for n, step in enumerate(script):
        if step[0] == "pickle":
            traders = [pickle.loads(pickle.dumps(t, protocol=pickle.HIGHEST_PROTOCOL)) for t in traders]
            assert type(traders[1]) is compiled
        events = order_events(orders(traders[0]), ctxs[0], step) if step[0] in ("fill", "event") else []
        errors = []
        for t, ctx in zip(traders, ctxs):
            apply(ctx, step)
            try:
                hook(t, ctx, step, events)
                errors.append(None)
            except (ArithmeticError, ValueError, TypeError) as e:
                errors.append(type(e))
        assert errors[0] == errors[1], (n, step, errors)
        assert ctxs[0].sent == ctxs[1].sent, (n, step)
        assert state(traders[0], ctxs[0]) == state(traders[1], ctxs[1]), (n, step)
        if errors[0] is not None:
            break
    return len(ctxs[0].sent)


@needs_nc
@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(specs, st.lists(steps, min_size=20, max_size=120), st.booleans(), st.integers(0, 2**32))
def test_the_compiled_noise_trader_sends_draws_and_keeps_what_the_reference_does(params, script, session, seed):
    run_pair(params, script, session, seed)


BASELINE = {  # the shipped scenarios' noise trader (baseline.toml), on a shorter clock
    "series": ("front", "front+1"),
    "mean_interval_ns": 15 * SECOND,
    "market_prob": 0.7,
    "buy_prob": 0.5,
    "mean_offset_ticks": 4.0,
    "anchor_weight": 0.2,
    "min_lots": 3,
    "extra_lots": 22,
    "order_lifetime_ns": 120 * SECOND,
    "max_open_orders": 5,
    "max_position": 40,
    "size_alpha": 1.2,
    "child_lots": 2,
    "child_interval_ns": 4 * SECOND,
    "urgency": 0.9,
    "activity_amplitude": 2.5,
    "activity_decay_s": 1200.0,
    "excitement": 0.5,
    "excitement_max_ticks": 5.0,
    "busy_mult": 10.0,
    "busy_share": 0.15,
    "busy_mean_s": 60.0,
}


def long_script(rng: np.random.Generator, anchor) -> list:
    """A long seeded script of 2500 steps (hypothesis's examples are short): quotes, fills, order
    events, positions and runs of wake-ups, a new session now and then, day ends and pickling; its
    anchor steps are ``anchor(rng, series index)``'s."""
    script: list = []
    for n in range(2500):
        r = rng.random()
        i = int(rng.integers(2))
        if r < 0.25:
            b = int(rng.integers(290, 310))
            script.append(("quote", i, b, int(rng.integers(1, 20)), int(rng.integers(0, 3)), 7, b))
        elif r < 0.3:
            script += anchor(rng, i)
        elif r < 0.35:
            script.append(("position", i, int(rng.integers(-8, 9))))
        elif r < 0.55:
            script.append(("fill", int(rng.integers(10)), int(rng.integers(1, 6)), bool(rng.random() < 0.5)))
        elif r < 0.65:
            what = ["accepted", "cancelled", "reject", "reject_unknown"][int(rng.integers(4))]
            script.append(("event", what, int(rng.integers(10))))
        else:
            script.append(("run", int(rng.integers(1, 5))))
        if n % 400 == 0:
            script.append(("session", -int(rng.integers(0, 7200)), int(rng.integers(0, 7200))))
        if n % 1000 == 999:
            script += [("day_end",), ("pickle",)]
    return script


@needs_nc
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_long_random_script_keeps_them_alike_and_does_work(seed):
    """Long seeded scripts (hypothesis's examples are short) with the shipped spec: many
    commands, executors, fills, busy spells, all alike."""

    def anchor(rng, i: int) -> list:
        a = 300 + int(rng.integers(-5, 6))
        return [("anchor", i, a, a, None)]

    script = long_script(np.random.default_rng(seed), anchor)
    assert run_pair(BASELINE, script, session=True, seed=seed) > 2000


def _engine_session(seed: int) -> tuple[list, list]:
    """`test_agents`' fake market (a real engine, a market maker's deep book) with three noise traders
    of the shipped kind: every command sent, and what the traders counted."""
    from test_agents import FakeMarket, deep_book, make

    m = FakeMarket((H27, J27))
    for s in (H27, J27):
        m.expected[s] = 300
        deep_book(m, s, bid=295, ask=305, qty=10_000)
    spec = make_spec(BASELINE)
    agents = [make(m, spec, account=10 + i, seed=seed * 1000 + i)[0] for i in range(3)]
    m.run(2 * 3600 * SECOND)
    return m.commands, [(a.sent, a.cancels) for a in agents]


@needs_nc
@pytest.mark.parametrize("seed", [1, 2])
def test_on_a_real_engine_it_sends_what_the_reference_sends(seed, monkeypatch):
    py = _engine_session(seed)
    monkeypatch.setitem(REGISTRY, NoiseTraderSpec, compiled_type())
    comp = _engine_session(seed)
    assert len(py[0]) > 1000 and comp == py


# ----------------------------------------------------------------------------- the executor on its own

executor_steps = st.one_of(
    st.tuples(st.just("time"), st.integers(0, 20 * SECOND) | st.just(700 * SECOND)),  # (past the grace period)
    st.tuples(
        st.just("quote"),
        st.just(0),
        maybe_price,
        st.integers(1, 30),
        st.integers(0, 4),
        st.integers(1, 30),
        maybe_price,
    ),
    st.tuples(st.just("one_side"), st.just(0), prices, st.booleans()),
    st.tuples(st.just("tape"), prices, st.integers(1, 12)),
    st.tuples(st.just("fill"), st.integers(0, 9), st.integers(1, 12), st.booleans()),
    st.tuples(st.just("event"), st.sampled_from(["cancelled", "reject"]), st.integers(0, 9)),
    st.tuples(st.just("wake"), st.booleans()),
    st.tuples(st.just("pickle")),
)

executor_specs = st.fixed_dictionaries(
    {
        "side": st.sampled_from([BUY, SELL]),
        "qty": st.integers(1, 60),
        "horizon": st.integers(1, 600 * SECOND),
        "style": st.sampled_from(["twap", "pov"]),
        "pov_rate": st.sampled_from([0.05, 0.5, 1.0]),
        "max_child_lots": st.integers(1, 12),
        "limit_ticks": st.none() | st.integers(280, 320),
        "urgency": st.sampled_from([0.0, 0.5, 1.0]),
        "pov_interval_ns": st.integers(1, 60 * SECOND),
    }
)


@needs_nc
@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(executor_specs, st.lists(executor_steps, min_size=10, max_size=80), st.booleans())
def test_the_compiled_executor_sends_and_keeps_what_the_reference_does(params, script, tape):
    run_executor_pair(params, script, tape)


def run_executor_pair(params: dict, script: list, tape: bool) -> None:
    """Both executors through ``script`` (with a public tape or none); assert they agree after every step."""
    p = dict(params)
    horizon = p.pop("horizon")
    side, qty = p.pop("side"), p.pop("qty")
    exs = [
        cls(H27, side, qty, start_ns=SECOND, end_ns=SECOND + horizon, **p) for cls in (Executor, compiled_executor())
    ]
    ctxs = [ScriptCtx(SERIES, 9, 0) for _ in exs]
    if not tape:
        for ctx in ctxs:
            ctx.trades = None  # no public tape: pov falls back to the TWAP schedule
    for step in script:
        if step[0] == "pickle":
            exs = [pickle.loads(pickle.dumps(ex)) for ex in exs]
        events = []
        if step[0] in ("fill", "event"):
            kids = list(exs[0].children.items())
            if kids:
                oid, c = kids[step[2] % len(kids) if step[0] == "event" else step[1] % len(kids)]
                now = ctxs[0].now
                if step[0] == "fill":
                    events = [Trade(0, 0, now, H27, c[0], step[2], oid, 5, ACCOUNT, 9, SELL if side is BUY else BUY)]
                elif step[1] == "cancelled":
                    events = [OrderCancelled(0, 0, now, H27, oid, ACCOUNT, c[1], CancelReason.USER)]
                else:
                    events = [OrderRejected(0, 0, now, oid, ACCOUNT, RejectReason.MARKET_CLOSED, H27)]
        delays = []
        for ex, ctx in zip(exs, ctxs):
            if step[0] == "tape":
                if tape:
                    ctx.tape[H27].append(PublicTrade(ctx.now, step[1], step[2], BUY))
            else:
                apply_market(ctx, step)
            for ev in events:
                ex.on_order_event(ctx, ev)
            if step[0] == "wake":
                if step[1] and ctx.wakes:
                    ctx.now = max(ctx.now, min(ctx.wakes))
                    ctx.wakes.clear()
                d = ex.on_wakeup(ctx)
                delays.append(d)
                if d is not None:
                    ctx.wake_after(d)
        if delays:
            assert delays[0] == delays[1] and type(delays[0]) is type(delays[1]), step
        assert ctxs[0].sent == ctxs[1].sent, step
        assert executor_state(exs[0]) == executor_state(exs[1]), step
        assert ctxs[0].rng.bit_generator.state == ctxs[1].rng.bit_generator.state
        assert [exs[0].owns(i) for i in range(1000, 1030)] == [exs[1].owns(i) for i in range(1000, 1030)]
        assert exs[0].target(ctxs[0].now) == exs[1].target(ctxs[1].now)


@needs_nc
@pytest.mark.parametrize(
    "kw", [{"qty": 0}, {"style": "vwap"}, {"max_child_lots": 0}, {"urgency": 1.5}, {"pov_rate": 0.0}]
)
def test_the_compiled_executor_refuses_what_the_reference_refuses(kw):
    args = {"qty": 5, **kw}
    qty = args.pop("qty")
    for cls in (Executor, compiled_executor()):
        with pytest.raises(ValueError):
            cls(H27, BUY, qty, start_ns=0, end_ns=SECOND, **args)


# ----------------------------------------------------------------------------- the choice, and whole runs


def test_agent_class_compiles_only_the_plain_noise_trader_with_a_spec_that_fits(monkeypatch):
    spec = NoiseTraderSpec()
    assert agent_class(spec, "python") is NoiseTrader
    if NoiseTrader not in COMPILED:  # not built: nothing to compile it with
        assert agent_class(spec, "compiled") is NoiseTrader
        return
    comp = agent_class(spec, "compiled")
    assert comp is compiled_type() and issubclass(comp, NoiseTrader)
    assert agent_class(NoiseTraderSpec(mean_interval_ns=FITS), "compiled") is NoiseTrader  # beyond int64's comfort
    assert (
        agent_class(NoiseTraderSpec(child_lots=1, max_lots=8, child_interval_ns=FITS // 4), "compiled") is NoiseTrader
    )
    assert agent_class(NoiseTraderSpec(busy_mult=2.0, busy_share=1e-6, busy_mean_s=1e4), "compiled") is NoiseTrader
    assert agent_class(NoiseTraderSpec(busy_share=1e-6, busy_mean_s=1e4), "compiled") is comp  # (no spells)

    class PluginSpec(NoiseTraderSpec, tag="plugin_noise"):
        pass

    class Plugin(NoiseTrader):  # a researcher's subclass: its overrides must run, so the reference does
        pass

    monkeypatch.setitem(REGISTRY, PluginSpec, Plugin)
    assert agent_class(PluginSpec(), "compiled") is Plugin


@needs_nc
@pytest.mark.parametrize("scenario, days", [("otc_market", 2)])
def test_a_run_has_the_same_hash_with_either_noise_trader(scenario, days, tmp_path, monkeypatch):
    """`cfx run` with ``CFX_ENGINE=python`` (the reference agents) and auto (the compiled ones):
    the same run hash and journal. (test_mmcore's whole runs hold baseline, design_perpetual
    and design_batch to it.)"""
    from cfx.cli import main

    runs = {}
    for engine in ("python", "auto"):
        monkeypatch.setenv("CFX_ENGINE", engine)
        out = tmp_path / engine
        args = ["run", scenario, "--set", f"calendar.days={days}", "--out", str(out), "--quiet", "--no-report"]
        assert main(args) == 0
        runs[engine] = out
    py, comp = (json.loads((runs[e] / "summary.json").read_text()) for e in ("python", "auto"))
    assert py["trades"] > 100 and comp["run_hash"] == py["run_hash"]
    assert (runs["auto"] / "journal").read_bytes() == (runs["python"] / "journal").read_bytes()
    assert core.agents_available()
