"""The compiled twin of the engine's common command path (cfx/_engine.pyx's
`EnginePath`: `Engine.submit`, `Engine.modify`, `Engine.cancel`) against
the reference methods: seeded random order flow through a trading day
(closed, pre-open, the opening call, continuous trading, the settlement
window, the close), on a series with a velocity breaker that halts and
reopens, one whose moving band widens after limit hits, one with no
session, with a risk gate; limit, market, IOC, FOK, post-only, iceberg,
stop and GTD orders, modifies and cancels, and the rejects (unknown
order and series, not the owner, not modifiable, prices outside the
band, bad quantities, duplicate ids, the market closed, the credit
limit). The events must be the same, byte for byte, after every command,
and so must the command count and the live orders; the twin must have
taken most of the commands itself. Then the same through the whole
`Venue` with its clearing house's gate."""

from __future__ import annotations

import datetime as dt
import pickle
import random

import msgspec
import pytest

from cfx import core
from cfx.engine import Engine
from cfx.products import HOPPER, make_series
from cfx.protections import VelocityBreaker
from cfx.session import SessionSchedule
from cfx.types import (
    AdvanceTime,
    CancelOrder,
    EndOfDay,
    ListSeries,
    MassCancel,
    ModifyOrder,
    OrderKind,
    RejectReason,
    SetAccountStp,
    Side,
    StpMode,
    SubmitOrder,
    TimeInForce,
)
from cfx.venue import ConfigureSession, ListContract, OpenAccount, Venue

needs_core = pytest.mark.skipif(
    not core.available(), reason="the compiled core is not built (no C++ compiler, or CFX_NO_EXTENSION=1)"
)

NS = 1_000_000_000
MINUTE = 60 * NS
HOUR = 60 * MINUTE
DAY = 24 * HOUR
SERIES = ("GUARDED", "MOVING", "PLAIN")  # a breaker; a moving band that expands; no session at all
SCHEDULE = SessionSchedule(pre_open="07:00", open="08:00", settlement_start="15:45", close="16:00")
ENCODE = msgspec.msgpack.Encoder().encode
LIMIT, MARKET = OrderKind.LIMIT, OrderKind.MARKET
GTC, DAY_TIF, IOC, FOK, GTD = TimeInForce.GTC, TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTD
ORDER_TYPES = [(LIMIT, GTC)] * 6 + [(LIMIT, DAY_TIF)] * 2 + [(LIMIT, IOC)] * 4 + [(MARKET, IOC), (MARKET, GTC)]


def gate(c: SubmitOrder) -> RejectReason | None:
    """A risk gate: account 4 may not send more than 10 lots at once."""
    return RejectReason.CREDIT_LIMIT if c.account == 4 and c.qty > 10 else None


def engine(book_type: type) -> Engine:
    e = Engine(risk_check=gate, book_type=book_type)
    start = 6 * HOUR + 30 * MINUTE  # closed: the pre-open is at 07:00
    e.list_series(ListSeries("GUARDED", ts=start, max_qty=40, band_low=235, band_high=265, reference=250))
    e.list_series(
        ListSeries(
            "MOVING",
            ts=start,
            max_qty=40,
            band_low=244,
            band_high=256,
            band_moving=True,
            reference=250,
            band_expand_pct=50,
            band_hits=2,
            band_halt_ns=MINUTE,
        )
    )
    e.list_series(ListSeries("PLAIN", ts=start, max_qty=40))
    e.configure_session("GUARDED", SCHEDULE, start, breaker=VelocityBreaker(3, MINUTE, 2 * MINUTE))
    e.configure_session("MOVING", SCHEDULE, start)
    e.set_account_stp(SetAccountStp(start, 2, StpMode.NONE))  # account 2 may trade with itself
    e.set_account_stp(SetAccountStp(start, 3, StpMode.CANCEL_RESTING))
    return e


def path_of(e: Engine) -> dict:
    """The command types the compiled path takes, as a venue dispatches them."""
    from cfx._engine import EnginePath

    path = EnginePath(e)
    return {SubmitOrder: path.submit, ModifyOrder: path.modify, CancelOrder: path.cancel}


