"""A run's output files, written as the run goes so memory stays bounded,
and so that a crash leaves only whole files.

- ``journal``: every venue command, verified record by record, written
  before it is applied (`cfx.journal`); none with ``[output] journal = false``;
- ``events.parquet``: every event, its common fields as typed columns and
  the rest of it as a JSON object (``details``); only with
  ``[output] events = "full"``;
- ``trades.parquet`` (not with ``events = "none"``), ``book_top.parquet`` (L1 snapshots);
- the clearing tables (``fixings``, ``settlements``, ``accounts``, ...) at the end;
- ``summary.json``.

While the run goes, the three growing tables are written one part file per
day into ``.parts/`` (Arrow IPC streams, each closed, and renamed into place, at the end of its
day, so a killed run keeps every finished day readable). Each finished part is
also appended to its table's final Parquet file, a temporary file in ``.parts/``
(`_Joiner`); when the run ends the files get their footers and are renamed
into place. The parts stay the run's record until then: a resumed run
builds the temporary files again from them.

The file work is done on one background thread (`_Background`), in the
order the simulation asks for it: a batch of rows written to its part,
a day's parts closed, renamed, hashed and joined, the journal fsynced,
then the day's checkpoint (`cfx.sim.checkpoint`). The simulation builds
the rows and goes on; pyarrow, hashlib and fsync release the GIL, so the
work overlaps it on a second core. The order is what makes a crash safe:
a checkpoint is written only after the parts and journal it names are
on disk, as before, and a killed run resumes from the last one written.

The events table's columns are built a batch of events at a time
(`_EventLayouts`): in one compiled pass (`cfx.sim._eventcols`) when it
is built, unless ``CFX_ENGINE=python``; else by the Python reference it
is held to (tests/test_outputs.py). The same columns either way.

The run hash is sha256 over the event log (each event as its JSON line, in
order), whatever the tables keep, so `cfx replay RUN/journal` can show it
reproduces the run. Column types and units follow `cfx.tables`
(docs/outputs.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain
from pathlib import Path
from typing import Any, Callable

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from msgspec.structs import astuple

from cfx import tables
from cfx.errors import InputError
from cfx.journal import EventHash, Journal, Position, read_upto
from cfx.tables import STRING, TIME
from cfx.types import Event, Trade, encoder
from cfx.venue import Venue, command_decoder

EVENT_COLUMNS = ("seq", "cmd", "ts", "series", "order_id", "account", "side", "price", "qty", "reason")
EVENT_SCHEMA = tables.schema(
    "events",
    [
        ("seq", pa.int64()),
        ("cmd", pa.int64()),
        ("time", TIME),
        ("type", STRING),
        ("series", STRING),
        ("order_id", pa.int64()),
        ("account", pa.int64()),
        ("side", STRING),
        ("price_ticks", pa.int64()),
        ("qty_lots", pa.int64()),
        ("reason", STRING),
        ("details", pa.string()),
    ],
)
TRADE_SCHEMA = tables.schema(
    "trades",
    [
        ("seq", pa.int64()),
        ("time", TIME),
        ("series", STRING),
        ("price_ticks", pa.int64()),
        ("qty_lots", pa.int64()),
        ("maker_id", pa.int64()),
        ("taker_id", pa.int64()),
        ("maker_account", pa.int64()),
        ("taker_account", pa.int64()),
        ("aggressor", STRING),
    ],
)
BOOK_TOP_SCHEMA = tables.schema(
    "book_top",
    [
        ("time", TIME),
        ("series", STRING),
        ("bid_ticks", pa.int64()),
        ("bid_qty_lots", pa.int64()),
        ("ask_ticks", pa.int64()),
        ("ask_qty_lots", pa.int64()),
        ("last_ticks", pa.int64()),
    ],
)
FLUSH_ROWS = 200_000
BATCH_EVENTS = 20_000
PARTS = ".parts"
PART_SUFFIX = ".arrows"  # an Arrow IPC stream
PART_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")
TABLES = {"events": EVENT_SCHEMA, "trades": TRADE_SCHEMA, "book_top": BOOK_TOP_SCHEMA}


class _Background:
    """One thread that does a run's file work in the order it is asked
    for (`run`), while the simulation goes on. A task that fails raises at
    the next `run` or `check`, and nothing queued after it runs."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []
        self._failed = False

    def run(self, fn: Callable[..., None], *args: Any) -> None:
        """Call ``fn(*args)`` on the thread, after everything asked before."""
        self.check(wait=False)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="cfx-files")
        self._pending.append(self._pool.submit(self._guarded, fn, args))

    def _guarded(self, fn: Callable[..., None], args: tuple) -> None:
        if self._failed:
            return
        try:
            fn(*args)
        except BaseException:
            self._failed = True
            raise

    def check(self, wait: bool) -> None:
        """Raise the error of a finished task (of any, once all are done, if ``wait``)."""
        pending = self._pending
        while pending and (wait or pending[0].done()):
            pending.pop(0).result()

    def stop(self) -> None:
        """Let what is queued finish (a failed task's successors are skipped), and end the thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._pending.clear()


class _TableWriter:
    """Rows in, Arrow batches of at most `FLUSH_ROWS` out (each becomes a
    row group of the final Parquet file, `_Joiner`); one part file per
    day, opened on its first rows, written as ``.tmp`` and renamed
    when closed. Parts are an Arrow IPC stream, not Parquet: written and
    read back at almost no cost, where Parquet would encode every part
    twice (once here, once when joined). The rows are gathered and made a
    batch here; the part file is written on the background thread
    (``background``: `write_batch`, `close_part`)."""

    def __init__(self, folder: Path, name: str, schema: pa.Schema, part: int, background: _Background) -> None:
        self.folder = folder
        self.name = name
        self.schema = schema
        self.part = part
        self._background = background
        self._chunks: dict[str, list] = {n: [] for n in schema.names}
        self._pending = 0  # rows in the chunks
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None  # the background thread's
        self._tmp: Path | None = None

    def extend(self, columns: dict[str, list | pa.Array | tables.Coded]) -> None:
        """Rows, a piece of each column: Python lists, Arrow arrays of the
        column's type or `tables.Coded` (one kind a column)."""
        for name, values in columns.items():
            self._chunks[name].append(values)
        first = columns[self.schema.names[0]]
        self._pending += len(first.codes if type(first) is tables.Coded else first)
        if self._pending >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        n = self._pending
        if not n:
            return
        arrays = [tables.joined(self._chunks[f.name], f.type) for f in self.schema]
        self._background.run(self.write_batch, pa.Table.from_arrays(arrays, schema=self.schema), self.part)
        self._pending = 0
        self._chunks = {name: [] for name in self.schema.names}

    def end_part(self) -> None:
        """The day's rows are all in; the next rows start the next part
        (its file closed by `close_part`, on the background thread)."""
        self.flush()
        self.part += 1

    def write_batch(self, batch: pa.Table, part: int) -> None:
        """(Background thread.) ``batch`` appended to part ``part``'s file, opened if need be."""
        if self._writer is None:
            self._tmp = self.folder / f"{self.name}-{part:05d}{PART_SUFFIX}.tmp"
            self._writer = pa.ipc.new_stream(self._tmp, self.schema, options=PART_OPTIONS)
        self._writer.write_table(batch)

    def close_part(self) -> Path | None:
        """(Background thread.) Close the open part's file and rename it into
        place; returns it (None: the part had no rows)."""
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        done = self._tmp.with_suffix("")
        os.replace(self._tmp, done)
        return done

    def abandon(self) -> None:
        """Close the open part's file as it is, a ``.tmp`` a resumed run removes (the background thread stopped)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):  # the run's own error is the one to report
                self._writer.close()
            self._writer = None


def part_files(folder: Path, name: str, parts: int | None = None) -> list[Path]:
    """The finished part files of table ``name``, in order (the first ``parts`` only)."""
    files = []
    for f in folder.glob(f"{name}-*{PART_SUFFIX}"):
        n = f.name[len(name) + 1 : -len(PART_SUFFIX)]
        if n.isdigit() and (parts is None or int(n) < parts):
            files.append((int(n), f))
    return [f for _, f in sorted(files)]


def digest(path: Path) -> str:
    """The sha256 of a finished part file (hex)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_parts(folder: Path, parts: int, digests: dict[str, str]) -> dict[str, str]:
    """Refuse to resume from day parts that are not the ones the checkpoint
    recorded (``digests``: file name -> sha256): a part deleted, cut short
    or changed since would leave its day out of the run's tables, or fail
    half-way. Returns ``digests``."""
    for name in TABLES:
        for f in part_files(folder, name, parts):
            if f.name not in digests:
                raise InputError(f"{f}: a day part the checkpoint does not know; the run cannot be resumed")
    for name, expected in sorted(digests.items()):
        f = folder / name
        if not f.is_file():
            raise InputError(f"{f}: missing, so its day's rows are lost; the run cannot be resumed (run it again)")
        if digest(f) != expected:
            raise InputError(f"{f}: changed since the checkpoint; the run cannot be resumed (run it again)")
    return digests


