"""The compiled book (cfx/core/_orderbook.pyx) against the reference
`cfx.book.OrderBook`, through the whole `Engine`: random command sequences
(every order kind and time in force, icebergs, post-only, stops, FOK, STP
modes, cancels, modifies, mass cancels, several accounts; continuous, with a
session and breaker, or batch auctions) must give the same events, byte for
byte, and the same book state after every command."""

from __future__ import annotations

import json
import pickle

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfx import core
from cfx.book import Order, OrderBook
from cfx.engine import Engine
from cfx.errors import InputError
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
    SetAccountStp,
    Side,
    StpMode,
    SubmitOrder,
    TimeInForce,
)

needs_core = pytest.mark.skipif(
    not core.available(), reason="the compiled core is not built (no C++ compiler, or CFX_NO_EXTENSION=1)"
)

S = "HOP-H27"
NS = 1_000_000_000
HOUR = 3600 * NS
SCHEDULE = SessionSchedule(pre_open="07:00", open="08:00", settlement_start="15:45", close="16:00")
ENCODE = msgspec.msgpack.Encoder().encode

ids = st.integers(1, 24)
prices = st.integers(96, 104)
qtys = st.integers(1, 13)  # MAX_QTY 12: a few are refused
STOPS = (OrderKind.STOP_MARKET, OrderKind.STOP_LIMIT)


def pool(values: list, always: list = ()) -> st.SearchStrategy:
    """A non-empty subset of ``values`` (plus ``always``), for one example."""
    return st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True).map(
        lambda xs: [*always, *xs]
    )


@st.composite
def scripts(draw) -> list[tuple]:
    """A command sequence on one series. Each example first draws which
    features it uses (order kinds, times in force, STP modes, how many
    accounts, how often icebergs, FOK and post-only come up), so that some
    examples are dense in a feature the others rarely reach. Options are
    drawn to fit (an iceberg or post-only a resting limit order, a market
    order IOC or FOK), with a few misfits for the rejects."""
    kinds = draw(pool(list(OrderKind), [OrderKind.LIMIT]))
    tifs = draw(pool(list(TimeInForce), [TimeInForce.GTC]))
    stps = draw(pool([None, *StpMode]))
    accounts = st.integers(1, draw(st.integers(1, 3)))
    iceberg = draw(st.integers(0, 3))  # in 4: how many resting orders are icebergs
    post = draw(st.integers(0, 4)) == 0
    others = draw(st.integers(1, 6))  # weight of the non-submit commands, in 12

    def submit() -> tuple:
        kind = draw(st.sampled_from(kinds))
        tif = draw(st.sampled_from(tifs))
        if kind is OrderKind.MARKET and tif is not TimeInForce.FOK:
            tif = TimeInForce.IOC
        if kind in STOPS and tif is TimeInForce.FOK and draw(st.booleans()):
            tif = TimeInForce.GTC
        side = draw(st.sampled_from(list(Side)))
        reach = draw(st.integers(-4, 4))  # how far past 100 toward the other side: > 0 crosses
        limit = 100 + reach if side is Side.BUY else 100 - reach
        price = 0 if kind is OrderKind.MARKET or kind is OrderKind.STOP_MARKET else limit
        stop = draw(prices) if kind in STOPS else 0
        rests = kind is OrderKind.LIMIT and tif not in (TimeInForce.IOC, TimeInForce.FOK)
        display = (
            draw(st.integers(1, 3))
            if (rests and draw(st.integers(0, 3)) < iceberg) or draw(st.integers(0, 30)) == 0
            else 0
        )
        post_only = rests and post and draw(st.booleans())
        return (
            "submit",
            draw(ids),
            draw(accounts),
            side,
            draw(qtys),
            price,
            kind,
            tif,
            post_only,
            display,
            stop,
            draw(st.integers(1, 3)),
            draw(st.sampled_from(stps)),
        )

    out = []
    for _ in range(draw(st.integers(5, 80))):
        if draw(st.integers(0, 11)) >= others:
            out.append(submit())
            continue
        what = draw(st.sampled_from(["cancel", "modify", "modify", "mass", "stp", "eod", "advance"]))
        if what == "cancel":
            out.append(("cancel", draw(ids), draw(accounts)))
        elif what == "modify":
            out.append(("modify", draw(ids), draw(accounts), draw(prices), draw(qtys)))
        elif what == "mass":
            out.append(("mass", draw(st.one_of(st.none(), accounts))))
        elif what == "stp":
            out.append(("stp", draw(accounts), draw(st.sampled_from(list(StpMode)))))
        elif what == "eod":
            out.append(("eod",))
        else:
            out.append(("advance", draw(st.integers(0, 3))))
    return out


