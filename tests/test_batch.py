"""Periodic batch auctions through the engine (the rules are cfx/batch.py's
docstring): hand-worked batches, boundaries, refusals, and a batch's result
independent of how its orders are spread over the interval."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cfx.auction import AuctionOrder, uncross
from cfx.batch import last_boundary
from cfx.engine import Engine
from cfx.session import SessionSchedule
from cfx.types import (
    AdvanceTime,
    AuctionUncrossed,
    BatchUncrossed,
    CancelOrder,
    CancelReason,
    IndicativeUncross,
    ListSeries,
    ModifyOrder,
    OrderCancelled,
    OrderKind,
    OrderRejected,
    RejectReason,
    SessionState,
    Side,
    SubmitOrder,
    TimeInForce,
    Trade,
)

S = "HOP-H27"
NS = 1_000_000_000
OPEN = 8 * 3600 * NS
CLOSE = 16 * 3600 * NS
BUY, SELL = Side.BUY, Side.SELL
SCHEDULE = SessionSchedule(pre_open="07:00", open="08:00", settlement_start="15:45", close="16:00")


def of(events, kind):
    return [e for e in events if type(e) is kind]


def batch_engine(interval: int = NS, reference: int | None = None) -> Engine:
    engine = Engine()
    engine.list_series(ListSeries(S, reference=reference))
    engine.configure_session(S, SCHEDULE, 0, batch_interval_ns=interval)
    engine.apply(AdvanceTime(OPEN))
    assert engine.session_state(S) is SessionState.CONTINUOUS
    return engine


def send(engine, cmd):
    start = len(engine.events)
    engine.apply(cmd)
    return engine.events[start:]


def order(engine, oid, side, qty, price=0, ts=OPEN + 1, **kw):
    return send(engine, SubmitOrder(ts, S, oid, oid, side, qty, price, **kw))


def trades(events):
    return [(t.ts, t.price, t.qty, t.maker_id, t.taker_id) for t in of(events, Trade)]


def test_orders_collect_unmatched_and_uncross_at_the_boundary_at_one_price():
    e = batch_engine()
    order(e, 1, BUY, 10, 102, ts=OPEN + NS // 5)
    order(e, 2, SELL, 4, 99, ts=OPEN + 2 * NS // 5)
    evs = order(e, 3, SELL, 4, 101, ts=OPEN + 3 * NS // 5)
    assert not of(evs, Trade)  # no continuous matching: the book crosses until the batch
    assert e.book(S).best_bid() == 102 and e.book(S).best_ask() == 99
    ind = of(evs, IndicativeUncross)[-1]
    # 8 lots at 101 or 102, a 2-lot buy surplus either way, no reference: the lower (the call's rule)
    assert (ind.price, ind.volume, ind.imbalance, ind.imbalance_side) == (101, 8, 2, BUY)
    assert e.next_batch() == OPEN + NS
    evs = send(e, AdvanceTime(OPEN + NS))
    (u,) = of(evs, BatchUncrossed)
    assert (u.ts, u.price, u.volume, u.imbalance, u.imbalance_side) == (OPEN + NS, 101, 8, 2, BUY)
    # the surplus side (buy) is the aggressor; fills in priority: the 99 sell first
    assert trades(evs) == [(OPEN + NS, 101, 4, 2, 1), (OPEN + NS, 101, 4, 3, 1)]
    assert e.book(S).depth() == ([(102, 2)], [])
    assert e.next_batch() is None  # the rest does not cross


def test_a_tie_over_a_range_goes_to_the_price_nearest_the_last_trade():
    e = batch_engine()
    order(e, 1, BUY, 10, 102)
    order(e, 2, SELL, 8, 101)
    send(e, AdvanceTime(OPEN + NS))  # 8 at 101 (the lower of 101/102); 2 @ 102 left
    assert e.book(S).last_price == 101
    order(e, 3, BUY, 5, 105, ts=OPEN + NS + 1)
    order(e, 4, SELL, 5, 100, ts=OPEN + NS + 2)
    # demand 7 up to 102, 5 from 103 to 105; supply 5 from 100 on: volume 5 on [100, 105],
    # imbalance 2 up to 102 and 0 on [103, 105]; nearest the reference (last trade 101): 103
    evs = send(e, AdvanceTime(OPEN + 2 * NS))
    (u,) = of(evs, BatchUncrossed)
    assert (u.price, u.volume, u.imbalance, u.imbalance_side) == (103, 5, 0, None)
    assert trades(evs) == [(OPEN + 2 * NS, 103, 5, 4, 3)]  # balanced: buy counts as the aggressor
    assert e.book(S).depth() == ([(102, 2)], [])


def test_the_prior_settlement_is_the_reference_before_the_first_trade():
    e = batch_engine(reference=104)
    order(e, 1, BUY, 5, 106)
    order(e, 2, SELL, 5, 100)
    evs = send(e, AdvanceTime(OPEN + NS))
    assert of(evs, BatchUncrossed)[0].price == 104


def test_a_one_sided_book_does_not_uncross_and_needs_no_wake_up():
    e = batch_engine()
    order(e, 1, BUY, 5, 100)
    order(e, 2, BUY, 3, 101)
    assert e.next_batch() is None
    evs = send(e, AdvanceTime(OPEN + 5 * NS))
    assert not of(evs, BatchUncrossed) and not of(evs, Trade)
    assert e.book(S).depth() == ([(101, 3), (100, 5)], [])


def test_an_order_at_exactly_a_boundary_joins_the_next_batch():
    e = batch_engine()
    order(e, 1, BUY, 5, 100, ts=OPEN + NS // 2)
    evs = order(e, 2, SELL, 5, 100, ts=OPEN + NS)  # the boundary: the batch at OPEN + NS runs first
    assert not of(evs, Trade) and not of(evs, BatchUncrossed)
    assert e.next_batch() == OPEN + 2 * NS
    evs = send(e, AdvanceTime(OPEN + 2 * NS - 1))
    assert not of(evs, Trade)
    evs = send(e, AdvanceTime(OPEN + 2 * NS))
    assert trades(evs) == [(OPEN + 2 * NS, 100, 5, 2, 1)]  # balanced: the buy is the taker


def test_a_late_command_runs_the_due_batch_at_its_own_boundary_time():
    e = batch_engine()
    order(e, 1, BUY, 5, 100, ts=OPEN + NS // 2)
    order(e, 2, SELL, 5, 100, ts=OPEN + NS // 2 + 1)
    evs = order(e, 3, BUY, 1, 90, ts=OPEN + 7 * NS + 3)  # no AdvanceTime in between
    assert trades(evs) == [(OPEN + NS, 100, 5, 2, 1)]
    assert e.book(S).depth() == ([(90, 1)], [])


def test_market_and_ioc_orders_join_one_batch_and_lose_what_does_not_fill():
    e = batch_engine()
    order(e, 1, SELL, 3, 100)
    order(e, 2, BUY, 5, 0, kind=OrderKind.MARKET, tif=TimeInForce.IOC)
    order(e, 3, BUY, 4, 99, tif=TimeInForce.IOC)  # does not reach the 100 sell
    evs = send(e, AdvanceTime(OPEN + NS))
    assert trades(evs) == [(OPEN + NS, 100, 3, 1, 2)]
    cancels = {(c.order_id, c.qty, c.reason) for c in of(evs, OrderCancelled)}
    assert cancels == {(2, 2, CancelReason.IOC_REMAINDER), (3, 4, CancelReason.IOC_REMAINDER)}
    assert e.book(S).depth() == ([], [])
    assert e.status(3) is None


def test_fok_stop_and_gtd_orders_are_refused_and_ioc_is_refused_in_the_pre_open():
    e = batch_engine()
    for oid, kw in enumerate(
        [
            dict(tif=TimeInForce.FOK),
            dict(kind=OrderKind.STOP_LIMIT, stop_price=101),
            dict(tif=TimeInForce.GTD, expire_ns=OPEN + 10 * NS),
        ],
        start=1,
    ):
        (rej,) = order(e, oid, BUY, 1, 100, **kw)
        assert type(rej) is OrderRejected and rej.reason is RejectReason.NOT_IN_BATCH
    pre = Engine()
    pre.list_series(ListSeries(S))
    pre.configure_session(S, SCHEDULE, 0, batch_interval_ns=NS)
    rej = of(order(pre, 9, BUY, 1, 100, ts=7 * 3600 * NS + 1, tif=TimeInForce.IOC), OrderRejected)[0]
    assert rej.reason is RejectReason.MARKET_CLOSED  # in a call, as for any series


def test_cancel_and_modify_change_the_indicative_and_never_match_on_arrival():
    e = batch_engine()
    order(e, 1, BUY, 5, 100)
    order(e, 2, SELL, 5, 102)
    evs = send(e, ModifyOrder(OPEN + 2, 2, 2, 100, 5))  # now crosses, but waits for the batch
    assert not of(evs, Trade)
    assert of(evs, IndicativeUncross)[-1].volume == 5
    evs = send(e, CancelOrder(OPEN + 3, 1, 1))
    assert of(evs, IndicativeUncross)[-1].volume == 0  # no longer crosses: published as such
    evs = send(e, AdvanceTime(OPEN + NS))
    assert not of(evs, Trade)


def test_the_close_boundary_uncrosses_the_last_batch_and_the_open_is_the_opening_call():
    e = Engine()
    e.list_series(ListSeries(S))
    e.configure_session(S, SCHEDULE, 0, batch_interval_ns=NS)
    order(e, 1, BUY, 5, 100, ts=7 * 3600 * NS + 1)  # pre-open: for the opening call
    order(e, 2, SELL, 2, 100, ts=7 * 3600 * NS + 2)
    evs = send(e, AdvanceTime(OPEN))
    # the open is a call auction, told apart from the batches by its event
    assert [len(of(evs, AuctionUncrossed)), len(of(evs, BatchUncrossed)), trades(evs)] == [1, 0, [(OPEN, 100, 2, 2, 1)]]
    order(e, 3, SELL, 3, 100, ts=CLOSE - 1)
    evs = send(e, AdvanceTime(CLOSE))
    assert trades(evs) == [(CLOSE, 100, 3, 3, 1)]
    (u,) = of(evs, BatchUncrossed)  # the close's boundary: the day's last batch, not a call
    assert (u.ts, u.price, u.volume) == (CLOSE, 100, 3) and not of(evs, AuctionUncrossed)
    assert e.session_state(S) is SessionState.CLOSED


def test_a_series_without_a_batch_interval_still_matches_continuously():
    e = batch_engine(interval=0)
    order(e, 1, BUY, 5, 100)
    evs = order(e, 2, SELL, 5, 100, ts=OPEN + 2)
    assert trades(evs) == [(OPEN + 2, 100, 5, 1, 2)]


def test_last_boundary():
    assert [last_boundary(t, 10) for t in (0, 9, 10, 11, 29)] == [0, 0, 10, 10, 20]


orders_st = st.lists(
    st.tuples(st.sampled_from([BUY, SELL]), st.integers(95, 105), st.integers(1, 20)), min_size=1, max_size=25
)


@settings(max_examples=60, deadline=None)
@given(orders_st, st.data())
def test_a_batch_is_the_same_in_one_burst_or_spread_over_the_interval_and_is_the_call_uncross(orders, data):
    start = OPEN + 3 * NS  # the batch collecting over (start, start + NS], uncrossing at start + NS
    offsets = sorted(
        data.draw(st.lists(st.integers(1, NS - 1), min_size=len(orders), max_size=len(orders), unique=True))
    )
    results = []
    for times in (
        [start + NS - len(orders) + i for i in range(len(orders))],  # a burst at the end
        [start + off for off in offsets],
    ):  # spread over the interval
        e = batch_engine()
        send(e, AdvanceTime(start))
        for oid, ((side, price, qty), ts) in enumerate(zip(orders, times), start=1):
            order(e, oid, side, qty, price, ts=ts)
        evs = send(e, AdvanceTime(start + NS))
        results.append(
            (trades(evs), [(u.price, u.volume, u.imbalance) for u in of(evs, BatchUncrossed)], e.book(S).depth(50))
        )
    assert results[0] == results[1]
    expected = uncross(
        [AuctionOrder(oid, oid, side, price, qty, oid) for oid, (side, price, qty) in enumerate(orders, start=1)]
    )
    got = results[0][1]
    assert got == ([] if expected is None else [(expected.price, expected.volume, expected.imbalance)])
    if expected is not None:
        assert sorted((t[2], min(t[3], t[4]), max(t[3], t[4])) for t in results[0][0]) == sorted(
            (f.qty, min(f.buy_id, f.sell_id), max(f.buy_id, f.sell_id)) for f in expected.fills
        )


# --------------------------------------------------------------------------- through the simulation


def test_a_batch_scenario_trades_only_at_boundaries_and_its_journal_replays(tmp_path, capsys):
    import json
    from pathlib import Path

    import msgspec
    import pyarrow.parquet as pq

    from cfx.cli import main
    from cfx.sim import scenario as scn
    from cfx.sim.run import run_scenario

    sc = scn.load(Path(__file__).parent / "data" / "sim_small.toml")
    products = msgspec.structs.replace(sc.products, matching="batch", batch_interval_ms=500)
    sc = msgspec.structs.replace(sc, products=products, calendar=msgspec.structs.replace(sc.calendar, days=1))
    summary = run_scenario(sc, tmp_path / "run", progress=False)
    assert summary["trades"] > 0
    ts = pq.read_table(tmp_path / "run" / "trades.parquet", columns=["time"]).column("time").cast("int64").to_pylist()
    assert ts and all(t % (NS // 2) == 0 for t in ts)  # every trade at a batch boundary (the open is one too)
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "run" / "journal")]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["events_sha256"] == summary["run_hash"]
