"""Shared test setup: the replay tests run once per engine.

`cfx_engine` sets ``CFX_ENGINE`` for the tests of the modules in
`ENGINE_MODULES`, once per engine in ``CFX_TEST_ENGINES`` (default
``python,compiled``; the compiled runs skip when the core is not built).
The fallback test runs them with ``CFX_TEST_ENGINES=auto`` and the
extension disabled.

`cfx_book` runs the book and engine tests of `BOOK_MODULES` once per book:
the reference `cfx.book.OrderBook` and the compiled
`cfx.core._orderbook.CompiledOrderBook` (skipped when not built), by
making it what an `Engine` built without ``book_type`` uses and what the
test module calls ``OrderBook``.

`cfx_maker` runs the market-maker tests of `MAKER_MODULES` once per
maker (the reference and the compiled one), `cfx_noise` their
noise-trader tests once per noise trader, `cfx_value` their value-trader
tests once per value trader, `cfx_momentum` and `cfx_basis` their
momentum- and basis-trader tests once per trader.
"""

from __future__ import annotations

import os

import pytest

from cfx import core

ENGINE_MODULES = {"test_replay"}
BOOK_MODULES = {"test_book", "test_engine", "test_engine_sessions", "test_engine_properties"}
MAKER_MODULES = {"test_agents", "test_agent_view"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__.rsplit(".", 1)[-1] in ENGINE_MODULES:
        engines = os.environ.get("CFX_TEST_ENGINES", "python,compiled").split(",")
        metafunc.parametrize("cfx_engine", engines, indirect=True)
    if metafunc.module.__name__.rsplit(".", 1)[-1] in BOOK_MODULES:
        metafunc.parametrize("cfx_book", ["python", "compiled"], indirect=True)
    if metafunc.module.__name__.rsplit(".", 1)[-1] in MAKER_MODULES and "maker" in metafunc.function.__name__:
        metafunc.parametrize("cfx_maker", ["python", "compiled"], indirect=True)
    if metafunc.module.__name__.rsplit(".", 1)[-1] in MAKER_MODULES and "noise" in metafunc.function.__name__:
        metafunc.parametrize("cfx_noise", ["python", "compiled"], indirect=True)
    if metafunc.module.__name__.rsplit(".", 1)[-1] in MAKER_MODULES and "value_trader" in metafunc.function.__name__:
        metafunc.parametrize("cfx_value", ["python", "compiled"], indirect=True)
    if metafunc.module.__name__.rsplit(".", 1)[-1] in MAKER_MODULES and "momentum_trader" in metafunc.function.__name__:
        metafunc.parametrize("cfx_momentum", ["python", "compiled"], indirect=True)
    if metafunc.module.__name__.rsplit(".", 1)[-1] in MAKER_MODULES and "basis_trader" in metafunc.function.__name__:
        metafunc.parametrize("cfx_basis", ["python", "compiled"], indirect=True)


@pytest.fixture(autouse=True)
def cfx_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    name = getattr(request, "param", None)
    if name is None:
        yield None
        return
    if name == "compiled" and not core.available():
        pytest.skip("the compiled core is not built")
    monkeypatch.setenv("CFX_ENGINE", name)
    yield name


@pytest.fixture(autouse=True)
def cfx_book(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    name = getattr(request, "param", None)
    if name != "compiled":
        yield name
        return
    if not core.available():
        pytest.skip("the compiled core is not built")
    import cfx.engine

    compiled = core.book_type("compiled")
    monkeypatch.setattr(cfx.engine, "OrderBook", compiled)
    if hasattr(request.module, "OrderBook"):
        monkeypatch.setattr(request.module, "OrderBook", compiled)
    yield name


@pytest.fixture(autouse=True)
def cfx_maker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The market-maker tests of `MAKER_MODULES` run once per maker: the
    reference `MarketMaker` and `cfx.agents.compiled.CompiledMarketMaker`
    (skipped when not built), made what ``agent_for`` (so a `Simulation`
    too) gives for a `MarketMakerSpec`."""
    name = getattr(request, "param", None)
    if name != "compiled":
        yield name
        return
    if not core.agents_available():
        pytest.skip("the compiled market maker is not built")
    from cfx.agents import REGISTRY, MarketMaker, MarketMakerSpec
    from cfx.agents.compiled import COMPILED

    monkeypatch.setitem(REGISTRY, MarketMakerSpec, COMPILED[MarketMaker])
    yield name


def _agent_per_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, agent: str, spec: str):
    """With the "compiled" param: ``cfx.agents.<agent>``'s compiled version (skipped when not
    built) made what ``agent_for`` gives for a ``<spec>``; the param, or None."""
    name = getattr(request, "param", None)
    if name == "compiled":
        import cfx.agents
        from cfx.agents.compiled import COMPILED

        cls = getattr(cfx.agents, agent)
        if not core.agents_available() or cls not in COMPILED:
            pytest.skip(f"the compiled {agent} is not built")
        monkeypatch.setitem(cfx.agents.REGISTRY, getattr(cfx.agents, spec), COMPILED[cls])
    return name


@pytest.fixture(autouse=True)
def cfx_noise(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The noise-trader tests of `MAKER_MODULES` run once per noise trader:
    the reference `NoiseTrader` and `cfx.agents.compiled.CompiledNoiseTrader`
    (skipped when not built), made what ``agent_for`` gives for a `NoiseTraderSpec`."""
    return _agent_per_engine(request, monkeypatch, "NoiseTrader", "NoiseTraderSpec")


@pytest.fixture(autouse=True)
def cfx_value(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The value-trader tests of `MAKER_MODULES` run once per value trader:
    the reference `ValueTrader` and `cfx.agents.compiled.CompiledValueTrader`
    (skipped when not built), made what ``agent_for`` gives for a `ValueTraderSpec`."""
    return _agent_per_engine(request, monkeypatch, "ValueTrader", "ValueTraderSpec")


@pytest.fixture(autouse=True)
def cfx_momentum(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The momentum-trader tests of `MAKER_MODULES`, once per momentum trader (`cfx_value`'s way)."""
    return _agent_per_engine(request, monkeypatch, "MomentumTrader", "MomentumTraderSpec")


@pytest.fixture(autouse=True)
def cfx_basis(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The basis-trader tests of `MAKER_MODULES`, once per basis trader (`cfx_value`'s way)."""
    return _agent_per_engine(request, monkeypatch, "BasisTrader", "BasisTraderSpec")


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two tiny real runs for the report tests (tests/report_support.py)."""
    from report_support import make_runs

    return make_runs(tmp_path_factory.mktemp("report_runs"))


@pytest.fixture
def run_writer():
    """``run_writer(out)``: a `RunWriter` for a test that drives a `Simulation`
    itself and never closes its run; its files are closed after the test."""
    from cfx.sim.outputs import RunWriter

    made: list[RunWriter] = []

    def make(out):
        made.append(RunWriter(out))
        return made[-1]

    yield make
    for writer in made:
        writer.abandon()
