"""The clearing house's Parquet tables: fixings, settlement prices (with
tier), account and position statements, margin calls, defaults, perpetual
funding payments and mark prices.

Columns follow the record Structs' fields, named and typed by the run
tables' convention (`cfx.tables`): ``ts`` becomes ``time``
(``timestamp[ns, UTC]``), a field with a unit gets it as a suffix
(`UNITS`: ``collateral`` -> ``collateral_usd_micro``, ``price`` ->
``price_ticks``), strings and enums are dictionary-encoded, and event
tables get a ``type`` column (e.g. MarginCallIssued / MarginCallMet).
Fixings have the one schema of every fixings file (`FIXINGS_SCHEMA`, as
`cfx index` writes them). Every table is written, empty or not, with its
schema.
"""

from __future__ import annotations

import datetime as dt
import enum
import typing
from collections.abc import Mapping
from pathlib import Path

import msgspec
import pyarrow as pa

from cfx import tables
from cfx.clearing.records import AccountStatement, PositionStatement
from cfx.tables import STRING, TIME
from cfx.types import (
    AccountDefaulted,
    DefaultLossCovered,
    FundingPaid,
    MarginCallIssued,
    MarginCallMet,
    MarkPriceUpdated,
    SettlementPrice,
)

MICRO = 1_000_000
_MONEY = (
    "collateral",
    "initial_margin",
    "maintenance_margin",
    "variation_margin",
    "fees",
    "fees_total",
    "realized_pnl",
    "unrealized_pnl",
    "call_amount",
    "amount",
    "equity",
    "maintenance",
    "initial",
    "loss",
    "from_collateral",
    "from_own_contribution",
    "from_fund",
    "from_house",
    "uncovered",
    "from_insurance",
)
UNITS: dict[str, str] = {
    **{f: f"{f}_usd_micro" for f in _MONEY},
    "ts": "time",
    "price": "price_ticks",
    "settlement_price": "settlement_price_ticks",
    "mark": "mark_ticks",
    "position": "position_lots",
    "rate": "rate_1e8",
    "index": "index_ticks",
    "premium": "premium_1e8",
}
FIXINGS_SCHEMA = tables.schema(
    "fixings",
    [
        ("date", pa.date32()),
        ("index", STRING),
        ("value_usd_micro", pa.int64()),
        ("value_usd", pa.float64()),
        ("contributors", pa.int64()),
        ("flag", STRING),
    ],
)


def _arrow_type(tp: object) -> pa.DataType:
    if tp is bool:
        return pa.bool_()
    if tp is int:
        return pa.int64()
    if tp is str or (isinstance(tp, type) and issubclass(tp, enum.Enum)):
        return STRING
    if tp is dt.date:
        return pa.date32()
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(args) == 1:
        return _arrow_type(args[0])
    raise TypeError(f"no Arrow type for {tp!r}")


def _fields(*types: type) -> dict[str, tuple[str, pa.DataType]]:
    """Field -> (column, type) over the Structs' fields, in first-seen order;
    a ``type`` column first when there is more than one Struct."""
    fields: dict[str, tuple[str, pa.DataType]] = {"type": ("type", STRING)} if len(types) > 1 else {}
    for t in types:
        for name, tp in typing.get_type_hints(t).items():
            fields.setdefault(name, (UNITS.get(name, name), TIME if name == "ts" else _arrow_type(tp)))
    return fields


def _table(name: str, rows: list, *types: type) -> pa.Table:
    fields = _fields(*types)
    schema = tables.schema(name, fields.values())
    cols: dict[str, list] = {column: [] for column, _ in fields.values()}
    for r in rows:
        d = msgspec.structs.asdict(r)
        d["type"] = type(r).__name__
        for field, (column, _) in fields.items():
            v = d.get(field)
            cols[column].append(v.value if isinstance(v, enum.Enum) else v)
    return tables.table(cols, schema)


def fixings_table(rows: list[tuple[dt.date, str, int | None, int, str]]) -> pa.Table:
    """Fixings ``(date, index, value micro-$, contributors, flag)`` as the one
    fixings schema (`FIXINGS_SCHEMA`), sorted by date then index."""
    rows = sorted(rows, key=lambda r: (r[0], r[1]))
    return tables.table(
        {
            "date": [r[0] for r in rows],
            "index": [r[1] for r in rows],
            "value_usd_micro": [r[2] for r in rows],
            "value_usd": [None if r[2] is None else r[2] / MICRO for r in rows],
            "contributors": [r[3] for r in rows],
            "flag": [r[4] for r in rows],
        },
        FIXINGS_SCHEMA,
    )


def write_tables(house, out_dir: str | Path, quality: Mapping | None = None) -> dict[str, Path]:
    """Write every clearing table as ``out_dir/<name>.parquet``; returns the
    paths by name. ``quality``: index name -> date -> (contributors, flag)
    of the fixings, from the index build (contributors 0 and flag ``ok``
    where it has none)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    quality = quality or {}
    fixings = [(f.date, f.index, f.value, *quality.get(f.index, {}).get(f.date, (0, "ok"))) for f in house.fixings]
    written = {
        "fixings": fixings_table(fixings),
        "settlements": _table("settlements", house.settlements, SettlementPrice),
        "accounts": _table("accounts", house.statements, AccountStatement),
        "positions": _table("positions", house.positions, PositionStatement),
        "margin_calls": _table("margin_calls", house.calls, MarginCallIssued, MarginCallMet),
        "defaults": _table("defaults", house.defaults, AccountDefaulted, DefaultLossCovered),
        "funding": _table("funding", house.funding, FundingPaid),
        "marks": _table("marks", house.marks, MarkPriceUpdated),
    }
    paths = {}
    for name, tbl in written.items():
        paths[name] = out / f"{name}.parquet"
        tables.write(tbl, paths[name])
    return paths
