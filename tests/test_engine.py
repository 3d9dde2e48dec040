"""Unit tests of the matching engine's rules (cfx/engine.py, cfx/book.py).

One test per rule; every test ends with `OrderBook.check()` (the ``ex``
fixture runs it). Rejects also assert that the book and the live orders
are unchanged and that exactly one `OrderRejected` was emitted.
"""

from __future__ import annotations

import pytest

from cfx.engine import Engine
from cfx.types import (
    AdvanceTime,
    CancelOrder,
    CancelReason,
    EndOfDay,
    LevelChanged,
    ListSeries,
    MassCancel,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderKind,
    OrderModified,
    OrderRefilled,
    OrderRejected,
    OrderRested,
    OrderTriggered,
    RejectReason,
    SetAccountStp,
    Side,
    StpMode,
    SubmitOrder,
    TimeInForce,
    Trade,
    encoder,
)

S = "HOP-H27"
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderKind.LIMIT, OrderKind.MARKET
STOP_MARKET, STOP_LIMIT = OrderKind.STOP_MARKET, OrderKind.STOP_LIMIT
GTC, DAY, GTD, IOC, FOK = (TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD, TimeInForce.IOC, TimeInForce.FOK)
R = RejectReason
C = CancelReason


class Ex:
    """An engine with one series and a clock; each call returns the events it caused."""

    def __init__(self, **rules) -> None:
        self.e = Engine()
        self.e.list_series(ListSeries(S, **rules))
        self.ts = 0

    @property
    def book(self):
        return self.e.book(S)

    def tick(self) -> int:
        self.ts += 10
        return self.ts

    def do(self, cmd) -> list:
        n = len(self.e.events)
        self.e.apply(cmd)
        return self.e.events[n:]

    def submit(self, oid, acct, side, qty, price=0, **kw) -> list:
        ts = kw.pop("ts", None) or self.tick()
        return self.do(SubmitOrder(ts, kw.pop("series", S), oid, acct, side, qty, price, **kw))

    def buy(self, oid, qty, price=0, acct=1, **kw) -> list:
        return self.submit(oid, acct, BUY, qty, price, **kw)

    def sell(self, oid, qty, price=0, acct=2, **kw) -> list:
        return self.submit(oid, acct, SELL, qty, price, **kw)

    def cancel(self, oid, acct, ts=None) -> list:
        return self.do(CancelOrder(ts or self.tick(), oid, acct))

    def modify(self, oid, acct, price, qty, ts=None) -> list:
        return self.do(ModifyOrder(ts or self.tick(), oid, acct, price, qty))

    def l3(self, side) -> list:
        """[(price, [(order_id, visible, hidden), ...]), ...] best first."""
        return [
            (p, [(o.order_id, o.qty, o.hidden) for o in self.book.orders_at(side, p)])
            for p, _, _ in self.book.levels(side)
        ]

    def snapshot(self):
        live = sorted(
            (o.order_id, o.account, o.side, o.kind, o.price, o.qty, o.hidden, o.filled) for o in self.e.live_orders()
        )
        return self.book.depth(10**9), self.l3(BUY), self.l3(SELL), live, self.book.last_price


@pytest.fixture
def ex():
    x = Ex()
    yield x
    x.book.check()


@pytest.fixture
def banded():
    x = Ex(band_low=90, band_high=110, max_qty=100)
    yield x
    x.book.check()


def of(events, cls) -> list:
    return [e for e in events if type(e) is cls]


def trades(events) -> list[tuple[int, int, int, int]]:
    """(maker_id, taker_id, price, qty) per trade."""
    return [(t.maker_id, t.taker_id, t.price, t.qty) for t in of(events, Trade)]


def cancels(events) -> list[tuple[int, int, CancelReason]]:
    return [(c.order_id, c.qty, c.reason) for c in of(events, OrderCancelled)]


def assert_rejected(x: Ex, action, reason: RejectReason) -> None:
    """``action()`` is refused with ``reason``: one OrderRejected and nothing else changes."""
    before = x.snapshot()
    seq_before = len(x.e.events)
    evs = action()
    assert [type(e) for e in evs] == [OrderRejected], evs
    assert evs[0].reason is reason
    assert x.snapshot() == before
    assert len(x.e.events) == seq_before + 1
    x.book.check()


# --------------------------------------------------------------------------- limit orders


def test_limit_that_does_not_cross_rests_at_its_price(ex):
    evs = ex.buy(1, 5, 100)
    assert [type(e) for e in evs] == [OrderAccepted, OrderRested, LevelChanged]
    assert evs[1].price == 100 and evs[1].qty == 5 and evs[1].open_qty == 5
    assert ex.book.depth() == ([(100, 5)], [])
    assert ex.book.best_bid() == 100 and ex.book.best_ask() is None
    assert ex.e.status(1).state == "resting"


def test_crossing_limit_trades_at_the_resting_price_not_its_own(ex):
    ex.sell(1, 3, 100)
    evs = ex.buy(2, 3, 105)
    [t] = of(evs, Trade)
    assert (t.maker_id, t.taker_id, t.price, t.qty) == (1, 2, 100, 3)
    assert (t.maker_account, t.taker_account, t.aggressor) == (2, 1, BUY)
    assert ex.book.depth() == ([], [])
    assert ex.e.status(1) is None and ex.e.status(2) is None


def test_limit_sweeps_in_price_then_time_priority_and_rests_the_remainder(ex):
    ex.sell(1, 2, 101)
    ex.sell(2, 2, 100)
    ex.sell(3, 2, 100)
    ex.sell(4, 2, 103)
    evs = ex.buy(5, 7, 102)
    assert trades(evs) == [(2, 5, 100, 2), (3, 5, 100, 2), (1, 5, 101, 2)]
    assert ex.book.depth() == ([(102, 1)], [(103, 2)])
    assert ex.e.status(5).open_qty == 1 and ex.e.status(5).filled_qty == 6


def test_sell_limit_hits_bids_best_first(ex):
    ex.buy(1, 1, 99)
    ex.buy(2, 1, 100)
    evs = ex.sell(3, 2, 98)
    assert trades(evs) == [(2, 3, 100, 1), (1, 3, 99, 1)]
    assert of(evs, Trade)[0].aggressor is SELL