setups = st.sampled_from(["plain", "band", "session", "breaker", "batch"])


def engine(book_type: type, setup: str) -> Engine:
    e = Engine(book_type=book_type)
    if setup == "band":
        e.list_series(ListSeries(S, max_qty=12, band_low=95, band_high=105))
    else:
        e.list_series(ListSeries(S, max_qty=12))
    if setup == "session":
        e.configure_session(S, SCHEDULE, 7 * HOUR)
    elif setup == "breaker":
        e.configure_session(S, None, 0, breaker=VelocityBreaker(threshold=3, window_ns=60 * NS, halt_ns=30 * NS))
    elif setup == "batch":
        e.configure_session(S, None, 0, batch_interval_ns=5 * NS)
    return e


def command(c: tuple, ts: int):
    """The engine command of a drawn tuple at time ``ts``."""
    if c[0] == "submit":
        _, oid, acct, side, qty, price, kind, tif, post, display, stop, expire, stp = c
        return SubmitOrder(
            ts,
            S,
            oid,
            acct,
            side,
            qty,
            price,
            kind,
            tif,
            post,
            display,
            stop,
            ts + expire * NS if tif is TimeInForce.GTD else 0,
            stp,
        )
    if c[0] == "cancel":
        return CancelOrder(ts, c[1], c[2])
    if c[0] == "modify":
        return ModifyOrder(ts, c[1], c[2], c[3], c[4])
    if c[0] == "mass":
        return MassCancel(ts, c[1])
    if c[0] == "stp":
        return SetAccountStp(c[1], c[2], ts)
    if c[0] == "eod":
        return EndOfDay(ts)
    return AdvanceTime(ts + c[1] * NS)


def run_both(setup: str, cmds: list[tuple]) -> tuple[Engine, Engine]:
    """Apply ``cmds`` to an engine on each book, checking after every command."""
    compiled = core.book_type("compiled")
    ref, other = engine(OrderBook, setup), engine(compiled, setup)
    ts = 8 * HOUR if setup == "session" else 0  # the session test starts in the pre-open
    for i, c in enumerate(cmds):
        ts += NS if i % 3 == 0 else 1
        cmd = command(c, ts)
        ref.apply(cmd)
        other.apply(cmd)
        assert [ENCODE(e) for e in other.events] == [ENCODE(e) for e in ref.events], (i, cmd)
        assert other.book(S).state_hash() == ref.book(S).state_hash(), (i, cmd)
        assert other.book(S).depth(3) == ref.book(S).depth(3)
        if setup in ("plain", "band"):  # a call or a halt's book may cross, which check() refuses
            ref.book(S).check()
            other.book(S).check()
        ref.events.clear()
        other.events.clear()
        if c[0] == "advance":
            ts += c[1] * NS
    return ref, other


