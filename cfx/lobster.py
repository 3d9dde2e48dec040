"""LOBSTER replay: rebuild a real market's book through the engine.

A LOBSTER sample is two CSV files without headers, one row per message:

- ``*_message_N.csv``: time (seconds after midnight, decimal), type, order id,
  size, price (dollars × 10⁴, an integer), direction (1 buy, -1 sell). Types:
  1 submit, 2 partial cancel, 3 delete, 4 visible execution, 5 hidden
  execution (no book effect), 6 cross trade (auction; no book effect here),
  7 trading halt indicator. For 4 (and 5) the direction is the side of the
  *resting* order that was executed.
- ``*_orderbook_N.csv``: the book *after* each message, N levels of
  ``ask price, ask size, bid price, bid size``; an empty level is
  ``9999999999,0`` (ask) or ``-9999999999,0`` (bid).

`replay` drives every message through a `Venue` (no clearing house, no
risk gate) on one series whose tick is
the LOBSTER price unit ($0.0001), no bands, a large max quantity:

- 1 → a limit `SubmitOrder` (account `LOBSTER_ACCOUNT`); 2 → `ModifyOrder`
  to the reduced quantity at the same price (keeps priority); 3 →
  `CancelOrder`; 4 → an IOC limit order of `TAKER_ACCOUNT` at the
  execution's price and size, on the other side, so the engine produces the
  trade against the resting order; 5, 6 and 7 are counted, nothing else.
- The book is seeded before message 1 from the first orderbook row with
  message 1's effect undone: one synthetic order (`SYNTHETIC_ACCOUNT`, ids
  from `SYNTHETIC_ID_BASE` up) per level.
- A sample holds only the messages that touch its N visible levels: orders
  that rested before it began, or sat beyond the visible levels, appear and
  vanish silently. Rules for those (all counted in `ReplayResult`):

  * a cancel, delete or execution of an order the engine does not know is a
    pre-existing order: a cancel/delete reduces synthetic quantity at that
    level (a resync correction); an execution trades against synthetic
    orders at that level (a real engine trade with a synthetic maker; if
    the level holds less synthetic quantity than it executes, the shortfall
    is added first, as a resync correction);
  * for an execution the engine must trade the named resting order (or,
    for an unknown order, synthetic orders): orders ahead of it in the
    engine's queue whose priority the sample cannot know are re-queued to
    the back (cancel + the same quantity again) first — a synthetic order
    under a fresh id (`requeued_synthetic`), a sample order under its own
    id (`requeued_sample`, expected 0);
  * after each message the engine's levels inside the visible price range
    (all of a side when the row shows fewer than N levels) are compared with
    the row; a difference left is a silent change and is resynchronised:
    missing quantity → a new synthetic order at that level; excess → the
    newest synthetic orders there are reduced or cancelled, and only if
    there is no synthetic quantity left, sample orders — one whose open
    quantity is exactly the excess first (a silent delete), else the newest
    (`sample_orders_adjusted`, counted apart). Levels beyond the row's last
    one are not visible and never touched.

  ``mismatches_after_resync`` counts rows the engine still differs from
  after that: it is 0 for a consistent file.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Callable

import msgspec

from cfx.command import Output
from cfx.errors import InputError
from cfx.csvfile import plain_rows
from cfx.writes import atomic, check, write_atomic
from cfx.journal import fills_sha256, write_events, write_fills_csv
from cfx.venue import Venue
from cfx.types import (
    CancelOrder,
    ListSeries,
    ModifyOrder,
    OrderKind,
    OrderRejected,
    Side,
    SubmitOrder,
    TimeInForce,
    Trade,
)

LOBSTER_ACCOUNT = 1  # every order the message file names
SYNTHETIC_ACCOUNT = 2  # resting orders the replay adds to match the book file
TAKER_ACCOUNT = 3  # the aggressing side of executions
SYNTHETIC_ID_BASE = 10**12  # synthetic order ids (resting and taker) count up from here
MAX_QTY = 10**12
EMPTY_ASK = 9999999999
EMPTY_BID = -9999999999

SUBMIT, PARTIAL_CANCEL, DELETE, EXECUTE, HIDDEN_EXECUTE, CROSS_TRADE, HALT = 1, 2, 3, 4, 5, 6, 7
MESSAGE_FIELDS = ("time", "type", "order_id", "size", "price", "direction")
BUY, SELL = Side.BUY, Side.SELL


class Message(msgspec.Struct, frozen=True, gc=False):
    ts: int  # nanoseconds after midnight
    type: int
    order_id: int
    size: int
    price: int  # dollars × 10⁴
    direction: int  # 1 buy, -1 sell
    line: int  # line in the message file, for error messages


class Snapshot(msgspec.Struct, frozen=True, gc=False):
    """One orderbook row: the non-empty levels, best first, as (price, size)."""

    asks: tuple[tuple[int, int], ...]
    bids: tuple[tuple[int, int], ...]
    levels: int  # N: how many levels a row shows per side


# --------------------------------------------------------------------------- reading


def _parse_time(text: str) -> int:
    """Decimal seconds → integer nanoseconds, exactly (no float)."""
    whole, dot, frac = text.strip().partition(".")
    if not whole.isdigit() or (dot and not frac.isdigit()) or len(frac) > 9:
        raise ValueError(text)
    return int(whole) * 1_000_000_000 + int(frac.ljust(9, "0") or 0)


def read_messages(path: str | Path) -> list[Message]:
    """Parse a LOBSTER message file. A malformed row raises `InputError`
    naming the file, line and field."""
    path = Path(path)
    out: list[Message] = []
    for lineno, row in plain_rows(path, "LOBSTER message file"):
        if len(row) != len(MESSAGE_FIELDS):
            hint = ""
            if len(row) % 4 == 0 and len(row) >= 4:
                hint = " (this looks like an orderbook file; pass the message file, and the orderbook with --orderbook)"
            raise InputError(
                f"{path}:{lineno}: expected {len(MESSAGE_FIELDS)} fields "
                f"({','.join(MESSAGE_FIELDS)}), got {len(row)}{hint}"
            )
        field = "time"
        try:
            ts = _parse_time(row[0])
            vals = []
            for field, text in zip(MESSAGE_FIELDS[1:], row[1:]):
                vals.append(int(text))
        except ValueError:
            what = "a decimal number of seconds" if field == "time" else "an integer"
            raise InputError(
                f"{path}:{lineno}: {field}: expected {what}, got {row[MESSAGE_FIELDS.index(field)].strip()!r}"
            ) from None
        mtype, oid, size, price, direction = vals
        if not 1 <= mtype <= 7:
            raise InputError(f"{path}:{lineno}: type: expected 1-7, got {mtype}")
        if direction not in (1, -1):
            raise InputError(f"{path}:{lineno}: direction: expected 1 or -1, got {direction}")
        if mtype in (SUBMIT, PARTIAL_CANCEL, DELETE, EXECUTE):
            if size <= 0:
                raise InputError(f"{path}:{lineno}: size: expected a positive integer, got {size}")
            if price <= 0:
                raise InputError(f"{path}:{lineno}: price: expected a positive integer, got {price}")
        out.append(Message(ts, mtype, oid, size, price, direction, lineno))
    if not out:
        raise InputError(f"{path}: no messages")
    return out


def read_orderbook(path: str | Path) -> list[Snapshot]:
    """Parse a LOBSTER orderbook file. A malformed row raises `InputError`
    naming the file, line and field."""
    path = Path(path)
    out: list[Snapshot] = []
    width = None
    names = ("ask price", "ask size", "bid price", "bid size")
    for lineno, row in plain_rows(path, "LOBSTER orderbook file"):
        if width is None:
            if len(row) % 4 or not row:
                raise InputError(
                    f"{path}:{lineno}: expected 4 fields per level (ask price, ask size, "
                    f"bid price, bid size), got {len(row)}"
                )
            width = len(row)
        elif len(row) != width:
            raise InputError(f"{path}:{lineno}: expected {width} fields like line 1, got {len(row)}")
        try:
            vals = [int(x) for x in row]
        except ValueError:
            i = next(i for i, x in enumerate(row) if not x.strip().lstrip("-").isdigit())
            raise InputError(
                f"{path}:{lineno}: field {i + 1} ({names[i % 4]} {i // 4 + 1}): expected an "
                f"integer, got {row[i].strip()!r}"
            ) from None
        asks, bids = [], []
        for k in range(0, width, 4):
            ap, aq, bp, bq = vals[k : k + 4]
            for side, p, q, empty, lst in (("ask", ap, aq, EMPTY_ASK, asks), ("bid", bp, bq, EMPTY_BID, bids)):
                if q < 0:
                    raise InputError(f"{path}:{lineno}: {side} size {k // 4 + 1}: negative ({q})")
                if q == 0 or p == empty:
                    continue
                if p <= 0:
                    raise InputError(
                        f"{path}:{lineno}: {side} price {k // 4 + 1}: expected a positive price or {empty}, got {p}"
                    )
                lst.append((p, q))
        out.append(Snapshot(tuple(asks), tuple(bids), width // 4))
    if not out:
        raise InputError(f"{path}: no rows")
    return out


def orderbook_path_for(messages: str | Path) -> Path:
    """The orderbook file that goes with a message file (``_message_`` →
    ``_orderbook_``, or a name ending ``_message`` → ``_orderbook``), or
    `InputError` if the name does not say."""
    messages = Path(messages)
    name = messages.name
    if "_message_" in name:
        return messages.with_name(name.replace("_message_", "_orderbook_"))
    if messages.stem.endswith("_message"):
        return messages.with_name(messages.stem[: -len("_message")] + "_orderbook" + messages.suffix)
    raise InputError(
        f"{messages}: cannot derive the orderbook file from the name (no '_message_' in it); pass --orderbook"
    )


def load(messages: str | Path, orderbook: str | Path | None = None) -> tuple[list[Message], list[Snapshot]]:
    """Both files, checked to have one orderbook row per message."""
    msgs = read_messages(messages)
    book_path = orderbook_path_for(messages) if orderbook is None else Path(orderbook)
    books = read_orderbook(book_path)
    if len(books) != len(msgs):
        raise InputError(
            f"{book_path}: {len(books)} rows, but {messages} has {len(msgs)} messages (one row per message expected)"
        )
    return msgs, books


# --------------------------------------------------------------------------- replay


class ReplayResult(msgspec.Struct):
    messages: int = 0  # messages applied (all types)
    by_type: dict[int, int] = {}
    trades: list = []  # the engine's Trade events, in order
    hidden_executions: int = 0  # type 5: counted, no book effect
    cross_trades: int = 0  # type 6
    halts: int = 0  # type 7
    seed_orders: int = 0
    seed_qty: int = 0
    resync_corrections: int = 0  # synthetic orders added, reduced or cancelled to match the file
    resync_qty: int = 0  # total quantity they added or removed
    resync_messages: int = 0  # messages after which at least one correction was needed
    unknown_order_cancels: int = 0  # type 2/3 of an order the engine does not know (in resync_corrections)
    executions_vs_synthetic: int = 0  # type 4 of an unknown order: traded against synthetic orders
    requeued_synthetic: int = 0  # synthetic orders moved behind an executed order
    requeued_sample: int = 0  # sample orders moved (the file's priority contradicted the engine's)
    sample_orders_adjusted: int = 0  # sample orders reduced/cancelled by resync (no synthetic qty left)
    sample_adjusted_qty: int = 0
    short_executions: int = 0  # type 4 larger than the engine's order (expected 0)
    execution_mismatches: int = 0  # type 4 whose engine trades differ in size, price or maker (expected 0)
    unexpected_trades: int = 0  # trades caused by a type 1 submission (expected 0)
    rejects: int = 0  # engine rejects (expected 0)
    mismatches_after_resync: int = 0
    first_mismatch: int | None = None  # 1-based message number
    corrections: list = []  # (message number (1-based; 0 = seed), what, side, price, qty) per correction
    seconds: float = 0.0


Depth = tuple[list[tuple[int, int]], list[tuple[int, int]]]


def undo_first(msg: Message, snap: Snapshot) -> Snapshot:
    """The book before ``msg``, given the book after it: its effect undone."""
    asks, bids = dict(snap.asks), dict(snap.bids)
    side = bids if msg.direction == 1 else asks
    if msg.type == SUBMIT:
        left = side.get(msg.price, 0) - msg.size
        if left > 0:
            side[msg.price] = left
        else:
            side.pop(msg.price, None)
    elif msg.type in (PARTIAL_CANCEL, DELETE, EXECUTE):
        side[msg.price] = side.get(msg.price, 0) + msg.size
    return Snapshot(tuple(sorted(asks.items())), tuple(sorted(bids.items(), reverse=True)), snap.levels)


def matches(depth: Depth, snap: Snapshot) -> bool:
    """Do the engine's top N levels (``depth`` = book.depth(N)) equal the row?"""
    bids, asks = depth
    return tuple(asks) == snap.asks and tuple(bids) == snap.bids