def commands(seed: int, live, n: int = 700):
    """``n`` random commands from 06:30 over a trading day and into the next;
    modifies and cancels mostly of the orders in ``live()`` ((id, account) of the live ones)."""
    rng = random.Random(seed)
    ts = 6 * HOUR + 30 * MINUTE
    ids = []
    for i in range(n):
        ts += rng.choice((0, 0, 0, 1, NS, NS, 10 * NS, MINUTE, 10 * MINUTE if i % 7 == 0 else 1))  # bursts at one ts
        if i % 97 == 96:
            ts += 2 * HOUR  # through the sessions' changes
        r = rng.random()
        account = rng.choice((1, 1, 2, 2, 3, 4))
        if r < 0.03:
            yield AdvanceTime(ts)
            continue
        if r < 0.035:
            yield EndOfDay(ts) if rng.random() < 0.5 else MassCancel(ts, account=account)
            continue
        if r < 0.5 or not ids:
            oid = 1000 + i
            if rng.random() < 0.03:  # the id of a live order now and then
                resting = sorted(live())
                oid = rng.choice(resting)[0] if resting else oid
            ids.append((oid, account))
            kind, tif = rng.choice(ORDER_TYPES)
            price = 0 if kind is MARKET else rng.choice((rng.randint(246, 254),) * 12 + (230, 270, 0, -1, 244, 256))
            kw = {}
            u = rng.random()
            if u < 0.03:
                tif = FOK
            elif u < 0.12 and kind is LIMIT and tif is not IOC:
                kw["post_only"] = True
            elif u < 0.15 and kind is LIMIT:
                kw["display_qty"] = rng.randint(1, 5)
            elif u < 0.18:
                kind = rng.choice((OrderKind.STOP_LIMIT, OrderKind.STOP_MARKET))
                kw["stop_price"] = rng.randint(246, 254)
                price = rng.randint(246, 254) if kind is OrderKind.STOP_LIMIT else 0
            elif u < 0.21 and kind is LIMIT:
                tif = GTD
                kw["expire_ns"] = ts + rng.choice((NS, MINUTE, HOUR))
            elif u < 0.22 and kind is MARKET:
                price = 250  # a market order naming a price
            qty = rng.choice((rng.randint(1, 30),) * 20 + (0, -1, 40, 41))
            series = rng.choice(SERIES + SERIES + ("UNLISTED",) if rng.random() < 0.02 else SERIES)
            side = rng.choice((Side.BUY, Side.SELL))
            yield SubmitOrder(ts, series, oid, account, side, qty, price, kind, tif, stp=None, **kw)
            continue
        resting = sorted(live())
        oid, owner = rng.choice(resting) if resting and rng.random() < 0.9 else rng.choice(ids)
        if rng.random() < 0.08:
            owner = rng.choice((1, 2, 3, 4))  # perhaps not the owner
        if r < 0.85:
            price = rng.choice((rng.randint(246, 254),) * 12 + (230, 270, 0))
            qty = rng.choice((rng.randint(1, 35),) * 12 + (0, 41))
            yield ModifyOrder(ts, oid, owner, price, qty)
        else:
            yield CancelOrder(ts, oid, owner)


def live_orders(e: Engine) -> list:
    return [msgspec.structs.asdict(o) for o in e.live_orders()]


def engine_state(e: Engine) -> tuple:
    return (
        e.cmd_seq,
        live_orders(e),
        [(s, e.session_state(s), e.price_band(s), e.book(s).snapshot(), e.book(s).last_price) for s in SERIES],
    )


def run_both(book_type: type, flow) -> tuple[Engine, Engine, list, list]:
    """Each command of ``flow(live)`` (``live()``: the reference's live orders'
    (id, account)) to a reference engine and to a twin on the compiled path,
    the two held equal after every command; (ref, twin, the commands, those
    the twin handed to the reference methods)."""
    ref, twin = engine(book_type), engine(book_type)
    fast = path_of(twin)
    handed = []
    for name in ("submit", "modify", "cancel"):  # what the twin hands to the reference, counted
        method = getattr(Engine, name)
        setattr(twin, name, lambda c, m=method: handed.append(c) or m(twin, c))
    cmds = []
    for i, cmd in enumerate(flow(lambda: [(o.order_id, o.account) for o in ref.live_orders()])):
        cmds.append(cmd)
        if i % 100 == 50:  # a checkpoint puts a copy of the engine's dict in its place (cfx/sim/checkpoint.py)
            object.__setattr__(twin, "__dict__", dict(twin.__dict__))
        ref.apply(cmd)
        fast.get(type(cmd), twin.apply)(cmd)
        got, want = twin.events[:], ref.events[:]
        twin.events.clear()
        ref.events.clear()
        assert [ENCODE(e) for e in got] == [ENCODE(e) for e in want], (i, cmd)
        assert twin.cmd_seq == ref.cmd_seq and live_orders(twin) == live_orders(ref), (i, cmd)
    assert engine_state(twin) == engine_state(ref)
    for s in SERIES:
        twin.book(s).check()
    return ref, twin, cmds, handed


@needs_core
@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("book", ["python", "compiled"])
def test_the_compiled_path_gives_the_reference_events(book, seed):
    _, _, cmds, handed = run_both(core.book_type(book), lambda live: commands(seed, live))
    assert len(handed) < len([c for c in cmds if type(c) in (SubmitOrder, ModifyOrder, CancelOrder)]) / 2


