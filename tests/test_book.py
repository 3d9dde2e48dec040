"""Direct tests of `OrderBook`: place/match/rest/cancel/reduce/fillable and the
queries, with attention to the lazy heap of level prices (levels emptied by
cancel leave stale heap entries; a level re-created at the same price must
reuse or re-add its entry correctly)."""

from __future__ import annotations

import random

from cfx.book import Order, OrderBook
from cfx.types import (
    CancelReason,
    LevelChanged,
    OrderCancelled,
    OrderKind,
    OrderRefilled,
    OrderRested,
    Side,
    StpMode,
    SubmitOrder,
    TimeInForce,
    Trade,
)

BUY, SELL = Side.BUY, Side.SELL
S = "X"


def new_book() -> tuple[OrderBook, list, dict]:
    out: list = []
    live: dict = {}
    return OrderBook(S, live=live, out=out), out, live


def order(oid, side, price, qty, acct=None, **kw) -> Order:
    return Order(oid, acct if acct is not None else oid, side, price, qty, S, **kw)


def rest(book: OrderBook, oid, side, price, qty, acct=None, **kw) -> Order:
    o = order(oid, side, price, qty, acct, **kw)
    book.place(o, qty, price, 1, 0)
    return o


def trades(out) -> list:
    return [(t.maker_id, t.taker_id, t.price, t.qty) for t in out if type(t) is Trade]


def test_place_without_cross_rests_and_emits_rested_and_level_changed():
    book, out, live = new_book()
    o = rest(book, 1, BUY, 100, 5)
    assert [type(e) for e in out] == [OrderRested, LevelChanged]
    assert live == {1: o}
    assert book.best_bid() == 100 and book.best_ask() is None
    assert book.depth() == ([(100, 5)], [])
    assert [e.seq for e in out] == [1, 2]
    book.check()


def test_place_crossing_trades_at_resting_prices_then_rests():
    book, out, live = new_book()
    rest(book, 1, SELL, 101, 2)
    rest(book, 2, SELL, 100, 2)
    out.clear()
    rest(book, 3, BUY, 101, 5)
    assert trades(out) == [(2, 3, 100, 2), (1, 3, 101, 2)]
    assert book.depth() == ([(101, 1)], [])
    assert book.last_price == 101 and set(live) == {3}
    book.check()


def test_a_new_order_meets_the_book_as_its_command_and_gets_an_order_only_if_it_rests():
    book, out, live = new_book()
    rest(book, 1, SELL, 100, 2)
    rest(book, 2, SELL, 101, 2)
    assert book.place(SubmitOrder(0, S, 3, 3, BUY, 3, 100), 3, 100, 1, 0) == 2
    o = live[3]
    assert type(o) is Order and (o.price, o.qty, o.hidden, o.filled) == (100, 1, 0, 2)
    assert book.place(SubmitOrder(0, S, 4, 4, SELL, 1, 100), 1, 100, 1, 0) == 1  # fills it: it leaves
    assert 3 not in live and 4 not in live
    assert book.place(SubmitOrder(0, S, 5, 5, BUY, 6, 101, display_qty=2), 6, 101, 1, 0) == 2
    ice = live[5]
    assert (ice.qty, ice.hidden, ice.filled, ice.display_qty) == (2, 2, 2, 2)
    book.check()


def test_match_respects_the_limit_and_returns_what_traded_and_the_remainder():
    book, out, _ = new_book()
    rest(book, 1, SELL, 100, 2)
    rest(book, 2, SELL, 102, 2)
    taker = order(3, BUY, 101, 10)
    assert book.match(taker, 10, 101, 1, 0) == (2, 8)
    assert (taker.qty, taker.filled) == (10, 0)  # the taker is left as it came: `rest` records what it traded
    assert book.match(order(4, BUY, 0, 1), 1, 99, 1, 0) == (0, 1)  # does not cross: nothing
    assert book.match(order(5, BUY, 0, 5), 5, None, 1, 0) == (2, 3)  # no limit: everything
    assert book.depth() == ([], [])
    book.check()


