"""The compiled journal writer (cfx/_journal.pyx, `CompiledJournal`) against
the reference `Journal`: the same bytes in the file, while it is open and
after it is closed, and the same `position()` after every record, for
random commands of every type and random map growth (records straddling
a grow), mapped or not."""

from __future__ import annotations

import errno
import hashlib
import json
import mmap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfx import journal as jn
from cfx import venue
from cfx.sim import scenario as scn
from cfx.sim.run import run_scenario
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

_journal = pytest.importorskip("cfx._journal")

SMALL = Path(__file__).parent / "data" / "sim_small.toml"

ts = st.integers(0, 8_835_955_200_000_000_000)
ints = st.integers(-(2**63), 2**63 - 1)
small = st.integers(0, 10**9)
names = st.text(max_size=300)  # any length: records of one, two and several hash blocks; escapes; non-ASCII
commands = st.one_of(
    st.builds(
        SubmitOrder,
        ts=ts,
        series=names,
        order_id=small,
        account=small,
        side=st.sampled_from(Side),
        qty=ints,
        price=ints,
        kind=st.sampled_from(OrderKind),
        tif=st.sampled_from(TimeInForce),
        post_only=st.booleans(),
        stp=st.none() | st.sampled_from(StpMode),
    ),
    st.builds(CancelOrder, ts=ts, order_id=small, account=small),
    st.builds(ModifyOrder, ts=ts, order_id=small, account=small, price=ints, qty=ints),
    st.builds(MassCancel, ts=ts, account=st.none() | small, series=st.none() | names),
    st.builds(EndOfDay, ts=ts, series=st.none() | names),
    st.builds(AdvanceTime, ts=ts),
    st.builds(ListSeries, symbol=names, ts=ts, band_low=st.none() | ints, band_moving=st.booleans()),
    st.builds(SetAccountStp, account=small, mode=st.sampled_from(StpMode), ts=ts),
    st.builds(venue.OpenAccount, ts=ts, account=small, deposit=small),
    st.builds(venue.Deposit, ts=ts, account=small, amount=small),
)


def _pair(tmp_path: Path, monkeypatch, resume: jn.Position | None = None, tag: str = ""):
    ref_path, twin_path = tmp_path / f"ref{tag}", tmp_path / f"twin{tag}"
    with monkeypatch.context() as m:
        m.setenv("CFX_ENGINE", "python")
        ref = jn.Journal(ref_path, resume=resume)
    twin = jn.CompiledJournal(twin_path, resume=resume)
    assert type(ref) is jn.Journal
    return ref, twin, ref_path, twin_path


def test_the_chain_hash_is_hashlibs_blake2b_128():
    for n in range(0, 700):
        data = bytes((i * 7 + n) & 255 for i in range(n))
        assert _journal.blake2b_128(data) == hashlib.blake2b(data, digest_size=16).digest(), n


def test_a_journal_is_the_compiled_one_unless_the_python_engine_is_asked_for(tmp_path, monkeypatch):
    monkeypatch.delenv("CFX_ENGINE", raising=False)
    monkeypatch.delenv("CFX_NO_EXTENSION", raising=False)
    with jn.Journal(tmp_path / "a") as j:
        assert type(j) is jn.CompiledJournal
    for var, value in (("CFX_ENGINE", "python"), ("CFX_NO_EXTENSION", "1")):
        with monkeypatch.context() as m:
            m.setenv(var, value)
            with jn.Journal(tmp_path / var) as j:
                assert type(j) is jn.Journal


@settings(max_examples=60, deadline=None)
@given(cmds=st.lists(commands, max_size=60), chunk=st.integers(1, 3000), cut=st.integers(0, 60))
def test_compiled_and_python_journals_write_the_same_bytes(tmp_path_factory, cmds, chunk, cut):
    tmp_path = tmp_path_factory.mktemp("twin")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(jn, "CHUNK", chunk)
        ref, twin, ref_path, twin_path = _pair(tmp_path, monkeypatch)
        assert twin.position() == ref.position()
        for c in cmds[:cut]:
            ref.write(c)
            twin.write(c)
            assert twin.position() == ref.position()
            assert twin_path.read_bytes() == ref_path.read_bytes()  # zeros after the records too: the same growth
        # abandoned and resumed where it stood (as after a checkpoint), then finished
        pos = ref.position()
        ref.abandon()
        twin.abandon()
        assert twin_path.read_bytes() == ref_path.read_bytes()
        with monkeypatch.context() as m:
            m.setenv("CFX_ENGINE", "python")
            ref = jn.Journal(ref_path, resume=pos)
        twin = jn.CompiledJournal(twin_path, resume=pos)
        for c in cmds[cut:]:
            ref.write(c)
            twin.write(c)
            assert twin.position() == ref.position()
        ref.close()
        twin.close()
    assert twin_path.read_bytes() == ref_path.read_bytes()
    assert list(jn.read(twin_path, venue.command_decoder)) == cmds


def test_an_unmappable_file_is_written_record_by_record_the_same(tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise OSError(errno.ENODEV, "no mmap here")

    monkeypatch.setattr(mmap, "mmap", refuse)
    ref, twin, ref_path, twin_path = _pair(tmp_path, monkeypatch)
    for i in range(200):
        c = CancelOrder(ts=i, order_id=i * 977, account=i % 7)
        ref.write(c)
        twin.write(c)
        assert twin.position() == ref.position()
        assert twin_path.read_bytes() == ref_path.read_bytes()
    ref.close()
    twin.close()
    assert twin_path.read_bytes() == ref_path.read_bytes()


def test_a_closed_compiled_journal_refuses_a_record(tmp_path):
    j = jn.CompiledJournal(tmp_path / "j")
    j.write(AdvanceTime(ts=1))
    j.close()
    with pytest.raises(ValueError, match="closed journal"):
        j.write(AdvanceTime(ts=2))


def test_a_full_disk_at_growth_is_an_oserror_and_leaves_the_records_before(tmp_path, monkeypatch):
    monkeypatch.setattr(jn, "CHUNK", 64)
    j = jn.CompiledJournal(tmp_path / "j")
    j.write(AdvanceTime(ts=1))

    def full(*a):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jn.os, "posix_fallocate", full)
    with pytest.raises(OSError) as e:
        for i in range(100):
            before = j.position()
            j.write(AdvanceTime(ts=2 + i))
    assert e.value.errno == errno.ENOSPC
    j.abandon()
    assert jn.last_good(tmp_path / "j") == before


def test_a_run_journals_the_same_bytes_on_both_engines(tmp_path, monkeypatch):
    sc = scn.load(SMALL)
    compiled = run_scenario(sc, tmp_path / "compiled", progress=False)
    monkeypatch.setenv("CFX_ENGINE", "python")
    python = run_scenario(sc, tmp_path / "python", progress=False)
    assert compiled["run_hash"] == python["run_hash"]
    assert (tmp_path / "compiled" / "journal").read_bytes() == (tmp_path / "python" / "journal").read_bytes()
    assert json.loads((tmp_path / "compiled" / "summary.json").read_text())["run_hash"] == compiled["run_hash"]
