"""The compiled fan-out (`cfx.sim._fanout.Fanout`) against its reference,
`Simulation._route`: the same random commands' events routed by each
through two identical simulations leave the same tapes, figures,
participants and schedule, item for item. Its loop, `Fanout.run_until`,
against `Simulation._run_until`: the same random schedule (every kind of
item, superseded wake-ups, inactive participants, agents that push items
and raise as it runs) gives the same calls in the same order and the same
state; its `wake` queues and pushes as `Simulation.wake`. A whole run gives the same hash either way; a checkpoint taken with
it resumes to the same hash."""

from __future__ import annotations

import json
import random
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from cfx import core
from cfx.api import load
from cfx.agents.base import Latency, Trigger
from cfx.core import schedule
from cfx.sim import loop, scenario as scn
from cfx.sim.loop import ARRIVE, CALL, DELIVER, MARKET_DATA, SNAPSHOT, WAKE, Simulation
from cfx.sim.participant import AgentContext, Participant
from cfx.sim.run import build_fixings, run_scenario
from cfx.sim.tape import LOG_MAX, BookTape, IndicativeTape, QuoteTape, TradeTape
from cfx.types import (
    CancelReason,
    IndicativeUncross,
    LevelChanged,
    OrderAccepted,
    OrderCancelled,
    OrderKind,
    OrderModified,
    OrderRejected,
    OrderRested,
    OrderTriggered,
    PriceBandChanged,
    RejectReason,
    SettlementPrice,
    SettlementTier,
    Side,
    TimeInForce,
    Trade,
)
from cli_support import run_cli

SMALL = Path(__file__).parent / "data" / "sim_small.toml"
SERIES = ("AAA-F27", "AAA-G27", "UNLISTED")  # the last has no tapes: events on it are routed, not recorded
LIQUIDATION_BASE = 1 << 40


def _fanout() -> type:
    if not loop.fanout_available():
        pytest.skip("the compiled fan-out is not built (no C++ compiler, or CFX_NO_EXTENSION=1)")
    from cfx.sim._fanout import Fanout

    return Fanout


class StubBook:
    """The venue's book as `_publish` reads it: a top of book the test sets."""

    def __init__(self) -> None:
        self.bid: int | None = None
        self.ask: int | None = None
        self.qty = {Side.BUY: 0, Side.SELL: 0}
        self.last_price: int | None = None

    def best_bid(self) -> int | None:
        return self.bid

    def best_ask(self) -> int | None:
        return self.ask

    def level_qty(self, side: Side, price: int) -> int:
        assert price == (self.bid if side is Side.BUY else self.ask)
        return self.qty[side]


class Stub:
    """What the fan-out touches beyond the simulation's own containers."""

    def __init__(self, **kw: object) -> None:
        self.__dict__.update(kw)


class Agent:
    """No hooks are called while routing: the items are only scheduled."""


def _simulation(seed: int) -> Simulation:
    """A simulation with just what routing needs: two listed series, six
    participants (three with triggers, one inactive, one without jitter),
    a dealer whose fills are hedges, the compiled schedule when built."""
    rng = random.Random(seed)
    sim = Simulation.__new__(Simulation)
    sim.now = 1_000_000_000
    sim.schedule = schedule.new()
    books = {s: StubBook() for s in SERIES}
    hedged: list[int] = []
    sim.venue = Stub(
        engine=Stub(book=books.__getitem__),
        clearing=Stub(config=Stub(liquidation_order_id_base=LIQUIDATION_BASE)),
    )
    sim.otc = Stub(hedgers=frozenset({6}), hedge_fill=lambda e: hedged.append(e.seq))
    sim.hedged = hedged
    sim.stub_books = books
    sim.tapes = {s: QuoteTape() for s in SERIES[:2]}
    sim.books = {s: BookTape() for s in SERIES[:2]}
    sim.trade_tapes = {s: TradeTape() for s in SERIES[:2]}
    sim.indicatives = {s: IndicativeTape() for s in SERIES[:2]}
    sim._indicated = set()
    sim._indicative_watchers = 0
    sim._printed = {}
    sim.rejects = {}
    sim.volume = {}
    sim.volume_by_account = {}
    sim.last_trade = {}
    sim.trade_count = 0
    sim.liquidation_fills = 0
    sim.window = (sim.now + 50_000_000, sim.now + 400_000_000)
    sim._window_trades = {}
    sim.settlements = {}
    sim._calls = {}
    sim.uncrosses = sim.reopenings = sim.band_expansions = sim.halts = 0
    sim.participants, sim.by_account, sim.subscribers = [], {}, []
    for account in range(1, 7):
        jitter = 0 if account == 4 else rng.choice([1_000, 50_000])
        spec = Stub(latency=Latency(entry_ns=100, market_data_ns=rng.choice([0, 7_000, 200_000]), jitter_ns=jitter))
        p = Participant(Agent(), account, spec, np.random.default_rng(seed * 10 + account))
        sim.participants.append(p)
        sim.by_account[account] = p
        if account <= 5:
            sim.subscribers.append(p)
    sim.participants[4].active = False
    triggers = [Trigger(trade=True), Trigger(best=True, indicative=True), Trigger(above=1005, below=995)]
    for p, trigger in zip(sim.participants[1:4], triggers):
        p.triggers = {SERIES[0]: trigger}
        sim._indicative_watchers += trigger.indicative
    return sim


