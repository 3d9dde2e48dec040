"""Trading sessions, call auctions, the velocity circuit breaker and the
kill switch, through the engine (the state machine itself is tested in
test_session.py, the uncross rules in test_auction.py)."""

from __future__ import annotations

import pytest

from cfx.engine import Engine
from cfx.protections import VelocityBreaker
from cfx.session import SessionSchedule
from cfx.types import (
    AdvanceTime,
    AuctionUncrossed,
    CancelOrder,
    CancelReason,
    ModifyOrder,
    IndicativeUncross,
    ListSeries,
    OrderAccepted,
    OrderCancelled,
    OrderKind,
    OrderRejected,
    RejectReason,
    SeriesHalted,
    SessionState,
    SessionStateChanged,
    Side,
    SubmitOrder,
    TimeInForce,
    Trade,
)

S = "HOP-H27"
NS = 1_000_000_000
HOUR = 3600 * NS
BUY, SELL = Side.BUY, Side.SELL
SCHEDULE = SessionSchedule(pre_open="07:00", open="08:00", settlement_start="15:45", close="16:00")


def of(events, kind):
    return [e for e in events if type(e) is kind]


@pytest.fixture
def e() -> Engine:
    engine = Engine()
    engine.list_series(ListSeries(S))
    engine.configure_session(S, SCHEDULE, 0)  # midnight: closed
    return engine


def order(engine, oid, side, qty, price=0, ts=0, acct=None, **kw):
    start = len(engine.events)
    engine.submit(SubmitOrder(ts, S, oid, acct or oid, side, qty, price, **kw))
    return engine.events[start:]


def test_orders_before_the_pre_open_are_rejected_as_market_closed(e):
    assert e.session_state(S) is SessionState.CLOSED
    evs = order(e, 1, BUY, 5, 100, ts=6 * HOUR)
    assert [type(x) for x in evs] == [OrderRejected] and evs[0].reason is RejectReason.MARKET_CLOSED
    assert e.book(S).depth() == ([], [])


def test_pre_open_collects_crossing_orders_then_the_opening_auction_uncrosses_them(e):
    t = 7 * HOUR + NS
    evs = order(e, 1, BUY, 10, 102, ts=t)
    assert e.session_state(S) is SessionState.PRE_OPEN
    order(e, 2, SELL, 4, 99, ts=t + 1)
    evs = order(e, 3, SELL, 4, 101, ts=t + 2)
    assert not of(evs, Trade)  # no matching in the pre-open, the book may cross
    ind = of(evs, IndicativeUncross)[-1]
    # 8 lots trade at 101 or 102 with a 2-lot buy surplus either way; no reference price: the lower
    assert (ind.price, ind.volume, ind.imbalance, ind.imbalance_side) == (101, 8, 2, BUY)
    assert e.book(S).best_bid() == 102 and e.book(S).best_ask() == 99
    start = len(e.events)
    e.apply(AdvanceTime(8 * HOUR))
    evs = e.events[start:]
    assert [(x.old, x.new) for x in of(evs, SessionStateChanged)][-1] == (
        SessionState.OPENING_AUCTION,
        SessionState.CONTINUOUS,
    )
    uncrossed = of(evs, AuctionUncrossed)[0]
    assert (uncrossed.price, uncrossed.volume) == (101, 8)
    assert [(t.maker_id, t.taker_id, t.price, t.qty) for t in of(evs, Trade)] == [(2, 1, 101, 4), (3, 1, 101, 4)]
    assert e.book(S).depth() == ([(102, 2)], [])  # the surplus rests, nothing crosses
    e.book(S).check()
    evs = order(e, 4, SELL, 2, 102, ts=8 * HOUR + 1)  # continuous trading from now on
    assert [(t.maker_id, t.taker_id, t.qty) for t in of(evs, Trade)] == [(1, 4, 2)]


def test_a_market_order_joins_the_opening_auction_and_its_rest_is_cancelled(e):
    t = 7 * HOUR + NS
    order(e, 1, SELL, 3, 100, ts=t)
    evs = order(e, 2, BUY, 5, kind=OrderKind.MARKET, tif=TimeInForce.IOC, ts=t + 1)
    assert of(evs, OrderAccepted) and e.status(2).state == "auction"
    start = len(e.events)
    e.apply(AdvanceTime(8 * HOUR))
    evs = e.events[start:]
    assert [(t.maker_id, t.taker_id, t.price, t.qty) for t in of(evs, Trade)] == [(1, 2, 100, 3)]
    assert [(c.order_id, c.qty, c.reason) for c in of(evs, OrderCancelled)] == [(2, 2, CancelReason.IOC_REMAINDER)]
    assert e.status(2) is None


def test_ioc_limit_orders_cannot_wait_for_an_auction(e):
    evs = order(e, 1, BUY, 5, 100, ts=7 * HOUR + 1, tif=TimeInForce.IOC)
    assert [x.reason for x in of(evs, OrderRejected)] == [RejectReason.MARKET_CLOSED]


