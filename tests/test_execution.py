"""`Executor` against the fake market of test_agents (a real matching engine,
no latency): TWAP slices evenly, POV follows the market's volume, urgency
picks passive or crossing children, limits hold, and it stops when done."""

from __future__ import annotations

import pytest
from test_agents import LP, FakeMarket, H27

from cfx.agents.base import MINUTE, SECOND
from cfx.agents.execution import Executor
from cfx.types import Side, Trade

BUY, SELL = Side.BUY, Side.SELL
ME = 1


class Host:
    """A minimal agent that forwards its events to one executor."""

    subscribes = False

    def __init__(self) -> None:
        self.ex: Executor | None = None

    def on_wakeup(self, ctx) -> None:
        delay = self.ex.on_wakeup(ctx)
        if delay is not None:
            ctx.wake_after(delay)

    def on_order_event(self, ctx, event) -> None:
        self.ex.on_order_event(ctx, event)

    def on_market_data(self, ctx, series) -> None:
        pass


def host(m: FakeMarket, ex: Executor, seed: int = 0):
    from test_agents import FakeCtx

    agent = Host()
    agent.ex = ex
    ctx = FakeCtx(m, agent, ME, seed)
    ctx.wake_after(1)
    return agent, ctx


def fills_by_time(m: FakeMarket) -> list[tuple[int, int]]:
    return [(t.ts, t.qty) for t in m.tape if ME in (t.maker_account, t.taker_account)]


def test_twap_fills_the_parent_evenly_over_the_horizon_by_crossing_when_urgent():
    m = FakeMarket()
    m.place(SELL, 301, 10_000)
    m.place(BUY, 299, 10_000)
    ex = Executor(H27, BUY, 100, start_ns=0, end_ns=100 * MINUTE, max_child_lots=5, urgency=1.0)
    host(m, ex)
    m.run(50 * MINUTE)
    half = sum(q for _, q in fills_by_time(m))
    assert 40 <= half <= 60  # on schedule at half time (one slice of slack)
    m.run(200 * MINUTE)
    assert ex.filled == 100 and ex.done and ex.remaining == 0
    fills = fills_by_time(m)
    assert max(q for _, q in fills) <= 5 and len(fills) >= 20  # sliced, never more than a child
    assert all(t.price == 301 for t in m.tape if t.taker_account == ME)  # crossed at the ask


def test_passive_children_join_the_bid_and_follow_it():
    m = FakeMarket()
    m.place(SELL, 310, 100)
    m.place(BUY, 299, 5)
    ex = Executor(H27, BUY, 20, start_ns=0, end_ns=60 * MINUTE, max_child_lots=2, urgency=0.0)
    host(m, ex)
    m.run(2 * SECOND)
    assert m.orders_of(ME)[BUY] == [(299, 2)]  # joined the bid, did not cross
    m.place(BUY, 300, 5)  # the bid moves up
    m.run(10 * MINUTE)
    mine = m.orders_of(ME)[BUY]
    assert {p for p, _ in mine} == {300} and 3 <= sum(q for _, q in mine) <= 6  # followed the touch, on schedule
    assert ex.filled == 0 and ex.crossed == 0


def test_a_late_executor_crosses_and_then_gives_up_after_its_grace_period():
    m = FakeMarket()
    m.place(SELL, 305, 7)
    m.place(BUY, 295, 5)
    ex = Executor(H27, BUY, 20, start_ns=0, end_ns=10 * MINUTE, max_child_lots=5, urgency=0.0)
    host(m, ex)
    m.run(10 * MINUTE + 30 * SECOND)
    assert ex.filled == 7  # everything the ask had, crossed when late
    m.run(60 * MINUTE)
    assert ex.done and ex.filled == 7
    assert m.orders_of(ME)[BUY] == []  # nothing left resting


def test_limit_price_is_never_crossed():
    m = FakeMarket()
    m.place(SELL, 305, 100)
    m.place(BUY, 295, 5)
    ex = Executor(H27, BUY, 20, start_ns=0, end_ns=10 * MINUTE, max_child_lots=5, urgency=1.0, limit_ticks=303)
    host(m, ex)
    m.run(30 * MINUTE)
    assert ex.filled == 0 and not [t for t in m.tape if ME in (t.maker_account, t.taker_account)]
    m.clear()
    m.place(SELL, 303, 100)
    ex2 = Executor(
        H27, BUY, 10, start_ns=m.now, end_ns=m.now + 10 * MINUTE, max_child_lots=5, urgency=1.0, limit_ticks=303
    )
    host(m, ex2)
    m.run(m.now + 30 * MINUTE)
    assert ex2.filled == 10 and all(t.price <= 303 for t in m.tape if t.taker_account == ME)


def test_pov_follows_the_market_volume():
    m = FakeMarket()
    m.place(SELL, 301, 10_000)
    m.place(BUY, 299, 10_000)
    ex = Executor(
        H27,
        SELL,
        1_000,
        start_ns=0,
        end_ns=600 * MINUTE,
        style="pov",
        pov_rate=0.2,
        max_child_lots=50,
        urgency=1.0,
        pov_interval_ns=10 * SECOND,
    )
    host(m, ex)
    m.run(SECOND)
    assert ex.filled == 0  # no market volume yet, nothing to do
    for k in range(10):  # others trade 100 lots a minute
        m.now += MINUTE
        m.place(BUY, 301, 100, account=LP + 5)
        m.run(m.now + 30 * SECOND)
    others = sum(t.qty for t in m.tape if ME not in (t.maker_account, t.taker_account))
    assert others == 1_000
    # about a fifth of the market (its own fills count in the volume it sees)
    assert 0.15 * others <= ex.filled <= 0.3 * others


def test_executor_rejects_bad_arguments():
    with pytest.raises(ValueError):
        Executor(H27, BUY, 0, start_ns=0, end_ns=1)
    with pytest.raises(ValueError):
        Executor(H27, BUY, 1, start_ns=0, end_ns=1, style="vwap")
    with pytest.raises(ValueError):
        Executor(H27, BUY, 1, start_ns=0, end_ns=1, urgency=2.0)


def test_executor_tracks_only_its_own_children():
    ex = Executor(H27, BUY, 10, start_ns=0, end_ns=MINUTE)
    ex.children[7] = [300, 5, True]
    ex.on_order_event(
        None, Trade(1, 1, 0, H27, 300, 3, maker_id=7, taker_id=99, maker_account=ME, taker_account=2, aggressor=SELL)
    )
    ex.on_order_event(
        None, Trade(2, 2, 0, H27, 300, 4, maker_id=8, taker_id=98, maker_account=ME, taker_account=2, aggressor=SELL)
    )
    assert ex.filled == 3 and ex.children[7][1] == 2 and ex.remaining == 7
