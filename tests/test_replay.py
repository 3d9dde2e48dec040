"""End-to-end tests of `cfx replay` on small order-message CSVs."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cfx import orders_csv, workload
from cli_support import run_cli

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def test_replay_prints_one_json_line_with_the_fills_of_a_hand_worked_book(capsys, tmp_path):
    fills = tmp_path / "fills.csv"
    book = tmp_path / "book.json"
    code, out, _ = run_cli(capsys, "replay", str(DATA / "replay_small.csv"), "--fills", str(fills), "--book", str(book))
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert set(result) == {
        "messages",
        "seconds",
        "msgs_per_s",
        "fills",
        "volume",
        "fills_sha256",
        "peak_rss_mb",
        "engine",
    }
    # order 4 (buy 7 @102) takes 5 @101 from 1 and 2 @102 from 2, rests nothing;
    # market sell 2 finds no bid (3 was cancelled) and is cancelled;
    # modify moves 2 to 103 with 3 lots; IOC buy 10 @103 takes those 3.
    expected = [(1, 4, 101, 5), (2, 4, 102, 2), (2, 6, 103, 3)]
    assert result["messages"] == 9
    assert result["fills"] == 3 and result["volume"] == 10
    digest = hashlib.sha256("".join("%d,%d,%d,%d\n" % f for f in expected).encode()).hexdigest()
    assert result["fills_sha256"] == digest
    rows = fills.read_text().splitlines()
    assert rows[0] == "ts_ns,maker_id,taker_id,maker_account,taker_account,price,qty,aggressor"
    assert rows[1] == "4000,1,4,1,4,101,5,buy"
    assert json.loads(book.read_text()) == {"bids": [], "asks": []}


def test_replay_book_lists_resting_orders_best_level_first_in_queue_order(capsys, tmp_path):
    csv = tmp_path / "o.csv"
    csv.write_text(
        "ts_ns,kind,order_id,account,side,price,qty\n"
        "1,limit,1,1,buy,99,5\n2,limit,2,2,buy,100,3\n3,limit,3,3,buy,100,4\n4,limit,4,4,sell,105,1\n"
    )
    book = tmp_path / "book.json"
    assert run_cli(capsys, "replay", str(csv), "--book", str(book))[0] == 0
    assert json.loads(book.read_text()) == {
        "bids": [
            {
                "price": 100,
                "orders": [{"order_id": 2, "account": 2, "qty": 3}, {"order_id": 3, "account": 3, "qty": 4}],
            },
            {"price": 99, "orders": [{"order_id": 1, "account": 1, "qty": 5}]},
        ],
        "asks": [{"price": 105, "orders": [{"order_id": 4, "account": 4, "qty": 1}]}],
    }


def test_generated_workload_is_deterministic_and_replays_identically(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    workload.write(str(a), workload.generate(5000, seed=3))
    workload.write(str(b), workload.generate(5000, seed=3))
    assert a.read_bytes() == b.read_bytes()
    ea, eb = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run_cli(capsys, "replay", str(a), "--events", str(ea))
    run_cli(capsys, "replay", str(b), "--events", str(eb))
    assert ea.read_bytes() == eb.read_bytes()
    assert hashlib.sha256(ea.read_bytes()).hexdigest() == hashlib.sha256(eb.read_bytes()).hexdigest()
    other = tmp_path / "c.csv"
    workload.write(str(other), workload.generate(5000, seed=4))
    assert other.read_bytes() != a.read_bytes()


def test_event_log_replays_as_a_journal_to_the_same_fills(tmp_path, capsys):
    """The CSV's commands journaled (with the listing), then replayed as a
    journal, give the same event log byte for byte."""
    from cfx.journal import Journal
    from cfx.types import ListSeries

    src = tmp_path / "w.csv"
    workload.write(str(src), workload.generate(3000, seed=5))
    journal = tmp_path / "journal.jsonl"
    with Journal(journal) as j:
        j.write(ListSeries("REPLAY", max_qty=orders_csv.MAX_QTY))
        for c in orders_csv.load_csv(src, "REPLAY"):
            j.write(c)
    e1, e2 = tmp_path / "e1.jsonl", tmp_path / "e2.jsonl"
    code, out1, _ = run_cli(capsys, "replay", str(src), "--events", str(e1))
    assert code == 0
    code, out2, _ = run_cli(capsys, "replay", str(journal), "--events", str(e2))
    assert code == 0
    assert json.loads(out1)["fills_sha256"] == json.loads(out2)["fills_sha256"]
    assert e1.read_bytes() == e2.read_bytes()


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "ts_ns,kind,order_id,account,side,price,qty\n1,limit,1,1,buy,100,5\n2,teleport,2,1,buy,100,5\n",
            ":3: kind: unknown 'teleport'",
        ),
        (
            "ts_ns,kind,order_id,account,side,price,qty\n1,limit,1,1,buy,1o0,5\n",
            ":2: price: expected an integer, got '1o0'",
        ),
        ("ts_ns,kind,order_id,account,side,qty\n1,limit,1,1,buy,5\n", ":1: missing column(s) price"),
        ("ts_ns,kind,order_id,account,side,price,qty\n1,limit,1,1,buy,100\n", ":2: expected 7 fields, got 6"),
        (
            "ts_ns,kind,order_id,account,side,price,qty\n1,limit,1,1,up,100,5\n",
            ":2: side: expected buy or sell, got 'up'",
        ),
        ("", "empty file"),
    ],
)
def test_malformed_csv_is_reported_with_line_and_field_and_exit_2(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    code, out, err = run_cli(capsys, "replay", str(bad), "--format", "csv")
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_missing_file_is_reported_with_exit_2(tmp_path, capsys):
    code, out, err = run_cli(capsys, "replay", str(tmp_path / "nope.csv"))
    assert code == 2 and "nope.csv" in err and "cannot open" in err


def test_an_output_flag_naming_the_input_or_another_output_is_refused_and_the_input_kept(tmp_path, capsys, cfx_engine):
    w = tmp_path / "w.csv"
    workload.write(str(w), workload.generate(200, seed=3))
    original = w.read_bytes()
    (tmp_path / "link.csv").symlink_to(w)
    cases = [
        (["--fills", w], "--fills"),
        (["--events", w], "--events"),
        (["--book", tmp_path / "." / "w.csv"], "--book"),
        (["--fills", tmp_path / "link.csv"], "--fills"),
        (["--fills", tmp_path / "f.csv", "--events", tmp_path / "f.csv"], "--events"),
    ]
    for flags, flag in cases:
        code, _, err = run_cli(capsys, "replay", w, *flags)
        assert code == 2 and err.count("\n") == 1 and err.startswith(f"cfx replay: error: {flag} "), err
        assert w.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "w.csv"]  # no output written either


def test_bad_flag_exits_2_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "cfx.cli", "replay", "x.csv", "--speed", "11"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "unrecognized arguments: --speed" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_fills_hash_equals_the_yardsticks_on_a_shared_workload(tmp_path, capsys, cfx_engine):
    """Any workload.py file: our fills_sha256 must equal the yardstick's."""
    if not (SHARED / "bench" / "yardstick.py").exists():
        pytest.skip("../shared/bench not present (a user's clone)")
    w = tmp_path / "w.csv"
    subprocess.run([sys.executable, str(SHARED / "bench" / "workload.py"), "20000", str(w), "--seed", "11"], check=True)
    ours = json.loads(
        subprocess.run(
            [sys.executable, "-m", "cfx.cli", "replay", str(w)], capture_output=True, text=True, check=True
        ).stdout
    )
    theirs = json.loads(
        subprocess.run(
            [sys.executable, str(SHARED / "bench" / "yardstick.py"), str(w)], capture_output=True, text=True, check=True
        ).stdout
    )
    assert ours["fills_sha256"] == theirs["fills_sha256"]
    assert ours["fills"] == theirs["fills"] and ours["volume"] == theirs["volume"]
    assert ours["engine"] == (cfx_engine if cfx_engine != "auto" else ours["engine"])