def test_partial_fill_of_resting_order_keeps_its_place_at_the_front(ex):
    ex.sell(1, 5, 100)
    ex.sell(2, 5, 100)
    ex.buy(3, 2, 100)
    assert ex.l3(SELL) == [(100, [(1, 3, 0), (2, 5, 0)])]
    assert trades(ex.buy(4, 4, 100)) == [(1, 4, 100, 3), (2, 4, 100, 1)]


# --------------------------------------------------------------------------- market, IOC, FOK


def test_market_order_fills_what_it_can_and_the_remainder_is_cancelled_never_rests(ex):
    ex.sell(1, 2, 100)
    ex.sell(2, 1, 105)
    evs = ex.buy(3, 5, kind=MARKET, tif=IOC)
    assert trades(evs) == [(1, 3, 100, 2), (2, 3, 105, 1)]
    assert cancels(evs) == [(3, 2, C.IOC_REMAINDER)]
    assert of(evs, OrderRested) == []
    assert ex.book.depth() == ([], []) and ex.e.status(3) is None


def test_market_order_on_an_empty_book_is_cancelled_whole(ex):
    evs = ex.sell(1, 4, kind=MARKET)  # tif GTC: still never rests
    assert cancels(evs) == [(1, 4, C.IOC_REMAINDER)]
    assert ex.book.depth() == ([], []) and ex.e.status(1) is None


def test_ioc_trades_what_crosses_and_cancels_the_rest(ex):
    ex.sell(1, 2, 100)
    ex.sell(2, 2, 102)
    evs = ex.buy(3, 5, 101, tif=IOC)
    assert trades(evs) == [(1, 3, 100, 2)]
    assert cancels(evs) == [(3, 3, C.IOC_REMAINDER)]
    assert ex.book.depth() == ([], [(102, 2)])


def test_ioc_that_does_not_cross_is_cancelled_whole(ex):
    ex.sell(1, 2, 100)
    evs = ex.buy(2, 1, 99, tif=IOC)
    assert trades(evs) == [] and cancels(evs) == [(2, 1, C.IOC_REMAINDER)]
    assert ex.book.depth() == ([], [(100, 2)])


def test_fok_that_can_fill_trades_all_of_it(ex):
    ex.sell(1, 2, 100)
    ex.sell(2, 3, 101)
    evs = ex.buy(3, 5, 101, tif=FOK)
    assert trades(evs) == [(1, 3, 100, 2), (2, 3, 101, 3)]
    assert cancels(evs) == []


def test_fok_that_cannot_fill_is_rejected_and_the_book_is_untouched(ex):
    ex.sell(1, 2, 100)
    ex.sell(2, 3, 102)
    assert_rejected(ex, lambda: ex.buy(3, 5, 101, tif=FOK), R.FOK_CANNOT_FILL)
    assert_rejected(ex, lambda: ex.buy(4, 6, kind=MARKET, tif=FOK), R.FOK_CANNOT_FILL)


def test_fok_counts_an_icebergs_reserve(ex):
    ex.sell(1, 6, 100, display_qty=2)
    assert ex.book.depth() == ([], [(100, 2)])
    evs = ex.buy(2, 6, 100, tif=FOK)
    assert sum(q for *_, q in trades(evs)) == 6


def test_fok_blocked_by_own_resting_order_is_rejected_under_cancel_aggressing(ex):
    ex.sell(1, 2, 100, acct=2)
    ex.sell(2, 5, 100, acct=1)  # same account as the buyer
    ex.sell(3, 5, 101, acct=2)
    assert_rejected(ex, lambda: ex.buy(4, 3, 101, acct=1, tif=FOK), R.FOK_CANNOT_FILL)
    # what comes before its own order is enough: fills
    assert trades(ex.buy(5, 2, 101, acct=1, tif=FOK)) == [(1, 5, 100, 2)]


def test_fok_with_cancel_resting_sweeps_past_own_orders(ex):
    ex.sell(1, 2, 100, acct=1)
    ex.sell(2, 3, 100, acct=2)
    evs = ex.buy(3, 3, 100, acct=1, tif=FOK, stp=StpMode.CANCEL_RESTING)
    assert cancels(evs) == [(1, 2, C.STP)]
    assert trades(evs) == [(2, 3, 100, 3)]


def test_market_fok_respects_the_band_edge():
    """Liquidity beyond the band (resting before the band was narrowed) cannot
    fill a market FOK: it would stop at the band, so it must be rejected."""
    x = Ex()
    x.sell(1, 1, 100)
    x.sell(2, 1, 120)
    x.e.list_series(ListSeries(S, band_low=50, band_high=110))
    assert_rejected(x, lambda: x.buy(3, 2, kind=MARKET, tif=FOK), R.FOK_CANNOT_FILL)
    assert trades(x.buy(4, 1, kind=MARKET, tif=FOK)) == [(1, 4, 100, 1)]
    x.book.check()


# --------------------------------------------------------------------------- post-only


def test_post_only_that_would_cross_is_rejected(ex):
    ex.sell(1, 2, 100)
    assert_rejected(ex, lambda: ex.buy(2, 1, 100, post_only=True), R.POST_ONLY_WOULD_CROSS)
    assert_rejected(ex, lambda: ex.buy(3, 1, 101, post_only=True), R.POST_ONLY_WOULD_CROSS)


def test_post_only_that_does_not_cross_rests(ex):
    ex.sell(1, 2, 100)
    evs = ex.buy(2, 1, 99, post_only=True)
    assert of(evs, OrderRested) and ex.book.depth() == ([(99, 1)], [(100, 2)])


# --------------------------------------------------------------------------- iceberg


def test_iceberg_shows_only_its_display_quantity(ex):
    evs = ex.sell(1, 10, 100, display_qty=3)
    [r] = of(evs, OrderRested)
    assert (r.qty, r.open_qty) == (3, 10)
    assert ex.book.depth() == ([], [(100, 3)])
    st = ex.e.status(1)
    assert (st.visible_qty, st.open_qty) == (3, 10)


def test_iceberg_refill_goes_to_the_back_behind_later_orders_at_its_price(ex):
    ex.sell(1, 6, 100, display_qty=2)
    ex.sell(2, 3, 100)  # arrives after the iceberg
    evs = ex.buy(3, 2, 100)
    assert trades(evs) == [(1, 3, 100, 2)]
    [rf] = of(evs, OrderRefilled)
    assert (rf.order_id, rf.qty) == (1, 2)
    assert ex.l3(SELL) == [(100, [(2, 3, 0), (1, 2, 2)])]
    # the later order now trades first
    assert trades(ex.buy(4, 4, 100)) == [(2, 4, 100, 3), (1, 4, 100, 1)]