def _command(rng: random.Random, seq: int, ts: int) -> list:
    """One command's events, in the kinds and mixes the engine emits (and some it would not)."""
    events: list = []
    for _ in range(rng.choice([0, 1, 2, 3, 3, 4, 5, 8, 40])):
        seq += 1
        series = rng.choice(SERIES + SERIES[:1])
        side = rng.choice([Side.BUY, Side.SELL])
        price = rng.randint(990, 1010)
        account = rng.randint(1, 8)  # 7 and 8: no participant's
        kind = rng.random()
        if kind < 0.45:
            events.append(LevelChanged(seq, 1, ts, series, side, price, rng.choice([0, 0, 1, 5, 20])))
        elif kind < 0.52:
            events.append(OrderRested(seq, 1, ts, series, seq, side, price, 3, 3))
        elif kind < 0.6:
            events.append(
                OrderAccepted(seq, 1, ts, series, seq, account, side, OrderKind.LIMIT, TimeInForce.GTC, price, 3)
            )
        elif kind < 0.64:
            reason = rng.choice([RejectReason.UNKNOWN_ORDER, RejectReason.BAD_PRICE])
            events.append(OrderRejected(seq, 1, ts, seq, account, reason, rng.choice([series, None])))
        elif kind < 0.68:
            events.append(OrderCancelled(seq, 1, ts, series, seq, account, 2, CancelReason.USER))
        elif kind < 0.72:
            events.append(OrderModified(seq, 1, ts, series, seq, account, price, 2, False))
        elif kind < 0.74:
            events.append(OrderTriggered(seq, 1, ts, series, seq, account, price))
        elif kind < 0.9:
            maker, taker = rng.randint(1, 8), rng.choice([rng.randint(1, 8), account])
            taker_id = rng.choice([seq, LIQUIDATION_BASE + seq])
            events.append(Trade(seq, 1, ts, series, price, rng.randint(1, 9), seq, taker_id, maker, taker, side))
        elif kind < 0.96:
            events.append(IndicativeUncross(seq, 1, ts, series, rng.choice([None, price]), 4, 1, side))
        elif kind < 0.98:
            events.append(SettlementPrice(ts, None, series, price, SettlementTier.MID))
        else:
            events.append(PriceBandChanged(seq, 1, ts, series, 900, 1100, rng.random() < 0.5))
    return events


def _move_top(rng: random.Random, sim: Simulation) -> None:
    """The venue's top of book moves now and then (or not: then nothing is published but prints)."""
    for book in sim.stub_books.values():
        if rng.random() < 0.4:
            book.bid = rng.choice([None, rng.randint(990, 1000)])
            book.ask = rng.choice([None, rng.randint(1000, 1010)])
            book.qty = {Side.BUY: rng.randint(1, 30), Side.SELL: rng.randint(1, 30)}
        if rng.random() < 0.2:
            book.last_price = rng.randint(990, 1010)


def _who(x: object) -> object:
    return ("p", x.account) if isinstance(x, Participant) else x


