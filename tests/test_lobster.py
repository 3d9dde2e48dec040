"""LOBSTER replay: the engine rebuilds a real market's book, message by message."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cfx import lobster
from cfx.lobster import SYNTHETIC_ACCOUNT, SYNTHETIC_ID_BASE, TAKER_ACCOUNT
from cli_support import run_cli

DATA = Path(__file__).parent / "data"
SMALL_MSG = DATA / "lobster_small_message.csv"
SMALL_BOOK = DATA / "lobster_small_orderbook.csv"
LOBSTER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lobster"
AAPL_MSG = LOBSTER / "AAPL_2012-06-21_34200000_57600000_message_10.csv"
AAPL_BOOK = LOBSTER / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"

# Measured on the AAPL sample (999 messages): 17 corrections for 7,231 lots
# (12 from comparing rows, 5 deletes of pre-existing orders), 2 sample orders
# removed (105 lots) that were cancelled silently beyond the 10 visible
# levels. The bounds leave a little room for a changed tie-break, not for a
# regression that resyncs what the messages explain.
MAX_RESYNC_CORRECTIONS = 20
MAX_RESYNC_QTY = 7_500
MAX_SAMPLE_ADJUSTED = 3


def raw_rows(path: Path) -> list[list[int]]:
    """The orderbook file read independently of cfx.lobster."""
    with open(path, newline="") as f:
        return [[int(x) for x in row] for row in csv.reader(f) if row]


def expected_depth(row: list[int]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    asks = [(row[k], row[k + 1]) for k in range(0, len(row), 4) if row[k + 1] > 0]
    bids = [(row[k + 2], row[k + 3]) for k in range(0, len(row), 4) if row[k + 3] > 0]
    return bids, asks


def replay_checking_every_row(msg_path: Path, book_path: Path):
    """Replay; after every message compare the engine's top N levels with the
    raw row, and note the trades each message produced."""
    msgs, books = lobster.load(msg_path, book_path)
    rows = raw_rows(book_path)
    levels = len(rows[0]) // 4
    per_message: list[list] = []
    seen = [0]

    def check(i: int, rp: lobster.LobsterReplay) -> None:
        assert rp.book.depth(levels) == expected_depth(rows[i]), f"message {i + 1} (line {msgs[i].line})"
        rp.book.check()
        trades = rp.result.trades
        per_message.append(trades[seen[0] :])
        seen[0] = len(trades)

    result = lobster.replay(msgs, books, on_message=check)
    assert len(per_message) == len(msgs)
    return msgs, result, per_message


# --------------------------------------------------------------------------- the AAPL sample

needs_shared = pytest.mark.skipif(not AAPL_MSG.exists(), reason="../shared not present (a user's clone)")


@pytest.fixture(scope="module")
def aapl():
    if not AAPL_MSG.exists():
        pytest.skip("../shared not present (a user's clone)")
    return replay_checking_every_row(AAPL_MSG, AAPL_BOOK)


@needs_shared
def test_aapl_top_10_levels_equal_the_book_file_after_every_message(aapl):
    msgs, result, _ = aapl
    assert result.messages == len(msgs) == 999
    assert result.mismatches_after_resync == 0
    assert result.rejects == 0


@needs_shared
def test_aapl_resync_corrections_are_reported_and_bounded(aapl):
    _, r, _ = aapl
    assert 0 < r.resync_corrections <= MAX_RESYNC_CORRECTIONS
    assert 0 < r.resync_qty <= MAX_RESYNC_QTY
    assert r.sample_orders_adjusted <= MAX_SAMPLE_ADJUSTED
    assert r.requeued_sample == 0  # the file's priority never contradicts the engine's
    assert r.resync_corrections == sum(1 for c in r.corrections if "synthetic" in c[1])
    # order 13419503, a bid at $585.40, shows up at message 147 with no submission ...
    assert (147, "add synthetic", "buy", 5854000, 50) in r.corrections
    assert r.hidden_executions == 61


@needs_shared
def test_aapl_executions_trade_their_size_at_their_price_against_their_maker(aapl):
    msgs, r, per_message = aapl
    submitted: set[int] = set()
    executed = 0
    for m, trades in zip(msgs, per_message):
        if m.type != lobster.EXECUTE:
            assert trades == [], f"line {m.line}: only executions trade"
            if m.type == lobster.SUBMIT:
                submitted.add(m.order_id)
            continue
        executed += m.size
        assert sum(t.qty for t in trades) == m.size, f"line {m.line}"
        assert {t.price for t in trades} == {m.price}
        assert {t.taker_account for t in trades} == {TAKER_ACCOUNT}
        assert {str(t.aggressor) for t in trades} == {"sell" if m.direction == 1 else "buy"}
        if m.order_id in submitted:
            assert {t.maker_id for t in trades} == {m.order_id}, f"line {m.line}"
        else:  # a pre-existing order (e.g. 13419503 at line 448): the synthetic order stands for it
            assert {t.maker_account for t in trades} == {SYNTHETIC_ACCOUNT}, f"line {m.line}"
    assert len(r.trades) == sum(1 for m in msgs if m.type == lobster.EXECUTE) == 98
    assert sum(t.qty for t in r.trades) == executed == 4730
    assert r.execution_mismatches == 0 and r.unexpected_trades == 0


@needs_shared
def test_cli_replays_the_aapl_sample_by_content_and_derived_orderbook_name(capsys):
    code, out, _ = run_cli(capsys, "replay", str(AAPL_MSG))  # no --format, no --orderbook
    assert code == 0
    (line,) = out.strip().splitlines()
    result = json.loads(line)
    assert result["messages"] == 999 and result["fills"] == 98
    assert result["mismatches_after_resync"] == 0
    assert 0 < result["resync_corrections"] <= MAX_RESYNC_CORRECTIONS
    assert result["hidden_executions"] == 61
    assert len(result["fills_sha256"]) == 64


# --------------------------------------------------------------------------- a hand-worked sample


def test_small_fixture_replays_with_zero_resyncs_and_the_hand_computed_trades(capsys, tmp_path):
    # Seed (row 1 with message 1 undone): ask 100 @ 100.1000, bid 50 @ 99.9000.
    # Order 1 (sell 10 @ 100.05) is cut to 6, then executed (6): maker 1.
    # Line 8 executes 50 of an order the sample never submitted: the seed bid.
    msgs, result, per_message = replay_checking_every_row(SMALL_MSG, SMALL_BOOK)
    assert result.resync_corrections == result.resync_qty == result.sample_orders_adjusted == 0
    assert result.mismatches_after_resync == 0
    assert (result.seed_orders, result.seed_qty) == (2, 150)
    assert (result.hidden_executions, result.halts) == (1, 1)
    assert [(t.maker_id, t.taker_id, t.price, t.qty, str(t.aggressor)) for t in result.trades] == [
        (1, SYNTHETIC_ID_BASE + 2, 1000500, 6, "buy"),
        (SYNTHETIC_ID_BASE + 1, SYNTHETIC_ID_BASE + 3, 999000, 50, "sell"),
    ]
    assert [len(t) for t in per_message] == [0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    assert msgs[7].ts == 34200_500_000_000  # "34200.5" seconds, exactly, in ns

    fills = tmp_path / "fills.csv"
    book = tmp_path / "book.json"
    code, out, _ = run_cli(
        capsys,
        "replay",
        "--format",
        "lobster",
        str(SMALL_MSG),
        "--orderbook",
        str(SMALL_BOOK),
        "--fills",
        str(fills),
        "--book",
        str(book),
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["fills"] == 2 and summary["volume"] == 56 and summary["resync_corrections"] == 0
    assert fills.read_text().splitlines()[1] == f"34200000000005,1,{SYNTHETIC_ID_BASE + 2},1,3,1000500,6,buy"
    snapshot = json.loads(book.read_text())
    assert [(lvl["price"], [o["qty"] for o in lvl["orders"]]) for lvl in snapshot["asks"]] == [
        (1000500, [5]),
        (1001000, [100]),
        (1002000, [2]),
    ]
    assert [(lvl["price"], [o["order_id"] for o in lvl["orders"]]) for lvl in snapshot["bids"]] == [(999800, [4])]


def test_small_fixture_auto_detected_and_orderbook_name_derived(capsys):
    code, out, _ = run_cli(capsys, "replay", str(SMALL_MSG))
    assert code == 0 and json.loads(out)["messages"] == 12


# --------------------------------------------------------------------------- resync rules, by hand


def write_sample(tmp_path: Path, messages: list[str], rows: list[str]) -> tuple[Path, Path]:
    m = tmp_path / "x_message_1.csv"
    b = tmp_path / "x_orderbook_1.csv"
    m.write_text("\n".join(messages) + "\n")
    b.write_text("\n".join(rows) + "\n")
    return m, b


E_ASK, E_BID = "9999999999,0", "-9999999999,0"


def test_a_silent_level_inside_the_visible_range_is_added_synthetic(tmp_path):
    # two levels shown; after message 2 a bid of 7 @ 99.0000 appears that no message explains
    m, b = write_sample(
        tmp_path,
        ["1,1,1,5,1010000,-1", "2,1,2,3,1000000,1"],
        [f"1010000,5,{E_BID},{E_ASK},{E_BID}", f"1010000,5,1000000,3,{E_ASK},990000,7"],
    )
    _, r, _ = replay_checking_every_row(m, b)
    assert (r.resync_corrections, r.resync_qty, r.resync_messages) == (1, 7, 1)
    assert r.corrections == [(2, "add synthetic", "buy", 990000, 7)]


def test_levels_beyond_the_visible_ones_are_left_alone(tmp_path):
    # one level shown: the bid at 99.0000 falls out of view behind 99.5000 and is not compared
    m, b = write_sample(
        tmp_path,
        ["1,1,1,5,990000,1", "2,1,2,3,995000,1", "3,3,1,5,990000,1"],
        [f"{E_ASK},990000,5", f"{E_ASK},995000,3", f"{E_ASK},995000,3"],
    )
    _, r, _ = replay_checking_every_row(m, b)
    assert r.resync_corrections == 0 and r.mismatches_after_resync == 0


def test_an_order_cancelled_out_of_view_is_removed_and_counted_apart(tmp_path):
    # order 1 is deleted silently while behind order 2; when 2 goes, the side is empty
    m, b = write_sample(
        tmp_path,
        ["1,1,1,5,990000,1", "2,1,2,3,995000,1", "3,3,2,3,995000,1"],
        [f"{E_ASK},990000,5", f"{E_ASK},995000,3", f"{E_ASK},{E_BID}"],
    )
    _, r, _ = replay_checking_every_row(m, b)
    assert r.resync_corrections == 0
    assert (r.sample_orders_adjusted, r.sample_adjusted_qty) == (1, 5)


def test_deleting_an_unknown_order_takes_synthetic_quantity_as_one_resync(tmp_path):
    # seed: bid 30 @ 99.0000 (row 1 with the delete of 10 undone: 20 + 10)
    m, b = write_sample(
        tmp_path, ["1,3,77,10,990000,1", "2,2,78,5,990000,1"], [f"{E_ASK},990000,20", f"{E_ASK},990000,15"]
    )
    _, r, _ = replay_checking_every_row(m, b)
    assert (r.seed_orders, r.seed_qty) == (1, 30)
    assert (r.unknown_order_cancels, r.resync_corrections, r.resync_qty) == (2, 2, 15)


def test_an_execution_skips_synthetic_quantity_ahead_of_its_maker(tmp_path):
    # seed ask 10 @ 101 (pre-existing); order 1 joins behind it; the file executes order 1
    m, b = write_sample(
        tmp_path, ["1,1,1,5,1010000,-1", "2,4,1,5,1010000,-1"], [f"1010000,15,{E_BID}", f"1010000,10,{E_BID}"]
    )
    msgs, r, per_message = replay_checking_every_row(m, b)
    assert [t.maker_id for t in per_message[1]] == [1]
    assert r.requeued_synthetic == 1 and r.resync_corrections == 0


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "line, needle",
    [
        ("3,1,1,5,1010000", "x_message_1.csv:2: expected 6 fields"),
        ("3,1,1,5,10.10,-1", "x_message_1.csv:2: price: expected an integer, got '10.10'"),
        ("3,1,1,five,1010000,-1", "x_message_1.csv:2: size: expected an integer"),
        ("3.x,1,1,5,1010000,-1", "x_message_1.csv:2: time: expected a decimal number of seconds"),
        ("3,1,1,5,1010000,0", "x_message_1.csv:2: direction: expected 1 or -1"),
        ("3,9,1,5,1010000,1", "x_message_1.csv:2: type: expected 1-7"),
    ],
)
def test_malformed_message_row_exits_2_naming_line_and_field(capsys, tmp_path, line, needle):
    m, b = write_sample(tmp_path, ["1,1,1,5,1010000,-1", line], [f"1010000,5,{E_BID}"] * 2)
    code, out, err = run_cli(capsys, "replay", "--format", "lobster", str(m), "--orderbook", str(b))
    assert code == 2 and out == ""
    assert needle in err and "Traceback" not in err


@pytest.mark.parametrize(
    "row, needle",
    [
        ("1010000,5,-9999999999", "x_orderbook_1.csv:2: expected 4 fields like line 1, got 3"),
        ("1010000,5,abc,0", "x_orderbook_1.csv:2: field 3 (bid price 1): expected an integer, got 'abc'"),
    ],
)
def test_malformed_orderbook_row_exits_2_naming_line_and_field(capsys, tmp_path, row, needle):
    m, b = write_sample(tmp_path, ["1,1,1,5,1010000,-1", "2,1,2,5,1010000,-1"], [f"1010000,5,{E_BID}", row])
    code, _, err = run_cli(capsys, "replay", str(m))
    assert code == 2 and needle in err


def test_orderbook_of_another_length_or_missing_exits_2(capsys, tmp_path):
    m, b = write_sample(tmp_path, ["1,1,1,5,1010000,-1", "2,1,2,5,1010000,-1"], [f"1010000,5,{E_BID}"])
    code, _, err = run_cli(capsys, "replay", str(m))
    assert code == 2 and "1 rows, but" in err and "2 messages" in err
    b.unlink()
    code, _, err = run_cli(capsys, "replay", str(m))
    assert code == 2 and "x_orderbook_1.csv: cannot open LOBSTER orderbook file" in err
    odd = tmp_path / "flow.csv"
    odd.write_text("1,1,1,5,1010000,-1\n")
    code, _, err = run_cli(capsys, "replay", "--format", "lobster", str(odd))
    assert code == 2 and "pass --orderbook" in err


def test_an_orderbook_file_given_as_the_messages_is_named_as_such(capsys, tmp_path):
    code, _, err = run_cli(capsys, "replay", str(SMALL_BOOK), "--orderbook", str(SMALL_BOOK))
    assert code == 2 and "looks like an orderbook file" in err