def test_one_aggressor_takes_several_iceberg_slices_and_the_last_slice_is_the_rest(ex):
    ex.sell(1, 7, 100, display_qty=3)
    evs = ex.buy(2, 5, 100)
    assert trades(evs) == [(1, 2, 100, 3), (1, 2, 100, 2)]
    assert ex.l3(SELL) == [(100, [(1, 1, 1)])]
    evs = ex.buy(3, 2, 100)
    assert trades(evs) == [(1, 3, 100, 1), (1, 3, 100, 1)]
    assert [r.qty for r in of(evs, OrderRefilled)] == [1]
    assert ex.e.status(1) is None


def test_resting_iceberg_remainder_of_an_aggressing_iceberg(ex):
    ex.sell(1, 2, 100)
    evs = ex.buy(2, 9, 100, display_qty=4)
    assert trades(evs) == [(1, 2, 100, 2)]
    assert ex.l3(BUY) == [(100, [(2, 4, 3)])]


# --------------------------------------------------------------------------- stops


def trade_at(x: Ex, price: int, qty: int = 1, oid_base: int = 900) -> None:
    """Make a trade at ``price`` between accounts 8 and 9."""
    x.sell(oid_base, qty, price, acct=8)
    x.buy(oid_base + 1, qty, price, acct=9)


def test_buy_stop_market_triggers_when_last_trade_is_at_or_above_its_stop(ex):
    ex.buy(1, 2, kind=STOP_MARKET, stop_price=101)
    assert ex.e.status(1).state == "stop_pending" and ex.e.status(1).visible_qty == 0
    ex.sell(2, 5, 105, acct=2)
    trade_at(ex, 100, oid_base=10)
    assert ex.e.status(1) is not None  # 100 < 101: still pending
    ex.sell(20, 1, 101, acct=8)
    evs = ex.buy(21, 1, 101, acct=9)  # trade at exactly 101
    [tr] = of(evs, OrderTriggered)
    assert (tr.order_id, tr.stop_price) == (1, 101)
    assert trades(evs)[-1] == (2, 1, 105, 2)
    assert ex.e.status(1) is None


def test_sell_stop_market_triggers_when_last_trade_is_at_or_below_its_stop(ex):
    ex.sell(1, 2, kind=STOP_MARKET, stop_price=99)
    ex.buy(2, 5, 95, acct=1)
    trade_at(ex, 100, oid_base=10)
    assert ex.e.status(1) is not None
    trade_at(ex, 98, oid_base=20)  # through the stop
    assert ex.e.status(1) is None
    assert ex.book.depth() == ([(95, 3)], [])


def test_stop_limit_triggers_then_trades_up_to_its_limit_and_rests_the_rest(ex):
    ex.sell(1, 1, 102, acct=2)
    ex.sell(2, 5, 104, acct=2)
    ex.buy(3, 3, 103, kind=STOP_LIMIT, stop_price=101, acct=1)
    trade_at(ex, 101, oid_base=10)
    evs = ex.e.events
    assert 3 in [t.order_id for t in of(evs, OrderTriggered)]
    st = ex.e.status(3)
    assert st.state == "resting" and st.price == 103 and st.open_qty == 2 and st.filled_qty == 1
    assert ex.book.depth() == ([(103, 2)], [(104, 5)])


def test_stop_submitted_when_the_last_price_is_already_through_triggers_at_once(ex):
    trade_at(ex, 100)
    ex.sell(5, 2, 103, acct=2)
    evs = ex.buy(6, 1, kind=STOP_MARKET, stop_price=99)
    assert [type(e) for e in evs][:2] == [OrderAccepted, OrderTriggered]
    assert trades(evs) == [(5, 6, 103, 1)]


def test_triggered_stops_enter_nearest_trigger_first_then_by_arrival(ex):
    ex.sell(1, 10, 110, acct=2)
    ex.buy(11, 1, kind=STOP_MARKET, stop_price=102, acct=3)
    ex.buy(12, 1, kind=STOP_MARKET, stop_price=101, acct=4)
    ex.buy(13, 1, kind=STOP_MARKET, stop_price=101, acct=5)
    ex.buy(14, 1, kind=STOP_MARKET, stop_price=103, acct=6)
    trade_at(ex, 103, oid_base=20)
    evs = ex.e.events
    assert [e.order_id for e in of(evs, OrderTriggered)] == [12, 13, 11, 14]
    assert [t[1] for t in trades(evs)][-4:] == [12, 13, 11, 14]


def test_sell_stops_enter_highest_stop_first(ex):
    ex.buy(1, 10, 90, acct=2)
    ex.sell(11, 1, kind=STOP_MARKET, stop_price=98, acct=3)
    ex.sell(12, 1, kind=STOP_MARKET, stop_price=99, acct=4)
    ex.sell(13, 1, kind=STOP_MARKET, stop_price=98, acct=5)
    trade_at(ex, 97, oid_base=20)
    assert [e.order_id for e in of(ex.e.events, OrderTriggered)] == [12, 11, 13]


def test_stops_cascade_a_triggered_stops_trade_triggers_the_next(ex):
    ex.sell(1, 1, 102, acct=2)
    ex.sell(2, 1, 104, acct=2)
    ex.sell(3, 1, 106, acct=2)
    ex.buy(11, 1, kind=STOP_MARKET, stop_price=101, acct=3)  # trades at 102
    ex.buy(12, 1, kind=STOP_MARKET, stop_price=102, acct=4)  # then 104
    ex.buy(13, 1, kind=STOP_MARKET, stop_price=104, acct=5)  # then 106
    ex.buy(14, 1, kind=STOP_MARKET, stop_price=107, acct=6)  # not reached
    trade_at(ex, 101, oid_base=20)
    evs = ex.e.events
    assert [e.order_id for e in of(evs, OrderTriggered)] == [11, 12, 13]
    assert trades(evs)[-3:] == [(1, 11, 102, 1), (2, 12, 104, 1), (3, 13, 106, 1)]
    assert ex.e.status(14).state == "stop_pending"


def test_pending_stop_can_be_cancelled_and_then_never_triggers(ex):
    ex.buy(1, 1, kind=STOP_MARKET, stop_price=101)
    assert cancels(ex.cancel(1, 1)) == [(1, 1, C.USER)]
    ex.sell(5, 1, 105, acct=2)
    trade_at(ex, 102)
    assert of(ex.e.events, OrderTriggered) == []
    assert ex.book.depth() == ([], [(105, 1)])


