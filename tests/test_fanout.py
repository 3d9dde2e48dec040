"""The compiled fan-out (`cfx.sim._fanout.Fanout`) against its reference,
`Simulation._route`: the same random commands' events routed by each
through two identical simulations leave the same tapes, figures,
participants and schedule, item for item; a whole run gives the same
hash either way; a checkpoint taken with it resumes to the same hash."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from cfx import core
from cfx.api import load
from cfx.agents.base import Latency, Trigger
from cfx.core import schedule
from cfx.sim import loop, scenario as scn
from cfx.sim.loop import Simulation
from cfx.sim.participant import Participant
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
    assert type(sim._route.__self__).__name__ == "Fanout"
    monkeypatch.setenv("CFX_ENGINE", "python")
    sim = Simulation(sc, run_writer(tmp_path / "b"), fixings=build_fixings(sc))
    assert sim._route.__func__ is Simulation._route


@pytest.mark.parametrize("matching", ["continuous", "batch"])
def test_a_run_routed_by_either_gives_the_same_hash(tmp_path, monkeypatch, matching):
    """The small scenario (and in batches: indicatives, their watchers) with
    the compiled fan-out and with the Python one, all else compiled."""
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
        real_save(sim, out)
        if sim.next_day == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(run_module.checkpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scn.load(sc), tmp_path / "killed", progress=False)
    monkeypatch.setattr(run_module.checkpoint, "save", real_save)
    monkeypatch.setenv("CFX_ENGINE", "python")
    code, _, err = run_cli(capsys, "run", "--resume", tmp_path / "killed", "--quiet", "--no-report")
    assert code == 0, err
    assert json.loads((tmp_path / "killed" / "summary.json").read_text())["run_hash"] == whole["run_hash"]


def test_without_the_extension_the_reference_routes(monkeypatch):
    monkeypatch.setenv("CFX_NO_EXTENSION", "1")
    assert not core.available() and not loop.fanout_available()