def _append(w: pq.ParquetWriter, part: Path) -> None:
    """Each batch of the part file ``part`` as a row group of ``w``."""
    with pa.memory_map(str(part)) as src:
        for batch in pa.ipc.open_stream(src):
            w.write_table(pa.Table.from_batches([batch]))


class _Joiner:
    """The final Parquet files of a run's tables (zstd, a row group a part
    batch), built as the run goes: each finished day part is appended to its
    table's file, a ``.tmp`` in the parts folder, in the order the parts
    were finished, on the background thread (pyarrow releases the GIL while
    it reads and encodes, so this overlaps the simulation on a second
    core). `finish` writes the footers and renames the files into place:
    the bytes joining all the parts at the end would give."""

    def __init__(self, folder: Path, schemas: dict[str, pa.Schema]) -> None:
        self.schemas = schemas
        self.tmp = {name: folder / f"{name}.parquet.tmp" for name in schemas}
        self._writers: dict[str, pq.ParquetWriter] = {}  # opened on a table's first part

    def append(self, name: str, part: Path) -> None:
        """(Background thread.) Append the finished part file ``part`` to table ``name``."""
        w = self._writers.get(name)
        if w is None:
            w = self._writers[name] = self._open(name)
        _append(w, part)

    def _open(self, name: str) -> pq.ParquetWriter:
        return pq.ParquetWriter(self.tmp[name], self.schemas[name], compression="zstd")

    def finish(self, paths: dict[str, Path]) -> None:
        """Every table's file complete, at ``paths[name]`` (once the thread is done)."""
        for name, path in paths.items():
            w = self._writers.pop(name, None) or self._open(name)  # no part: the schema alone
            w.close()
            os.replace(self.tmp[name], path)

    def stop(self) -> None:
        """No more appends (the run failed): the files open are closed as they are."""
        for w in self._writers.values():
            with contextlib.suppress(Exception):  # the run's own error is the one to report
                w.close()
        self._writers.clear()