def test_pending_stop_cannot_be_modified(ex):
    ex.buy(1, 1, 0, kind=STOP_MARKET, stop_price=101)
    assert_rejected(ex, lambda: ex.modify(1, 1, 100, 1), R.NOT_MODIFIABLE)


def test_stop_triggers_on_an_intermediate_trade_price_of_a_sweep(ex):
    trade_at(ex, 100)  # last = 100
    ex.sell(1, 4, kind=STOP_MARKET, stop_price=95, acct=3)  # pending: 100 > 95
    ex.buy(2, 5, 90, acct=4)
    ex.sell(3, 1, 94, acct=2)
    ex.sell(4, 1, 96, acct=2)
    ex.buy(5, 2, 96, acct=1)  # trades at 94 (through the stop), then at 96
    assert ex.e.status(1) is None


def test_fok_stop_orders_are_rejected_as_a_bad_order_type(ex):
    """A stop cannot promise all-or-nothing when it triggers later."""
    ex.sell(1, 1, 102, acct=2)
    assert_rejected(ex, lambda: ex.buy(3, 3, 105, kind=STOP_LIMIT, stop_price=101, tif=FOK, acct=1), R.BAD_ORDER_TYPE)


# --------------------------------------------------------------------------- DAY and GTD


def test_end_of_day_expires_day_orders_and_pending_day_stops_only(ex):
    ex.buy(1, 1, 99, tif=DAY)
    ex.buy(2, 1, 98)  # GTC
    ex.sell(3, 1, kind=STOP_MARKET, stop_price=90, tif=DAY)
    evs = ex.do(EndOfDay(ex.tick()))
    assert sorted(cancels(evs)) == [(1, 1, C.EXPIRY), (3, 1, C.EXPIRY)]
    assert ex.e.status(2) is not None and ex.e.status(1) is None and ex.e.status(3) is None
    assert ex.book.depth() == ([(98, 1)], [])


def test_end_of_day_of_another_series_leaves_day_orders_alone(ex):
    ex.e.list_series("OTHER")
    ex.buy(1, 1, 99, tif=DAY)
    ex.buy(2, 1, 99, tif=DAY, series="OTHER")
    evs = ex.do(EndOfDay(ex.tick(), series="OTHER"))
    assert cancels(evs) == [(2, 1, C.EXPIRY)]
    assert ex.e.status(1) is not None


def test_gtd_order_expires_before_a_later_command_is_processed(ex):
    ex.sell(1, 2, 100, tif=GTD, expire_ns=55, ts=50)
    evs = ex.buy(2, 2, 100, ts=60)  # would have crossed
    assert cancels(evs) == [(1, 2, C.EXPIRY)]
    assert trades(evs) == []
    assert evs.index(of(evs, OrderCancelled)[0]) < evs.index(of(evs, OrderAccepted)[0])
    assert ex.book.depth() == ([(100, 2)], [])


def test_gtd_order_is_live_until_its_expiry_and_expires_exactly_at_it(ex):
    ex.sell(1, 2, 100, tif=GTD, expire_ns=100, ts=50)
    assert cancels(ex.do(AdvanceTime(99))) == []
    assert ex.e.status(1) is not None
    assert cancels(ex.do(AdvanceTime(100))) == [(1, 2, C.EXPIRY)]
    assert ex.e.status(1) is None and ex.book.depth() == ([], [])


def test_gtd_expiry_by_cancel_and_modify_timestamps(ex):
    ex.sell(1, 2, 100, tif=GTD, expire_ns=100, ts=50)
    ex.sell(2, 2, 101, tif=GTD, expire_ns=200, ts=60)
    evs = ex.cancel(1, 2, ts=150)  # expired first: then the cancel finds nothing
    assert cancels(evs) == [(1, 2, C.EXPIRY)]
    assert of(evs, OrderRejected)[0].reason is R.UNKNOWN_ORDER
    evs = ex.modify(2, 2, 101, 1, ts=250)
    assert cancels(evs) == [(2, 2, C.EXPIRY)] and of(evs, OrderRejected)[0].reason is R.UNKNOWN_ORDER


def test_gtd_expiry_runs_before_mass_cancel_and_end_of_day(ex):
    ex.sell(1, 2, 100, tif=GTD, expire_ns=100, ts=50)
    ex.sell(2, 2, 101, tif=GTD, expire_ns=300, ts=60)
    assert cancels(ex.do(EndOfDay(150))) == [(1, 2, C.EXPIRY)]
    assert ex.e.status(2) is not None
    assert cancels(ex.do(MassCancel(350, account=2))) == [(2, 2, C.EXPIRY)]


def test_gtd_orders_expire_in_expiry_order(ex):
    ex.sell(1, 1, 101, tif=GTD, expire_ns=300, ts=10)
    ex.sell(2, 1, 102, tif=GTD, expire_ns=200, ts=20)
    ex.buy(3, 1, kind=STOP_MARKET, stop_price=150, tif=GTD, expire_ns=250, ts=30)
    assert [c[0] for c in cancels(ex.do(AdvanceTime(400)))] == [2, 3, 1]


def test_gtd_stop_triggered_and_rested_still_expires(ex):
    ex.sell(1, 1, 101, acct=2)
    ex.buy(2, 3, 101, kind=STOP_LIMIT, stop_price=100, tif=GTD, expire_ns=500, acct=1, ts=10)
    trade_at(ex, 100)
    assert ex.e.status(2).open_qty == 2
    assert cancels(ex.do(AdvanceTime(500))) == [(2, 2, C.EXPIRY)]


# --------------------------------------------------------------------------- modify


def test_modify_decrease_at_same_price_keeps_time_priority(ex):
    ex.sell(1, 5, 100)
    ex.sell(2, 5, 100)
    evs = ex.modify(1, 2, 100, 3)
    [m] = of(evs, OrderModified)
    assert m.kept_priority and m.qty == 3
    assert ex.l3(SELL) == [(100, [(1, 3, 0), (2, 5, 0)])]
    assert of(evs, LevelChanged)[-1].qty == 8
    assert trades(ex.buy(3, 1, 100)) == [(1, 3, 100, 1)]


def test_modify_increase_loses_time_priority(ex):
    ex.sell(1, 5, 100)
    ex.sell(2, 5, 100)
    evs = ex.modify(1, 2, 100, 6)
    assert not of(evs, OrderModified)[0].kept_priority
    assert ex.l3(SELL) == [(100, [(2, 5, 0), (1, 6, 0)])]
    assert trades(ex.buy(3, 1, 100)) == [(2, 3, 100, 1)]