def _items(sim: Simulation) -> list:
    """The items routing pushed, participants by account; taken off the schedule."""
    out = []
    while (item := sim.schedule.pop(2**62)) is not None:
        ts, kind, a, b = item
        out.append((ts, kind, _who(a), b))
    return out


def _state(sim: Simulation) -> dict:
    """Everything else routing writes, participants by account."""
    return {
        "items": _items(sim),
        "books": {s: (b.bids, b.asks, b.log_ts, b.log) for s, b in sim.books.items()},
        "quotes": {s: (t.times, t.quotes) for s, t in sim.tapes.items()},
        "trades": {s: (t.times, t.trades, t.count) for s, t in sim.trade_tapes.items()},
        "indicatives": {s: (t.times, t.views) for s, t in sim.indicatives.items()},
        "figures": (
            sim.rejects,
            sim.volume,
            sim.volume_by_account,
            sim.last_trade,
            sim.trade_count,
            sim.liquidation_fills,
            sim._window_trades,
            sim._printed,
            sim._indicated,
            sim.hedged,
            sim.settlements,
            sim.band_expansions,
        ),
        "participants": [(p.pending_md, p._jitter, p.rng.bit_generator.state) for p in sim.participants],
    }


@pytest.mark.parametrize("seed", range(6))
def test_the_compiled_fanout_routes_random_commands_as_the_reference_does(seed):
    Fanout = _fanout()
    reference, compiled = _simulation(seed), _simulation(seed)
    route = Fanout(compiled).route
    rng_r, rng_c = random.Random(seed), random.Random(seed)
    seq = changes = 0
    for n in range(6_000):  # past `LOG_MAX` changes of a series: the BookTape's log is cut
        step = rng_r.choice([0, 0, 1, 1_000, 300_000])  # several commands at one time: a quote replaced at its ts
        assert step == rng_c.choice([0, 0, 1, 1_000, 300_000])
        reference.now += step
        compiled.now += step
        if n % 500 == 0:  # a settlement window from a step of 1 to one of 300,000 on: its edges are hit
            reference.window = compiled.window = (reference.now + 1, reference.now + 300_000)
        _move_top(rng_r, reference)
        _move_top(rng_c, compiled)
        events = _command(rng_r, seq, reference.now)
        assert events == _command(rng_c, seq, compiled.now)
        seq += len(events)
        changes += sum(type(e) is LevelChanged and e.series == SERIES[0] for e in events)
        if rng_r.random() < 0.3:  # market data delivered: the next change may call the agent again
            for sim in (reference, compiled):
                for p in sim.participants:
                    p.pending_md.clear()
        rng_c.random()
        Simulation._route(reference, events)
        route(events)
        assert _items(compiled) == _items(reference)  # (and taken: each comparison sees only the command's items)
        if n % 200 == 0:
            assert _state(compiled) == _state(reference)
    assert _state(compiled) == _state(reference)
    assert changes > LOG_MAX > len(reference.books[SERIES[0]].log)  # the log was cut
    assert reference.hedged and reference.liquidation_fills and reference.rejects and reference._window_trades


def test_a_run_is_routed_by_the_compiled_fanout_unless_the_engine_is_python(tmp_path, monkeypatch, run_writer):
    _fanout()
    sc = load(SMALL)
    sim = Simulation(sc, run_writer(tmp_path / "a"), fixings=build_fixings(sc))
    for method in (sim._route, sim._deliver, sim._run_until, sim.wake):
        assert type(method.__self__).__name__ == "Fanout"
    monkeypatch.setenv("CFX_ENGINE", "python")
    sim = Simulation(sc, run_writer(tmp_path / "b"), fixings=build_fixings(sc))
    assert sim._route.__func__ is Simulation._route
    assert sim._deliver.__func__ is Simulation._deliver
    assert sim._run_until.__func__ is Simulation._run_until
    assert sim.wake.__func__ is Simulation.wake


@pytest.mark.parametrize("matching", ["continuous", "batch"])
def test_a_run_routed_by_either_gives_the_same_hash(tmp_path, monkeypatch, matching):
    """The small scenario (and in batches: indicatives, their watchers) with
    the compiled fan-out and loop and with the Python ones, all else compiled."""
    _fanout()
    sc = load(SMALL, **{"products.matching": matching, "products.batch-interval-ms": 1000})
    compiled = run_scenario(sc, tmp_path / "compiled", progress=False)
    monkeypatch.setattr(loop, "fanout_available", lambda: False)
    python = run_scenario(sc, tmp_path / "python", progress=False)
    assert compiled == python


