"""The compiled agent context (`cfx.sim._context.Context`) against its
reference, `cfx.sim.participant.AgentContext`: the same names an agent can
call; the same answers, errors, jitter draws, order ids and arrival times
when every agent of two identical runs, one on each, also makes random
calls of every kind before each of its hooks (odd argument types too),
so the same run hash; the same on the paths that read other classes by
name (a participant, a tape, a simulation that overrides `arrive`); its
pickle resumes as it left off."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import numpy as np
import pytest

from cfx import core
from cfx.agents import MomentumTrader, ValueTrader
from cfx.agents.base import Quote
from cfx.agents.compiled import COMPILED
from cfx.api import load
from cfx.sim import checkpoint, loop, scenario as scn
from cfx.sim.loop import ARRIVE, Simulation
from cfx.sim.participant import AgentContext, Participant
from cfx.sim.run import build_fixings, build_index, run_scenario
from cfx.sim.tape import QuoteTape, TradeTape
from cfx.types import OrderKind, Side, TimeInForce

SMALL = Path(__file__).parent / "data" / "sim_small.toml"
OTC_SMALL = Path(__file__).parent / "data" / "otc_small.toml"


def _compiled() -> type:
    if not loop.fanout_available():
        pytest.skip("the compiled context is not built (no C++ compiler, or CFX_NO_EXTENSION=1)")
    from cfx.sim._context import Context

    return Context


def test_the_compiled_context_offers_every_name_of_the_reference():
    Context = _compiled()
    names = {n for n in dir(AgentContext) if not n.startswith("__")} | set(AgentContext.__slots__)
    assert names - set(dir(Context)) == set()


def test_a_run_on_the_compiled_loop_gives_its_agents_the_compiled_context(tmp_path, run_writer, monkeypatch):
    Context = _compiled()
    sc = scn.load(SMALL)
    sim = Simulation(sc, run_writer(tmp_path / "run"), fixings=build_fixings(sc))
    assert {type(p.ctx) for p in sim.participants} == {Context}
    monkeypatch.setenv("CFX_ENGINE", "python")
    sim = Simulation(sc, run_writer(tmp_path / "python"), fixings=build_fixings(sc))
    assert {type(p.ctx) for p in sim.participants} == {AgentContext}


def test_what_an_attached_context_keeps_is_never_replaced_in_a_run(tmp_path, monkeypatch):
    """`cfx.sim._context.KEPT`, the simulation's attributes each compiled
    context keeps once the fan-out attaches it: the same objects at the end
    of a run of three days as when the fan-out was installed, while the
    simulation's __dict__, where the rest is read, was replaced (each
    day's checkpoint puts a copy in its place: it is looked up at each read)."""
    _compiled()
    from cfx.sim import _context

    installed: list = []
    install = Simulation._install_fanout

    def record(sim) -> None:
        install(sim)
        installed.append((sim, sim.__dict__, {name: getattr(sim, name) for name in _context.KEPT}))

    monkeypatch.setattr(Simulation, "_install_fanout", record)
    summary = run_scenario(load(SMALL, **{"calendar.days": 3}), tmp_path / "run", progress=False)
    [(sim, state, kept)] = installed
    assert sim.__dict__ is not state
    assert all(getattr(sim, name) is kept[name] for name in _context.KEPT)
    assert summary["trades"] > 0


# ---------------------------------------------------------------------------- two runs, random calls


