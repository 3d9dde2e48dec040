"""Clearing: settlement tiers, variation margin, margin and spread credit,
calls and defaults through the guarantee fund, final settlement, tables;
property tests for zero-sum VM and cash conservation. Numbers in the
hand-computed tests are worked out in the comments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import count

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfx.clearing import ClearingConfig, ClearingHouse
from cfx.clearing.margin import initial_margin, maintenance_margin, sigma_ppm
from cfx.clearing.settlement import round_half_away, round_toward, settlement_price
from cfx.types import (
    AccountDefaulted,
    CancelReason,
    DefaultLossCovered,
    MarginCallIssued,
    MarginCallMet,
    MassCancel,
    OrderAccepted,
    OrderCancelled,
    OrderKind,
    OrderModified,
    RejectReason,
    SeriesDelisted,
    SettlementPrice,
    SettlementTier,
    Side,
    SubmitOrder,
    TimeInForce,
    Trade,
    VariationMarginPaid,
)

TV = 7_300_000  # micro-$ per tick per contract: $0.01 x 730 GPU-hours
D = [dt.date(2027, 3, 1) + dt.timedelta(days=i) for i in range(10)]
FREE = dict(maker_fee=0, taker_fee=0)


@dataclass(frozen=True)
class Spec:
    symbol: str
    last_trading_day: dt.date
    basket: str = "HOP"
    contract_unit: int = 730
    tick_micro: int = 10_000


H27 = Spec("HOP-H27", dt.date(2027, 3, 31))
J27 = Spec("HOP-J27", dt.date(2027, 4, 30))
BLK = Spec("BLK-H27", dt.date(2027, 3, 31), basket="BLK")

_seq = count(1)


def trade(series: str, price: int, qty: int, buyer: int, seller: int, ts: int = 0, aggressor: Side = Side.BUY) -> Trade:
    """A fill; the aggressor is the taker."""
    taker, maker = (buyer, seller) if aggressor is Side.BUY else (seller, buyer)
    return Trade(next(_seq), 0, ts, series, price, qty, 1, 2, maker, taker, aggressor)


def house(*specs: Spec, accounts: dict[int, int] | None = None, ref: int = 250, **cfg) -> ClearingHouse:
    ch = ClearingHouse(ClearingConfig(**cfg))
    for s in specs:
        ch.list_series(s, ref)
    for a, dep in (accounts or {}).items():
        ch.open_account(a, dep)
    return ch


def of(ch: ClearingHouse, kind: type) -> list:
    return [e for e in ch.events if type(e) is kind]


# --------------------------------------------------------------------------- settlement tiers


def test_rounding_rules():
    assert round_toward(501, 2, prev=260) == 251  # 250.5 toward a higher previous settlement
    assert round_toward(501, 2, prev=240) == 250  # ... toward a lower one
    assert round_toward(501, 2, prev=None) == 251
    assert round_toward(752, 3, prev=0) == 251  # 250.67
    assert round_half_away(35_000, 10_000) == 4
    assert round_half_away(-35_000, 10_000) == -4
    assert round_half_away(-34_999, 10_000) == -3


def test_vwap_tier_uses_only_trades_in_the_window():
    ch = house(H27, accounts={1: 10**12, 2: 10**12})
    ch.on_trade(trade("HOP-H27", 250, 2, 1, 2, ts=1_000))
    ch.on_trade(trade("HOP-H27", 253, 1, 1, 2, ts=1_500))
    ch.on_trade(trade("HOP-H27", 400, 5, 1, 2, ts=2_000))  # after the window: ignored
    ch.settle_day(D[0], 3_000, window=(1_000, 2_000), quotes={"HOP-H27": (100, 101)})
    # (250*2 + 253*1) / 3 = 251
    assert of(ch, SettlementPrice) == [SettlementPrice(3_000, D[0], "HOP-H27", 251, SettlementTier.VWAP)]


def test_vwap_half_tick_rounds_toward_previous_settlement():
    ch = house(H27, accounts={1: 10**12, 2: 10**12}, ref=260)
    ch.on_trade(trade("HOP-H27", 250, 1, 1, 2))
    ch.on_trade(trade("HOP-H27", 251, 1, 1, 2))
    ch.settle_day(D[0], 0)
    assert ch.settlement("HOP-H27") == 251  # 250.5, previous 260


def test_mid_tier_when_spread_within_threshold():
    ch = house(H27, mid_max_spread_ticks=5)
    ch.settle_day(D[0], 0, quotes={"HOP-H27": (249, 252)})  # spread 3, mid 250.5, previous 250 -> 250
    ch.settle_day(D[1], 0, quotes={"HOP-H27": (253, 258)})  # spread 5 (= threshold), mid 255.5, previous 250 -> 255
    assert [(s.price, s.tier) for s in ch.settlements] == [(250, SettlementTier.MID), (255, SettlementTier.MID)]


def test_wide_mid_falls_to_index_moved_previous_settlement():
    ch = house(H27, mid_max_spread_ticks=5)
    ch.settle_day(D[0], 0, fixings={"HOP": 2_500_000})
    # spread 20 > 5; index +37_000 micro-$ = +3.7 ticks -> +4
    ch.settle_day(D[1], 0, quotes={"HOP-H27": (240, 260)}, fixings={"HOP": 2_537_000})
    # one-sided book; index -35_000 = -3.5 ticks -> -4 (half away from zero)
    ch.settle_day(D[2], 0, quotes={"HOP-H27": (None, 260)}, fixings={"HOP": 2_502_000})
    # no fixing today: carry
    ch.settle_day(D[3], 0)
    # a fixing recorded before the run counts as today's: +12_000 = +1.2 ticks -> +1
    ch.record_fixing(D[4], "HOP", 2_514_000)
    ch.settle_day(D[4], 0, fixings={"HOP": 2_514_000})
    assert [(s.price, s.tier) for s in ch.settlements] == [
        (250, SettlementTier.INDEX_MOVED),  # first day: no previous fixing, carry the reference
        (254, SettlementTier.INDEX_MOVED),
        (250, SettlementTier.INDEX_MOVED),
        (250, SettlementTier.INDEX_MOVED),
        (251, SettlementTier.INDEX_MOVED),
    ]


def test_index_tier_without_previous_price_uses_index_level():
    assert settlement_price([], None, None, None, 2_504_999, None, 10_000, 5) == (250, SettlementTier.INDEX_MOVED)
    with pytest.raises(ValueError):
        settlement_price([], None, None, None, None, None, 10_000, 5)


# --------------------------------------------------------------------------- variation margin and P&L


def test_variation_margin_for_positions_opened_today_and_carried():
    ch = house(H27, accounts={a: 10**10 for a in (1, 2, 3, 4, 5)}, **FREE)
    c0 = {a: ch.accounts[a].collateral for a in ch.accounts}
    # day 1: 1 buys 10 @250 from 2 (outside the window); 3 buys 2 @252 from 4 in it -> settle 252
    ch.on_trade(trade("HOP-H27", 250, 10, 1, 2, ts=10))
    ch.on_trade(trade("HOP-H27", 252, 2, 3, 4, ts=1_000))
    ch.settle_day(D[0], 5_000, window=(1_000, 2_000))
    vm1 = {e.account: e.amount for e in of(ch, VariationMarginPaid)}
    assert vm1 == {1: 2 * 10 * TV, 2: -2 * 10 * TV}  # opened today: (252 - 250) x 10 lots; 3 and 4 traded at 252
    ch.events.clear()
    # day 2: 1 sells 4 @254 to 5; no window trades; mid (255+257)/2 = 256
    ch.on_trade(trade("HOP-H27", 254, 4, 5, 1, ts=10))
    ch.settle_day(D[1], 9_000, window=(1_000, 2_000), quotes={"HOP-H27": (255, 257)})
    vm2 = {e.account: e.amount for e in of(ch, VariationMarginPaid)}
    # 1: carried 10 x (256-252) + sold 4 marked (256-254) x -4 = 40 - 8 = 32 ticks
    # 2: carried -10 x 4 = -40; 3: 2 x 4 = 8; 4: -8; 5: bought 4 @254 -> 2 x 4 = 8
    assert vm2 == {1: 32 * TV, 2: -40 * TV, 3: 8 * TV, 4: -8 * TV, 5: 8 * TV}
    assert sum(vm2.values()) == 0
    for a in ch.accounts:
        assert ch.accounts[a].collateral == c0[a] + vm1.get(a, 0) + vm2.get(a, 0)
    # FIFO P&L of 1: sold 4 of the lot bought @250 at 254 -> realized 16 ticks; 6 open at 256 -> 36 ticks;
    # and 16 + 36 = 52 = the VM it received (20 + 32)
    row = next(r for r in ch.positions if r.account == 1 and r.date == D[1])
    assert (row.position, row.settlement_price, row.variation_margin) == (6, 256, 32 * TV)
    assert (row.realized_pnl, row.unrealized_pnl) == (16 * TV, 36 * TV)
    stmt = next(s for s in ch.statements if s.account == 1 and s.date == D[1])
    assert stmt.realized_pnl + stmt.unrealized_pnl == (20 + 32) * TV
    ch.check()


def test_fees_charge_taker_and_rebate_maker():
    ch = house(H27, accounts={1: 10**10, 2: 10**10}, maker_fee=-250_000, taker_fee=1_000_000)
    ch.on_trade(trade("HOP-H27", 250, 2, 1, 2, aggressor=Side.BUY))  # 1 takes, 2 makes
    assert ch.accounts[1].collateral == 10**10 - 2_000_000
    assert ch.accounts[2].collateral == 10**10 + 500_000
    assert ch.fees_collected == 1_500_000
    assert (ch.accounts[1].fees_paid, ch.accounts[2].fees_paid) == (2_000_000, -500_000)
    ch.check()


# --------------------------------------------------------------------------- initial margin


def test_scanning_range_from_index_volatility():
    ch = ClearingHouse()
    for d, v in zip(D, (2_500_000, 2_550_000, 2_499_000)):
        ch.record_fixing(d, "HOP", v)
    ch.list_series(H27, 250)
    # returns +2% and -2% -> sigma 20_000 ppm; x sqrt(2 days) = 28_284; x 3.00 = 84_852 ppm
    assert sigma_ppm([2_500_000, 2_550_000, 2_499_000], 20) == 20_000
    # contract value 250 x 10_000 x 730 = 1_825_000_000; x 84_852 / 1e6 = 154_854_900
    assert ch.scan("HOP-H27") == 154_854_900


def test_scanning_range_floor_applies_without_history():
    ch = house(H27)
    assert ch.scan("HOP-H27") == 54_750_000  # 3% of 1_825_000_000


def test_calendar_spread_credit():
    ch = house(H27, J27, BLK, accounts={1: 10**12, 2: 10**12, 3: 10**12})
    r = 54_750_000  # every series at 250, floor range
    ch.on_trade(trade("HOP-H27", 250, 2, 1, 2))
    ch.on_trade(trade("HOP-J27", 250, 2, 2, 1))
    # 1: long 2 H27, short 2 J27: gross 4r, credit 75% of 2 x (r + r) -> 4r - 3r = r
    assert ch.margin(1)[0] == r
    ch.on_trade(trade("HOP-H27", 250, 1, 1, 3))
    # long 3, short 2: gross 5r, credit 3r
    assert ch.margin(1)[0] == 2 * r
    # a different basket earns no credit: 3 is short 1 H27, buys 1 BLK -> 2r
    ch.on_trade(trade("BLK-H27", 250, 1, 3, 2))
    assert ch.margin(3)[0] == 2 * r
    # maintenance 10/11 of initial, rounded up: 54_750_000 x 10 / 11 = 49_772_727.27
    assert ch.margin(1)[1] == 2 * 49_772_727 + 1  # 109_500_000 x 10 / 11 = 99_545_454.5
    assert maintenance_margin(r, 10, 11) == 49_772_728


def test_spread_credit_pairs_front_months_first():
    # long 1 front (range 10), short 1 back (range 20), short 1 third (range 40): pair with the back month
    legs = [("HOP", 1, 1, 10), ("HOP", 2, -1, 20), ("HOP", 3, -1, 40)]
    assert initial_margin(legs, 50) == 70 - (10 + 20) // 2


# --------------------------------------------------------------------------- pre-trade credit check


def order(account: int, side: Side, qty: int, order_id: int = 1, series: str = "HOP-H27") -> SubmitOrder:
    return SubmitOrder(0, series, order_id, account, side, qty, 250)


def test_credit_check_rejects_an_order_that_takes_margin_above_collateral():
    ch = house(H27, accounts={1: 100_000_000})  # range 54.75M per contract
    before = (ch.accounts[1].collateral, dict(ch.accounts[1].open_orders), len(ch.events))
    assert ch.credit_check(order(1, Side.BUY, 1)) is None
    assert ch.credit_check(order(1, Side.BUY, 2)) is RejectReason.CREDIT_LIMIT
    assert before == (ch.accounts[1].collateral, dict(ch.accounts[1].open_orders), len(ch.events))
    # an open buy of 1 counts as filled: one more is now too much, a sell of 1 is not
    ch.on_event(OrderAccepted(1, 1, 0, "HOP-H27", 7, 1, Side.BUY, OrderKind.LIMIT, TimeInForce.GTC, 250, 1))
    assert ch.credit_check(order(1, Side.BUY, 1, 8)) is RejectReason.CREDIT_LIMIT
    assert ch.credit_check(order(1, Side.SELL, 1, 8)) is None
    ch.on_event(OrderCancelled(2, 2, 0, "HOP-H27", 7, 1, 1, CancelReason.USER))
    assert ch.credit_check(order(1, Side.BUY, 1, 8)) is None
    # a modify up to 2 open lots counts; a fill of one of them moves it from open to position
    ch.on_event(OrderAccepted(3, 3, 0, "HOP-H27", 9, 1, Side.BUY, OrderKind.LIMIT, TimeInForce.GTC, 250, 1))
    ch.on_event(OrderModified(4, 4, 0, "HOP-H27", 9, 1, 250, 2, False))
    assert ch.accounts[1].open_orders["HOP-H27"] == [2, 0]
    ch.on_event(Trade(5, 5, 0, "HOP-H27", 250, 1, 9, 10, 1, 2, Side.SELL))
    assert ch.accounts[1].open_orders["HOP-H27"] == [1, 0]
    assert ch.accounts[1].positions["HOP-H27"].qty == 1
    assert ch.credit_check(order(1, Side.BUY, 1, 8)) is RejectReason.CREDIT_LIMIT  # 1 held + 1 open + 1
    assert ch.credit_check(order(9, Side.BUY, 1)) is RejectReason.CREDIT_LIMIT  # unknown account
    assert ch.credit_check(order(1, Side.BUY, 1, series="NOPE")) is RejectReason.UNKNOWN_SERIES


def test_credit_check_lets_risk_reducing_orders_through():
    ch = house(H27, accounts={1: 100_000_000, 2: 10**12}, **FREE)
    ch.on_trade(trade("HOP-H27", 250, 3, 1, 2))  # long 3: margin 164.25M > 100M collateral
    assert ch.credit_check(order(1, Side.BUY, 1)) is RejectReason.CREDIT_LIMIT
    assert ch.credit_check(order(1, Side.SELL, 1)) is None  # reduces
    assert ch.credit_check(order(1, Side.SELL, 6)) is None  # flips to short 3: same margin
    assert ch.credit_check(order(1, Side.SELL, 7)) is RejectReason.CREDIT_LIMIT  # short 4: more


# --------------------------------------------------------------------------- calls and defaults


def test_margin_call_met_by_deposit_before_deadline():
    ch = house(H27, accounts={1: 600_000_000, 2: 10**12}, **FREE)
    ch.on_trade(trade("HOP-H27", 250, 10, 1, 2))
    ch.settle_day(D[0], 0, quotes={"HOP-H27": (249, 251)})  # 250: VM 0; IM 547.5M <= 600M: no call
    assert not of(ch, MarginCallIssued)
    ch.settle_day(D[1], 0, quotes={"HOP-H27": (244, 246)})  # 245: VM -50 ticks = -365M -> 235M
    # IM at 245: 245 x 7.3M x 3% = 53_655_000 per lot x 10 = 536_550_000; MM = 487_772_728
    (call,) = of(ch, MarginCallIssued)
    assert (call.equity, call.initial, call.maintenance, call.amount) == (
        235_000_000,
        536_550_000,
        487_772_728,
        301_550_000,
    )
    assert call.deadline == D[2]
    ch.deposit(1, 300_000_000)
    assert not of(ch, MarginCallMet)  # not the full amount yet
    ch.deposit(1, 1_550_000)
    assert of(ch, MarginCallMet)[0].amount == 301_550_000
    cmds = ch.settle_day(D[2], 0, quotes={"HOP-H27": (244, 246)})
    assert cmds == [] and not of(ch, AccountDefaulted)
    ch.check()


def test_margin_call_unmet_defaults_and_liquidates_through_the_book():
    ch = house(H27, accounts={1: 600_000_000, 2: 10**12}, **FREE)
    ch.on_trade(trade("HOP-H27", 250, 10, 1, 2))
    ch.settle_day(D[0], 0, quotes={"HOP-H27": (249, 251)})
    ch.settle_day(D[1], 0, quotes={"HOP-H27": (244, 246)})
    ch.on_event(OrderAccepted(1, 1, 0, "HOP-H27", 77, 1, Side.BUY, OrderKind.LIMIT, TimeInForce.GTC, 200, 5))
    cmds = ch.settle_day(D[2], 123, quotes={"HOP-H27": (244, 246)})
    assert cmds == [MassCancel(123, account=1)]  # its orders go; its position is closed out in the next session
    assert ch.liquidating() == {1: {"HOP-H27": 10}}
    (ev,) = of(ch, AccountDefaulted)
    assert (ev.account, ev.date, ev.call_amount, ev.collateral) == (1, D[2], 301_550_000, 235_000_000)
    base = ClearingConfig().liquidation_order_id_base
    assert ch.credit_check(order(1, Side.BUY, 1, 99)) is RejectReason.CREDIT_LIMIT
    assert ch.credit_check(order(1, Side.SELL, 10, 99)) is RejectReason.CREDIT_LIMIT  # not a liquidation id
    assert ch.credit_check(order(1, Side.SELL, 10, base)) is None  # the liquidation order passes the gate
    assert ch.credit_check(order(1, Side.SELL, 11, base)) is RejectReason.CREDIT_LIMIT  # no further than flat
    assert ch.credit_check(order(1, Side.BUY, 1, base)) is RejectReason.CREDIT_LIMIT  # only to reduce


def test_default_exhausts_collateral_and_hits_guarantee_fund():
    gf = 500_000_000
    ch = house(
        H27, accounts={1: 1_100_000_000, 2: 5_000_000_000, 3: 5_000_000_000}, guarantee_fund_contribution=gf, **FREE
    )
    assert ch.accounts[1].collateral == 600_000_000 and ch.fund.total == 3 * gf
    ch.on_trade(trade("HOP-H27", 250, 10, 1, 2))
    ch.settle_day(D[0], 0, quotes={"HOP-H27": (249, 251)})  # 250, no VM
    # day 2: 230 -> VM -20 ticks x 10 = -1_460_000_000; collateral 600M -> -860M
    ch.settle_day(D[1], 0, quotes={"HOP-H27": (229, 231)})
    assert ch.accounts[1].collateral == -860_000_000
    (call,) = of(ch, MarginCallIssued)
    # IM at 230: 230 x 7.3M x 3% = 50_370_000 x 10 = 503_700_000; amount = 503.7M + 860M
    assert call.amount == 1_363_700_000
    ch.check()
    # day 3: unmet -> default. Loss since the run before the call: 600M - (-860M) = 1_460M:
    # 600M from collateral, 500M its own contribution, 360M from 2 and 3 (180M each)
    cmds = ch.settle_day(D[2], 0, quotes={"HOP-H27": (229, 231)})
    assert [type(c) for c in cmds] == [MassCancel]
    (loss,) = of(ch, DefaultLossCovered)
    assert (
        loss.loss,
        loss.from_collateral,
        loss.from_own_contribution,
        loss.from_fund,
        loss.from_house,
        loss.uncovered,
    ) == (1_460_000_000, 600_000_000, 500_000_000, 360_000_000, 0, 0)
    assert ch.accounts[1].collateral == 0
    assert ch.fund.contributions == {1: 0, 2: 320_000_000, 3: 320_000_000}
    ch.check()
    # day 4: a liquidation order sells 10 @225 to 3 (a resting bid); settle VWAP 225
    liq = ClearingConfig().liquidation_order_id_base
    ch.on_event(OrderAccepted(1, 1, 0, "HOP-H27", liq, 1, Side.SELL, OrderKind.LIMIT, TimeInForce.IOC, 225, 10))
    ch.on_trade(trade("HOP-H27", 225, 10, 3, 1, aggressor=Side.SELL))
    ch.events.clear()
    cmds = ch.settle_day(D[3], 0)
    assert cmds == []  # flat: nothing more to liquidate
    # 1: (225 - 230) x 10 = -50 ticks = -365M, all from the fund: 182.5M each from 2 and 3
    (loss,) = of(ch, DefaultLossCovered)
    assert (loss.loss, loss.from_collateral, loss.from_own_contribution, loss.from_fund, loss.uncovered) == (
        365_000_000,
        0,
        0,
        365_000_000,
        0,
    )
    assert ch.liquidating() == {}
    assert ch.fund.contributions == {1: 0, 2: 137_500_000, 3: 137_500_000}
    assert ch.accounts[1].collateral == 0 and ch.accounts[1].positions["HOP-H27"].qty == 0
    # 2, short 10 from 250, has received (250 - 225) x 10 = 250 tick-lots in all
    assert ch.accounts[2].collateral == 4_500_000_000 + 25 * 10 * TV
    ch.check()


def test_loss_beyond_the_fund_stays_uncovered_and_visible():
    ch = house(H27, accounts={1: 600_000_000, 2: 10**12}, **FREE)  # no guarantee fund
    ch.on_trade(trade("HOP-H27", 250, 10, 1, 2))
    ch.settle_day(D[0], 0, quotes={"HOP-H27": (249, 251)})
    ch.settle_day(D[1], 0, quotes={"HOP-H27": (229, 231)})
    ch.settle_day(D[2], 0, quotes={"HOP-H27": (229, 231)})
    (loss,) = of(ch, DefaultLossCovered)
    assert (loss.from_collateral, loss.from_fund, loss.uncovered) == (600_000_000, 0, 860_000_000)
    assert ch.accounts[1].collateral == -860_000_000
    ch.check()


def test_the_house_capital_is_the_last_layer_before_a_loss_is_uncovered():
    # 1 loses 1_460M (as above) on 600M of collateral: 500M own contribution, 2's 100M, then
    # all of the house's 250M capital; 10M stays uncovered
    ch = house(
        H27,
        accounts={1: 1_100_000_000, 2: 600_000_000},
        guarantee_fund_contribution=500_000_000,
        house_capital=250_000_000,
        **FREE,
    )
    ch.fund.contributions[2] = 100_000_000  # 2 has used 400M of its contribution elsewhere: the pool is small
    ch.accounts[2].collateral += 400_000_000
    ch.on_trade(trade("HOP-H27", 250, 10, 1, 2))
    ch.settle_day(D[0], 0, quotes={"HOP-H27": (249, 251)})
    ch.settle_day(D[1], 0, quotes={"HOP-H27": (229, 231)})
    ch.settle_day(D[2], 0, quotes={"HOP-H27": (229, 231)})
    (loss,) = of(ch, DefaultLossCovered)
    assert (
        loss.loss,
        loss.from_collateral,
        loss.from_own_contribution,
        loss.from_fund,
        loss.from_house,
        loss.uncovered,
    ) == (1_460_000_000, 600_000_000, 500_000_000, 100_000_000, 250_000_000, 10_000_000)
    assert ch.house_capital == 0 and ch.accounts[1].collateral == -10_000_000
    ch.check()


def test_two_defaulters_in_one_run_keep_their_own_contributions_for_their_own_losses():
    # 1 and 2 each lose 1_460M on 600M of collateral (860M beyond it); 3 is the only other member
    ch = house(
        H27, accounts={1: 700_000_000, 2: 700_000_000, 3: 10**12}, guarantee_fund_contribution=100_000_000, **FREE
    )
    ch.on_trade(trade("HOP-H27", 250, 10, 1, 3))
    ch.on_trade(trade("HOP-H27", 250, 10, 2, 3))
    ch.settle_day(D[0], 0, quotes={"HOP-H27": (249, 251)})
    ch.settle_day(D[1], 0, quotes={"HOP-H27": (229, 231)})
    ch.settle_day(D[2], 0, quotes={"HOP-H27": (229, 231)})
    got = {e.account: (e.from_own_contribution, e.from_fund, e.uncovered) for e in of(ch, DefaultLossCovered)}
    # 1: its own 100M, then all of 3's 100M (2's is not shared: 2 has defaulted too); 2: its own, nothing left
    assert got == {1: (100_000_000, 100_000_000, 660_000_000), 2: (100_000_000, 0, 760_000_000)}
    ch.check()


def test_a_stale_book_cannot_set_the_mid_tier():
    ch = house(H27, accounts={1: 10**12})
    ch.settle_day(D[0], 0, quotes={"HOP-H27": (249, 251)}, stale={"HOP-H27"}, fixings={"HOP": 2_500_000})
    assert of(ch, SettlementPrice)[-1].tier is SettlementTier.INDEX_MOVED


# --------------------------------------------------------------------------- final settlement


def test_final_settlement_closes_positions_pays_last_vm_and_delists():
    ch = house(H27, J27, accounts={1: 10**10, 2: 10**10}, **FREE)
    ch.on_trade(trade("HOP-H27", 250, 10, 1, 2))
    ch.on_trade(trade("HOP-J27", 250, 1, 1, 2))
    # trades outside the window: mids 252 and 250
    ch.settle_day(D[0], 0, window=(1, 2), quotes={"HOP-H27": (251, 253), "HOP-J27": (249, 251)})
    c1 = ch.accounts[1].collateral
    # the final price is the monthly average of the fixings, computed (and rounded) by products, e.g.
    # (2_512_000 + 2_497_000 + 2_521_000) / 3 = 2_510_000 micro-$ = 251 ticks; clearing is given the ticks
    cmds = ch.settle_day(D[1], 77, finals={"HOP-H27": 251})
    assert ch.settlements[-2] == SettlementPrice(77, D[1], "HOP-H27", 251, SettlementTier.FINAL)
    vm = {e.account: e.amount for e in of(ch, VariationMarginPaid) if e.date == D[1]}
    assert vm == {1: -10 * TV, 2: 10 * TV}  # (251 - 252) x 10; J27 carried at 250 -> 0
    assert ch.accounts[1].collateral == c1 - 10 * TV
    pos = ch.accounts[1].positions["HOP-H27"]
    assert pos.qty == 0 and pos.realized_ticks == 10  # bought @250, closed @251
    assert of(ch, SeriesDelisted) == [SeriesDelisted(77, D[1], "HOP-H27", 251)]
    assert MassCancel(77, series="HOP-H27") in cmds
    assert ch.credit_check(order(1, Side.BUY, 1)) is RejectReason.UNKNOWN_SERIES
    with pytest.raises(ValueError):
        ch.on_trade(trade("HOP-H27", 250, 1, 1, 2))
    ch.settle_day(D[2], 0)
    assert [s.series for s in ch.settlements if s.date == D[2]] == ["HOP-J27"]
    assert ch.margin(1)[0] == ch.scan("HOP-J27")  # only J27 is margined now
    ch.check()


# --------------------------------------------------------------------------- tables


def test_write_tables(tmp_path):
    ch = house(H27, accounts={1: 600_000_000, 2: 10**12}, **FREE)
    ch.record_fixing(dt.date(2027, 2, 26), "HOP", 2_500_000)
    ch.on_trade(trade("HOP-H27", 250, 10, 1, 2))
    ch.settle_day(D[0], 0, quotes={"HOP-H27": (249, 251)}, fixings={"HOP": 2_510_000})
    ch.settle_day(D[1], 0, quotes={"HOP-H27": (229, 231)})
    ch.settle_day(D[2], 0)  # no trades, no quotes, no fixing: the previous settlement carries
    paths = ch.write_tables(tmp_path)
    t = {name: pq.read_table(p).to_pylist() for name, p in paths.items()}
    assert [(r["index"], r["value_usd_micro"], r["value_usd"]) for r in t["fixings"]] == [
        ("HOP", 2_500_000, 2.5),
        ("HOP", 2_510_000, 2.51),
    ]
    assert [(r["date"], r["price_ticks"], r["tier"]) for r in t["settlements"]] == [
        (D[0], 250, "vwap"),
        (D[1], 230, "mid"),
        (D[2], 230, "index_moved"),
    ]
    s1 = [r for r in t["accounts"] if r["account"] == 1]
    assert [r["variation_margin_usd_micro"] for r in s1] == [0, -1_460_000_000, 0]
    assert [r["collateral_usd_micro"] for r in s1] == [600_000_000, -860_000_000, -860_000_000]
    assert [r["defaulted"] for r in s1] == [False, False, True]
    assert [r["type"] for r in t["margin_calls"]] == ["MarginCallIssued"]
    assert [r["type"] for r in t["defaults"]] == ["AccountDefaulted", "DefaultLossCovered"]
    assert {r["series"] for r in t["positions"]} == {"HOP-H27"}


# --------------------------------------------------------------------------- properties

SPECS = [H27, J27, BLK]
ACCOUNTS = [1, 2, 3, 4]

fill = st.tuples(
    st.integers(0, 2),
    st.integers(200, 300),
    st.integers(1, 20),
    st.sampled_from(ACCOUNTS),
    st.sampled_from(ACCOUNTS),
    st.booleans(),
    st.integers(0, 100),
)
day = st.fixed_dictionaries(
    {
        "fills": st.lists(fill, max_size=8),
        "quotes": st.dictionaries(st.integers(0, 2), st.tuples(st.integers(190, 300), st.integers(0, 12)), max_size=3),
        "fix": st.integers(2_000_000, 3_000_000),
        "deposit": st.tuples(st.sampled_from(ACCOUNTS), st.integers(0, 500_000_000)),
        "liquidate": st.booleans(),
    }
)


@settings(max_examples=300, deadline=None)
@given(
    days=st.lists(day, min_size=1, max_size=6),
    collateral=st.lists(st.integers(200_000_000, 3_000_000_000), min_size=4, max_size=4),
    gf=st.integers(0, 300_000_000),
    final_on=st.integers(0, 6),
)
def test_vm_is_zero_sum_and_cash_is_conserved(days, collateral, gf, final_on):
    ch = house(*SPECS, guarantee_fund_contribution=gf, maker_fee=-100_000, taker_fee=300_000)
    for a, c in zip(ACCOUNTS, collateral):
        ch.open_account(a, c + gf)
    total = ch.deposited
    assert ch.cash_total() == total
    vm_by_account = {a: 0 for a in ACCOUNTS}
    pending: list[SubmitOrder] = []
    for i, d in enumerate(days):
        live = ch.live_series()
        if d["liquidate"]:  # liquidation orders fill against a random counterparty
            for k, cmd in enumerate(pending):
                if cmd.series in live:
                    other = ACCOUNTS[(cmd.account + k) % 4]
                    buyer, seller = (cmd.account, other) if cmd.side is Side.BUY else (other, cmd.account)
                    ch.on_trade(trade(cmd.series, 240, cmd.qty, buyer, seller, aggressor=cmd.side))
                    ch.check()
            pending = []
        for s, price, qty, buyer, seller, aggr, ts in d["fills"]:
            sym = SPECS[s].symbol
            if sym in live and not ch.accounts[buyer].defaulted and not ch.accounts[seller].defaulted:
                ch.on_trade(trade(sym, price, qty, buyer, seller, ts, Side.BUY if aggr else Side.SELL))
                ch.check()
        acc, amount = d["deposit"]
        ch.deposit(acc, amount)
        total += amount
        quotes = {SPECS[k].symbol: (b, b + w) for k, (b, w) in d["quotes"].items()}
        finals = {"HOP-H27": 245} if i == final_on and "HOP-H27" in live else None
        ch.events.clear()
        cmds = ch.settle_day(
            D[i], i, quotes=quotes, window=(0, 50), fixings={"HOP": d["fix"], "BLK": d["fix"] * 2}, finals=finals
        )
        pending += [c for c in cmds if type(c) is SubmitOrder]
        vms = of(ch, VariationMarginPaid)
        assert sum(e.amount for e in vms) == 0
        for e in vms:
            vm_by_account[e.account] += e.amount
        assert ch.cash_total() == ch.deposited == total
        ch.check()
    # every micro-dollar of VM an account received is its P&L: realized (FIFO) + unrealized at the last settlement
    for a in ACCOUNTS:
        pnl = 0
        for sym, pos in ch.accounts[a].positions.items():
            mark = ch.settlement(sym)
            pnl += (pos.realized_ticks + pos.unrealized_ticks(mark)) * TV
        assert pnl == vm_by_account[a]


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        ClearingConfig(maintenance_den=0)
    with pytest.raises(ValueError):
        ClearingConfig(spread_credit_pct=101)


def test_the_settlement_window_keeps_the_trades_the_written_out_filter_keeps():
    """`_in_window` (the window unpacked once) against the filter it replaced,
    on random trades and windows, their edges included."""
    import random

    from cfx.clearing.house import _in_window

    rng = random.Random(5)
    for _ in range(300):
        trades = [(rng.randrange(0, 50), rng.randrange(1, 9), rng.randrange(1, 5)) for _ in range(rng.randrange(0, 40))]
        lo = rng.randrange(0, 50)
        for window in (None, (lo, lo + rng.randrange(0, 20))):
            expected = [(p, q) for t, p, q in trades if window is None or window[0] <= t < window[1]]
            assert _in_window(trades, window) == expected
