"""`CompiledEngine`: the compiled core (cfx/core/_book.pyx) behind the
engine's sequence numbers for one series, fed column batches.

It takes the hot subset only: plain limit (GTC, IOC, FOK) and market orders,
cancels, modifies and self-trade prevention (every mode, per order or as an
account's default), on one series without a session, price band, circuit
breaker or risk gate. Everything else (sessions and auctions, halts, stops,
icebergs, post-only, GTD and DAY orders, mass cancels, bands, the clearing
house's credit check, several series) stays on cfx/engine.py. Its events
are the Python engine's, row for row (cfx/core/rows.py).
"""

from __future__ import annotations

import json
from typing import Iterable

from cfx.core.columns import Columns, Unsupported, from_commands
from cfx.core.rows import to_events
from cfx.types import ListSeries


class CompiledEngine:
    """One listed series on the compiled core. ``cmd_seq`` counts commands
    as `cfx.engine.Engine` does (the listing is command 1)."""

    def __init__(self, rules: ListSeries | str) -> None:
        from cfx.core._book import CompiledBook

        if isinstance(rules, str):
            rules = ListSeries(symbol=rules)
        if rules.band_low is not None or rules.band_high is not None:
            raise Unsupported("a series with a price band is handled by the Python engine")
        self.series = rules.symbol
        self.book = CompiledBook(rules.max_qty, 1, 0)

    @property
    def cmd_seq(self) -> int:
        return self.book.cmd

    def apply_columns(self, cols: Columns, start: int = 0, stop: int | None = None) -> None:
        """Apply rows ``start:stop`` of ``cols``; their events join the row buffer."""
        self.book.apply(*cols.arrays(), start, len(cols) if stop is None else stop)

    def apply_all(self, cmds: Iterable) -> list:
        """Apply engine commands (`Unsupported` if one is outside the core's
        subset) and return their events as Structs (for tests)."""
        self.apply_columns(from_commands(cmds))
        return self.take_events()

    def take_events(self) -> list:
        """The buffered events as Structs, and empty the buffer."""
        rows = self.book.rows()
        events = [] if rows is None else to_events(memoryview(rows).tolist(), self.series)
        self.book.clear()
        return events

    def snapshot(self) -> dict:
        """L3 as plain data, exactly as `cfx.book.OrderBook.snapshot` gives it."""
        book = self.book

        def side(s: int) -> list[dict]:
            return [
                {"price": p, "orders": [{"order_id": o, "account": a, "qty": q} for o, a, q, _ in book.orders_at(s, p)]}
                for p, _, _ in book.levels(s)
            ]

        return {"bids": side(0), "asks": side(1)}

    def state_hash(self) -> str:
        return state_hash(self.snapshot(), self.book.last_price, self.cmd_seq)


def state_hash(snapshot: dict, last_price: int | None, cmd_seq: int) -> str:
    """sha256 of a book's state (its L3 snapshot, last trade price and the
    engine's command count), the same for both engines when they agree."""
    import hashlib  # here: the compiled replay never asks, and hashlib loads libcrypto (see cfx/sha.py)

    doc = {"book": snapshot, "last_price": last_price, "cmd_seq": cmd_seq}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def python_state_hash(engine, series: str) -> str:
    """`state_hash` of a series on the pure-Python `cfx.engine.Engine`."""
    book = engine.book(series)
    return state_hash(book.snapshot(), book.last_price, engine.cmd_seq)
