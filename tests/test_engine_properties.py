"""Property tests: the engine against a small, obviously-correct reference model.

The model keeps each side as a plain list of orders sorted by (price, queue
time) and matches by walking the list front to back; pending stops are a
list scanned in full; FOK is decided by running the match on a deep copy.
No heaps, no lazy deletion, no caches. Where the engine's docstrings fix a
rule (STP default cancel-aggressing, iceberg reserve goes first on reductions,
triggered stops nearest-first then by arrival, ...), the model follows them.

Random command sequences on one series with three accounts (so self-trade
prevention happens) cover limit, market, IOC, FOK, post-only, iceberg,
stop-market, stop-limit, GTD/DAY, cancel, modify, mass cancel, account STP
defaults and invalid input. After every command the engine and the model
must agree on the outcome events (accepts, rejects with reason, trades,
cancels with quantity and reason, triggers, refills, modifies) and on the
resting orders (side, price, queue order, visible and hidden quantity) and
pending stops; and the engine's invariants must hold (book.check(),
quantity conserved per order, seq strictly increasing, cmd non-decreasing).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfx.engine import Engine
from cfx.types import (
    AdvanceTime,
    CancelOrder,
    CancelReason,
    EndOfDay,
    LevelChanged,
    ListSeries,
    MassCancel,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderKind,
    OrderModified,
    OrderRefilled,
    OrderRejected,
    OrderTriggered,
    RejectReason,
    SetAccountStp,
    Side,
    StpMode,
    SubmitOrder,
    Trade,
    TimeInForce,
)

SERIES = "HOP-H27"
BAND = (93, 107)
MAX_QTY = 12
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderKind.LIMIT, OrderKind.MARKET
STOP_MARKET, STOP_LIMIT = OrderKind.STOP_MARKET, OrderKind.STOP_LIMIT
GTC, DAY, GTD, IOC, FOK = (TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD, TimeInForce.IOC, TimeInForce.FOK)
R = RejectReason
C = CancelReason

# --------------------------------------------------------------------------- the reference model


@dataclass
class MOrder:
    oid: int
    acct: int
    side: Side
    price: int
    vis: int  # visible open quantity (a pending stop: all of it)
    hidden: int
    display: int
    kind: OrderKind
    tif: TimeInForce
    stp: StpMode | None
    post_only: bool
    stop_price: int
    expire_ns: int
    t: int = 0  # queue time: set when it goes to the back of its level
    live_t: int = 0  # when it (last) became live: mass cancel and end of day go in this order
    gtd_t: int | None = None  # when it was first put on the expiry list
    arrival: int = 0  # a pending stop's arrival


class Killed(Exception):
    pass


class Model:
    def __init__(self, band=BAND, max_qty=MAX_QTY) -> None:
        self.band = band
        self.max_qty = max_qty
        self.bids: list[MOrder] = []  # best first: (-price, t)
        self.asks: list[MOrder] = []  # best first: (price, t)
        self.stops: list[MOrder] = []
        self.last: int | None = None
        self.traded: list[int] = []  # prices traded in the current command
        self.acct_stp: dict[int, StpMode] = {}
        self.clock = count(1)
        self.out: list[tuple] = []

    # ---- state

    def resting(self) -> list[MOrder]:
        return self.bids + self.asks

    def live(self) -> dict[int, MOrder]:
        return {o.oid: o for o in self.bids + self.asks + self.stops}

    def side_list(self, side: Side) -> list[MOrder]:
        return self.bids if side is BUY else self.asks

    def sort(self) -> None:
        self.bids.sort(key=lambda o: (-o.price, o.t))
        self.asks.sort(key=lambda o: (o.price, o.t))

    def remove(self, o: MOrder) -> None:
        for lst in (self.bids, self.asks, self.stops):
            if any(x is o for x in lst):
                lst[:] = [x for x in lst if x is not o]
                return
        raise AssertionError(o)

    def cancel(self, o: MOrder, reason: CancelReason) -> None:
        self.remove(o)
        self.out.append(("cancel", o.oid, o.vis + o.hidden, reason))

    def crosses(self, side: Side, price: int, limit: int | None) -> bool:
        """Is a resting ``price`` on the other side tradeable for an aggressor of ``side``?"""
        return limit is None or (price <= limit if side is BUY else price >= limit)

    def market_limit(self, side: Side) -> int | None:
        if self.band is None:
            return None
        return self.band[1] if side is BUY else self.band[0]

    def take(self, o: MOrder, d: int) -> None:
        """Remove ``d`` (< open) lots from a resting order: reserve first."""
        h = min(d, o.hidden)
        o.hidden -= h
        o.vis -= d - h

    # ---- matching

    def match(self, o: MOrder, qty: int, limit: int | None) -> int:
        """Trade ``qty`` of ``o`` against the other side; the quantity left.
        Raises Killed when self-trade prevention cancels the aggressor."""
        opp = self.asks if o.side is BUY else self.bids
        mode = o.stp or self.acct_stp.get(o.acct, StpMode.CANCEL_AGGRESSING)
        while qty and opp and self.crosses(o.side, opp[0].price, limit):
            m = opp[0]
            if m.acct == o.acct and mode is not StpMode.NONE:
                if mode is StpMode.CANCEL_RESTING:
                    self.cancel(m, C.STP)
                    continue
                if mode is StpMode.CANCEL_AGGRESSING:
                    self.out.append(("cancel", o.oid, qty, C.STP))
                    raise Killed
                if mode is StpMode.CANCEL_BOTH:
                    self.cancel(m, C.STP)
                    self.out.append(("cancel", o.oid, qty, C.STP))
                    raise Killed
                d = min(m.vis + m.hidden, qty)  # decrement and cancel
                if d == m.vis + m.hidden:
                    self.cancel(m, C.STP)
                else:
                    self.take(m, d)
                    self.out.append(("cancel", m.oid, d, C.STP))
                self.out.append(("cancel", o.oid, d, C.STP))
                qty -= d
                if not qty:
                    raise Killed
                continue
            t = min(m.vis, qty)
            self.out.append(("trade", m.oid, o.oid, m.price, t))
            self.last = m.price
            self.traded.append(m.price)
            m.vis -= t
            qty -= t
            if not m.vis:
                if m.hidden:
                    m.vis = min(m.display, m.hidden)
                    m.hidden -= m.vis
                    m.t = next(self.clock)
                    self.out.append(("refill", m.oid, m.vis))
                    self.sort()
                else:
                    opp.pop(0)
        return qty

    def place(self, o: MOrder, qty: int, limit: int | None) -> None:
        try:
            qty = self.match(o, qty, limit)
        except Killed:
            return
        if not qty:
            return
        if o.kind is LIMIT and o.tif not in (IOC, FOK):
            self.rest(o, qty)
        else:
            opp = self.asks if o.side is BUY else self.bids
            band = o.kind is MARKET and limit is not None and opp
            self.out.append(("cancel", o.oid, qty, C.BAND if band else C.IOC_REMAINDER))

    def rest(self, o: MOrder, qty: int) -> None:
        if o.display and qty > o.display:
            o.vis, o.hidden = o.display, qty - o.display
        else:
            o.vis, o.hidden = qty, 0
        o.t = o.live_t = next(self.clock)
        if o.tif is GTD and o.gtd_t is None:
            o.gtd_t = next(self.clock)
        self.side_list(o.side).append(o)
        self.sort()

    def enter(self, o: MOrder, qty: int) -> None:
        """An order meets the book, then the stops its trades reach enter."""
        self.place(o, qty, o.price if o.kind is LIMIT else self.market_limit(o.side))
        self.run_stops()

    def run_stops(self) -> None:
        """Every stop that a price traded in this command reached (or, for a
        stop just submitted, the last price) enters, one at a time: buys
        first, nearest trigger first, then by arrival; re-checked after each."""
        while self.traded:
            high, low = max(self.traded), min(self.traded)
            buys = sorted(
                (s for s in self.stops if s.side is BUY and s.stop_price <= high),
                key=lambda s: (s.stop_price, s.arrival),
            )
            sells = sorted(
                (s for s in self.stops if s.side is SELL and s.stop_price >= low),
                key=lambda s: (-s.stop_price, s.arrival),
            )
            elected = buys + sells
            if not elected:
                return
            s = elected[0]
            self.remove(s)
            self.out.append(("trigger", s.oid))
            s.kind = MARKET if s.kind is STOP_MARKET else LIMIT
            qty, s.vis = s.vis, 0
            self.place(s, qty, s.price if s.kind is LIMIT else self.market_limit(s.side))

    def fok_fills(self, o: MOrder, qty: int, limit: int | None) -> bool:
        """Would all of ``qty`` trade now? Run it on a copy and see."""
        trial = copy.deepcopy(self)
        trial.out = []
        try:
            trial.match(copy.copy(o), qty, limit)
        except Killed:
            return False
        return sum(e[4] for e in trial.out if e[0] == "trade") == qty  # not an STP decrement

    def expire(self, ts: int) -> None:
        due = [o for o in self.live().values() if o.tif is GTD and o.gtd_t is not None and o.expire_ns <= ts]
        for o in sorted(due, key=lambda o: (o.expire_ns, o.gtd_t)):
            self.cancel(o, C.EXPIRY)

    def in_band(self, price: int) -> bool:
        return self.band is None or self.band[0] <= price <= self.band[1]

    # ---- commands

    def reject(self, oid: int, reason: RejectReason) -> None:
        self.out.append(("reject", oid, reason))

    def submit(self, c: SubmitOrder) -> None:
        self.expire(c.ts)
        kind, tif, qty, price = c.kind, c.tif, c.qty, c.price
        reason = None
        if c.series != SERIES:
            reason = R.UNKNOWN_SERIES
        elif qty <= 0:
            reason = R.BAD_QUANTITY
        elif qty > self.max_qty:
            reason = R.QUANTITY_TOO_LARGE
        elif c.order_id in self.live():
            reason = R.DUPLICATE_ORDER_ID
        elif kind in (LIMIT, STOP_LIMIT) and price <= 0:
            reason = R.BAD_PRICE
        elif kind in (LIMIT, STOP_LIMIT) and not self.in_band(price):
            reason = R.PRICE_OUTSIDE_BAND
        elif kind in (MARKET, STOP_MARKET) and price != 0:
            reason = R.BAD_PRICE
        elif kind in (STOP_MARKET, STOP_LIMIT) and (c.stop_price <= 0 or tif is FOK):
            reason = R.BAD_ORDER_TYPE
        elif kind in (LIMIT, MARKET) and c.stop_price:
            reason = R.BAD_ORDER_TYPE
        elif c.display_qty and (c.display_qty < 0 or c.display_qty > qty):
            reason = R.BAD_DISPLAY_QUANTITY
        elif c.display_qty and (kind is not LIMIT or tif in (IOC, FOK)):
            reason = R.BAD_ORDER_TYPE
        elif c.post_only and (kind is not LIMIT or tif in (IOC, FOK)):
            reason = R.BAD_ORDER_TYPE
        elif (tif is GTD and c.expire_ns <= c.ts) or (tif is not GTD and c.expire_ns):
            reason = R.BAD_EXPIRY
        if reason is None and c.post_only:
            opp = self.asks if c.side is BUY else self.bids
            if opp and self.crosses(c.side, opp[0].price, price):
                reason = R.POST_ONLY_WOULD_CROSS
        o = MOrder(
            c.order_id,
            c.account,
            c.side,
            price,
            qty,
            0,
            c.display_qty,
            kind,
            tif,
            c.stp,
            c.post_only,
            c.stop_price,
            c.expire_ns,
        )
        if reason is None and tif is FOK and kind in (LIMIT, MARKET):
            if not self.fok_fills(o, qty, price if kind is LIMIT else self.market_limit(c.side)):
                reason = R.FOK_CANNOT_FILL
        if reason is not None:
            self.reject(c.order_id, reason)
            return
        self.out.append(("accept", c.order_id))
        if kind in (LIMIT, MARKET):
            o.vis = 0
            self.enter(o, qty)
        else:
            o.arrival = o.live_t = next(self.clock)
            if tif is GTD:
                o.gtd_t = next(self.clock)
            self.stops.append(o)
            if self.last is not None:
                self.traded = [self.last]  # the last price may already be through its stop
            self.run_stops()

    def cancel_cmd(self, c: CancelOrder) -> None:
        self.expire(c.ts)
        o = self.live().get(c.order_id)
        if o is None:
            self.reject(c.order_id, R.UNKNOWN_ORDER)
        elif o.acct != c.account:
            self.reject(c.order_id, R.NOT_OWNER)
        else:
            self.cancel(o, C.USER)

    def modify(self, c: ModifyOrder) -> None:
        self.expire(c.ts)
        o = self.live().get(c.order_id)
        reason = None
        if o is None:
            reason = R.UNKNOWN_ORDER
        elif o.acct != c.account:
            reason = R.NOT_OWNER
        elif o.kind is not LIMIT:
            reason = R.NOT_MODIFIABLE
        elif c.qty <= 0:
            reason = R.BAD_QUANTITY
        elif c.qty > self.max_qty:
            reason = R.QUANTITY_TOO_LARGE
        elif c.price <= 0:
            reason = R.BAD_PRICE
        elif not self.in_band(c.price):
            reason = R.PRICE_OUTSIDE_BAND
        elif o.post_only and c.price != o.price:
            opp = self.asks if o.side is BUY else self.bids
            if opp and self.crosses(o.side, opp[0].price, c.price):
                reason = R.POST_ONLY_WOULD_CROSS
        if reason is not None:
            self.reject(c.order_id, reason)
            return
        open_qty = o.vis + o.hidden
        if c.price == o.price and c.qty <= open_qty:
            if c.qty < open_qty:
                self.take(o, open_qty - c.qty)
            self.out.append(("modified", o.oid, c.price, c.qty, True))
            return
        self.remove(o)
        self.out.append(("modified", o.oid, c.price, c.qty, False))
        new = copy.copy(o)
        new.price, new.vis, new.hidden, new.gtd_t = c.price, 0, 0, None
        self.enter(new, c.qty)

    def mass_cancel(self, c: MassCancel) -> None:
        self.expire(c.ts)
        for o in sorted(self.live().values(), key=lambda o: o.live_t):
            if c.account is None or o.acct == c.account:
                self.cancel(o, C.MASS_CANCEL)

    def end_of_day(self, c: EndOfDay) -> None:
        self.expire(c.ts)
        for o in sorted(self.live().values(), key=lambda o: o.live_t):
            if o.tif is DAY:
                self.cancel(o, C.EXPIRY)

    def apply(self, c) -> None:
        self.traded = []
        if isinstance(c, SubmitOrder):
            self.submit(c)
        elif isinstance(c, CancelOrder):
            self.cancel_cmd(c)
        elif isinstance(c, ModifyOrder):
            self.modify(c)
        elif isinstance(c, MassCancel):
            self.mass_cancel(c)
        elif isinstance(c, EndOfDay):
            self.end_of_day(c)
        elif isinstance(c, AdvanceTime):
            self.expire(c.ts)
        elif isinstance(c, SetAccountStp):
            self.expire(c.ts)
            self.acct_stp[c.account] = c.mode
        else:
            raise TypeError(c)

    # ---- views for comparison

    def book_view(self) -> tuple:
        return tuple(tuple((o.price, o.oid, o.acct, o.vis, o.hidden) for o in lst) for lst in (self.bids, self.asks))

    def stops_view(self) -> list:
        return sorted((o.oid, o.side, o.stop_price, o.vis) for o in self.stops)


# --------------------------------------------------------------------------- the engine's side


def engine_outcomes(events) -> list[tuple]:
    out = []
    for e in events:
        t = type(e)
        if t is OrderAccepted:
            out.append(("accept", e.order_id))
        elif t is OrderRejected:
            out.append(("reject", e.order_id, e.reason))
        elif t is Trade:
            out.append(("trade", e.maker_id, e.taker_id, e.price, e.qty))
        elif t is OrderCancelled:
            out.append(("cancel", e.order_id, e.qty, e.reason))
        elif t is OrderTriggered:
            out.append(("trigger", e.order_id))
        elif t is OrderRefilled:
            out.append(("refill", e.order_id, e.qty))
        elif t is OrderModified:
            out.append(("modified", e.order_id, e.price, e.qty, e.kept_priority))
    return out


def engine_book_view(engine: Engine) -> tuple:
    book = engine.book(SERIES)
    sides = []
    for side in (BUY, SELL):
        rows = []
        for p, _, _ in book.levels(side):
            rows += [(p, o.order_id, o.account, o.qty, o.hidden) for o in book.orders_at(side, p)]
        sides.append(tuple(rows))
    return tuple(sides)


def engine_stops_view(engine: Engine) -> list:
    return sorted(
        (o.order_id, o.side, o.stop_price, o.qty) for o in engine.live_orders() if o.kind in (STOP_MARKET, STOP_LIMIT)
    )


class Conservation:
    """Per order (an id's current incarnation): submitted qty + modify deltas
    = filled + cancelled + resting open qty."""

    def __init__(self) -> None:
        self.acct: dict[int, list[int]] = {}  # oid -> [submitted + deltas, filled, cancelled]

    def before(self, engine: Engine, c) -> int | None:
        if isinstance(c, ModifyOrder):
            st = engine.status(c.order_id)
            return None if st is None else st.open_qty
        return None

    def after(self, engine: Engine, events, open_before: int | None) -> None:
        a = self.acct
        for e in events:
            t = type(e)
            if t is OrderAccepted:
                old = a.get(e.order_id)
                assert old is None or old[0] == old[1] + old[2], ("id reused while live", e.order_id, old)
                a[e.order_id] = [e.qty, 0, 0]
            elif t is Trade:
                a[e.maker_id][1] += e.qty
                a[e.taker_id][1] += e.qty
            elif t is OrderCancelled:
                a[e.order_id][2] += e.qty
            elif t is OrderModified:
                a[e.order_id][0] += e.qty - open_before
        for oid, (total, filled, cancelled) in a.items():
            st = engine.status(oid)
            resting = 0 if st is None else st.open_qty
            assert total == filled + cancelled + resting, (oid, total, filled, cancelled, resting)
            if st is not None:
                assert st.filled_qty == filled, (oid, st, filled)


# --------------------------------------------------------------------------- command generation

OPS = ["limit"] * 8 + [
    "market",
    "ioc",
    "fok",
    "fok",
    "post",
    "iceberg",
    "iceberg",
    "stop_market",
    "stop_market",
    "stop_limit",
    "stop_limit",
    "gtd",
    "day",
    "cancel",
    "cancel",
    "cancel",
    "modify",
    "modify",
    "modify",
    "modify",
    "mass",
    "eod",
    "advance",
    "setstp",
]
QTYS = list(range(1, 9)) * 3 + [0, -1, MAX_QTY + 1]
STPS = [None] * 5 + list(StpMode)

PRICES = list(range(96, 105)) * 3 + [BAND[0] - 1, BAND[0], BAND[1], BAND[1] + 1]

raw_command = st.tuples(
    st.sampled_from(OPS),
    st.integers(0, 15),  # which order (see to_commands)
    st.integers(1, 3),  # account
    st.sampled_from([BUY, SELL]),
    st.sampled_from(PRICES),  # sometimes outside the band
    st.sampled_from(QTYS),
    st.sampled_from([0, 1, 1, 2, 5, 30]),  # time step
    st.integers(0, 24),  # oddity: an invalid or unusual option, rarely
    st.sampled_from(STPS),
    st.integers(95, 105),  # stop price
)


def to_command(raw, ts: int, oid: int):
    """One generated tuple as a command at time ``ts`` (order id ``oid``)."""
    op, _, acct, side, price, qty, _, odd, stp, stop = raw
    kw: dict = {"stp": stp}
    if op in ("limit", "post", "iceberg", "gtd", "day"):
        kw["tif"] = {"gtd": GTD, "day": DAY}.get(op, GTC)
        if op == "post":
            kw["post_only"] = True
        if op == "iceberg":
            kw["display_qty"] = [1, 2, 3, 3, -1, qty + 1][odd % 6]
        if op == "gtd":
            kw["expire_ns"] = ts + [0, 3, 10, 40, 100][odd % 5]
    elif op in ("ioc", "fok"):
        kw["tif"] = IOC if op == "ioc" else FOK
    elif op == "market":
        price = 0
        kw.update(kind=MARKET, tif=[IOC, FOK, GTC, DAY][odd % 4])
    elif op in ("stop_market", "stop_limit"):
        kw.update(
            kind=STOP_MARKET if op == "stop_market" else STOP_LIMIT,
            stop_price=stop,
            tif=[GTC, GTC, DAY, IOC, GTD, FOK][odd % 6],
        )  # FOK stops are rejected
        if op == "stop_market":
            price = 0
        if kw["tif"] is GTD:
            kw["expire_ns"] = ts + 20
    elif op == "mass":
        return MassCancel(ts, account=None if odd % 3 == 0 else acct, series=SERIES)
    elif op == "eod":
        return EndOfDay(ts)
    elif op == "advance":
        return AdvanceTime(ts)
    elif op == "setstp":
        return SetAccountStp(acct, list(StpMode)[odd % 5], ts)
    if odd == 20:  # oddities: each an invalid (or odd) combination
        kw["post_only"] = True
    elif odd == 21:
        kw["display_qty"] = 1
    elif odd == 22:
        kw["stop_price"] = stop
    elif odd == 23:
        kw["expire_ns"] = ts + 7
    elif odd == 24:  # a price where none belongs, or none where one does
        price = 100 if kw.get("kind") in (MARKET, STOP_MARKET) else 0
    return SubmitOrder(ts, SERIES, oid, acct, side, qty, price, **kw)


def to_commands(raws) -> list:
    """Commands from generated tuples. New orders get fresh ids, except now
    and then an earlier id (a legal reuse or a duplicate); cancels and modifies
    pick one of the last few orders, mostly as its owner, and a modify often
    keeps the price (so it may keep priority)."""
    ts = 1000
    cmds = []
    orders: list[tuple[int, int, int]] = []  # (order_id, account, price) as submitted
    for raw in raws:
        op, pick, acct, side, price, qty, dt, odd, stp, stop = raw
        ts += dt
        if op in ("cancel", "modify") and orders:
            oid, owner, oprice = orders[-1 - pick % min(len(orders), 8)]
            if odd > 1:
                acct = owner
            if op == "cancel":
                cmds.append(CancelOrder(ts, oid, acct))
            else:
                cmds.append(ModifyOrder(ts, oid, acct, oprice if odd % 3 == 0 else price, qty))
            continue
        if op in ("cancel", "modify"):
            cmds.append(CancelOrder(ts, 99, acct))
            continue
        oid = orders[pick % len(orders)][0] if odd % 8 == 0 and orders else len(orders) + 1
        c = to_command(raw, ts, oid)
        if isinstance(c, SubmitOrder):
            orders.append((oid, c.account, c.price))
        cmds.append(c)
    return cmds


command_lists = st.lists(raw_command, min_size=20, max_size=100).map(to_commands)


def new_engine() -> Engine:
    e = Engine()
    e.list_series(ListSeries(SERIES, max_qty=MAX_QTY, band_low=BAND[0], band_high=BAND[1]))
    return e


# --------------------------------------------------------------------------- the properties

PROPERTY_SETTINGS = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY_SETTINGS
@given(command_lists)
def test_engine_agrees_with_the_reference_model(cmds):
    engine, model = new_engine(), Model()
    book = engine.book(SERIES)
    conservation = Conservation()
    last_seq = 0
    last_cmd = 0
    for i, c in enumerate(cmds):
        n = len(engine.events)
        open_before = conservation.before(engine, c)
        engine.apply(c)
        events = engine.events[n:]
        model.out = []
        model.apply(c)
        where = (i, c)
        assert engine_outcomes(events) == model.out, where
        assert engine_book_view(engine) == model.book_view(), where
        assert engine_stops_view(engine) == model.stops_view(), where
        assert book.last_price == model.last, where
        # invariants, from the engine alone
        book.check()
        conservation.after(engine, events, open_before)
        for e in events:
            assert e.seq > last_seq, (where, e)
            assert e.cmd >= last_cmd and e.cmd == engine.cmd_seq, (where, e)
            last_seq, last_cmd = e.seq, e.cmd
        rejects = [e for e in events if type(e) is OrderRejected]
        if rejects:  # a refused command leaves exactly one event
            assert len(rejects) == 1 and events[-1] is rejects[0], where
            assert all(
                (type(e) is OrderCancelled and e.reason is C.EXPIRY) or type(e) is LevelChanged for e in events[:-1]
            ), where  # only what expired before it
        bb, ba = book.best_bid(), book.best_ask()
        assert bb is None or ba is None or bb < ba


@PROPERTY_SETTINGS
@given(command_lists)
def test_replaying_the_same_commands_gives_the_same_events(cmds):
    runs = []
    for _ in range(2):
        engine = new_engine()
        for c in cmds:
            engine.apply(c)
        runs.append(list(engine.events))
    assert runs[0] == runs[1]


def test_model_sanity_a_hand_written_sequence():
    """The model itself on a sequence whose answer is known (so a model bug
    cannot hide behind agreement with an engine bug)."""
    m = Model(band=None)
    m.apply(SubmitOrder(1, SERIES, 1, 1, SELL, 6, 100, display_qty=2))
    m.apply(SubmitOrder(2, SERIES, 2, 2, SELL, 3, 100))
    m.apply(SubmitOrder(3, SERIES, 3, 3, BUY, 3, kind=STOP_MARKET, stop_price=100))
    m.out = []
    m.apply(SubmitOrder(4, SERIES, 4, 3, BUY, 2, 100))
    assert m.out == [("accept", 4), ("trade", 1, 4, 100, 2), ("refill", 1, 2), ("trigger", 3), ("trade", 2, 3, 100, 3)]
    assert m.book_view() == ((), ((100, 1, 1, 2, 2),))
