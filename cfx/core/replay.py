"""`cfx replay ORDERS.csv` on the compiled core: the CSV parsed into
columns a block at a time, applied `BATCH` commands at a time, events left
as rows.

Only ``CompiledBook.apply`` is timed (validation, self-trade prevention,
matching, the event rows): the same work cfx/replay.py times for the
Python engine. The fills hash is taken from the trade rows after each
batch; event Structs are built only for ``--events``. Memory stays flat in
the input's length: one block of text and its columns, one batch's rows.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from contextlib import ExitStack
from typing import Iterable, NamedTuple

from cfx.core.columns import Columns, NotPlain, Unsupported, loaded_blocks, plain_blocks
from cfx.core.engine import CompiledEngine
from cfx.core.rows import SIDES, TRADE, to_events
from cfx import sha, writes
from cfx.errors import InputError
from cfx.orders_csv import MAX_QTY
from cfx.types import ListSeries, encoder

BATCH = 2048  # commands per apply: their rows (~0.5 MB) stay in the CPU cache, and its fills text is small


class Replayed(NamedTuple):
    """What a compiled replay measured (`cfx.replay.throughput` reports it)."""

    messages: int
    seconds: float  # in the core's apply only
    fills: int
    volume: int
    fills_sha256: str


def main(args: argparse.Namespace) -> Replayed:
    """Replay ``args.input`` on the compiled core. `Unsupported` for an
    input it cannot take, unless ``compiled`` was asked for (then an
    `InputError`): `cfx.replay.main` then replays it on the Python engine."""
    try:
        if args.input == "-":
            raise Unsupported("it reads a file, not stdin")
        try:
            return run(args, plain_blocks(args.input))
        except NotPlain:  # what was applied is dropped with its engine; the outputs were not written
            return run(args, loaded_blocks(args.input, args.series))
    except Unsupported as e:
        if (args.engine or os.environ.get("CFX_ENGINE")) == "compiled":
            raise InputError(
                f"{args.input}: the compiled engine cannot replay this input ({e}); use the python engine"
            ) from None
        raise


def run(args: argparse.Namespace, chunks: Iterable[Columns]) -> Replayed:
    """Replay the column chunks on a fresh compiled engine; the outputs are
    written only if every chunk is read."""
    engine = CompiledEngine(ListSeries(args.series, max_qty=MAX_QTY))
    book = engine.book
    digest = sha.sha256()  # without OpenSSL: libcrypto would be a sixth of this replay's memory
    seconds = 0.0
    messages = 0
    clock = time.perf_counter
    with ExitStack() as stack:
        log = stack.enter_context(writes.atomic(args.events, "wb", "--events")) if args.events else None
        fills = stack.enter_context(writes.atomic(args.fills, "w", "--fills")) if args.fills else None
        if fills is not None:
            from cfx.journal import FILLS_HEADER

            fills.write(FILLS_HEADER)
        for cols in chunks:
            arrays = cols.arrays()
            n = len(cols)
            for start in range(0, n, BATCH):
                t0 = clock()
                book.apply(*arrays, start, min(n, start + BATCH))
                seconds += clock() - t0
                digest.update(book.fills_text())
                if log is not None or fills is not None:
                    write_outputs(engine, log, fills)
                book.clear()
            messages += n
    if args.book:
        writes.write_atomic(args.book, json.dumps(engine.snapshot()), "--book")
    return Replayed(messages, seconds, book.fills, book.volume, digest.hexdigest())


def write_outputs(engine: CompiledEngine, log, fills) -> None:
    """The buffered rows to the event log (JSON lines, as the Python engine
    writes them) and the fills CSV."""
    view = engine.book.rows()
    if view is None:
        return
    rows = memoryview(view).tolist()
    if log is not None:
        encode = encoder.encode
        log.write(b"".join(encode(e) + b"\n" for e in to_events(rows, engine.series)))
    if fills is not None:
        side = SIDES
        fills.write(
            "".join(f"{r[3]},{r[6]},{r[7]},{r[8]},{r[9]},{r[4]},{r[5]},{side[r[10]]}\n" for r in rows if r[0] == TRADE)
        )
