"""The run's Parquet tables: one convention for types, units and metadata.

Every table a run writes follows it (docs/outputs.md lists each column):

- times are ``timestamp[ns, UTC]`` columns named ``time`` (or
  ``<what>_time``); days are ``date32`` columns named ``date`` (or
  ``<what>_date``, ``deadline``);
- a number with a unit carries it as the suffix of its name: ``_ticks``
  (a price in the series' ticks, integer), ``_lots`` (contracts, integer),
  ``_usd_micro`` (money or a price per GPU-hour in micro-dollars, integer),
  ``_usd`` (dollars, float, for people: the integer column beside it is
  exact), ``_1e8`` (a rate times 10^8, integer); counts and ids have none;
- strings are dictionary-encoded (``dictionary<int32, string>``);
- the file's key-value metadata holds ``cfx.schema_version`` (`SCHEMA_VERSION`)
  and ``cfx.table`` (the table's name).

`numpy_columns` reads a table back the way the analysis code wants it:
times as int64 nanoseconds, strings as Python objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA_VERSION = 1
TIME = pa.timestamp("ns", tz="UTC")
STRING = pa.dictionary(pa.int32(), pa.string())
VERSION_KEY = b"cfx.schema_version"
TABLE_KEY = b"cfx.table"


def schema(name: str, fields: Iterable[tuple[str, pa.DataType]]) -> pa.Schema:
    """A table's schema with cfx's metadata (schema version, table name)."""
    return pa.schema(list(fields), metadata={VERSION_KEY: str(SCHEMA_VERSION).encode(), TABLE_KEY: name.encode()})


def table(columns: dict[str, list | pa.Array], sch: pa.Schema) -> pa.Table:
    """Python lists (times as int ns, strings as str) or ready Arrow arrays
    of the field's type as a table of ``sch``."""
    arrays = [v if isinstance(v := columns[f.name], pa.Array) else column(v, f.type) for f in sch]
    return pa.Table.from_arrays(arrays, schema=sch)


def column(values: list, tp: pa.DataType) -> pa.Array:
    """A Python list as an Arrow array of ``tp``, the array ``pa.array``
    would give (a dictionary's values in order of first appearance), built
    from numpy buffers: ``pa.array`` of a list imports pandas (~0.2 s a
    process) to ask whether the list is a pandas object. Types it does not
    build go to ``pa.array``."""
    try:
        arr = _column(values, tp)
    except (TypeError, ValueError, OverflowError):
        arr = None  # what pa.array would refuse, it refuses with its own error
    if arr is None:
        if tp == TIME:
            return pa.array(values, pa.int64()).cast(TIME)
        if pa.types.is_list(tp) and pa.types.is_struct(tp.value_type):
            return _nested(values, tp)
        return pa.array(values, tp)
    return arr


_NUMPY = {pa.int64(): np.int64, TIME: np.int64, pa.float64(): np.float64, pa.int32(): np.int32}
_EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()


def _column(values: list, tp: pa.DataType) -> pa.Array | None:
    n = len(values)
    dtype = _NUMPY.get(tp)
    if dtype is not None:
        kinds, allowed = set(map(type, values)), {int, float} if dtype is np.float64 else {int}
        if kinds <= allowed:
            return numbers(np.fromiter(values, dtype, n), tp)
        if not kinds <= allowed | {type(None)}:
            return None
        data, valid = with_nulls(values, dtype)
        return numbers(data, tp, valid)
    if tp == STRING:
        return _dictionary(values)
    if tp == pa.string():
        return _strings(values)
    if tp == pa.bool_():
        if not all(type(v) is bool for v in values):
            return None
        bits = np.packbits(np.fromiter(values, bool, n), bitorder="little")
        return pa.Array.from_buffers(tp, n, [None, pa.py_buffer(bits)])
    if tp == pa.date32():
        import datetime

        if not all(type(v) is datetime.date for v in values):
            return None
        days = np.fromiter([v.toordinal() - _EPOCH_ORDINAL for v in values], np.int32, n)
        return pa.Array.from_buffers(tp, n, [None, pa.py_buffer(days)])
    if pa.types.is_list(tp):
        return _list(values, tp)
    return None


