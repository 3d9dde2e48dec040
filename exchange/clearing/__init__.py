"""Clearing: accounts, positions, margin, daily and final settlement, defaults.

- `house`: the `ClearingHouse` and its `ClearingConfig`.
- `settlement`: the tiered daily settlement price and rounding rules.
- `margin`: scanning range, spread credit, maintenance.
- `accounts`: `Account`, `Position` (FIFO P&L).
- `waterfall`: the `GuaranteeFund`.
- `tables`: Parquet output.
"""

from exchange.clearing.accounts import Account, Position
from exchange.clearing.house import ClearingConfig, ClearingHouse
from exchange.clearing.records import AccountStatement, Fixing, PositionStatement
from exchange.clearing.settlement import SeriesSpec, settlement_price, tick_value
from exchange.clearing.tables import write_tables
from exchange.clearing.waterfall import GuaranteeFund

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