@needs_core
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups, scripts())
def test_both_books_give_the_same_events_and_state(setup, cmds):
    ref, other = run_both(setup, cmds)
    assert type(other.book(S)).__name__ == "CompiledOrderBook"
    a, b = ref.book(S), other.book(S)
    for side in Side:
        assert b.levels(side) == a.levels(side)
        assert b.levels(side, 100) == a.levels(side, 100)
        for p, _, _ in a.levels(side):
            assert [o.order_id for o in b.orders_at(side, p)] == [o.order_id for o in a.orders_at(side, p)]
            assert b.level_qty(side, p) == a.level_qty(side, p)
        # FOK's question on the book left: every side, limit, account and STP mode, each need up
        # to one past the most the reference could fill
        for limit in (None, 99, 101):
            for account in (1, 2):
                for stp in (None, *StpMode):
                    need = 1
                    while need < 80:
                        fills = a.fillable(side, limit, account, stp, need)
                        assert b.fillable(side, limit, account, stp, need) is fills, (side, limit, account, stp, need)
                        if not fills:
                            break
                        need += 1


@needs_core
@settings(max_examples=30, deadline=None)
@given(scripts(), scripts())
def test_a_pickled_compiled_book_carries_on_as_the_reference(first, then):
    """A checkpoint pickles the engine with its books: the compiled one comes back the same."""
    ref, other = run_both("plain", first)
    ref, other = pickle.loads(pickle.dumps(ref)), pickle.loads(pickle.dumps(other))
    assert other.book(S).state_hash() == ref.book(S).state_hash()
    for i, c in enumerate(then):
        cmd = command(c, 10**12 + i * NS)
        ref.apply(cmd)
        other.apply(cmd)
    assert [ENCODE(e) for e in other.events] == [ENCODE(e) for e in ref.events]
    assert other.book(S).state_hash() == ref.book(S).state_hash()
    other.book(S).check()


@needs_core
def test_trades_only_books_give_the_same_trades():
    compiled = core.book_type("compiled")
    cmds = [
        SubmitOrder(i, S, i, i % 3 + 1, Side.BUY if i % 2 else Side.SELL, 1 + i % 5, 95 + (i * 7) % 11)
        for i in range(1, 400)
    ]
    out = []
    for book_type in (OrderBook, compiled):
        e = Engine(trades_only=True, book_type=book_type)
        e.list_series(ListSeries(S))
        for c in cmds:
            e.apply(c)
        out.append([ENCODE(x) for x in e.events])
    assert out[0] == out[1] and len(out[0]) > 50


@needs_core
def test_queries_at_a_price_no_level_can_have_agree_and_do_not_raise():
    """An agent may ask the book about any price: past int64 or under 1 there
    is no level on either book (the compiled one keys levels by int64)."""
    books = []
    for book_type in (OrderBook, core.book_type("compiled")):
        e = Engine(book_type=book_type)
        e.list_series(ListSeries(S))
        e.apply(SubmitOrder(1, S, 1, 1, Side.BUY, 3, 99))
        e.apply(SubmitOrder(2, S, 2, 2, Side.SELL, 4, 101))
        books.append(e.book(S))
    a, b = books
    for side in Side:
        for p in (2**63, 2**70, 0, -1, -(2**63), -(2**70)):
            assert b.level_qty(side, p) == a.level_qty(side, p) == 0
            assert b.orders_at(side, p) == a.orders_at(side, p) == []
            assert b.levels(side, p) == a.levels(side, p)
        assert b.levels(side, 2**63 - 1) == a.levels(side, 2**63 - 1)
    assert a.levels(Side.SELL, 2**70) == [(101, 4, 1)] and a.levels(Side.BUY, -5) == [(99, 3, 1)]


class OtherOrder(Order):
    """An `Order` of another class: the compiled book reads it by name, not at its slots."""


class OtherSubmit(SubmitOrder):
    """A `SubmitOrder` of another class (as `OtherOrder`)."""


