"""The compiled value trader (cfx/core/_valuecore.pyx, `CompiledValueTrader`)
against the Python reference (`ValueTrader`), side by side.

A hypothesis property drives a pair of them through the same random script
(quotes, private signals and public expected settlements, with and without
the context's `value_signal`, positions, session bounds, fills and other
order events of their executors' children, wake-ups at the times they
asked for and spurious ones, day ends, pickling) on two identical
scripted contexts, over specs that reach every branch (beliefs with and
without memory, thresholds, position limits, flips of the side worked,
the U-shaped activity), and fails on any difference in what they send
(commands, wake-up requests, arguments and their types), in what they
drew from their generators, or in their state (every field, floats to the
bit, a belief's type too). Seeded scripts with the shipped spec and a run
on a real engine do the same at length; `test_agents`' value-trader tests
run on both traders (conftest's `cfx_value`)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_agents import H27, J27
from test_mmcore import bits
from test_noisecore import SessionCtx, apply_market, drive, executor_state, long_script, series_i
from test_noisecore import steps as noise_steps

from cfx import core
from cfx.agents import Quote, ValueTrader, ValueTraderSpec
from cfx.agents.base import REGISTRY, SECOND
from cfx.agents.compiled import COMPILED, FITS, agent_class

needs_vc = pytest.mark.skipif(
    not core.agents_available() or ValueTrader not in COMPILED, reason="the compiled value trader is not built"
)
SERIES = (H27, J27)


def compiled_type() -> type:
    return COMPILED[ValueTrader]


class ValueCtx(SessionCtx):
    """`SessionCtx` with a private signal of the latent value (``latent``; `value_signal`, as
    `cfx.sim.participant.AgentContext` gives one) or none (``private`` False: the trader falls back on
    `expected_settlement` and its own noise), and with or without session bounds."""

    def __init__(self, series, seed: int, private: bool, session: bool) -> None:
        super().__init__(series, seed, 0)
        self.latent: dict[str, float | int | None] = {}
        self.private(private)
        if not session:
            self.session = None  # (as a context that does not say: always continuous)

    def private(self, on: bool) -> None:
        self.value_signal = self._signal if on else None

    def _signal(self, series: str, noise_ticks: float):
        v = self.latent.get(series)
        if v is None:
            return None
        return v + float(self.rng.normal(0.0, noise_ticks)) if noise_ticks > 0 else v


# ----------------------------------------------------------------------------- state, to the bit


def state(vt, ctx) -> dict:
    return {
        "views": vt.views,
        "keep": bits(vt._keep),
        "targets": list(vt.targets),
        "beliefs": bits(vt.beliefs),
        "belief_types": [type(v).__name__ for v in vt.beliefs.values()],
        "orders": bits(vt.own.orders),
        "changes": vt.own.changes,
        "alarms": (bits(vt.alarms.at), bits(vt.alarms.earliest)),
        "executors": [(s, executor_state(ex)) for s, ex in vt.executors.items()],
        "rng": ctx.rng.bit_generator.state,  # the same draws, as many
    }


# ----------------------------------------------------------------------------- the script

values = (
    st.none()
    | st.integers(250, 350)
    | st.floats(250.0, 350.0)
    | st.sampled_from([1e300, -1e300, float("inf"), float("-inf"), float("nan")])  # (int() of a size fails alike)
)

steps = st.one_of(  # the noise trader's, and the private signal's
    noise_steps,
    st.tuples(st.just("latent"), series_i, values),
    st.tuples(st.just("private"), st.booleans()),
)

specs = st.fixed_dictionaries(
    {
        "series": st.sampled_from([("front",), ("front", "front+1")]),
        "noise_ticks": st.sampled_from([0.0, 0.5, 2.0]),
        "memory": st.sampled_from([0.0, 1.0, 6.0]),
        "threshold_ticks": st.sampled_from([0.0, 1.0, 1.5, 20.0]),
        "lots_per_tick": st.sampled_from([0.01, 1.0, 16.0, 1e4]),
        "max_position": st.integers(0, 100),
        "min_trade_lots": st.integers(1, 10),
        "mean_interval_ns": st.integers(SECOND // 100, 120 * SECOND),
        "horizon_s": st.sampled_from([0.001, 1.0, 90.0, 3600.0]),
        "child_lots": st.integers(1, 10),
        "urgency": st.sampled_from([0.0, 0.5, 0.8, 1.0]),
        "activity_amplitude": st.sampled_from([0.0, 2.5]),
        "activity_decay_s": st.floats(1.0, 3600.0),
    }
)


def children(vt) -> list:
    """The child orders of the trader's executors: (id, series, side, price, qty)."""
    return [(oid, ex.series, ex.side, c[0], c[1]) for ex in vt.executors.values() for oid, c in ex.children.items()]


def apply(ctx: ValueCtx, step: tuple) -> None:
    """`apply_market`, and the private signal's steps."""
    if step[0] == "latent":
        ctx.latent[SERIES[step[1]]] = step[2]
    elif step[0] == "private":
        ctx.private(step[1])
    else:
        apply_market(ctx, step)


