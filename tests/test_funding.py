"""Perpetual funding (cfx/clearing/funding.py): the rate formula, the mark
price, and payments that are exactly zero-sum, checked by hand and by property."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from cfx.clearing.funding import RATE_UNIT, funding_payments, funding_rate, mark_price, premium_sample

TICK_VALUE = 10_000 * 730  # $0.01 per GPU-hour x 730 GPU-hours: 7.3 M micro-$ per tick per contract


def test_premium_sample_is_zero_while_the_book_straddles_the_index():
    assert premium_sample(249, 251, 250) == 0
    assert premium_sample(252, 253, 250) == 800_000  # (252 - 250) / 250 = 0.8 %
    assert premium_sample(247, 248, 250) == -800_000
    assert premium_sample(None, 248, 250) == -800_000


def test_the_funding_rate_is_the_interest_rate_while_the_premium_is_within_the_clamp():
    assert funding_rate([20_000, 10_000], interest=1_250, clamp=50_000, cap=750_000) == 1_250
    # premium 0.1 %: I - P = -0.09875 % clamped to -0.05 %: F = 0.05 %
    assert funding_rate([100_000], interest=1_250, clamp=50_000, cap=750_000) == 50_000
    # a large discount: F = P + 0.05 %, capped at -0.75 %
    assert funding_rate([-400_000], interest=1_250, clamp=50_000, cap=750_000) == -350_000
    assert funding_rate([-2_000_000], interest=1_250, clamp=50_000, cap=750_000) == -750_000
    assert funding_rate([], interest=1_250, clamp=50_000, cap=750_000) == 1_250
    assert funding_rate([1, 2], interest=0, clamp=0, cap=10) == 2  # mean 1.5 rounds half to even


def test_mark_price_is_the_index_plus_the_mean_basis_within_its_clamp():
    assert mark_price(250, [1, 2, 2], mark_clamp=1_000_000) == 252  # 5/3 -> 2 (clamp: 1 % of 250 = 2 ticks)
    assert mark_price(250, [10], mark_clamp=500_000) == 251  # 0.5 % of 250 = 1.25 -> 1 tick
    assert mark_price(250, [], mark_clamp=500_000) == 250


def test_a_hand_computed_funding_payment_to_the_micro_dollar():
    # mark 250 ticks, rate 0.012347 %: per lot 250 * 7_300_000 * 12_347 / 1e8 = 225,332.75 micro-$
    positions = {1: 2, 2: 1, 3: -2, 4: -1}
    pay = funding_payments(positions, mark=250, rate=12_347, tick_value=TICK_VALUE)
    # longs pay floor: 450,665.5 -> 450,665 and 225,332.75 -> 225,332; T = 675,997
    # shorts share T 2:1: 450,664.67 and 225,332.33 -> floors 450,664 + 225,332, 1 left to the larger part
    assert pay == {1: -450_665, 2: -225_332, 3: 450_665, 4: 225_332}
    assert sum(pay.values()) == 0


def test_a_negative_rate_makes_shorts_pay_and_nobody_on_one_side_means_no_payment():
    pay = funding_payments({1: 3, 2: -3}, mark=200, rate=-50_000, tick_value=TICK_VALUE)
    assert pay == {1: 2_190_000, 2: -2_190_000}  # 3 * 200 * 7.3M * 0.05 %
    assert funding_payments({1: 3, 2: 4}, mark=200, rate=50_000, tick_value=TICK_VALUE) == {}
    assert funding_payments({1: 3, 2: -3}, mark=200, rate=0, tick_value=TICK_VALUE) == {}


books = st.lists(st.integers(-500, 500).filter(bool), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(books, st.integers(1, 100_000), st.integers(-750_000, 750_000), st.integers(1, 10_000_000))
def test_funding_sums_to_zero_at_every_interval_and_each_share_is_within_a_micro_dollar(lots, mark, rate, tick_value):
    positions = {i + 1: q for i, q in enumerate(lots)}
    positions[len(lots) + 1] = -sum(lots)  # a clearing house's positions net to zero
    pay = funding_payments(positions, mark, rate, tick_value)
    assert sum(pay.values()) == 0
    per_lot = Fraction(mark * tick_value * abs(rate), RATE_UNIT)
    paid = 0
    for a, q in positions.items():
        exact = q * per_lot * (1 if rate > 0 else -1)  # what it owes (> 0) or is owed (< 0)
        got = pay.get(a, 0)
        if exact > 0:
            assert -exact <= got < -exact + 1  # a payer pays its exact amount rounded down
            paid -= got
    receivers = {a: abs(q) for a, q in positions.items() if q and (q * rate) < 0}
    total_lots = sum(receivers.values())
    for a, q in receivers.items():
        assert abs(pay.get(a, 0) - Fraction(paid * q, total_lots)) < 1  # its share of what was paid


# --------------------------------------------------------------------------- through the venue


def test_a_funding_interval_through_the_venue_moves_cash_between_accounts_and_journals():
    import datetime as dt

    import msgspec

    from cfx.products import HOPPER, make_series
    from cfx.types import FundingPaid, Side, SubmitOrder
    from cfx.venue import ListContract, OpenAccount, PayFunding, Venue, command_decoder

    series = make_series(HOPPER, 2027, 3, first_trading_day=dt.date(2027, 1, 4))
    v = Venue()
    v.apply(ListContract(0, series, 250))
    for acct in (1, 2, 3, 4):
        v.apply(OpenAccount(0, acct, 1_000_000_000_000))
    # 1 buys 2 from 3, 2 buys 1 from 4: the hand-computed book above
    v.apply(SubmitOrder(1, series.symbol, 1, 3, Side.SELL, 2, 250))
    v.apply(SubmitOrder(2, series.symbol, 2, 1, Side.BUY, 2, 250))
    v.apply(SubmitOrder(3, series.symbol, 3, 4, Side.SELL, 1, 250))
    v.apply(SubmitOrder(4, series.symbol, 4, 2, Side.BUY, 1, 250))
    before = {a: v.clearing.accounts[a].collateral for a in (1, 2, 3, 4)}
    cash = v.clearing.cash_total()
    cmd = command_decoder.decode(msgspec.json.encode(PayFunding(10, series.symbol, 250, 12_347)))
    paid = [e for e in v.apply(cmd) if type(e) is FundingPaid]
    assert [(e.account, e.position, e.amount) for e in paid] == [
        (1, 2, -450_665),
        (2, 1, -225_332),
        (3, -2, 450_665),
        (4, -1, 225_332),
    ]
    assert {a: v.clearing.accounts[a].collateral - before[a] for a in before} == {e.account: e.amount for e in paid}
    assert v.clearing.cash_total() == cash
    from cfx.types import encoder, event_decoder

    assert event_decoder.decode(encoder.encode(paid[0])) == paid[0]  # one event union reads it back
