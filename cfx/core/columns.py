"""Commands as typed columns, the compiled core's input: an order-message
CSV parsed straight into numpy arrays (by cfx/core/_columns.pyx), or
engine commands converted (for tests and the Python fallback's input).

Kind codes: 0 limit (GTC), 1 market, 2 IOC limit, 3 FOK limit, 4 cancel,
5 modify, 6 an account's default STP (``qty`` holds the mode code). The
``stp`` column is a submit's own self-trade prevention mode (0: its
account's default; codes in cfx/core/rows.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from cfx.core.rows import STP_CODES
from cfx import inputs
from cfx.types import CancelOrder, ModifyOrder, OrderKind, SetAccountStp, SubmitOrder, TimeInForce

LIMIT, MARKET, IOC, FOK, CANCEL, MODIFY, SET_STP = range(7)
BLOCK = 1 << 23  # bytes of CSV parsed at a time: the text never sits in memory whole
CSV_COLUMNS = ("ts_ns", "kind", "order_id", "account", "side", "price", "qty")
_KINDS = {(OrderKind.LIMIT, TimeInForce.GTC): LIMIT, (OrderKind.MARKET, TimeInForce.IOC): MARKET,
          (OrderKind.LIMIT, TimeInForce.IOC): IOC, (OrderKind.LIMIT, TimeInForce.FOK): FOK}


class Unsupported(ValueError):
    """A command the compiled core does not handle (it stays on the Python engine)."""


class Columns:
    """A batch of commands, one numpy array per field, all of one length."""

    __slots__ = ("ts", "kind", "order_id", "account", "side", "price", "qty", "stp")

    def __init__(self, n: int) -> None:
        self.ts = np.zeros(n, np.int64)
        self.kind = np.zeros(n, np.int8)
        self.order_id = np.zeros(n, np.int64)
        self.account = np.zeros(n, np.int64)
        self.side = np.zeros(n, np.int8)
        self.price = np.zeros(n, np.int64)
        self.qty = np.zeros(n, np.int64)
        self.stp = np.zeros(n, np.int8)

    def __len__(self) -> int:
        return len(self.ts)

    def head(self, n: int) -> "Columns":
        """The first ``n`` rows (views, no copy)."""
        out = Columns.__new__(Columns)
        for name in Columns.__slots__:
            setattr(out, name, getattr(self, name)[:n])
        return out

    def arrays(self) -> tuple:
        return self.ts, self.kind, self.order_id, self.account, self.side, self.price, self.qty, self.stp


def supported(cmd: object) -> bool:
    """Can the compiled core take this command? Submits of plain limit
    (GTC, IOC, FOK) and market (IOC) orders with no iceberg, post-only,
    stop or expiry; cancels; modifies; account STP defaults."""
    t = type(cmd)
    if t is SubmitOrder:
        return ((cmd.kind, cmd.tif) in _KINDS and not cmd.post_only and not cmd.display_qty
                and not cmd.stop_price and not cmd.expire_ns)
    return t is CancelOrder or t is ModifyOrder or t is SetAccountStp


def from_commands(cmds: Iterable) -> Columns:
    """Engine commands (of one series) as columns; `Unsupported` names the
    first one the core cannot take."""
    cmds = list(cmds)
    cols = Columns(len(cmds))
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
        cols.ts[:], cols.kind[:], cols.order_id[:], cols.account[:] = ts, kind, oid, acct
        cols.side[:], cols.price[:], cols.qty[:], cols.stp[:] = side, price, qty, stp
    except OverflowError:
        raise Unsupported("a value does not fit in 64 bits") from None
    return cols


def read_csv(path: str | Path, series: str, load: Callable[[Path, str], list] | None = None) -> list[Columns]:
    """An order-message CSV as column chunks, all of it checked before it
    returns. The plain form (what `cfx workload` writes) is parsed in C,
    `BLOCK` bytes at a time; a file with anything else (quoting, odd
    integers, a bad row) goes through ``load``, the pure-Python loader
    (default `cfx.replay.load_csv`), instead, so a mistake is reported
    exactly as there (`InputError` naming the line and field). `Unsupported`
    if a value does not fit the core's 64-bit columns."""
    from cfx.core import _columns

    path = Path(path)
    with inputs.open_binary(path, "csv input") as f:  # a missing file: the Python path's message
        try:
            names = [h.strip() for h in f.readline().decode("ascii").rstrip("\r\n").split(",")]
        except UnicodeDecodeError:
            return _fallback(path, series, load)
        if any('"' in n for n in names) or any(c not in names for c in CSV_COLUMNS):
            return _fallback(path, series, load)
        column_of = np.full(len(names), -1, np.int32)
        for c, name in enumerate(CSV_COLUMNS):
            column_of[names.index(name)] = c  # the first field of that name, as the Python loader reads it
        chunks = []
        rest = b""
        while True:
            block = f.read(BLOCK)
            data = rest + block if rest else block
            rest = b""
            if block:
                cut = data.rfind(b"\n") + 1
                data, rest = data[:cut], data[cut:]
            if data:
                cols = Columns(data.count(b"\n") + (not data.endswith(b"\n")))
                n = _columns.parse(data, column_of, *cols.arrays()[:7])
                if n < 0:
                    return _fallback(path, series, load)
                chunks.append(cols.head(n))
            if not block:
                return chunks


def _fallback(path: Path, series: str, load: Callable[[Path, str], list] | None) -> list[Columns]:
    if load is None:
        from cfx.replay import load_csv as load
    return [from_commands(load(path, series))]
