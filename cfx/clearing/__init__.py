"""Clearing: accounts, positions, margin, daily and final settlement, defaults.

- `house`: the `ClearingHouse`; `intraday` its per-message methods (each
  engine event, the credit check), compiled twin `_clearing` (Cython).
- `config`: its `ClearingConfig` (the scenario's `[clearing]` table).
- `settlement`: the tiered daily settlement price and rounding rules.
- `margin`: scanning range, spread credit, maintenance.
- `accounts`: `Account`, `Position` (FIFO P&L).
- `waterfall`: the `GuaranteeFund`.
- `tables`: Parquet output (pyarrow), imported on first use so that a
  replay, which never writes tables, does not load it.
"""

from typing import Any

from cfx.clearing.accounts import Account, Position
from cfx.clearing.config import ClearingConfig
from cfx.clearing.house import ClearingHouse
from cfx.clearing.records import AccountStatement, Fixing, PositionStatement
from cfx.clearing.settlement import SeriesSpec, settlement_price, tick_value
from cfx.clearing.waterfall import GuaranteeFund

__all__ = [
    "Account",
    "AccountStatement",
    "ClearingConfig",
    "ClearingHouse",
    "Fixing",
    "GuaranteeFund",
    "Position",
    "PositionStatement",
    "SeriesSpec",
    "settlement_price",
    "tick_value",
    "write_tables",
]


def __getattr__(name: str) -> Any:
    if name == "write_tables":
        from cfx.clearing.tables import write_tables

        return write_tables
    raise AttributeError(f"module 'cfx.clearing' has no attribute {name!r}")