class Probe:
    """An agent wrapped: before each of its hooks, a few random calls of
    its context (reads mostly, then orders, cancels, modifies and wake-ups,
    some with arguments of other types or out of range), each call's
    answer or error logged, then the agent's own hook."""

    def __init__(self, agent, rng: random.Random, log: list, rate: float) -> None:
        self._agent, self._rng, self._log, self._rate = agent, rng, log, rate
        self._ids: list = []

    def __getattr__(self, name: str):
        attr = getattr(self._agent, name)
        if not (callable(attr) and name.startswith("on_")):
            return attr

        def hook(ctx, *args):
            if self._rng.random() < self._rate:
                for _ in range(self._rng.randint(1, 6)):
                    self._call(ctx, name)
            return attr(ctx, *args)

        return hook

    def _call(self, ctx, hook: str) -> None:
        rng = self._rng
        listed = ctx.listed()
        series = rng.choice([*listed, "NOPE"]) if listed else "NOPE"
        now = ctx.now
        r = rng.random()
        if r < 0.55:
            name, args = rng.choice(
                [
                    ("quote", (series,)),
                    ("trades", (series, rng.choice([0, now - 10**9, now - 10**6, now, now + 1]))),
                    ("position", (series,)),
                    ("expected_settlement", (series,)),
                    ("value_signal", (series, rng.choice([0.0, 0.5, 3.0]))),
                    ("settlement", (series,)),
                    ("session", ()),
                    ("index_ticks", (series,)),
                    ("depth", (series, 3)),
                    ("settlement_window", ()),
                    ("batch_interval_ns", ()),
                ]
            )
            kw = {}
        elif r < 0.75:
            q = ctx.quote(series)
            price = q.bid if q.bid is not None else (q.last if q.last is not None else 100)
            qty = rng.choice([1, 2, np.int64(1), True, 1.0])
            price = rng.choice([price, price, np.int32(price), float(price)])
            side = rng.choice([Side.BUY, Side.SELL, Side.BUY, "sell", "up"])
            name, args = "submit", (rng.choice([series, series, series, 7]), side, qty, price)
            kw = rng.choice(
                [
                    {},
                    {"tif": TimeInForce.IOC},
                    {"tif": TimeInForce.IOC, "post_only": rng.choice([True, np.bool_(True), "no"])},
                    {"tif": "IOC", "kind": OrderKind.LIMIT},
                    {"kind": OrderKind.MARKET},
                ]
            )
        elif r < 0.9:
            oid = rng.choice([*self._ids[-5:], 10**6, np.int64(1), 2**70, 1.5, -1]) if self._ids else 3
            if rng.random() < 0.5:
                name, args = "cancel", (oid,)
            else:
                name, args = "modify", (oid, rng.choice([100, np.int64(99), 2.5]), rng.choice([1, 3, np.int16(2)]))
            kw = {}
        elif r < 0.97:
            name, kw = "wake_after", {}
            args = (rng.choice([0, 1, -5, 10**6, 10**9, np.int64(5 * 10**8), 2.5e7, True, 2**70]),)
        else:
            name, args, kw = "cancel_all", (rng.choice([None, series, 5]),), {}
        try:
            result = getattr(ctx, name)(*args, **kw)
        except (TypeError, ValueError, LookupError, OverflowError) as e:
            result = (type(e).__name__, str(e))
        if name == "submit" and type(result) is int:
            self._ids.append(result)
        self._log.append((hook, now, name, repr(args), repr(kw), result))


def _probed_run(sc, out: Path, run_writer, reference: bool, seed: int, rate: float):
    """``sc`` simulated with every agent probed; ``reference``: its
    contexts `AgentContext`, else the compiled one."""
    built = build_index(sc)
    writer = run_writer(out)
    sim = Simulation(sc, writer, fixings=built.fixings, intraday=built.intraday)
    log: list = []
    for p in sim.participants:
        p.entry_ns += 1_000 * p.account  # each its own entry latency, unlike its market data's
        if reference:
            p.ctx = AgentContext(sim, p)
        p.agent = Probe(p.agent, random.Random(seed * 1000 + p.account), log, rate)
    sim.run()
    jitter = [list(p._jitter) for p in sim.participants]
    return log, writer.hash.hexdigest(), jitter, sim._order_id, sim.stats