class NoJournal:
    """The journal of a run with ``[output] journal = false``: nothing is
    written (so the run can be neither replayed nor resumed)."""

    path = None
    count = 0

    def write(self, cmd: object) -> None:
        pass

    def position(self) -> Position:
        return Position(0, b"", 0)

    def sync(self) -> None:
        pass

    def synced(self) -> Callable[[], None]:
        return self.sync

    def close(self) -> None:
        pass

    def abandon(self) -> None:
        pass


_TRADE_FIELDS = tuple("seq ts series price qty maker_id taker_id maker_account taker_account aggressor".split())
"""The Trade fields TRADE_SCHEMA's columns hold, in the schema's order."""
_TRADE_WORDS = frozenset(("series", "aggressor"))
"""The Trade fields that are `STRING` columns (the aggressor a `Side`: its value)."""
_TYPED = ("seq", "cmd", "time", "series", "order_id", "account", "side", "price_ticks", "qty_lots", "reason")
"""The events table's typed columns, in `EVENT_COLUMNS` order (the fields renamed as the schema names them)."""
_WORDS = frozenset(("series", "side", "reason"))
"""The typed columns that are strings (`STRING`); the rest are int64."""


class _Layout(msgspec.Struct, gc=False):
    """How one event type fills the events table: ``width`` fields;
    ``present`` (indexes into `EVENT_COLUMNS`) are the typed columns it
    has, ``typed`` where each is among its fields; ``extra`` where its
    other fields are, and
    ``details`` (a Struct of just those fields) encodes them as the
    ``details`` object, None when it has none."""

    name: str
    width: int
    present: tuple[int, ...]
    typed: tuple[int, ...]
    extra: tuple[int, ...]
    details: type | None