OPEN = 9 * HOUR  # continuous trading
BUY, SELL = Side.BUY, Side.SELL
SCRIPTS = {
    # a post-only order re-priced: across the touch (refused), to it, back, then smaller in place
    "post_only_modify": [
        SubmitOrder(OPEN, "GUARDED", 1, 1, SELL, 5, 252),
        SubmitOrder(OPEN, "GUARDED", 2, 2, BUY, 5, 251, post_only=True),
        ModifyOrder(OPEN + 1, 2, 2, 252, 5),
        ModifyOrder(OPEN + 2, 2, 2, 253, 5),
        ModifyOrder(OPEN + 3, 2, 2, 250, 5),
        ModifyOrder(OPEN + 4, 2, 2, 251, 5),
        ModifyOrder(OPEN + 5, 2, 2, 251, 3),
        ModifyOrder(OPEN + 6, 2, 2, 251, 3),
        ModifyOrder(OPEN + 7, 2, 2, 251, 9),
    ],
    # two trades at one time: the later price is the breaker's, and a trade a window later beyond it halts
    "breaker_same_time": [
        SubmitOrder(OPEN, "GUARDED", 1, 1, SELL, 5, 250),
        SubmitOrder(OPEN, "GUARDED", 2, 2, BUY, 5, 250, tif=IOC),
        SubmitOrder(OPEN, "GUARDED", 3, 1, SELL, 5, 252),
        SubmitOrder(OPEN, "GUARDED", 4, 2, BUY, 5, 252, tif=IOC),
        SubmitOrder(OPEN + 2 * MINUTE, "GUARDED", 5, 1, SELL, 2, 255),
        SubmitOrder(OPEN + 2 * MINUTE, "GUARDED", 6, 1, SELL, 2, 256),
        SubmitOrder(OPEN + 2 * MINUTE + 1, "GUARDED", 7, 2, BUY, 4, 256),
        SubmitOrder(OPEN + 2 * MINUTE + 2, "GUARDED", 8, 3, BUY, 4, 0, MARKET, IOC),
        CancelOrder(OPEN + 2 * MINUTE + 3, 7, 2),
    ],
    # market orders at the moving band's edge; a sweep that reaches stops; re-priced into a sweep
    "band_edge_and_stops": [
        SubmitOrder(OPEN, "MOVING", 1, 1, SELL, 3, 251),
        SubmitOrder(OPEN, "MOVING", 2, 1, SELL, 3, 253),
        SubmitOrder(OPEN, "MOVING", 3, 1, SELL, 3, 256),
        SubmitOrder(OPEN, "MOVING", 4, 3, BUY, 2, 0, OrderKind.STOP_MARKET, stop_price=252),
        SubmitOrder(OPEN + 1, "MOVING", 5, 2, BUY, 9, 0, MARKET, IOC),
        SubmitOrder(OPEN + 2, "MOVING", 6, 2, BUY, 2, 248),
        ModifyOrder(OPEN + 3, 6, 2, 256, 4),
        SubmitOrder(OPEN + 4, "PLAIN", 7, 1, SELL, 3, 250),
        SubmitOrder(OPEN + 5, "PLAIN", 8, 1, BUY, 5, 0, MARKET, GTC),
        ModifyOrder(OPEN + 6, 7, 1, 250, 2),
        CancelOrder(OPEN + 7, 7, 2),
        CancelOrder(OPEN + 8, 7, 1),
        CancelOrder(OPEN + 9, 7, 1),
    ],
}


@needs_core
@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("book", ["python", "compiled"])
def test_the_compiled_path_gives_the_reference_events_in_the_corners(book, script):
    run_both(core.book_type(book), lambda live: SCRIPTS[script])


@needs_core
def test_the_flow_reaches_what_the_twin_must_refuse_and_hand_over():
    """The random flow is worth its name: every reject the twin gives itself,
    a halt by the breaker, a limit hit, stops triggered, trades on every series."""
    from cfx.types import OrderRejected, OrderTriggered, PriceBandChanged, SeriesHalted, Trade

    seen = set()
    for seed in range(10):
        e = engine(core.book_type("compiled"))
        for cmd in commands(seed, lambda: [(o.order_id, o.account) for o in e.live_orders()]):
            e.apply(cmd)
        for ev in e.events:
            seen.add(type(ev) if type(ev) is not OrderRejected else ev.reason)
            if type(ev) is Trade:
                seen.add(ev.series)
            if type(ev) is PriceBandChanged and ev.expanded:
                seen.add("expanded")
    assert {SeriesHalted, OrderTriggered, Trade, "expanded", *SERIES} <= seen
    assert {
        RejectReason.UNKNOWN_ORDER,
        RejectReason.NOT_OWNER,
        RejectReason.NOT_MODIFIABLE,
        RejectReason.PRICE_OUTSIDE_BAND,
        RejectReason.BAD_PRICE,
        RejectReason.BAD_QUANTITY,
        RejectReason.QUANTITY_TOO_LARGE,
        RejectReason.DUPLICATE_ORDER_ID,
        RejectReason.MARKET_CLOSED,
        RejectReason.CREDIT_LIMIT,
        RejectReason.UNKNOWN_SERIES,
        RejectReason.POST_ONLY_WOULD_CROSS,
    } <= seen


