"""The session state machine, transition by transition, and its schedule."""

from __future__ import annotations

import msgspec
import pytest

from cfx.errors import InputError
from cfx.session import (
    DAY_NS,
    InvalidTransition,
    SessionMachine,
    SessionSchedule,
    Transition,
)
from cfx.types import RejectReason, SessionState, SessionTrigger

S = SessionState
T = SessionTrigger
H = 3600 * 1_000_000_000
MIN = 60 * 1_000_000_000

# Written out independently of cfx.session.TRANSITIONS: every valid pair.
EXPECTED = {
    (S.CLOSED, T.PRE_OPEN): S.PRE_OPEN,
    (S.CLOSED, T.MAINTENANCE_START): S.MAINTENANCE,
    (S.MAINTENANCE, T.MAINTENANCE_END): S.CLOSED,
    (S.PRE_OPEN, T.OPENING_CALL): S.OPENING_AUCTION,
    (S.OPENING_AUCTION, T.OPEN): S.CONTINUOUS,
    (S.CONTINUOUS, T.SETTLEMENT_START): S.SETTLEMENT_WINDOW,
    (S.CONTINUOUS, T.CLOSE): S.CLOSED,
    (S.CONTINUOUS, T.HALT): S.HALTED,
    (S.SETTLEMENT_WINDOW, T.CLOSE): S.CLOSED,
    (S.SETTLEMENT_WINDOW, T.HALT): S.HALTED,
    (S.HALTED, T.HALT): S.HALTED,
    (S.HALTED, T.HALT_END): S.REOPENING_AUCTION,
    (S.HALTED, T.SETTLEMENT_START): S.HALTED,
    (S.HALTED, T.CLOSE): S.CLOSED,
    (S.REOPENING_AUCTION, T.REOPEN): S.CONTINUOUS,
    (S.REOPENING_AUCTION, T.HALT): S.HALTED,
    (S.REOPENING_AUCTION, T.SETTLEMENT_START): S.REOPENING_AUCTION,
    (S.REOPENING_AUCTION, T.CLOSE): S.CLOSED,
}

# state: (new orders, matching, cancel, modify, reject reason)
PERMISSIONS = {
    S.PRE_OPEN: (True, False, True, True, RejectReason.MARKET_CLOSED),
    S.OPENING_AUCTION: (True, False, False, False, RejectReason.MARKET_CLOSED),
    S.CONTINUOUS: (True, True, True, True, None),
    S.SETTLEMENT_WINDOW: (True, True, True, True, None),
    S.CLOSED: (False, False, True, False, RejectReason.MARKET_CLOSED),
    S.MAINTENANCE: (False, False, False, False, RejectReason.MARKET_CLOSED),
    S.HALTED: (True, False, True, True, RejectReason.SERIES_HALTED),
    S.REOPENING_AUCTION: (True, False, False, False, RejectReason.SERIES_HALTED),
}


def schedule(**over) -> SessionSchedule:
    fields = dict(pre_open="08:00", open="09:00", settlement_start="15:45", close="16:00")
    fields.update(over)
    return SessionSchedule(**fields)


def machine_in(state: SessionState) -> SessionMachine:
    m = SessionMachine()
    m.state = state
    return m


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize("trigger", list(T))
@pytest.mark.parametrize("state", list(S))
def test_every_state_and_trigger_pair_follows_the_table(state, trigger):
    m = machine_in(state)
    result = m.transition(trigger, ts=5 * H)
    expected = EXPECTED.get((state, trigger))
    if expected is None:
        assert result == InvalidTransition(5 * H, trigger, state)
        assert m.state is state
    else:
        assert result == Transition(5 * H, trigger, state, expected)
        assert m.state is expected


def test_table_in_module_has_exactly_the_documented_transitions():
    from cfx.session import TRANSITIONS

    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize("state", list(S))