def _layout(tp: type) -> _Layout:
    fields = tp.__struct_fields__
    present = tuple(i for i, c in enumerate(EVENT_COLUMNS) if c in fields)
    typed = tuple(fields.index(EVENT_COLUMNS[i]) for i in present)
    extra = tuple(f for f in fields if f not in EVENT_COLUMNS)
    details = msgspec.defstruct(f"{tp.__name__}Details", [(f, Any) for f in extra], gc=False) if extra else None
    return _Layout(tp.__name__, len(fields), present, typed, tuple(map(fields.index, extra)), details)


class _Codes(dict):
    """Event type -> its index in ``layouts``; a new type gets its `_Layout`
    appended on first sight (one pass over a batch's types, not a set of
    them first)."""

    def __init__(self, layouts: list[_Layout]) -> None:
        super().__init__()
        self.layouts = layouts

    def __missing__(self, tp: type) -> int:
        layout = _layout(tp)  # first: a type that has none (not a Struct) gets no code
        code = self[tp] = len(self.layouts)
        self.layouts.append(layout)
        return code


def eventcols_available() -> bool:
    """Is the compiled events-table builder (`cfx.sim._eventcols`) built
    and allowed (``CFX_NO_EXTENSION`` unset)? Looked for, not imported."""
    return not os.environ.get("CFX_NO_EXTENSION") and importlib.util.find_spec("cfx.sim._eventcols") is not None


class _EventLayouts:
    """Builds the events table's columns for a batch of events: the same
    columns as `msgspec.to_builtins` of each event and a JSON object of its
    other fields would give (tests/test_outputs.py holds them equal), at a
    fraction of the cost, and no Python list a column.

    `_filled` is the reference: the batch grouped by type, each group's
    fields read into one flat list (`msgspec.structs.astuple`, one call an
    event: a third cheaper than a getter a field; no tuple outlives its
    event, so the garbage collector is not woken: ``zip(*rows)`` would keep
    a group's rows alive at once and wake it) and each column sliced from
    it, put into numpy at the events' own positions (an absent column:
    null), the string columns as codes into one `tables.Words`
    (`tables.Coded`), the ``details`` Structs put at their events'
    positions. ``compiled``: `cfx.sim._eventcols.EventColumns.fill` gives
    the same arrays in one pass over the events in order (the reference
    takes any batch it leaves). `_assembled` makes them the table's
    columns, the details encoded in one call."""

    def __init__(self, compiled: bool = False) -> None:
        self._layouts: list[_Layout] = []
        self._code = _Codes(self._layouts)
        self._words = tables.Words()  # every string of the typed string columns, and the type names
        self._fast = None
        if compiled:
            from cfx.sim._eventcols import EventColumns

            self._fast = EventColumns(self._layout_of, self._words, EVENT_COLUMNS, _WORDS)

    def _layout_of(self, tp: type) -> _Layout:
        """The `_Layout` of event type ``tp`` (made on first sight, for both builders)."""
        return self._layouts[self._code[tp]]

    def columns(self, events: list) -> dict[str, pa.Array | tables.Coded]:
        filled = self._fast.fill(events) if self._fast is not None else None
        return self._assembled(*(filled or self._filled(events)))

    def _filled(self, events: list) -> tuple[list, list, np.ndarray, list, np.ndarray]:
        """Each typed column (`EVENT_COLUMNS` order: int64, or int32 codes
        for a string column), its validity (None for a string column: its
        null is code -1), the type name codes, the ``details`` Structs of
        the events that have them (in the events' order) and which those are."""
        n = len(events)
        codes = np.fromiter(map(self._code.__getitem__, map(type, events)), np.int16, n)  # a few dozen types
        order = np.argsort(codes, kind="stable")  # of 16-bit ints: a radix sort, 8x a 64-bit one's speed
        counts = np.bincount(codes)
        grouped = list(map(events.__getitem__, order.tolist()))
        words = self._words
        typed: list[np.ndarray] = [
            np.full(n, -1, np.int32) if c in _WORDS else np.zeros(n, np.int64) for c in EVENT_COLUMNS
        ]
        valid = [None if c in _WORDS else np.zeros(n, bool) for c in EVENT_COLUMNS]  # a string column's null is code -1
        kinds = np.empty(n, np.int32)
        details = np.empty(n, object)  # each event's details Struct, at its position (None: it has none)
        has_details = np.zeros(n, bool)
        start = 0
        for c in np.flatnonzero(counts).tolist():
            layout, k = self._layouts[c], int(counts[c])
            flat = list(chain.from_iterable(map(astuple, grouped[start : start + k])))  # the group's fields, row by row
            width = layout.width
            at = order[start : start + k]  # where the group's events are in the batch
            for i, f in zip(layout.present, layout.typed):
                if EVENT_COLUMNS[i] in _WORDS:  # a string column: codes (None is -1, a null)
                    typed[i][at] = np.fromiter(map(words.__getitem__, flat[f::width]), np.int32, k)
                    continue
                try:
                    typed[i][at] = np.fromiter(flat[f::width], np.int64, k)
                    valid[i][at] = True
                except TypeError:  # an optional field, None in some events
                    typed[i][at], valid[i][at] = tables.with_nulls(flat[f::width], np.int64)
            kinds[at] = words[layout.name]
            if layout.details is not None:
                details[at] = np.fromiter(map(layout.details, *[flat[f::width] for f in layout.extra]), object, k)
                has_details[at] = True
            start += k
        return typed, valid, kinds, details[has_details].tolist(), has_details

    def _assembled(
        self, typed: list, valid: list, kinds: np.ndarray, details: list, has_details: np.ndarray
    ) -> dict[str, pa.Array | tables.Coded]:
        """The columns of `_filled`'s arrays, as `_TableWriter.extend` takes them."""
        words = self._words
        cols: dict[str, pa.Array | tables.Coded] = {}
        for name, c, data, ok in zip(_TYPED, EVENT_COLUMNS, typed, valid):
            cols[name] = (
                tables.Coded(data, words)
                if c in _WORDS
                else tables.numbers(data, TIME if name == "time" else pa.int64(), ok)
            )
        cols["type"] = tables.Coded(kinds, words)
        lines = encoder.encode_lines(details)  # in the events' order
        ends = np.flatnonzero(np.frombuffer(lines, np.uint8) == 10)  # JSON escapes newlines inside strings
        lengths = np.zeros(len(kinds), np.int64)
        lengths[has_details] = np.diff(ends, prepend=-1) - 1
        cols["details"] = tables.text(lines.replace(b"\n", b""), lengths, has_details)
        return cols