def run_pair(params: dict, script: list, private: bool, session: bool, seed: int = 5) -> int:
    """Both traders through ``script`` (`drive`); assert they agree after every step. Returns the commands sent."""
    spec = ValueTraderSpec(**params)
    traders = [ValueTrader(spec), compiled_type()(spec)]
    ctxs = [ValueCtx(SERIES, seed, private, session) for _ in traders]
    for vt, ctx in zip(traders, ctxs):
        for s in SERIES:
            ctx.expected[s] = ctx.index[s] = 300
            ctx.latent[s] = 310.0
        ctx.quotes[SERIES[0]] = Quote(299, 5, 301, 5, 300)
        if session:
            ctx.bounds = (-600 * SECOND, 8 * 3600 * SECOND)
        vt.on_start(ctx)
    return drive(traders, ctxs, script, state, children, apply)


@needs_vc
@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(specs, st.lists(steps, min_size=20, max_size=120), st.booleans(), st.booleans(), st.integers(0, 2**32))
def test_the_compiled_value_trader_sends_draws_and_keeps_what_the_reference_does(
    params, script, private, session, seed
):
    run_pair(params, script, private, session, seed)


BASELINE = {  # the shipped scenarios' value trader (baseline.toml), on a shorter clock
    "series": ("front", "front+1"),
    "noise_ticks": 1.5,
    "threshold_ticks": 1.5,
    "lots_per_tick": 16.0,
    "max_position": 80,
    "min_trade_lots": 3,
    "mean_interval_ns": 15 * SECOND,
    "horizon_s": 300.0,
    "child_lots": 5,
    "urgency": 0.8,
    "activity_amplitude": 2.5,
    "activity_decay_s": 1200.0,
    "memory": 6.0,
}


@needs_vc
@pytest.mark.parametrize("seed, private", [(1, True), (2, True), (3, False)])
def test_a_long_random_script_keeps_them_alike_and_does_work(seed, private):
    """Long seeded scripts (hypothesis's examples are short) with the shipped spec: many
    views, executors turning, fills, all alike."""
    value = 300.0

    def moves(rng, i: int) -> list:  # the latent value wanders; the public expectation follows
        nonlocal value
        value += float(rng.normal(0.0, 3.0))
        return [("latent", i, value), ("anchor", i, round(value), round(value), None)]

    script = long_script(np.random.default_rng(seed), moves)
    assert run_pair(BASELINE, script, private, session=True, seed=seed) > 1500


def _engine_session(seed: int) -> tuple[list, list]:
    """`test_agents`' fake market (a real engine, a deep book) with three value traders of the shipped
    kind while the expected settlement wanders: every command sent, and what the traders kept."""
    from test_agents import FakeMarket, deep_book, make

    m = FakeMarket((H27, J27))
    for s in (H27, J27):
        m.expected[s] = 300
        deep_book(m, s, bid=295, ask=305, qty=10_000)
    spec = ValueTraderSpec(**BASELINE)
    agents = [make(m, spec, account=10 + i, seed=seed * 1000 + i)[0] for i in range(3)]
    rng = np.random.default_rng(seed)
    for k in range(24):  # two hours, a new expected settlement every five minutes
        for s in (H27, J27):
            m.expected[s] = 300 + int(rng.integers(-12, 13))
        m.run((k + 1) * 300 * SECOND)
    return m.commands, [(a.views, bits(a.beliefs), sorted(a.executors)) for a in agents]


@needs_vc
@pytest.mark.parametrize("seed", [1, 2])
def test_on_a_real_engine_it_sends_what_the_reference_sends(seed, monkeypatch):
    py = _engine_session(seed)
    monkeypatch.setitem(REGISTRY, ValueTraderSpec, compiled_type())
    comp = _engine_session(seed)
    assert len(py[0]) > 300 and comp == py


# ----------------------------------------------------------------------------- the choice


def test_agent_class_compiles_only_the_plain_value_trader_with_a_spec_that_fits(monkeypatch):
    spec = ValueTraderSpec()
    assert agent_class(spec, "python") is ValueTrader
    if ValueTrader not in COMPILED:  # not built: nothing to compile it with
        assert agent_class(spec, "compiled") is ValueTrader
        return
    comp = agent_class(spec, "compiled")
    assert comp is compiled_type() and issubclass(comp, ValueTrader)
    assert agent_class(ValueTraderSpec(mean_interval_ns=FITS), "compiled") is ValueTrader  # beyond int64's comfort
    assert agent_class(ValueTraderSpec(horizon_s=FITS / 1e9), "compiled") is ValueTrader
    assert agent_class(ValueTraderSpec(horizon_s=FITS / 2e9), "compiled") is comp

    class PluginSpec(ValueTraderSpec, tag="plugin_value"):
        pass

    class Plugin(ValueTrader):  # a researcher's subclass: its overrides must run, so the reference does
        pass

    monkeypatch.setitem(REGISTRY, PluginSpec, Plugin)
    assert agent_class(PluginSpec(), "compiled") is Plugin