def test_each_state_allows_what_the_docstring_table_says(state):
    m = machine_in(state)
    assert (
        m.allows_new_orders(),
        m.allows_matching(),
        m.allows_cancel(),
        m.allows_modify(),
        m.reject_reason(),
    ) == PERMISSIONS[state]


def test_uncross_is_due_only_when_an_auction_gives_way_to_trading():
    assert Transition(0, T.OPEN, S.OPENING_AUCTION, S.CONTINUOUS).uncross
    assert Transition(0, T.REOPEN, S.REOPENING_AUCTION, S.CONTINUOUS).uncross
    assert Transition(0, T.REOPEN, S.REOPENING_AUCTION, S.SETTLEMENT_WINDOW).uncross
    assert not Transition(0, T.CLOSE, S.REOPENING_AUCTION, S.CLOSED).uncross
    assert not Transition(0, T.HALT, S.REOPENING_AUCTION, S.HALTED).uncross
    assert not Transition(0, T.SETTLEMENT_START, S.CONTINUOUS, S.SETTLEMENT_WINDOW).uncross


def test_invalid_transition_changes_nothing_including_a_pending_halt_end():
    m = SessionMachine()
    m.transition(T.HALT, 10, until=100)
    assert m.transition(T.OPEN, 20) == InvalidTransition(20, T.OPEN, S.HALTED)
    assert m.halt_until == 100
    assert m.next_transition() == (100, T.HALT_END)


# --------------------------------------------------------------------------- schedule


def test_schedule_reads_hh_mm_hh_mm_ss_and_nanoseconds():
    s = schedule(pre_open=8 * H, open="09:00:30", maintenance=[("17:00", 18 * H)])
    assert (s.pre_open, s.opening_call, s.open, s.settlement_start, s.close) == (
        8 * H,
        9 * H + 30_000_000_000,
        9 * H + 30_000_000_000,
        15 * H + 45 * MIN,
        16 * H,
    )
    assert s.maintenance == [(17 * H, 18 * H)]


def test_schedule_decodes_from_a_mapping_and_rejects_unknown_fields():
    s = msgspec.convert(
        {"pre_open": "08:00", "opening_call": "08:55", "open": "09:00", "settlement_start": "15:45", "close": "16:00"},
        SessionSchedule,
    )
    assert s.opening_call == 8 * H + 55 * MIN
    with pytest.raises(msgspec.ValidationError, match="lunch"):
        msgspec.convert(
            {"pre_open": "08:00", "open": "09:00", "settlement_start": "15:45", "close": "16:00", "lunch": "12:00"},
            SessionSchedule,
        )


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"open": "07:00"}, r"open \(07:00:00\) must be after pre_open \(08:00:00\)"),
        ({"open": "08:00"}, r"open \(08:00:00\) must be after pre_open"),
        ({"settlement_start": "08:30"}, r"settlement_start \(08:30:00\) must be after open"),
        ({"close": "15:45"}, r"close \(15:45:00\) must be after settlement_start"),
        ({"opening_call": "09:01"}, r"open \(09:00:00\) must be at or after opening_call"),
        ({"opening_call": "07:59"}, r"opening_call \(07:59:00\) must be at or after pre_open"),
        ({"close": "9am"}, r"close '9am' is not a time of day"),
        ({"close": "24:00"}, r"close '24:00' is not a time of day"),
        ({"close": "16:60"}, r"close '16:60' is not a time of day"),
        ({"close": DAY_NS}, r"close 86400000000000 is not in \[0, "),
        ({"close": -1}, r"close -1 is not in"),
        (
            {"maintenance": [("18:00", "17:00")]},
            r"maintenance\[0\]\.end \(17:00:00\) must be after maintenance\[0\]\.start",
        ),
        ({"maintenance": [("15:00", "17:00")]}, r"maintenance\[0\] \(15:00:00-17:00:00\) overlaps the trading day"),
        ({"maintenance": [("07:00", "08:01")]}, r"maintenance\[0\] .* overlaps the trading day"),
        (
            {"maintenance": [("20:00", "21:00"), ("17:00", "18:00")]},
            r"maintenance\[1\]\.start \(17:00:00\) must be at or after maintenance\[0\]\.end",
        ),
        ({"maintenance": [("xx", "18:00")]}, r"maintenance\[0\]\.start 'xx'"),
    ],
)
def test_bad_schedule_raises_input_error_naming_the_field(over, message):
    with pytest.raises(InputError, match=message):
        schedule(**over)


