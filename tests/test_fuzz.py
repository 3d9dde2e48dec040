"""Fuzzing every file reader through the function the CLI calls: random
bytes and random structured mutations of valid files end either in success
or in one `InputError` line (exit 2 from the CLI), never another exception.
Bounded: a few hundred examples per reader, no deadline (the machine is shared)."""

from __future__ import annotations

import atexit
import contextlib
import io
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfx.cli import main
from cfx.errors import InputError

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]
WORK = Path(tempfile.mkdtemp(prefix="cfx-fuzz-"))  # one folder for every example (fixtures are per test)
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)

ORDERS = (DATA / "replay_small.csv").read_bytes()
MESSAGES = b"".join((DATA / "lobster_small_message.csv").read_bytes().splitlines(keepends=True)[:30])
BOOK_ROWS = b"".join((DATA / "lobster_small_orderbook.csv").read_bytes().splitlines(keepends=True)[:30])
SCENARIO = (DATA / "sim_small.toml").read_bytes()
SWEEP = (DATA / "sweep_small.toml").read_bytes()
DEALER = (ROOT / "examples" / "dealer_book.csv").read_bytes()
QUOTES = (DATA / "index_quotes.csv").read_bytes()

TOKENS = [
    b"",
    b",",
    b"\n",
    b"\r\n",
    b'"',
    b"-1",
    b"0",
    b"99999999999999999999999",
    b"1e309",
    b"nan",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\x00",
    b"=",
    b"[",
    b"]",
    b"{",
    b"}",
    b"x" * 200,
    b"buy",
    b"sell",
    b"limit",
    b"cancel",
    b"2027-02-30",
    b"9999-12-31",
    b" ",
    b"\t",
    b"#",
    b"[[agents]]",
    b'type = "x"',
]


@st.composite
def mutated(draw, base: bytes) -> bytes:
    """``base`` with a few random edits: bytes or tokens inserted, ranges
    deleted or duplicated, lines swapped or dropped."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "token", "delete", "duplicate", "swap", "drop", "flip"]))
        n = len(data)
        i = draw(st.integers(0, n))
        if op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "token":
            data[i:i] = draw(st.sampled_from(TOKENS))
        elif op == "delete" and n:
            del data[i : i + draw(st.integers(1, 40))]
        elif op == "duplicate" and n:
            data[i:i] = data[i : i + draw(st.integers(1, 200))]
        elif op == "flip" and n:
            j = min(i, n - 1)
            data[j] = draw(st.integers(0, 255))
        elif op in ("swap", "drop"):
            lines = bytes(data).splitlines(keepends=True)
            if len(lines) > 2:
                a = draw(st.integers(0, len(lines) - 1))
                if op == "drop":
                    del lines[a]
                else:
                    b = draw(st.integers(0, len(lines) - 1))
                    lines[a], lines[b] = lines[b], lines[a]
                data = bytearray(b"".join(lines))
    return bytes(data)


def inputs(base: bytes):
    return st.one_of(st.binary(max_size=400), mutated(base))


def cli(*argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:
            code = e.code
    return code, err.getvalue()


def assert_ok_or_one_line(code: int, err: str) -> None:
    assert code in (0, 1, 2), (code, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("cfx ") and "Traceback" not in err, err


def assert_loads_or_input_error(load, path: Path) -> None:
    try:
        load(path)
    except InputError as e:
        message = str(e)
        assert message and str(path.name) in message or "base:" in message, message


@FUZZ
@given(inputs(ORDERS))
def test_order_csv_replay(data):
    f = WORK / "orders.csv"
    f.write_bytes(data)
    assert_ok_or_one_line(*cli("replay", f, "--format", "csv", "--fills", WORK / "fills.csv"))


@FUZZ
@given(st.one_of(inputs(ORDERS), inputs(MESSAGES)))
def test_replay_format_detection(data):
    f = WORK / "any.csv"
    f.write_bytes(data)
    (WORK / "any_orderbook.csv").write_bytes(BOOK_ROWS)
    assert_ok_or_one_line(*cli("replay", f, "--orderbook", WORK / "any_orderbook.csv"))


@FUZZ
@given(inputs(MESSAGES), st.booleans())
def test_lobster_replay(data, mutate_book):
    msg, book = WORK / "x_message_1.csv", WORK / "x_orderbook_1.csv"
    if mutate_book:
        msg.write_bytes(MESSAGES)
        book.write_bytes(data)
    else:
        msg.write_bytes(data)
        book.write_bytes(BOOK_ROWS)
    assert_ok_or_one_line(*cli("replay", "--format", "lobster", msg, "--orderbook", book))


@FUZZ
@given(inputs(SCENARIO))
def test_scenario_loader(data):
    from cfx.sim import scenario as scn

    f = WORK / "scenario.toml"
    f.write_bytes(data)
    assert_loads_or_input_error(scn.load, f)


@FUZZ
@given(inputs(SWEEP))
def test_sweep_loader(data):
    from cfx import sweep

    (WORK / "sweep_base.toml").write_bytes((DATA / "sweep_base.toml").read_bytes())
    f = WORK / "sweep.toml"
    f.write_bytes(data)
    assert_loads_or_input_error(sweep.load, f)


@FUZZ
@given(inputs(DEALER))
def test_dealer_book_reader(data):
    from cfx.hedge.book import read_book

    f = WORK / "book.csv"
    f.write_bytes(data)
    assert_loads_or_input_error(read_book, f)


@FUZZ
@given(inputs(QUOTES))
def test_quotes_reader(data):
    from cfx.index import read_quotes_csv

    f = WORK / "quotes.csv"
    f.write_bytes(data)
    assert_loads_or_input_error(read_quotes_csv, f)


@settings(max_examples=60, deadline=None, database=None)
@given(inputs(QUOTES))
def test_index_command_on_fuzzed_quotes(data):
    f = WORK / "q.csv"
    f.write_bytes(data)
    assert_ok_or_one_line(*cli("index", "--quotes", f, "--out", WORK / "fixings.csv"))
