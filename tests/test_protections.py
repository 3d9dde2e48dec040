"""Price bands and the velocity circuit breaker."""

from __future__ import annotations

import pytest

from cfx.engine import Engine
from cfx.errors import InputError
from cfx.protections import MIN_PRICE, PriceBand, VelocityBreaker, band_limits
from cfx.types import (
    AdvanceTime,
    CancelReason,
    ListSeries,
    OrderCancelled,
    OrderKind,
    OrderRejected,
    PriceBandChanged,
    RejectReason,
    SeriesHalted,
    SessionState,
    Side,
    SubmitOrder,
    TimeInForce,
    Trade,
)

SEC = 1_000_000_000
MS = 1_000_000


# --------------------------------------------------------------------------- price band
# Pointed at what the engine runs: its series keep a `PriceBand` built from the listing.

S = "HOP-H27"


def listed(low: int, high: int, moving: bool = False, **kw) -> Engine:
    e = Engine()
    e.list_series(ListSeries(S, band_low=low, band_high=high, band_moving=moving, **kw))
    return e


def rejected(e: Engine, oid: int, side: Side, price: int, qty: int = 1, ts: int = 0, **kw) -> bool:
    start = len(e.events)
    e.submit(SubmitOrder(ts, S, oid, oid, side, qty, price, **kw))
    return any(type(x) is OrderRejected and x.reason is RejectReason.PRICE_OUTSIDE_BAND for x in e.events[start:])


def test_band_edges_are_inclusive_in_the_engine():
    e = listed(95, 105)
    assert not rejected(e, 1, Side.BUY, 95) and not rejected(e, 2, Side.SELL, 105)
    assert rejected(e, 3, Side.BUY, 94) and rejected(e, 4, Side.SELL, 106)
    assert e.price_band(S) == (95, 105)


def test_listed_band_is_the_reference_and_pct_either_side_floored_at_the_minimum():
    assert band_limits(100, 10.0) == (90, 110)
    assert band_limits(3, 50.0) == (1, 5)  # 1.5 rounds to 2
    assert band_limits(2, 200.0) == (MIN_PRICE, 6)


def test_market_orders_are_stopped_at_the_band_edge():
    e = listed(90, 110)
    e.submit(SubmitOrder(0, S, 1, 1, Side.SELL, 1, 104))
    e.submit(SubmitOrder(0, S, 2, 2, Side.SELL, 1, 106))
    e.list_series(ListSeries(S, band_low=95, band_high=105))  # a narrower band: the 106 offer is beyond it
    e.submit(SubmitOrder(0, S, 3, 3, Side.BUY, 5, 0, kind=OrderKind.MARKET, tif=TimeInForce.IOC))
    cancels = [x for x in e.events if type(x) is OrderCancelled and x.order_id == 3]
    assert [(c.qty, c.reason) for c in cancels] == [(4, CancelReason.BAND)]


def test_fixed_band_ignores_trades_and_moving_band_follows_them():
    for moving, expect in ((False, (95, 105)), (True, (99, 109))):
        e = listed(95, 105, moving)
        e.submit(SubmitOrder(0, S, 1, 1, Side.SELL, 1, 104))
        e.submit(SubmitOrder(0, S, 2, 2, Side.BUY, 1, 104))
        assert e.price_band(S) == expect
        assert rejected(e, 3, Side.BUY, 108) is not moving


def test_band_expands_by_a_share_of_its_half_width_and_stops_market_orders_at_its_edges():
    band = PriceBand(90, 110)
    band.expand(50)  # half-width 10: 5 more each side
    assert band.limits() == (85, 115) and band.expansions == 1
    assert (band.protection_limit(Side.BUY), band.protection_limit(Side.SELL)) == (115, 85)
    assert PriceBand(3, 9).limits() == (3, 9)
    PriceBand(MIN_PRICE, 1)  # a one-tick band at the floor is valid
    with pytest.raises(InputError):
        PriceBand(10, 5)


def test_a_limit_hit_expands_the_band_halts_to_cool_off_and_reopens_by_auction_inside_it():
    e = listed(90, 110, band_expand_pct=50, band_hits=2, band_halt_ns=60 * SEC, band_max_expansions=1)
    e.configure_session(S, None, 0)  # continuous trading, but it can halt
    e.submit(SubmitOrder(1, S, 1, 1, Side.BUY, 5, 90))
    assert rejected(e, 2, Side.SELL, 88, ts=2)  # beyond the low edge: one hit
    assert e.session_state(S) is SessionState.CONTINUOUS
    start = len(e.events)
    assert rejected(e, 3, Side.BUY, 87, ts=3)  # a bid below it too: the second in a row, a limit hit
    changed = [x for x in e.events[start:] if type(x) is PriceBandChanged]
    assert [(c.low, c.high, c.expanded) for c in changed] == [(85, 115, True)]
    halted = [x for x in e.events[start:] if type(x) is SeriesHalted]
    assert [(h.until, h.price, h.reference) for h in halted] == [(3 + 60 * SEC, 87, 85)]
    assert e.session_state(S) is SessionState.HALTED
    assert not rejected(e, 4, Side.SELL, 86, 5, ts=4)  # the wider band takes it, unmatched, for the auction
    start = len(e.events)
    e.apply(AdvanceTime(3 + 60 * SEC))
    trades = [x for x in e.events[start:] if type(x) is Trade]
    # 5 bid @90 x 5 offered @86 tie on 86..90; no trade and no settlement for a reference: the lower
    assert [(t.price, t.qty) for t in trades] == [(86, 5)]
    assert e.session_state(S) is SessionState.CONTINUOUS
    assert rejected(e, 5, Side.SELL, 84, ts=5 + 60 * SEC) and rejected(e, 6, Side.SELL, 84, ts=6 + 60 * SEC)
    assert e.session_state(S) is SessionState.CONTINUOUS  # at most one expansion until re-listed


# --------------------------------------------------------------------------- velocity breaker


def breaker(threshold: int = 10, window_ns: int = SEC, halt_ns: int = 60 * SEC) -> VelocityBreaker:
    return VelocityBreaker(threshold, window_ns, halt_ns)


def test_move_of_exactly_the_threshold_does_not_trip_but_one_tick_more_does():
    b = breaker()
    b.record(100, 0)
    assert (b.edge(Side.BUY, 500 * MS), b.edge(Side.SELL, 500 * MS)) == (110, 90)  # where the engine stops
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


@pytest.mark.parametrize(
    ("threshold", "window_ns", "halt_ns", "field"),
    [(-1, SEC, SEC, "threshold"), (1, 0, SEC, "window_ns"), (1, SEC, -1, "halt_ns")],
)
def test_bad_breaker_settings_are_input_errors(threshold, window_ns, halt_ns, field):
    with pytest.raises(InputError, match=field):
        VelocityBreaker(threshold, window_ns, halt_ns)