def with_nulls(values: list, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Numbers, some of them None, as a numpy array of ``dtype`` (0 where
    None) and a mask of the ones that are not None."""
    data = np.array(values, object)
    valid = np.not_equal(data, None)
    data[~valid] = 0
    return data.astype(dtype), valid


def numbers(data: np.ndarray, tp: pa.DataType, valid: np.ndarray | None = None) -> pa.Array:
    """A numpy array of ``tp``'s width as an Arrow array of ``tp`` (null where
    ``valid`` is False), sharing its memory."""
    n = len(data)
    data = np.ascontiguousarray(data)
    if valid is None or valid.all():
        return pa.Array.from_buffers(tp, n, [None, pa.py_buffer(data)])
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(tp, n, [bitmap, pa.py_buffer(data)], null_count=n - int(valid.sum()))


def _strings(values: list) -> pa.Array | None:
    n = len(values)
    kinds = set(map(type, values))
    if not all(issubclass(k, str) or k is type(None) for k in kinds):
        return None
    valid = None
    if type(None) in kinds:
        valid = np.not_equal(np.array(values, object), None)
        values = ["" if v is None else v for v in values]
    joined = "".join(values)
    if joined.isascii():  # a character a byte: the lengths are the strings' own
        return text(joined.encode(), np.fromiter(map(len, values), np.int64, n), valid)
    encoded = [str.encode(v) for v in values]
    return text(b"".join(encoded), np.fromiter(map(len, encoded), np.int64, n), valid)


def text(data: bytes, lengths: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """UTF-8 strings, one after another in ``data``, as a string array (null
    where ``valid`` is False, its length then 0)."""
    n = len(lengths)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] >= 2**31:
        raise OverflowError("strings too long for one string array")
    bitmap, nulls = None, 0
    if valid is not None and not valid.all():
        bitmap, nulls = pa.py_buffer(np.packbits(valid, bitorder="little")), n - int(valid.sum())
    return pa.Array.from_buffers(
        pa.string(), n, [bitmap, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)], null_count=nulls
    )


class Words(dict):
    """Strings to int32 codes, each new one given the next code (None: -1)."""

    def __init__(self) -> None:
        super().__init__({None: -1})

    def __missing__(self, word: str) -> int:
        code = self[word] = len(self) - 1
        return code

    def words(self) -> list[str]:
        """The strings, in code order."""
        return [w for w in self if w is not None]


def _dictionary(values: list) -> pa.Array | None:
    memo = Words()
    codes = np.fromiter(map(memo.__getitem__, values), np.int32, len(values))
    words = memo.words()
    if not all(isinstance(w, str) for w in words):
        return None
    return dictionary(codes, words)


class Coded(NamedTuple):
    """A `STRING` column as int32 codes (-1: null) into a `Words`; what
    `joined` makes one dictionary array of."""

    codes: np.ndarray
    words: Words


def joined(chunks: list, tp: pa.DataType) -> pa.Array:
    """One array of ``tp`` from the pieces of a column, in order: Python
    lists (or tuples), Arrow arrays or `Coded` (one kind for a column)."""
    if all(type(c) is list or type(c) is tuple for c in chunks):
        return column(list(chunks[0]) if len(chunks) == 1 else [v for c in chunks for v in c], tp)
    if all(type(c) is Coded for c in chunks):
        words = chunks[-1].words
        if any(c.words is not words for c in chunks):
            raise ValueError("the pieces of a coded column must share their words")
        codes = chunks[0].codes if len(chunks) == 1 else np.concatenate([c.codes for c in chunks])
        return dictionary(codes, words.words())
    return chunks[0] if len(chunks) == 1 else pa.concat_arrays(chunks)


def dictionary(codes: np.ndarray, words: list[str]) -> pa.Array:
    """A `STRING` array from int32 codes into ``words`` (-1: null), its
    dictionary the words in order of first appearance (what ``pa.array``
    gives, so the Parquet dictionary pages stay the same bytes)."""
    codes = np.asarray(codes, np.intp)  # the index type of `minimum.at` and `take`: cast once
    n = len(codes)
    # each code's first row (n: none), in one pass (`minimum.at` on a 1-d array is a plain loop, where
    # `unique(return_index=True)` sorted the rows); the nulls' -1 goes to the last entry and is not a word
    first = np.full(len(words) + 1, n, np.intp)
    np.minimum.at(first, codes, np.arange(n))
    used = np.flatnonzero(first[:-1] < n)
    by_appearance = used[np.argsort(first[used], kind="stable")]
    rank = np.zeros(len(words) + 1, np.int32)  # the last entry: a null's index, 0 (masked)
    rank[by_appearance] = np.arange(len(by_appearance), dtype=np.int32)
    valid = codes >= 0
    indices = numbers(np.take(rank, codes), pa.int32(), valid)
    used_words = [words[i] for i in by_appearance.tolist()]
    values = _strings(used_words)
    if values is None:  # not all strings: pa.array says what is wrong
        values = pa.array(used_words, pa.string())
    return pa.DictionaryArray.from_arrays(indices, values, safe=False)  # every index is in range (built so)


def _list(values: list, tp: pa.DataType) -> pa.Array | None:
    if not all(type(v) is list for v in values):
        return None
    n = len(values)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(np.fromiter(map(len, values), np.int64, n), out=offsets[1:])
    flat = [x for v in values for x in v]
    inner = tp.value_type
    if pa.types.is_struct(inner):
        if not all(type(x) is dict for x in flat):
            return None
        children = [column([x.get(f.name) for x in flat], f.type) for f in inner]
        items = pa.StructArray.from_arrays(children, fields=list(inner))
    else:
        items = column(flat, inner)
    return pa.ListArray.from_arrays(numbers(offsets, pa.int32()), items, type=tp)


def _nested(values: list, tp: pa.DataType) -> pa.Array:
    """A list<struct> column whose struct fields may be times given as int ns."""
    inner = tp.value_type
    plain = pa.list_(pa.struct([(f.name, pa.int64() if f.type == TIME else f.type) for f in inner]))
    arr = pa.array(values, plain)
    return arr.cast(tp)


def write(tbl: pa.Table, path: str | Path) -> None:
    """Write one whole table (zstd) to ``path``."""
    pq.write_table(tbl, path, compression="zstd")


def version(path: str | Path) -> int | None:
    """The schema version in a Parquet file's metadata (None: written before versions)."""
    meta = pq.read_schema(path).metadata or {}
    v = meta.get(VERSION_KEY)
    return int(v) if v is not None else None


def numpy_columns(tbl: pa.Table) -> dict[str, np.ndarray]:
    """A table as numpy columns: numbers as numbers (NaN for nulls), times as
    int64 ns (float with NaN for nulls), dates as ``datetime64[D]``,
    strings and the rest as object arrays."""
    out = {}
    for name in tbl.column_names:
        col = tbl.column(name)
        t = col.type
        if pa.types.is_timestamp(t):  # whatever unit it was written in, as ns like the engine's clock
            col, t = col.cast(pa.timestamp("ns", tz=t.tz)).cast(pa.int64()), pa.int64()
        if pa.types.is_dictionary(t):
            col = col.cast(t.value_type)
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            out[name] = col.to_numpy(zero_copy_only=False).astype(float) if col.null_count else col.to_numpy()
        elif pa.types.is_date32(t):
            out[name] = np.array(col.cast(pa.int32()).to_numpy(zero_copy_only=False), dtype="datetime64[D]")
        else:
            out[name] = np.array(col.to_pylist(), dtype=object)
    return out