@pytest.mark.parametrize(
    ("scenario", "days", "seed", "rate"),
    [("baseline", 2, 1, 0.02), ("baseline", 1, 2, 0.1), (str(SMALL), 2, 3, 0.3), (str(OTC_SMALL), 2, 4, 0.3)],
)
def test_the_compiled_context_answers_and_acts_as_the_reference_in_a_run(
    tmp_path, run_writer, scenario, days, seed, rate
):
    """Two runs of one scenario, the same random calls made by every agent
    (reads, orders of odd types, cancels and modifies of ids known and not,
    wake-ups of every size): the same answers and errors in the same order,
    the same jitter left, the same order ids and the same run hash."""
    Context = _compiled()
    sc = load(scenario, **{"calendar.days": days})
    reference = _probed_run(sc, tmp_path / "reference", run_writer, True, seed, rate)
    compiled = _probed_run(sc, tmp_path / "compiled", run_writer, False, seed, rate)
    log = reference[0]
    assert len(log) > 200
    calls = {entry[2] for entry in log}
    assert {"quote", "trades", "submit", "cancel", "modify", "wake_after", "value_signal"} <= calls
    assert any(type(entry[5]) is tuple and entry[5][0] == "TypeError" for entry in log)  # odd types were tried
    for i, (ours, theirs) in enumerate(zip(compiled[0], log)):
        assert ours == theirs, (i, ours, theirs)
    assert compiled == reference
    assert Context is not AgentContext


# ---------------------------------------------------------------------------- other classes, read by name


class Proxy:
    """A participant of another class than `Participant`."""

    def __init__(self, p: Participant) -> None:
        for name in Participant.__slots__:
            setattr(self, name, getattr(p, name))

    def delay(self, fixed: int) -> int:
        return Participant.delay(self, fixed)


class Tape(QuoteTape):
    __slots__ = ()


class Trades(TradeTape):
    __slots__ = ()


class Arriving(Simulation):
    """A simulation with its own `arrive` and `next_order_id`: the compiled context calls them."""

    def arrive(self, ts, cmd):
        self.arrived.append((ts, cmd))
        super().arrive(ts, cmd)

    def next_order_id(self):
        return super().next_order_id() + 1000


@pytest.mark.parametrize("odd", ["participant", "tapes", "simulation", "huge", "numpy"])
def test_the_compiled_context_reads_other_classes_by_name_as_the_reference(tmp_path, run_writer, odd):
    """A participant, tapes or a simulation of other classes, or times
    that are not int64 ints (beyond it, numpy's): the same answers, orders
    and wake-ups as the reference's."""
    Context = _compiled()
    base = 2**64 if odd == "huge" else 0
    stamp = np.int64 if odd == "numpy" else int
    sc = scn.load(SMALL)
    results = []
    for cls in (AgentContext, Context):
        sim = (Arriving if odd == "simulation" else Simulation)(
            sc, run_writer(tmp_path / cls.__name__), fixings=build_fixings(sc)
        )
        sim.arrived = []
        p = sim.participants[0]
        p.jitter_ns, p.sigma, p._jitter, p.entry_ns, p.md_ns = 1_000, 0.5, [], 700, 300
        if odd == "participant":
            p = Proxy(p)
        p.positions = {"X": 3}
        quotes, trades = (Tape(), Trades()) if odd == "tapes" else (QuoteTape(), TradeTape())
        sim.tapes["X"], sim.trade_tapes["X"] = quotes, trades
        for i, ts in enumerate((1_000, 1_500, 4_000)):
            quotes.record(stamp(base + ts), Quote(100 + i, 5, 102 + i, 7, None))
            trades.record(stamp(base + ts), 100 + i, 1 + i, Side.BUY)
        ctx = cls(sim, p)
        log = []
        for now in range(0, 6_000, 250):
            sim.now = ctx.now = stamp(base + now + p.md_ns)
            for since in (0, 1_000, 1_001, 4_000, now):
                log.append(ctx.trades("X", stamp(base + since)))
            log.append((ctx.quote("X"), ctx.position("X"), ctx.position("Y")))
            if base:
                continue  # (an order's time beyond int64: the schedule's OverflowError)
            log.append(ctx.submit("X", Side.BUY, 1, 100 + now))
            ctx.modify(log[-1], 101, 2)
            ctx.cancel(log[-1])
            ctx.wake_after(now * 7)
            log.append(p.wake_at)
        items = [(ts, kind, getattr(a, "account", a)) for ts, kind, a, _ in sim.scheduled() if kind <= loop.WAKE]
        results.append((log, sim.arrived, items, sim._order_id, p._jitter))
    assert results[1] == results[0]
    if odd == "simulation":
        assert results[0][1]