# what a replay never needs: the table writers (numpy, pyarrow), logging (structlog, rich),
# the package metadata (cfx --version only) and tempfile (writing an output file only)
HEAVY = {
    "numpy",
    "pyarrow",
    "pandas",
    "structlog",
    "rich",
    "pygments",
    "cfx.logs",
    "cfx.tables",
    "cfx.clearing.tables",
    "importlib.metadata",
    "tempfile",
    "asyncio",
}
# ... and the compiled one, neither the Python engine and venue nor hashlib's OpenSSL binding (cfx/sha.py)
NOT_COMPILED = {"cfx.engine", "cfx.book", "cfx.venue", "cfx.clearing", "_hashlib", "hashlib"}


def test_replay_imports_none_of_the_heavy_modules(tmp_path, cfx_engine):
    """Memory: a replay's peak RSS is mostly the modules it imports (README,
    "The benchmark"). The replay runs in a fresh interpreter, which then
    lists every module loaded; a module-level import of any of these in
    the replay's path fails this test."""
    w = tmp_path / "w.csv"
    workload.write(str(w), workload.generate(3000, seed=3))
    script = (
        "import json, sys\nfrom cfx.cli import main\nmain(sys.argv[1:])\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", script, "replay", str(w)], capture_output=True, text=True, check=True)
    result, loaded = json.loads(proc.stdout), set(json.loads(proc.stderr))
    assert result["fills"] > 100 and result["engine"] == (cfx_engine if cfx_engine != "auto" else result["engine"])
    engine_modules = {"cfx.engine", "cfx.book"} if result["engine"] == "python" else {"cfx.core._book"}
    assert {"cfx.replay", "msgspec", *engine_modules} <= loaded  # the list is the replay's own
    heavy = HEAVY | NOT_COMPILED if result["engine"] == "compiled" else HEAVY
    assert sorted(loaded & heavy) == []