@needs_core
def test_orders_of_other_classes_meet_both_books_alike():
    """The compiled book reads an `Order` or a `SubmitOrder` at its slots and
    any other order by name: orders of subclasses rest, trade (an iceberg
    refilled), are reduced and cancelled as on the reference."""
    got = []
    for book_type in (OrderBook, core.book_type("compiled")):
        out: list = []
        book = book_type(S, out=out)
        book.place(OtherSubmit(0, S, 1, 1, Side.SELL, 5, 100), 5, 100, 1, 0)
        book.place(OtherOrder(2, 2, Side.SELL, 101, 6, S, display_qty=2), 6, 101, 2, 0)
        book.place(OtherSubmit(0, S, 3, 3, Side.BUY, 8, 101, tif=TimeInForce.IOC), 8, 101, 3, 0)
        book.place(OtherOrder(4, 4, Side.BUY, 99, 5, S), 5, 99, 4, 0)
        book.reduce(book.orders_at(Side.BUY, 99)[0], 3, 5, 0)
        book.cancel(book.orders_at(Side.SELL, 101)[0], 6, 0, None)
        got.append(([ENCODE(e) for e in out], book.snapshot(), book.last_price))
    assert got[0] == got[1] and len(got[0][0]) > 8


def test_choose_book(monkeypatch):
    """CFX_ENGINE picks a scenario's book; compiled without the build is an InputError, auto falls back."""
    monkeypatch.setenv("CFX_ENGINE", "python")
    assert core.choose_book() == "python" and core.book_type("python") is OrderBook
    monkeypatch.setenv("CFX_ENGINE", "fast")
    with pytest.raises(InputError, match="CFX_ENGINE"):
        core.choose_book()
    monkeypatch.setenv("CFX_ENGINE", "compiled")
    if core.available():
        assert core.choose_book() == "compiled"
        assert core.book_type("compiled").__name__ == "CompiledOrderBook"
        monkeypatch.setenv("CFX_ENGINE", "auto")
        assert core.choose_book() == core.AUTO_BOOK == "compiled"  # auto: compiled wherever it is built
    monkeypatch.setenv("CFX_NO_EXTENSION", "1")
    monkeypatch.setenv("CFX_ENGINE", "compiled")
    with pytest.raises(InputError, match="not built"):
        core.choose_book()
    monkeypatch.setenv("CFX_ENGINE", "auto")
    assert core.choose_book() == "python"


@needs_core
def test_a_scenario_gives_the_same_run_with_either_book(tmp_path, monkeypatch, capsys):
    """`cfx run` with ``CFX_ENGINE=python`` and ``compiled``: the same run
    hash, journal and tables (the engine's checkpoint pickles the compiled
    books after day 1); timing.json says which book ran."""
    from cfx.cli import main

    runs = {}
    for name in ("python", "compiled"):
        monkeypatch.setenv("CFX_ENGINE", name)
        out = tmp_path / name
        assert main(["run", "baseline", "--set", "calendar.days=2", "--out", str(out), "--quiet", "--no-report"]) == 0
        runs[name] = out
        assert json.loads((out / "timing.json").read_text())["engine"] == name
    py, comp = (json.loads((runs[n] / "summary.json").read_text()) for n in ("python", "compiled"))
    assert py["trades"] > 1000 and comp["run_hash"] == py["run_hash"]
    for f in ("journal", "events.parquet", "trades.parquet", "book_top.parquet", "accounts.parquet"):
        assert (runs["compiled"] / f).read_bytes() == (runs["python"] / f).read_bytes(), f


def test_cfx_run_on_a_compiled_book_that_is_not_built_exits_2(tmp_path, monkeypatch, capsys):
    from cfx.cli import main

    monkeypatch.setenv("CFX_ENGINE", "compiled")
    monkeypatch.setenv("CFX_NO_EXTENSION", "1")
    out = tmp_path / "run"
    assert main(["run", "baseline", "--set", "calendar.days=1", "--out", str(out), "--quiet", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "CFX_ENGINE=compiled: the compiled core is not built" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # refused before the run directory is made