def test_modify_price_change_loses_priority_and_leaves_the_old_level_consistent(ex):
    ex.buy(1, 5, 100)
    ex.buy(2, 5, 100)
    ex.modify(1, 1, 99, 5)
    assert ex.l3(BUY) == [(100, [(2, 5, 0)]), (99, [(1, 5, 0)])]
    ex.book.check()
    # the order at 100 is order 2 only; 1 trades at 99, never at its old price
    assert trades(ex.sell(3, 6, 99, acct=2)) == [(2, 3, 100, 5), (1, 3, 99, 1)]
    assert ex.e.status(1).open_qty == 4


def test_modify_away_and_back_to_the_same_price_goes_to_the_back(ex):
    ex.buy(1, 5, 100)
    ex.buy(2, 5, 100)
    ex.modify(1, 1, 99, 5)
    ex.modify(1, 1, 100, 5)
    assert ex.l3(BUY) == [(100, [(2, 5, 0), (1, 5, 0)])]
    assert trades(ex.sell(3, 10, 100, acct=2)) == [(2, 3, 100, 5), (1, 3, 100, 5)]
    assert ex.book.depth() == ([], [])


def test_modify_to_a_crossing_price_trades_as_the_aggressor(ex):
    ex.sell(1, 3, 101)
    ex.buy(2, 5, 99)
    evs = ex.modify(2, 1, 102, 5)
    [t] = of(evs, Trade)
    assert (t.maker_id, t.taker_id, t.price, t.qty, t.aggressor) == (1, 2, 101, 3, BUY)
    assert ex.book.depth() == ([(102, 2)], [])


def test_modify_quantity_is_the_new_open_quantity(ex):
    ex.sell(1, 10, 100)
    ex.buy(2, 4, 100)
    ex.modify(1, 2, 100, 5)  # open 6 -> 5 (not 10 -> 5, not 6 - 5)
    st = ex.e.status(1)
    assert (st.open_qty, st.filled_qty) == (5, 4)
    ex.modify(1, 2, 100, 8)  # increase: open 8
    assert ex.e.status(1).open_qty == 8


def test_modify_of_an_iceberg_takes_the_reserve_first(ex):
    ex.sell(1, 10, 100, display_qty=3)  # 3 shown, 7 hidden
    ex.modify(1, 2, 100, 5)
    assert ex.l3(SELL) == [(100, [(1, 3, 2)])]
    ex.modify(1, 2, 100, 2)
    assert ex.l3(SELL) == [(100, [(1, 2, 0)])]
    assert ex.book.depth() == ([], [(100, 2)])


def test_post_only_modify_to_a_crossing_price_is_rejected(ex):
    ex.sell(1, 1, 101)
    ex.buy(2, 1, 99, post_only=True)
    assert_rejected(ex, lambda: ex.modify(2, 1, 101, 1), R.POST_ONLY_WOULD_CROSS)
    assert of(ex.modify(2, 1, 100, 1), OrderModified)


def test_modified_gtd_order_still_expires(ex):
    ex.buy(1, 5, 100, tif=GTD, expire_ns=500, ts=10)
    ex.buy(2, 5, 100, ts=20)
    ex.modify(1, 1, 99, 6, ts=30)
    assert cancels(ex.do(AdvanceTime(500))) == [(1, 6, C.EXPIRY)]
    assert ex.book.depth() == ([(100, 5)], [])


# --------------------------------------------------------------------------- cancel, mass cancel, ownership, ids


def test_cancel_removes_the_order_with_reason_user(ex):
    ex.buy(1, 5, 100)
    ex.buy(2, 4, 100)
    evs = ex.cancel(1, 1)
    assert cancels(evs) == [(1, 5, C.USER)]
    assert of(evs, LevelChanged)[0].qty == 4
    assert ex.l3(BUY) == [(100, [(2, 4, 0)])]


def test_cancel_of_a_partially_filled_iceberg_cancels_its_whole_open_quantity(ex):
    ex.sell(1, 10, 100, display_qty=3)
    ex.buy(2, 4, 100)
    assert cancels(ex.cancel(1, 2)) == [(1, 6, C.USER)]


def test_cancel_by_non_owner_is_rejected_and_order_untouched(ex):
    ex.buy(1, 5, 100, acct=1)
    assert_rejected(ex, lambda: ex.cancel(1, 2), R.NOT_OWNER)
    assert ex.e.status(1).open_qty == 5


def test_modify_by_non_owner_is_rejected_and_order_untouched(ex):
    ex.buy(1, 5, 100, acct=1)
    assert_rejected(ex, lambda: ex.modify(1, 2, 100, 1), R.NOT_OWNER)


def test_mass_cancel_by_account_cancels_its_resting_and_pending_orders_in_order(ex):
    ex.buy(1, 1, 99, acct=1)
    ex.buy(2, 1, 98, acct=2)
    ex.sell(3, 1, 105, acct=1)
    ex.buy(4, 1, kind=STOP_MARKET, stop_price=110, acct=1)
    evs = ex.do(MassCancel(ex.tick(), account=1))
    assert cancels(evs) == [(1, 1, C.MASS_CANCEL), (3, 1, C.MASS_CANCEL), (4, 1, C.MASS_CANCEL)]
    assert [o.order_id for o in ex.e.live_orders()] == [2]


def test_mass_cancel_by_series_and_by_account_and_series(ex):
    ex.e.list_series("OTHER")
    ex.buy(1, 1, 99, acct=1)
    ex.buy(2, 1, 99, acct=1, series="OTHER")
    ex.buy(3, 1, 99, acct=2, series="OTHER")
    ex.buy(4, 1, 98, acct=2)
    assert [c[0] for c in cancels(ex.do(MassCancel(ex.tick(), account=2, series="OTHER")))] == [3]
    assert [c[0] for c in cancels(ex.do(MassCancel(ex.tick(), series=S)))] == [1, 4]
    assert [o.order_id for o in ex.e.live_orders()] == [2]
    ex.e.book("OTHER").check()


def test_order_id_can_be_reused_after_the_order_is_filled_or_cancelled(ex):
    ex.sell(1, 1, 100)
    ex.buy(2, 1, 100)  # 1 and 2 both dead now
    assert of(ex.sell(1, 2, 101), OrderRested)
    ex.cancel(1, 2)
    assert of(ex.buy(1, 3, 99), OrderRested)
    assert ex.e.status(1).side is BUY


