"""`cfx.tables.column` builds the array ``pa.array`` would (same values,
nulls, dictionary order: the Parquet bytes of a run depend on them)
without importing pandas (tests/test_startup.py: a run imports none)."""

from __future__ import annotations

import datetime

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from cfx import tables
from cfx.types import Side

QUOTE = pa.list_(pa.struct([("dealer", pa.int64()), ("time", tables.TIME), ("reason", pa.string())]))
CASES = [
    ([1, 2, 3], pa.int64()),
    ([1, None, 3], pa.int64()),
    ([], pa.int64()),
    ([None, None], pa.int64()),
    ([1.5, 2.0], pa.float64()),
    ([1.5, None], pa.float64()),
    ([1, 2**40, None], tables.TIME),
    (["b", "a", None, "b", "c"], tables.STRING),
    ([Side.SELL, None, Side.BUY, "sell"], tables.STRING),
    ([], tables.STRING),
    ([None], tables.STRING),
    (["x", None, "é", ""], pa.string()),
    ([True, False, True] * 5, pa.bool_()),
    ([datetime.date(2027, 1, 11), datetime.date(1969, 12, 31)], pa.date32()),
    ([[1, 2], [], [3]], pa.list_(pa.int64())),
    ([[{"dealer": 1, "time": 5, "reason": "x"}], [], [{"dealer": None, "time": 7, "reason": None}]], QUOTE),
]


def _as_pa_array(values: list, tp: pa.DataType) -> pa.Array:
    if tp == tables.TIME:
        return pa.array(values, pa.int64()).cast(tp)
    if tp == QUOTE:
        plain = pa.list_(pa.struct([(f.name, pa.int64() if f.type == tables.TIME else f.type) for f in tp.value_type]))
        return pa.array(values, plain).cast(tp)
    return pa.array(values, tp)


def _same(got: pa.Array, want: pa.Array) -> None:
    got.validate(full=True)
    assert got.type == want.type and got.null_count == want.null_count
    assert got.equals(want), (got, want)
    if pa.types.is_dictionary(want.type):
        assert got.dictionary.equals(want.dictionary) and got.indices.equals(want.indices)


def test_columns_are_the_arrays_pa_array_gives():
    for values, tp in CASES:
        _same(tables.column(values, tp), _as_pa_array(values, tp))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["HOP-F27", "HOP-G27", "buy", "sell", "é"])), max_size=40),
    st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=40),
)
def test_dictionary_and_integer_columns_match_pa_array_for_any_values(words, ints):
    _same(tables.column(words, tables.STRING), pa.array(words, tables.STRING))
    _same(tables.column(ints, pa.int64()), pa.array(ints, pa.int64()))


def test_a_dictionary_of_more_words_than_16_bit_codes_hold_is_the_one_pa_array_gives():
    words = [f"w{i % 40_000}" for i in range(80_000, 0, -1)] + [None]  # 40,000 words, each twice, seen in reverse
    _same(tables.column(words, tables.STRING), pa.array(words, tables.STRING))


def test_what_it_cannot_build_is_refused_as_pa_array_refuses_it():
    for values, tp in (([2**64], pa.int64()), (["1"], pa.int64())):
        try:
            pa.array(values, tp)
        except (TypeError, ValueError, OverflowError, pa.ArrowException) as e:
            expected = type(e)
        try:
            tables.column(values, tp)
        except Exception as e:  # noqa: BLE001 - the type is what is compared
            assert type(e) is expected
        else:
            raise AssertionError(f"{values} as {tp} was accepted")
