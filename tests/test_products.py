"""Contract specs, symbols, the listing calendar and final settlement rounding."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from cfx import products as p
from cfx.errors import InputError

D = dt.date


# ---------------------------------------------------------------- symbols


def test_month_codes_format_and_parse_round_trip():
    assert p.format_symbol("HOP", 2027, 3) == "HOP-H27"
    assert p.format_symbol("BLK", 2028, 12) == "BLK-Z28"
    assert p.format_symbol("HOP", 2027, 1) == "HOP-F27"
    assert p.parse_symbol("HOP-H27") == ("HOP", 2027, 3)
    for month, code in enumerate("FGHJKMNQUVXZ", start=1):
        assert p.parse_symbol(f"AMP-{code}30") == ("AMP", 2030, month)
        assert p.format_symbol("AMP", 2030, month) == f"AMP-{code}30"


@pytest.mark.parametrize("bad", ["HOP-A27", "HOP-H2", "hop-H27", "HOPH27", "HOP-H277", "", "-H27"])
def test_bad_symbols_raise_input_error_naming_the_symbol(bad):
    with pytest.raises(InputError, match="bad series symbol"):
        p.parse_symbol(bad)


def test_bad_month_code_message_lists_the_codes():
    with pytest.raises(InputError, match="'A' is not a CME month code"):
        p.parse_symbol("HOP-A27")


def test_format_rejects_month_out_of_range():
    with pytest.raises(InputError):
        p.format_symbol("HOP", 2027, 13)


# ---------------------------------------------------------------- calendar and series


def test_last_trading_day_is_last_weekday_of_month():
    assert p.last_business_day(2027, 1) == D(2027, 1, 29)  # 30th, 31st are Sat, Sun
    assert p.last_business_day(2027, 3) == D(2027, 3, 31)  # a Wednesday
    assert p.last_business_day(2027, 10) == D(2027, 10, 29)  # 31st is a Sunday
    assert p.last_business_day(2028, 2) == D(2028, 2, 29)  # leap day, a Tuesday


def test_series_defaults_and_tick_value():
    s = p.make_series(p.HOPPER, 2027, 3, first_trading_day=D(2027, 1, 4))
    assert (s.symbol, s.basket, s.contract_unit, s.tick_micro) == ("HOP-H27", "HOPPER", 730, 10_000)
    assert s.last_trading_day == D(2027, 3, 31)
    assert s.tick_value_micro == 7_300_000
    assert s.settlement == "monthly_average"
    assert s.is_trading(D(2027, 3, 31)) and not s.is_trading(D(2027, 4, 1))


def test_listing_calendar_lists_n_months_and_rolls_on_expiry():
    cal = p.ListingCalendar(start=D(2027, 1, 4), baskets=[p.HOPPER], months_ahead=3)
    assert [s.symbol for s in cal.listed(D(2027, 1, 29))] == ["HOP-F27", "HOP-G27", "HOP-H27"]
    assert [s.symbol for s in cal.expiring(D(2027, 1, 29))] == ["HOP-F27"]
    after = cal.listed(D(2027, 2, 1))  # the next business day: F27 gone, J27 rolled in
    assert [s.symbol for s in after] == ["HOP-G27", "HOP-H27", "HOP-J27"]
    assert after[-1].first_trading_day == D(2027, 2, 1)
    assert after[0].first_trading_day == D(2027, 1, 4)  # listed at start
    assert cal.listed(D(2027, 1, 30)) == []  # Saturday
    assert cal.listed(D(2026, 12, 31)) == []  # before start


def test_listing_calendar_every_listed_series_is_trading_that_day():
    cal = p.ListingCalendar(start=D(2027, 1, 4), months_ahead=12)
    for day in p.business_days(D(2027, 1, 4), D(2028, 6, 30)):
        listed = cal.listed(day)
        assert len(listed) == 12 * len(cal.baskets)
        assert all(s.is_trading(day) for s in listed)


def test_calendar_series_by_symbol_and_unknown_root():
    cal = p.ListingCalendar(start=D(2027, 1, 4))
    assert cal.series("BLK-Z27").basket == "BLACKWELL"
    with pytest.raises(InputError, match="no basket with root 'XYZ'"):
        cal.series("XYZ-Z27")


def test_calendar_decodes_from_toml_with_kebab_keys():
    cal = msgspec.toml.decode(
        b'start = 2027-01-04\nmonths-ahead = 6\nsettlement = "twap_window"\n', type=p.ListingCalendar
    )
    assert cal.months_ahead == 6
    assert cal.listed(D(2027, 1, 4))[0].settlement == "twap_window"


# ---------------------------------------------------------------- baskets


def test_basket_value_is_exact_decimal_weights_rounded_half_up():
    # 0.6 * 2_650_001 = 1_590_000.6 ; + 0.4 * 3_250_000 = 1_300_000 -> 2_890_000.6 -> 2_890_001
    assert p.HOPPER.value_micro({"H100": 2_650_001, "H200": 3_250_000}) == 2_890_001
    # exact tie: 0.6 * 1 + 0.4 * 0 = 0.6 -> 1; 0.5/0.5 of 1 and 0 = 0.5 -> 1 (half up)
    half = p.Basket(name="HALF", root="HLF", weights={"A": 0.5, "B": 0.5})
    assert half.value_micro({"A": 1, "B": 0}) == 1
    assert half.value_micro({"A": 3, "B": 0}) == 2


def test_basket_weights_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to"):
        p.Basket(name="BAD", root="BAD", weights={"H100": 0.6, "H200": 0.3})


# ---------------------------------------------------------------- final settlement


def _march_fixings(value_for):
    return {d: value_for(d) for d in p.business_days(D(2027, 3, 1), D(2027, 3, 31))}


def test_monthly_average_of_constant_fixings_is_that_price():
    s = p.make_series(p.HOPPER, 2027, 3, first_trading_day=D(2027, 1, 4))
    fs = p.final_settlement(s, _march_fixings(lambda d: 2_650_000))
    assert (fs.price_ticks, fs.mean_micro, fs.days, fs.carried_days) == (265, 2_650_000, 23, 0)


def test_monthly_average_rounds_half_up_to_the_tick():
    # March 2027 has 23 business days. 22 days at 2.640000 and one at 2.755000:
    # mean = 2.640000 + 0.115/23 = 2.645000 exactly -> 264.5 ticks -> 265 (half up, not to even)
    days = p.business_days(D(2027, 3, 1), D(2027, 3, 31))
    fx = {d: 2_640_000 for d in days}
    fx[days[5]] = 2_755_000
    ticks, mean, n, carried = p.monthly_average(fx, 2027, 3)
    assert (ticks, mean, n, carried) == (265, 2_645_000, 23, 0)
    fx[days[5]] = 2_754_999  # a hair below the tie -> 264
    assert p.monthly_average(fx, 2027, 3)[0] == 264


def test_monthly_average_carries_missing_days_forward():
    days = p.business_days(D(2027, 3, 1), D(2027, 3, 31))
    fx = {D(2027, 2, 26): 1_000_000}  # last fixing before the month
    fx.update({d: 2_000_000 for d in days[2:]})  # Mar 1 and 2 missing -> carry Feb 26
    ticks, mean, n, carried = p.monthly_average(fx, 2027, 3)
    # (2 * 1.00 + 21 * 2.00) / 23 = 44/23 = 1.913043.. -> 191.30 ticks -> 191
    assert (ticks, mean, carried) == (191, 1_913_043, 2)


def test_monthly_average_without_any_prior_fixing_is_input_error():
    with pytest.raises(InputError, match="no fixing on or before 2027-03-01"):
        p.monthly_average({D(2027, 3, 2): 1}, 2027, 3)


def test_twap_window_weights_each_fixing_by_calendar_days_in_force():
    # Last 3 business days of Jan 2027: Wed 27, Thu 28, Fri 29; the Friday
    # fixing stays in force to month end (29, 30, 31): weights 1, 1, 3.
    fx = {D(2027, 1, 27): 2_000_000, D(2027, 1, 28): 2_010_000, D(2027, 1, 29): 2_030_000}
    ticks, mean, n, carried = p.twap_window(fx, 2027, 1, 3)
    # (2.00 + 2.01 + 3 * 2.03) / 5 = 10.10 / 5 = 2.02
    assert (ticks, mean, n, carried) == (202, 2_020_000, 3, 0)


def test_twap_window_rounds_half_up():
    # window of two: Thu 28 in force 1 day, Fri 29 in force 3 days: (a + 3b) / 4
    fx = {D(2027, 1, 28): 2_000_002, D(2027, 1, 29): 2_006_666}
    # (2_000_002 + 6_019_998) / 4 = 2_005_000 exactly -> 200.5 ticks -> 201 (half up, not to even)
    assert p.twap_window(fx, 2027, 1, 2)[:2] == (201, 2_005_000)
    fx[D(2027, 1, 28)] = 2_000_001  # 2_004_999.75 -> 200.49999.. ticks -> 200
    assert p.twap_window(fx, 2027, 1, 2)[:2] == (200, 2_005_000)


def test_final_settlement_dispatches_on_the_series_rule():
    s = p.make_series(p.HOPPER, 2027, 1, first_trading_day=D(2026, 11, 2), settlement="twap_window", window_days=3)
    fx = {D(2026, 12, 31): 9_000_000, D(2027, 1, 27): 2_000_000, D(2027, 1, 28): 2_010_000, D(2027, 1, 29): 2_030_000}
    fs = p.final_settlement(s, fx)
    assert (fs.symbol, fs.rule, fs.price_ticks, fs.days) == ("HOP-F27", "twap_window", 202, 3)
    avg = p.final_settlement(msgspec.structs.replace(s, settlement="monthly_average"), fx)
    assert avg.rule == "monthly_average" and avg.price_ticks > 202  # 9.00 from Dec 31 carries over Jan 1..26


def test_round_half_up_on_fractions():
    from fractions import Fraction as F

    assert p.round_half_up(F(5, 2)) == 3
    assert p.round_half_up(F(7, 2)) == 4  # not banker's rounding
    assert p.round_half_up(F(249, 100)) == 2
    assert p.round_half_up(F(25_450_000, 1), 10_000) == 25_450_000
    assert p.round_half_up(F(2_545_000), 10_000) == 2_550_000