def test_a_checkpoint_taken_with_the_compiled_fanout_resumes_to_the_same_hash(tmp_path, capsys, monkeypatch):
    """Killed after day 2 of 3 with the compiled fan-out installed (not
    pickled: installed afresh on load), resumed on the Python one."""
    _fanout()
    sc = tmp_path / "three.toml"
    sc.write_text(SMALL.read_text().replace("days = 2", "days = 3"))
    whole = run_scenario(scn.load(sc), tmp_path / "whole", progress=False)
    import cfx.sim.run as run_module

    real_save = run_module.checkpoint.save

    def save_then_die(sim, out):
        assert type(sim._route.__self__).__name__ == "Fanout"
        assert type(sim._run_until.__self__).__name__ == "Fanout"
        real_save(sim, out)
        if sim.next_day == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(run_module.checkpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scn.load(sc), tmp_path / "killed", progress=False)
    monkeypatch.setattr(run_module.checkpoint, "save", real_save)
    monkeypatch.setenv("CFX_ENGINE", "python")
    resumed, _ = run_module.checkpoint.load(tmp_path / "killed")  # nothing compiled came with the pickle
    assert not {"_route", "_deliver", "_run_until", "wake"} & set(vars(resumed))
    assert resumed._run_until.__func__ is Simulation._run_until
    code, _, err = run_cli(capsys, "run", "--resume", tmp_path / "killed", "--quiet", "--no-report")
    assert code == 0, err
    assert json.loads((tmp_path / "killed" / "summary.json").read_text())["run_hash"] == whole["run_hash"]


def test_without_the_extension_the_reference_routes(monkeypatch):
    monkeypatch.setenv("CFX_NO_EXTENSION", "1")
    assert not core.available() and not loop.fanout_available()


def test_without_the_contexts_c_interface_neither_the_compiled_loop_nor_agents_are_chosen(monkeypatch):
    """`cfx.core._agentctx` alone not built (a partial build): the compiled
    context and agents, which cimport it, would not import; the reference is used."""
    import importlib.util

    find = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "cfx.core._agentctx" else find(name, *a)
    )
    assert core.available() and not loop.fanout_available() and not core.agents_available()
    assert core.choose_agents() == "python"


# ---------------------------------------------------------------------------- the loop: `run_until`

END_OF_TIME = 200_000  # the items' times are below it; the loop runs to it in steps


