"""`cfx replay`: drive recorded order messages through the engine and report
throughput as one JSON line — the benchmark CI pipelines run.

Inputs: the order-message CSV (README, "File formats"), a LOBSTER message file, or a
run's journal. The CSV and the journal are streamed: read, checked and
applied a chunk of `CHUNK` messages at a time, and the trades are counted,
hashed and (with ``--fills``) written as they come, so memory stays flat in
the input's length. A bad row stops the replay with its line number, and
no output file is left behind (outputs are written whole or not at all).
Only the engine's work is timed: validation, self-trade check, matching and
event creation, plus picking the trades out of the events. Reading,
writing, hashing and freeing a batch's events once read are not (README,
"The benchmark", says what is timed beside the yardstick's loop). A CSV replay without ``--events`` reads only the trades,
so its venue is built ``trades_only`` (the engine builds no other event).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import stat
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Iterable, Iterator

from cfx import core, inputs, writes
from cfx.orders_csv import CHUNK, MAX_QTY, csv_chunks
from cfx.command import Output
from cfx.errors import InputError
from cfx.types import (
    ListSeries,
    Trade,
    encoder,
)

if TYPE_CHECKING:  # imported by the Python replay only: the compiled one needs neither the venue nor hashlib
    from cfx.journal import EventHash, Fills
    from cfx.venue import Venue

# Commands per batch. Small on purpose: a batch's events (~2.75 per message)
# then stay in the CPU cache, and the memory freed after one batch is what
# the next batch's events reuse; 8192 (~2.5 MB of events) measured ~4% slower.
BATCH = 128

_NUMBER = re.compile(rb"\s*-?\d+(\.\d+)?\s*")


def sniff(path: str | Path) -> str:
    """Guess a file's format from its first line: a journal's header (or a
    JSON line), a CSV header (any field not a number), else LOBSTER (whose
    rows are all numbers). A pipe or stdin cannot be peeked at without
    consuming it: it needs ``--format``."""
    if str(path) == "-":
        raise InputError("-: reading stdin needs --format csv, lobster or journal")
    try:
        st = os.stat(path)
    except OSError as e:
        raise InputError(f"{path}: cannot open: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: cannot open: is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: not a regular file (a pipe or device): give --format csv, lobster or journal")
    with inputs.open_binary(path, "replay input") as f:
        first = f.readline(65_536).removeprefix(inputs.BOM).strip()
    if first.startswith(b"cfx-journal") or first.startswith(b"{"):
        return "journal"
    if first and all(_NUMBER.fullmatch(x) for x in first.split(b",")):
        return "lobster"
    return "csv"


def stream(
    venue: Venue,
    chunks: Iterable[list],
    fills: Fills,
    event_log: IO[bytes] | None = None,
    digest: EventHash | None = None,
    *,
    direct: bool = True,
    source: str = "",
) -> tuple[int, float]:
    """Apply the commands of ``chunks`` in batches of `BATCH`; feed the
    trades to ``fills`` and the events to ``event_log`` and ``digest``.
    Returns the messages applied and the seconds spent in the venue. With
    ``direct`` the commands go straight to the engine; otherwise through the
    whole venue, and a command it refuses is an `InputError` naming its
    record in ``source``."""
    apply = venue.apply
    apply_batch = venue.apply_batch
    trades_only = venue.engine.trades_only
    encode_lines = encoder.encode_lines
    seconds = 0.0
    done = 0
    clock = time.perf_counter
    for chunk in chunks:
        gc.freeze()  # what is loaded is static input: out of the collector's view, as a long-running engine does
        for start in range(0, len(chunk), BATCH):
            batch = chunk[start : start + BATCH]
            t0 = clock()
            if direct:
                events = apply_batch(batch)
            else:
                events = []
                for i, c in enumerate(batch):
                    try:
                        events += apply(c)
                    except (ValueError, KeyError) as e:
                        raise InputError(
                            f"{source}: record {done + start + i + 1}: the venue refused {type(c).__name__}: {e}"
                        ) from None
            got = events if trades_only else [e for e in events if type(e) is Trade]
            seconds += clock() - t0
            fills.add(got)
            if events and (digest is not None or event_log is not None):
                lines = encode_lines(events)
                if digest is not None:
                    digest.update(lines)
                if event_log is not None:
                    event_log.write(lines)
            # the batch's events are freed here, untimed: the yardstick never frees its fills either
            del events, got
        done += len(chunk)
    return done, seconds


def _journal_chunks(f: IO[bytes], source: str) -> Iterator[list]:
    from cfx.journal import read_stream as read_journal
    from cfx.venue import command_decoder as venue_decoder

    chunk: list = []
    for c in read_journal(f, source, venue_decoder):
        chunk.append(c)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _summary_hash(journal: str) -> str | None:
    """The run hash in the summary.json next to a journal, if there is one."""
    path = Path(journal).parent / "summary.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("run_hash")
    except (OSError, ValueError, AttributeError):
        return None


def throughput(messages: int, seconds: float, fills: int, volume: int, fills_sha256: str, engine: str) -> dict:
    """What a replay reports, by either engine: messages, engine seconds and
    rate, the fills, their hash, the peak memory."""
    return {
        "messages": messages,
        "seconds": round(seconds, 4),
        "msgs_per_s": round(messages / seconds) if seconds > 0 else 0,
        "fills": fills,
        "volume": volume,
        "fills_sha256": fills_sha256,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "engine": engine,
    }


def _check_journal_kept(name: str) -> None:
    """A run directory, or its journal, of a run written without one: one line."""
    p = Path(name)
    run = p if p.is_dir() else p.parent if p.name == "journal" and not p.exists() else None
    if run is not None and (run / "summary.json").is_file() and not (run / "journal").exists():
        raise InputError(
            f"{run}: this run has no journal (it was written with [output] journal = false), "
            f"so it cannot be replayed; run its scenario again with journal = true"
        )


def _check_no_clobber(args: argparse.Namespace) -> None:
    """No output flag names an input file (``--fills w.csv`` for ``w.csv``
    would replace the input with the fills), nor the file another output
    flag names (one output would be lost). Symlinks and hard links count."""
    sources = [(args.input, "the input")]
    if getattr(args, "orderbook", None):
        sources.append((args.orderbook, "the --orderbook file"))
    seen: dict[str, str] = {}
    for flag in ("fills", "events", "book"):
        path = getattr(args, flag, None)
        if not path:
            continue
        for source, what in sources:
            if source != "-" and os.path.exists(path) and os.path.exists(source) and os.path.samefile(path, source):
                raise InputError(f"--{flag} {path}: is {what} {source}; refusing to overwrite it, name another file")
        real = os.path.realpath(path)
        if real in seen:
            raise InputError(f"--{flag} {path}: is the file --{seen[real]} writes too; name another file")
        seen[real] = flag


def main(args: argparse.Namespace) -> Output:
    """`cfx replay INPUT`: the throughput and fills as one JSON line; exit 1
    if a journal's events differ from its run's summary."""
    if args.input != "-":
        _check_journal_kept(args.input)
    fmt = args.format or sniff(args.input)
    for flag in ("fills", "events", "book"):
        if getattr(args, flag, None):
            writes.check(getattr(args, flag), f"--{flag}")
    _check_no_clobber(args)
    if core.choose(getattr(args, "engine", None), fmt) == "compiled":
        from cfx.core import replay as compiled
        from cfx.core.columns import Unsupported

        try:
            return Output(value=throughput(*compiled.main(args), "compiled"))
        except Unsupported:  # auto: the Python engine streams any input and takes any integer
            args.engine = "python"
    if fmt == "lobster":
        from cfx import lobster

        return lobster.main(args)
    from cfx.journal import EventHash, Fills
    from cfx.venue import Venue

    series = args.series
    source = "<stdin>" if args.input == "-" else str(args.input)
    f = sys.stdin.buffer if args.input == "-" else inputs.open_binary(args.input, f"{fmt} input")
    # an order-flow CSV has no clearing house to ask, and without --events only its trades are read
    venue = Venue(risk=fmt == "journal", trades_only=fmt == "csv" and not args.events)
    engine = venue.engine
    with ExitStack() as stack:
        stack.callback(f.close)
        out = stack.enter_context(writes.atomic(args.fills, "w", "--fills")) if args.fills else None
        log = stack.enter_context(writes.atomic(args.events, "wb", "--events")) if args.events else None
        fills = Fills(out)
        if fmt == "csv":
            venue.apply(ListSeries(series, max_qty=MAX_QTY))
            chunks = csv_chunks(f, series, source)
        else:
            chunks = _journal_chunks(f, source)
        gc.collect()
        digest = EventHash() if fmt == "journal" else None
        messages, seconds = stream(venue, chunks, fills, log, digest, direct=fmt == "csv", source=source)
    result = throughput(messages, seconds, fills.count, fills.volume, fills.hexdigest(), "python")
    code = 0
    if fmt == "journal":
        result["events_sha256"] = events = digest.hexdigest()  # a run's summary.json calls it run_hash
        expected = _summary_hash(args.input) if args.input != "-" else None
        if expected is not None:
            result["matches_summary"] = events == expected
            if events != expected:
                print(
                    f"cfx replay: {args.input}: events_sha256 {events} differs from the run_hash {expected} "
                    f"of its summary.json",
                    file=sys.stderr,
                )
                code = 1
    if args.book:
        snapshots = {s: engine.book(s).snapshot() for s in engine.series}
        writes.write_atomic(
            args.book,
            json.dumps(snapshots[series] if len(snapshots) == 1 and series in snapshots else snapshots),
            "--book",
        )
    return Output(value=result, code=code)
