"""A journal's records built in C (`cfx.core._journal.Records`) are the
reference's (`cfx.journal.PyRecords`) byte for byte, and its BLAKE2b is
hashlib's."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfx import journal
from cfx.types import Side, SubmitOrder, encoder
from cfx.venue import OpenAccount


def _compiled():
    if not journal.records_available():
        pytest.skip("the compiled record builder is not built")
    from cfx.core import _journal

    return _journal


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=700))
def test_the_compiled_blake2b_is_hashlibs(data):
    """Every length around the 128-byte blocks: empty, partial, full, several."""
    assert _compiled().blake2b_16(data) == hashlib.blake2b(data, digest_size=16).digest()


commands = st.lists(
    st.one_of(
        st.builds(
            SubmitOrder,
            ts=st.integers(0, 2**63 - 1),
            series=st.text(max_size=300),  # records past a block, and quotes, newlines, non-ASCII escaped
            order_id=st.integers(1, 2**63 - 1),
            account=st.integers(0, 2**31),
            side=st.sampled_from(Side),
            price=st.integers(-(2**40), 2**40),
            qty=st.integers(1, 10**6),
        ),
        st.builds(OpenAccount, ts=st.integers(0, 2**40), account=st.integers(0, 2**31), deposit=st.integers(0, 2**50)),
    ),
    max_size=30,
)


@settings(max_examples=100, deadline=None)
@given(cmds=commands, start=st.sampled_from([0, 9, 99_999, 2**40]), chain=st.binary(min_size=16, max_size=16))
def test_the_compiled_records_are_the_references_record_for_record(cmds, start, chain):
    compiled = _compiled().Records(encoder.encode, start, chain)
    reference = journal.PyRecords(encoder.encode, start, chain)
    for cmd in cmds:
        assert compiled.record(cmd) == reference.record(cmd)
        assert compiled.count == reference.count and compiled.chain == reference.chain


def test_a_journal_builds_its_records_compiled_unless_the_engine_is_python(tmp_path, monkeypatch):
    _compiled()
    cmd = OpenAccount(0, 1, 10)
    with journal.Journal(tmp_path / "compiled") as j:
        assert type(j._records).__module__ == "cfx.core._journal"
        j.write(cmd)
    monkeypatch.setenv("CFX_ENGINE", "python")
    with journal.Journal(tmp_path / "python") as j:
        assert type(j._records) is journal.PyRecords
        j.write(cmd)
    assert (tmp_path / "compiled").read_bytes() == (tmp_path / "python").read_bytes()


def test_without_the_extension_the_reference_builds_the_records(monkeypatch):
    monkeypatch.setenv("CFX_NO_EXTENSION", "1")
    assert not journal.records_available()
    assert type(journal.new_records()) is journal.PyRecords


def test_the_compiled_records_refuse_what_the_reference_cannot_be_given():
    records = _compiled().Records
    with pytest.raises(ValueError):
        records(encoder.encode, 0, b"short")
    with pytest.raises(TypeError):
        records(lambda cmd: "not bytes", 0, bytes(16)).record(None)