class _TradeColumns:
    """Builds the trades table's columns for a batch of events (its
    trades: a subset of the events). `_filled` is the reference: the
    trades' fields read into one flat list (`msgspec.structs.astuple`, as
    `_EventLayouts._filled` does) and each column sliced from it, the
    numbers into int64 rows, the strings as int32 codes into one
    `tables.Words`. ``compiled``: `cfx.sim._eventcols.TypeColumns.fill`
    gives the same arrays in one pass over the batch (the reference takes
    any batch it leaves). `columns` makes them the table's columns."""

    _NUMBERS = tuple(f for f in _TRADE_FIELDS if f not in _TRADE_WORDS)
    _STRINGS = tuple(f for f in _TRADE_FIELDS if f in _TRADE_WORDS)

    def __init__(self, compiled: bool = False) -> None:
        self._words = tables.Words()
        self._fast = None
        if compiled:
            from cfx.sim._eventcols import TypeColumns

            self._fast = TypeColumns(Trade, self._NUMBERS, self._STRINGS, self._words)

    def columns(self, events: list) -> dict[str, pa.Array | tables.Coded] | None:
        """The trades of ``events`` as `_TableWriter.extend` takes them (None: there are none)."""
        filled = self._fast.fill(events) if self._fast is not None else None
        numbers, codes = filled or self._filled(events)
        if not numbers.shape[1]:
            return None
        number_rows, code_rows = iter(numbers), iter(codes)
        cols: dict[str, pa.Array | tables.Coded] = {}
        for f, name in zip(_TRADE_FIELDS, TRADE_SCHEMA.names):
            if f in _TRADE_WORDS:
                cols[name] = tables.Coded(next(code_rows), self._words)
            else:
                cols[name] = tables.numbers(next(number_rows), TRADE_SCHEMA.field(name).type)
        return cols

    def _filled(self, events: list) -> tuple[np.ndarray, np.ndarray]:
        """An int64 row a number field (`_NUMBERS`) and an int32 row of codes
        a string field (`_STRINGS`), a column a trade, in the events' order."""
        trades = [e for e in events if type(e) is Trade]
        k, width = len(trades), len(Trade.__struct_fields__)
        flat = list(chain.from_iterable(map(astuple, trades)))  # their fields, row by row
        at = Trade.__struct_fields__.index
        numbers = np.empty((len(self._NUMBERS), k), np.int64)
        for row, f in zip(numbers, self._NUMBERS):
            row[:] = np.fromiter(flat[at(f) :: width], np.int64, k)
        codes = np.empty((len(self._STRINGS), k), np.int32)
        for row, f in zip(codes, self._STRINGS):
            row[:] = np.fromiter(map(self._words.__getitem__, flat[at(f) :: width]), np.int32, k)
        return numbers, codes


