"""Commands as typed columns, the compiled core's input: an order-message
CSV parsed straight into typed arrays (by cfx/core/_columns.pyx) a block
at a time, or engine commands converted (for tests and for a CSV the C
parser does not read, a chunk at a time from the Python loader).

The columns are `array.array` s (no numpy: a replay imports none of it, so
the compiled one stays far under the yardstick's memory). Kind codes: 0
limit (GTC), 1 market, 2 IOC limit, 3 FOK limit, 4 cancel, 5 modify, 6 an
account's default STP (``qty`` holds the mode code). The ``stp`` column is
a submit's own self-trade prevention mode (0: its account's default; codes
in cfx/core/rows.py).
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Iterable, Iterator

from cfx.core.rows import STP_CODES
from cfx import inputs
from cfx.orders_csv import csv_chunks
from cfx.types import CancelOrder, ModifyOrder, OrderKind, SetAccountStp, SubmitOrder, TimeInForce

LIMIT, MARKET, IOC, FOK, CANCEL, MODIFY, SET_STP = range(7)
# bytes of CSV parsed at a time (~7,000 rows, about a `cfx.core.replay.BATCH`):
# the text and its columns are never in memory whole, so a replay's memory
# stays flat in the file's length
BLOCK = 1 << 18
CSV_COLUMNS = ("ts_ns", "kind", "order_id", "account", "side", "price", "qty")
_KINDS = {
    (OrderKind.LIMIT, TimeInForce.GTC): LIMIT,
    (OrderKind.MARKET, TimeInForce.IOC): MARKET,
    (OrderKind.LIMIT, TimeInForce.IOC): IOC,
    (OrderKind.LIMIT, TimeInForce.FOK): FOK,
}


class Unsupported(ValueError):
    """A command the compiled core does not handle (it stays on the Python engine)."""


class NotPlain(ValueError):
    """The CSV has a line the C parser does not read (quoting, an integer
    written otherwise, a mistake): read it with `loaded_blocks` instead,
    from the start (which names the line and field of a real mistake)."""


# each column's array type code: int64 ("q") or int8 ("b")
_CODES = {"ts": "q", "kind": "b", "order_id": "q", "account": "q", "side": "b", "price": "q", "qty": "q", "stp": "b"}


class Columns:
    """A batch of commands, one typed array per field, all of one length."""

    __slots__ = ("ts", "kind", "order_id", "account", "side", "price", "qty", "stp")

    def __init__(self, n: int) -> None:
        for name, code in _CODES.items():
            setattr(self, name, array(code, [0]) * n)

    def __len__(self) -> int:
        return len(self.ts)

    def head(self, n: int) -> "Columns":
        """The first ``n`` rows (memoryviews of these, no copy)."""
        out = Columns.__new__(Columns)
        for name in Columns.__slots__:
            setattr(out, name, memoryview(getattr(self, name))[:n])
        return out

    def arrays(self) -> tuple:
        return self.ts, self.kind, self.order_id, self.account, self.side, self.price, self.qty, self.stp


def supported(cmd: object) -> bool:
    """Can the compiled core take this command? Submits of plain limit
    (GTC, IOC, FOK) and market (IOC) orders with no iceberg, post-only,
    stop or expiry; cancels; modifies; account STP defaults."""
    t = type(cmd)
    if t is SubmitOrder:
        return (
            (cmd.kind, cmd.tif) in _KINDS
            and not cmd.post_only
            and not cmd.display_qty
            and not cmd.stop_price
            and not cmd.expire_ns
        )
    return t is CancelOrder or t is ModifyOrder or t is SetAccountStp


def from_commands(cmds: Iterable) -> Columns:
    """Engine commands (of one series) as columns; `Unsupported` names the
    first one the core cannot take."""
    ts, kind, oid, acct, side, price, qty, stp = ([] for _ in range(8))
    try:
        for c in cmds:
            t = type(c)
            if t is SubmitOrder:
                if not supported(c):
                    raise Unsupported(f"{c!r}")
                kind.append(_KINDS[c.kind, c.tif])
                side.append(0 if c.side == "buy" else 1)
                stp.append(STP_CODES[c.stp])
                ts.append(c.ts), oid.append(c.order_id), acct.append(c.account)
                price.append(c.price), qty.append(c.qty)
            elif t is CancelOrder or t is ModifyOrder:
                kind.append(CANCEL if t is CancelOrder else MODIFY)
                ts.append(c.ts), oid.append(c.order_id), acct.append(c.account)
                price.append(getattr(c, "price", 0)), qty.append(getattr(c, "qty", 0))
                side.append(0), stp.append(0)
            elif t is SetAccountStp:
                kind.append(SET_STP)
                ts.append(c.ts), oid.append(0), acct.append(c.account), price.append(0)
                qty.append(STP_CODES[c.mode]), side.append(0), stp.append(0)
            else:
                raise Unsupported(f"{t.__name__} is handled by the Python engine")
        cols = Columns.__new__(Columns)
        for name, values in zip(Columns.__slots__, (ts, kind, oid, acct, side, price, qty, stp)):
            setattr(cols, name, array(_CODES[name], values))
    except OverflowError:
        raise Unsupported("a value does not fit in 64 bits") from None
    return cols


def loaded_blocks(path: str | Path, series: str) -> Iterator[Columns]:
    """An order-message CSV read by the pure-Python loader
    (`cfx.orders_csv.csv_chunks`, so a mistake is `InputError` naming the line
    and field, as there), as columns a chunk at a time; `Unsupported` if a
    value does not fit the core's 64-bit columns."""
    for cmds in csv_chunks(inputs.open_binary(path, "csv input"), series, str(path)):
        yield from_commands(cmds)


