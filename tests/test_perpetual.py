"""Perpetual futures: the listed product, funding through the clearing house
at every interval, margin and liquidation on the mark, the insurance fund
layer, and a short design_perpetual run."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfx.clearing import ClearingConfig
from cfx.clearing.funding import funding_payments, funding_rate, premium_sample
from cfx.products import HOPPER, PERPETUAL_END, ListingCalendar, final_settlement, make_perpetual
from cfx import api
from cfx.sim.perpetual import impact_price, pct_to_rate
from cfx.sim.run import run_scenario
from cfx.types import AccountDefaulted, DefaultLossCovered, FundingPaid, MarkPriceUpdated, MassCancel, Side, SubmitOrder
from cfx.venue import ConfigureClearing, ListContract, OpenAccount, PayFunding, SettleDay, UpdateMark, Venue

START = dt.date(2027, 1, 4)
PERP = make_perpetual(HOPPER, first_trading_day=START)
TICK_VALUE = 10_000 * 730


def test_a_perpetual_is_listed_alongside_or_instead_of_the_months_and_never_expires():
    instead = ListingCalendar(start=START, baskets=[HOPPER], months_ahead=2, listing="perpetual")
    both = ListingCalendar(start=START, baskets=[HOPPER], months_ahead=2, listing="both")
    assert [s.symbol for s in instead.listed(START)] == ["HOP-PERP"]
    assert [s.symbol for s in both.listed(START)] == ["HOP-F27", "HOP-G27", "HOP-PERP"]
    perp = instead.series("HOP-PERP")
    assert perp.perpetual and perp.last_trading_day == PERPETUAL_END
    assert perp.is_trading(dt.date(2040, 6, 1)) and instead.expiring(dt.date(2027, 1, 29)) == []
    with pytest.raises(ValueError, match="never final-settles"):
        final_settlement(perp, {START: 2_500_000})


def test_a_hand_computed_funding_interval_from_the_book_to_the_micro_dollar():
    # the impact bid for 5 lots walks to the second level: 251; the impact ask 253; index 250 ticks
    bid = impact_price([(252, 3), (251, 4)], 5)
    ask = impact_price([(253, 10)], 5)
    assert (bid, ask) == (251, 253)
    p = premium_sample(bid * 10_000, ask * 10_000, 2_500_000)
    assert p == 400_000  # (2.51 - 2.50) / 2.50 = 0.4 %
    interest, clamp, cap = pct_to_rate(0.00125), pct_to_rate(0.05), pct_to_rate(0.75)
    assert (interest, clamp, cap) == (1_250, 50_000, 750_000)
    rate = funding_rate([p, 0, 0], interest, clamp, cap)  # P = 133,333.33 -> 133,333; I - P clamped to -50,000
    assert rate == 83_333
    # per lot at mark 251: 251 * 7,300,000 * 83,333 / 1e8 = 1,526,910.559 micro-$
    pay = funding_payments({1: 3, 2: -2, 3: -1}, mark=251, rate=rate, tick_value=TICK_VALUE)
    # the long pays floor(3 * 1,526,910.559) = floor(4,580,731.677) = 4,580,731; the shorts share it 2:1:
    # 3,053,820.67 and 1,526,910.33, floors 3,053,820 + 1,526,910, the micro-dollar left to the larger part
    assert pay == {1: -4_580_731, 2: 3_053_821, 3: 1_526_910}


def perp_venue(collateral: dict[int, int], **config) -> Venue:
    v = Venue()
    v.apply(ConfigureClearing(ClearingConfig(**{"maker_fee": 0, "taker_fee": 0, **config})))
    v.apply(ListContract(0, PERP, 250))
    for a, c in collateral.items():
        v.apply(OpenAccount(0, a, c))
    return v


def fill(v: Venue, oid: int, buyer: int, seller: int, qty: int, price: int) -> None:
    v.apply(SubmitOrder(1, PERP.symbol, oid, seller, Side.SELL, qty, price))
    v.apply(SubmitOrder(2, PERP.symbol, oid + 1, buyer, Side.BUY, qty, price))


@settings(max_examples=100, deadline=None)
@given(
    trades=st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 40), st.integers(240, 260)),
        min_size=1,
        max_size=12,
    ),
    intervals=st.lists(st.tuples(st.integers(200, 300), st.integers(-750_000, 750_000)), min_size=1, max_size=8),
)
def test_funding_through_clearing_sums_to_zero_at_every_interval_and_conserves_cash(trades, intervals):
    v = perp_venue({a: 10**13 for a in range(1, 6)})
    oid = 1
    for buyer, seller, qty, price in trades:
        if buyer != seller:
            fill(v, oid, buyer, seller, qty, price)
            oid += 2
    ch = v.clearing
    for k, (mark, rate) in enumerate(intervals):
        events = v.apply(PayFunding(100 + k, PERP.symbol, mark, rate))
        paid = [e for e in events if type(e) is FundingPaid]
        assert sum(e.amount for e in paid) == 0
        assert all(e.position == ch.accounts[e.account].positions[PERP.symbol].qty for e in paid)
        assert ch.cash_total() == ch.deposited
        ch.check()


def scan_of(v: Venue) -> int:
    return v.clearing.scan(PERP.symbol)


def test_margin_is_on_the_mark_a_far_last_trade_liquidates_nobody_the_mark_does():
    v = perp_venue({1: 0, 2: 10**12, 3: 10**12, 4: 10**12})
    scan = scan_of(v)
    v.apply(OpenAccount(0, 5, 11 * scan))  # enough initial margin for 10 lots, a little to spare
    fill(v, 1, 5, 2, 10, 250)  # account 5 long 10 at 250
    fill(v, 3, 4, 3, 1, 150)  # a print 100 ticks below, between two others
    assert v.engine.book(PERP.symbol).last_price == 150
    events = v.apply(UpdateMark(10, START, PERP.symbol, 250, 250, 0))  # the mark stays on the index: nobody defaults
    assert [type(e) for e in events] == [MarkPriceUpdated] and v.take_commands() == []
    _, mm = v.clearing.margin(5)
    # equity on a mark m: 11 * scan + (m - 250) * 10 * 7.3M; below maintenance once m <= 250 - 11 * scan / 73M ...
    drop = (11 * scan - mm) // (10 * TICK_VALUE) + 1
    v.apply(UpdateMark(20, START, PERP.symbol, 250, 250 - drop + 1, 0))
    assert not v.clearing.accounts[5].defaulted
    events = v.apply(UpdateMark(30, START, PERP.symbol, 250, 250 - drop, 0))
    defaults = [e for e in events if type(e) is AccountDefaulted]
    assert [(e.account, e.collateral) for e in defaults] == [(5, 11 * scan - 10 * drop * TICK_VALUE)]
    assert v.take_commands() == [MassCancel(30, account=5)]
    assert v.clearing.liquidating() == {5: {PERP.symbol: 10}}
    assert all(
        not v.clearing.accounts[a].defaulted for a in (2, 3, 4)
    )  # the 150 print's buyer is margined on the mark too


def test_the_daily_settlement_of_a_perpetual_is_its_mark_and_the_insurance_fund_comes_before_the_members():
    gf, insurance = 100_000_000, 1_000_000_000
    v = perp_venue(
        {2: 10**12 + gf, 3: 10**12 + gf, 4: 10**12 + gf}, guarantee_fund_contribution=gf, insurance_fund=insurance
    )
    scan = scan_of(v)
    v.apply(OpenAccount(0, 5, 11 * scan + gf))
    fill(v, 1, 5, 2, 10, 250)
    v.apply(UpdateMark(10, START, PERP.symbol, 240, 240, 0))  # 10 ticks down: 73M a tick on 10 lots
    assert v.clearing.accounts[5].defaulted
    v.take_commands()
    v.apply(UpdateMark(20, START, PERP.symbol, 200, 200, 0))  # then 50 below the entry: 3.65 bn micro-$ lost
    events = v.apply(SettleDay(30, START, {"HOPPER": 2_000_000}, 0, 30))
    settled = [e for e in events if type(e).__name__ == "SettlementPrice"]
    assert [(e.price, str(e.tier)) for e in settled] == [(200, "mark")]
    covered = [e for e in events if type(e) is DefaultLossCovered]
    deficit = 50 * 10 * TICK_VALUE - 11 * scan
    assert len(covered) == 1
    c = covered[0]
    assert (c.from_own_contribution, c.from_insurance, c.from_fund, c.from_house) == (gf, insurance, 3 * gf, 0)
    assert c.uncovered == deficit - gf - insurance - 3 * gf
    assert v.clearing.cash_total() == v.clearing.deposited


def test_a_short_design_perpetual_run_writes_funding_that_sums_to_zero_at_every_interval(tmp_path, capsys):
    sc = api.load("design_perpetual", {"calendar.days": 1})
    out = tmp_path / "run"
    summary = run_scenario(sc, out, progress=False)
    funding = pq.read_table(out / "funding.parquet").to_pylist()
    assert funding, "no funding was paid"
    by_interval: dict[tuple, int] = {}
    for r in funding:
        by_interval[(r["time"], r["series"])] = by_interval.get((r["time"], r["series"]), 0) + r["amount_usd_micro"]
    assert set(by_interval.values()) == {0}
    assert len(by_interval) == summary["perpetual"]["funding_intervals_paid"] == 8  # 08:00-16:00, hourly
    marks = pq.read_table(out / "marks.parquet").to_pylist()
    assert len(marks) == summary["perpetual"]["series"]["HOP-PERP"]["samples"] == 480
    assert summary["settlement_tiers"] == {"mark": 1}
    # anchored: the premium is within half a tick ($0.001 here, 0.034 % of the index) and half the funding
    # clamp (the makers quote off the index and the basis trader takes what strays beyond its fees), so
    # funding pays the interest rate (seed 42, one day: 0.0084 %; with a month's anchoring, 0.3 index
    # weight, 2-hour half-life and a 3-cent basis threshold: 0.29 %, and 1 of 8 hours at the interest rate)
    perp = summary["perpetual"]["series"]["HOP-PERP"]
    assert perp["one_tick_pct_of_index"] < 0.05  # the perpetual's own finer tick
    assert perp["mean_abs_premium_pct"] < min(perp["clamp_pct"], perp["one_tick_pct_of_index"]) / 2
    assert perp["mean_abs_interval_premium_pct"] < perp["clamp_pct"] / 2
    assert perp["intervals_at_interest_rate"] >= 6
    by_type = summary["perpetual"]["funding_paid_usd_by_agent_type"]
    assert abs(sum(by_type.values())) < 0.05  # zero-sum, up to the per-type rounding to cents
    # the journal replays to the same event log: marks and funding are commands like any other
    from cfx import cli

    capsys.readouterr()
    assert cli.main(["replay", str(out / "journal")]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["events_sha256"] == summary["run_hash"]


class _Listed:
    """The slice of a Context that series selection and funding carry read."""

    def __init__(self, listed: list[str], rate: int | None = None) -> None:
        self._listed = listed
        self.rate = rate

    def listed(self) -> list[str]:
        return self._listed

    def front(self, basket=None) -> str:
        return self._listed[0]

    def perpetual(self, basket=None) -> str | None:
        return next((s for s in self._listed if s.endswith("-PERP")), None)

    def funding_rate(self, series: str) -> int | None:
        return self.rate if series.endswith("-PERP") else None


def test_selectors_reach_the_perpetual_and_months_do_not_count_it():
    from cfx.agents.common import resolve_series

    both = _Listed(["HOP-F27", "HOP-G27", "HOP-PERP"])
    assert [resolve_series(both, s) for s in ("front", "front+1", "front+2", "perp")] == [
        "HOP-F27",
        "HOP-G27",
        None,
        "HOP-PERP",
    ]
    only = _Listed(["HOP-PERP"])
    assert [resolve_series(only, s) for s in ("front", "front+1", "perp")] == ["HOP-PERP", None, "HOP-PERP"]


def test_a_market_maker_on_a_perpetual_takes_the_funding_a_long_pays_off_its_fair_value():
    from cfx.agents.market_maker import MarketMaker, MarketMakerSpec

    mm = MarketMaker(MarketMakerSpec(funding_intervals=2.0))
    # longs pay 0.05 % an interval: two intervals on 250 ticks is 0.25 tick off the fair value
    assert mm._funding_carry(_Listed(["HOP-PERP"], rate=50_000), "HOP-PERP", 250.0) == pytest.approx(0.25)
    assert mm._funding_carry(_Listed(["HOP-PERP"], rate=-50_000), "HOP-PERP", 250.0) == pytest.approx(-0.25)
    assert mm._funding_carry(_Listed(["HOP-PERP"], rate=None), "HOP-PERP", 250.0) == 0.0


def test_a_gap_in_the_index_liquidates_thin_perpetual_longs_on_the_mark_and_the_insurance_fund_pays_first(tmp_path):
    """perpetual_crash to the day of the gap: the longs default on the mark
    within minutes, are closed out, and their losses beyond their own layers
    take the whole insurance fund before any other member's contribution."""
    sc = api.load("perpetual_crash", {"calendar.days": 4})
    out = tmp_path / "run"
    summary = run_scenario(sc, out, progress=False)
    assert summary["perpetual"]["defaults_on_mark"] == 3
    assert summary["liquidation_fills_contracts"] == 420 and summary["defaulters_open_positions"] == {}
    layers = summary["default_losses_usd_by_layer"]
    assert layers["insurance_fund"] == 20_000.0  # all of it
    assert layers["others_contributions"] > 0 and layers["uncovered"] == 0.0
    covered = [r for r in pq.read_table(out / "defaults.parquet").to_pylist() if r["type"] == "DefaultLossCovered"]
    insurance_left = 20_000_000_000
    for r in covered:  # in the order they paid: the others' contributions only once the insurance fund is empty
        insurance_left -= r["from_insurance_usd_micro"]
        if r["from_fund_usd_micro"]:
            assert insurance_left == 0
    assert insurance_left == 0
    defaults = [r for r in pq.read_table(out / "defaults.parquet").to_pylist() if r["type"] == "AccountDefaulted"]
    gap = dt.datetime(2027, 1, 7, 10, 30, tzinfo=dt.timezone.utc)
    assert all(dt.timedelta(0) < r["time"] - gap < dt.timedelta(minutes=15) for r in defaults)