def test_ioc_and_market_remainders_are_cancelled_not_rested():
    book, out, live = new_book()
    rest(book, 1, SELL, 100, 2)
    out.clear()
    assert book.place(order(2, BUY, 100, 5, tif=TimeInForce.IOC), 5, 100, 1, 0) == 2  # what traded
    [c] = [e for e in out if type(e) is OrderCancelled]
    assert (c.order_id, c.qty, c.reason) == (2, 3, CancelReason.IOC_REMAINDER)
    assert 2 not in live and book.depth() == ([], [])
    rest(book, 3, SELL, 120, 1)
    out.clear()
    book.place(order(4, BUY, 0, 5, kind=OrderKind.MARKET), 5, 110, 1, 0)  # band edge 110
    [c] = [e for e in out if type(e) is OrderCancelled]
    assert c.reason is CancelReason.BAND and c.qty == 5
    book.check()


def test_cancel_removes_the_order_and_an_emptied_level():
    book, out, live = new_book()
    a = rest(book, 1, BUY, 100, 5)
    b = rest(book, 2, BUY, 100, 3)
    out.clear()
    book.cancel(a, 2, 0, CancelReason.USER)
    assert [type(e) for e in out] == [OrderCancelled, LevelChanged]
    assert out[1].qty == 3 and set(live) == {2}
    book.cancel(b, 2, 0, CancelReason.USER)
    assert book.levels(BUY) == [] and book.best_bid() is None and book.depth() == ([], [])
    book.check()


def test_cancel_with_no_reason_is_silent_but_for_the_level_change():
    book, out, _ = new_book()
    a = rest(book, 1, SELL, 100, 5)
    out.clear()
    book.cancel(a, 2, 0, None)
    assert [type(e) for e in out] == [LevelChanged]


def test_level_cancelled_away_and_recreated_at_the_same_price():
    book, out, live = new_book()
    a = rest(book, 1, SELL, 100, 5)
    rest(book, 2, SELL, 101, 5)
    book.cancel(a, 2, 0, CancelReason.USER)  # leaves a stale heap entry for 100
    assert book.best_ask() == 101
    rest(book, 3, SELL, 100, 2)  # re-created while (or after) its entry is stale
    assert book.best_ask() == 100
    book.check()
    out.clear()
    rest(book, 4, BUY, 101, 3)
    assert trades(out) == [(3, 4, 100, 2), (2, 4, 101, 1)]
    assert book.depth() == ([], [(101, 4)])
    # emptied by a match this time, then re-created again
    rest(book, 5, SELL, 100, 1)
    rest(book, 6, BUY, 100, 1)
    assert book.best_ask() == 101
    rest(book, 7, SELL, 100, 1)
    assert book.best_ask() == 100 and book.depth() == ([], [(100, 1), (101, 4)])
    book.check()


def test_many_stale_heap_entries_are_skipped_by_queries_and_matching():
    book, out, live = new_book()
    orders = [rest(book, i, BUY, 1000 - i, 1) for i in range(1, 501)]
    for o in orders[:-1]:  # cancel all but the worst
        book.cancel(o, 2, 0, CancelReason.USER)
    assert book.best_bid() == 500 and book.depth() == ([(500, 1)], [])
    # re-create a few of the cancelled prices; the rest stay stale
    for i in (7, 3, 250):
        rest(book, 1000 + i, BUY, 1000 - i, 2)
    assert book.best_bid() == 997 and book.depth(2) == ([(997, 2), (993, 2)], [])
    book.check()
    out.clear()
    rest(book, 2000, SELL, 1, 10, acct=99)
    assert trades(out) == [(1003, 2000, 997, 2), (1007, 2000, 993, 2), (1250, 2000, 750, 2), (500, 2000, 500, 1)]
    assert book.depth() == ([], [(1, 3)]) and book.best_bid() is None
    book.check()


def test_random_rest_cancel_match_keeps_best_prices_and_depth_right():
    rng = random.Random(5)
    book, out, live = new_book()
    oid = 0
    for _ in range(3000):
        r = rng.random()
        if r < 0.55:
            oid += 1
            side = BUY if rng.random() < 0.5 else SELL
            price = rng.randint(90, 110)
            book.place(order(oid, side, price, rng.randint(1, 5), acct=oid), rng.randint(1, 5), price, 1, 0)
        elif live:
            o = live[rng.choice(list(live))]
            book.cancel(o, 1, 0, CancelReason.USER)
        book.check()
        # depth against a plain recount of the live orders
        agg: dict = {}
        for o in live.values():
            agg[o.side, o.price] = agg.get((o.side, o.price), 0) + o.qty
        bids = sorted(((p, q) for (s, p), q in agg.items() if s is BUY), reverse=True)
        asks = sorted((p, q) for (s, p), q in agg.items() if s is SELL)
        assert book.depth(10**9) == (bids, asks)