def test_the_opening_call_freezes_cancels():
    engine = Engine()
    engine.list_series(ListSeries(S))
    engine.configure_session(
        S,
        SessionSchedule(pre_open="07:00", opening_call="07:55", open="08:00", settlement_start="15:45", close="16:00"),
        0,
    )
    order(engine, 1, BUY, 5, 100, ts=7 * HOUR + 1)
    start = len(engine.events)
    engine.cancel(CancelOrder(7 * HOUR + 56 * 60 * NS, 1, 1))
    rejected = of(engine.events[start:], OrderRejected)
    assert rejected and rejected[0].reason is RejectReason.MARKET_CLOSED
    assert engine.status(1) is not None


def test_the_close_expires_day_orders_and_refuses_new_ones_but_allows_cancels(e):
    order(e, 1, BUY, 5, 100, ts=9 * HOUR, tif=TimeInForce.DAY)
    order(e, 2, BUY, 5, 99, ts=9 * HOUR)
    start = len(e.events)
    e.apply(AdvanceTime(16 * HOUR))
    evs = e.events[start:]
    assert [(c.order_id, c.reason) for c in of(evs, OrderCancelled)] == [(1, CancelReason.EXPIRY)]
    assert e.session_state(S) is SessionState.CLOSED
    assert order(e, 3, SELL, 1, 99, ts=16 * HOUR + 1)[0].reason is RejectReason.MARKET_CLOSED
    e.cancel(CancelOrder(16 * HOUR + 2, 2, 2))
    assert e.status(2) is None


def breaker_engine() -> Engine:
    engine = Engine()
    engine.list_series(ListSeries(S))
    engine.configure_session(S, None, 0, breaker=VelocityBreaker(threshold=5, window_ns=60 * NS, halt_ns=120 * NS))
    return engine


def test_a_trade_beyond_the_velocity_threshold_halts_the_series_and_queues_the_rest():
    e = breaker_engine()
    order(e, 1, SELL, 1, 100, ts=1)
    order(e, 2, BUY, 1, 100, ts=2)  # last price 100: the breaker's reference
    order(e, 3, SELL, 2, 104, ts=3)
    order(e, 4, SELL, 2, 110, ts=4)  # 10 ticks away: beyond the 5-tick threshold
    evs = order(e, 5, BUY, 4, 112, ts=5)
    assert [(t.price, t.qty) for t in of(evs, Trade)] == [(104, 2)]  # within the threshold only
    halted = of(evs, SeriesHalted)[0]
    assert (halted.price, halted.reference, halted.until) == (110, 100, 5 + 120 * NS)
    assert e.session_state(S) is SessionState.HALTED
    assert e.book(S).best_bid() == 112 and e.book(S).best_ask() == 110  # the rest waits for the reopening
    evs = order(e, 6, SELL, 1, 111, ts=6)
    assert not of(evs, Trade)  # halted: new orders queue
    start = len(e.events)
    e.apply(AdvanceTime(5 + 120 * NS))
    evs = e.events[start:]
    assert of(evs, AuctionUncrossed)
    assert e.session_state(S) is SessionState.CONTINUOUS
    assert sum(t.qty for t in of(evs, Trade)) == 2
    e.book(S).check()


def test_a_reopening_with_no_trade_restarts_the_breaker_from_the_book_so_it_does_not_halt_again():
    e = breaker_engine()
    order(e, 1, SELL, 1, 100, ts=1)
    order(e, 2, BUY, 1, 100, ts=2)  # last trade 100, then the market moves down without trading
    order(e, 3, BUY, 5, 90, ts=3)
    order(e, 4, SELL, 5, 96, ts=4)
    evs = order(e, 5, SELL, 1, kind=OrderKind.MARKET, tif=TimeInForce.IOC, ts=5)
    assert of(evs, SeriesHalted)[0].reference == 100  # 90 is 10 ticks from the last trade
    start = len(e.events)
    e.apply(AdvanceTime(5 + 120 * NS))  # the reopening call finds nothing crossing
    assert not of(e.events[start:], AuctionUncrossed)
    assert e.session_state(S) is SessionState.CONTINUOUS
    evs = order(e, 6, SELL, 1, kind=OrderKind.MARKET, tif=TimeInForce.IOC, ts=6 + 120 * NS)
    assert [(t.price, t.qty) for t in of(evs, Trade)] == [(90, 1)]  # measured from the mid 93: trades
    assert not of(evs, SeriesHalted)


def test_a_market_order_beyond_the_threshold_has_its_rest_cancelled():
    e = breaker_engine()
    order(e, 1, SELL, 1, 100, ts=1)
    order(e, 2, BUY, 1, 100, ts=2)
    order(e, 3, SELL, 5, 120, ts=3)
    evs = order(e, 4, BUY, 5, kind=OrderKind.MARKET, tif=TimeInForce.IOC, ts=4)
    assert not of(evs, Trade) and of(evs, SeriesHalted)
    assert [(c.order_id, c.qty, c.reason) for c in of(evs, OrderCancelled)] == [(4, 5, CancelReason.BAND)]


