"""Default management: the clearing house closes out a defaulter's positions
through the book during the next trading session.

A `LiquidationSchedule` (scenario ``[rules.liquidation]``) works each
defaulted account's open positions as a broker would for a clearing house:
from ``start-after-open-s`` after the open, every ``interval-s`` seconds,
one immediate-or-cancel limit order per position of at most
``slice-lots`` lots, priced ``limit-ticks`` through the touch it sees (a
sell at the best bid minus that, a buy at the best ask plus it), inside the
price band; what does not fill is cancelled and tried again at the next
slice, and what is open at the close carries to the next session. Nothing
is sent while the series is halted, in a call, or has no opposite side.

Every order is a `SubmitOrder` the loop journals like any other command,
from the clearing house's liquidation id range; the clearing house's risk
gate lets a defaulter send only those, and only to reduce. Losses (or
gains) of the close-out go through the waterfall at the settlement run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cfx.types import OrderKind, SessionState, Side, SubmitOrder, TimeInForce

if TYPE_CHECKING:
    from cfx.sim.loop import Simulation

NS = 1_000_000_000
TRADING = (SessionState.CONTINUOUS, SessionState.SETTLEMENT_WINDOW)


class Liquidator:
    """Sends the close-out slices of every defaulter, on the loop's clock.
    `start_day(open_ts, close_ts)` each morning; `liquidation_fills`
    counts the lots it got filled."""

    def __init__(self, sim: "Simulation") -> None:
        self.sim = sim
        self.spec = sim.sc.rules.liquidation
        self.next_id = sim.venue.clearing.config.liquidation_order_id_base
        self.close_ts = 0
        self.sent: set[int] = set()
        self.fills = 0  # lots of liquidation orders filled

    def start_day(self, open_ts: int, close_ts: int) -> None:
        self.close_ts = close_ts
        self.sim.at(open_ts + self.spec.start_after_open_s * NS, self.step)

    def step(self) -> None:
        """One round of slices; schedules the next while anything is open."""
        sim = self.sim
        todo = sim.venue.clearing.liquidating()
        if not todo:
            return  # woken again by the next day's start_day (a new default is declared after a close)
        engine = sim.venue.engine
        spec = self.spec
        for account, positions in todo.items():
            for series, qty in positions.items():
                if engine.session_state(series) not in TRADING:
                    continue
                book = engine.book(series)
                band = engine.price_band(series)
                if qty > 0:
                    touch = book.best_bid()
                    if touch is None:
                        continue
                    price = touch - spec.limit_ticks
                    if band is not None:
                        price = max(price, band[0])
                    side = Side.SELL
                else:
                    touch = book.best_ask()
                    if touch is None:
                        continue
                    price = touch + spec.limit_ticks
                    if band is not None:
                        price = min(price, band[1])
                    side = Side.BUY
                oid = self.next_id
                self.next_id += 1
                self.sent.add(oid)
                sim._send(SubmitOrder(sim.now, series, oid, account, side, min(abs(qty), spec.slice_lots),
                                      max(1, price), OrderKind.LIMIT, TimeInForce.IOC))
        nxt = sim.now + spec.interval_s * NS
        if nxt < self.close_ts:
            sim.at(nxt, self.step)