def test_orders_at_is_queue_order_and_skips_dead_entries():
    book, out, live = new_book()
    a = rest(book, 1, SELL, 100, 1)
    rest(book, 2, SELL, 100, 1)
    rest(book, 3, SELL, 100, 1)
    book.cancel(live[2], 1, 0, CancelReason.USER)
    assert [o.order_id for o in book.orders_at(SELL, 100)] == [1, 3]
    assert a.qty == 1 and book.orders_at(BUY, 100) == []


def test_iceberg_rests_one_slice_and_refills_to_the_back():
    book, out, live = new_book()
    ice = rest(book, 1, SELL, 100, 7, display_qty=3)
    rest(book, 2, SELL, 100, 2)
    assert (ice.qty, ice.hidden) == (3, 4) and book.depth() == ([], [(100, 5)])
    out.clear()
    rest(book, 3, BUY, 100, 3)
    assert [type(e) for e in out if type(e) is OrderRefilled] == [OrderRefilled]
    assert [o.order_id for o in book.orders_at(SELL, 100)] == [2, 1]
    assert (ice.qty, ice.hidden) == (3, 1)
    book.check()


def test_reduce_takes_the_reserve_first_and_keeps_the_place():
    book, out, _ = new_book()
    ice = rest(book, 1, BUY, 100, 10, display_qty=4)
    rest(book, 2, BUY, 100, 1)
    book.reduce(ice, 7, 1, 0)
    assert (ice.qty, ice.hidden) == (4, 3) and book.depth() == ([(100, 5)], [])
    book.reduce(ice, 2, 1, 0)
    assert (ice.qty, ice.hidden) == (2, 0) and book.depth() == ([(100, 3)], [])
    assert [o.order_id for o in book.orders_at(BUY, 100)] == [1, 2]
    assert type(out[-1]) is LevelChanged and out[-1].qty == 3
    book.check()


def test_fillable_counts_prices_within_the_limit_and_iceberg_reserve():
    book, _, _ = new_book()
    rest(book, 1, SELL, 100, 2)
    rest(book, 2, SELL, 101, 6, display_qty=1)
    rest(book, 3, SELL, 103, 5)
    assert book.fillable(BUY, 101, 99, None, 8)
    assert not book.fillable(BUY, 101, 99, None, 9)
    assert book.fillable(BUY, None, 99, None, 13)
    assert not book.fillable(BUY, None, 99, None, 14)
    assert not book.fillable(SELL, 1, 99, None, 1)  # no bids


def test_fillable_with_own_orders_depends_on_the_stp_mode():
    book, _, _ = new_book()
    rest(book, 1, SELL, 100, 2, acct=7)
    rest(book, 2, SELL, 100, 3, acct=1)  # the buyer's own
    rest(book, 3, SELL, 101, 3, acct=7)
    assert book.fillable(BUY, 101, 1, None, 2)  # before its own order: fine
    assert not book.fillable(BUY, 101, 1, None, 3)  # default: blocked at its own order
    assert not book.fillable(BUY, 101, 1, StpMode.DECREMENT_AND_CANCEL, 3)
    assert not book.fillable(BUY, 101, 1, StpMode.CANCEL_BOTH, 3)
    assert book.fillable(BUY, 101, 1, StpMode.CANCEL_RESTING, 5)  # own skipped
    assert not book.fillable(BUY, 101, 1, StpMode.CANCEL_RESTING, 6)
    assert book.fillable(BUY, 101, 1, StpMode.NONE, 8)  # self-trade counts


def test_fillable_changes_nothing():
    book, out, live = new_book()
    rest(book, 1, SELL, 100, 2, acct=1)
    rest(book, 2, SELL, 100, 2, acct=2)
    before = (book.depth(), list(live), len(out))
    book.fillable(BUY, 100, 1, StpMode.CANCEL_RESTING, 2)
    assert (book.depth(), list(live), len(out)) == before


def test_crosses():
    book, _, _ = new_book()
    assert not book.crosses(BUY, 10**6)
    rest(book, 1, SELL, 100, 1)
    rest(book, 2, BUY, 98, 1)
    assert book.crosses(BUY, 100) and not book.crosses(BUY, 99)
    assert book.crosses(SELL, 98) and not book.crosses(SELL, 99)


