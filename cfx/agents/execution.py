"""Executor: works a parent order into child orders over time.

A trader that wants to buy 200 lots does not send 200 lots at once; it
slices the parent order and sends the slices over minutes or hours (TWAP:
evenly in time; POV: a fraction of the market's traded volume). Sliced
parent orders are what makes the signs of aggressive orders persist in
real markets (Lillo & Farmer 2004): many children of one parent hit the
same side one after the other.

An agent owns its executors and forwards wake-ups and its order events::

    ex = Executor(series, Side.BUY, 200, start_ns=ctx.now, end_ns=ctx.now + HOUR)
    delay = ex.on_wakeup(ctx)          # sends what is due; ns until it wants to wake again
    ex.on_order_event(ctx, event)      # fills and cancels of its children

Children are limit orders (passive ones DAY, so none rests overnight). ``urgency`` (0..1) is the chance a child
crosses the spread (an IOC at the other side's best price) rather than
joining its own side's best price passively; once the fills are behind
schedule by more than two children's worth, children cross. A passive child still
resting at the next slice is moved to the current touch (modify) or
topped up. ``limit_ticks`` caps a buy's price (floors a sell's): a child
never goes through it. Past ``end_ns`` the executor crosses for what is
left in clips of ``max_child_lots`` for a grace period (a tenth of the
horizon, at least a minute), then stops with whatever is unfilled.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from cfx.types import OrderCancelled, OrderRejected, Side, TimeInForce, Trade
from cfx.units import NS

BUY = Side.BUY  # a module constant: reading an enum member off its class costs ~10x a global (Python 3.11)

if TYPE_CHECKING:
    from cfx.agents.base import Context

SECOND = NS
IOC = TimeInForce.IOC
DAY = TimeInForce.DAY
STYLES = ("twap", "pov")


class Executor:
    """One parent order being worked (see the module docstring).

    ``style`` "twap": the schedule is linear in time from ``start_ns`` to
    ``end_ns``, in slices of at most ``max_child_lots`` (one slice every
    horizon / number of slices on average, at exponential intervals, so that
    two parents worked at once interleave at random rather than in turn). ``style`` "pov": every
    ``pov_interval_ns`` it aims at ``pov_rate`` × the public volume traded
    since ``start_ns`` (from ``ctx.trades``; with no tape it falls back to
    the TWAP schedule). ``remaining`` counts lots neither filled nor given
    up; ``done`` once nothing is left to do."""

    __slots__ = (
        "series",
        "side",
        "qty",
        "start_ns",
        "end_ns",
        "style",
        "pov_rate",
        "max_child_lots",
        "limit_ticks",
        "urgency",
        "filled",
        "done",
        "children",
        "slice_ns",
        "pov_interval_ns",
        "grace_ns",
        "market_volume",
        "_tape_since",
        "crossed",
        "sent",
    )

    def __init__(
        self,
        series: str,
        side: Side,
        qty: int,
        *,
        start_ns: int,
        end_ns: int,
        style: str = "twap",
        pov_rate: float = 0.1,
        max_child_lots: int = 10,
        limit_ticks: int | None = None,
        urgency: float = 0.5,
        pov_interval_ns: int = 30 * SECOND,
    ) -> None:
        if qty <= 0:
            raise ValueError("qty must be > 0")
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}")
        if max_child_lots <= 0:
            raise ValueError("max_child_lots must be > 0")
        if not 0.0 <= urgency <= 1.0:
            raise ValueError("urgency must be in [0, 1]")
        if not 0.0 < pov_rate <= 1.0:
            raise ValueError("pov_rate must be in (0, 1]")
        self.series = series
        self.side = side
        self.qty = qty
        self.start_ns = start_ns
        self.end_ns = max(end_ns, start_ns + 1)
        self.style = style
        self.pov_rate = pov_rate
        self.max_child_lots = max_child_lots
        self.limit_ticks = limit_ticks
        self.urgency = urgency
        self.filled = 0
        self.done = False
        self.children: dict[int, list] = {}  # order id -> [price, open qty, passive]
        n = math.ceil(qty / max_child_lots)
        self.slice_ns = max(1, (self.end_ns - start_ns) // n)
        self.pov_interval_ns = pov_interval_ns
        self.grace_ns = max(60 * SECOND, (self.end_ns - start_ns) // 10)
        self.market_volume = 0  # public lots traded since start (pov)
        self._tape_since = start_ns
        self.crossed = 0  # children sent aggressively
        self.sent = 0  # children sent

    # ------------------------------------------------------------------ state

    @property
    def remaining(self) -> int:
        """Lots still to be bought or sold (0 once done)."""
        return 0 if self.done else self.qty - self.filled

    @property
    def working(self) -> int:
        """Lots in child orders not yet filled or cancelled."""
        return sum(c[1] for c in self.children.values())

    def target(self, now: int) -> int:
        """Lots that should be filled by ``now`` on the schedule."""
        if now >= self.end_ns:
            return self.qty
        if self.style == "pov" and self._tape_since is not None:
            return min(self.qty, int(self.pov_rate * self.market_volume))
        frac = (now - self.start_ns) / (self.end_ns - self.start_ns)
        return min(self.qty, max(0, math.ceil(frac * self.qty)))

    # ------------------------------------------------------------------ hooks

    def on_wakeup(self, ctx: "Context") -> int | None:
        """Send the children due now; ns until the next wake-up it wants
        (None once done)."""
        if self.done:
            return None
        now = ctx.now
        if now < self.start_ns:
            return self.start_ns - now
        left = self.qty - self.filled
        if left <= 0 or now >= self.end_ns + self.grace_ns:
            self.cancel(ctx)
            return None
        pov = self.style == "pov"
        if pov:
            self._read_tape(ctx, now)
        q = ctx.quote(self.series)
        buy = self.side is BUY
        own_best, other_best = (q.bid, q.ask) if buy else (q.ask, q.bid)
        behind = self.target(now if pov else now + self.slice_ns) - self.filled
        late = now >= self.end_ns or self.target(now) - self.filled > 2 * self.max_child_lots
        # passive children left over follow the touch; one pass also sums what is `working`
        # (no copy of the dict: ctx calls never deliver order events from inside)
        working = 0
        capped = self.limit_ticks is not None
        for oid, c in self.children.items():
            working += c[1]
            if not c[2]:
                continue
            if late:
                ctx.cancel(oid)
                c[2] = False  # the cancel is in flight; counted as working until confirmed
                continue
            price = own_best if own_best is not None else c[0]
            if capped:
                price = self._capped(price)
            if price is not None and price != c[0]:
                ctx.modify(oid, price, c[1])
                c[0] = price
        need = min(behind, left) - working
        if need > 0:
            qty = min(need, self.max_child_lots)
            cross = late or ctx.rng.random() < self.urgency
            if cross and other_best is not None:
                price = self._capped(other_best, crossing=True)
                if price is not None:
                    self._child(ctx, qty, price, passive=False)
                    self.crossed += 1
            elif own_best is not None or other_best is not None:
                price = own_best if own_best is not None else (other_best - 1 if buy else other_best + 1)
                price = self._capped(price)
                if price is not None and price > 0:
                    self._child(ctx, qty, price, passive=True)
        if late:
            return max(1, SECOND)
        step = self.pov_interval_ns if pov else self.slice_ns
        return max(1, int(-math.log1p(-ctx.rng.random()) * step))  # Poisson: parents interleave at random

    def on_order_event(self, ctx: "Context", event: Any) -> None:
        """Track the children: fills count, cancels and rejects free the quantity."""
        t = type(event)
        children = self.children
        if t is Trade:
            for oid in (event.maker_id, event.taker_id):
                c = children.get(oid)
                if c is not None:
                    q = min(event.qty, c[1])
                    self.filled += q
                    c[1] -= q
                    if c[1] <= 0:
                        del children[oid]
            if self.filled >= self.qty:
                self.done = True
        elif t is OrderCancelled or t is OrderRejected:
            children.pop(event.order_id, None)

    def owns(self, order_id: int) -> bool:
        return order_id in self.children

    def cancel(self, ctx: "Context") -> None:
        """Stop: cancel the resting children; nothing more is sent."""
        for oid, c in self.children.items():
            if c[2]:
                ctx.cancel(oid)
        self.done = True

    # ------------------------------------------------------------------ internals

    def _capped(self, price: int, crossing: bool = False) -> int | None:
        lim = self.limit_ticks
        if lim is None:
            return price
        if self.side is BUY:
            if price > lim:
                return None if crossing else lim
        elif price < lim:
            return None if crossing else lim
        return price

    def _child(self, ctx: "Context", qty: int, price: int, passive: bool) -> None:
        if passive:
            oid = ctx.submit(self.series, self.side, qty, price, tif=DAY)
        else:
            oid = ctx.submit(self.series, self.side, qty, price, tif=IOC)
        self.children[oid] = [price, qty, passive]
        self.sent += 1

    def _read_tape(self, ctx: "Context", now: int) -> None:
        trades = getattr(ctx, "trades", None)
        if trades is None:
            self._tape_since = None  # no public tape: the TWAP schedule
            return
        since = self._tape_since
        for t in trades(self.series, since):
            self.market_volume += t.qty
            if t.ts + 1 > since:
                since = t.ts + 1
        self._tape_since = since


__all__ = ["Executor", "STYLES"]