@needs_core
def test_a_trades_only_engine_or_a_subclass_is_left_to_its_own_methods():
    class Mine(Engine):
        def submit(self, c):
            self.seen = c
            super().submit(c)

    e = Mine()
    e.list_series(ListSeries("PLAIN"))
    cmd = SubmitOrder(0, "PLAIN", 1, 1, Side.BUY, 1, 250)
    path_of(e)[SubmitOrder](cmd)
    assert e.seen is cmd and e.status(1) is not None
    quiet = Engine(trades_only=True)
    quiet.list_series(ListSeries("PLAIN"))
    path_of(quiet)[SubmitOrder](cmd)
    assert quiet.events == [] and quiet.status(1) is not None


# ---------------------------------------------------------------------- through the venue

VENUE_SERIES = make_series(HOPPER, 2027, 3, first_trading_day=dt.date(2027, 1, 4))


def venue(book_type: type, compiled: bool) -> Venue:
    v = Venue(book_type=book_type)
    if not compiled:  # the reference methods, as a venue on the Python books dispatches them
        v._dispatch.update({SubmitOrder: v.engine.submit, ModifyOrder: v.engine.modify, CancelOrder: v.engine.cancel})
    elif not v._compiled_engine:
        v._dispatch.update(path_of(v.engine))
    symbol = VENUE_SERIES.symbol
    v.apply(ListContract(0, VENUE_SERIES, 250, max_qty=40, band_low=240, band_high=260))
    v.apply(ConfigureSession(0, symbol, 7 * HOUR, 8 * HOUR, 15 * HOUR, 16 * HOUR, breaker_ticks=4))
    for account, usd in ((1, 10**6), (2, 10**6), (3, 10**5), (4, 3_000)):  # 4 is soon at its credit limit
        v.apply(OpenAccount(0, account, usd * 1_000_000))
    return v


def venue_commands(seed: int, live):
    """The engine's random flow on the venue's one series, from the pre-open."""
    rng = random.Random(seed)
    for c in commands(seed, live, 500):
        if type(c) is SubmitOrder and c.series in SERIES:
            c = msgspec.structs.replace(c, series=VENUE_SERIES.symbol, account=rng.choice((1, 2, 3, 4, 5)))
        yield c


@needs_core
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("book", ["python", "compiled"])
def test_a_venue_on_the_compiled_path_gives_the_reference_events_and_clearing(book, seed):
    ref, twin = venue(core.book_type(book), False), venue(core.book_type(book), True)
    for i, cmd in enumerate(venue_commands(seed, lambda: [(o.order_id, o.account) for o in ref.engine.live_orders()])):
        assert [ENCODE(e) for e in twin.apply(cmd)] == [ENCODE(e) for e in ref.apply(cmd)], (i, cmd)
        assert live_orders(twin.engine) == live_orders(ref.engine), (i, cmd)
    assert ref.clearing.fees_collected > 0
    assert twin.clearing.fees_collected == ref.clearing.fees_collected
    assert twin.clearing.cash_total() == ref.clearing.cash_total()


@needs_core
def test_the_venue_takes_the_compiled_path_with_the_compiled_books_only():
    from cfx.book import OrderBook

    assert Venue(book_type=core.book_type("compiled"))._compiled_engine
    assert not Venue(book_type=OrderBook)._compiled_engine
    assert not Venue()._compiled_engine  # a journal's replay: the reference books, the reference engine
    assert type(Venue(book_type=core.book_type("compiled"))._dispatch[SubmitOrder].__self__).__name__ == "EnginePath"


@needs_core
def test_a_pickled_venue_carries_on_on_the_compiled_path():
    book = core.book_type("compiled")
    ref, twin = venue(book, False), venue(book, True)
    cmds = venue_commands(5, lambda: [(o.order_id, o.account) for o in ref.engine.live_orders()])
    for _, cmd in zip(range(250), cmds):
        ref.apply(cmd)
        twin.apply(cmd)
    twin = pickle.loads(pickle.dumps(twin))
    path = twin._dispatch[SubmitOrder].__self__
    assert path.engine is twin.engine and twin._dispatch[CancelOrder].__self__ is path
    for cmd in cmds:
        assert [ENCODE(e) for e in twin.apply(cmd)] == [ENCODE(e) for e in ref.apply(cmd)], cmd
