"""Rows of the clearing house's daily output tables (not events)."""

from __future__ import annotations

import datetime as dt

import msgspec


class Fixing(msgspec.Struct, gc=False):
    date: dt.date
    index: str
    value: int  # micro-$ per GPU-hour


class AccountStatement(msgspec.Struct, gc=False):
    """One account at one settlement run; money in micro-$. ``equity`` is
    collateral after the day's variation margin."""

    date: dt.date
    account: int
    collateral: int
    initial_margin: int
    maintenance_margin: int
    variation_margin: int
    fees: int  # today's
    fees_total: int
    realized_pnl: int
    unrealized_pnl: int
    call_amount: int  # open margin call, 0 if none
    defaulted: bool


class PositionStatement(msgspec.Struct, gc=False):
    """One account's position in one series at one settlement run."""

    date: dt.date
    account: int
    series: str
    position: int  # signed lots after the run (0 after final settlement)
    settlement_price: int  # ticks
    variation_margin: int
    realized_pnl: int  # since the position was opened, FIFO
    unrealized_pnl: int  # open lots at the settlement price