class Venue:
    """The venue as `send` reaches it: each command's events (fills now and
    then), and the time of the next batch boundary (`_wake_for_batch`)."""

    def __init__(self, sim: Simulation, rng: random.Random) -> None:
        self.sim, self.rng = sim, rng
        self.engine = Stub(next_batch=self.next_batch, book=None)
        self.applied: list = []

    def apply(self, cmd: object) -> list:
        self.applied.append((self.sim.now, cmd))
        r = self.rng.random()
        if r < 0.3:
            return []
        account = self.rng.randint(1, 7)
        return [Trade(len(self.applied), 1, self.sim.now, SERIES[0], 1000, 2, 1, 2, account, 3, Side.BUY)]

    def next_batch(self) -> int | None:
        return None if self.rng.random() < 0.5 else (self.sim.now // 5_000 + 1) * 5_000


class Recorder:
    """An agent that logs each hook it is called with, the clocks it sees
    then and its position, and (from its own generator) acts while the loop
    runs: wake-ups that supersede its timer, orders (arrivals), market data,
    other items; one of them raises when the test says."""

    def __init__(self, log: list, rng: random.Random) -> None:
        self.log, self.rng = log, rng
        self.fail_at: int | None = None  # the log's length at which a hook raises

    def on_wakeup(self, ctx: AgentContext) -> None:
        self._called(ctx, "wakeup")

    def on_market_data(self, ctx: AgentContext, series: str) -> None:
        self._called(ctx, "market_data", series)

    def on_order_event(self, ctx: AgentContext, e: object) -> None:
        self._called(ctx, "order_event", e)

    def _called(self, ctx: AgentContext, hook: str, *args: object) -> None:
        p, sim = ctx.p, ctx.sim
        self.log.append((hook, p.account, ctx.now, sim.now, dict(p.positions), *args))
        if self.fail_at is not None and len(self.log) >= self.fail_at:
            self.fail_at = None
            raise RuntimeError(f"agent {p.account} fails at {sim.now}")
        rng = self.rng
        r = rng.random()
        if r < 0.35:  # often earlier than its timer: that item is left, superseded
            ctx.wake_after(rng.choice([0, 1, 37, 400, 3_000, 20_000]))
        elif r < 0.55:
            sim.arrive(sim.now + rng.choice([0, 5, 900]), ("order", p.account, len(self.log)))
        elif r < 0.65 and "S1" not in p.pending_md:
            p.pending_md.add("S1")
            sim.schedule.push(sim.now + rng.choice([0, 11, 700]), MARKET_DATA, p, "S1")
        elif r < 0.7:
            sim.schedule.push(sim.now + rng.choice([0, 3]), CALL, partial(_called_back, sim, p.account))
        elif r < 0.72:
            sim.schedule.push(sim.now + 1, 9, p.account, "not a kind the loop knows")


def _called_back(sim: Simulation, account: int) -> None:
    sim.calls.append((sim.now, account))


class Proxy:
    """A participant of another class than `Participant`: read and set by name."""

    def __init__(self, agent: Recorder, account: int, sim: Simulation) -> None:
        self.agent, self.account, self.rng = agent, account, np.random.default_rng(account)
        self.pending_md: set[str] = set()
        self.queued: set[int] = set()
        self.wake_at: int | None = None
        self.active = True
        self.positions: dict[str, int] = {}
        self.ctx = AgentContext(sim, self)

    def context(self) -> AgentContext:
        self.ctx.now = self.ctx.sim.now
        return self.ctx

    def on_fill(self, e: Trade) -> None:
        Participant.on_fill(self, e)


class Context(AgentContext):
    """A context of another class than `AgentContext`: its clock set by name."""

    __slots__ = ()


def _loop_simulation(seed: int, cls: type = Simulation) -> Simulation:
    """A simulation with what the loop touches: eight participants (one
    inactive, one that is no `Participant`, one with a context of another
    class), a venue that answers with fills (`Venue`), batch boundaries in
    odd seeds, and a schedule of random items of every kind."""
    rng = random.Random(seed)
    sim = cls.__new__(cls)
    sim.now = 0
    sim.schedule = schedule.new()
    sim.venue = Venue(sim, random.Random(seed + 1))
    sim.log, sim.calls, sim.written, sim.routed = [], [], [], []
    sim.writer = Stub(write_events=sim.written.append, write_book_top=sim.written.append)
    sim._route = sim.routed.append  # the routing is not what is tested here: the deliveries are pushed below
    sim.commands = 0
    sim.batch_ns = 5_000 if seed % 2 else 0
    sim._batch_wake = -1
    sim.stats = {"engine_messages": 0, "wakeups": 0}
    sim._wake_window = (0, 0)
    sim.sc = Stub(output=Stub(book_top_interval_s=1))
    sim.tapes, sim.series, sim.book_stats = {}, {}, {}
    sim.books, sim.trade_tapes, sim.indicatives, sim.rejects = {}, {}, {}, {}
    sim.volume, sim.volume_by_account, sim.last_trade, sim._printed = {}, {}, {}, {}
    sim._indicated, sim.subscribers = set(), []
    sim.participants, sim.by_account = [], {}
    for account in range(1, 9):
        agent = Recorder(sim.log, random.Random(seed * 100 + account))
        if account == 8:
            p = Proxy(agent, account, sim)
        else:
            spec = Stub(latency=Latency(entry_ns=100, market_data_ns=10, jitter_ns=0))
            p = Participant(agent, account, spec, np.random.default_rng(account))
            p.ctx = (Context if account == 7 else AgentContext)(sim, p)
        sim.participants.append(p)
        sim.by_account[account] = p
    sim.participants[2].active = False
    for _ in range(3_000):
        p = rng.choice(sim.participants)
        ts = rng.randint(0, END_OF_TIME - 1)
        r = rng.random()
        if r < 0.3:
            sim.wake(p, ts)  # (pushed: outside the wake window)
        elif r < 0.4:
            sim.schedule.push(ts, WAKE, p)  # a wake-up superseded, unless its time is the one asked for
        elif r < 0.55:
            series = rng.choice(["S1", "S2"])
            p.pending_md.add(series)
            sim.schedule.push(ts, MARKET_DATA, p, series)
        elif r < 0.7:
            trade = Trade(1, 1, ts, SERIES[0], 1000, rng.randint(1, 5), 1, 2, p.account, rng.randint(1, 9), Side.SELL)
            sim.schedule.push(ts, DELIVER, p, rng.choice([[trade], ["accepted", trade], ["rejected"]]))
        elif r < 0.85:
            sim.schedule.push(ts, ARRIVE, ("order", p.account, ts))
        elif r < 0.9:
            sim.schedule.push(ts, CALL, partial(_called_back, sim, p.account))
        elif r < 0.95:
            sim.schedule.push(ts, SNAPSHOT)
        else:
            sim.schedule.push(ts, rng.choice([6, 7, 99]), p.account, ts)
    return sim


def _named(x: object) -> object:
    """An item's object, comparable across two simulations."""
    if isinstance(x, (Participant, Proxy)):
        return ("p", x.account)
    if isinstance(x, partial):
        return ("call", x.func.__name__, [_named(a) for a in x.args[1:]])
    return x


def _loop_state(sim: Simulation) -> dict:
    return {
        "log": sim.log,
        "calls": sim.calls,
        "applied": sim.venue.applied,
        "written": sim.written,
        "routed": sim.routed,
        "now": sim.now,
        "stats": sim.stats,
        "commands": sim.commands,
        "batch_wake": sim._batch_wake,
        "participants": [
            (p.wake_at, sorted(p.queued), sorted(p.pending_md), p.positions, p.ctx.now) for p in sim.participants
        ],
        "items": [(ts, kind, _named(a), _named(b)) for ts, kind, a, b in sim.schedule.items()],
    }


def _run_both(reference: Simulation, compiled: Simulation, end: int) -> None:
    """``end``'s run on each, the reference's exception (if any) the compiled one's."""
    errors = []
    for run in (partial(Simulation._run_until, reference), compiled._run_until):
        try:
            run(end)
        except RuntimeError as e:
            errors.append(str(e))
        else:
            errors.append(None)
    assert errors[0] == errors[1]


@pytest.mark.parametrize("seed", range(6))
def test_the_compiled_loop_dispatches_a_random_schedule_as_the_reference_does(seed):
    """Day after day (a wake window each, as `run` sets it), with agents
    that push items and supersede their timers as they run (through the
    compiled `wake` on the compiled side), and now and then raise (the loop stops there, its counts not taken, as the
    reference's): the same hooks with the same clocks, the same items
    left, the same figures."""
    Fanout = _fanout()
    reference, compiled = _loop_simulation(seed), _loop_simulation(seed)
    assert type(compiled.schedule).__module__ == "cfx.core._schedule"
    fanout = Fanout(compiled)
    compiled._deliver, compiled._run_until, compiled.wake = fanout.deliver, fanout.run_until, fanout.wake
    rng = random.Random(seed)
    start = 0
    while start < END_OF_TIME:
        end = start + rng.choice([0, 1, 2_000, 15_000])
        if rng.random() < 0.2:  # an agent raises on its first hook after the next two
            i, fail_at = rng.randrange(8), len(reference.log) + 3
            reference.participants[i].agent.fail_at = compiled.participants[i].agent.fail_at = fail_at
        for sim in (reference, compiled):
            sim._wake_window = (start, end)
        _run_both(reference, compiled, end)
        for sim in (reference, compiled):
            sim._wake_window = (0, 0)
            for p in sim.participants:
                p.agent.fail_at = None
        assert _loop_state(compiled) == _loop_state(reference)
        start = end + 1
    _run_both(reference, compiled, END_OF_TIME * 10)
    state = _loop_state(reference)
    assert _loop_state(compiled) == state
    hooks = {entry[0] for entry in state["log"]}
    assert hooks == {"wakeup", "market_data", "order_event"} and state["calls"] and state["commands"]
    assert state["stats"]["wakeups"] and state["stats"]["engine_messages"]
    assert any(entry[1] == 8 for entry in state["log"]) and any(entry[1] == 7 for entry in state["log"])
    assert not any(entry[1] == 3 and entry[0] != "order_event" for entry in state["log"])  # inactive: delivered only


def test_the_compiled_loop_calls_a_delivery_and_a_send_put_in_place_of_its_own(monkeypatch):
    """A simulation whose `_deliver` is not the fan-out's, and whose `send`
    is another: the loop calls them (as the reference looks them up)."""
    Fanout = _fanout()
    sims = _loop_simulation(0), _loop_simulation(0)
    reference, compiled = sims
    compiled._run_until = Fanout(compiled).run_until
    for sim in sims:
        sent: list = []
        delivered: list = []
        sim.sent, sim.delivered = sent, delivered
        sim.send = lambda cmd, sim=sim: sim.sent.append((sim.now, cmd))
        sim._deliver = lambda p, events, sim=sim: sim.delivered.append((sim.now, p.account, events))
    Simulation._run_until(reference, END_OF_TIME)
    compiled._run_until(END_OF_TIME)
    assert compiled.sent == reference.sent and compiled.delivered == reference.delivered
    assert reference.sent and reference.delivered
    assert _loop_state(compiled) == _loop_state(reference)


class Clocked(Simulation):
    """A simulation whose clock is a property: the loop sets it through it."""

    @property
    def now(self) -> int:
        return self._now

    @now.setter
    def now(self, ts: int) -> None:
        self._now = ts
        self.clock = getattr(self, "clock", 0) + 1


def test_the_compiled_loop_sets_a_clock_that_is_a_property_through_it():
    Fanout = _fanout()
    reference, compiled = _loop_simulation(2, Clocked), _loop_simulation(2, Clocked)
    compiled._run_until = Fanout(compiled).run_until
    Simulation._run_until(reference, END_OF_TIME)
    compiled._run_until(END_OF_TIME)
    assert _loop_state(compiled) == _loop_state(reference)
    assert compiled.clock == reference.clock > len(reference.log)


def test_the_compiled_loop_on_the_python_schedule_is_the_reference(monkeypatch):
    Fanout = _fanout()
    monkeypatch.setenv("CFX_ENGINE", "python")  # `schedule.new` gives the Python schedule
    reference, compiled = _loop_simulation(1), _loop_simulation(1)
    assert type(compiled.schedule) is schedule.PySchedule
    compiled._run_until = Fanout(compiled).run_until
    Simulation._run_until(reference, END_OF_TIME)
    compiled._run_until(END_OF_TIME)
    assert _loop_state(compiled) == _loop_state(reference)


@pytest.mark.parametrize("seed", range(3))
def test_the_compiled_wake_queues_and_pushes_as_the_reference_does(seed):
    """`Fanout.wake` against `Simulation.wake`: random wake-ups of every
    participant (the `Proxy` too), inside and outside the wake window and at
    its edges, some for a time already queued (no item then), others beyond
    int64 (an OverflowError on both, as the schedule's)."""
    Fanout = _fanout()
    reference, compiled = _loop_simulation(seed), _loop_simulation(seed)
    wake = Fanout(compiled).wake
    rng = random.Random(seed)
    for n in range(4_000):
        if n % 500 == 0:
            window = rng.choice([(0, 0), (10_000, 60_000), (0, END_OF_TIME)])
            reference._wake_window = compiled._wake_window = window
        i = rng.randrange(8)
        lo, hi = window
        at = rng.choice([rng.randint(0, END_OF_TIME), lo, lo + 1, hi - 1, hi, 2**63])  # its edges too
        errors = []
        for call in (
            partial(Simulation.wake, reference, reference.participants[i]),
            partial(wake, compiled.participants[i]),
        ):
            try:
                call(at)
            except OverflowError as e:
                errors.append(str(e))
            else:
                errors.append(None)
        assert errors[0] == errors[1]
    assert _loop_state(compiled) == _loop_state(reference)
    assert any(p.queued for p in reference.participants)
