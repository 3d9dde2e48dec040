"""The venue as one journaled state machine: the risk gate on every order
path, default management during trading hours, and replay of a run with a
default (through the venue itself, not through its parts)."""

from __future__ import annotations

import datetime as dt

from cfx.products import HOPPER, make_series
from cfx.types import (
    ModifyOrder,
    OrderModified,
    OrderRejected,
    RejectReason,
    SettlementPrice,
    SettlementTier,
    Side,
    SubmitOrder,
)
from cfx.venue import ListContract, OpenAccount, SettleDay, Venue

USD = 1_000_000
H27 = make_series(HOPPER, 2027, 3, first_trading_day=dt.date(2027, 1, 4))
S = H27.symbol


def of(events, kind):
    return [e for e in events if type(e) is kind]


def venue(**accounts_usd: float) -> Venue:
    v = Venue()
    v.apply(ListContract(0, H27, 250))
    for name, usd in accounts_usd.items():
        v.apply(OpenAccount(0, int(name[1:]), round(usd * USD)))
    return v


def test_a_modify_that_adds_exposure_is_credit_checked_like_a_new_order():
    v = venue(a1=2_000)
    events = v.apply(SubmitOrder(1, S, 10, 1, Side.BUY, 5_000, 240))
    assert [e.reason for e in of(events, OrderRejected)] == [RejectReason.CREDIT_LIMIT]
    assert not of(v.apply(SubmitOrder(2, S, 11, 1, Side.BUY, 1, 240)), OrderRejected)
    before = v.engine.book(S).depth()
    events = v.apply(ModifyOrder(3, 11, 1, 240, 5_000))
    assert [(e.order_id, e.reason) for e in of(events, OrderRejected)] == [(11, RejectReason.CREDIT_LIMIT)]
    assert not of(events, OrderModified)
    assert v.engine.book(S).depth() == before == ([(240, 1)], [])
    assert v.clearing.accounts[1].open_orders[S] == [1, 0]  # the exposure clearing assumes is unchanged
    events = v.apply(ModifyOrder(4, 11, 1, 239, 1))  # a re-price without an increase needs no new credit
    assert of(events, OrderModified) and v.engine.book(S).depth() == ([(239, 1)], [])


def settle(v: Venue, day: int) -> SettlementPrice:
    events = v.apply(SettleDay(10**6 + day, dt.date(2027, 1, 4 + day), {"HOPPER": 2_500_000}, 0, 1))
    return [e for e in events if type(e) is SettlementPrice][-1]


def test_the_mid_tier_refuses_a_one_participant_or_stale_book():
    v = venue(a1=10**6, a2=10**6, a3=10**6)
    v.apply(SubmitOrder(2, S, 3, 2, Side.BUY, 1, 250))
    v.apply(SubmitOrder(3, S, 4, 3, Side.SELL, 1, 250))  # a trade today (outside the window)
    v.apply(SubmitOrder(4, S, 1, 1, Side.BUY, 1, 249))
    v.apply(SubmitOrder(5, S, 2, 1, Side.SELL, 1, 251))
    assert settle(v, 0).tier is SettlementTier.INDEX_MOVED  # 249/251 are both account 1's
    v.apply(SubmitOrder(6, S, 5, 2, Side.SELL, 1, 251))  # now two members at the touch, but no trade since
    assert settle(v, 1).tier is SettlementTier.INDEX_MOVED  # stale
    v.apply(SubmitOrder(7, S, 6, 3, Side.BUY, 1, 249))
    v.apply(SubmitOrder(8, S, 7, 2, Side.SELL, 1, 249))  # a trade with account 1's bid; 3's stays at 249
    p = settle(v, 2)
    assert (p.price, p.tier) == (250, SettlementTier.MID)
