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
from typing import Iterable

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


def table(columns: dict[str, list], sch: pa.Schema) -> pa.Table:
    """Python lists (times as int ns, strings as str) as a table of ``sch``."""
    arrays = []
    for f in sch:
        values = columns[f.name]
        if f.type == TIME:
            arrays.append(pa.array(values, pa.int64()).cast(TIME))
        elif pa.types.is_list(f.type) and pa.types.is_struct(f.type.value_type):
            arrays.append(_nested(values, f.type))
        else:
            arrays.append(pa.array(values, f.type))
    return pa.Table.from_arrays(arrays, schema=sch)


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
