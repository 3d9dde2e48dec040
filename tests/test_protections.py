"""Price bands and the velocity circuit breaker."""

from __future__ import annotations

import pytest

from cfx.errors import InputError
from cfx.protections import MIN_PRICE, PriceBand, VelocityBreaker
from cfx.types import Side

SEC = 1_000_000_000
MS = 1_000_000


# --------------------------------------------------------------------------- price band


def test_band_edges_are_inclusive():
    band = PriceBand(reference=100, width=5)
    assert band.limits() == (95, 105)
    assert band.allows(95) and band.allows(105) and band.allows(100)
    assert not band.allows(94) and not band.allows(106)


def test_zero_width_band_allows_only_the_reference():
    band = PriceBand(reference=100, width=0)
    assert band.allows(100)
    assert not band.allows(99) and not band.allows(101)


def test_band_low_edge_never_goes_below_the_minimum_price():
    band = PriceBand(reference=3, width=5)
    assert band.limits() == (MIN_PRICE, 8)
    assert not band.allows(0)


def test_market_orders_are_stopped_at_the_edge_on_their_side():
    band = PriceBand(reference=100, width=5)
    assert band.protection_limit(Side.BUY) == 105
    assert band.protection_limit(Side.SELL) == 95


def test_new_settlement_recentres_the_band():
    band = PriceBand(reference=100, width=5)
    band.update_reference(120)
    assert band.reference == 120
    assert band.limits() == (115, 125)
    assert not band.allows(105)


def test_fixed_band_ignores_trades_and_moving_band_follows_them():
    fixed = PriceBand(reference=100, width=5)
    fixed.on_trade(104)
    assert fixed.limits() == (95, 105)
    moving = PriceBand(reference=100, width=5, moving=True)
    moving.on_trade(104)
    assert moving.limits() == (99, 109)
    assert moving.protection_limit(Side.BUY) == 109
    moving.on_trade(2)
    assert moving.limits() == (MIN_PRICE, 7)


def test_bad_band_settings_are_input_errors():
    with pytest.raises(InputError, match="width"):
        PriceBand(reference=100, width=-1)
    with pytest.raises(InputError, match="reference"):
        PriceBand(reference=0, width=5)


# --------------------------------------------------------------------------- velocity breaker


def breaker(threshold: int = 10, window_ns: int = SEC, halt_ns: int = 60 * SEC) -> VelocityBreaker:
    return VelocityBreaker(threshold, window_ns, halt_ns)


def test_move_of_exactly_the_threshold_does_not_trip_but_one_tick_more_does():
    b = breaker()
    b.record(100, 0)
    assert not b.check(110, 500 * MS)
    assert not b.check(90, 500 * MS)
    assert b.check(111, 500 * MS)
    assert b.check(89, 500 * MS)


def test_nothing_trips_before_any_price_is_known():
    assert not breaker().check(10**9, 0)
    assert breaker().reference(0) is None


def test_reference_is_the_last_price_at_or_before_one_window_ago():
    b = breaker()
    b.record(100, 0)
    b.record(105, 400 * MS)
    b.record(108, 800 * MS)
    assert b.reference(1400 * MS - 1) == 100
    assert b.reference(1400 * MS) == 105  # a price exactly one window old still counts
    assert b.reference(1800 * MS) == 108
    assert b.reference(60 * SEC) == 108  # the last price stands however old


def test_history_shorter_than_the_window_measures_from_the_oldest_price():
    b = breaker()
    b.record(100, 0)
    b.record(109, 100 * MS)
    assert b.reference(200 * MS) == 100
    assert b.check(111, 200 * MS)


def test_fast_move_trips_but_the_same_move_spread_over_several_windows_does_not():
    fast = breaker()
    fast.record(100, 0)
    tripped = []
    for i, price in enumerate((104, 108, 111)):
        tripped.append(fast.check(price, (i + 1) * 200 * MS))
        fast.record(price, (i + 1) * 200 * MS)
    assert tripped == [False, False, True]

    slow = breaker()
    slow.record(100, 0)
    for i in range(1, 11):  # +5 ticks a second, 50 ticks in all
        assert not slow.check(100 + 5 * i, i * SEC)
        slow.record(100 + 5 * i, i * SEC)


def test_old_prices_expire_from_the_window():
    b = breaker()
    b.record(100, 0)
    b.record(115, 900 * MS)  # allowed to print (the engine decides), now the level
    assert b.check(115, 950 * MS)  # still measured from 100
    assert not b.check(115, 1900 * MS)  # 100 is more than a window old


def test_a_sweep_at_one_timestamp_is_measured_from_the_price_a_window_ago():
    b = breaker()
    b.record(100, 0)
    ts = 2 * SEC
    for price in (102, 106, 110):
        assert not b.check(price, ts)
        b.record(price, ts)
    assert b.check(111, ts)
    assert b.reference(ts + SEC) == 110  # the last print of a timestamp is its price


def test_history_is_trimmed_to_the_window():
    b = breaker(window_ns=10 * MS)
    for i in range(10_000):
        b.record(100 + i % 3, i * MS)
    assert len(b._prices) <= 12


def test_halt_lasts_the_configured_time():
    assert breaker(halt_ns=30 * SEC).halt_until(5 * SEC) == 35 * SEC


def test_reset_after_reopening_measures_from_the_auction_price():
    b = breaker()
    b.record(100, 0)
    b.reset(130, 200 * MS)
    assert b.reference(300 * MS) == 130
    assert not b.check(135, 300 * MS)
    assert b.check(141, 300 * MS)


@pytest.mark.parametrize(("threshold", "window_ns", "halt_ns", "field"),
                         [(-1, SEC, SEC, "threshold"), (1, 0, SEC, "window_ns"), (1, SEC, -1, "halt_ns")])
def test_bad_breaker_settings_are_input_errors(threshold, window_ns, halt_ns, field):
    with pytest.raises(InputError, match=field):
        VelocityBreaker(threshold, window_ns, halt_ns)