def test_duplicate_live_order_id_is_rejected(ex):
    ex.buy(1, 5, 100)
    ex.sell(2, 1, kind=STOP_MARKET, stop_price=90)
    assert_rejected(ex, lambda: ex.sell(1, 1, 105, acct=3), R.DUPLICATE_ORDER_ID)
    assert_rejected(ex, lambda: ex.buy(2, 1, 95), R.DUPLICATE_ORDER_ID)


# --------------------------------------------------------------------------- self-trade prevention


def stp_book(x: Ex) -> None:
    """Asks at 100: order 1 (acct 5, 2 lots), order 2 (acct 1, 4 lots), order 3 (acct 5, 3 lots)."""
    x.sell(1, 2, 100, acct=5)
    x.sell(2, 4, 100, acct=1)
    x.sell(3, 3, 100, acct=5)


def test_stp_default_is_cancel_aggressing(ex):
    stp_book(ex)
    evs = ex.buy(10, 5, 100, acct=1)
    assert trades(evs) == [(1, 10, 100, 2)]
    assert cancels(evs) == [(10, 3, C.STP)]
    assert ex.l3(SELL) == [(100, [(2, 4, 0), (3, 3, 0)])]


def test_stp_cancel_resting_cancels_own_order_and_keeps_trading(ex):
    stp_book(ex)
    evs = ex.buy(10, 5, 100, acct=1, stp=StpMode.CANCEL_RESTING)
    assert cancels(evs) == [(2, 4, C.STP)]
    assert trades(evs) == [(1, 10, 100, 2), (3, 10, 100, 3)]
    assert ex.book.depth() == ([], [])


def test_stp_cancel_both_cancels_resting_and_aggressing(ex):
    stp_book(ex)
    evs = ex.buy(10, 5, 100, acct=1, stp=StpMode.CANCEL_BOTH)
    assert trades(evs) == [(1, 10, 100, 2)]
    assert cancels(evs) == [(2, 4, C.STP), (10, 3, C.STP)]
    assert ex.l3(SELL) == [(100, [(3, 3, 0)])]


def test_stp_decrement_and_cancel_smaller_aggressor_decrements_resting(ex):
    stp_book(ex)
    evs = ex.buy(10, 5, 100, acct=1, stp=StpMode.DECREMENT_AND_CANCEL)  # 3 left after order 1
    assert trades(evs) == [(1, 10, 100, 2)]
    assert cancels(evs) == [(2, 3, C.STP), (10, 3, C.STP)]  # partial cancel of the resting order
    assert ex.l3(SELL) == [(100, [(2, 1, 0), (3, 3, 0)])]
    assert ex.e.status(2).open_qty == 1


def test_stp_decrement_and_cancel_larger_aggressor_cancels_resting_and_trades_on(ex):
    stp_book(ex)
    evs = ex.buy(10, 9, 100, acct=1, stp=StpMode.DECREMENT_AND_CANCEL)
    assert cancels(evs) == [(2, 4, C.STP), (10, 4, C.STP)]
    assert trades(evs) == [(1, 10, 100, 2), (3, 10, 100, 3)]
    assert ex.book.depth() == ([], [])  # 9 = 2 + 4 + 3: nothing rests


def test_stp_decrement_and_cancel_equal_quantities_cancels_both(ex):
    ex.sell(2, 4, 100, acct=1)
    evs = ex.buy(10, 4, 101, acct=1, stp=StpMode.DECREMENT_AND_CANCEL)
    assert cancels(evs) == [(2, 4, C.STP), (10, 4, C.STP)]
    assert ex.book.depth() == ([], [])


def test_stp_decrement_of_a_resting_iceberg_takes_its_reserve_first(ex):
    ex.sell(2, 10, 100, acct=1, display_qty=4)  # 4 shown, 6 hidden
    evs = ex.buy(10, 5, 100, acct=1, stp=StpMode.DECREMENT_AND_CANCEL)
    assert cancels(evs) == [(2, 5, C.STP), (10, 5, C.STP)]
    assert ex.l3(SELL) == [(100, [(2, 4, 1)])]
    evs = ex.buy(11, 4, 100, acct=1, stp=StpMode.DECREMENT_AND_CANCEL)
    assert ex.l3(SELL) == [(100, [(2, 1, 0)])]


def test_stp_none_lets_an_account_trade_with_itself(ex):
    stp_book(ex)
    evs = ex.buy(10, 5, 100, acct=1, stp=StpMode.NONE)
    assert trades(evs) == [(1, 10, 100, 2), (2, 10, 100, 3)]
    assert cancels(evs) == []


def test_account_default_stp_applies_and_order_override_wins(ex):
    stp_book(ex)
    ex.do(SetAccountStp(1, StpMode.CANCEL_RESTING))
    evs = ex.buy(10, 2, 100, acct=1, stp=StpMode.CANCEL_AGGRESSING)  # override
    assert trades(evs) == [(1, 10, 100, 2)]
    assert cancels(ex.buy(11, 1, 100, acct=1, stp=StpMode.CANCEL_AGGRESSING)) == [(11, 1, C.STP)]
    evs = ex.buy(12, 1, 100, acct=1)  # account default: cancel resting
    assert cancels(evs) == [(2, 4, C.STP)]
    assert trades(evs) == [(3, 12, 100, 1)]


def test_stp_applies_to_a_modify_that_crosses(ex):
    ex.sell(1, 3, 101, acct=1)
    ex.buy(2, 3, 99, acct=1)
    evs = ex.modify(2, 1, 101, 3)
    assert trades(evs) == [] and cancels(evs) == [(2, 3, C.STP)]
    assert ex.e.status(2) is None and ex.e.status(1).open_qty == 3


# --------------------------------------------------------------------------- validation


def reject_setup() -> Ex:
    """A banded book with some of everything resting."""
    x = Ex(band_low=90, band_high=110, max_qty=100)
    x.buy(1, 5, 99, acct=1)
    x.buy(2, 8, 98, acct=2, display_qty=3)
    x.sell(3, 4, 101, acct=2)
    x.sell(4, 2, 101, acct=3, tif=DAY)
    x.buy(5, 1, kind=STOP_MARKET, stop_price=105, acct=1)
    x.sell(6, 2, 95, kind=STOP_LIMIT, stop_price=96, acct=3)
    return x


