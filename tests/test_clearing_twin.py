"""The compiled twin of `ClearingHouse.on_events` (cfx/clearing/_clearing.pyx)
against the reference, through the whole `Venue`: seeded random order flow
(limit, market and IOC orders, modifies up and down, cancels, self-trades,
unknown accounts, two series, a settlement run between days) must give the
same events and the same clearing state (positions and their lots, fees,
collateral, open-order exposure, the day's trades) after every command."""

from __future__ import annotations

import datetime as dt
import pickle
import random

import msgspec
import pytest

from cfx import core
from cfx.book import OrderBook
from cfx.products import HOPPER, make_series
from cfx.types import CancelOrder, ModifyOrder, OrderKind, SetAccountStp, Side, StpMode, SubmitOrder, TimeInForce
from cfx.venue import ListContract, OpenAccount, SettleDay, Venue

needs_core = pytest.mark.skipif(
    not core.available(), reason="the compiled core is not built (no C++ compiler, or CFX_NO_EXTENSION=1)"
)

USD = 1_000_000
NS = 1_000_000_000
SERIES = [
    make_series(HOPPER, 2027, 3, first_trading_day=dt.date(2027, 1, 4)),
    make_series(HOPPER, 2027, 4, first_trading_day=dt.date(2027, 1, 4)),
]
ENCODE = msgspec.msgpack.Encoder().encode
KINDS = [(OrderKind.LIMIT, TimeInForce.GTC)] * 4 + [
    (OrderKind.LIMIT, TimeInForce.IOC),
    (OrderKind.LIMIT, TimeInForce.DAY),
    (OrderKind.MARKET, TimeInForce.IOC),
]


def venue(book_type: type, compiled: bool) -> Venue:
    v = Venue(book_type=book_type)
    v._compiled_clearing = compiled
    for spec in SERIES:
        v.apply(ListContract(0, spec, 250, max_qty=40))
    for account, usd in ((1, 10**6), (2, 10**6), (3, 10**5), (4, 3_000)):  # 4 is soon at its credit limit
        v.apply(OpenAccount(0, account, usd * USD))
    v.apply(SetAccountStp(0, 2, StpMode.NONE))  # account 2 may trade with itself
    return v


def commands(seed: int, live, n: int = 400):
    """``n`` commands (the venue's settlement run after each 150th); a
    modify or cancel mostly of an order in ``live()`` (the ids live now)."""
    rng = random.Random(seed)
    ids = []
    ts = 0
    for i in range(n):
        ts += rng.choice((1, NS))
        if i and i % 150 == 0:
            day = i // 150
            ts += 3600 * NS
            yield SettleDay(ts, dt.date(2027, 1, 4 + day), {"HOPPER": 2_500_000 + 10_000 * day}, 0, ts)
            continue
        r = rng.random()
        account = rng.choice((1, 2, 2, 3, 4, 5))  # 5 has no account: refused
        if r < 0.5 or not ids:
            oid = 1000 + i
            ids.append((oid, account))
            kind, tif = rng.choice(KINDS)
            price = 0 if kind is OrderKind.MARKET else rng.randint(246, 254)
            series = rng.choice(SERIES).symbol
            side = rng.choice((Side.BUY, Side.SELL))
            yield SubmitOrder(ts, series, oid, account, side, rng.randint(1, 30), price, kind, tif)
            continue
        resting = sorted(live())
        oid, owner = rng.choice(resting) if resting and rng.random() < 0.9 else rng.choice(ids)
        if r < 0.85:
            yield ModifyOrder(ts, oid, owner, rng.randint(246, 254), rng.randint(1, 35))
        else:
            yield CancelOrder(ts, oid, owner if rng.random() < 0.9 else account)


def clearing_state(v: Venue) -> tuple:
    c = v.clearing
    accounts = [
        (
            a.id,
            a.collateral,
            a.fees_paid,
            a.fees_today,
            a.vm_today,
            sorted(a.open_orders.items()),
            sorted(
                (s, p.qty, p.start_qty, p.day_cost, [list(lot) for lot in p.lots], p.realized_ticks)
                for s, p in a.positions.items()
            ),
        )
        for a in c.accounts.values()
    ]
    orders = [(oid, o[0].id, o[1], o[2], o[3]) for oid, o in c._orders.items()]
    return accounts, orders, sorted(c._day_trades.items()), c.fees_collected, c.cash_total(), len(c.statements)


def probes(i: int, ts: int) -> list[SubmitOrder]:
    """Orders to ask the gate about: every account (5 has none), each series and one not listed, both sides."""
    rng = random.Random(i)
    return [
        SubmitOrder(ts, series, 10**6 + i, account, side, rng.choice((1, 20, 400)), 250)
        for account in (1, 2, 3, 4, 5)
        for series in (SERIES[0].symbol, SERIES[1].symbol, "HOP-X27")
        for side in Side
    ]


def live(v: Venue):
    """The live orders' (id, account) now."""
    return lambda: [(o.order_id, o.account) for o in v.engine.live_orders()]


def run_both(book_type: type, seed: int) -> tuple[Venue, Venue]:
    ref, twin = venue(book_type, False), venue(book_type, True)
    for i, cmd in enumerate(commands(seed, live(ref))):
        if i % 100 == 50:  # a checkpoint puts a copy of the house's dict in its place (cfx/sim/checkpoint.py)
            object.__setattr__(twin.clearing, "__dict__", dict(twin.clearing.__dict__))
        want = ref.apply(cmd)
        got = twin.apply(cmd)
        assert [ENCODE(e) for e in got] == [ENCODE(e) for e in want], (i, cmd)
        assert clearing_state(twin) == clearing_state(ref), (i, cmd)
        assert type(twin.engine.risk_check).__name__ == "CreditGate"
        for probe in probes(i, cmd.ts):  # the gate's answer to any order, as the reference's
            assert twin.engine.risk_check(probe) == ref.clearing.credit_check(probe), (i, probe)
    ref.clearing.check()
    twin.clearing.check()
    return ref, twin


@needs_core
@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("book", ["python", "compiled"])
def test_the_compiled_clearing_events_give_the_reference_state(book, seed):
    ref, twin = run_both(core.book_type(book), seed)
    assert any(p.lots for a in ref.clearing.accounts.values() for p in a.positions.values())  # it traded


@needs_core
def test_the_venue_takes_the_compiled_clearing_with_the_compiled_books_only():
    assert Venue(book_type=core.book_type("compiled"))._compiled_clearing
    assert not Venue(book_type=OrderBook)._compiled_clearing
    assert not Venue()._compiled_clearing  # a journal's replay: the reference books, the reference clearing


@needs_core
def test_a_pickled_venue_carries_on_as_the_reference():
    ref, twin = venue(OrderBook, False), venue(core.book_type("compiled"), True)
    cmds = commands(99, live(ref))
    for _, cmd in zip(range(200), cmds):
        ref.apply(cmd)
        twin.apply(cmd)
    twin = pickle.loads(pickle.dumps(twin))
    assert twin._compiled_clearing
    for cmd in cmds:
        assert [ENCODE(e) for e in twin.apply(cmd)] == [ENCODE(e) for e in ref.apply(cmd)]
        assert clearing_state(twin) == clearing_state(ref)
