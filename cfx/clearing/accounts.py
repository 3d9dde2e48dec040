"""A member's account at the clearing house: collateral, positions, fees,
open-order exposure.

Each `Position` keeps what daily variation margin needs (the position at the
last settlement and today's traded value) and FIFO lots for P&L: a fill
first closes the oldest opposite lots (realized P&L), the rest opens a new
lot. P&L is kept in tick-lots; × the series' tick value gives micro-$.
"""

from __future__ import annotations

from collections import deque


class Position:
    """One account's position in one series. ``qty`` signed lots."""

    __slots__ = ("qty", "start_qty", "day_cost", "lots", "realized_ticks")

    def __init__(self) -> None:
        self.qty = 0
        self.start_qty = 0  # position at the last settlement
        self.day_cost = 0  # sum of signed qty * price (tick-lots) of today's fills
        self.lots: deque[list[int]] = deque()  # [signed qty, price], one sign, oldest first
        self.realized_ticks = 0

    def fill(self, q: int, price: int) -> None:
        """Apply a fill of ``q`` signed lots at ``price``. Runtime: O(lots closed)."""
        self.qty += q
        self.day_cost += q * price
        lots = self.lots
        while q and lots and (lots[0][0] > 0) != (q > 0):
            lot = lots[0]
            n = min(abs(q), abs(lot[0]))
            if lot[0] > 0:  # closing a long with a sale
                self.realized_ticks += n * (price - lot[1])
                lot[0] -= n
                q += n
            else:  # closing a short with a purchase
                self.realized_ticks += n * (lot[1] - price)
                lot[0] += n
                q -= n
            if not lot[0]:
                lots.popleft()
        if q:
            lots.append([q, price])

    def unrealized_ticks(self, mark: int) -> int:
        """P&L of the open lots at ``mark``, in tick-lots."""
        return sum(q * (mark - p) for q, p in self.lots)

    def close_at(self, price: int) -> None:
        """Close every lot at ``price`` (final settlement): realize, go flat."""
        self.realized_ticks += self.unrealized_ticks(price)
        self.lots.clear()
        self.qty = 0


class Account:
    """Collateral (micro-$), positions per series, fees, open-order lots.

    ``open_orders[series] = [buy lots, sell lots]`` still working, from the
    engine's order events, for the pre-trade credit check."""

    __slots__ = (
        "id",
        "collateral",
        "positions",
        "fees_paid",
        "fees_today",
        "vm_today",
        "open_orders",
        "defaulted",
        "call",
        "deposits_since_call",
        "loss_basis",
    )

    def __init__(self, account: int, collateral: int = 0) -> None:
        self.id = account
        self.collateral = collateral
        self.positions: dict[str, Position] = {}
        self.fees_paid = 0
        self.fees_today = 0
        self.vm_today = 0
        self.open_orders: dict[str, list[int]] = {}
        self.defaulted = False
        self.call = None  # the open MarginCallIssued, if any
        self.deposits_since_call = 0
        self.loss_basis = 0  # collateral before the losses that led to the open call

    def position(self, series: str) -> Position:
        p = self.positions.get(series)
        if p is None:
            p = self.positions[series] = Position()
        return p