def plain_blocks(path: str | Path) -> Iterator[Columns]:
    """An order-message CSV in the plain form (what `cfx workload` writes:
    no quoting, integers as ``-?digits``) as columns, parsed in C `BLOCK`
    bytes at a time; each block's columns are valid until the next is read
    (they share memory). `NotPlain` at the first block with a line in any other
    form (the blocks before it may have been read: start again with
    `loaded_blocks`)."""
    from cfx.core import _columns

    with inputs.open_binary(path, "csv input") as f:  # a missing file: the Python path's message
        try:
            head = f.readline(BLOCK)  # no further: /dev/zero is one endless line
            if not head.endswith(b"\n") and len(head) == BLOCK:
                raise NotPlain("the header is longer than a block")
            names = [h.strip() for h in head.decode("ascii").rstrip("\r\n").split(",")]
        except UnicodeDecodeError:
            raise NotPlain("the header is not ASCII") from None
        if any('"' in n for n in names) or any(c not in names for c in CSV_COLUMNS):
            raise NotPlain("a quoted or missing column name")
        column_of = array("i", [-1]) * len(names)
        for c, name in enumerate(CSV_COLUMNS):
            column_of[names.index(name)] = c  # the first field of that name, as the Python loader reads it
        buf = bytearray(BLOCK)  # one text buffer and one set of columns, reused block after block:
        cols = Columns(0)  # no allocation between blocks, so the heap does not shrink and grow under the engine
        size = 0  # bytes in buf: a partial last line carried over, then what was read
        while True:
            if size == len(buf):  # a line longer than a block: not a plain row (the Python loader reads or names it)
                raise NotPlain(f"a line of {path} is longer than {BLOCK:,} bytes")
            got = f.readinto(memoryview(buf)[size:])
            size += got
            cut = buf.rfind(b"\n", 0, size) + 1 if got else size  # whole lines; at the end, the last one too
            if cut:
                rows = buf.count(b"\n", 0, cut) + (buf[cut - 1] != 10)
                if rows > len(cols):
                    cols = Columns(rows)
                n = _columns.parse(memoryview(buf)[:cut], column_of, *cols.arrays()[:7])
                if n < 0:
                    raise NotPlain(f"a line of {path} is not in the plain form")
                if n:
                    yield cols.head(n)
                buf[: size - cut] = buf[cut:size]
                size -= cut
            if not got:
                return