def test_stp_in_match_uses_the_account_default_from_the_shared_dict():
    out, live, defaults = [], {}, {1: StpMode.CANCEL_RESTING}
    book = OrderBook(S, live=live, out=out, stp_defaults=defaults)
    rest(book, 1, SELL, 100, 2, acct=1)
    rest(book, 2, SELL, 100, 2, acct=2)
    out.clear()
    book.place(order(3, BUY, 100, 2, acct=1), 2, 100, 1, 0)
    assert [(c.order_id, c.reason) for c in out if type(c) is OrderCancelled] == [(1, CancelReason.STP)]
    assert trades(out) == [(2, 3, 100, 2)]
    book.check()


def test_depth_limits_levels_and_orders_best_first():
    book, _, _ = new_book()
    for i, p in enumerate([95, 99, 97, 98, 96]):
        rest(book, i + 1, BUY, p, i + 1)
    for i, p in enumerate([104, 101, 103]):
        rest(book, i + 10, SELL, p, 1)
    assert book.depth(3) == ([(99, 2), (98, 4), (97, 3)], [(101, 1), (103, 1), (104, 1)])
    assert book.depth(0) == ([], [])


def test_check_detects_a_crossed_book():
    book, _, _ = new_book()
    rest(book, 1, SELL, 100, 1)
    rest(book, 2, BUY, 99, 1)
    book.check()
    # force a cross behind the book's back: rest() does not match
    book.rest(order(3, BUY, 101, 1), 1, 1, 0)
    try:
        book.check()
    except AssertionError:
        return
    raise AssertionError("check() missed a crossed book")


def test_levels_are_best_first_and_against_keeps_only_what_would_trade():
    book, _, _ = new_book()
    for oid, price, qty in ((1, 98, 2), (2, 100, 3), (3, 99, 1), (4, 100, 4)):
        rest(book, oid, BUY, price, qty)
    assert book.levels(BUY) == [(100, 7, 2), (99, 1, 1), (98, 2, 1)]
    assert book.levels(BUY, 99) == [(100, 7, 2), (99, 1, 1)]  # what an ask at 99 would trade with
    assert book.levels(SELL) == [] and book.level_qty(BUY, 100) == 7 and book.level_qty(BUY, 101) == 0


def test_an_auction_fill_keeps_the_order_in_place_or_takes_it_off():
    book, out, live = new_book()
    a = rest(book, 1, SELL, 100, 5)
    rest(book, 2, SELL, 100, 1)
    book.fill(a, 2, 1, 0)
    assert (a.filled, a.qty) == (2, 3) and [o.order_id for o in book.orders_at(SELL, 100)] == [1, 2]
    book.fill(a, 3, 1, 0)
    assert a.filled == 5 and 1 not in live and book.level_qty(SELL, 100) == 1
    book.record_uncross(100)
    assert (book.last_price, book.first_price) == (100, 100)
    book.check()


def test_state_hash_is_the_same_for_books_that_rest_the_same_queues():
    one, _, _ = new_book()
    two, _, _ = new_book()
    rest(one, 1, BUY, 99, 2)
    rest(one, 2, BUY, 99, 3)
    rest(two, 1, BUY, 99, 2)
    assert one.state_hash() != two.state_hash()
    rest(two, 2, BUY, 99, 3)
    assert one.state_hash() == two.state_hash()
    one.cancel(one.orders_at(BUY, 99)[0], 1, 0, CancelReason.USER)
    assert one.state_hash() != two.state_hash()


def test_the_heap_top_stays_a_live_level_when_levels_go_from_under_it():
    book, out, live = new_book()
    for oid, price in ((1, 100), (2, 99), (3, 98)):
        rest(book, oid, BUY, price, 1)
    book.cancel(live[2], 1, 0, None)  # not the best: its heap entry stays, stale, below the top
    book.cancel(live[1], 1, 0, None)  # the best: it and the stale 99 below it leave the heap
    assert book.best_bid() == 98
    rest(book, 4, SELL, 99, 1)  # at 99 it does not cross the 98 now best: it rests
    assert trades(out) == [] and book.best_ask() == 99
    rest(book, 5, SELL, 98, 2)  # crosses 98, which leaves: 1 rests at 98 as the best ask
    assert trades(out) == [(3, 5, 98, 1)] and book.best_bid() is None and book.best_ask() == 98
    book.check()