def test_maintenance_may_touch_the_trading_day_edges():
    s = schedule(maintenance=[("07:00", "08:00"), ("16:00", "17:00")])
    assert s.maintenance == [(7 * H, 8 * H), (16 * H, 17 * H)]


# --------------------------------------------------------------------------- driven by the schedule


def test_a_day_runs_through_every_scheduled_state_in_order():
    m = SessionMachine(schedule(opening_call="08:55", maintenance=[("02:00", "03:00"), ("17:00", "18:00")]), ts=0)
    assert m.state is S.CLOSED
    steps = [(t.ts, t.trigger, t.new) for t in m.advance(DAY_NS - 1)]
    assert steps == [
        (2 * H, T.MAINTENANCE_START, S.MAINTENANCE),
        (3 * H, T.MAINTENANCE_END, S.CLOSED),
        (8 * H, T.PRE_OPEN, S.PRE_OPEN),
        (8 * H + 55 * MIN, T.OPENING_CALL, S.OPENING_AUCTION),
        (9 * H, T.OPEN, S.CONTINUOUS),
        (15 * H + 45 * MIN, T.SETTLEMENT_START, S.SETTLEMENT_WINDOW),
        (16 * H, T.CLOSE, S.CLOSED),
        (17 * H, T.MAINTENANCE_START, S.MAINTENANCE),
        (18 * H, T.MAINTENANCE_END, S.CLOSED),
    ]
    assert m.next_transition() == (DAY_NS + 2 * H, T.MAINTENANCE_START)


def test_a_boundary_applies_at_its_own_nanosecond_not_before():
    m = SessionMachine(schedule(), ts=0)
    assert m.advance(8 * H - 1) == ()
    assert m.state is S.CLOSED
    assert [t.new for t in m.advance(8 * H)] == [S.PRE_OPEN]


def test_opening_call_defaulting_to_open_passes_through_the_auction_in_one_step():
    m = SessionMachine(schedule(), ts=8 * H + 1)
    assert m.state is S.PRE_OPEN
    transitions = m.advance(9 * H)
    assert [(t.old, t.new, t.uncross) for t in transitions] == [
        (S.PRE_OPEN, S.OPENING_AUCTION, False),
        (S.OPENING_AUCTION, S.CONTINUOUS, True),
    ]
    assert all(t.ts == 9 * H for t in transitions)


def test_machine_starts_in_the_scheduled_state_of_its_start_time_on_any_day():
    assert SessionMachine(schedule(), ts=3 * DAY_NS + 10 * H).state is S.CONTINUOUS
    assert SessionMachine(schedule(), ts=3 * DAY_NS + 15 * H + 50 * MIN).state is S.SETTLEMENT_WINDOW
    assert SessionMachine(schedule(), ts=3 * DAY_NS + 20 * H).state is S.CLOSED
    assert SessionMachine(schedule(), ts=3 * DAY_NS + 20 * H).next_transition() == (4 * DAY_NS + 8 * H, T.PRE_OPEN)


def test_a_jump_over_several_days_replays_every_day_in_order():
    m = SessionMachine(schedule(), ts=0)
    transitions = m.advance(3 * DAY_NS)
    opens = [t.ts for t in transitions if t.uncross]
    assert opens == [9 * H, DAY_NS + 9 * H, 2 * DAY_NS + 9 * H]
    assert m.state is S.CLOSED


