"""`cfx replay`: drive recorded order messages through the engine and report
throughput as one JSON line — the benchmark CI pipelines run.

Inputs: the order-message CSV of DESIGN.md, a LOBSTER message file, or a
run's journal. The whole input is loaded and checked first (a bad row stops
everything with its line number, before any matching); then only the
engine's work is timed: validation, self-trade check, matching and event
creation, plus picking the trades out of the events. Writing outputs is not
timed.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import resource
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Iterable


from cfx.errors import InputError
from cfx.journal import EventHash, fills_sha256, write_fills_csv
from cfx.journal import read as read_journal
from cfx.venue import ENGINE_COMMANDS, Venue
from cfx.venue import command_decoder as venue_decoder
from cfx.types import (
    CancelOrder,
    Command,
    ListSeries,
    ModifyOrder,
    OrderKind,
    Side,
    SubmitOrder,
    TimeInForce,
    Trade,
    encoder,
)

COLUMNS = ("ts_ns", "kind", "order_id", "account", "side", "price", "qty")
SIDES = {"buy": Side.BUY, "sell": Side.SELL}
KINDS = {
    "limit": (OrderKind.LIMIT, TimeInForce.GTC),
    "market": (OrderKind.MARKET, TimeInForce.IOC),
    "ioc": (OrderKind.LIMIT, TimeInForce.IOC),
    "fok": (OrderKind.LIMIT, TimeInForce.FOK),
}
# Commands per batch. Small on purpose: a batch's events (~2.75 per message)
# then stay in the CPU cache, and the memory freed after one batch is what
# the next batch's events reuse; 8192 (~2.5 MB of events) measured ~4% slower.
BATCH = 128
MAX_QTY = 1_000_000_000


def load_csv(path: str | Path, series: str) -> list[Command]:
    """Parse an order-message CSV file into commands. Any malformed row
    raises `InputError` with its line number and field."""
    path = Path(path)
    try:
        f = open(path, newline="")
    except OSError as e:
        raise InputError(f"{path}: cannot open: {e.strerror}") from None
    with f:
        return parse_rows(f, series, str(path))


def load_csv_rows(rows: Iterable[str], series: str, source: str = "<rows>") -> list[Command]:
    """Parse header-less CSV rows (as `workload.generate` returns them)."""
    return parse_rows([",".join(COLUMNS), *rows], series, source)


def parse_rows(lines: Iterable[str], series: str, source: str) -> list[Command]:
    """Parse CSV lines (header first) into commands; errors name ``source``,
    the line number and the field."""
    cmds: list[Command] = []
    append = cmds.append
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise InputError(f"{source}: empty file, expected header {','.join(COLUMNS)}")
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(f"{source}:1: missing column(s) {', '.join(missing)}; expected header {','.join(COLUMNS)}")
    ix = [header.index(c) for c in COLUMNS]
    width = len(header)
    for lineno, row in enumerate(reader, 2):
        if not row:
            continue
        if len(row) != width:
            raise InputError(f"{source}:{lineno}: expected {width} fields, got {len(row)}")
        ts, kind, oid, acct, side, price, qty = (row[i] for i in ix)
        try:
            field = "ts_ns"
            ts = int(ts)
            field = "order_id"
            oid = int(oid)
            field = "account"
            acct = int(acct)
            field = "price"
            price = int(price)
            field = "qty"
            qty = int(qty)
        except ValueError:
            bad = row[ix[COLUMNS.index(field)]]
            raise InputError(f"{source}:{lineno}: {field}: expected an integer, got {bad!r}") from None
        if kind == "cancel":
            append(CancelOrder(ts, oid, acct))
        elif kind == "modify":
            append(ModifyOrder(ts, oid, acct, price, qty))
        else:
            k = KINDS.get(kind)
            if k is None:
                raise InputError(f"{source}:{lineno}: kind: unknown {kind!r}, expected one of "
                                 f"{', '.join([*KINDS, 'cancel', 'modify'])}")
            s = SIDES.get(side)
            if s is None:
                raise InputError(f"{source}:{lineno}: side: expected buy or sell, got {side!r}")
            append(SubmitOrder(ts, series, oid, acct, s, qty, price, k[0], k[1]))
    return cmds


def sniff(path: str | Path) -> str:
    """Guess an input's format from its first line."""
    try:
        with open(path, "rb") as f:
            first = f.readline().strip()
    except OSError as e:
        raise InputError(f"{path}: cannot open: {e.strerror}") from None
    if first.startswith(b"{"):
        return "journal"
    if first.startswith(b"ts_ns") or b"kind" in first:
        return "csv"
    return "lobster"


def run(venue: Venue, cmds: list, event_log=None, digest: EventHash | None = None) -> tuple[list[Trade], float]:
    """Apply ``cmds`` in batches; return the trades and the seconds spent
    in the venue (its work and collecting the trades). Events go to
    ``event_log`` (a binary file) and ``digest`` if given, untimed. Plain
    order flow goes straight to the engine; a run's journal (clearing
    commands too) goes through the whole venue."""
    engine = venue.engine
    events = venue.events
    fills = engine.trades
    trades: list[Trade] = []
    keep = trades.extend
    direct = all(type(c) in ENGINE_COMMANDS for c in cmds)
    dispatch = engine._dispatch if direct else venue._dispatch
    apply = venue.apply
    encode = encoder.encode
    seconds = 0.0
    clock = time.perf_counter
    for start in range(0, len(cmds), BATCH):
        batch = cmds[start:start + BATCH]
        t0 = clock()
        if direct:
            for c in batch:
                dispatch[type(c)](c)
        else:
            for c in batch:
                apply(c)
        keep(fills)
        fills.clear()
        seconds += clock() - t0
        if events and (digest is not None or event_log is not None):
            lines = [encode(e) for e in events]
            if digest is not None:
                digest.update(lines)
            if event_log is not None:
                event_log.write(b"\n".join(lines) + b"\n")
        events.clear()
    return trades, seconds


def main(args: argparse.Namespace) -> int:
    fmt = args.format or sniff(args.input)
    if fmt == "lobster":
        from cfx import lobster

        return lobster.main(args)
    series = args.series
    venue = Venue()
    if fmt == "csv":
        cmds: list = load_csv(args.input, series)
        venue.apply(ListSeries(series, max_qty=MAX_QTY))
    else:
        cmds = list(read_journal(args.input, venue_decoder))
    engine = venue.engine
    with ExitStack() as stack:
        log = stack.enter_context(open(args.events, "wb")) if args.events else None
        gc.collect()
        gc.freeze()
        digest = EventHash() if fmt == "journal" else None
        trades, seconds = run(venue, cmds, log, digest)
    result = {
        "messages": len(cmds),
        "seconds": round(seconds, 4),
        "msgs_per_s": round(len(cmds) / seconds) if seconds > 0 else 0,
        "fills": len(trades),
        "volume": sum(t.qty for t in trades),
        "fills_sha256": fills_sha256(trades),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if fmt == "journal":
        result["events_sha256"] = digest.hexdigest()  # a run's summary.json calls it run_hash
    if args.fills:
        write_fills_csv(args.fills, trades)
    if args.book:
        snapshots = {s: engine.book(s).snapshot() for s in engine.series}
        with open(args.book, "w") as f:
            json.dump(snapshots[series] if len(snapshots) == 1 and series in snapshots else snapshots, f)
    print(json.dumps(result))
    return 0
