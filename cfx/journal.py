"""The journal: every command the venue receives, written before the
command is applied (LMAX-style), verifiable record by record. Replaying a
journal through a fresh venue reproduces the event log byte for byte.

Format (text, one record a line)::

    cfx-journal 1
    1 5d0c...e1 {"type":"ConfigureClearing",...}
    2 9a7f...03 {"type":"OpenAccount",...}
    ...
    end 2 9a7f...03

Each record is its sequence number (1, 2, ...), the running hash and the
command as JSON. The running hash chains the records: ``h0`` is the
blake2b-128 of the header line, ``h(n) = blake2b-128(h(n-1) || json(n))``,
so a deleted, inserted, swapped, duplicated or changed record breaks it
from that record on. The ``end`` line (count and final hash) is written
when the run closes the journal; a journal without it was cut short.

Each record is in the file before its command is applied: a killed process
never applied a command its journal lacks. The file is written through a
shared memory map, not one ``write`` system call a record (a third of a
record's cost): a record copied into the map is in the kernel's page cache
at once, and the kernel keeps it, and writes it out, when the process is
killed. The map grows `CHUNK` bytes at a time, so while the journal is open
the file ends in zeros (the space not written yet); closing or abandoning
it cuts them off, and a reader takes the zeros a killed run leaves, after
its last whole record, as the end of a journal that was cut short (a record
cut off by them too). Nothing is held in the process's own memory across
commands. `sync` (fsync) runs at each day's checkpoint and at the end.
Where the file cannot be mapped it is written as before, unbuffered, one
``write`` a record.

`Journal` is the readable reference. Where the compiled core is built
(and not turned off: ``CFX_NO_EXTENSION=1``, ``CFX_ENGINE=python``),
``Journal(...)`` is a `CompiledJournal`, whose ``write`` is one C call a
record (cfx/_journal.pyx): the same bytes, the same growth of the map,
the same `position()` after every record.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import mmap
import os
import sys
from binascii import hexlify
from functools import partial
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

import msgspec

from cfx.errors import InputError, from_validation
from cfx.inputs import LINE_LIMIT
from cfx.types import Command, command_decoder, encoder

HEADER = b"cfx-journal 1\n"
FOOTER = b"end "
HASH_BYTES = 16
CHUNK = 1 << 18
"""How much the journal file grows at a time (zeros until records fill it;
a reader takes no more zeros than this past a record as a journal's end)."""


_BLAKE2B = hashlib.blake2b(digest_size=HASH_BYTES)
"""A fresh blake2b-128 to copy: a copy is a third cheaper than building one
with its keyword argument (`Journal.write` chains one per command)."""


def _chain(prev: bytes, record: bytes) -> bytes:
    h = _BLAKE2B.copy()
    h.update(prev + record)
    return h.digest()


GENESIS = hashlib.blake2b(HEADER, digest_size=HASH_BYTES).digest()


class Position(msgspec.Struct, frozen=True):
    """Where a journal stands: records written, the running hash, the byte
    offset after the last record (what a checkpoint keeps to resume)."""

    count: int
    chain: bytes
    offset: int


class Journal:
    """Appends commands to a journal file (see the module docstring).
    ``resume`` continues a journal from a `Position` (the file is cut
    there first). Made where the compiled writer may be used, it is a
    `CompiledJournal`."""

    def __new__(cls, path: str | Path, *, resume: Position | None = None) -> "Journal":
        if cls is Journal and _record_writer() is not None:
            cls = CompiledJournal
        return super().__new__(cls)

    def __init__(self, path: str | Path, *, resume: Position | None = None) -> None:
        self.path = Path(path)
        if resume is None:
            self._f: IO[bytes] = open(self.path, "w+b", buffering=0)
            self._f.write(HEADER)  # written, not mapped: the file never starts with zeros
            self.count, self._h, self.offset = 0, GENESIS, len(HEADER)
        else:
            self._f = open(self.path, "r+b", buffering=0)
            self._f.truncate(resume.offset)
            self._f.seek(resume.offset)
            self.count, self._h, self.offset = resume.count, resume.chain, resume.offset
        self._map: mmap.mmap | None = None
        self._put = self._f.write  # a record into the file: the map's write once there is one
        self._encode = encoder.encode
        self.closed = False
        self._grow(0)

    def _grow(self, need: int) -> None:
        """Room for ``need`` more bytes after the last record, and `CHUNK`
        more: the file grown and mapped again. The room is allocated on
        disk first, so a full disk is an `OSError` here, not a fault when a
        record is copied in. Where the file cannot be mapped, records are
        written to it instead."""
        if self.closed:
            raise ValueError("write to a closed journal")
        if self._map is not None:
            self._map.close()
            self._map = None
        size = self.offset + need + CHUNK
        fd = self._f.fileno()
        try:
            try:
                os.posix_fallocate(fd, self.offset, size - self.offset)
            except AttributeError:  # (not on every system) a file with a hole then
                self._f.truncate(size)
            self._map = mmap.mmap(fd, size)
        except OSError as e:
            self._f.truncate(self.offset)
            if e.errno == errno.ENOSPC:
                raise
            self._f.seek(self.offset)
            self._put = self._f.write  # a file system that cannot map or allocate: one write a record
            return
        self._map.seek(self.offset)
        self._put = self._map.write

    def write(self, cmd: Command) -> None:
        line = self._encode(cmd)
        self.count += 1
        h = _BLAKE2B.copy()  # `_chain`, inlined
        h.update(self._h + line)
        self._h = h = h.digest()
        record = b"%d %s %s\n" % (self.count, hexlify(h), line)
        try:
            self._put(record)
        except ValueError:  # the map is full (nothing of the record written)
            self._grow(len(record))
            self._put(record)
        self.offset += len(record)

    def position(self) -> Position:
        return Position(self.count, self._h, self.offset)

    def flush(self) -> None:
        """Records are in the file as they are written; nothing to do (kept for callers)."""

    def sync(self) -> None:
        """Make what is written survive a power cut (`synced`, then the call it returns)."""
        self.synced()()

    def synced(self) -> Callable[[], None]:
        """Make what is written so far survive a power cut, in two steps:
        msync now where fsync is not known to write a shared map's pages
        (on Linux it is, and the two together take a third longer), and
        the fsync returned, which another thread may call while records go
        on being written (the run writer's, at the end of each day)."""
        if self._map is not None and sys.platform != "linux":
            self._map.flush()
        return partial(os.fsync, self._f.fileno())

    def _unmap(self) -> None:
        """The map closed and the file cut after the last record."""
        if self._map is not None:
            self._map.close()
            self._map = None
        self._f.truncate(self.offset)

    def close(self) -> None:
        """End the journal with its footer and close it."""
        if self.closed:
            return
        self._unmap()
        self._f.seek(self.offset)
        self._f.write(b"%s%d %s\n" % (FOOTER, self.count, self._h.hex().encode()))
        os.fsync(self._f.fileno())
        self._f.close()
        self.closed = True

    def abandon(self) -> None:
        """Close without a footer (the run did not finish)."""
        if not self.closed:
            try:
                with contextlib.suppress(OSError):  # not cut: the zeros read as a journal cut short
                    self._unmap()
            finally:
                self._f.close()
                self.closed = True

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _record_writer() -> type | None:
    """The compiled record writer, if it is built and allowed (not with
    ``CFX_NO_EXTENSION`` set or ``CFX_ENGINE=python``)."""
    if os.environ.get("CFX_NO_EXTENSION") or os.environ.get("CFX_ENGINE") == "python":
        return None
    try:
        from cfx._journal import RecordWriter
    except ImportError:
        return None
    return RecordWriter


class CompiledJournal(Journal):
    """A `Journal` whose ``write`` is `cfx._journal.RecordWriter.write`:
    one C call a record, the reference's bytes. The writer keeps the
    count, the chain and the offset (read and set here as the
    reference's attributes) and a buffer on the map, released before the
    map is closed and handed the new map each time it grows."""

    def __init__(self, path: str | Path, *, resume: Position | None = None) -> None:
        writer = _record_writer()
        if writer is None:
            raise RuntimeError("the compiled journal writer is not built")
        self._w = writer(self, encoder.encode)
        super().__init__(path, resume=resume)
        self.write = self._w.write  # type: ignore[method-assign]  # the C method itself, no Python frame

    count = property(lambda self: self._w.count, lambda self, v: setattr(self._w, "count", v))
    offset = property(lambda self: self._w.offset, lambda self, v: setattr(self._w, "offset", v))
    _h = property(lambda self: self._w.chain, lambda self, v: setattr(self._w, "chain", v))

    def _grow(self, need: int) -> None:
        self._w.release()  # an exported buffer stops the map's close
        super()._grow(need)
        self._w.attach(self._map, self._put)

    def _unmap(self) -> None:
        self._w.release()
        super()._unmap()


def _records(path: Path | str, f: IO[bytes]) -> Iterator[tuple[int, bytes, bytes, int]]:
    """Verified ``(seq, json, chain, offset after)`` of each record; the
    first bad one raises `InputError` naming it. Stops at the footer."""
    head = f.readline(len(HEADER))  # no further: a file without newlines (/dev/zero) is never read whole
    if head != HEADER:
        if head.startswith(b"{"):
            raise InputError(
                f"{path}:1: a journal without sequence numbers and hashes (written by an older cfx); "
                f"re-run the scenario to get a verifiable one"
            )
        raise InputError(f"{path}:1: not a cfx journal (expected the line {HEADER.decode().strip()!r})")
    h, seq, offset = GENESIS, 0, len(HEADER)
    for lineno, line in enumerate(iter(partial(f.readline, LINE_LIMIT + 1), b""), 2):
        if not line.endswith(b"\n") and b"\0" in line and _zero_tail(line[line.index(b"\0") :], f):
            break  # the room a killed run's journal had not written yet (a record cut off by it too)
        offset += len(line)
        if len(line) > LINE_LIMIT:
            raise InputError(f"{path}:{lineno}: record {seq + 1} is longer than {LINE_LIMIT:,} bytes")
        if not line.endswith(b"\n"):
            raise InputError(f"{path}:{lineno}: record {seq + 1} is cut off (the journal's tail is lost)")
        if line.startswith(FOOTER):
            parts = line.split()
            if len(parts) != 3 or parts[1] != b"%d" % seq or parts[2] != h.hex().encode():
                raise InputError(
                    f"{path}:{lineno}: the end line does not match the {seq} records before it "
                    f"(records lost or changed)"
                )
            rest = f.read(1)
            if rest:
                raise InputError(f"{path}:{lineno + 1}: data after the journal's end line")
            return
        parts = line.split(b" ", 2)
        if len(parts) != 3 or not parts[0].isdigit():
            raise InputError(
                f"{path}:{lineno}: record {seq + 1}: not a journal record (sequence number, hash, command)"
            )
        n = int(parts[0])
        if n != seq + 1:
            what = "duplicated or out of order" if n <= seq else f"records {seq + 1}..{n - 1} missing"
            raise InputError(f"{path}:{lineno}: record {seq + 1}: found sequence number {n} ({what})")
        body = parts[2][:-1]
        h = _chain(h, body)
        if parts[1] != h.hex().encode():
            raise InputError(f"{path}:{lineno}: record {n}: hash mismatch (the record or one before it was changed)")
        seq = n
        yield n, body, h, offset
    raise InputError(
        f"{path}: ends after record {seq} without its end line (the run was cut short, or the tail "
        f"was lost); `cfx run --resume` continues a killed run"
    )


def _zero_tail(start: bytes, f: IO[bytes]) -> bool:
    """Are ``start`` and the rest of ``f`` zeros, no more of them than a
    journal's unwritten room (`CHUNK` past a record)? What a killed run's
    journal ends in; an endless stream of zeros is not read to its end."""
    budget = CHUNK + LINE_LIMIT - len(start)
    if start.strip(b"\0"):
        return False
    while budget >= 0:
        block = f.read(min(1 << 16, budget + 1))
        if not block:
            return True
        if block.strip(b"\0"):
            return False
        budget -= len(block)
    return False


def read(path: str | Path, decoder: msgspec.json.Decoder = command_decoder) -> Iterator[Command]:
    """The commands of a journal, in order, each verified before it is
    yielded (decoded by ``decoder``, by default the engine's commands). The
    first bad record raises `InputError` naming the file, line and record."""
    path = Path(path)
    try:
        f = open(path, "rb")
    except OSError as e:
        raise InputError(f"{path}: cannot open journal: {e.strerror}") from None
    with f:
        yield from read_stream(f, str(path), decoder)


def read_stream(f: IO[bytes], source: str, decoder: msgspec.json.Decoder = command_decoder) -> Iterator[Command]:
    """`read` of an open binary file (a pipe too); errors name ``source``."""
    for n, body, _, _ in _records(source, f):
        try:
            yield decoder.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError) as e:
            raise from_validation(f"{source}: record {n}", e, "JSON") from None