def test_a_pickled_compiled_context_goes_on_as_it_left_off(tmp_path, run_writer):
    """The simulation pickled with its contexts (a checkpoint), both copies
    then asked the same: the same answers and the same items pushed."""
    _compiled()
    sc = scn.load(SMALL)
    sim = Simulation(sc, run_writer(tmp_path / "run"), fixings=build_fixings(sc))
    sim.writer = None
    sim.now = 5_000
    copy = pickle.loads(checkpoint._dumps(sim))  # as a checkpoint pickles it
    for s in (sim, copy):
        p = s.participants[1]
        assert p.ctx.p is p and p.ctx.sim is s and p.ctx.account == p.account and p.ctx.rng is p.rng
        p.ctx.now = s.now
        p.ctx.submit("X", Side.SELL, 2, 120, tif=TimeInForce.IOC)
        p.ctx.wake_after(10)
    assert type(copy.participants[1].ctx) is type(sim.participants[1].ctx)
    items = [
        [(ts, kind, getattr(a, "account", a)) for ts, kind, a, _ in s.scheduled() if kind <= loop.WAKE]
        for s in (sim, copy)
    ]
    assert items[0] == items[1] and any(kind == ARRIVE for _, kind, _ in items[0])


@pytest.mark.parametrize(
    ("seed", "base"), [(0, 0), (1, 0), (2, 2**30 - 3_000), (3, 2**60 - 40_000), (4, -(2**61)), (5, 2**63 - 900_000)]
)
def test_the_compiled_context_searches_the_tapes_as_bisect_does(tmp_path, run_writer, seed, base):
    """Tapes of random lengths with repeated times, asked at random times
    and latencies (before the first, on each, after the last): the same
    quotes and trades as the reference's `QuoteTape.at` and `TradeTape.between`.
    The times from ``base`` on: across a digit of CPython's ints (2**30,
    2**60, compared as C integers read off their digits), negative, and
    across 2**63 (compared as objects beyond it)."""
    Context = _compiled()
    rng = random.Random(seed)
    sc = scn.load(SMALL)
    sim = Simulation(sc, run_writer(tmp_path / "run"), fixings=build_fixings(sc))
    p = sim.participants[0]
    ours, theirs = Context(sim, p), AgentContext(sim, p)
    for _ in range(30):
        quotes, trades = QuoteTape(), TradeTape()
        sim.tapes["X"], sim.trade_tapes["X"] = quotes, trades
        ts = base
        for i in range(rng.choice([1, 2, 7, 100, 1_000])):
            ts += rng.choice([0, 0, 1, 5, 1_000])
            quotes.times.append(ts)
            quotes.quotes.append(Quote(i, 1, i + 2, 1, None))
            trades.record(ts, 100 + i, 1, Side.BUY)
        for _ in range(50):
            p.md_ns = rng.choice([0, 1, 3, 500])
            sim.now = rng.randint(base - 5, ts + 1_000)
            assert ours.quote("X") == theirs.quote("X")
            since = rng.choice([rng.randint(base - 5, ts + 5), base, ts, sim.now])
            assert ours.trades("X", since) == theirs.trades("X", since)


