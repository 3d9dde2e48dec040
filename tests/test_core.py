"""The compiled core against the pure-Python engine (exchange-core style):
random command sequences through both give byte-identical event logs and
the same book state; hand-worked cases pin each self-trade prevention
mode and FOK; engine selection and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfx import core
from cfx.cli import main
from cfx.core.columns import NotPlain, Unsupported, from_commands, loaded_blocks, plain_blocks
from cfx.core.engine import python_state_hash
from cfx.engine import Engine
from cfx.types import (
    CancelOrder,
    ListSeries,
    ModifyOrder,
    OrderKind,
    SetAccountStp,
    Side,
    StpMode,
    SubmitOrder,
    TimeInForce,
    encoder,
)

pytestmark = pytest.mark.skipif(not core.available(), reason="the compiled core is not built")

SERIES = "HOP-H27"
MAX_QTY = 12
BUY, SELL = Side.BUY, Side.SELL
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def run_both(cmds: list) -> tuple[list[bytes], list[bytes], Engine, object]:
    """The commands through a fresh Python engine and a fresh compiled one;
    their event logs as JSON lines."""
    from cfx.core.engine import CompiledEngine

    rules = ListSeries(SERIES, max_qty=MAX_QTY)
    py = Engine()
    py.list_series(rules)
    for c in cmds:
        py.apply(c)
    compiled = CompiledEngine(rules)
    events = compiled.apply_all(cmds)
    return [encoder.encode(e) for e in py.events], [encoder.encode(e) for e in events], py, compiled


def assert_same(cmds: list) -> list[bytes]:
    ours, theirs, py, compiled = run_both(cmds)
    assert theirs == ours
    assert compiled.state_hash() == python_state_hash(py, SERIES)
    assert compiled.snapshot() == py.book(SERIES).snapshot()
    py.book(SERIES).check()
    compiled.book.check()
    return ours


@st.composite
def command_lists(draw) -> list:
    """Limit/market/IOC/FOK submits, cancels and modifies by three accounts
    on a narrow price range (so orders cross and meet their own), with
    per-order and per-account STP modes and invalid values now and then."""
    n = draw(st.integers(1, 60))
    cmds: list = []
    placed: list[tuple[int, int, int]] = []  # (order_id, account, price)
    next_id = 1
    stp_modes = st.sampled_from([None, *StpMode])
    for ts in range(1, n + 1):
        what = draw(
            st.sampled_from(["limit"] * 5 + ["market", "ioc", "fok", "cancel", "cancel", "modify", "modify", "stp"])
        )
        account = draw(st.integers(1, 3))
        if what in ("cancel", "modify"):
            price = draw(st.integers(-1, 105) | st.integers(96, 104))
            if placed and draw(st.integers(0, 9)):
                oid, owner, own_price = draw(st.sampled_from(placed))
                if draw(st.integers(0, 9)):
                    account = owner
                if draw(st.booleans()):
                    price = own_price  # a same-price modify: keeps priority if it does not grow
            else:
                oid = draw(st.integers(1, next_id + 2))
            if what == "cancel":
                cmds.append(CancelOrder(ts, oid, account))
            else:
                cmds.append(
                    ModifyOrder(ts, oid, account, price, draw(st.integers(1, 4) | st.integers(-1, MAX_QTY + 2)))
                )
            continue
        if what == "stp":
            cmds.append(SetAccountStp(account, draw(st.sampled_from(list(StpMode))), ts))
            continue
        if placed and not draw(st.integers(0, 19)):
            oid = draw(st.sampled_from(placed))[0]  # a duplicate id
        else:
            oid = next_id
            next_id += 1
        side = draw(st.sampled_from([BUY, SELL]))
        qty = draw(st.integers(1, 8) | st.integers(-1, MAX_QTY + 2))
        stp = draw(stp_modes)
        if what == "market":
            price = 0 if draw(st.integers(0, 9)) else 100
            cmds.append(
                SubmitOrder(ts, SERIES, oid, account, side, qty, price, OrderKind.MARKET, TimeInForce.IOC, stp=stp)
            )
        else:
            price = draw(st.integers(96, 104) | st.integers(-1, 0)) if draw(st.integers(0, 19)) else 0
            tif = {"limit": TimeInForce.GTC, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK}[what]
            cmds.append(SubmitOrder(ts, SERIES, oid, account, side, qty, price, OrderKind.LIMIT, tif, stp=stp))
        placed.append((oid, account, price))
    return cmds


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(command_lists())
def test_random_command_sequences_give_byte_identical_event_logs_and_state(cmds):
    assert_same(cmds)


def test_random_sequences_do_reach_every_outcome():
    """The generator above is not vacuous: over a fixed sample its logs hold
    trades, every STP cancel, FOK rejects, modifies both ways and each reject."""
    seen: set = set()

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(command_lists())
    def collect(cmds):
        for line in run_both(cmds)[0]:
            e = json.loads(line)
            seen.update((e["type"], e.get("reason")))
            if e["type"] == "OrderModified":
                seen.add(("kept", e["kept_priority"]))

    collect()
    for want in [
        "Trade",
        "OrderRested",
        "LevelChanged",
        "OrderModified",
        "stp",
        "user",
        "ioc_remainder",
        "fok_cannot_fill",
        "duplicate_order_id",
        "unknown_order",
        "not_owner",
        "bad_quantity",
        "quantity_too_large",
        "bad_price",
        ("kept", True),
        ("kept", False),
    ]:
        assert want in seen, want


def S(ts, oid, account, side, qty, price, tif=TimeInForce.GTC, stp=None, kind=OrderKind.LIMIT):
    return SubmitOrder(ts, SERIES, oid, account, side, qty, price, kind, tif, stp=stp)


@pytest.mark.parametrize("mode", list(StpMode))
def test_each_stp_mode_matches_the_python_engine(mode):
    """Account 1 rests 5 and 3 lots, account 2 rests 4 between them; account
    1 then buys 10 through all three with ``mode``."""
    cmds = [
        S(1, 1, 1, SELL, 5, 100),
        S(2, 2, 2, SELL, 4, 100),
        S(3, 3, 1, SELL, 3, 101),
        S(4, 4, 1, BUY, 10, 101, stp=mode),
    ]
    lines = assert_same(cmds)
    trades = sum(json.loads(x)["type"] == "Trade" for x in lines)
    stp_cancels = sum(json.loads(x).get("reason") == "stp" for x in lines)
    assert (trades, stp_cancels) == {
        StpMode.NONE: (3, 0),
        StpMode.CANCEL_RESTING: (1, 2),
        StpMode.CANCEL_AGGRESSING: (0, 1),
        StpMode.CANCEL_BOTH: (0, 2),
        StpMode.DECREMENT_AND_CANCEL: (1, 4),
    }[mode]


def test_account_default_stp_and_fok_match_the_python_engine():
    cmds = [
        SetAccountStp(1, StpMode.CANCEL_RESTING, 1),
        S(2, 1, 1, SELL, 5, 100),
        S(3, 2, 2, SELL, 5, 101),
        S(4, 3, 1, BUY, 5, 101, tif=TimeInForce.FOK),  # cancel-resting: own 5 go, then 5 @101 fill it
        S(5, 4, 3, SELL, 2, 102),
        S(6, 5, 2, BUY, 3, 102, tif=TimeInForce.FOK),  # only 2 there: rejected
        ModifyOrder(7, 4, 3, 102, 1),
        ModifyOrder(8, 4, 3, 99, 1),
    ]  # keeps priority; re-prices and trades
    lines = assert_same(cmds)
    assert any(b'"fok_cannot_fill"' in x for x in lines)
    assert any(b'"kept_priority":false' in x for x in lines)


def test_commands_outside_the_hot_subset_are_refused_for_the_python_engine():
    from cfx.core.engine import CompiledEngine

    with pytest.raises(Unsupported):
        from_commands([S(1, 1, 1, BUY, 5, 100, tif=TimeInForce.DAY)])
    with pytest.raises(Unsupported):
        from_commands([SubmitOrder(1, SERIES, 1, 1, BUY, 5, 100, display_qty=2)])
    with pytest.raises(Unsupported):
        CompiledEngine(ListSeries(SERIES, band_low=90, band_high=110))


def rows_of(chunks) -> list[tuple]:
    return [row for c in chunks for row in zip(*(x.tolist() for x in c.arrays()))]


def test_csv_columns_equal_the_python_loaders_commands_also_when_it_falls_back(tmp_path, monkeypatch):
    """The C parser and the Python loader read the same file to the same
    commands, block by block (a few lines a block here): the plain form in
    C; a quoted or spaced one is `NotPlain` there and read by the loader."""
    from cfx.core import columns
    from cfx.orders_csv import load_csv

    monkeypatch.setattr(columns, "BLOCK", 64)
    plain = tmp_path / "plain.csv"
    plain.write_text(
        "qty,ts_ns,kind,order_id,account,side,price,extra\n"
        "5,1,limit,1,7,buy,100,x\n\n3,2,market,2,8,sell,0,y\r\n0,3,cancel,1,7,,0,z\n"
        "4,4,modify,2,8,whatever,101,q\n2,5,fok,3,7,sell,99,\n1,6,ioc,4,7,buy,-3,w"
    )
    odd = tmp_path / "odd.csv"
    odd.write_text('ts_ns,kind,order_id,account,side,price,qty\n1,limit,1,7,buy,"100",5\n2,limit,2,7,sell, 101,+4\n')
    rows, blocks = [], 0
    for block in plain_blocks(plain):  # each block's columns are read before the next block is parsed
        rows += rows_of([block])
        blocks += 1
    assert blocks > 2 and rows == rows_of([from_commands(load_csv(plain, "X"))]) and len(rows) == 6
    with pytest.raises(NotPlain):
        list(plain_blocks(odd))
    assert rows_of(loaded_blocks(odd, "X")) == rows_of([from_commands(load_csv(odd, "X"))])
    assert len(rows_of(loaded_blocks(odd, "X"))) == 2


def test_a_line_the_c_parser_refuses_after_the_first_block_starts_the_replay_again(tmp_path, capsys, monkeypatch):
    """Blocks already applied when a later one is not plain are dropped
    with their engine: the whole file is read again by the Python loader,
    and the outputs are those of one clean replay."""
    from cfx import workload
    from cfx.core import columns

    monkeypatch.setattr(columns, "BLOCK", 4096)
    w = tmp_path / "w.csv"
    workload.write(str(w), workload.generate(2000, seed=4))
    lines = w.read_text().splitlines(keepends=True)
    ts, kind, rest = lines[1500].split(",", 2)
    lines[1500] = f'{ts},"{kind}",{rest}'  # valid CSV, but not the plain form
    quoted = tmp_path / "quoted.csv"
    quoted.write_text("".join(lines))
    read = []
    with pytest.raises(NotPlain):
        read.extend(plain_blocks(quoted))
    assert len(read) > 5  # the C parser gave up well into the file
    results = {}
    for name, path in (("plain", w), ("quoted", quoted)):
        fills = tmp_path / f"{name}.fills.csv"
        code, r, _ = run_cli(capsys, "replay", str(path), "--engine", "compiled", "--fills", str(fills))
        assert code == 0 and r["engine"] == "compiled"
        results[name] = (r["messages"], r["fills"], r["fills_sha256"], fills.read_bytes())
    assert results["quoted"] == results["plain"] and results["plain"][1] > 100


def run_cli(capsys, *argv: str) -> tuple[int, dict | None, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_engine_flag_and_env_choose_the_engine_and_both_give_the_same_fills(tmp_path, capsys, monkeypatch):
    from cfx import workload

    w = tmp_path / "w.csv"
    workload.write(str(w), workload.generate(3000, seed=2))
    results = {}
    for flag in ("python", "compiled"):
        events = tmp_path / f"{flag}.jsonl"
        fills = tmp_path / f"{flag}.csv"
        book = tmp_path / f"{flag}.json"
        code, r, _ = run_cli(
            capsys,
            "replay",
            str(w),
            "--engine",
            flag,
            "--events",
            str(events),
            "--fills",
            str(fills),
            "--book",
            str(book),
        )
        assert code == 0 and r["engine"] == flag
        results[flag] = (
            r["fills_sha256"],
            r["fills"],
            r["volume"],
            events.read_bytes(),
            fills.read_bytes(),
            book.read_bytes(),
        )
    assert results["python"] == results["compiled"]
    assert results["python"][1] > 100
    monkeypatch.setenv("CFX_ENGINE", "python")
    assert run_cli(capsys, "replay", str(w))[1]["engine"] == "python"
    monkeypatch.setenv("CFX_ENGINE", "auto")
    assert run_cli(capsys, "replay", str(w))[1]["engine"] == "compiled"
    monkeypatch.setenv("CFX_NO_EXTENSION", "1")  # as if it had not been built
    assert not core.available()
    assert run_cli(capsys, "replay", str(w))[1]["engine"] == "python"
    code, out, err = run_cli(capsys, "replay", str(w), "--engine", "compiled")
    assert code == 2 and out is None and "--engine=compiled: the compiled core is not built" in err
    monkeypatch.setenv("CFX_ENGINE", "turbo")
    code, out, err = run_cli(capsys, "replay", str(w))
    assert code == 2 and out is None
    assert (
        "CFX_ENGINE: expected one of auto, python, compiled, got 'turbo'" in err and len(err.strip().splitlines()) == 1
    )


def test_values_beyond_64_bits_go_to_the_python_engine_under_auto(tmp_path, capsys, monkeypatch):
    big = tmp_path / "big.csv"
    big.write_text(
        "ts_ns,kind,order_id,account,side,price,qty\n1,limit,100000000000000000000,1,buy,100,5\n"
        "2,limit,2,2,sell,100,3\n"
    )
    monkeypatch.delenv("CFX_ENGINE", raising=False)
    code, r, _ = run_cli(capsys, "replay", str(big))
    assert code == 0 and r["engine"] == "python" and r["fills"] == 1
    code, out, err = run_cli(capsys, "replay", str(big), "--engine", "compiled")
    assert code == 2 and out is None and "does not fit in 64 bits" in err and len(err.strip().splitlines()) == 1


def test_a_journal_with_engine_compiled_is_one_line_and_exit_2(tmp_path, capsys):
    from cfx.journal import Journal

    journal = tmp_path / "journal.jsonl"
    with Journal(journal) as j:
        j.write(ListSeries("REPLAY"))
    code, out, err = run_cli(capsys, "replay", str(journal), "--engine", "compiled")
    assert code == 2 and out is None
    assert "compiled engine replays order CSVs only" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_both_engines_reproduce_the_yardsticks_fills_hash(tmp_path, engine):
    if not (SHARED / "bench" / "yardstick.py").exists():
        pytest.skip("../shared/bench not present (a user's clone)")
    w = tmp_path / "w.csv"
    subprocess.run([sys.executable, str(SHARED / "bench" / "workload.py"), "30000", str(w), "--seed", "5"], check=True)
    ours = json.loads(
        subprocess.run(
            [sys.executable, "-m", "cfx.cli", "replay", str(w), "--engine", engine],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    theirs = json.loads(
        subprocess.run(
            [sys.executable, str(SHARED / "bench" / "yardstick.py"), str(w)], capture_output=True, text=True, check=True
        ).stdout
    )
    assert ours["engine"] == engine
    assert (ours["fills_sha256"], ours["fills"], ours["volume"]) == (
        theirs["fills_sha256"],
        theirs["fills"],
        theirs["volume"],
    )


def test_l2_and_l3_rebuilt_from_the_compiled_events_equal_its_book(tmp_path):
    """The rebuild of tests/test_rebuild.py, fed the compiled core's rows
    batch by batch on a generated workload."""
    from test_rebuild import L2, L3

    from cfx import workload
    from cfx.core.engine import CompiledEngine
    from cfx.core.rows import to_events

    path = tmp_path / "orders.csv"
    workload.write(str(path), workload.generate(20_000, seed=9))
    engine = CompiledEngine(ListSeries("W", max_qty=1_000_000))
    book = engine.book
    l2, l3 = L2(), L3()
    blocks = 0
    for cols in plain_blocks(path):  # the replay's blocks, each applied in batches
        blocks += 1
        for start in range(0, len(cols), 997):
            engine.apply_columns(cols, start, min(len(cols), start + 997))
            for e in to_events(list(map(tuple, book.rows())), "W"):
                l2.apply(e)
                l3.apply(e)
            book.clear()
            bids = [(p, q) for p, q, _ in book.levels(0)]
            asks = [(p, q) for p, q, _ in book.levels(1)]
            assert l2.depth() == (bids, asks)
            mine = {
                (side, p): [(o, q, q) for o, _, q, _ in book.orders_at(s, p)]
                for s, side in ((0, BUY), (1, SELL))
                for p, _, _ in book.levels(s)
            }
            assert l3.view() == mine
            book.check()
    assert blocks > 1
    assert book.fills > 1000 and book.live_count() > 100


def test_stdin_goes_to_the_streaming_python_engine_under_auto(tmp_path):
    from cfx import workload

    w = tmp_path / "w.csv"
    workload.write(str(w), workload.generate(500, seed=4))
    env = {k: v for k, v in __import__("os").environ.items() if k != "CFX_ENGINE"}
    piped = subprocess.run(
        [sys.executable, "-m", "cfx.cli", "replay", "-", "--format", "csv"],
        input=w.read_bytes(),
        capture_output=True,
        env=env,
        check=True,
    )
    direct = subprocess.run(
        [sys.executable, "-m", "cfx.cli", "replay", str(w), "--engine", "compiled"],
        capture_output=True,
        env=env,
        check=True,
    )
    a, b = json.loads(piped.stdout), json.loads(direct.stdout)
    assert (a["engine"], b["engine"]) == ("python", "compiled")
    assert a["fills_sha256"] == b["fills_sha256"] and a["fills"] == b["fills"] > 0
