"""A run's output files, written as the run goes so memory stays bounded,
and so that a crash leaves only whole files.

- ``journal``: every venue command, verified record by record, written
  before it is applied (`cfx.journal`);
- ``events.parquet``: every event (common columns typed, the full event as JSON);
- ``trades.parquet``, ``book_top.parquet`` (L1 snapshots);
- the clearing tables (``fixings``, ``settlements``, ``accounts``, ...) at the end;
- ``summary.json``.

While the run goes, the three growing tables are written one part file per
day into ``.parts/`` (each closed, and renamed into place, at the end of its
day, so a killed run keeps every finished day readable); at the end the
parts are joined into the final files, each written to a temporary file
and renamed. The run hash is sha256 over the event log (each event as its
JSON line, in order), so `cfx replay RUN/journal` can show it reproduces
the run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from cfx.journal import EventHash, Journal, Position
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
PARTS = ".parts"
TABLES = {"events": EVENT_SCHEMA, "trades": TRADE_SCHEMA, "book_top": BOOK_TOP_SCHEMA}


class _TableWriter:
    """Rows in, Parquet out in row groups of `FLUSH_ROWS`; one part file per
    `end_part`, opened on its first rows, written as ``.tmp`` and renamed
    when closed."""

    def __init__(self, folder: Path, name: str, schema: pa.Schema, part: int = 0) -> None:
        self.folder = folder
        self.name = name
        self.schema = schema
        self.part = part
        self._columns: dict[str, list] = {n: [] for n in schema.names}
        self._writer: pq.ParquetWriter | None = None
        self._tmp: Path | None = None
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
        if self._writer is None:
            self._tmp = self.folder / f"{self.name}-{self.part:05d}.parquet.tmp"
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression="zstd")
        self._writer.write_table(pa.table(self._columns, schema=self.schema))
        self.rows += n
        self._columns = {name: [] for name in self.schema.names}

    def end_part(self) -> None:
        """Close this part's file (if it has rows) and start the next."""
        self.flush()
        if self._writer is not None:
            self._writer.close()
            os.replace(self._tmp, self._tmp.with_suffix(""))
            self._writer = None
        self.part += 1


def part_files(folder: Path, name: str, parts: int | None = None) -> list[Path]:
    """The finished part files of table ``name``, in order (the first ``parts`` only)."""
    files = []
    for f in folder.glob(f"{name}-*.parquet"):
        n = f.name[len(name) + 1:-len(".parquet")]
        if n.isdigit() and (parts is None or int(n) < parts):
            files.append((int(n), f))
    return [f for _, f in sorted(files)]


def join_parts(files: list[Path], schema: pa.Schema, path: Path) -> None:
    """One Parquet file from part files, row group by row group (bounded
    memory), written as ``.tmp`` and renamed."""
    tmp = path.with_name(path.name + ".tmp")
    with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
        for f in files:
            pf = pq.ParquetFile(f)
            for i in range(pf.num_row_groups):
                w.write_table(pf.read_row_group(i))
    os.replace(tmp, path)


class RunWriter:
    """Everything a run writes while it runs. ``resume``: continue the
    parts and journal of a killed run from its checkpoint (``parts``
    finished days, journal at ``position``); the event hash and count are
    rebuilt from the finished parts."""

    def __init__(self, out: Path, *, parts: int = 0, position: Position | None = None) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.parts_dir = out / PARTS
        self.hash = EventHash()
        self.event_count = 0
        if position is None:
            shutil.rmtree(self.parts_dir, ignore_errors=True)
        self.parts_dir.mkdir(exist_ok=True)
        for f in self.parts_dir.glob("*.tmp"):
            f.unlink()  # a part a crash left unfinished
        for name in TABLES:
            for f in part_files(self.parts_dir, name):
                if f not in part_files(self.parts_dir, name, parts):
                    f.unlink()  # a day after the checkpoint: it runs again
        if position is not None:
            for f in part_files(self.parts_dir, "events", parts):
                column = pq.read_table(f, columns=["event"]).column("event")
                self.event_count += len(column)
                self.hash.update([v.encode() for v in column.to_pylist()])
        self.journal = Journal(out / "journal", resume=position)
        self.events = _TableWriter(self.parts_dir, "events", EVENT_SCHEMA, parts)
        self.trades = _TableWriter(self.parts_dir, "trades", TRADE_SCHEMA, parts)
        self.book_top = _TableWriter(self.parts_dir, "book_top", BOOK_TOP_SCHEMA, parts)
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

    def end_part(self) -> int:
        """End of a day: the day's part files closed and the journal synced;
        returns the number of finished parts."""
        self._write(self._pending)
        self._pending.clear()
        for t in (self.events, self.trades, self.book_top):
            t.end_part()
        self.journal.sync()
        return self.events.part

    def close(self) -> None:
        """The run is done: the journal gets its end line, the parts become
        the final tables."""
        self.end_part()
        self.journal.close()
        for name, schema in TABLES.items():
            join_parts(part_files(self.parts_dir, name), schema, self.out / f"{name}.parquet")

    def cleanup(self) -> None:
        """Remove the day parts (once everything else of the run is written)."""
        shutil.rmtree(self.parts_dir, ignore_errors=True)

    def abandon(self) -> None:
        """The run failed: close files without finishing them."""
        self.journal.abandon()
