"""What agents see: L2 depth and the trade tape with their latency, and
their position from their own delivered fills (cfx/sim/tape.py, loop)."""

from __future__ import annotations

from pathlib import Path

from cfx.sim import scenario as scn
from cfx.sim.loop import Simulation
from cfx.sim.run import build_fixings
from cfx.sim.tape import BookTape, IndicativeTape, TradeTape
from cfx.agents.base import NO_INDICATIVE, Indicative
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


def test_a_run_keeps_l2_and_positions_as_the_venue_has_them(tmp_path, run_writer):
    sc = scn.load(SMALL)
    sim = Simulation(sc, run_writer(tmp_path / "run"), fixings=build_fixings(sc))
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


def test_market_maker_requote_timer_keeps_its_poisson_rate_despite_catch_up_wakeups(tmp_path, run_writer):
    """The catch-up wake-ups after throttled market data must not drop the
    Poisson requote timer (`Alarms`): timer wake-ups = session time / mean."""
    from cfx.agents.market_maker import MarketMaker
    from cfx.sim.clock import minutes

    sc = scn.load(SMALL)
    sim = Simulation(sc, run_writer(tmp_path / "run"), fixings=build_fixings(sc))
    sim.run()
    cal = sc.calendar
    seconds = cal.days * (minutes(cal.close) - minutes(cal.pre_open)) * 60
    mms = [p.agent for p in sim.participants if isinstance(p.agent, MarketMaker)]
    assert mms
    for mm in mms:
        expected = seconds * 1e9 / mm.spec.requote_interval_ns
        assert abs(mm.timer_wakeups - expected) < 5 * expected**0.5, (mm.timer_wakeups, expected)
    assert sim.stats["wakeups"] > sum(mm.timer_wakeups for mm in mms)  # catch-ups happened too


def test_a_wake_up_asked_again_for_a_time_already_queued_fires_once_from_one_heap_item(tmp_path, run_writer):
    """A timer superseded by an earlier wake-up and re-armed for its own time
    (`Simulation.wake`): inside the day being run the item left in the heap
    fires and no second one is pushed; after the close every item is pushed
    (`_carry_wakeups` moves an agent once per item due, as it always did)."""
    from cfx.sim.loop import WAKE

    sc = scn.load(SMALL)
    sim = Simulation(sc, run_writer(tmp_path / "run"), fixings=build_fixings(sc))
    p = sim.participants[0]
    woke: list[int] = []

    class Timer:  # the timer at 1_500; a catch-up at 1_100 supersedes it, then re-arms it
        def on_wakeup(self, ctx) -> None:
            woke.append(ctx.now)
            if ctx.now == 1_100:
                ctx.wake_after(400)

    p.agent = Timer()

    def items() -> list[int]:
        return [ts for ts, kind, a, _ in sim.scheduled() if kind == WAKE and a is p]

    sim.now, sim._wake_window = 1_000, (0, 10_000)
    p.ctx.wake_after(500)
    p.ctx.wake_after(100)
    assert items() == [1_100, 1_500]
    sim._run_until(1_200)
    assert woke == [1_100] and p.wake_at == 1_500 and items() == [1_500]  # the old item serves
    sim._run_until(10_000)
    assert woke == [1_100, 1_500] and items() == [] and not p.queued

    sim.now, sim._wake_window = 20_000, (0, 0)  # after the close
    p.ctx.wake_after(500)
    p.ctx.wake_after(100)
    sim.now = 20_100
    p.wake_at = None
    p.ctx.wake_after(400)
    assert items() == [20_100, 20_500, 20_500]


def test_indicative_tape_shows_the_indicative_as_it_was_and_an_uncross_voids_it():
    t = IndicativeTape()
    assert t.at(100) == NO_INDICATIVE
    t.record(10, 101, 8, 2, BUY)
    t.record(20, 103, 9, 0, None)
    t.record(20, 102, 9, 1, BUY)  # a later publication at the same time replaces it
    t.void(30)  # the batch uncrossed at 30
    t.void(31)  # already void: nothing new
    assert t.at(5) == NO_INDICATIVE
    assert t.at(15) == Indicative(101, 8, 2, BUY, 10)
    assert t.at(29) == Indicative(102, 9, 1, BUY, 20)
    assert t.at(30) == t.at(1_000) == Indicative(None, 0, 0, None, 30)
    t.trim()
    assert t.times == [30] and t.at(1_000).price is None


