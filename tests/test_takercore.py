"""The compiled takers (cfx/core/_takercore.pyx: `CompiledMomentumTrader`,
`CompiledBasisTrader`) against their Python references (`MomentumTrader`,
`BasisTrader`), side by side.

A hypothesis property drives each pair through the same random script
(quotes with and without a last price, one-sided books, expected
settlements, a perpetual's funding rate, positions, session bounds, fills
and other order events of their IOC orders, wake-ups at the times they
asked for and spurious ones, day ends, delistings, pickling) on two
identical scripted contexts, over specs that reach every branch (windows,
thresholds, clips and limits, the U-shaped activity), and fails on any
difference in what they send (commands, wake-up requests, arguments and
their types), in what they drew from their generators, or in their state
(trends, sums, orders, targets). Seeded long scripts with the shipped
specs do the same at length, and whole runs hold the run hash and journal
equal with the takers compiled or not (everything else compiled alike)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_agents import H27, J27
from test_mmcore import PERP, ScriptCtx, bits
from test_noisecore import SessionCtx, drive
from test_noisecore import apply_market as noise_market

from cfx import core
from cfx.agents import BasisTrader, BasisTraderSpec, MomentumTrader, MomentumTraderSpec, Quote
from cfx.agents.base import REGISTRY, SECOND
from cfx.agents.compiled import COMPILED, FITS, agent_class

needs_tc = pytest.mark.skipif(
    not core.agents_available() or MomentumTrader not in COMPILED or BasisTrader not in COMPILED,
    reason="the compiled takers are not built",
)
SERIES = (H27, J27, PERP)


# ----------------------------------------------------------------------------- state


def momentum_state(mt, ctx) -> dict:
    return {
        "targets": list(mt.targets),
        "trends": [
            (s, bits(list(t.short)), bits(list(t.long)), bits(t.short_sum), bits(t.long_sum), type(t.short_sum))
            for s, t in mt.trends.items()
        ],
        "orders": bits(mt.own.orders),
        "changes": mt.own.changes,
        "rng": ctx.rng.bit_generator.state,  # the same draws, as many
    }


def basis_state(bt, ctx) -> dict:
    return {
        "targets": list(bt.targets),
        "orders": bits(bt.own.orders),
        "changes": bt.own.changes,
        "rng": ctx.rng.bit_generator.state,
    }


def orders(trader) -> list:
    """The trader's live orders: (id, series, side, price, qty)."""
    return [(oid, o[0], o[1], o[2], o[3]) for oid, o in trader.own.orders.items()]


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
    st.tuples(st.just("last"), series_i, prices),  # a trade printed: the last price alone moves
    st.tuples(st.just("expected"), series_i, st.none() | st.integers(1, 400) | st.floats(1.0, 400.0)),
    st.tuples(st.just("funding"), st.none() | st.integers(-50_000, 50_000)),
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


def apply_market(ctx: ScriptCtx, step: tuple) -> None:
    """`test_noisecore.apply_market` over these series, and the takers' own steps."""
    kind = step[0]
    if kind == "last":
        q = ctx.quotes[SERIES[step[1]]]
        ctx.quotes[SERIES[step[1]]] = Quote(q.bid, q.bid_qty, q.ask, q.ask_qty, step[2])
    elif kind == "expected":
        ctx.expected[SERIES[step[1]]] = step[2]
    elif kind == "funding":
        ctx.funding = step[1]
    else:
        noise_market(ctx, step, SERIES)