KEPT = {"full": ("events", "trades", "book_top"), "trades-only": ("trades", "book_top"), "none": ("book_top",)}


class RunWriter:
    """Everything a run writes while it runs. ``events``: which event tables
    the run keeps (`KEPT`: ``full``, ``trades-only``, ``none``); the run hash
    and the event count cover every event whatever is kept. ``journal``:
    False writes none. ``resume``: continue the parts and journal of a
    killed run from its checkpoint (``parts`` finished days, journal at
    ``position``); the event hash and count are rebuilt by replaying the
    journal up to that point (`replay_hash`)."""

    def __init__(
        self,
        out: Path,
        *,
        parts: int = 0,
        position: Position | None = None,
        events: str = "full",
        journal: bool = True,
        digests: dict[str, str] | None = None,
    ) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.parts_dir = out / PARTS
        self.kept = KEPT[events]
        self._hash = EventHash()
        self.event_count = 0
        self.digests: dict[str, str] = {}  # finished part file name -> its sha256 (`end_part`)
        if position is None:
            shutil.rmtree(self.parts_dir, ignore_errors=True)
        else:
            self.digests = check_parts(self.parts_dir, parts, digests or {})
        self.parts_dir.mkdir(exist_ok=True)
        for f in self.parts_dir.glob("*.tmp"):
            f.unlink()  # a part a crash left unfinished
        for name in TABLES:
            for f in part_files(self.parts_dir, name):
                if f not in part_files(self.parts_dir, name, parts):
                    f.unlink()  # a day after the checkpoint: it runs again
        if position is not None:
            self._hash, self.event_count = replay_hash(out / "journal", position.count)
        self._background = bg = _Background()
        self.events = _TableWriter(self.parts_dir, "events", EVENT_SCHEMA, parts, bg) if "events" in self.kept else None
        self.trades = _TableWriter(self.parts_dir, "trades", TRADE_SCHEMA, parts, bg)  # the summary reads them
        self.book_top = _TableWriter(self.parts_dir, "book_top", BOOK_TOP_SCHEMA, parts, bg)
        self.part = parts
        self._joiner = _Joiner(self.parts_dir, {t.name: t.schema for t in self._tables()})
        for t in self._tables():  # a resumed run: its finished days again
            for f in part_files(self.parts_dir, t.name, parts):
                bg.run(self._joiner.append, t.name, f)
        self._pending: list = []
        self._book_rows: list[tuple] = []
        compiled = eventcols_available() and os.environ.get("CFX_ENGINE") != "python"
        self._layouts = _EventLayouts(compiled=compiled)
        self._trade_columns = _TradeColumns(compiled=compiled)
        try:  # last: a failure before it leaves no journal open, and its own failure no thread running
            self.journal = Journal(out / "journal", resume=position) if journal else NoJournal()
        except BaseException:
            self._background.stop()
            self._joiner.stop()
            raise

    def write_events(self, events: list) -> None:
        """Hash and table events (engine and clearing), in batches."""
        pending = self._pending
        pending.extend(events)
        if len(pending) >= BATCH_EVENTS:
            self._write(pending)
            pending.clear()

    @property
    def hash(self) -> EventHash:
        """The run hash of the events written so far (once the background thread has fed it them all)."""
        self.wait()
        return self._hash

    def _write(self, events: list) -> None:
        if not events:
            return
        # encoded here, hashed on the background thread (sha256 lets go of the GIL over a batch's bytes)
        self._background.run(self._hash.update, encoder.encode_lines(events))
        self.event_count += len(events)
        if self.events is not None:
            self.events.extend(self._layouts.columns(events))
        trades = self._trade_columns.columns(events)
        if trades is not None:
            self.trades.extend(trades)

    def write_book_top(self, rows: list[tuple]) -> None:
        """L1 snapshot rows (`BOOK_TOP_SCHEMA`'s columns, in order), gathered
        and tabled when the table would flush or the day ends: a row group
        ends where it did when each snapshot was tabled alone."""
        pending = self._book_rows
        pending += rows
        if len(pending) >= FLUSH_ROWS:
            self._table_book_top()

    def _table_book_top(self) -> None:
        rows = self._book_rows
        if rows:
            self.book_top.extend(dict(zip(BOOK_TOP_SCHEMA.names, map(list, zip(*rows)))))
            rows.clear()

    def _tables(self) -> list[_TableWriter]:
        return [t for t in (self.events, self.trades, self.book_top) if t is not None]

    def end_part(self, then: Callable[[int, dict[str, str]], None] | None = None) -> int:
        """End of a day: the day's rows all tabled, and returns the number of
        finished parts. On the background thread, after what it has to do
        already: the day's part files are closed, renamed, hashed and joined,
        the journal fsynced, then ``then(parts, digests)`` is called (the
        checkpoint: every finished part's sha256, a copy)."""
        self._write(self._pending)
        self._pending.clear()
        self._table_book_top()
        for t in self._tables():
            t.end_part()
        self.part += 1
        self._background.run(self._finish_part, self.journal.synced(), self.part, then)
        return self.part

    def _finish_part(self, fsync: Callable[[], None], parts: int, then: Callable | None) -> None:
        """(Background thread.) `end_part`'s file work."""
        for t in self._tables():
            done = t.close_part()
            if done is not None:
                self._joiner.append(t.name, done)
                self.digests[done.name] = digest(done)
        fsync()
        if then is not None:
            then(parts, dict(self.digests))

    def wait(self) -> None:
        """Until the background thread has done what it was asked (raising its error)."""
        self._background.check(wait=True)

    def path(self, name: str) -> Path:
        """Where table ``name`` is once the run is closed: the run directory,
        or the parts folder for a table the run does not keep (the trades
        without events: the summary still reads them)."""
        return self.out / f"{name}.parquet" if name in self.kept else self.parts_dir / f"{name}.parquet"

    def close(self) -> None:
        """The run is done: the journal gets its end line, the parts become
        the final tables."""
        self.end_part()
        try:
            self.wait()
        finally:
            self._background.stop()
        self.journal.close()
        self._joiner.finish({t.name: self.path(t.name) for t in self._tables()})

    def cleanup(self) -> None:
        """Remove the day parts (once everything else of the run is written)."""
        shutil.rmtree(self.parts_dir, ignore_errors=True)

    def abandon(self) -> None:
        """The run failed: what the background thread was asked to do is
        done (unless a task failed), then the files are closed without
        being finished."""
        self._background.stop()
        for t in self._tables():
            t.abandon()
        self._joiner.stop()
        self.journal.abandon()


