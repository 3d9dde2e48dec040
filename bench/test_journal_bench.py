"""What a journal record costs, and how much of it is the unbuffered write
that keeps "journaled before applied" true (docs/design.md, "Determinism and
durability", says why the journal is not buffered). A timing, so here and
not in the unit suite (`make bench`)."""

from __future__ import annotations

import pytest

from cfx.journal import Journal
from cfx.types import Side, SubmitOrder

RECORDS = 20_000
CMD = SubmitOrder(
    ts=1_700_000_000_000_000_000, series="HOP-2027-01", order_id=123456, account=7, side=Side.BUY, price=212345, qty=5
)


def test_journal_write(benchmark, tmp_path):
    """`Journal.write` as a run calls it: encode, chain hash, one unbuffered write."""
    journal = Journal(tmp_path / "journal")

    def write() -> None:
        for _ in range(RECORDS):
            journal.write(CMD)

    benchmark.pedantic(write, rounds=5)
    journal.close()
    benchmark.extra_info["records_per_round"] = RECORDS


@pytest.mark.parametrize("buffering", [0, 1 << 16], ids=["unbuffered", "buffered-64k"])
def test_record_write(benchmark, tmp_path, buffering):
    """The write alone, for a record of a journal's size: the part a buffered
    journal would save."""
    record = b"1 " + b"0" * 32 + b" " + b"x" * 120 + b"\n"
    with open(tmp_path / "records", "wb", buffering=buffering) as f:

        def write() -> None:
            for _ in range(RECORDS):
                f.write(record)

        benchmark.pedantic(write, rounds=5)
    benchmark.extra_info["records_per_round"] = RECORDS
