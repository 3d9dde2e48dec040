"""What the clearing house does while a series trades: each engine event
into positions, fees and the open-order exposure, and the engine's
pre-trade risk gate (the credit check) on that exposure.

`ClearingHouse` (cfx/clearing/house.py) is an `Intraday`: these are its
methods, kept here so that the per-message path reads on its own (its
compiled twin, cfx/clearing/_clearing.pyx, is this module's `on_events`
and `credit_check`). They work on the house's state (``accounts``,
``config``, ``fees_collected``, ``_series``, ``_orders``, ``_day_trades``)
and call two of its methods: ``_account`` and ``is_liquidation``.
"""

from __future__ import annotations

from collections.abc import Callable

from cfx.clearing.accounts import Account
from cfx.clearing.margin import initial_margin
from cfx.types import (
    LevelChanged,
    OrderAccepted,
    OrderCancelled,
    OrderModified,
    OrderRested,
    RejectReason,
    Side,
    SubmitOrder,
    Trade,
)

BUY = Side.BUY
CREDIT_LIMIT = RejectReason.CREDIT_LIMIT
UNKNOWN_SERIES = RejectReason.UNKNOWN_SERIES


class Intraday:
    """The clearing house's intraday methods (see the module docstring).

    Public: `on_event`, `handlers`, `on_events`, `on_trade`, `credit_check`."""

    def on_event(self, ev: object) -> None:
        """Feed any engine event: trades move positions and fees; order
        events keep the open-order exposure the credit check assumes; the
        rest (book levels, resting orders, sessions, ...) change nothing."""
        handler = self.handlers().get(type(ev))
        if handler is not None:
            handler(ev)

    def handlers(self) -> dict[type, Callable[[object], None]]:
        """The engine events clearing acts on, each with its handler (what
        `on_event` dispatches on; a caller feeding many events skips the
        others without a call)."""
        return {
            Trade: self.on_trade,
            OrderAccepted: self._on_accepted,
            OrderCancelled: self._on_cancelled,
            OrderModified: self._on_modified,
        }

    def on_events(self, events: list) -> None:
        """Feed one command's engine events, in order: what `on_event` does
        for each (the venue's path, one call a command, with the order
        events' handlers written out: a call per event was ~2 % of a run).
        Runtime: O(events)."""
        orders = self._orders
        accounts = self.accounts
        for e in events:
            t = type(e)
            if t is LevelChanged or t is OrderRested:  # the commonest, and nothing to clearing
                continue
            if t is Trade:
                self.on_trade(e)
            elif t is OrderAccepted:  # `_on_accepted`
                acc = accounts.get(e.account)
                if acc is None:
                    acc = self._account(e.account)
                side = 0 if e.side is BUY else 1
                series = e.series
                qty = e.qty
                orders[e.order_id] = [acc, series, side, qty]
                lots = acc.open_orders.get(series)
                if lots is None:
                    lots = acc.open_orders[series] = [0, 0]
                lots[side] += qty
            elif t is OrderCancelled or t is OrderModified:  # `_on_cancelled`, `_on_modified`
                o = orders.get(e.order_id)
                if o is None:
                    continue
                qty = e.qty if t is OrderCancelled else o[3] - e.qty  # a modify: what it took off
                o[3] -= qty
                o[0].open_orders[o[1]][o[2]] -= qty
                if o[3] <= 0:
                    del orders[e.order_id]

    def _on_accepted(self, ev: OrderAccepted) -> None:
        acc = self._account(ev.account)
        side = 0 if ev.side is BUY else 1
        self._orders[ev.order_id] = [acc, ev.series, side, ev.qty]
        lots = acc.open_orders.get(ev.series)
        if lots is None:
            lots = acc.open_orders[ev.series] = [0, 0]
        lots[side] += ev.qty

    def _on_cancelled(self, ev: OrderCancelled) -> None:
        self._reduce(ev.order_id, ev.qty)

    def _on_modified(self, ev: OrderModified) -> None:
        o = self._orders.get(ev.order_id)
        if o is not None:
            self._reduce(ev.order_id, o[3] - ev.qty)

    def _reduce(self, order_id: int, qty: int) -> None:
        o = self._orders.get(order_id)
        if o is None:
            return
        o[3] -= qty
        o[0].open_orders[o[1]][o[2]] -= qty
        if o[3] <= 0:
            del self._orders[order_id]

    def on_trade(self, t: Trade) -> None:
        """Both sides' positions and fees. Runtime: O(1) amortized."""
        series = t.series
        listed = self._series.get(series)
        if listed is None or listed.delisted:
            raise ValueError(f"trade in series {series!r}, which clearing does not carry")
        cfg = self.config
        q = t.qty
        p = t.price
        accounts = self.accounts
        maker = accounts.get(t.maker_account)  # `_account`, written out (a call per side and trade)
        if maker is None:
            maker = self._account(t.maker_account)
        taker = accounts.get(t.taker_account)
        if taker is None:
            taker = self._account(t.taker_account)
        buyer, seller = (taker, maker) if t.aggressor is BUY else (maker, taker)
        pos = buyer.positions.get(series)
        (buyer.position(series) if pos is None else pos).fill(q, p)
        pos = seller.positions.get(series)
        (seller.position(series) if pos is None else pos).fill(-q, p)
        fm = cfg.maker_fee * q
        ft = cfg.taker_fee * q
        maker.collateral -= fm
        maker.fees_paid += fm
        maker.fees_today += fm
        taker.collateral -= ft
        taker.fees_paid += ft
        taker.fees_today += ft
        self.fees_collected += fm + ft
        day = self._day_trades.get(series)
        if day is None:
            day = self._day_trades[series] = []
        day.append((t.ts, p, q))
        orders = self._orders
        if orders:
            for order_id in (t.maker_id, t.taker_id):  # `_reduce`, written out
                o = orders.get(order_id)
                if o is not None:
                    o[3] -= q
                    o[0].open_orders[o[1]][o[2]] -= q
                    if o[3] <= 0:
                        del orders[order_id]

    def credit_check(self, cmd: SubmitOrder) -> RejectReason | None:
        """The engine's pre-trade risk gate; changes nothing.

        Rule: assume the order and all the account's open orders in the
        same direction fill (per series, the side whose fills give the larger
        absolute position); if that portfolio's initial margin exceeds the
        account's collateral and is larger than without the order, reject
        with CREDIT_LIMIT. So risk-reducing orders always pass. Unrealized
        intraday P&L is not counted (collateral is last settlement's, less
        fees since). A defaulted account may send only liquidation orders
        (an id from the liquidation range that reduces its position, no
        further); unknown accounts have no credit."""
        acc = self.accounts.get(cmd.account)
        if acc is None:
            return CREDIT_LIMIT
        listed = self._series.get(cmd.series)
        if listed is None or listed.delisted:
            return UNKNOWN_SERIES
        if acc.defaulted:
            pos = acc.positions.get(cmd.series)
            held = 0 if pos is None else pos.qty
            closing = -held if cmd.side is BUY else held
            return None if self.is_liquidation(cmd.order_id) and 0 < cmd.qty <= closing else CREDIT_LIMIT
        series = cmd.series
        q = cmd.qty if cmd.side is BUY else -cmd.qty
        if self._worst_gross(acc, series, q) <= acc.collateral:  # the margin is at most the gross
            return None
        with_order = initial_margin(self._worst_legs(acc, series, q)[0], self.config.spread_credit_pct)
        if with_order <= acc.collateral or with_order <= self._worst_im(acc, series, 0):
            return None
        return CREDIT_LIMIT

    def _worst_gross(self, acc: Account, series: str, q: int) -> int:
        """`_worst_legs`'s gross alone (what most credit checks need: the
        margin never exceeds it), without building the legs. Runtime
        complexity: O(series held)."""
        gross = 0
        series_map = self._series
        positions = acc.positions
        opens = acc.open_orders
        for sym, pos in positions.items():
            listed = series_map.get(sym)
            if listed is None or listed.delisted:
                continue
            hi = lo = pos.qty
            lots = opens.get(sym)
            if lots is not None:
                hi += lots[0]
                lo -= lots[1]
            if sym == series:
                if q > 0:
                    hi += q
                else:
                    lo += q
            gross += (hi if hi >= -lo else -lo) * listed.scan
        for sym, lots in opens.items():
            if sym in positions:
                continue
            listed = series_map.get(sym)
            if listed is None or listed.delisted:
                continue
            hi = lots[0]
            lo = -lots[1]
            if sym == series:
                if q > 0:
                    hi += q
                else:
                    lo += q
            gross += (hi if hi >= -lo else -lo) * listed.scan
        if series not in positions and series not in opens:
            listed = series_map.get(series)
            if listed is not None and not listed.delisted:
                gross += (q if q > 0 else -q) * listed.scan
        return gross

    def _worst_im(self, acc: Account, series: str, q: int) -> int:
        return initial_margin(self._worst_legs(acc, series, q)[0], self.config.spread_credit_pct)

    def _worst_legs(self, acc: Account, series: str, q: int) -> tuple[list[tuple[str, int, int, int]], int]:
        """The account's worst case with ``q`` more signed lots in ``series``:
        per live series, the position if every open order on one side fills
        (the side giving the larger absolute position), as `initial_margin`
        legs; and their gross margin (sum of lots x scanning range, which
        the margin never exceeds). Runtime complexity: O(series held)."""
        legs = []
        gross = 0
        series_map = self._series
        positions = acc.positions
        opens = acc.open_orders
        for sym in {**positions, **opens, series: None}:  # each series once, in the order first held
            listed = series_map.get(sym)
            if listed is None or listed.delisted:
                continue
            pos = positions.get(sym)
            hi = lo = 0 if pos is None else pos.qty
            lots = opens.get(sym)
            if lots is not None:
                hi += lots[0]
                lo -= lots[1]
            if sym == series:
                if q > 0:
                    hi += q
                else:
                    lo += q
            scan = listed.scan
            if hi >= -lo:  # then hi >= 0
                legs.append((listed.index, listed.rank, hi, scan))
                gross += hi * scan
            else:
                legs.append((listed.index, listed.rank, lo, scan))
                gross -= lo * scan
        return legs, gross
