"""A run's output files, written as the run goes so memory stays bounded.

- ``journal``: every venue command, one JSON line, written before it is applied;
- ``events.parquet``: every event (common columns typed, the full event as JSON);
- ``trades.parquet``, ``book_top.parquet`` (L1 snapshots);
- the clearing tables (``fixings``, ``settlements``, ``accounts``, ...) at the end;
- ``summary.json``.

The run hash is sha256 over the event log (each event as its JSON line, in
order), so `cfx replay RUN/journal` can show it reproduces the run.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from cfx.journal import EventHash, Journal
from cfx.types import Trade, encoder

EVENT_COLUMNS = ("seq", "cmd", "ts", "type", "series", "order_id", "account", "side", "price", "qty", "reason")
EVENT_SCHEMA = pa.schema([
    ("seq", pa.int64()), ("cmd", pa.int64()), ("ts", pa.int64()), ("type", pa.string()),
    ("series", pa.string()), ("order_id", pa.int64()), ("account", pa.int64()), ("side", pa.string()),
    ("price", pa.int64()), ("qty", pa.int64()), ("reason", pa.string()), ("event", pa.string()),
])
TRADE_SCHEMA = pa.schema([
    ("seq", pa.int64()), ("ts", pa.int64()), ("series", pa.string()), ("price", pa.int64()), ("qty", pa.int64()),
    ("maker_id", pa.int64()), ("taker_id", pa.int64()), ("maker_account", pa.int64()),
    ("taker_account", pa.int64()), ("aggressor", pa.string()),
])
BOOK_TOP_SCHEMA = pa.schema([
    ("ts", pa.int64()), ("series", pa.string()), ("bid", pa.int64()), ("bid_qty", pa.int64()),
    ("ask", pa.int64()), ("ask_qty", pa.int64()), ("last", pa.int64()),
])
FLUSH_ROWS = 200_000
BATCH_EVENTS = 20_000


class _TableWriter:
    """Rows in, Parquet out in row groups of `FLUSH_ROWS`."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self._columns: dict[str, list] = {name: [] for name in schema.names}
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")
        self.rows = 0

    def extend(self, columns: dict[str, list]) -> None:
        for name, values in columns.items():
            self._columns[name].extend(values)
        if len(self._columns[self.schema.names[0]]) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        n = len(self._columns[self.schema.names[0]])
        if not n:
            return
        self._writer.write_table(pa.table(self._columns, schema=self.schema))
        self.rows += n
        self._columns = {name: [] for name in self.schema.names}

    def close(self) -> None:
        self.flush()
        self._writer.close()


class RunWriter:
    """Everything a run writes while it runs."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.journal = Journal(out / "journal")
        self.hash = EventHash()
        self.events = _TableWriter(out / "events.parquet", EVENT_SCHEMA)
        self.trades = _TableWriter(out / "trades.parquet", TRADE_SCHEMA)
        self.book_top = _TableWriter(out / "book_top.parquet", BOOK_TOP_SCHEMA)
        self.event_count = 0
        self._pending: list = []

    def write_events(self, events: list) -> None:
        """Hash and table events (engine and clearing), in batches."""
        pending = self._pending
        pending.extend(events)
        if len(pending) >= BATCH_EVENTS:
            self._write(pending)
            pending.clear()

    def _write(self, events: list) -> None:
        if not events:
            return
        encode = encoder.encode
        lines = [encode(e) for e in events]
        self.hash.update(lines)
        self.event_count += len(events)
        rows = msgspec.to_builtins(events)
        cols = {name: [r.get(name) for r in rows] for name in EVENT_COLUMNS}
        cols["type"] = [type(e).__name__ for e in events]
        cols["event"] = [line.decode() for line in lines]
        self.events.extend(cols)
        trades = [e for e in events if type(e) is Trade]
        if trades:
            self.trades.extend({
                "seq": [t.seq for t in trades], "ts": [t.ts for t in trades], "series": [t.series for t in trades],
                "price": [t.price for t in trades], "qty": [t.qty for t in trades],
                "maker_id": [t.maker_id for t in trades], "taker_id": [t.taker_id for t in trades],
                "maker_account": [t.maker_account for t in trades],
                "taker_account": [t.taker_account for t in trades],
                "aggressor": [str(t.aggressor) for t in trades],
            })

    def write_book_top(self, rows: list[tuple]) -> None:
        if rows:
            self.book_top.extend({name: [r[i] for r in rows] for i, name in enumerate(BOOK_TOP_SCHEMA.names)})

    def close(self) -> None:
        self._write(self._pending)
        self._pending.clear()
        self.journal.close()
        for t in (self.events, self.trades, self.book_top):
            t.close()