# ---------------------------------------------------------------------------- the agents' C calls


class Forward:
    """A context of no compiled class: every name read, set or called
    forwarded to a compiled `Context` (so the compiled agents call it by
    name, as they call any context but that one), each call logged."""

    def __init__(self, ctx, log: list) -> None:
        object.__setattr__(self, "_ctx", ctx)
        object.__setattr__(self, "_log", log)

    def __getattr__(self, name: str):
        attr = getattr(self._ctx, name)
        if not callable(attr):
            return attr

        def call(*args, **kw):
            result = attr(*args, **kw)
            self._log.append((name, repr(args), repr(sorted(kw.items())), repr(result)))
            return result

        return call

    def __setattr__(self, name: str, value) -> None:
        setattr(self._ctx, name, value)


def _forwarded_run(sc, out: Path, run_writer, forward: bool):
    """``sc`` simulated on the compiled contexts, the agents given them
    (their C calls) or (``forward``) a `Forward` of them (their calls by name)."""
    built = build_index(sc)
    writer = run_writer(out)
    sim = Simulation(sc, writer, fixings=built.fixings, intraday=built.intraday, agent_engine="compiled")
    log: list = []
    if forward:
        for p in sim.participants:
            p.ctx = Forward(p.ctx, log)
    sim.run()
    state = [(p.account, dict(p.positions), p.wake_at, list(p._jitter)) for p in sim.participants]
    return log, writer.hash.hexdigest(), state, sim._order_id, sim.stats


@pytest.mark.parametrize(("scenario", "days"), [("baseline", 1), (str(SMALL), 2)])
def test_the_compiled_agents_calls_in_c_are_their_calls_by_name(tmp_path, run_writer, scenario, days):
    """The compiled agents on the compiled contexts call them from C
    (`cfx.core._agentctx`); through a plain object forwarding to the same
    contexts they call them by name: the same orders, wake-ups, draws and
    order ids, so the same run hash, and the run by name made every kind
    of call the C path makes."""
    Context = _compiled()
    if not core.agents_available():
        pytest.skip("the compiled agents are not built")
    sc = load(scenario, **{"calendar.days": days})

    direct = _forwarded_run(sc, tmp_path / "direct", run_writer, False)
    named = _forwarded_run(sc, tmp_path / "named", run_writer, True)
    calls = {entry[0] for entry in named[0]}
    assert {"quote", "position", "submit", "modify", "cancel", "wake_after", "session"} <= calls
    if scenario == "baseline":
        assert {"trades", "expected_settlement", "value_signal"} <= calls
    assert len(named[0]) > 1_000
    assert named[1:] == direct[1:]
    sim = Simulation(sc, run_writer(tmp_path / "check"), fixings=build_fixings(sc), agent_engine="compiled")
    compiled = set(COMPILED.values())
    if scenario != "baseline":  # (the small scenario has no value or momentum trader)
        compiled -= {COMPILED.get(ValueTrader), COMPILED.get(MomentumTrader)}
    assert {type(p.agent) for p in sim.participants} >= compiled
    assert all(type(p.ctx) is Context and p.ctx.direct for p in sim.participants)


def test_only_the_compiled_context_itself_is_called_from_c(tmp_path, run_writer):
    """A Python subclass of the compiled context (its overrides to be
    heard) and a copy from a pickle: ``direct`` as their class says."""
    Context = _compiled()

    class Heard(Context):
        def quote(self, series):
            return super().quote(series)

    sc = scn.load(SMALL)
    sim = Simulation(sc, run_writer(tmp_path / "run"), fixings=build_fixings(sc))
    p = sim.participants[0]
    assert Context(sim, p).direct and not Heard(sim, p).direct
    sim.writer = None
    copy = pickle.loads(checkpoint._dumps(sim))
    assert all(q.ctx.direct for q in copy.participants)
