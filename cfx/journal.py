"""The journal: every command the engine receives, one JSON line each,
written before the command is applied (LMAX-style). Replaying a journal
through a fresh engine reproduces the event log byte for byte.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO, Iterable, Iterator

import msgspec

from cfx.errors import InputError
from cfx.types import Command, command_decoder, encoder


class Journal:
    """Appends commands to a file. Lines are buffered by the OS file object
    and flushed on `flush`/`close`; a crash loses at most the unflushed tail,
    never reorders."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._f: IO[bytes] = open(self.path, "wb")
        self._encode = encoder.encode

    def write(self, cmd: Command) -> None:
        self._f.write(self._encode(cmd) + b"\n")

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read(path: str | Path, decoder: msgspec.json.Decoder = command_decoder) -> Iterator[Command]:
    """The commands of a journal, in order (decoded by ``decoder``, by default
    the engine's commands). A bad line raises `InputError` naming the file,
    line and what is wrong."""
    path = Path(path)
    try:
        f = open(path, "rb")
    except OSError as e:
        raise InputError(f"{path}: cannot open journal: {e.strerror}") from None
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield decoder.decode(line)
            except msgspec.ValidationError as e:
                raise InputError(f"{path}:{lineno}: {e}") from None
            except msgspec.DecodeError as e:
                raise InputError(f"{path}:{lineno}: not a JSON command: {e}") from None


class EventHash:
    """sha256 over an event log's JSON lines, fed batch by batch: the run
    hash, which `cfx replay` of the run's journal reproduces."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def update(self, lines: list[bytes]) -> None:
        """Feed events already encoded as JSON (without newlines)."""
        if lines:
            self._h.update(b"\n".join(lines) + b"\n")

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def write_events(f: IO[bytes], events: list) -> None:
    """Append events to an event log as JSON lines."""
    encode = encoder.encode
    f.write(b"".join(encode(e) + b"\n" for e in events))


def fills_sha256(trades: Iterable) -> str:
    """sha256 over ``maker_id,taker_id,price,qty\n`` per trade in execution
    order, exactly as ../shared/bench/yardstick.py computes it."""
    h = hashlib.sha256()
    for t in trades:
        h.update(b"%d,%d,%d,%d\n" % (t.maker_id, t.taker_id, t.price, t.qty))
    return h.hexdigest()


def write_fills_csv(path: str | Path, trades: Iterable) -> None:
    """The trades as CSV (what ``cfx replay --fills`` writes)."""
    with open(path, "w") as f:
        f.write("ts_ns,maker_id,taker_id,maker_account,taker_account,price,qty,aggressor\n")
        for t in trades:
            f.write(f"{t.ts},{t.maker_id},{t.taker_id},{t.maker_account},{t.taker_account},"
                    f"{t.price},{t.qty},{t.aggressor}\n")
