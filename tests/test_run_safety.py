"""Nothing lost, nothing corrupted (issue 17): the verified journal, one run
per directory, crash-safe outputs and `cfx run --resume` after SIGKILL."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cfx.cli import main
from cfx.errors import InputError
from cfx.inputs import LINE_LIMIT
from cfx.journal import Journal
from cfx.sim import checkpoint, outputs
from cfx.sim import scenario as scn
from cfx.sim.run import run_scenario
from cfx.venue import OpenAccount, command_decoder
from cli_support import run_cli

DATA = Path(__file__).parent / "data"
SMALL = DATA / "sim_small.toml"
TABLES = (
    "events",
    "trades",
    "book_top",
    "accounts",
    "positions",
    "settlements",
    "fixings",
    "margin_calls",
    "indicative",
    "agents",
)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("safety") / "small"
    assert main(["run", str(SMALL), "--out", str(out), "--quiet", "--no-report"]) == 0
    return out


# --------------------------------------------------------------------------- the journal


def test_journal_records_carry_sequence_and_chained_hash_and_end_with_a_footer(small_run):
    lines = (small_run / "journal").read_bytes().splitlines()
    summary = json.loads((small_run / "summary.json").read_text())
    assert lines[0] == b"cfx-journal 1"
    assert [int(line.split(b" ", 1)[0]) for line in lines[1:-1]] == list(range(1, summary["commands"] + 1))
    end = lines[-1].split()
    assert end[0] == b"end" and int(end[1]) == summary["commands"] and end[2] == lines[-2].split(b" ")[1]


def test_replay_of_an_intact_journal_matches_its_summary(small_run, capsys):
    code, out, _ = run_cli(capsys, "replay", small_run / "journal")
    result = json.loads(out)
    assert code == 0 and result["matches_summary"] is True
    assert result["events_sha256"] == json.loads((small_run / "summary.json").read_text())["run_hash"]


def _corrupt(lines: list[bytes], how: str) -> list[bytes]:
    out = list(lines)
    if how == "deleted":
        del out[10]
    elif how == "digit":
        rec = out[10]
        i = rec.index(b'"ts":') + 6
        out[10] = rec[:i] + (b"7" if rec[i : i + 1] != b"7" else b"8") + rec[i + 1 :]
    elif how == "swapped":
        out[10], out[11] = out[11], out[10]
    elif how == "tail":
        out = out[:-40]
    elif how == "duplicated":
        first_open = next(i for i, line in enumerate(out) if b'"OpenAccount"' in line)
        out.insert(first_open + 1, out[first_open])
    return out


@pytest.mark.parametrize(
    "how, needle",
    [
        ("deleted", "journal:11: record 10: found sequence number 11 (records 10..10 missing)"),
        ("digit", "journal:11: record 10: hash mismatch"),
        ("swapped", "journal:11: record 10: found sequence number 11"),
        ("tail", "without its end line"),
        ("duplicated", "duplicated or out of order"),
    ],
)
def test_a_corrupted_journal_is_refused_at_its_first_bad_record(small_run, tmp_path, capsys, how, needle):
    lines = (small_run / "journal").read_bytes().splitlines(keepends=True)
    bad = tmp_path / "journal"
    bad.write_bytes(b"".join(_corrupt(lines, how)))
    events = tmp_path / "events.jsonl"
    code, out, err = run_cli(capsys, "replay", bad, "--events", events)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert needle in err, err
    assert not events.exists()


def test_a_well_chained_journal_the_venue_refuses_names_the_record(tmp_path, capsys):
    path = tmp_path / "journal"
    with Journal(path) as j:
        j.write(OpenAccount(0, 1, 10))
        j.write(OpenAccount(0, 1, 10))
    code, _, err = run_cli(capsys, "replay", path)
    assert code == 2 and "record 2: the venue refused OpenAccount" in err and err.count("\n") == 1


def test_a_journal_record_outside_its_type_limits_names_the_record_and_field(tmp_path, capsys):
    path = tmp_path / "journal"
    with Journal(path) as j:
        j.write(OpenAccount(0, 1, 10))
        j.write(OpenAccount(0, 2, -10))  # limits are checked when decoding, not on construction
    code, _, err = run_cli(capsys, "replay", path)
    assert code == 2 and "journal: record 2: deposit: Expected `int` >= 0" in err and err.count("\n") == 1, err


# The journal file is written through a memory map that grows ahead of the
# records (zero-filled): what a killed process leaves, and how it is read.

COMMANDS = [OpenAccount(0, account, 10 * account) for account in range(1, 41)]


def _journal_as_written(commands: list, end: bool = True) -> bytes:
    """The bytes of a journal of ``commands``, from the format's definition
    (cfx/journal.py): header, ``SEQ HASH JSON`` records, the end line."""
    from cfx import journal
    from cfx.types import encoder

    out, h = [journal.HEADER], journal.GENESIS
    for n, cmd in enumerate(commands, 1):
        line = encoder.encode(cmd)
        h = hashlib.blake2b(h + line, digest_size=journal.HASH_BYTES).digest()
        out.append(b"%d %s %s\n" % (n, h.hex().encode(), line))
    if end:
        out.append(b"end %d %s\n" % (len(commands), h.hex().encode()))
    return b"".join(out)


@pytest.fixture(params=["one chunk", "many chunks"])
def chunk(request, monkeypatch) -> int:
    from cfx import journal

    if request.param == "many chunks":
        monkeypatch.setattr(journal, "CHUNK", 100)  # a record or two a chunk: the map grows again and again
    return journal.CHUNK


def test_a_journal_is_its_records_and_end_line_once_closed(tmp_path, chunk):
    with Journal(tmp_path / "journal") as j:
        for cmd in COMMANDS:
            j.write(cmd)
    assert (tmp_path / "journal").read_bytes() == _journal_as_written(COMMANDS)


def test_an_open_journal_holds_every_record_written_then_zeros(tmp_path, chunk):
    """What a killed process leaves: the records it wrote (in the kernel's
    page cache, not in the process), then the room not written yet."""
    from cfx import journal

    j = Journal(tmp_path / "journal")
    for n, cmd in enumerate(COMMANDS, 1):
        j.write(cmd)
        data = (tmp_path / "journal").read_bytes()  # read by another file, while the journal is open
        written = _journal_as_written(COMMANDS[:n], end=False)
        assert data[: len(written)] == written and not data[len(written) :].strip(b"\0")
        assert j.position().offset == len(written) and len(data) - len(written) <= chunk + len(written)
    assert journal.last_good(tmp_path / "journal") == j.position()
    assert list(journal.read_upto(tmp_path / "journal", len(COMMANDS), command_decoder)) == COMMANDS
    with pytest.raises(InputError, match="ends after record 40 without its end line"):
        list(journal.read(tmp_path / "journal", command_decoder))
    j.abandon()  # the run failed: the zeros are cut, the end line is not written
    assert (tmp_path / "journal").read_bytes() == _journal_as_written(COMMANDS, end=False)


@pytest.mark.parametrize("cut", [0, 1, 30])
def test_a_record_cut_off_by_the_zeros_is_a_journal_cut_short(tmp_path, cut):
    """A process killed while it copied a record in: the record's first
    bytes, then zeros. The journal ends at the record before."""
    from cfx import journal

    whole = _journal_as_written(COMMANDS[:5], end=False)
    last = len(_journal_as_written(COMMANDS[:4], end=False))
    path = tmp_path / "journal"
    path.write_bytes(whole[: last + cut] + bytes(journal.CHUNK))
    assert journal.last_good(path).count == 4
    with pytest.raises(InputError, match="ends after record 4 without its end line"):
        list(journal.read(path, command_decoder))


@pytest.mark.parametrize(
    "tail, needle",
    [
        (bytes(1000) + b"5 x\n", "record 5: not a journal record"),  # zeros, then more: not room never written
        (bytes(1 << 22), "record 5 is longer than"),  # more zeros than a journal leaves
    ],
)
def test_zeros_a_journal_does_not_leave_are_refused(tmp_path, tail, needle):
    from cfx import journal

    assert len(tail) < journal.CHUNK or len(tail) > journal.CHUNK + LINE_LIMIT
    path = tmp_path / "journal"
    path.write_bytes(_journal_as_written(COMMANDS[:4], end=False) + tail)
    with pytest.raises(InputError, match=needle):
        list(journal.read(path, command_decoder))


def test_a_journal_resumed_from_a_killed_one_continues_it(tmp_path, chunk):
    from cfx import journal

    j = Journal(tmp_path / "journal")
    for cmd in COMMANDS[:25]:
        j.write(cmd)
    killed = tmp_path / "killed"
    killed.write_bytes((tmp_path / "journal").read_bytes())  # as the killed process left it: zeros at the end
    j.abandon()
    position = journal.last_good(killed, upto=20)  # the checkpoint's: five records after it are dropped
    with Journal(killed, resume=position) as k:
        for cmd in COMMANDS[20:]:
            k.write(cmd)
    assert killed.read_bytes() == _journal_as_written(COMMANDS)


def test_where_the_file_cannot_be_mapped_the_records_are_written(tmp_path, monkeypatch, chunk):
    from cfx import journal

    def refuse(*args, **kwargs):
        raise OSError(19, "No such device")  # what mmap says on a file system that cannot map files

    monkeypatch.setattr(journal.mmap, "mmap", refuse)
    with Journal(tmp_path / "journal") as j:
        for cmd in COMMANDS:
            j.write(cmd)
            assert (tmp_path / "journal").stat().st_size == j.position().offset  # no room ahead: written
    assert (tmp_path / "journal").read_bytes() == _journal_as_written(COMMANDS)


def test_replay_says_when_its_hash_differs_from_the_summary(small_run, tmp_path, capsys):
    for name in ("journal", "summary.json"):
        (tmp_path / name).write_bytes((small_run / name).read_bytes())
    summary = json.loads((tmp_path / "summary.json").read_text())
    summary["run_hash"] = "0" * 64
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    code, out, err = run_cli(capsys, "replay", tmp_path / "journal")
    assert code == 1 and json.loads(out)["matches_summary"] is False and "differs from the run_hash" in err


# --------------------------------------------------------------------------- one run per directory


def test_a_directory_holding_a_run_is_refused_unless_overwrite(small_run, tmp_path, capsys):
    out = tmp_path / "run"
    for name in ("journal", "summary.json", "settlements.parquet"):
        out.mkdir(exist_ok=True)
        (out / name).write_bytes((small_run / name).read_bytes())
    (out / "notes.txt").write_text("mine")
    code, _, err = run_cli(capsys, "run", SMALL, "--out", out, "--quiet", "--no-report", "--seed", "8")
    assert code == 2 and "holds another run (journal, summary.json)" in err and err.count("\n") == 1
    assert (out / "summary.json").read_bytes() == (small_run / "summary.json").read_bytes()
    code, stdout, _ = run_cli(
        capsys, "run", SMALL, "--out", out, "--quiet", "--no-report", "--seed", "8", "--overwrite"
    )
    assert code == 0 and json.loads(stdout)["seed"] == 8
    assert json.loads((out / "summary.json").read_text())["seed"] == 8
    assert (out / "notes.txt").read_text() == "mine"  # not a run file: kept


def test_two_runs_into_one_directory_at_once_one_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    sc = tmp_path / "four.toml"
    sc.write_text(SMALL.read_text().replace("days = 2", "days = 4"))
    first = subprocess.Popen(
        [sys.executable, "-m", "cfx.cli", "run", str(sc), "--out", str(out), "--quiet", "--no-report"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not ((out / ".lock").exists() and (out / ".lock").read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    code, _, err = run_cli(capsys, "run", sc, "--out", out, "--quiet", "--no-report", "--overwrite")
    assert code == 2 and f"another cfx run (pid {first.pid}) is writing here" in err
    stdout, _ = first.communicate(timeout=120)
    assert first.returncode == 0
    assert json.loads(stdout)["run_hash"] == json.loads((out / "summary.json").read_text())["run_hash"]
    for t in TABLES:
        pq.read_table(out / f"{t}.parquet")  # every table readable: nothing mixed in


# --------------------------------------------------------------------------- kill -9 and resume


@pytest.fixture(scope="module")
def four_days(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("resume")
    sc = folder / "four.toml"
    sc.write_text(SMALL.read_text().replace("days = 2", "days = 4"))
    summary = run_scenario(scn.load(sc), folder / "whole", progress=False)
    return sc, {"dir": folder / "whole", "summary": summary}


def _kill_when(sc: Path, out: Path, ready) -> None:
    p = subprocess.Popen(
        [sys.executable, "-m", "cfx.cli", "run", str(sc), "--out", str(out), "--quiet", "--no-report"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not ready(out) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    assert p.returncode == -signal.SIGKILL, "the run ended before it could be killed"


def _journaled(path: Path, size: int) -> bool:
    """Does the journal hold more than ``size`` bytes of records (its file
    grows ahead of them, zero-filled: `cfx.journal.CHUNK`)?"""
    try:
        with open(path, "rb") as f:
            f.seek(size)
            return f.read(1) not in (b"", b"\0")
    except FileNotFoundError:
        return False


def _parts(n: int):
    return lambda out: (out / outputs.PARTS / f"events-{n:05d}{outputs.PART_SUFFIX}").exists()


@pytest.mark.parametrize("when", ["first-day", "after-day-1", "after-day-2"])
def test_a_killed_run_resumes_to_the_same_hash_and_tables(four_days, tmp_path, capsys, when):
    sc, whole = four_days
    out = tmp_path / "killed"
    ready = {
        # the first checkpoint (before day 1) is written on the run's background thread: wait for it too
        "first-day": lambda o: _journaled(o / "journal", 100_000) and (o / checkpoint.FILE).exists(),
        "after-day-1": _parts(2),
        "after-day-2": _parts(3),
    }[when]
    _kill_when(sc, out, ready)
    assert not (out / "summary.json").exists()
    code, _, err = run_cli(capsys, "replay", out / "journal")
    assert code == 2 and "without its end line" in err  # a killed run's journal says it was cut short
    code, stdout, err = run_cli(capsys, "run", "--resume", out, "--quiet", "--no-report")
    assert code == 0, err
    assert json.loads(stdout)["run_hash"] == whole["summary"]["run_hash"]
    assert (out / "journal").read_bytes() == (whole["dir"] / "journal").read_bytes()
    for t in TABLES:  # the files byte for byte: the resumed run rebuilt the joined tables from the day parts
        assert (out / f"{t}.parquet").read_bytes() == (whole["dir"] / f"{t}.parquet").read_bytes(), t
    assert not (out / ".parts").exists() and not (out / "checkpoint.pkl").exists()
    code, _, err = run_cli(capsys, "run", "--resume", out, "--quiet")
    assert code == 2 and "this run finished" in err


@pytest.mark.parametrize("damage", ["deleted", "truncated", "changed"])
def test_a_resume_from_damaged_day_parts_is_refused_and_changes_nothing(four_days, tmp_path, capsys, damage):
    sc, _ = four_days
    out = tmp_path / "killed"
    _kill_when(sc, out, _parts(3))
    part = out / outputs.PARTS / f"events-00001{outputs.PART_SUFFIX}"
    data = part.read_bytes()
    if damage == "deleted":
        part.unlink()
    elif damage == "truncated":
        part.write_bytes(data[:500])
    else:
        part.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    before = {
        f.name: f.read_bytes() for f in [out / "journal", out / "checkpoint.pkl", *(out / outputs.PARTS).iterdir()]
    }
    code, _, err = run_cli(capsys, "run", "--resume", out, "--quiet", "--no-report")
    assert code == 2 and err.count("\n") <= 1 and str(part) in err, err  # the day would be lost: refused, named
    after = {
        f.name: f.read_bytes() for f in [out / "journal", out / "checkpoint.pkl", *(out / outputs.PARTS).iterdir()]
    }
    assert after == before and not (out / "summary.json").exists()


def test_resuming_a_directory_that_does_not_exist_creates_nothing(tmp_path, capsys):
    code, _, err = run_cli(capsys, "run", "--resume", tmp_path / "nowhere", "--quiet")
    assert code == 2 and "no such run directory" in err
    assert not (tmp_path / "nowhere").exists()