REJECTS = [
    ("unknown series", R.UNKNOWN_SERIES, lambda x: x.buy(10, 1, 100, series="NOPE")),
    ("zero qty", R.BAD_QUANTITY, lambda x: x.buy(10, 0, 100)),
    ("negative qty", R.BAD_QUANTITY, lambda x: x.sell(10, -3, 100)),
    ("market zero qty", R.BAD_QUANTITY, lambda x: x.buy(10, 0, kind=MARKET)),
    ("qty over max", R.QUANTITY_TOO_LARGE, lambda x: x.buy(10, 101, 100)),
    ("limit above band", R.PRICE_OUTSIDE_BAND, lambda x: x.sell(10, 1, 111)),
    ("limit below band", R.PRICE_OUTSIDE_BAND, lambda x: x.buy(10, 1, 89)),
    ("ioc outside band", R.PRICE_OUTSIDE_BAND, lambda x: x.buy(10, 1, 120, tif=IOC)),
    ("stop limit outside band", R.PRICE_OUTSIDE_BAND, lambda x: x.buy(10, 1, 120, kind=STOP_LIMIT, stop_price=105)),
    ("iceberg outside band", R.PRICE_OUTSIDE_BAND, lambda x: x.buy(10, 5, 80, display_qty=1)),
    ("limit price zero", R.BAD_PRICE, lambda x: x.buy(10, 1, 0)),
    ("limit price negative", R.BAD_PRICE, lambda x: x.buy(10, 1, -5, post_only=True)),
    ("limit price over int64", R.BAD_PRICE, lambda x: x.buy(10, 1, 2**63)),
    ("iceberg price over int64", R.BAD_PRICE, lambda x: x.sell(10, 5, 2**70, display_qty=1)),
    ("stop limit price over int64", R.BAD_PRICE, lambda x: x.buy(10, 1, 2**64, kind=STOP_LIMIT, stop_price=105)),
    ("market with a price", R.BAD_PRICE, lambda x: x.buy(10, 1, 100, kind=MARKET)),
    ("stop market with a price", R.BAD_PRICE, lambda x: x.buy(10, 1, 100, kind=STOP_MARKET, stop_price=105)),
    ("duplicate resting id", R.DUPLICATE_ORDER_ID, lambda x: x.buy(3, 1, 97, acct=2)),
    ("duplicate stop id", R.DUPLICATE_ORDER_ID, lambda x: x.buy(5, 1, 97, acct=1)),
    ("display over qty", R.BAD_DISPLAY_QUANTITY, lambda x: x.buy(10, 2, 97, display_qty=3)),
    ("display negative", R.BAD_DISPLAY_QUANTITY, lambda x: x.buy(10, 2, 97, display_qty=-1)),
    ("gtd without expiry", R.BAD_EXPIRY, lambda x: x.buy(10, 1, 97, tif=GTD)),
    ("gtd expiry in the past", R.BAD_EXPIRY, lambda x: x.buy(10, 1, 97, tif=GTD, expire_ns=5)),
    ("gtd expiry now", R.BAD_EXPIRY, lambda x: x.buy(10, 1, 97, tif=GTD, expire_ns=x.ts + 10)),
    ("gtc with expiry", R.BAD_EXPIRY, lambda x: x.buy(10, 1, 97, expire_ns=10**12)),
    ("post-only market", R.BAD_ORDER_TYPE, lambda x: x.buy(10, 1, kind=MARKET, post_only=True)),
    ("post-only ioc", R.BAD_ORDER_TYPE, lambda x: x.buy(10, 1, 97, tif=IOC, post_only=True)),
    ("post-only stop", R.BAD_ORDER_TYPE, lambda x: x.buy(10, 1, 97, kind=STOP_LIMIT, stop_price=105, post_only=True)),
    ("iceberg ioc", R.BAD_ORDER_TYPE, lambda x: x.buy(10, 4, 97, tif=IOC, display_qty=1)),
    ("iceberg fok", R.BAD_ORDER_TYPE, lambda x: x.buy(10, 4, 97, tif=FOK, display_qty=1)),
    ("iceberg market", R.BAD_ORDER_TYPE, lambda x: x.buy(10, 4, kind=MARKET, display_qty=1)),
    ("stop without stop price", R.BAD_ORDER_TYPE, lambda x: x.buy(10, 1, kind=STOP_MARKET)),
    ("stop limit negative stop", R.BAD_ORDER_TYPE, lambda x: x.buy(10, 1, 100, kind=STOP_LIMIT, stop_price=-1)),
    ("limit with stop price", R.BAD_ORDER_TYPE, lambda x: x.buy(10, 1, 97, stop_price=100)),
    ("post-only crossing", R.POST_ONLY_WOULD_CROSS, lambda x: x.buy(10, 1, 101, post_only=True)),
    ("post-only iceberg crossing", R.POST_ONLY_WOULD_CROSS, lambda x: x.sell(10, 9, 99, post_only=True, display_qty=2)),
    ("fok too big", R.FOK_CANNOT_FILL, lambda x: x.buy(10, 7, 101, tif=FOK)),
    ("fok market too big", R.FOK_CANNOT_FILL, lambda x: x.sell(10, 14, kind=MARKET, tif=FOK)),
    ("fok blocked by own", R.FOK_CANNOT_FILL, lambda x: x.sell(10, 6, 98, acct=1, tif=FOK)),
    ("cancel unknown", R.UNKNOWN_ORDER, lambda x: x.cancel(77, 1)),
    ("modify unknown", R.UNKNOWN_ORDER, lambda x: x.modify(77, 1, 100, 1)),
    ("cancel not owner", R.NOT_OWNER, lambda x: x.cancel(1, 2)),
    ("cancel stop not owner", R.NOT_OWNER, lambda x: x.cancel(5, 3)),
    ("modify not owner", R.NOT_OWNER, lambda x: x.modify(1, 2, 99, 1)),
    ("modify zero qty", R.BAD_QUANTITY, lambda x: x.modify(1, 1, 99, 0)),
    ("modify qty over max", R.QUANTITY_TOO_LARGE, lambda x: x.modify(1, 1, 99, 101)),
    ("modify price zero", R.BAD_PRICE, lambda x: x.modify(1, 1, 0, 5)),
    ("modify price over int64", R.BAD_PRICE, lambda x: x.modify(1, 1, 2**63, 5)),
    ("modify outside band", R.PRICE_OUTSIDE_BAND, lambda x: x.modify(1, 1, 111, 5)),
    ("modify stop", R.NOT_MODIFIABLE, lambda x: x.modify(6, 3, 95, 1)),
]


