"""Every bad input ends in one line on stderr and exit 2 (issue 17): text
encodings, byte-order marks, CSV limits, output paths, scenario limits,
workload and flag mistakes, replay format detection, empty fixings."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from cli_support import run_cli

DATA = Path(__file__).parent / "data"
SMALL = DATA / "sim_small.toml"
ORDERS = "ts_ns,kind,order_id,account,side,price,qty\n1,limit,1,1,buy,100,5\n2,limit,2,2,sell,100,3\n"


def assert_one_line_exit_2(result, *needles: str) -> str:
    code, _, err = result
    assert code == 2, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err
    return err


# --------------------------------------------------------------------------- UTF-8 and BOM


def test_invalid_utf8_in_an_order_csv_names_line_and_byte_offset(tmp_path, capsys):
    f = tmp_path / "o.csv"
    f.write_bytes(ORDERS.encode() + b"3,limit,3,1,b\xffuy,100,5\n")
    offset = len(ORDERS.encode()) + len(b"3,limit,3,1,b")
    assert_one_line_exit_2(run_cli(capsys, "replay", f), "o.csv:4:", "0xff", f"byte offset {offset}")


def test_invalid_utf8_is_found_past_the_first_chunk(tmp_path, capsys, monkeypatch):
    from cfx import inputs

    monkeypatch.setattr(inputs, "CHUNK", 64)
    body = "".join(f"{i},limit,{i},1,buy,100,5\n" for i in range(3, 40)).encode()
    data = ORDERS.encode() + body + b"99,limit,99,1,buy,1\xc3,5\n"
    (tmp_path / "o.csv").write_bytes(data)
    err = assert_one_line_exit_2(run_cli(capsys, "replay", tmp_path / "o.csv"), f"o.csv:{3 + 37 + 1}:")
    assert f"byte offset {data.index(bytes([0xC3]))}" in err


@pytest.mark.parametrize("kind", ["lobster", "scenario", "quotes", "book", "sweep", "index-config"])
def test_invalid_utf8_in_every_text_input_is_one_line(tmp_path, capsys, kind):
    bad = tmp_path / "bad.txt"
    if kind == "lobster":
        bad.write_bytes(b"34200.1,1,1,10,5853300,1\n34200.2,1,2,10,58533\xfe0,1\n")
        argv = ["replay", "--format", "lobster", bad, "--orderbook", DATA / "lobster_small_orderbook.csv"]
    elif kind == "scenario":
        bad.write_bytes(SMALL.read_bytes().replace(b'name = "small"', b'name = "sm\xffall"'))
        argv = ["run", bad, "--out", tmp_path / "run", "--quiet"]
    elif kind == "quotes":
        bad.write_bytes(b"date,sku,provider,price\n2027-01-04,H1\xff00,a,2.00\n")
        argv = ["index", "--quotes", bad, "--out", tmp_path / "f.csv"]
    elif kind == "book":
        bad.write_bytes((DATA.parent.parent / "examples" / "dealer_book.csv").read_bytes() + b"F99,H1\xe900\n")
        argv = ["hedge", bad, "--out", tmp_path / "h"]
    elif kind == "sweep":
        bad.write_bytes(b'base = "x.toml"\nname = "\xff"\n')
        argv = ["sweep", bad, "--out", tmp_path / "s"]
    else:
        bad.write_bytes(b"[fixing]\n# \xff\n")
        argv = ["index", "--config", bad, "--out", tmp_path / "f.csv"]
    assert_one_line_exit_2(run_cli(capsys, *argv), "bad.txt:", "invalid UTF-8 byte", "byte offset")


def test_a_bom_is_skipped_the_same_way_everywhere(tmp_path, capsys):
    f = tmp_path / "o.csv"
    f.write_bytes(b"\xef\xbb\xbf" + ORDERS.encode())
    code, out, _ = run_cli(capsys, "replay", f)
    assert code == 0 and '"fills": 1' in out
    sc = tmp_path / "s.toml"
    sc.write_bytes(b"\xef\xbb\xbf" + SMALL.read_bytes())
    from cfx.sim import scenario as scn

    assert scn.load(sc).name == "small"
    from cfx import index, lobster

    q = tmp_path / "q.csv"
    q.write_bytes(b"\xef\xbb\xbf" + (DATA / "index_quotes.csv").read_bytes())
    assert index.read_quotes_csv(q) == index.read_quotes_csv(DATA / "index_quotes.csv")
    m = tmp_path / "m_message_1.csv"
    m.write_bytes(b"\xef\xbb\xbf" + (DATA / "lobster_small_message.csv").read_bytes())
    assert lobster.read_messages(m) == lobster.read_messages(DATA / "lobster_small_message.csv")


def test_a_field_over_the_csv_limit_is_one_line(tmp_path, capsys):
    f = tmp_path / "o.csv"
    f.write_text(ORDERS + '3,limit,3,1,"' + "b" * 200_000 + '",100,5\n')
    assert_one_line_exit_2(run_cli(capsys, "replay", f), "o.csv:4:", "longer than 131,072 characters")


class _Endless(io.RawIOBase):
    """An endless stream of zero bytes (no newline ever) that fails the
    test once more than ``budget`` bytes are read from it."""

    def __init__(self, budget: int, prefix: bytes = b"") -> None:
        self.budget, self.read_so_far, self.prefix = budget, 0, prefix

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        self.read_so_far += len(b)
        assert self.read_so_far <= self.budget, "read an endless line without a limit"
        head, self.prefix = self.prefix[: len(b)], self.prefix[len(b) :]
        b[:] = head + bytes(len(b) - len(head))
        return len(b)


def test_an_endless_line_stops_at_the_line_limit():
    from cfx import inputs
    from cfx.errors import InputError

    raw = _Endless(8 * inputs.LINE_LIMIT)
    with pytest.raises(InputError, match=r"^z\.csv:1: a line is longer than 1,048,576 bytes$"):
        list(inputs.lines(io.BufferedReader(raw), "z.csv"))
    assert raw.read_so_far < 2 * inputs.LINE_LIMIT


def test_an_endless_journal_record_stops_at_the_line_limit():
    from cfx import inputs, journal
    from cfx.errors import InputError

    raw = _Endless(8 * inputs.LINE_LIMIT, journal.HEADER)
    with pytest.raises(InputError, match=r"^j:2: record 1 is longer than 1,048,576 bytes$"):
        list(journal.read_stream(io.BufferedReader(raw), "j"))
    assert raw.read_so_far < 2 * inputs.LINE_LIMIT


def test_a_line_over_the_limit_is_one_line_after_the_rows_before_it(tmp_path, capsys, monkeypatch):
    from cfx import inputs

    monkeypatch.setattr(inputs, "LINE_LIMIT", 4096)
    f = tmp_path / "o.csv"
    f.write_text(ORDERS + "3,limit,3,1,buy,100," + "5" * 100_000)  # no newline
    assert_one_line_exit_2(run_cli(capsys, "replay", f), "o.csv:4: a line is longer than 4,096 bytes")
    f.write_text(ORDERS + "3,limit,3,1,buy,100,x\n" + "9" * 100_000 + "\n")
    assert_one_line_exit_2(run_cli(capsys, "replay", f), "o.csv:4: qty")  # the first mistake is the one named


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/dev/zero and RLIMIT_AS as Linux has them")
@pytest.mark.parametrize("fmt,engine", [("csv", "python"), ("csv", "compiled"), ("journal", "python")])
def test_replaying_dev_zero_is_one_line_in_bounded_memory(fmt, engine):
    import resource
    import subprocess

    from cfx import core

    if engine == "compiled" and not core.available():
        pytest.skip("the compiled core is not built")

    def limit() -> None:  # without a line limit this read takes every byte the machine has
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    r = subprocess.run(
        [sys.executable, "-m", "cfx.cli", "replay", "/dev/zero", "--format", fmt, "--engine", engine],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
    )
    why = "a line is longer than" if fmt == "csv" else "not a cfx journal"
    assert_one_line_exit_2((r.returncode, r.stdout, r.stderr), f"/dev/zero:1: {why}")


# --------------------------------------------------------------------------- output paths


@pytest.mark.parametrize("flag", ["--fills", "--events", "--book"])
def test_an_unwritable_output_is_one_line_before_anything_runs(tmp_path, capsys, flag):
    f = tmp_path / "o.csv"
    f.write_text(ORDERS)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line_exit_2(run_cli(capsys, "replay", f, flag, blocker / "out.csv"), flag, "cannot write")
    assert_one_line_exit_2(run_cli(capsys, "replay", f, flag, tmp_path), flag, "is a directory")
    assert_one_line_exit_2(run_cli(capsys, "replay", f, flag, "/dev/null"), "not a regular file")


def test_writing_through_a_symlink_keeps_the_link(tmp_path, capsys):
    f = tmp_path / "o.csv"
    f.write_text(ORDERS)
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    code, _, _ = run_cli(capsys, "replay", f, "--fills", link)
    assert code == 0 and link.is_symlink() and real.read_text().startswith("ts_ns,maker_id")


def test_a_failed_replay_leaves_no_output_file(tmp_path, capsys):
    f = tmp_path / "o.csv"
    f.write_text(ORDERS + "3,limit,x,1,buy,100,5\n")
    fills = tmp_path / "fills.csv"
    assert_one_line_exit_2(run_cli(capsys, "replay", f, "--fills", fills), "o.csv:4: order_id")
    assert not fills.exists() and list(tmp_path.iterdir()) == [f]


def test_a_fifo_as_out_is_refused(tmp_path, capsys):
    from cfx import writes
    from cfx.errors import InputError

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        writes.write_atomic(fifo, "x", "--out")
    assert fifo.is_fifo()


# --------------------------------------------------------------------------- scenario limits


BASKETS = 'baskets = [{ name = "HOPPER", root = "HOP", weights = { H100 = 0.6, H200 = 0.4 } }]'


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("seed = 7", "seed = -1", "seed: Expected `int` >= 0"),
        ("[products]", "[products]\ntick-usd = 1e-9", "products.tick-usd: Expected `float` >= 1e-06"),
        ("collateral-usd = 20_000_000", "collateral-usd = 1e30", "agents[0].collateral-usd: Expected `float` <= "),
        ("start = 2027-01-04", "start = 9999-01-04", "calendar: start: 9999-01-04 is outside"),
        ("start = 2027-01-04", "start = 0001-01-04", "calendar: start: 0001-01-04 is outside"),
        ("count = 6", "count = 10000000", "agents[1].count: Expected `int` <= 10000"),
        ("count = 6", "count = 9999", "agents: 10,002 agents in all, more than the 10,000"),
        (
            "collateral-usd = 2_000_000",
            "collateral-usd = 5",
            "agents[1].collateral-usd: 5.0 is below rules.clearing.guarantee-fund-contribution",
        ),
        (BASKETS, "baskets = []", "products.baskets: Expected `array` of length >= 1"),
        (
            "[rules.clearing]",
            "[rules.clearing]\ntaker-fee = 9223372036854775807",
            "rules.clearing.taker-fee: Expected `int` <= 1000000000",
        ),
        (
            "[rules.clearing]",
            f"[rules.clearing]\ntaker-fee = {-(2**63)}",
            "rules.clearing.taker-fee: Expected `int` >=",
        ),
        (
            "[rules.clearing]",
            "[rules.clearing]\nmaker-fee = -4611686018427387904",
            "rules.clearing.maker-fee: Expected `int` >= -1000000000",
        ),
        (
            "[rules.clearing]",
            "[rules.clearing]\nhouse-capital = 9223372036854775807",
            "rules.clearing.house-capital: Expected `int` <= 1000000000000000000",
        ),
        (
            "[rules.clearing]",
            "[rules.clearing]\ninsurance-fund = 9223372036854775807",
            "rules.clearing.insurance-fund: Expected `int` <= 1000000000000000000",
        ),
        (
            "guarantee-fund-contribution = 10_000_000_000",
            "guarantee-fund-contribution = 9223372036854775807",
            "rules.clearing.guarantee-fund-contribution: Expected `int` <= 1000000000000000000",
        ),
    ],
    ids=[
        "seed",
        "tick",
        "collateral",
        "year-9999",
        "year-1",
        "count",
        "total-agents",
        "below-fund",
        "no-baskets",
        "taker-fee",
        "taker-fee-min",
        "maker-fee",
        "house-capital",
        "insurance-fund",
        "fund-contribution",
    ],
)
def test_scenario_values_that_would_crash_later_are_refused_up_front(tmp_path, capsys, old, new, message):
    text = SMALL.read_text()
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1))
    assert_one_line_exit_2(run_cli(capsys, "run", bad, "--out", tmp_path / "run", "--quiet"), "bad.toml: ", message)
    assert not (tmp_path / "run" / "journal").exists()


def test_seed_flag_is_checked_like_the_file(tmp_path, capsys):
    assert_one_line_exit_2(run_cli(capsys, "run", SMALL, "--seed", "-1", "--out", tmp_path / "r"), "--seed", ">= 0")
    assert_one_line_exit_2(
        run_cli(capsys, "run", SMALL, "--seed", str(2**64), "--out", tmp_path / "r"), "--seed", "below 2**63"
    )


# --------------------------------------------------------------------------- flags and workload


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["workload", "-5", "w.csv"], "argument n"),
        (["workload", "abc", "w.csv"], "argument n"),
        (["workload", "10", "w.csv", "--seed", "-3"], "--seed"),
        (["workload", "1000000000", "w.csv"], "more than the 100,000,000"),
        (["workload", "10", "."], "is a directory"),
        (["workload", "10", "/dev/null"], "not a regular file"),
        (["workload"], "required"),
        (["replay"], "required"),
        (["bogus"], "invalid choice"),
        (["run", "--no-such-flag"], "unrecognized arguments"),
        (["run", "--quiet"], "a scenario file is needed"),
        (["replay", "x.csv", "--format", "xml"], "invalid choice"),
        (["sweep", "s.toml", "--workers", "-1"], "--workers"),
    ],
)
def test_bad_flags_and_workload_arguments_are_one_line(tmp_path, capsys, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    assert_one_line_exit_2(run_cli(capsys, *argv), needle)


def test_workload_writes_a_whole_file(tmp_path, capsys):
    out = tmp_path / "w.csv"
    assert run_cli(capsys, "workload", "100", out)[0] == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 101 and lines[0] == "ts_ns,kind,order_id,account,side,price,qty"


# --------------------------------------------------------------------------- replay format detection


def test_stdin_and_pipes_need_a_format(tmp_path, capsys):
    assert_one_line_exit_2(run_cli(capsys, "replay", "-"), "needs --format")
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    assert_one_line_exit_2(run_cli(capsys, "replay", fifo), "not a regular file", "--format")  # never blocks


def test_stdin_with_a_format_is_streamed(tmp_path, capfd):
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "cfx.cli", "replay", "-", "--format", "csv"],
        input=ORDERS.encode(),
        capture_output=True,
        timeout=60,
    )
    assert r.returncode == 0 and b'"fills": 1' in r.stdout


@pytest.mark.parametrize(
    "header",
    [
        "ts_ns,kind,order_id,account,side,price,qty",
        "qty,price,side,account,order_id,kind,ts_ns",
        " TS_NS , KIND ,a,b,c,d,e",
    ],
)
def test_a_headered_csv_is_never_taken_for_lobster(tmp_path, header):
    from cfx.replay import sniff

    f = tmp_path / "o.csv"
    f.write_text(header + "\n1,2,3,4,5,6,7\n")
    assert sniff(f) == "csv"
    f.write_text("34200.1,1,1,10,5853300,1\n")
    assert sniff(f) == "lobster"


# --------------------------------------------------------------------------- journal times


def write_journal(path: Path, modify_ts: int) -> Path:
    """A journal with a valid hash chain: a series with a trading day, an
    order, and a modify of it at ``modify_ts`` (record 4)."""
    from cfx.journal import Journal
    from cfx.types import ListSeries, ModifyOrder, Side, SubmitOrder
    from cfx.venue import ConfigureSession

    hour = 3_600_000_000_000
    with Journal(path) as j:
        j.write(ListSeries("S"))
        j.write(ConfigureSession(0, "S", 7 * hour, 8 * hour, 15 * hour, 16 * hour))
        j.write(SubmitOrder(9 * hour, "S", 1, 1, Side.BUY, 5, 100))
        j.write(ModifyOrder(modify_ts, 1, 1, 101, 5))
    return path


def test_a_journal_time_in_range_replays(tmp_path, capsys):
    import msgspec

    from cfx.types import MAX_TS
    from cfx.venue import command_decoder

    code, out, err = run_cli(capsys, "replay", write_journal(tmp_path / "journal", 10 * 3_600_000_000_000))
    assert code == 0 and '"messages": 4' in out, err
    assert command_decoder.decode(b'{"type":"AdvanceTime","ts":%d}' % MAX_TS).ts == MAX_TS
    with pytest.raises(msgspec.ValidationError):
        command_decoder.decode(b'{"type":"AdvanceTime","ts":%d}' % (MAX_TS + 1))


@pytest.mark.parametrize("ts", [-1, 2**63 - 1, 2**63])
def test_a_journal_time_out_of_range_is_one_line_naming_the_record(tmp_path, capsys, ts):
    journal = write_journal(tmp_path / "journal", ts)
    bound = ">= 0" if ts < 0 else "<= 8835955200000000000"
    assert_one_line_exit_2(run_cli(capsys, "replay", journal), f"{journal}: record 4: ts: Expected `int` {bound}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS as Linux has it")
def test_a_journal_time_of_10_to_the_29_is_one_line_in_bounded_memory(tmp_path):
    import resource
    import subprocess

    journal = write_journal(tmp_path / "journal", 10**29)

    def limit() -> None:  # stepping the session day by day to 10**29 ns takes every byte the machine has
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    r = subprocess.run(
        [sys.executable, "-m", "cfx.cli", "replay", str(journal)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
    )
    assert_one_line_exit_2((r.returncode, r.stdout, r.stderr), f"{journal}: record 4: ts:")


# --------------------------------------------------------------------------- index


def test_index_exits_non_zero_when_no_fixing_could_be_computed(tmp_path, capsys):
    q = tmp_path / "q.csv"
    q.write_text("date,sku,provider,price\n2027-01-04,H100,a,2.00\n2027-01-04,H200,a,3.00\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        'quotes = "q.csv"\n[fixing]\nmin-contributors = 3\n'
        '[[baskets]]\nname = "HOPPER"\nroot = "HOP"\nweights = {H100 = 0.6, H200 = 0.4}\n'
    )
    assert_one_line_exit_2(
        run_cli(capsys, "index", "--config", cfg, "--out", tmp_path / "f.csv"), "no fixing could be computed"
    )


@pytest.mark.parametrize(
    "config, quotes, needle",
    [
        ("[generator]\nstart = 9999-06-01\n", None, "generator: start: 9999-06-01 is outside 1971-01-01..2199-12-31"),
        ("end = 9999-12-31\n", None, "end: 9999-12-31 is outside"),
        ("[generator]\njump-rate = 1e308\n", None, "generator.jump-rate: Expected `float` <= 252.0"),
        ("[generator]\njump-vol = 1e308\n", None, "generator.jump-vol: Expected `float` <= 10.0"),
        ("[generator]\nbasis-vol = 1e308\n", None, "generator.basis-vol: Expected `float` <= 10.0"),
        ("[generator]\nbasis-reversion = 1e6\n", None, "generator.basis-reversion: Expected `float` <= 252.0"),
        (
            '[generator]\nskus = [{name = "H100", level = 2.65, vol = 1e308}]\n',
            None,
            "generator.skus[0].vol: Expected `float` <= 10.0",
        ),
        (
            None,
            "date,sku,provider,price\n9999-12-31,H100,a,2.00\n",
            "q.csv:2: field 'date': date: 9999-12-31 is outside",
        ),
        (None, "date,sku,provider,price\n2027-01-04,H100,a,1e300\n", "q.csv:2: field 'price': '1e300' is above"),
        ('[generator]\nskus = [{name = "H100", level = 1e300, vol = 0.3}]\n', None, "generator.skus[0].level"),
        ('[generator]\nskus = [{name = "H100", level = 2.6, vol = 0.3, drift = 1e300}]\n', None, "skus[0].drift"),
        ("[generator]\njump-mean = -1e300\n", None, "generator.jump-mean: Expected `float` >= -5.0"),
        (
            '[generator]\nlaunches = [{day = 1, sku = "B300", previous = ["H100"], shock = 1e300}]\n',
            None,
            "generator.launches[0].shock",
        ),
    ],
)
def test_index_dates_rates_and_vols_out_of_range_are_one_line(tmp_path, capsys, config, quotes, needle):
    argv = ["index", "--out", tmp_path / "f.csv"]
    if config is not None:
        (tmp_path / "c.toml").write_text(config)
        argv += ["--config", tmp_path / "c.toml"]
    if quotes is not None:
        (tmp_path / "q.csv").write_text(quotes)
        argv += ["--quotes", tmp_path / "q.csv"]
    assert_one_line_exit_2(run_cli(capsys, *argv), needle)


@pytest.mark.parametrize(
    "assignment, needle",
    [
        ("output.report=maybe", "output.report"),
        ("output.events=some", "output.events"),
        ("products.listing=weekly", "products.listing"),
        ("products.perpetual.funding-interval-min=0", "products.perpetual.funding-interval-min"),
        ("agents[0].funding-intervals=-1", "agents[0].funding-intervals"),
        ("agents[0].batch-imbalance-share=1.5", "agents[0].batch-imbalance-share"),
        ("agents[0].batch-imbalance-share=-0.1", "agents[0].batch-imbalance-share"),
        ("agents[1].excitement-max-ticks=-1", "agents[1].excitement-max-ticks"),  # the small scenario's noise traders
        ("agents[1].busy-share=1e-300", "agents[1].busy-share: Expected `float` >= 1e-06"),  # an infinite calm spell
        ("agents[0].funding-intervals=1e308", "agents[0].funding-intervals: Expected `float` <= 1000.0"),
        ("agents[0].latency.sigma=1e300", "agents[0].latency.sigma: Expected `float` <= 3.0"),  # draws of inf ns
        ("agents[0].latency.jitter-ns=10000000000000000000", "agents[0].latency.jitter-ns"),
        ("agents[0].latency.entry-ns=3600000000001", "agents[0].latency.entry-ns"),
    ],
)
def test_output_listing_and_perpetual_keys_refuse_bad_values_in_one_line(tmp_path, capsys, assignment, needle):
    out = tmp_path / "run"
    assert_one_line_exit_2(run_cli(capsys, "run", SMALL, "--out", out, "--quiet", "--set", assignment), needle)
    assert not out.exists()  # refused before anything was written


def test_a_tiny_size_alpha_caps_sizes_instead_of_overflowing(tmp_path, capsys):
    # (1 - u) ** (-1 / alpha) is beyond any float for alpha = 1e-300: the size is the cap
    argv = ["run", SMALL, "--out", tmp_path / "run", "--quiet", "--no-report", "--set", "calendar.days=1"]
    argv += ["--set", "agents[1].size-alpha=1e-300", "--set", "agents[1].max-lots=50"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 0, err


# --------------------------------------------------------------------------- hedge

BOOK = DATA.parent.parent / "examples" / "dealer_book.csv"


@pytest.mark.parametrize(
    "old, new, needle",
    [
        ("43800", "99999999999999999999999", "book.csv:2: field 'gpu_hours': '99999999999999999999999' is more than"),
        ("43800", "1000000001", "book.csv:2: field 'gpu_hours': '1000000001' is more than the 1,000,000,000"),
        ("2.55", "1e300", "book.csv:2: field 'price': '1e300' is above $1,000"),
        ("2.55", "1000.000001", "book.csv:2: field 'price': '1000.000001' is above $1,000"),
        ("2.55", "1e999999", "book.csv:2: field 'price': '1e999999' is too large"),  # beyond Decimal's exponents
        ("2.55", "1e-999999999", "book.csv:2: field 'price': '1e-999999999' has more than 6 decimal places"),
    ],
)
def test_book_numbers_that_would_overflow_the_backtest_are_one_line(tmp_path, capsys, old, new, needle):
    text = BOOK.read_text()
    assert old in text
    (tmp_path / "book.csv").write_text(text.replace(old, new, 1))
    assert_one_line_exit_2(run_cli(capsys, "hedge", tmp_path / "book.csv", "--out", tmp_path / "h"), needle)


@pytest.mark.parametrize(
    "column, price, needle",
    [
        ("price", "1e300", "fut.csv:2: field 'price': '1e300' is above $1,000"),
        ("price", "1e400", "fut.csv:2: field 'price': '1e400' is above $1,000"),
        ("price", "inf", "fut.csv:2: field 'price': 'inf' is not a positive price"),
        ("price", "nan", "fut.csv:2: field 'price': 'nan' is not a positive price"),
        (
            "price_ticks",
            "99999999999999999999",
            "fut.csv:2: field 'price_ticks': '99999999999999999999' ticks is above",
        ),
    ],
)
def test_futures_prices_that_would_overflow_the_curve_are_one_line(tmp_path, capsys, column, price, needle):
    fut = tmp_path / "fut.csv"
    fut.write_text(f"date,series,{column}\n2027-01-04,HOP-H27,{price}\n")
    argv = ["hedge", BOOK, "--policy", "naive", "--out", tmp_path / "h", "--futures", fut]
    assert_one_line_exit_2(run_cli(capsys, *argv), needle)


def test_a_generated_price_path_stops_at_the_highest_price():
    from cfx.index.generator import GeneratorConfig, SkuModel, constituents
    from cfx.units import MAX_PRICE_MICRO

    cfg = GeneratorConfig(days=40, skus=[SkuModel(name="H100", level=900.0, vol=10.0, drift=10.0)], launches=[])
    prices = np.concatenate([c.prices for c in constituents(cfg)])
    assert prices.max() == MAX_PRICE_MICRO and prices.min() >= 0  # cut at $1,000 a GPU-hour, never int64 garbage
