"""Rebuild the L2 and L3 books from the event stream alone and compare them
with the engine's own book.

L2 from `LevelChanged` only (the visible quantity at a price; 0 = gone).
L3 from `OrderRested` (placed at the back: visible ``qty``, ``open_qty``),
`Trade` (the maker loses ``qty`` visible and open), `OrderRefilled` (an
iceberg's new slice, to the back), `OrderCancelled` (``qty`` of open quantity
removed, the reserve first: visible = min(visible, open)), `OrderModified`
(kept priority: open = ``qty``, visible = min(visible, open); lost priority:
the order leaves, and re-enters with its own `OrderRested` if it rests).
Events for ids not on the rebuilt book (takers, pending stops) change nothing.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given

from cfx import workload
from cfx.engine import Engine
from cfx.orders_csv import load_csv
from cfx.types import (
    LevelChanged,
    ListSeries,
    ModifyOrder,
    OrderCancelled,
    OrderModified,
    OrderRefilled,
    OrderRested,
    Side,
    StpMode,
    SubmitOrder,
    Trade,
    event_decoder,
    encoder,
)
from test_engine_properties import PROPERTY_SETTINGS, SERIES, command_lists, new_engine

BUY, SELL = Side.BUY, Side.SELL


class L2:
    def __init__(self) -> None:
        self.levels: dict[tuple[Side, int], int] = {}

    def apply(self, e) -> None:
        if type(e) is LevelChanged:
            if e.qty:
                self.levels[e.side, e.price] = e.qty
            else:
                self.levels.pop((e.side, e.price), None)

    def depth(self) -> tuple[list, list]:
        bids = sorted(((p, q) for (s, p), q in self.levels.items() if s is BUY), reverse=True)
        asks = sorted((p, q) for (s, p), q in self.levels.items() if s is SELL)
        return bids, asks


class L3:
    def __init__(self) -> None:
        self.orders: dict[int, list] = {}  # id -> [side, price, visible, open]
        self.queues: dict[tuple[Side, int], list[int]] = {}

    def _drop(self, oid: int) -> None:
        side, price, _, _ = self.orders.pop(oid)
        q = self.queues[side, price]
        q.remove(oid)
        if not q:
            del self.queues[side, price]

    def _to_back(self, oid: int) -> None:
        side, price, _, _ = self.orders[oid]
        q = self.queues.setdefault((side, price), [])
        if oid in q:
            q.remove(oid)
        q.append(oid)

    def apply(self, e) -> None:
        t = type(e)
        if t is OrderRested:
            assert e.order_id not in self.orders, e
            self.orders[e.order_id] = [e.side, e.price, e.qty, e.open_qty]
            self._to_back(e.order_id)
        elif t is Trade:
            o = self.orders.get(e.maker_id)
            if o is not None:
                o[2] -= e.qty
                o[3] -= e.qty
                assert o[2] >= 0, e
                if not o[3]:
                    self._drop(e.maker_id)
        elif t is OrderRefilled:
            o = self.orders[e.order_id]
            assert o[2] == 0 and o[3] >= e.qty, e
            o[2] = e.qty
            self._to_back(e.order_id)
        elif t is OrderCancelled:
            o = self.orders.get(e.order_id)
            if o is not None:
                o[3] -= e.qty
                if not o[3]:
                    self._drop(e.order_id)
                else:
                    o[2] = min(o[2], o[3])
        elif t is OrderModified:
            o = self.orders.get(e.order_id)
            if o is not None:
                if e.kept_priority:
                    o[3] = e.qty
                    o[2] = min(o[2], o[3])
                else:
                    self._drop(e.order_id)

    def view(self) -> dict:
        """(side, price) -> [(order_id, visible, open), ...] in queue order."""
        return {k: [(i, self.orders[i][2], self.orders[i][3]) for i in q] for k, q in self.queues.items()}


def engine_l3(engine: Engine, series: str) -> dict:
    book = engine.book(series)
    out = {}
    for side in (BUY, SELL):
        for p, _, _ in book.levels(side):
            out[side, p] = [(o.order_id, o.qty, o.qty + o.hidden) for o in book.orders_at(side, p)]
    return out


def assert_rebuilt(engine: Engine, series: str, l2: L2, l3: L3) -> None:
    assert l2.depth() == engine.book(series).depth(10**9)
    assert l3.view() == engine_l3(engine, series)
    # L3 aggregated is L2
    agg = {k: sum(v for _, v, _ in q) for k, q in l3.view().items()}
    assert agg == l2.levels


@PROPERTY_SETTINGS
@given(command_lists)
def test_l2_and_l3_rebuilt_from_events_equal_the_engines_book(cmds):
    engine = new_engine()
    l2, l3 = L2(), L3()
    for c in cmds:
        n = len(engine.events)
        engine.apply(c)
        for e in engine.events[n:]:
            l2.apply(e)
            l3.apply(e)
        assert_rebuilt(engine, SERIES, l2, l3)


@PROPERTY_SETTINGS
@given(command_lists)
def test_rebuild_from_the_encoded_event_log(cmds):
    """The same, from the JSON event log (what a consumer actually reads)."""
    engine = new_engine()
    for c in cmds:
        engine.apply(c)
    l2, l3 = L2(), L3()
    for line in [encoder.encode(e) for e in engine.events]:
        e = event_decoder.decode(line)
        l2.apply(e)
        l3.apply(e)
    assert_rebuilt(engine, SERIES, l2, l3)


def test_rebuild_on_a_generated_workload(tmp_path: Path):
    path = tmp_path / "orders.csv"
    workload.write(str(path), workload.generate(20_000))
    cmds = load_csv(path, "W")
    assert len(cmds) == 20_000
    engine = Engine()
    engine.list_series(ListSeries("W", max_qty=1_000_000))
    l2, l3 = L2(), L3()
    trades = 0
    for i, c in enumerate(cmds, 1):
        n = len(engine.events)
        engine.apply(c)
        for e in engine.events[n:]:
            l2.apply(e)
            l3.apply(e)
            trades += type(e) is Trade
        if i % 500 == 0:
            assert_rebuilt(engine, "W", l2, l3)
            engine.book("W").check()
    assert_rebuilt(engine, "W", l2, l3)
    assert trades > 1000 and len(l3.orders) > 100  # the workload did trade and rest


def test_rebuild_follows_icebergs_stp_decrements_and_modifies():
    """A hand-made stream that exercises every L3 rule at least once."""
    e = new_engine()
    cmds = [
        SubmitOrder(1, SERIES, 1, 1, SELL, 10, 100, display_qty=3),
        SubmitOrder(2, SERIES, 2, 2, SELL, 4, 100),
        SubmitOrder(3, SERIES, 3, 3, BUY, 4, 100),  # 3 from order 1 (refill to the back), 1 from order 2
        SubmitOrder(4, SERIES, 4, 1, BUY, 5, 100, stp=StpMode.DECREMENT_AND_CANCEL),  # 3 from order 2,
        # then its own order 1: both lose 2, order 1 from its reserve (3 shown, 2 hidden)
        ModifyOrder(5, 1, 1, 100, 2),  # kept priority: open 2, reserve first: 2 shown
        SubmitOrder(6, SERIES, 6, 2, SELL, 3, 100),
        ModifyOrder(7, 6, 2, 101, 3),  # lost priority: re-rests at 101
        SubmitOrder(8, SERIES, 7, 3, BUY, 1, 101),  # takes 1 from order 1 at 100
    ]
    l2, l3 = L2(), L3()
    for c in cmds:
        n = len(e.events)
        e.apply(c)
        for ev in e.events[n:]:
            l2.apply(ev)
            l3.apply(ev)
        assert_rebuilt(e, SERIES, l2, l3)
    assert l3.view() == {(SELL, 100): [(1, 1, 1)], (SELL, 101): [(6, 3, 3)]}
    kinds = {type(ev).__name__ for ev in e.events}
    assert {"OrderRefilled", "OrderModified", "OrderCancelled", "Trade"} <= kinds