def test_without_a_schedule_the_series_trades_continuously_forever():
    m = SessionMachine()
    assert m.state is S.CONTINUOUS
    assert m.next_transition() is None
    assert m.advance(10**18) == ()
    assert m.state is S.CONTINUOUS


def test_scheduled_triggers_invalid_after_a_manual_close_are_skipped():
    m = SessionMachine(schedule(), ts=10 * H)
    assert m.transition(T.CLOSE, 11 * H).new is S.CLOSED  # early close by hand
    assert m.advance(DAY_NS + 9 * H)[-1].new is S.CONTINUOUS  # settlement start and close skipped
    assert [t.trigger for t in SessionMachine(schedule(), ts=10 * H).advance(DAY_NS)] == [T.SETTLEMENT_START, T.CLOSE]


# --------------------------------------------------------------------------- halts


def test_halt_ends_at_its_time_and_the_reopening_call_uncrosses_after_its_length():
    m = SessionMachine(schedule(), ts=10 * H, reopen_call_ns=30_000_000_000)
    assert m.transition(T.HALT, 10 * H, until=10 * H + 2 * MIN) == Transition(10 * H, T.HALT, S.CONTINUOUS, S.HALTED)
    assert m.next_transition() == (10 * H + 2 * MIN, T.HALT_END)
    assert [(t.ts, t.new, t.uncross) for t in m.advance(11 * H)] == [
        (10 * H + 2 * MIN, S.REOPENING_AUCTION, False),
        (10 * H + 2 * MIN + 30_000_000_000, S.CONTINUOUS, True),
    ]
    assert m.halt_until is None


def test_halt_spanning_the_settlement_start_reopens_into_the_settlement_window():
    m = SessionMachine(schedule(), ts=15 * H + 40 * MIN)
    m.transition(T.HALT, 15 * H + 40 * MIN, until=15 * H + 50 * MIN)
    transitions = m.advance(15 * H + 55 * MIN)
    assert [t.new for t in transitions] == [S.REOPENING_AUCTION, S.SETTLEMENT_WINDOW]
    assert transitions[-1].uncross


def test_halt_ending_at_the_close_closes_without_reopening():
    m = SessionMachine(schedule(), ts=15 * H)
    m.transition(T.HALT, 15 * H, until=16 * H)
    assert [(t.trigger, t.new) for t in m.advance(16 * H + 1)] == [(T.CLOSE, S.CLOSED)]
    assert m.halt_until is None
    assert m.next_transition() == (DAY_NS + 8 * H, T.PRE_OPEN)


def test_a_second_halt_keeps_the_later_end_and_an_open_ended_halt_wins():
    m = SessionMachine()
    m.transition(T.HALT, 0, until=100)
    m.transition(T.HALT, 10, until=50)
    assert m.halt_until == 100
    m.transition(T.HALT, 20, until=200)
    assert m.halt_until == 200
    m.transition(T.HALT, 30, until=None)
    assert m.halt_until is None
    assert m.next_transition() is None
    m.transition(T.HALT, 40, until=500)
    assert m.halt_until is None


def test_open_ended_halt_lasts_until_halt_end_is_applied_by_hand():
    m = SessionMachine()
    m.transition(T.HALT, 0)
    assert m.advance(10**15) == ()
    assert m.state is S.HALTED
    assert m.transition(T.HALT_END, 10**15).new is S.REOPENING_AUCTION
    assert [(t.ts, t.new) for t in m.advance(10**15)] == [(10**15, S.CONTINUOUS)]


def test_kill_switch_does_not_halt_a_series_that_is_not_yet_open():
    m = SessionMachine(schedule(), ts=8 * H + 30 * MIN)
    assert isinstance(m.transition(T.HALT, 8 * H + 30 * MIN), InvalidTransition)
    assert m.state is S.PRE_OPEN