class LobsterReplay:
    """Replays one sample through an `Engine`; see the module docstring for
    the rules. ``on_message(i, replay)`` (i 0-based) is called after each
    message and its resync."""

    def __init__(
        self,
        msgs: list[Message],
        books: list[Snapshot],
        series: str = "LOBSTER",
        venue: Venue | None = None,
        event_log: IO[bytes] | None = None,
    ) -> None:
        self.msgs = msgs
        self.snaps = books
        self.series = series
        self.event_log = event_log
        self.venue = venue or Venue(risk=False)
        self.engine = self.venue.engine  # for queries: commands go through the venue
        self._pending: list = []  # events since the last _collect
        self._send(ListSeries(series, max_qty=MAX_QTY))
        self.book = self.engine.book(series)
        self.result = ReplayResult(by_type={}, trades=[], corrections=[])
        self._msgno = 0
        self._next_id = SYNTHETIC_ID_BASE
        self._ts = 0
        self._corrected = False

    # -------------------------------------------------------------- primitives

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _send(self, cmd) -> list:
        """Apply one command through the venue; returns its events (kept for `_collect`)."""
        events = self.venue.apply(cmd)
        self._pending += events
        return events

    def _collect(self) -> None:
        events = self._pending
        if self.event_log is not None:
            write_events(self.event_log, events)
        trades = self.result.trades
        for ev in events:
            t = type(ev)
            if t is OrderRejected:
                self.result.rejects += 1
            elif t is Trade:
                trades.append(ev)
        self._pending = []

    def _add_synthetic(self, side: Side, price: int, qty: int) -> None:
        self._send(SubmitOrder(self._ts, self.series, self._new_id(), SYNTHETIC_ACCOUNT, side, qty, price))

    def _reduce(self, order_id: int, account: int, price: int, open_qty: int, by: int) -> int:
        """Take up to ``by`` from a resting order; returns how much was taken."""
        if by >= open_qty:
            self._send(CancelOrder(self._ts, order_id, account))
            return open_qty
        self._send(ModifyOrder(self._ts, order_id, account, price, open_qty - by))
        return by

    def _remove_from_level(self, side: Side, price: int, qty: int, synthetic_only: bool) -> int:
        """Remove up to ``qty`` at a level: the newest synthetic orders first,
        then (unless ``synthetic_only``) the newest sample orders. Returns
        what was removed; counts resync corrections."""
        r = self.result
        removed = 0
        orders = self.book.orders_at(side, price)
        for pass_synthetic in (True, False):
            if pass_synthetic is False and synthetic_only:
                break
            candidates = [o for o in reversed(orders) if (o.account == SYNTHETIC_ACCOUNT) == pass_synthetic]
            if not pass_synthetic:  # a silent delete is likelier than a partial cancel: an exact fit first
                exact = [o for o in candidates if o.qty + o.hidden == qty - removed]
                candidates = exact[:1] + [o for o in candidates if o not in exact[:1]]
            for o in candidates:
                if removed >= qty:
                    return removed
                took = self._reduce(o.order_id, o.account, price, o.qty + o.hidden, qty - removed)
                removed += took
                if pass_synthetic:
                    r.resync_corrections += 1
                    r.resync_qty += took
                else:
                    r.sample_orders_adjusted += 1
                    r.sample_adjusted_qty += took
                r.corrections.append(
                    (
                        self._msgno,
                        "remove synthetic" if pass_synthetic else f"remove sample {o.order_id}",
                        str(side),
                        price,
                        took,
                    )
                )
                self._corrected = True
        return removed

    def _requeue(self, o) -> None:
        """Move a resting order to the back of its level, same quantity."""
        qty = o.qty + o.hidden
        self._send(CancelOrder(self._ts, o.order_id, o.account))
        if o.account == SYNTHETIC_ACCOUNT:
            self._add_synthetic(o.side, o.price, qty)
            self.result.requeued_synthetic += 1
        else:
            self._send(SubmitOrder(self._ts, self.series, o.order_id, o.account, o.side, qty, o.price))
            self.result.requeued_sample += 1

    # -------------------------------------------------------------- seeding and resync

    def seed(self) -> None:
        before = undo_first(self.msgs[0], self.snaps[0])
        self._ts = self.msgs[0].ts
        for side, levels in ((SELL, before.asks), (BUY, before.bids)):
            for price, qty in levels:
                self._add_synthetic(side, price, qty)
                self.result.seed_orders += 1
                self.result.seed_qty += qty
        self._collect()

    def resync(self, snap: Snapshot) -> None:
        """Make the engine's levels inside the row's visible price range equal
        the row: excess first (both sides), then missing quantity."""
        n = snap.levels
        plan = []
        for side, target_levels in ((SELL, snap.asks), (BUY, snap.bids)):
            target = dict(target_levels)
            # the whole side is visible when the row shows fewer than n levels, else up to its last one
            edge = None if len(target_levels) < n else target_levels[-1][0]
            have = {p: qty for p, qty, _ in self.book.levels(side, edge)}
            for p in set(have) | set(target):
                d = target.get(p, 0) - have.get(p, 0)
                if d:
                    plan.append((side, p, d))
        plan.sort(key=lambda x: (x[2] > 0, x[0], x[1]))  # removals first, deterministic order
        for side, p, d in plan:
            if d < 0:
                self._remove_from_level(side, p, -d, synthetic_only=False)
            else:
                self._add_synthetic(side, p, d)
                self.result.corrections.append((self._msgno, "add synthetic", str(side), p, d))
                self.result.resync_corrections += 1
                self.result.resync_qty += d
                self._corrected = True

    # -------------------------------------------------------------- messages

    def apply(self, m: Message) -> None:
        r = self.result
        e = self.engine
        self._ts = m.ts
        side = BUY if m.direction == 1 else SELL
        t = m.type
        if t == SUBMIT:
            events = self._send(SubmitOrder(m.ts, self.series, m.order_id, LOBSTER_ACCOUNT, side, m.size, m.price))
            r.unexpected_trades += sum(type(ev) is Trade for ev in events)  # it crossed the engine's book
        elif t == PARTIAL_CANCEL or t == DELETE:
            st = e.status(m.order_id)
            if st is not None and st.account == LOBSTER_ACCOUNT and st.price == m.price and st.side is side:
                if t == DELETE or m.size >= st.open_qty:
                    self._send(CancelOrder(m.ts, m.order_id, LOBSTER_ACCOUNT))
                else:
                    self._send(ModifyOrder(m.ts, m.order_id, LOBSTER_ACCOUNT, m.price, st.open_qty - m.size))
            else:  # a pre-existing order: take it from the synthetic quantity at its level
                r.unknown_order_cancels += 1
                self._remove_from_level(side, m.price, m.size, synthetic_only=True)
        elif t == EXECUTE:
            self._execute(m, side)
        elif t == HIDDEN_EXECUTE:
            r.hidden_executions += 1
        elif t == CROSS_TRADE:
            r.cross_trades += 1
        elif t == HALT:
            r.halts += 1

    def _execute(self, m: Message, resting: Side) -> None:
        """The engine trades ``m.size`` against the resting order ``m.order_id``
        (or synthetic orders at its price if the engine does not know it)."""
        e = self.engine
        r = self.result
        st = e.status(m.order_id)
        known = st is not None and st.account == LOBSTER_ACCOUNT and st.price == m.price and st.side is resting
        size = m.size
        if known:
            if st.open_qty < size:  # the file executes more than the order has: trade what it has
                size = st.open_qty
                r.short_executions += 1
            for o in self.book.orders_at(resting, m.price):
                if o.order_id == m.order_id:
                    break
                self._requeue(o)
        else:
            r.executions_vs_synthetic += 1
            queue = self.book.orders_at(resting, m.price)
            shortfall = size - sum(o.qty for o in queue if o.account == SYNTHETIC_ACCOUNT)
            if shortfall > 0:  # the pre-existing order is not (all) in the engine: add it first
                self._add_synthetic(resting, m.price, shortfall)
                r.resync_corrections += 1
                r.resync_qty += shortfall
                r.corrections.append((self._msgno, "add synthetic to execute", str(resting), m.price, shortfall))
                self._corrected = True
                queue = self.book.orders_at(resting, m.price)
            got = 0
            for o in queue:
                if got >= m.size:
                    break
                if o.account == SYNTHETIC_ACCOUNT:
                    got += o.qty
                else:
                    self._requeue(o)
        taker = SELL if resting is BUY else BUY
        events = self._send(
            SubmitOrder(
                m.ts, self.series, self._new_id(), TAKER_ACCOUNT, taker, size, m.price, OrderKind.LIMIT, TimeInForce.IOC
            )
        )
        fills = [ev for ev in events if type(ev) is Trade]
        if (
            sum(t.qty for t in fills) != m.size
            or any(t.price != m.price for t in fills)
            or any((t.maker_id != m.order_id) if known else (t.maker_account != SYNTHETIC_ACCOUNT) for t in fills)
        ):
            r.execution_mismatches += 1

    def run(self, on_message: Callable[[int, "LobsterReplay"], None] | None = None) -> ReplayResult:
        r = self.result
        t0 = time.perf_counter()
        self.seed()
        n = self.snaps[0].levels
        for i, (m, snap) in enumerate(zip(self.msgs, self.snaps)):
            self._corrected = False
            self._msgno = i + 1
            self.apply(m)
            self._collect()
            self.resync(snap)
            self._collect()
            r.messages += 1
            r.by_type[m.type] = r.by_type.get(m.type, 0) + 1
            if self._corrected:
                r.resync_messages += 1
            if not matches(self.book.depth(n), snap):
                r.mismatches_after_resync += 1
                if r.first_mismatch is None:
                    r.first_mismatch = i + 1
            if on_message is not None:
                on_message(i, self)
        r.seconds = time.perf_counter() - t0
        return r


