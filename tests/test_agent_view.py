"""What agents see: L2 depth and the trade tape with their latency, and
their position from their own delivered fills (cfx/sim/tape.py, loop)."""

from __future__ import annotations

from pathlib import Path

from cfx.sim import scenario as scn
from cfx.sim.loop import Simulation
from cfx.sim.outputs import RunWriter
from cfx.sim.run import build_fixings
from cfx.sim.tape import BookTape, TradeTape
from cfx.types import Side

BUY, SELL = Side.BUY, Side.SELL
SMALL = Path(__file__).parent / "data" / "sim_small.toml"


def test_book_tape_shows_the_book_as_it_was():
    b = BookTape()
    b.change(10, BUY, 99, 5)
    b.change(10, SELL, 101, 7)
    b.change(20, BUY, 100, 3)  # a better bid
    b.change(30, SELL, 101, 0)  # the ask is taken
    b.change(30, SELL, 102, 4)
    now = b.depth(5, 1_000)
    assert now.bids == [(100, 3), (99, 5)] and now.asks == [(102, 4)]
    then = b.depth(5, 25)
    assert then.bids == [(100, 3), (99, 5)] and then.asks == [(101, 7)]
    assert b.depth(1, 15).bids == [(99, 5)] and b.depth(5, 5).bids == []


def test_book_tape_depth_keeps_the_levels_asked_for_best_first():
    b = BookTape()
    for i, p in enumerate(range(90, 100)):
        b.change(i, BUY, p, i + 1)
        b.change(i, SELL, 200 - p, i + 1)
    b.change(50, BUY, 99, 0)
    b.change(50, SELL, 101, 0)
    assert b.depth(3, 100).bids == [(98, 9), (97, 8), (96, 7)]
    assert b.depth(3, 49).bids == [(99, 10), (98, 9), (97, 8)]
    assert b.depth(2, 49).asks == [(101, 10), (102, 9)]


def test_trade_tape_between_is_inclusive():
    t = TradeTape()
    for ts in (5, 10, 10, 20):
        t.record(ts, 100, 1, BUY)
    assert [x.ts for x in t.between(10, 20)] == [10, 10, 20]
    assert [x.ts for x in t.between(0, 9)] == [5]
    assert t.between(21, 30) == []


def test_a_run_keeps_l2_and_positions_as_the_venue_has_them(tmp_path):
    sc = scn.load(SMALL)
    sim = Simulation(sc, RunWriter(tmp_path / "run"), fixings=build_fixings(sc))
    checked = []
    statements = sim._statements

    def check_then_statements():
        accounts = sim.venue.clearing.accounts
        for p in sim.participants:  # what delivered fills told each agent = what clearing holds
            held = {s: pos.qty for s, pos in accounts[p.account].positions.items() if pos.qty}
            mine = {s: q for s, q in p.positions.items() if q}
            live = {s: q for s, q in held.items() if s in sim.series}
            assert mine == live, p.account
            checked.append(sum(abs(q) for q in mine.values()))
        for symbol, book in sim.books.items():  # the L2 mirror = the engine's book
            bids, asks = sim.venue.engine.book(symbol).depth(10)
            d = book.depth(10, sim.now)
            assert (d.bids, d.asks) == (bids, asks), symbol
        statements()

    sim._statements = check_then_statements
    sim.run()
    assert checked and sum(checked) > 0  # positions were held and checked
    ctx = sim.participants[0].ctx
    front = ctx.front()
    assert ctx.trades(front, 0) == []  # the tape is trimmed each evening
    assert sim.books[front].log == []


def test_market_maker_requote_timer_keeps_its_poisson_rate_despite_catch_up_wakeups(tmp_path):
    """The catch-up wake-ups after throttled market data must not drop the
    Poisson requote timer (`Alarms`): timer wake-ups = session time / mean."""
    from cfx.agents.market_maker import MarketMaker
    from cfx.sim.clock import minutes

    sc = scn.load(SMALL)
    sim = Simulation(sc, RunWriter(tmp_path / "run"), fixings=build_fixings(sc))
    sim.run()
    cal = sc.calendar
    seconds = cal.days * (minutes(cal.close) - minutes(cal.pre_open)) * 60
    mms = [p.agent for p in sim.participants if isinstance(p.agent, MarketMaker)]
    assert mms
    for mm in mms:
        expected = seconds * 1e9 / mm.spec.requote_interval_ns
        assert abs(mm.timer_wakeups - expected) < 5 * expected ** 0.5, (mm.timer_wakeups, expected)
    assert sim.stats["wakeups"] > sum(mm.timer_wakeups for mm in mms)  # catch-ups happened too