def test_agents_see_the_published_indicative_uncross_after_their_market_data_latency(tmp_path, run_writer):
    """A batch run: at every routing of events, each agent's
    `Context.indicative` is the last `IndicativeUncross` published at or
    before now minus its market-data latency (void after an uncross)."""
    from cfx import api
    from cfx.types import AuctionUncrossed, BatchUncrossed, IndicativeUncross

    sc = api.load(SMALL, **{"products.matching": "batch", "products.batch-interval-ms": 1000, "calendar.days": 1})
    sim = Simulation(sc, run_writer(tmp_path / "run"), fixings=build_fixings(sc))
    log: dict[str, list[tuple[int, tuple]]] = {}
    route = sim._route
    seen = {"checked": 0, "priced": 0, "behind": 0}

    def expected(series: str, as_of: int) -> tuple:
        out = (None, 0, 0, None)
        for ts, view in log.get(series, []):
            if ts > as_of:
                break
            out = view
        return out

    def check_then_route(events):
        route(events)
        for e in events:
            if type(e) is IndicativeUncross:
                log.setdefault(e.series, []).append((e.ts, (e.price, e.volume, e.imbalance, e.imbalance_side)))
            elif type(e) in (BatchUncrossed, AuctionUncrossed):
                log.setdefault(e.series, []).append((e.ts, (None, 0, 0, None)))
        for p in sim.participants[:3]:
            for series in sim.series:
                got = p.ctx.indicative(series)
                want = expected(series, sim.now - p.md_ns)
                assert (got.price, got.volume, got.imbalance, got.imbalance_side) == want
                seen["checked"] += 1
                seen["priced"] += got.price is not None
                seen["behind"] += want != expected(series, sim.now)  # latency hides the latest

    sim._route = check_then_route
    sim.run()
    assert seen["priced"] > 100 and seen["behind"] > 0, seen


class _ClockCheck:
    """An agent seen through its hooks: each one asserts that ``ctx.now``
    (a plain attribute the loop sets, `Participant.context`) is the
    simulation's time, and is counted."""

    def __init__(self, agent, heard: dict) -> None:
        self._agent, self._heard = agent, heard

    def __getattr__(self, name: str):
        attr = getattr(self._agent, name)
        if not (callable(attr) and (name.startswith("on_") or name in ("withdraw", "resume"))):
            return attr

        def hook(ctx, *args):
            assert ctx.now == ctx.sim.now, (name, ctx.now, ctx.sim.now)
            self._heard[name] = self._heard.get(name, 0) + 1
            return attr(ctx, *args)

        return hook


def test_every_hook_sees_the_simulation_clock_in_ctx_now(tmp_path, run_writer):
    """`AgentContext.now` is an attribute, not a property: every hook an
    agent is called with (order flow, market data, index values, OTC
    requests and trades, a shock's withdrawal, the day's end) must find it
    set to the simulation's time."""
    from cfx import api
    from otc_support import add_sku_region_fixings

    sc = api.load(
        Path(__file__).parent / "data" / "otc_small.toml",
        **{"calendar.days": 2, "shocks": [{"type": "mm-withdrawal", "day": 1, "time": "08:30", "minutes": 20}]},
    )
    fixings = build_fixings(sc)
    add_sku_region_fixings(fixings)
    sim = Simulation(sc, run_writer(tmp_path / "run"), fixings=fixings)
    heard: dict[str, int] = {}
    for p in sim.participants:
        p.agent = _ClockCheck(p.agent, heard)
    sim.run()
    for hook in (
        "on_start",
        "on_wakeup",
        "on_order_event",
        "on_market_data",
        "on_day_end",
        "on_rfq",
        "on_rfq_closed",
        "on_rfq_result",
        "on_otc_trade",
        "withdraw",
        "resume",
    ):
        assert heard.get(hook), (hook, heard)


def test_quote_and_trades_answer_as_the_tapes_do_at_every_latency(tmp_path, run_writer):
    """`AgentContext.quote` and `.trades` answer their usual case (nothing
    new within the latency) without the tape's search: at times right on,
    just before and after each change they must agree with `QuoteTape.at` and
    `TradeTape.between`."""
    from cfx.agents.base import Quote
    from cfx.sim.tape import QuoteTape

    sc = scn.load(SMALL)
    sim = Simulation(sc, run_writer(tmp_path / "run"), fixings=build_fixings(sc))
    p = sim.participants[0]
    ctx, md = p.ctx, p.md_ns
    quotes, trades = QuoteTape(), TradeTape()
    sim.tapes["X"], sim.trade_tapes["X"] = quotes, trades
    for i, ts in enumerate((1_000, 1_500, 4_000)):
        quotes.record(ts, Quote(100 + i, 5, 102 + i, 7, None))
        trades.record(ts, 100 + i, 1 + i, BUY)
    assert ctx.quote("unlisted") == quotes.at(-1) and ctx.trades("unlisted", 0) == []
    for ts in (0, 999, 1_000, 1_001, 1_499, 1_500, 3_999, 4_000, 4_001, 10_000):
        for latency in (0, 1, 501, 3_000):
            sim.now = ts + md + latency
            assert ctx.quote("X") == quotes.at(ts + latency), (ts, latency)
            for since in (0, 1_000, 1_001, 4_000, 4_001):
                assert ctx.trades("X", since) == trades.between(since, ts + latency), (ts, latency, since)


def test_a_jitter_draw_is_cut_at_the_longest_delay():
    import numpy as np

    from cfx.agents.base import MAX_DELAY_NS
    from cfx.sim.participant import JITTER_BLOCK, Participant

    p = Participant.__new__(Participant)  # only what `delay` reads
    p._jitter, p.jitter_ns, p.sigma, p.rng = [], MAX_DELAY_NS, 3.0, np.random.default_rng(1)
    delays = [p.delay(5) for _ in range(4 * JITTER_BLOCK)]
    assert max(delays) == 5 + MAX_DELAY_NS and min(delays) >= 5  # the widest jitter: some draws cut, none below 0
