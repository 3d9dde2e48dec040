"""The clearing house: it takes the engine's trades, marks every position to
the daily settlement price, moves variation margin, margins accounts, calls
and defaults them, and settles expiring series.

It never imports the engine: it answers the engine's pre-trade risk gate
(`credit_check`) and returns commands (`MassCancel`) for the caller to
journal and send when it defaults a member or delists a series. A
defaulter's positions are closed out in the next trading session, by
orders the caller sends from the liquidation id range (`liquidating`,
`is_liquidation`); each settlement run puts that day's losses through the
waterfall (defaulter's collateral, its own guarantee-fund contribution,
the insurance fund, the other members' contributions pro rata, the
clearing house's capital).

Perpetuals (a series with ``perpetual``): `update_mark` records the mark
price (index + smoothed basis, cfx/sim/perpetual.py) and liquidates on it
at once: an account holding a perpetual whose equity on the mark
(collateral plus the perpetuals' variation since the last run, at the
mark) is below its maintenance margin defaults there and then, whatever
the last trade was. The daily settlement price of a perpetual is its mark
at the close (tier ``mark``); `pay_funding` moves each interval's funding.

Cash: every micro-dollar deposited sits in an account's collateral, the
guarantee fund, the insurance fund, the house's capital or the fees collected; `cash_total()
== deposited` always.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from pathlib import Path


from cfx.clearing.accounts import Account
from cfx.clearing.config import ClearingConfig
from cfx.clearing.funding import funding_payments
from cfx.clearing.intraday import Intraday
from cfx.clearing.margin import initial_margin, maintenance_margin, scan_range, sigma_ppm
from cfx.clearing.records import AccountStatement, Fixing, PositionStatement
from cfx.clearing.settlement import SeriesSpec, settlement_price, tick_value
from cfx.clearing.waterfall import GuaranteeFund
from cfx.types import (
    AccountDefaulted,
    CollateralDeposited,
    DefaultLossCovered,
    FundingPaid,
    GuaranteeFundContributed,
    MarginCallIssued,
    MarginCallMet,
    MarkPriceUpdated,
    MassCancel,
    SeriesDelisted,
    SettlementPrice,
    SettlementTier,
    VariationMarginPaid,
)


def _in_window(trades: Collection[tuple[int, int, int]], window: tuple[int, int] | None) -> list[tuple[int, int]]:
    """(price, qty) of the ``trades`` (ts, price, qty) in ``window`` ([start, end) ns; None: all), in order."""
    if window is None:
        return [(p, q) for _, p, q in trades]
    lo, hi = window
    return [(p, q) for t, p, q in trades if lo <= t < hi]


class ListedSeries:
    """A series as clearing carries it."""

    __slots__ = ("spec", "index", "rank", "tick_value", "prev", "scan", "delisted", "expected", "perpetual", "mark")

    def __init__(self, spec: SeriesSpec, index: str, reference_price: int) -> None:
        self.spec = spec
        self.index = index
        self.rank = spec.last_trading_day.toordinal()
        self.tick_value = tick_value(spec)
        self.prev = reference_price  # last settlement price, ticks
        self.scan = 0  # scanning range, micro-$ per contract
        self.delisted = False
        self.expected: int | None = None  # expected final settlement at the last run, ticks
        self.perpetual = bool(getattr(spec, "perpetual", False))
        self.mark: int | None = None  # a perpetual's latest mark price, ticks


class ClearingHouse(Intraday):
    """Accounts, positions, margin, daily and final settlement, defaults.

    Set-up: `list_series`, `open_account`, `deposit`, `record_fixing`.
    Intraday (cfx/clearing/intraday.py): `on_event` (or `on_trade` for
    trades only; `on_events` for one command's events, the venue's path,
    compiled twin in cfx/clearing/_clearing.pyx); `credit_check` is the
    engine's ``risk_check``.
    End of day: `settle_day` (returns commands to send to the engine).
    Queries: `margin`, `scan`, `settlement`, `live_series`, `traded_today`,
    `liquidating`, `is_liquidation`, `cash_total`, `check`. Output: `write_tables`.
    ``events`` collects the clearing events; the caller takes and clears them.
    """

    def __init__(self, config: ClearingConfig | None = None) -> None:
        self.config = cfg = config or ClearingConfig()
        self.accounts: dict[int, Account] = {}
        self.fund = GuaranteeFund()
        self.fees_collected = 0
        self.house_capital = cfg.house_capital  # what is left of it
        self.insurance = cfg.insurance_fund  # what is left of the insurance fund
        self.deposited = cfg.house_capital + cfg.insurance_fund
        self.events: list = []
        self.fixings: list[Fixing] = []
        self.settlements: list[SettlementPrice] = []
        self.statements: list[AccountStatement] = []
        self.positions: list[PositionStatement] = []
        self.calls: list = []  # MarginCallIssued / MarginCallMet
        self.defaults: list = []  # AccountDefaulted / DefaultLossCovered
        self._series: dict[str, ListedSeries] = {}
        self._index_history: dict[str, list[tuple[dt.date, int]]] = {}
        self._orders: dict[int, list] = {}  # order_id -> [Account, series, 0 buy / 1 sell, open lots]
        self._day_trades: dict[str, list[tuple[int, int, int]]] = {}  # series -> (ts, price, qty)
        self._last_date: dt.date | None = None
        self.funding: list[FundingPaid] = []
        self.marks: list[MarkPriceUpdated] = []
        self.mark_defaults: list[AccountDefaulted] = []  # declared intraday on a perpetual's mark

    # ------------------------------------------------------------------ perpetual funding and mark

    def update_mark(self, series: str, index: int, mark: int, premium: int, ts: int, date: dt.date) -> list:
        """A perpetual's new mark price (ticks): recorded (a `MarkPriceUpdated`),
        then every account holding a perpetual is margined on the marks: one
        whose equity (collateral + each perpetual's variation since the last
        run at its mark) is below maintenance margin defaults at once.
        Returns the commands the defaults call for (`MassCancel`)."""
        listed = self._series.get(series)
        if listed is None or not listed.perpetual:
            raise ValueError(f"series {series!r} is not a listed perpetual")
        listed.mark = mark
        ev = MarkPriceUpdated(ts, series, index, mark, premium)
        self.events.append(ev)
        self.marks.append(ev)
        commands: list = []
        for acc in self.accounts.values():
            if acc.defaulted:
                continue
            pos = acc.positions.get(series)
            if pos is None or not (pos.qty or pos.start_qty):
                continue
            equity = acc.collateral + self.mark_variation(acc)
            im, mm = self.margin(acc.id)
            if equity < mm:
                acc.loss_basis = acc.collateral - acc.fees_today
                ev = AccountDefaulted(ts, date, acc.id, im - equity, equity)
                acc.defaulted = True
                acc.call = None
                acc.deposits_since_call = 0
                self.events.append(ev)
                self.defaults.append(ev)
                self.mark_defaults.append(ev)
                commands.append(MassCancel(ts, account=acc.id))
        return commands

    def mark_variation(self, acc: Account) -> int:
        """The variation of the account's perpetual positions since the last
        settlement run, at their marks (micro-$; what the next run would pay)."""
        v = 0
        for sym, pos in acc.positions.items():
            listed = self._series[sym]
            if listed.perpetual and listed.mark is not None and not listed.delisted:
                v += (listed.mark * pos.qty - listed.prev * pos.start_qty - pos.day_cost) * listed.tick_value
        return v

    def pay_funding(self, series: str, mark: int, rate: int, ts: int) -> list[FundingPaid]:
        """One funding interval of a perpetual: every open position in
        ``series`` pays or receives ``rate`` on its value at ``mark``
        (cfx/clearing/funding.py), straight from and into collateral, so
        the cash moves between accounts and the sum is exactly zero. A
        defaulted account pays too (its losses meet the waterfall at the
        next settlement run). Returns (and emits) one `FundingPaid` per
        account that paid or received, in account order."""
        listed = self._series.get(series)
        if listed is None:
            raise ValueError(f"series {series!r} is not listed")
        positions = {
            a.id: a.positions[series].qty
            for a in self.accounts.values()
            if series in a.positions and a.positions[series].qty
        }
        out = []
        for account, amount in sorted(funding_payments(positions, mark, rate, listed.tick_value).items()):
            self.accounts[account].collateral += amount
            out.append(FundingPaid(ts, series, account, positions[account], mark, rate, amount))
        self.events.extend(out)
        self.funding.extend(out)
        return out

    # ------------------------------------------------------------------ set-up

    def list_series(self, spec: SeriesSpec, reference_price: int, index: str | None = None) -> None:
        """Carry a series. ``reference_price`` (ticks) stands for the previous
        settlement until the first one; ``index`` names its basket index in
        the fixings (default: ``spec.basket`` if it has one, else the symbol)."""
        if spec.symbol in self._series:
            raise ValueError(f"series {spec.symbol!r} is already listed")
        name = index or getattr(spec, "basket", None) or spec.symbol
        listed = self._series[spec.symbol] = ListedSeries(spec, name, reference_price)
        self._rescan(listed)

    def open_account(self, account: int, deposit: int = 0, ts: int = 0) -> Account:
        """Open an account with ``deposit`` micro-$; the configured guarantee
        fund contribution is taken out of it."""
        if account in self.accounts:
            raise ValueError(f"account {account} already exists")
        acc = self.accounts[account] = Account(account)
        self._deposit(acc, deposit, ts)
        gf = self.config.guarantee_fund_contribution
        if gf:
            if deposit < gf:
                raise ValueError(f"account {account}: deposit {deposit} below the guarantee fund contribution {gf}")
            acc.collateral -= gf
            self.fund.contribute(account, gf)
            self.events.append(GuaranteeFundContributed(ts, account, gf))
        return acc

    def deposit(self, account: int, amount: int, ts: int = 0, date: dt.date | None = None) -> None:
        """Add collateral; meets an open margin call once its amount is in."""
        acc = self._account(account)
        self._deposit(acc, amount, ts)
        call = acc.call
        if call is not None:
            acc.deposits_since_call += amount
            if acc.deposits_since_call >= call.amount:
                self._call_met(acc, ts, date or self._last_date or call.date)

    def _deposit(self, acc: Account, amount: int, ts: int) -> None:
        if amount < 0:
            raise ValueError(f"account {acc.id}: negative deposit {amount}")
        acc.collateral += amount
        self.deposited += amount
        if amount:
            self.events.append(CollateralDeposited(ts, acc.id, amount))

    def record_fixing(self, date: dt.date, index: str, value: int) -> None:
        """A daily index value (micro-$ per GPU-hour), e.g. history for the
        volatility lookback before the first settlement."""
        hist = self._index_history.setdefault(index, [])
        if hist and hist[-1] == (date, value):
            return  # already recorded (e.g. before the settlement run that passes it again)
        if hist and hist[-1][0] >= date:
            raise ValueError(f"fixing of {index!r} on {date} is not after {hist[-1][0]}")
        hist.append((date, value))
        self.fixings.append(Fixing(date, index, value))

    def _account(self, account: int) -> Account:
        acc = self.accounts.get(account)
        if acc is None:  # an account seen first in a trade has no collateral
            acc = self.accounts[account] = Account(account)
        return acc

    # ------------------------------------------------------------------ queries

    def margin(self, account: int) -> tuple[int, int]:
        """(initial, maintenance) margin of the account's positions now."""
        acc = self.accounts[account]
        legs = []
        for sym, pos in acc.positions.items():
            listed = self._series[sym]
            if pos.qty and not listed.delisted:
                legs.append((listed.index, listed.rank, pos.qty, listed.scan))
        im = initial_margin(legs, self.config.spread_credit_pct)
        return im, maintenance_margin(im, self.config.maintenance_num, self.config.maintenance_den)

    def is_liquidation(self, order_id: int) -> bool:
        """Is ``order_id`` in the range liquidation orders use?"""
        return order_id >= self.config.liquidation_order_id_base

    def liquidating(self) -> dict[int, dict[str, int]]:
        """The open positions of defaulted accounts, to close out: account ->
        series -> signed lots (accounts and series in order)."""
        out = {}
        for acc_id in sorted(a.id for a in self.accounts.values() if a.defaulted):
            acc = self.accounts[acc_id]
            open_ = {
                sym: pos.qty for sym, pos in sorted(acc.positions.items()) if pos.qty and not self._series[sym].delisted
            }
            if open_:
                out[acc_id] = open_
        return out

    def traded_today(self, series: str) -> bool:
        """Has the series traded since the last settlement run?"""
        return bool(self._day_trades.get(series))

    def live_series(self) -> list[str]:
        """Symbols carried and not yet delisted, in listing order."""
        return [sym for sym, listed in self._series.items() if not listed.delisted]

    def scan(self, series: str) -> int:
        """The series' scanning range, micro-$ per contract."""
        return self._series[series].scan

    def settlement(self, series: str) -> int:
        """The series' last settlement price (or reference price), ticks."""
        return self._series[series].prev

    def cash_total(self) -> int:
        """All collateral + the guarantee fund + the insurance fund + the house's capital + fees collected."""
        return (
            sum(a.collateral for a in self.accounts.values())
            + self.fund.total
            + self.insurance
            + self.house_capital
            + self.fees_collected
        )

    def check(self) -> None:
        """Assert the invariants: cash conserved, positions net to zero per
        series, open-order exposure never negative."""
        assert self.cash_total() == self.deposited, (self.cash_total(), self.deposited)
        net: dict[str, int] = {}
        for acc in self.accounts.values():
            for sym, pos in acc.positions.items():
                net[sym] = net.get(sym, 0) + pos.qty
                assert pos.qty == sum(q for q, _ in pos.lots)
            for lots in acc.open_orders.values():
                assert lots[0] >= 0 and lots[1] >= 0
        assert not any(net.values()), net

    # ------------------------------------------------------------------ end of day

    def settle_day(
        self,
        date: dt.date,
        ts: int,
        *,
        fixings: Mapping[str, int] | None = None,
        quotes: Mapping[str, tuple[int | None, int | None]] | None = None,
        window: tuple[int, int] | None = None,
        finals: Mapping[str, int] | None = None,
        stale: Collection[str] = (),
        expected: Mapping[str, int] | None = None,
    ) -> list:
        """The daily settlement run; returns the commands for the engine.

        ``fixings``: today's index values by index name (micro-$/GPU-hour);
        ``quotes``: (best bid, best ask) per series at the close, ticks;
        ``window``: [start, end) ns of the settlement window (None: the whole
        day); ``finals``: final settlement prices (ticks) of series expiring
        today; ``stale``: series whose close quotes may not set the mid tier
        (a stale or one-participant book); ``expected``: each series'
        expected final settlement (ticks): the index tier then moves the
        previous settlement by its change since the previous run (for a
        monthly-average future, the index change weighted by the days still
        to come), else by the index change. In order: settlement prices;
        variation margin (asserted to sum to zero); expiring series close
        and delist; scanning ranges; defaulters' losses through the
        waterfall; margin calls met, missed (default: cancel its orders; its
        positions are then `liquidating`) or issued; statements."""
        if self._last_date is not None and date <= self._last_date:
            raise ValueError(f"settlement date {date} is not after {self._last_date}")
        fixings = fixings or {}
        expected = expected or {}
        quotes = quotes or {}
        finals = finals or {}
        for sym in finals:
            if sym not in self._series or self._series[sym].delisted:
                raise ValueError(f"final settlement of {sym!r}, which clearing does not carry")
        for name, value in fixings.items():
            self.record_fixing(date, name, value)
        commands: list = []

        prices: dict[str, int] = {}
        for sym, listed in self._series.items():
            if listed.delisted:
                continue
            if sym in finals:
                price, tier = finals[sym], SettlementTier.FINAL
            elif listed.perpetual and listed.mark is not None:
                price, tier = listed.mark, SettlementTier.MARK
            else:
                trades = self._day_trades.get(sym, ())
                in_window = _in_window(trades, window)
                bid, ask = quotes.get(sym, (None, None)) if sym not in stale else (None, None)
                if sym in expected and listed.expected is not None:
                    tick = listed.spec.tick_micro  # the expected prices, as index values that move the settlement
                    today, before = expected[sym] * tick, listed.expected * tick
                else:
                    today, before = self._index_pair(listed.index, date)
                price, tier = settlement_price(
                    in_window,
                    bid,
                    ask,
                    listed.prev,
                    today,
                    before,
                    listed.spec.tick_micro,
                    self.config.mid_max_spread_ticks,
                )
            if sym in expected:
                listed.expected = expected[sym]
            prices[sym] = price
            ev = SettlementPrice(ts, date, sym, price, tier)
            self.events.append(ev)
            self.settlements.append(ev)

        total_vm = 0
        pnl: dict[int, tuple[int, int]] = {}
        for acc in self.accounts.values():
            vm = realized = unrealized = 0
            for sym, pos in acc.positions.items():
                listed = self._series[sym]
                if listed.delisted:
                    continue
                s = prices[sym]
                tv = listed.tick_value
                v = (s * pos.qty - listed.prev * pos.start_qty - pos.day_cost) * tv
                pos.start_qty = pos.qty
                pos.day_cost = 0
                if sym in finals:
                    pos.close_at(s)
                    pos.start_qty = 0
                vm += v
                r = pos.realized_ticks * tv
                u = pos.unrealized_ticks(s) * tv
                realized += r
                unrealized += u
                if v or pos.qty or sym in finals:
                    self.positions.append(PositionStatement(date, acc.id, sym, pos.qty, s, v, r, u))
            acc.collateral += vm
            acc.vm_today = vm
            total_vm += vm
            pnl[acc.id] = (realized, unrealized)
            if vm:
                self.events.append(VariationMarginPaid(ts, date, acc.id, vm))
        assert total_vm == 0, f"variation margin does not net to zero: {total_vm}"

        for sym, listed in self._series.items():
            if listed.delisted:
                continue
            listed.prev = prices[sym]
            if sym in finals:
                listed.delisted = True
                self.events.append(SeriesDelisted(ts, date, sym, prices[sym]))
                commands.append(MassCancel(ts, series=sym))
                self._drop_orders(sym)
            else:
                self._rescan(listed)

        margins: dict[int, tuple[bool, int, int]] = {}
        for acc in self.accounts.values():  # every default of this run is declared before any loss is shared
            was_defaulted = acc.defaulted
            im = mm = 0
            if not was_defaulted:
                im, mm = self.margin(acc.id)
                commands.extend(self._margin_calls(acc, im, mm, ts, date))
            margins[acc.id] = (was_defaulted, im, mm)
        defaulters = {a.id for a in self.accounts.values() if a.defaulted}
        for acc in self.accounts.values():
            was_defaulted, im, mm = margins[acc.id]
            if acc.defaulted:
                if was_defaulted:  # today's losses (of the liquidation, and of what is still open)
                    self._cover_loss(acc, ts, date, acc.collateral - acc.vm_today + acc.fees_today, defaulters)
                else:  # the losses since the run that called it
                    self._cover_loss(acc, ts, date, acc.loss_basis, defaulters)
            realized, unrealized = pnl[acc.id]
            self.statements.append(
                AccountStatement(
                    date=date,
                    account=acc.id,
                    collateral=acc.collateral,
                    initial_margin=im,
                    maintenance_margin=mm,
                    variation_margin=acc.vm_today,
                    fees=acc.fees_today,
                    fees_total=acc.fees_paid,
                    realized_pnl=realized,
                    unrealized_pnl=unrealized,
                    call_amount=acc.call.amount if acc.call is not None else 0,
                    defaulted=acc.defaulted,
                )
            )
            acc.fees_today = 0
            acc.vm_today = 0
        self._day_trades.clear()
        self._last_date = date
        return commands

    def _index_pair(self, index: str, date: dt.date) -> tuple[int | None, int | None]:
        """(today's fixing or None, the latest fixing before today or None)."""
        hist = self._index_history.get(index, ())
        if hist and hist[-1][0] == date:
            return hist[-1][1], hist[-2][1] if len(hist) > 1 else None
        return None, hist[-1][1] if hist else None

    def _rescan(self, listed: ListedSeries) -> None:
        cfg = self.config
        hist = self._index_history.get(listed.index, ())
        sigma = sigma_ppm([v for _, v in hist[-(cfg.vol_lookback_days + 1) :]], cfg.vol_lookback_days)
        listed.scan = scan_range(
            sigma,
            listed.prev,
            listed.spec.tick_micro,
            listed.spec.contract_unit,
            sigmas_pct=cfg.scan_sigmas_pct,
            period_days=cfg.margin_period_days,
            floor_ppm=cfg.scan_floor_ppm,
        )

    def _drop_orders(self, series: str) -> None:
        for oid in [oid for oid, o in self._orders.items() if o[1] == series]:
            del self._orders[oid]
        for acc in self.accounts.values():
            acc.open_orders.pop(series, None)

    # ------------------------------------------------------------------ calls and defaults

    def _margin_calls(self, acc: Account, im: int, mm: int, ts: int, date: dt.date) -> list:
        """Resolve the open call (met: deposits reached its amount or equity
        is back to initial; missed: default), then call if equity is below
        maintenance. Equity at the settlement run is collateral."""
        call = acc.call
        if call is not None:
            if acc.deposits_since_call >= call.amount or acc.collateral >= im:
                self._call_met(acc, ts, date)
            elif date >= call.deadline:
                return self._default(acc, ts, date)
        if acc.call is None and acc.collateral < mm:
            call = MarginCallIssued(
                ts,
                date,
                acc.id,
                im - acc.collateral,
                acc.collateral,
                mm,
                im,
                date + dt.timedelta(days=self.config.call_deadline_days),
            )
            acc.call = call
            acc.deposits_since_call = 0
            acc.loss_basis = acc.collateral - acc.vm_today + acc.fees_today  # before the run that called
            self.events.append(call)
            self.calls.append(call)
        return []

    def _call_met(self, acc: Account, ts: int, date: dt.date) -> None:
        ev = MarginCallMet(ts, date, acc.id, acc.deposits_since_call)
        acc.call = None
        acc.deposits_since_call = 0
        self.events.append(ev)
        self.calls.append(ev)

    def _default(self, acc: Account, ts: int, date: dt.date) -> list:
        """Declare the default: cancel the account's orders; its positions
        are `liquidating` from now on."""
        ev = AccountDefaulted(ts, date, acc.id, acc.call.amount, acc.collateral)
        acc.defaulted = True
        acc.call = None
        acc.loss_basis += acc.deposits_since_call
        acc.deposits_since_call = 0
        self.events.append(ev)
        self.defaults.append(ev)
        return [MassCancel(ts, account=acc.id)]

    def _cover_loss(self, acc: Account, ts: int, date: dt.date, before: int, defaulters: set[int]) -> None:
        """Run a defaulter's losses through the waterfall: ``before`` is its
        collateral before them (at the run that called it, plus deposits since,
        on the day it defaults; at the previous run afterwards). Its
        collateral first, then its own guarantee-fund contribution, the
        insurance fund, the others' contributions pro rata (not other
        defaulters': theirs is kept for their own losses), then the house's
        capital."""
        loss = max(0, before - acc.collateral)
        deficit = max(0, -acc.collateral)
        if not loss and not deficit:
            return
        from_collateral = min(loss, max(0, before))
        own, _ = self.fund.absorb(deficit, acc.id, defaulters, own_only=True)
        insurance = min(deficit - own, self.insurance)
        self.insurance -= insurance
        _, others = self.fund.absorb(deficit - own - insurance, acc.id, defaulters)
        house = min(deficit - own - insurance - others, self.house_capital)
        self.house_capital -= house
        acc.collateral += own + insurance + others + house
        ev = DefaultLossCovered(
            ts=ts,
            date=date,
            account=acc.id,
            loss=loss,
            from_collateral=from_collateral,
            from_own_contribution=own,
            from_fund=others,
            from_house=house,
            uncovered=deficit - own - insurance - others - house,
            from_insurance=insurance,
        )
        self.events.append(ev)
        self.defaults.append(ev)

    # ------------------------------------------------------------------ output

    def write_tables(self, out_dir: str | Path, quality: Mapping | None = None) -> dict[str, Path]:
        """Write the Parquet tables; see `cfx.clearing.tables` (imported
        here: pyarrow is loaded only by what writes tables)."""
        from cfx.clearing.tables import write_tables

        return write_tables(self, out_dir, quality)