def replay_hash(journal: Path, count: int) -> tuple[EventHash, int]:
    """The run hash and event count after the first ``count`` commands of
    ``journal``, rebuilt by applying them to a fresh venue (the event log a
    journal reproduces, byte for byte)."""
    venue = Venue()
    digest = EventHash()
    events: list = []
    n = 0
    for cmd in read_upto(journal, count, command_decoder):
        events += venue.apply(cmd)
        if len(events) >= BATCH_EVENTS:
            digest.add(events)
            n += len(events)
            events.clear()
    digest.add(events)
    n += len(events)
    return digest, n


def events_of(table: pa.Table) -> list:
    """The events of an events table (`EVENT_SCHEMA`) as the `Event`
    Structs they were: typed columns and ``details`` put back together.
    What makes the table lossless: encoding them gives the run's event log
    (`cfx replay RUN/journal --events`) line for line."""
    fields = {"time": "ts", "price_ticks": "price", "qty_lots": "qty"}
    typed = [c for c in EVENT_SCHEMA.names if c not in ("type", "details")]
    cols = {
        c: table.column(c).cast(pa.int64() if c == "time" else table.schema.field(c).type).to_pylist() for c in typed
    }
    types = table.column("type").to_pylist()
    details = table.column("details").to_pylist()
    known = {t.__struct_config__.tag: t for t in _event_types()}
    rows = []
    for i, (tp, extra) in enumerate(zip(types, details)):
        own = known[tp].__struct_fields__
        row = {"type": tp}
        for c in typed:
            name = fields.get(c, c)
            if name in own:
                row[name] = cols[c][i]
        if extra is not None:
            row.update(msgspec.json.decode(extra))
        rows.append(row)
    return msgspec.convert(rows, list[Event])


def _event_types() -> tuple[type, ...]:
    import typing

    return typing.get_args(Event)
