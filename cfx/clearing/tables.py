"""The clearing house's Parquet tables: fixings, settlement prices (with
tier), account and position statements, margin calls, defaults, perpetual
funding payments.

Columns follow the record Structs' fields; enums are written as strings and
event tables get a ``type`` column (e.g. MarginCallIssued / MarginCallMet).
Every table is written, empty or not, with its schema.
"""

from __future__ import annotations

import datetime as dt
import enum
import typing
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from cfx.clearing.records import AccountStatement, Fixing, PositionStatement
from cfx.types import (
    AccountDefaulted,
    DefaultLossCovered,
    FundingPaid,
    MarginCallIssued,
    MarginCallMet,
    SettlementPrice,
)


def _arrow_type(tp: object) -> pa.DataType:
    if tp is bool:
        return pa.bool_()
    if tp is int:
        return pa.int64()
    if tp is str or (isinstance(tp, type) and issubclass(tp, enum.Enum)):
        return pa.string()
    if tp is dt.date:
        return pa.date32()
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(args) == 1:
        return _arrow_type(args[0])
    raise TypeError(f"no Arrow type for {tp!r}")


def _schema(*types: type) -> pa.Schema:
    """The union of the Structs' fields, in first-seen order; a ``type``
    column first when there is more than one Struct."""
    fields: dict[str, pa.DataType] = {"type": pa.string()} if len(types) > 1 else {}
    for t in types:
        for name, tp in typing.get_type_hints(t).items():
            fields.setdefault(name, _arrow_type(tp))
    return pa.schema(list(fields.items()))


def _table(rows: list, *types: type) -> pa.Table:
    schema = _schema(*types)
    cols: dict[str, list] = {name: [] for name in schema.names}
    for r in rows:
        d = msgspec.structs.asdict(r)
        if "type" in cols:
            d["type"] = type(r).__name__
        for name, col in cols.items():
            v = d.get(name)
            col.append(v.value if isinstance(v, enum.Enum) else v)
    return pa.table(cols, schema=schema)


def write_tables(house, out_dir: str | Path) -> dict[str, Path]:
    """Write every clearing table as ``out_dir/<name>.parquet``; returns the paths by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = {
        "fixings": _table(house.fixings, Fixing),
        "settlements": _table(house.settlements, SettlementPrice),
        "accounts": _table(house.statements, AccountStatement),
        "positions": _table(house.positions, PositionStatement),
        "margin_calls": _table(house.calls, MarginCallIssued, MarginCallMet),
        "defaults": _table(house.defaults, AccountDefaulted, DefaultLossCovered),
        "funding": _table(house.funding, FundingPaid),
    }
    paths = {}
    for name, table in tables.items():
        paths[name] = out / f"{name}.parquet"
        pq.write_table(table, paths[name])
    return paths
