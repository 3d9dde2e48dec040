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

Or, with ``style = "auction"`` (CME's default auction of the portfolio to
the other members), at that time each position is offered whole to the
other members that make markets (the participants that can withdraw
quotes, as the ``mm-withdrawal`` shock picks them): each bids its
expected final settlement as it sees it, less ``auction-discount-ticks``
(plus, for a short position); the best price wins (ties: the lower
account). The winner's order enters the book at its bid, the defaulter's
IOC order at the same price follows (so a better resting bid still comes
first), and what is left of the winner's order is cancelled. A position
that could not be auctioned (no bidder, a halted series, or the winner's
credit) goes through the book's schedule from the next slice on.

Every order is a `SubmitOrder` the loop journals like any other command,
from the clearing house's liquidation id range; the clearing house's risk
gate lets a defaulter send only those, and only to reduce. Losses (or
gains) of the close-out go through the waterfall at the settlement run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cfx.agents.base import Withdrawable
from cfx.types import CancelOrder, OrderKind, SessionState, Side, SubmitOrder, TimeInForce
from cfx.units import NS

if TYPE_CHECKING:
    from cfx.sim.loop import Simulation

TRADING = (SessionState.CONTINUOUS, SessionState.SETTLEMENT_WINDOW)


class Liquidator:
    """Sends the close-out orders of every defaulter, on the loop's clock.
    `start_day(open_ts, close_ts)` each morning; ``auctions`` records the
    default auctions held."""

    def __init__(self, sim: "Simulation") -> None:
        self.sim = sim
        self.spec = sim.sc.rules.liquidation
        self.next_id = sim.venue.clearing.config.liquidation_order_id_base
        self.close_ts = 0
        self.sent: set[int] = set()
        self.auctioned: set[tuple[int, str]] = set()  # (account, series) offered in a default auction
        self.auctions: list[tuple] = []  # (ts, series, defaulter, winner, price, lots)
        self.pending: int | None = None  # when the next round is scheduled

    def start_day(self, open_ts: int, close_ts: int) -> None:
        self.close_ts = close_ts
        self.pending = open_ts + self.spec.start_after_open_s * NS
        self.sim.at(self.pending, self.step)

    def kick(self) -> None:
        """A default declared intraday (a perpetual's mark): close out from
        now on, unless a round is already due (the morning's, or the next slice)."""
        now = self.sim.now
        if self.pending is None or self.pending < now:
            self.pending = now
            self.sim.at(now, self.step)

    def step(self) -> None:
        """One round of slices; schedules the next while anything is open."""
        sim = self.sim
        if self.pending == sim.now:
            self.pending = None
        todo = sim.venue.clearing.liquidating()
        if not todo:
            return  # woken again by the next day's start_day (a new default is declared after a close)
        engine = sim.venue.engine
        spec = self.spec
        for account, positions in todo.items():
            for series, qty in positions.items():
                if engine.session_state(series) not in TRADING:
                    continue
                if spec.style == "auction" and (account, series) not in self.auctioned:
                    self.auctioned.add((account, series))
                    if self._auction(account, series, qty):
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
                sim.send(
                    SubmitOrder(
                        sim.now,
                        series,
                        oid,
                        account,
                        side,
                        min(abs(qty), spec.slice_lots),
                        max(1, price),
                        OrderKind.LIMIT,
                        TimeInForce.IOC,
                    )
                )
        nxt = sim.now + spec.interval_s * NS
        if nxt < self.close_ts and sim.venue.clearing.liquidating():
            self.pending = nxt
            sim.at(nxt, self.step)

    def _auction(self, account: int, series: str, qty: int) -> bool:
        """Auction a defaulter's position to the market-making members; True
        if an order crossed it (the rest, if any, goes through the book)."""
        sim = self.sim
        clearing = sim.venue.clearing
        discount = self.spec.auction_discount_ticks
        bids = []
        for p in sim.participants:
            acc = clearing.accounts.get(p.account)
            if (
                p.account == account
                or not p.active
                or not isinstance(p.agent, Withdrawable)
                or acc is None
                or acc.defaulted
            ):
                continue
            view = p.ctx.expected_settlement(series) or p.ctx.settlement(series)
            if view is None:
                continue
            price = view - discount if qty > 0 else view + discount
            if price >= 1:
                bids.append((-price if qty > 0 else price, p.account))
        if not bids:
            return False
        key, winner = min(bids)
        price = abs(key)
        self.auctions.append((sim.now, series, account, winner, price, abs(qty)))
        side = Side.BUY if qty > 0 else Side.SELL
        bid_id = sim.next_order_id()
        refused = sum(sim.rejects.values())
        sim.send(SubmitOrder(sim.now, series, bid_id, winner, side, abs(qty), price, OrderKind.LIMIT, TimeInForce.GTC))
        if sum(sim.rejects.values()) != refused:
            return False  # refused (the winner's credit): the book it is
        oid = self.next_id
        self.next_id += 1
        sim.send(
            SubmitOrder(
                sim.now,
                series,
                oid,
                account,
                Side.SELL if qty > 0 else Side.BUY,
                abs(qty),
                price,
                OrderKind.LIMIT,
                TimeInForce.IOC,
            )
        )
        if sim.venue.engine.status(bid_id) is not None:
            sim.send(CancelOrder(sim.now, bid_id, winner))
        return True
