"""The order-message CSV (README, "File formats"): one message a row
under the header ``ts_ns,kind,order_id,account,side,price,qty``, parsed
into engine commands `CHUNK` at a time. A bad row is an `InputError`
naming its line and field. `cfx replay` reads it (cfx/replay.py, and the
compiled core's loader for rows not in the plain form)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Iterable, Iterator

from cfx import csvfile, inputs
from cfx.errors import InputError
from cfx.types import CancelOrder, Command, ModifyOrder, OrderKind, Side, SubmitOrder, TimeInForce

COLUMNS = ("ts_ns", "kind", "order_id", "account", "side", "price", "qty")
SIDES = {"buy": Side.BUY, "sell": Side.SELL}
KINDS = {
    "limit": (OrderKind.LIMIT, TimeInForce.GTC),
    "market": (OrderKind.MARKET, TimeInForce.IOC),
    "ioc": (OrderKind.LIMIT, TimeInForce.IOC),
    "fok": (OrderKind.LIMIT, TimeInForce.FOK),
}
MAX_QTY = 1_000_000_000  # the largest quantity a replay's series accepts (`ListSeries.max_qty`)


CHUNK = 256  # messages read and checked before they are applied (1,024: +0.4 MB of peak RSS on 20k)


def load_csv(path: str | Path, series: str) -> list[Command]:
    """Parse a whole order-message CSV file into commands. Any malformed row
    raises `InputError` with its line number and field."""
    return [c for chunk in csv_chunks(inputs.open_binary(path, "order CSV"), series, str(path)) for c in chunk]


def load_csv_rows(rows: Iterable[str], series: str, source: str = "<rows>") -> list[Command]:
    """Parse header-less CSV rows (as `workload.generate` returns them)."""
    return parse_rows([",".join(COLUMNS), *rows], series, source)


def parse_rows(lines: Iterable[str], series: str, source: str) -> list[Command]:
    """Parse CSV text lines (header first) into commands; errors name
    ``source``, the line number and the field."""
    rows = csvfile.CsvRows(source, header=False, text=lines)
    return [c for chunk in _chunks(iter(rows), series, source) for c in chunk]


def csv_chunks(f: IO[bytes], series: str, source: str) -> Iterator[list[Command]]:
    """The commands of an order-message CSV open as ``f``, `CHUNK` at a time
    (``f`` is closed at the end)."""
    rows = csvfile.CsvRows(source, header=False, f=f)
    yield from _chunks(iter(rows), series, source)


def _chunks(rows: Iterator[tuple[int, list[str]]], series: str, source: str) -> Iterator[list[Command]]:
    first = next(rows, None)
    if first is None:
        raise InputError(f"{source}: empty file, expected header {','.join(COLUMNS)}")
    header = [h.strip() for h in first[1]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise csvfile.missing_columns(source, first[0], missing, header, f"expected header {','.join(COLUMNS)}")
    ix = [header.index(c) for c in COLUMNS]
    width = len(header)
    cmds: list[Command] = []
    append = cmds.append
    for lineno, row in rows:
        if len(row) != width:
            raise csvfile.wrong_width(source, lineno, width, len(row))
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
            raise InputError(f"{source}:{lineno}: {field}: expected an integer, got {bad[:80]!r}") from None
        if kind == "cancel":
            append(CancelOrder(ts, oid, acct))
        elif kind == "modify":
            append(ModifyOrder(ts, oid, acct, price, qty))
        else:
            k = KINDS.get(kind)
            if k is None:
                raise InputError(
                    f"{source}:{lineno}: kind: unknown {kind[:80]!r}, expected one of "
                    f"{', '.join([*KINDS, 'cancel', 'modify'])}"
                )
            s = SIDES.get(side)
            if s is None:
                raise InputError(f"{source}:{lineno}: side: expected buy or sell, got {side[:80]!r}")
            append(SubmitOrder(ts, series, oid, acct, s, qty, price, k[0], k[1]))
        if len(cmds) >= CHUNK:
            yield cmds
            cmds = []
            append = cmds.append
    if cmds:
        yield cmds