@pytest.mark.parametrize("name,reason,action", REJECTS, ids=[r[0] for r in REJECTS])
def test_invalid_command_is_rejected_with_its_reason_and_changes_nothing(name, reason, action):
    x = reject_setup()
    assert_rejected(x, lambda: action(x), reason)
    ev = x.e.events[-1]
    assert ev.cmd == x.e.cmd_seq


def test_a_price_past_int64_is_refused_on_a_series_without_a_band():
    # nothing else bounds it there, and the compiled book stores prices as int64
    x = Ex()
    x.sell(1, 2, 100)
    assert_rejected(x, lambda: x.buy(2, 1, 2**63), R.BAD_PRICE)
    assert_rejected(x, lambda: x.modify(1, 2, 2**64, 2), R.BAD_PRICE)
    assert trades(x.buy(3, 1, 2**63 - 1)) == [(1, 3, 100, 1)]


def test_every_validation_reason_is_covered():
    covered = {r[1] for r in REJECTS}
    untested = {
        R.CREDIT_LIMIT,
        R.MARKET_CLOSED,
        R.SERIES_HALTED,
        R.NOT_IN_BATCH,
    }  # risk gate, sessions, batch auctions: other layers (test_batch.py)
    assert set(RejectReason) - untested <= covered


def test_risk_check_reject_changes_nothing():
    x = reject_setup()
    x.e.risk_check = lambda c: R.CREDIT_LIMIT if c.qty > 3 else None
    assert_rejected(x, lambda: x.buy(10, 4, 101), R.CREDIT_LIMIT)
    assert trades(x.buy(11, 3, 101)) == [(3, 11, 101, 3)]


# --------------------------------------------------------------------------- band


def test_market_order_stops_at_the_band_edge_with_reason_band():
    x = Ex()
    x.sell(1, 2, 100)
    x.sell(2, 2, 109)
    x.sell(3, 2, 115)
    x.e.list_series(ListSeries(S, band_low=90, band_high=110))
    evs = x.buy(4, 10, kind=MARKET)
    assert trades(evs) == [(1, 4, 100, 2), (2, 4, 109, 2)]
    assert cancels(evs) == [(4, 6, C.BAND)]
    assert x.book.depth() == ([], [(115, 2)])
    x.book.check()


def test_market_order_that_empties_the_book_inside_the_band_is_an_ioc_remainder(banded):
    banded.buy(1, 2, 95)
    evs = banded.sell(2, 5, kind=MARKET)
    assert cancels(evs) == [(2, 3, C.IOC_REMAINDER)]


def test_band_edges_are_inclusive(banded):
    assert of(banded.buy(1, 1, 90), OrderRested)
    assert of(banded.sell(2, 1, 110), OrderRested)


def test_a_moving_band_keeps_its_width_and_follows_the_last_trade():
    x = Ex()
    x.e.list_series(ListSeries(S, band_low=90, band_high=110, band_moving=True))
    assert_rejected(x, lambda: x.buy(1, 1, 111), R.PRICE_OUTSIDE_BAND)  # no trade yet: as listed
    x.sell(2, 1, 108)
    x.buy(3, 1, 108)  # last trade 108: the band is now 98..118
    assert of(x.buy(4, 1, 98), OrderRested)
    assert_rejected(x, lambda: x.sell(5, 1, 97), R.PRICE_OUTSIDE_BAND)
    assert of(x.sell(6, 1, 118), OrderRested)
    assert_rejected(x, lambda: x.buy(7, 1, 119), R.PRICE_OUTSIDE_BAND)


# --------------------------------------------------------------------------- queries and events


def test_queries_best_prices_depth_orders_at_and_status(ex):
    ex.buy(1, 3, 99)
    ex.buy(2, 4, 99)
    ex.buy(3, 1, 97)
    ex.sell(4, 2, 101)
    ex.sell(5, 6, 103, display_qty=2)
    b = ex.book
    assert (b.best_bid(), b.best_ask()) == (99, 101)
    assert b.depth() == ([(99, 7), (97, 1)], [(101, 2), (103, 2)])
    assert b.depth(1) == ([(99, 7)], [(101, 2)])
    assert [o.order_id for o in b.orders_at(BUY, 99)] == [1, 2]
    assert b.orders_at(BUY, 98) == [] and b.orders_at(SELL, 99) == []
    ex.buy(6, 1, 101)
    st = ex.e.status(4)
    assert (st.order_id, st.account, st.series, st.side, st.kind, st.price) == (4, 2, S, SELL, LIMIT, 101)
    assert (st.open_qty, st.visible_qty, st.filled_qty, st.state) == (1, 1, 1, "resting")
    st = ex.e.status(5)
    assert (st.open_qty, st.visible_qty) == (6, 2)
    assert ex.e.status(6) is None and ex.e.status(999) is None


def test_event_seq_strictly_increases_and_cmd_numbers_the_command(ex):
    stp_book(ex)
    ex.buy(10, 9, 100, acct=1, stp=StpMode.DECREMENT_AND_CANCEL)
    ex.cancel(3, 5)
    ex.cancel(3, 5)
    ex.modify(2, 1, 100, 1)
    seqs = [e.seq for e in ex.e.events]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1
    cmds = [e.cmd for e in ex.e.events]
    assert cmds == sorted(cmds) and cmds[-1] == ex.e.cmd_seq


def test_level_changed_reports_the_new_visible_quantity_of_every_touched_level(ex):
    ex.sell(1, 2, 100)
    ex.sell(2, 2, 101)
    evs = ex.buy(3, 3, 101)
    assert [(e.side, e.price, e.qty) for e in of(evs, LevelChanged)] == [(SELL, 100, 0), (SELL, 101, 1)]


def test_same_commands_give_the_same_events_byte_for_byte():
    def run() -> bytes:
        x = Ex(band_low=50, band_high=150)
        stp_book(x)
        x.buy(10, 9, 100, acct=1, stp=StpMode.DECREMENT_AND_CANCEL)
        x.buy(11, 4, kind=STOP_MARKET, stop_price=100, acct=7)
        x.sell(12, 5, 99, display_qty=2, acct=6)
        x.buy(13, 3, 99, acct=9)
        return b"\n".join(encoder.encode(e) for e in x.e.events)

    assert run() == run()