def read_upto(path: str | Path, count: int, decoder: msgspec.json.Decoder = command_decoder) -> Iterator[Command]:
    """The first ``count`` commands of a journal that may go on (or have
    been cut short) after them, each verified; `InputError` if it has fewer."""
    path = Path(path)
    if count == 0:
        return
    try:
        f = open(path, "rb")
    except OSError as e:
        raise InputError(f"{path}: cannot open journal: {e.strerror}") from None
    with f:
        for n, body, _, _ in _records(path, f):
            try:
                yield decoder.decode(body)
            except (msgspec.ValidationError, msgspec.DecodeError) as e:
                raise from_validation(f"{path}: record {n}", e, "JSON") from None
            if n == count:
                return


def last_good(path: str | Path, upto: int | None = None) -> Position:
    """The position after the last verified record (at most ``upto``
    records) of a journal that may have been cut short."""
    path = Path(path)
    pos = Position(0, GENESIS, len(HEADER))
    with open(path, "rb") as f:
        try:
            for n, _, h, offset in _records(path, f):
                if upto is not None and n > upto:
                    break
                pos = Position(n, h, offset)
        except InputError:
            pass
    return pos


class EventHash:
    """sha256 over an event log's JSON lines, fed batch by batch: the run
    hash, which `cfx replay` of the run's journal reproduces."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def add(self, events: list) -> None:
        """Feed events (each encoded here as its JSON line)."""
        if events:
            self._h.update(encoder.encode_lines(events))

    def update(self, lines: bytes) -> None:
        """Feed events already encoded as JSON lines (each ending in a newline)."""
        self._h.update(lines)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def write_events(f: IO[bytes], events: list) -> None:
    """Append events to an event log as JSON lines."""
    f.write(encoder.encode_lines(events))


FILLS_HEADER = "ts_ns,maker_id,taker_id,maker_account,taker_account,price,qty,aggressor\n"


class Fills:
    """Trades counted, summed and hashed as they come (the hash of
    `fills_sha256`), and written as CSV rows to ``out`` when given: what
    streaming replay keeps instead of the trades themselves."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self.count = 0
        self.volume = 0
        self._h = hashlib.sha256()
        self._out = out
        if out is not None:
            out.write(FILLS_HEADER)

    def add(self, trades: list) -> None:
        if not trades:
            return
        self.count += len(trades)
        self.volume += sum([t.qty for t in trades])
        self._h.update(b"".join([b"%d,%d,%d,%d\n" % (t.maker_id, t.taker_id, t.price, t.qty) for t in trades]))
        if self._out is not None:
            self._out.write(
                "".join(
                    [
                        f"{t.ts},{t.maker_id},{t.taker_id},{t.maker_account},{t.taker_account},"
                        f"{t.price},{t.qty},{t.aggressor}\n"
                        for t in trades
                    ]
                )
            )

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def fills_sha256(trades: Iterable) -> str:
    """sha256 over ``maker_id,taker_id,price,qty\n`` per trade in execution
    order, exactly as the benchmark yardstick computes it (README, "Benchmark")."""
    h = hashlib.sha256()
    for t in trades:
        h.update(b"%d,%d,%d,%d\n" % (t.maker_id, t.taker_id, t.price, t.qty))
    return h.hexdigest()


def write_fills_csv(path: str | Path, trades: Iterable) -> None:
    """The trades as CSV (what ``cfx replay --fills`` writes), whole or not at all."""
    from cfx.writes import atomic

    with atomic(path, "w", "--fills") as f:
        Fills(f).add(list(trades))