momentum_specs = st.fixed_dictionaries(
    {
        "series": st.sampled_from([("front",), ("front", "front+1"), ("front", "HOP-PERP")]),
        "short_window": st.integers(1, 6),
        "extra_window": st.integers(1, 20),
        "threshold_ticks": st.sampled_from([0.0, 0.3, 1.0, 4.0]),
        "clip_lots": st.integers(1, 6),
        "max_position": st.integers(0, 20),
        "mean_interval_ns": st.integers(SECOND // 100, 120 * SECOND),
        "activity_amplitude": st.sampled_from([0.0, 2.5]),
        "activity_decay_s": st.floats(1.0, 3600.0),
    }
)

basis_specs = st.fixed_dictionaries(
    {
        "series": st.sampled_from([("front",), ("front", "front+1"), ("front", "front+1", "HOP-PERP")]),
        "threshold_ticks": st.sampled_from([0.0, 0.5, 2.0]),
        "perpetual_threshold_ticks": st.sampled_from([0.0, 0.25, 2.5]),
        "cost_ticks": st.sampled_from([0.0, 0.15, 1.5]),
        "clip_lots": st.integers(1, 6),
        "max_position": st.integers(0, 20),
        "mean_interval_ns": st.integers(SECOND // 100, 120 * SECOND),
        "funding_intervals": st.sampled_from([0.0, 1.0, 8.0]),
    }
)


def momentum_spec(params: dict) -> MomentumTraderSpec:
    p = dict(params)
    p["long_window"] = p["short_window"] + p.pop("extra_window")
    return MomentumTraderSpec(**p)


def run_pair(reference: type, spec, script: list, session: bool, seed: int, state) -> int:
    """The reference and its compiled twin through ``script``; they must agree after every step
    (`drive`). Returns the commands sent."""
    traders = [reference(spec), COMPILED[reference](spec)]
    ctxs = [(SessionCtx if session else ScriptCtx)(SERIES, seed, 0) for _ in traders]
    for t, ctx in zip(traders, ctxs):
        for s in SERIES:
            ctx.expected[s] = 300
        ctx.quotes[SERIES[0]] = Quote(299, 5, 301, 5, 300)
        if session:
            ctx.bounds = (-600 * SECOND, 8 * 3600 * SECOND)
        t.on_start(ctx)
    return drive(traders, ctxs, script, state, orders, apply_market)


@needs_tc
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(momentum_specs, st.lists(steps, min_size=20, max_size=120), st.booleans(), st.integers(0, 2**32))
def test_the_compiled_momentum_trader_sends_draws_and_keeps_what_the_reference_does(params, script, session, seed):
    run_pair(MomentumTrader, momentum_spec(params), script, session, seed, momentum_state)


@needs_tc
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(basis_specs, st.lists(steps, min_size=20, max_size=120), st.booleans(), st.integers(0, 2**32))
def test_the_compiled_basis_trader_sends_draws_and_keeps_what_the_reference_does(params, script, session, seed):
    run_pair(BasisTrader, BasisTraderSpec(**params), script, session, seed, basis_state)


def long_script(rng: np.random.Generator) -> list:
    """A long seeded script (hypothesis's examples are short): trending and reverting prices,
    expected settlements on either side of the book, fills and order events of the IOC orders,
    positions, runs of wake-ups, a new session now and then, day ends and pickling."""
    script: list = []
    price = 300
    for n in range(2500):
        r = rng.random()
        i = int(rng.integers(len(SERIES)))
        if r < 0.3:
            price = max(20, price + int(rng.integers(-3, 4)) + (1 if (n // 300) % 2 else -1))
            script.append(("quote", i, price, int(rng.integers(1, 20)), int(rng.integers(0, 3)), 7, price))
        elif r < 0.38:
            script.append(("expected", i, float(price + rng.normal(0.0, 6.0))))
        elif r < 0.4:
            script.append(("funding", int(rng.integers(-20_000, 20_000))))
        elif r < 0.45:
            script.append(("position", i, int(rng.integers(-8, 9))))
        elif r < 0.6:
            script.append(("fill", int(rng.integers(10)), int(rng.integers(1, 6)), False))
        elif r < 0.68:
            what = ["accepted", "cancelled", "reject", "reject_unknown"][int(rng.integers(4))]
            script.append(("event", what, int(rng.integers(10))))
        else:
            script.append(("run", int(rng.integers(1, 5))))
        if n % 400 == 0:
            script.append(("session", -int(rng.integers(0, 7200)), int(rng.integers(0, 7200))))
        if n % 1000 == 999:
            script += [("day_end",), ("pickle",)]
    return script


BASELINE_MOMENTUM = MomentumTraderSpec(  # the shipped one (baseline.toml)
    activity_amplitude=2.5, long_window=30, threshold_ticks=1.0, clip_lots=2, max_position=12
)
BASELINE_BASIS = BasisTraderSpec(series=("front", "front+1", "HOP-PERP"), threshold_ticks=2.0, cost_ticks=0.15)


@needs_tc
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    "reference, spec, state",
    [(MomentumTrader, BASELINE_MOMENTUM, momentum_state), (BasisTrader, BASELINE_BASIS, basis_state)],
    ids=["momentum", "basis"],
)
def test_a_long_random_script_keeps_them_alike_and_does_work(reference, spec, state, seed):
    assert run_pair(reference, spec, long_script(np.random.default_rng(seed)), True, seed, state) > 100


# ----------------------------------------------------------------------------- the choice, and whole runs


@pytest.mark.parametrize(
    "reference, spec_type, tag", [(MomentumTrader, MomentumTraderSpec, "m"), (BasisTrader, BasisTraderSpec, "b")]
)
def test_agent_class_compiles_only_the_plain_taker_with_a_spec_that_fits(reference, spec_type, tag, monkeypatch):
    spec = spec_type()
    assert agent_class(spec, "python") is reference
    if reference not in COMPILED:  # not built: nothing to compile it with
        assert agent_class(spec, "compiled") is reference
        return
    comp = agent_class(spec, "compiled")
    assert comp is COMPILED[reference] and issubclass(comp, reference)
    assert agent_class(spec_type(mean_interval_ns=FITS), "compiled") is reference  # beyond int64's comfort

    class PluginSpec(spec_type, tag=f"plugin_taker_{tag}"):
        pass

    class Plugin(reference):  # a researcher's subclass: its overrides must run, so the reference does
        pass

    monkeypatch.setitem(REGISTRY, PluginSpec, Plugin)
    assert agent_class(PluginSpec(), "compiled") is Plugin


@needs_tc
@pytest.mark.parametrize("scenario, days", [("baseline", 2), ("design_perpetual", 2)])
def test_a_run_has_the_same_hash_with_the_takers_compiled_or_not(scenario, days, tmp_path, monkeypatch):
    """`cfx run` with everything compiled, and again with the takers' references (only they
    differ): the same run hash and journal, and the compiled takers did trade (their own C
    path to the compiled loop's context, which the scripted tests above do not reach)."""
    from cfx.cli import main

    runs = {}
    for which in ("reference", "compiled"):
        with monkeypatch.context() as m:
            if which == "reference":
                m.delitem(COMPILED, MomentumTrader)
                m.delitem(COMPILED, BasisTrader)
            out = tmp_path / which
            args = ["run", scenario, "--set", f"calendar.days={days}", "--out", str(out), "--quiet", "--no-report"]
            assert main(args) == 0
            runs[which] = out
    ref, comp = (json.loads((runs[w] / "summary.json").read_text()) for w in ("reference", "compiled"))
    assert json.loads((runs["compiled"] / "timing.json").read_text())["agents_engine"] == "compiled"
    assert comp["run_hash"] == ref["run_hash"]
    assert (runs["compiled"] / "journal").read_bytes() == (runs["reference"] / "journal").read_bytes()
    assert comp["volume_by_agent_type"]["momentum_trader"] > 0 and comp["volume_by_agent_type"]["basis_trader"] > 0
