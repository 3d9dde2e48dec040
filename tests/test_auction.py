"""Call auction uncross against hand-worked books, and against a brute force."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cfx.auction import AuctionOrder, Fill, Indicative, indicative, uncross
from cfx.types import Side

BUY, SELL = Side.BUY, Side.SELL


def buy(order_id: int, qty: int, price: int | None, priority: int | None = None) -> AuctionOrder:
    return AuctionOrder(order_id, 100 + order_id, BUY, price, qty, order_id if priority is None else priority)


def sell(order_id: int, qty: int, price: int | None, priority: int | None = None) -> AuctionOrder:
    return AuctionOrder(order_id, 100 + order_id, SELL, price, qty, order_id if priority is None else priority)


SIMPLE = [buy(1, 10, 102), sell(2, 10, 100)]  # any price 100..102 trades 10, no imbalance


def test_uncross_picks_the_reference_when_it_lies_in_the_best_range():
    u = uncross(SIMPLE, reference=101)
    assert (u.price, u.volume, u.imbalance, u.imbalance_side) == (101, 10, 0, None)
    assert u.fills == [Fill(1, 2, 10)]


def test_uncross_picks_the_range_edge_nearest_a_reference_outside_it():
    assert uncross(SIMPLE, reference=90).price == 100
    assert uncross(SIMPLE, reference=110).price == 102


def test_uncross_without_reference_breaks_the_last_tie_with_the_lower_price():
    assert indicative(SIMPLE) == Indicative(100, 10, 0, None)


def test_uncross_prefers_smaller_imbalance_over_closeness_to_reference_on_volume_tie():
    # Hand-worked: demand/supply per price
    #   99: 13/10 (10, buy 3)  100: 13/10 (10, buy 3)  101: 10/10 (10, 0)  102: 10/10 (10, 0)
    book = [buy(1, 10, 102), buy(2, 3, 100), sell(3, 10, 99)]
    u = uncross(book, reference=99)
    assert (u.price, u.volume, u.imbalance) == (101, 10, 0)  # a tick between limits, nearest 99
    assert u.fills == [Fill(1, 3, 10)]  # the 100 bid is below the price: not eligible


def test_uncross_prefers_price_closest_to_reference_on_volume_and_imbalance_tie():
    # 102 and 103 both trade 10 with 2 sold short; 100, 101 trade only 8.
    book = [buy(1, 10, 103), buy(2, 5, 101), sell(3, 8, 100), sell(4, 4, 102)]
    assert indicative(book, reference=100) == Indicative(102, 10, 2, SELL)
    assert indicative(book, reference=200) == Indicative(103, 10, 2, SELL)
    assert indicative(book) == Indicative(102, 10, 2, SELL)


def test_cme_tie_break_follows_a_buy_surplus_at_every_tied_price_to_the_highest():
    # 10 @ 102 bid against 4 @ 99 and 4 @ 101 offered: at 101 and at 102, 8 lots
    # trade with 2 bought in surplus; below 101 only 4 trade
    book = [buy(1, 10, 102), sell(2, 4, 99), sell(3, 4, 101)]
    assert indicative(book) == Indicative(101, 8, 2, BUY)  # "reference": the lower, against the pressure
    assert indicative(book, None, "cme") == Indicative(102, 8, 2, BUY)  # market pressure: the highest
    assert indicative(book, 101, "cme").price == 102  # pressure comes before the reference


def test_cme_tie_break_follows_a_sell_surplus_to_the_lowest_before_the_reference():
    # 10 @ 98 offered against 4 @ 101 and 4 @ 99 bid: at 98 and 99, 8 lots with 2 sold in surplus
    book = [sell(1, 10, 98), buy(2, 4, 101), buy(3, 4, 99)]
    assert indicative(book, 100).price == 99  # "reference": closest to 100
    assert indicative(book, 100, "cme") == Indicative(98, 8, 2, SELL)


def test_cme_tie_break_without_one_sided_pressure_falls_to_the_reference():
    # 10 bid @ 102, 10 offered @ 98: 10 lots, no surplus, anywhere in 98..102
    book = [buy(1, 10, 102), sell(2, 10, 98)]
    assert indicative(book, 100, "cme").price == 100
    assert indicative(book, 120, "cme").price == 102  # the price range is capped at the book's highest limit
    assert indicative(book, None, "cme").price == 98  # no reference: the lower


def test_uncross_maximizes_volume_before_anything_else():
    # 103: 19/7  104: 19/13 -> 13  105: 7/13  106: 3/18
    book = [
        buy(1, 4, 105, priority=5),
        buy(2, 7, 104, priority=1),
        buy(3, 5, 104, priority=2),
        buy(4, 3, None, priority=9),
        sell(5, 7, 103, priority=3),
        sell(6, 6, 104, priority=4),
        sell(7, 5, 106, priority=0),
    ]
    u = uncross(book, reference=106)
    assert (u.price, u.volume, u.imbalance, u.imbalance_side) == (104, 13, 6, BUY)


def test_allocation_is_market_first_then_price_then_time_with_one_partial_fill():
    book = [
        buy(1, 4, 105, priority=5),
        buy(2, 7, 104, priority=1),
        buy(3, 5, 104, priority=2),
        buy(4, 3, None, priority=9),
        sell(5, 7, 103, priority=3),
        sell(6, 6, 104, priority=4),
        sell(7, 5, 106, priority=0),
    ]
    u = uncross(book, reference=106)
    # buys in priority: market 4 (3), 105 bid 1 (4), 104 bids 2 then 3; sells: 5 (103) then 6 (104)
    assert u.fills == [Fill(4, 5, 3), Fill(1, 5, 4), Fill(2, 6, 6)]  # order 2 gets 6 of 7, order 3 none


def test_allocation_pairs_fills_by_walking_both_sides_in_priority():
    book = [buy(1, 5, 101), buy(2, 5, 101), sell(3, 3, 100), sell(4, 4, 100), sell(5, 3, 102)]
    u = uncross(book, reference=100)
    assert (u.price, u.volume) == (100, 7)
    assert u.fills == [Fill(1, 3, 3), Fill(1, 4, 2), Fill(2, 4, 2)]


def test_time_priority_uses_priority_not_order_id():
    book = [buy(1, 5, 100, priority=20), buy(2, 5, 100, priority=10), sell(3, 5, 100)]
    assert uncross(book, reference=100).fills == [Fill(2, 3, 5)]


def test_market_orders_on_one_side_trade_at_the_limit_that_maximizes_volume():
    # demand 10 everywhere; supply 5 at 100..101, 10 from 102: only 102 fills everything
    book = [buy(1, 10, None), sell(2, 5, 100), sell(3, 5, 102)]
    u = uncross(book, reference=101)
    assert (u.price, u.volume, u.imbalance) == (102, 10, 0)
    assert u.fills == [Fill(1, 2, 5), Fill(1, 3, 5)]


def test_market_only_side_never_prices_outside_the_limits_in_the_book():
    book = [buy(1, 10, None), sell(2, 5, 100), sell(3, 5, 102)]
    assert uncross(book, reference=150).price == 102
    assert uncross(book, reference=50).price == 102


def test_market_orders_have_priority_over_limits_at_any_price():
    book = [buy(1, 5, 110, priority=1), buy(2, 5, None, priority=2), sell(3, 5, 100)]
    u = uncross(book, reference=100)
    assert (u.price, u.volume, u.imbalance, u.imbalance_side) == (100, 5, 5, BUY)
    assert u.fills == [Fill(2, 3, 5)]


def test_market_orders_only_on_both_sides_trade_at_the_reference():
    book = [buy(1, 5, None), sell(2, 3, None)]
    assert uncross(book, reference=250) is not None
    u = uncross(book, reference=250)
    assert (u.price, u.volume, u.imbalance, u.imbalance_side) == (250, 3, 2, BUY)
    assert u.fills == [Fill(1, 2, 3)]
    assert indicative(book) is None  # no price to trade at


def test_market_and_limit_orders_on_both_sides_fill_markets_first():
    book = [buy(1, 5, 101), sell(2, 5, 99), buy(3, 5, None), sell(4, 5, None)]
    u = uncross(book, reference=100)
    assert (u.price, u.volume, u.imbalance) == (100, 10, 0)
    assert u.fills == [Fill(3, 4, 5), Fill(1, 2, 5)]


def test_no_uncross_for_an_empty_one_sided_or_uncrossed_book():
    assert uncross([], reference=100) is None
    assert indicative([], reference=100) is None
    assert uncross([buy(1, 5, 100), buy(2, 5, None)], reference=100) is None
    assert uncross([sell(1, 5, 100)], reference=100) is None
    assert uncross([buy(1, 10, 99), sell(2, 10, 100)], reference=100) is None


def test_orders_with_no_open_quantity_are_ignored():
    book = [buy(1, 0, 105), buy(2, 4, 101), sell(3, 4, 100)]
    u = uncross(book, reference=105)
    assert (u.price, u.fills) == (101, [Fill(2, 3, 4)])


def test_indicative_agrees_with_uncross():
    book = [buy(1, 10, 103), buy(2, 5, 101), sell(3, 8, 100), sell(4, 4, 102)]
    i, u = indicative(book, 100), uncross(book, 100)
    assert (i.price, i.volume, i.imbalance, i.imbalance_side) == (u.price, u.volume, u.imbalance, u.imbalance_side)


# --------------------------------------------------------------------------- against a brute force


def brute_force(orders, reference, tie_break="reference"):
    """Every tick between the lowest and highest limit, scored by the rules."""
    limits = [o.price for o in orders if o.price is not None and o.qty > 0]
    if limits:
        ticks = range(min(limits), max(limits) + 1)
    elif reference is not None:
        ticks = [reference]
    else:
        return None
    scored = []
    for p in ticks:
        d = sum(o.qty for o in orders if o.side is BUY and (o.price is None or o.price >= p))
        s = sum(o.qty for o in orders if o.side is SELL and (o.price is None or o.price <= p))
        v = min(d, s)
        if v == 0:
            continue
        scored.append((-v, abs(d - s), p, d - s))
    if not scored:
        return None
    top = min(scored)[:2]
    tied = [x for x in scored if x[:2] == top]
    if tie_break == "cme" and all(x[3] > 0 for x in tied):
        tied = [max(tied, key=lambda x: x[2])]
    elif tie_break == "cme" and all(x[3] < 0 for x in tied):
        tied = [min(tied, key=lambda x: x[2])]
    best = min(tied, key=lambda x: (0 if reference is None else abs(x[2] - reference), x[2]))
    return best[2], -best[0], best[1]


order_st = st.builds(
    AuctionOrder,
    order_id=st.integers(0, 10**6),
    account=st.just(1),
    side=st.sampled_from([BUY, SELL]),
    price=st.one_of(st.none(), st.integers(95, 105)),
    qty=st.integers(1, 20),
    priority=st.integers(0, 50),
)
book_st = st.lists(order_st, max_size=14, unique_by=lambda o: o.order_id)


@settings(max_examples=300, deadline=None)
@given(
    book=book_st, reference=st.one_of(st.none(), st.integers(85, 115)), tie_break=st.sampled_from(["reference", "cme"])
)
def test_uncross_matches_brute_force_and_allocation_is_consistent(book, reference, tie_break):
    u = uncross(book, reference, tie_break)
    expected = brute_force(book, reference, tie_break)
    if expected is None:
        assert u is None
        return
    assert (u.price, u.volume, u.imbalance) == expected
    by_id = {o.order_id: o for o in book}
    filled: dict[int, int] = {}
    for f in u.fills:
        b, s = by_id[f.buy_id], by_id[f.sell_id]
        assert b.side is BUY and s.side is SELL and f.qty > 0
        assert b.price is None or b.price >= u.price
        assert s.price is None or s.price <= u.price
        filled[f.buy_id] = filled.get(f.buy_id, 0) + f.qty
        filled[f.sell_id] = filled.get(f.sell_id, 0) + f.qty
    assert sum(f.qty for f in u.fills) == u.volume
    assert all(filled[i] <= by_id[i].qty for i in filled)
    # what is left of the limit orders does not cross
    left = [o for o in book if o.price is not None and filled.get(o.order_id, 0) < o.qty]
    bids = [o.price for o in left if o.side is BUY]
    asks = [o.price for o in left if o.side is SELL]
    if bids and asks:
        assert max(bids) < min(asks)
    # priority: an order short of full only if every order ranked below it got nothing
    for side, rank in (
        (BUY, lambda o: (o.price is not None, -(o.price or 0), o.priority, o.order_id)),
        (SELL, lambda o: (o.price is not None, o.price or 0, o.priority, o.order_id)),
    ):
        ranked = sorted(
            (
                o
                for o in book
                if o.side is side and (o.price is None or (o.price >= u.price if side is BUY else o.price <= u.price))
            ),
            key=rank,
        )
        got = [filled.get(o.order_id, 0) for o in ranked]
        for i, o in enumerate(ranked):
            if got[i] < o.qty:
                assert not any(got[i + 1 :])