def replay(
    msgs: list[Message],
    books: list[Snapshot],
    series: str = "LOBSTER",
    on_message: Callable[[int, LobsterReplay], None] | None = None,
) -> ReplayResult:
    return LobsterReplay(msgs, books, series).run(on_message)


def summary(r: ReplayResult) -> dict:
    """The JSON line `cfx replay --format lobster` prints."""
    return {
        "messages": r.messages,
        "by_type": {str(k): v for k, v in sorted(r.by_type.items())},
        "seconds": round(r.seconds, 4),
        "fills": len(r.trades),
        "volume": sum(t.qty for t in r.trades),
        "fills_sha256": fills_sha256(r.trades),
        "hidden_executions": r.hidden_executions,
        "cross_trades": r.cross_trades,
        "halts": r.halts,
        "seed_orders": r.seed_orders,
        "seed_qty": r.seed_qty,
        "resync_corrections": r.resync_corrections,
        "resync_qty": r.resync_qty,
        "resync_messages": r.resync_messages,
        "unknown_order_cancels": r.unknown_order_cancels,
        "executions_vs_synthetic": r.executions_vs_synthetic,
        "requeued_synthetic": r.requeued_synthetic,
        "requeued_sample": r.requeued_sample,
        "sample_orders_adjusted": r.sample_orders_adjusted,
        "sample_adjusted_qty": r.sample_adjusted_qty,
        "short_executions": r.short_executions,
        "execution_mismatches": r.execution_mismatches,
        "unexpected_trades": r.unexpected_trades,
        "rejects": r.rejects,
        "mismatches_after_resync": r.mismatches_after_resync,
    }


def main(args: argparse.Namespace) -> Output:
    """`cfx replay --format lobster MESSAGES.csv [--orderbook BOOK.csv]`:
    one JSON line; exit 1 if the engine's book could not be made to equal
    the file's (``mismatches_after_resync`` > 0)."""
    msgs, books = load(args.input, getattr(args, "orderbook", None))
    series = getattr(args, "series", None) or "LOBSTER"
    for flag in ("fills", "events", "book"):
        if getattr(args, flag, None):
            check(getattr(args, flag), f"--{flag}")
    with ExitStack() as stack:
        log = stack.enter_context(atomic(args.events, "wb", "--events")) if getattr(args, "events", None) else None
        rp = LobsterReplay(msgs, books, series, event_log=log)
        result = rp.run()
    if getattr(args, "fills", None):
        write_fills_csv(args.fills, result.trades)
    if getattr(args, "book", None):
        write_atomic(args.book, json.dumps(rp.engine.book(series).snapshot()), "--book")
    return Output(value=summary(result), code=1 if result.mismatches_after_resync else 0)