def test_trades_only_venue_makes_the_same_trades_and_book_as_a_full_one():
    # the throughput replay's engine builds only trades; every trade and the book it leaves must be a full engine's
    from cfx.types import ListSeries, Trade
    from cfx.venue import Venue

    cmds = orders_csv.load_csv_rows(workload.generate(20_000, seed=5), "GPU")
    full, lean = Venue(risk=False), Venue(risk=False, trades_only=True)
    for v in (full, lean):
        v.apply(ListSeries("GPU", max_qty=orders_csv.MAX_QTY))
    every = full.apply_batch(cmds)
    trades = lean.apply_batch(cmds)
    expected = [t for t in every if type(t) is Trade]
    assert len(expected) > 1000 and len(every) > 2 * len(expected)
    assert all(type(t) is Trade for t in trades)
    fields = ("ts", "price", "qty", "maker_id", "taker_id", "maker_account", "taker_account", "aggressor")
    assert [[getattr(t, f) for f in fields] for t in trades] == [[getattr(t, f) for f in fields] for t in expected]
    assert lean.engine.book("GPU").state_hash() == full.engine.book("GPU").state_hash()


@pytest.mark.parametrize(
    "trades_only, session, band",
    [(False, False, None), (True, False, None), (False, True, None), (False, False, (9_995, 10_005))],
)
def test_the_engines_batch_loop_makes_the_events_of_one_command_at_a_time(trades_only, session, band):
    # Engine.apply_batch deals with plain limit and market orders and cancels itself; every event must be
    # their methods' (with a session, whose opening call refuses cancels, it leaves them to those; in a
    # moving price band, its market orders stop at the edge)
    from cfx.engine import Engine
    from cfx.session import SessionSchedule
    from cfx.types import CancelOrder, CancelReason, ListSeries, OrderCancelled, OrderKind, SubmitOrder, TimeInForce

    cmds = orders_csv.load_csv_rows(workload.generate(5_000, seed=11), "GPU")
    subs = [c for c in cmds[100:3_000:7] if type(c) is SubmitOrder and c.price]
    extra = [
        SubmitOrder(
            c.ts, "GPU", 10_000_000 + i, c.account, c.side, c.qty, c.price, tif=TimeInForce.GTD, expire_ns=c.ts + 5_000
        )
        for i, c in enumerate(subs)
    ]  # due before later commands
    extra += [
        SubmitOrder(
            c.ts,
            "GPU",
            11_000_000 + i,
            c.account,
            c.side,
            c.qty,
            0,
            kind=OrderKind.STOP_MARKET,
            stop_price=1 if c.side.value == "sell" else 10**6,
        )
        for i, c in enumerate(subs)
    ]
    extra += [
        CancelOrder(c.ts + 1, o, c.account + d) for c, o in zip(subs, range(11_000_000, 11_001_000)) for d in (1, 0)
    ]  # a stop's cancel: by another account, then by its own
    extra += [CancelOrder(c.ts + 2, c.order_id, c.account + 1) for c in subs]  # not the owner (or gone)
    extra.append(SubmitOrder(cmds[50].ts, "NOPE", 20_000_000, 1, cmds[0].side, 1, 100))  # an unknown series
    cmds = sorted(cmds + extra, key=lambda c: c.ts)
    one, batch = Engine(trades_only=trades_only), Engine(trades_only=trades_only)
    for e in (one, batch):
        e.apply(
            ListSeries(
                "GPU",
                max_qty=orders_csv.MAX_QTY,
                band_low=band and band[0],
                band_high=band and band[1],
                band_moving=True,
            )
        )
        if session:
            e.configure_session(
                "GPU",
                SessionSchedule(
                    pre_open=0, opening_call=1_000_000, open=1_500_000, settlement_start=4_000_000, close=4_500_000
                ),
                0,
            )
    for c in cmds:
        one.apply(c)
    for start in range(0, len(cmds), 128):
        batch.apply_batch(cmds[start : start + 128])
    assert len(batch.events) > (1_000 if trades_only else 3 * len(cmds) // 2)
    assert batch.events == one.events
    if band and not trades_only:  # market orders stopped at the moving band's edge, with liquidity beyond
        assert any(type(e) is OrderCancelled and e.reason is CancelReason.BAND for e in one.events)
    assert batch.cmd_seq == one.cmd_seq == len(cmds) + 1 + session
    assert batch.book("GPU").state_hash() == one.book("GPU").state_hash()


def test_a_venue_batch_with_a_venue_command_gives_the_events_of_one_command_at_a_time():
    # Venue.apply_batch hands a batch of engine commands to Engine.apply_batch whole; a batch holding
    # a venue command (here OpenAccount) goes one command at a time: the same events either way
    from cfx.types import ListSeries
    from cfx.venue import OpenAccount, Venue

    cmds = orders_csv.load_csv_rows(workload.generate(2_000, seed=7), "GPU")
    cmds = [ListSeries("GPU", max_qty=orders_csv.MAX_QTY), *cmds[:900], OpenAccount(0, 99, 1_000), *cmds[900:]]
    batched, single = Venue(risk=False), Venue(risk=False)
    got = []
    for start in range(0, len(cmds), 128):
        got += batched.apply_batch(cmds[start : start + 128])
    want = [e for c in cmds for e in single.apply(c)]
    assert len(want) > 2 * len(cmds) and got == want
    assert batched.clearing.accounts.keys() == single.clearing.accounts.keys() and 99 in single.clearing.accounts
    assert batched.engine.book("GPU").state_hash() == single.engine.book("GPU").state_hash()