def test_the_kill_switch_halts_every_series_until_its_time_then_each_reopens():
    e = Engine()
    e.list_series(ListSeries(S))
    e.list_series(ListSeries("HOP-J27"))
    order(e, 1, SELL, 2, 100, ts=1)
    e.halt_all(10, until=100)
    assert {e.session_state(s) for s in (S, "HOP-J27")} == {SessionState.HALTED}
    evs = order(e, 2, BUY, 2, 100, ts=20)
    assert not of(evs, Trade) and of(evs, OrderAccepted)
    start = len(e.events)
    e.apply(AdvanceTime(100))
    evs = e.events[start:]
    assert [(t.maker_id, t.taker_id, t.qty) for t in of(evs, Trade)] == [(1, 2, 2)]
    assert {e.session_state(s) for s in (S, "HOP-J27")} == {SessionState.CONTINUOUS}


def test_a_cancel_and_modifies_in_the_pre_open_republish_the_indicative(e):
    t = 7 * HOUR + NS
    order(e, 1, BUY, 10, 102, ts=t)
    order(e, 2, SELL, 4, 99, ts=t + 1)
    evs = order(e, 3, SELL, 4, 101, ts=t + 2)
    assert [(i.price, i.volume, i.imbalance, i.imbalance_side) for i in of(evs, IndicativeUncross)] == [
        (101, 8, 2, BUY)
    ]

    def changes(cmd):
        start = len(e.events)
        e.apply(cmd)
        return [(i.price, i.volume, i.imbalance, i.imbalance_side) for i in of(e.events[start:], IndicativeUncross)]

    # the cancel leaves 10 bid @ 102 against 4 @ 99: 4 lots anywhere in 99..102, 6 bought in surplus: the lower
    assert changes(CancelOrder(t + 3, 3, 3)) == [(99, 4, 6, BUY)]
    # a decrease at the same price (keeps priority): 2 lots trade, 8 in surplus
    assert changes(ModifyOrder(t + 4, 2, 2, 99, 2)) == [(99, 2, 8, BUY)]
    # the bid re-priced to 98 no longer crosses the 99 offer: one "no uncross" indicative
    assert changes(ModifyOrder(t + 5, 1, 1, 98, 10)) == [(None, 0, 0, None)]
    assert changes(ModifyOrder(t + 6, 1, 1, 97, 10)) == []  # still no uncross: nothing new to say
    assert changes(ModifyOrder(t + 7, 1, 1, 100, 10)) == [(99, 2, 8, BUY)]


def test_the_opening_reference_is_the_prior_settlement_even_after_earlier_trades():
    engine = Engine()
    engine.list_series(ListSeries(S, reference=100))
    engine.configure_session(S, SCHEDULE, 0)
    t = 7 * HOUR + NS
    # 10 lots trade with no surplus anywhere in 98..102: the reference (the settlement) sets the price
    order(engine, 1, BUY, 10, 102, ts=t)
    evs = order(engine, 2, SELL, 10, 98, ts=t + 1)
    assert of(evs, IndicativeUncross)[-1].price == 100
    engine.apply(AdvanceTime(8 * HOUR))
    assert engine.book(S).last_price == 100
    day = 24 * HOUR
    engine.list_series(ListSeries(S, ts=day, reference=95))  # the next settlement
    order(engine, 3, BUY, 10, 102, ts=day + t)
    evs = order(engine, 4, SELL, 10, 90, ts=day + t + 1)
    assert of(evs, IndicativeUncross)[-1].price == 95  # the settlement, not yesterday's last trade (100)
    start = len(engine.events)
    engine.apply(AdvanceTime(day + 8 * HOUR))
    assert of(engine.events[start:], AuctionUncrossed)[0].price == 95


def test_a_series_listed_with_the_cme_tie_break_opens_with_the_market_pressure():
    engine = Engine()
    engine.list_series(ListSeries(S, auction_tie_break="cme"))
    engine.configure_session(S, SCHEDULE, 0)
    t = 7 * HOUR + NS
    order(engine, 1, BUY, 10, 102, ts=t)
    order(engine, 2, SELL, 4, 99, ts=t + 1)
    order(engine, 3, SELL, 4, 101, ts=t + 2)
    start = len(engine.events)
    engine.apply(AdvanceTime(8 * HOUR))
    assert of(engine.events[start:], AuctionUncrossed)[0].price == 102  # 101 under the "reference" style


def test_a_gtd_order_expiring_in_the_pre_open_republishes_the_indicative(e):
    t = 7 * HOUR + NS
    order(e, 1, BUY, 10, 102, ts=t, tif=TimeInForce.GTD, expire_ns=t + 10)
    evs = order(e, 2, SELL, 4, 99, ts=t + 1)
    assert [(i.price, i.volume) for i in of(evs, IndicativeUncross)] == [(99, 4)]
    evs = order(e, 3, SELL, 1, 120, ts=t + 11)  # the bid expired first: nothing crosses any more
    assert [(i.price, i.volume) for i in of(evs, IndicativeUncross)] == [(None, 0)]
