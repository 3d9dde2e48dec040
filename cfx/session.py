"""The trading-session state machine of one series, and the daily schedule
that drives it. Pure: the engine asks it what is allowed and applies the
consequences (uncross, expiry, rejects); this module only keeps the state.

What each state allows (``reject`` is the `RejectReason` for what it refuses):

=================  ==========  ========  ======  ======  ===============
state              new orders  matching  cancel  modify  reject
=================  ==========  ========  ======  ======  ===============
PRE_OPEN           yes         no        yes     yes     MARKET_CLOSED
OPENING_AUCTION    yes         no [1]    no      no      MARKET_CLOSED
CONTINUOUS         yes         yes       yes     yes     --
SETTLEMENT_WINDOW  yes         yes [2]   yes     yes     --
CLOSED             no          no        yes     no      MARKET_CLOSED
MAINTENANCE        no          no        no      no      MARKET_CLOSED
HALTED             yes [3]     no        yes     yes     SERIES_HALTED
REOPENING_AUCTION  yes         no [1]    no      no      SERIES_HALTED
=================  ==========  ========  ======  ======  ===============

[1] A call auction's freeze (CME's "pre-open non-cancel" period): orders can
    join, none can leave, so the indicative price cannot be spoofed just
    before the uncross. The uncross happens on leaving the state for
    CONTINUOUS or SETTLEMENT_WINDOW (`Transition.uncross`). Its length is
    ``open - opening_call`` (0 by default) and ``reopen_call_ns`` (0 by default).
[2] Trades in the settlement window feed the daily settlement VWAP.
[3] Resting orders stay; new ones rest unmatched and join the reopening auction.

Transitions (state x trigger -> next state); every other pair is an
`InvalidTransition`, which changes nothing:

=================  =================  =================================
state              trigger            next state
=================  =================  =================================
CLOSED             PRE_OPEN           PRE_OPEN
CLOSED             MAINTENANCE_START  MAINTENANCE
MAINTENANCE        MAINTENANCE_END    CLOSED
PRE_OPEN           OPENING_CALL       OPENING_AUCTION
OPENING_AUCTION    OPEN               CONTINUOUS (uncross)
CONTINUOUS         SETTLEMENT_START   SETTLEMENT_WINDOW
CONTINUOUS         CLOSE              CLOSED
CONTINUOUS         HALT               HALTED
SETTLEMENT_WINDOW  CLOSE              CLOSED
SETTLEMENT_WINDOW  HALT               HALTED
HALTED             HALT               HALTED (the later end wins; None = until lifted)
HALTED             HALT_END           REOPENING_AUCTION
HALTED             SETTLEMENT_START   HALTED (the reopening lands in the window)
HALTED             CLOSE              CLOSED (no reopening; the halt ends)
REOPENING_AUCTION  REOPEN             CONTINUOUS, or SETTLEMENT_WINDOW once
                                      ``settlement_start`` has passed (uncross)
REOPENING_AUCTION  HALT               HALTED (kill switch during the call)
REOPENING_AUCTION  SETTLEMENT_START   REOPENING_AUCTION
REOPENING_AUCTION  CLOSE              CLOSED (no uncross)
=================  =================  =================================

The schedule fires, each day and in this order: maintenance windows before
the pre-open, PRE_OPEN, OPENING_CALL, OPEN, SETTLEMENT_START, CLOSE,
maintenance windows after the close. Timestamps are ns since the simulation
epoch, which is a midnight; every day is a trading day (the listing calendar
lives in products). A machine without a schedule is always CONTINUOUS except
for halts (``cfx replay``). The engine expires DAY orders on entering CLOSED.

- `SessionSchedule`: per product, validated; times as ns since midnight or
  ``"HH:MM[:SS]"``.
- `SessionMachine`: `transition`, `advance`, `next_transition`;
  `allows_new_orders`, `allows_matching`, `allows_cancel`, `allows_modify`,
  `reject_reason`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec

from cfx.errors import InputError
from cfx.types import RejectReason, SessionState, SessionTrigger

NS_PER_SECOND = 1_000_000_000
DAY_NS = 86_400 * NS_PER_SECOND

PRE_OPEN = SessionState.PRE_OPEN
OPENING_AUCTION = SessionState.OPENING_AUCTION
CONTINUOUS = SessionState.CONTINUOUS
SETTLEMENT_WINDOW = SessionState.SETTLEMENT_WINDOW
CLOSED = SessionState.CLOSED
MAINTENANCE = SessionState.MAINTENANCE
HALTED = SessionState.HALTED
REOPENING_AUCTION = SessionState.REOPENING_AUCTION

T = SessionTrigger

TRANSITIONS: dict[tuple[SessionState, SessionTrigger], SessionState] = {
    (CLOSED, T.PRE_OPEN): PRE_OPEN,
    (CLOSED, T.MAINTENANCE_START): MAINTENANCE,
    (MAINTENANCE, T.MAINTENANCE_END): CLOSED,
    (PRE_OPEN, T.OPENING_CALL): OPENING_AUCTION,
    (OPENING_AUCTION, T.OPEN): CONTINUOUS,
    (CONTINUOUS, T.SETTLEMENT_START): SETTLEMENT_WINDOW,
    (CONTINUOUS, T.CLOSE): CLOSED,
    (CONTINUOUS, T.HALT): HALTED,
    (SETTLEMENT_WINDOW, T.CLOSE): CLOSED,
    (SETTLEMENT_WINDOW, T.HALT): HALTED,
    (HALTED, T.HALT): HALTED,
    (HALTED, T.HALT_END): REOPENING_AUCTION,
    (HALTED, T.SETTLEMENT_START): HALTED,
    (HALTED, T.CLOSE): CLOSED,
    (REOPENING_AUCTION, T.REOPEN): CONTINUOUS,  # or SETTLEMENT_WINDOW, see _trading_phase
    (REOPENING_AUCTION, T.HALT): HALTED,
    (REOPENING_AUCTION, T.SETTLEMENT_START): REOPENING_AUCTION,
    (REOPENING_AUCTION, T.CLOSE): CLOSED,
}
"""The transition table of the module docstring, as data."""

ACCEPTS_ORDERS = frozenset({PRE_OPEN, OPENING_AUCTION, CONTINUOUS, SETTLEMENT_WINDOW, HALTED, REOPENING_AUCTION})
MATCHES = frozenset({CONTINUOUS, SETTLEMENT_WINDOW})
CANCELS = frozenset({PRE_OPEN, CONTINUOUS, SETTLEMENT_WINDOW, CLOSED, HALTED})
MODIFIES = frozenset({PRE_OPEN, CONTINUOUS, SETTLEMENT_WINDOW, HALTED})
AUCTIONS = frozenset({OPENING_AUCTION, REOPENING_AUCTION})
REJECT_REASONS: dict[SessionState, RejectReason | None] = {
    PRE_OPEN: RejectReason.MARKET_CLOSED,
    OPENING_AUCTION: RejectReason.MARKET_CLOSED,
    CONTINUOUS: None,
    SETTLEMENT_WINDOW: None,
    CLOSED: RejectReason.MARKET_CLOSED,
    MAINTENANCE: RejectReason.MARKET_CLOSED,
    HALTED: RejectReason.SERIES_HALTED,
    REOPENING_AUCTION: RejectReason.SERIES_HALTED,
}
_TIMER_TRIGGERS = frozenset({T.HALT_END, T.REOPEN})
_NO_TRANSITIONS: tuple[Transition, ...] = ()


# --------------------------------------------------------------------------- schedule

TimeOfDay = int | str
_HHMM = re.compile(r"(\d\d):(\d\d)(?::(\d\d))?")


def parse_time_of_day(value: TimeOfDay, field: str) -> int:
    """``"HH:MM"``, ``"HH:MM:SS"`` or ns since midnight -> ns since midnight."""
    if isinstance(value, str):
        m = _HHMM.fullmatch(value)
        if m is None:
            raise InputError(f"session schedule: {field} {value!r} is not a time of day (HH:MM or HH:MM:SS)")
        h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
        if h > 23 or mi > 59 or s > 59:
            raise InputError(f"session schedule: {field} {value!r} is not a time of day (HH:MM or HH:MM:SS)")
        return ((h * 60 + mi) * 60 + s) * NS_PER_SECOND
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < DAY_NS:
        raise InputError(f"session schedule: {field} {value!r} is not in [0, {DAY_NS}) ns since midnight")
    return value


def format_time_of_day(ns: int) -> str:
    s, rest = divmod(ns, NS_PER_SECOND)
    text = f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{text}+{rest}ns" if rest else text


class SessionSchedule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A product's trading day. After construction every time is ns since
    midnight. Required: pre_open < open < settlement_start < close, and
    pre_open <= opening_call <= open (``opening_call`` defaults to ``open``:
    no freeze). ``maintenance`` windows are ``[start, end)`` pairs, start <
    end, in order, not overlapping, outside ``[pre_open, close)``; none spans
    midnight (split it in two). A violation raises `InputError` naming the
    field."""

    pre_open: TimeOfDay
    opening_call: TimeOfDay | None = None
    open: TimeOfDay
    settlement_start: TimeOfDay
    close: TimeOfDay
    maintenance: list[tuple[TimeOfDay, TimeOfDay]] = []

    def __post_init__(self) -> None:
        self.pre_open = parse_time_of_day(self.pre_open, "pre_open")
        self.open = parse_time_of_day(self.open, "open")
        self.opening_call = (
            self.open if self.opening_call is None else parse_time_of_day(self.opening_call, "opening_call")
        )
        self.settlement_start = parse_time_of_day(self.settlement_start, "settlement_start")
        self.close = parse_time_of_day(self.close, "close")
        _require_order("pre_open", self.pre_open, "open", self.open)
        _require_order("open", self.open, "settlement_start", self.settlement_start)
        _require_order("settlement_start", self.settlement_start, "close", self.close)
        _require_order("pre_open", self.pre_open, "opening_call", self.opening_call, strict=False)
        _require_order("opening_call", self.opening_call, "open", self.open, strict=False)
        windows = []
        prev_name, prev_end = None, -1
        for i, (start, end) in enumerate(self.maintenance):
            name = f"maintenance[{i}]"
            start = parse_time_of_day(start, f"{name}.start")
            end = parse_time_of_day(end, f"{name}.end")
            _require_order(f"{name}.start", start, f"{name}.end", end)
            if prev_name is not None:
                _require_order(f"{prev_name}.end", prev_end, f"{name}.start", start, strict=False)
            if end > self.pre_open and start < self.close:
                raise InputError(
                    f"session schedule: {name} ({format_time_of_day(start)}-{format_time_of_day(end)}) "
                    f"overlaps the trading day pre_open-close "
                    f"({format_time_of_day(self.pre_open)}-{format_time_of_day(self.close)})"
                )
            windows.append((start, end))
            prev_name, prev_end = name, end
        self.maintenance = windows

    def boundaries(self) -> list[tuple[int, SessionTrigger]]:
        """The day's scheduled triggers as (ns since midnight, trigger), in firing order."""
        out = []
        for start, end in self.maintenance:
            out += [(start, T.MAINTENANCE_START), (end, T.MAINTENANCE_END)]
        out += [
            (self.pre_open, T.PRE_OPEN),
            (self.opening_call, T.OPENING_CALL),
            (self.open, T.OPEN),
            (self.settlement_start, T.SETTLEMENT_START),
            (self.close, T.CLOSE),
        ]
        out.sort(key=lambda b: b[0])  # stable: ties keep the order above
        return out


def _require_order(first: str, a: int, second: str, b: int, strict: bool = True) -> None:
    if a < b or (not strict and a == b):
        return
    rel = "after" if strict else "at or after"
    raise InputError(
        f"session schedule: {second} ({format_time_of_day(b)}) must be {rel} {first} ({format_time_of_day(a)})"
    )


# --------------------------------------------------------------------------- machine


class Transition(msgspec.Struct, frozen=True, gc=False):
    """A valid trigger applied at ``ts``; ``old == new`` for the few that
    only update the machine (a halt extended)."""

    ts: int
    trigger: SessionTrigger
    old: SessionState
    new: SessionState

    @property
    def uncross(self) -> bool:
        """Leaving a call auction for trading: the engine uncrosses now."""
        return self.old in AUCTIONS and self.new in MATCHES


class InvalidTransition(msgspec.Struct, frozen=True, gc=False):
    """A trigger the state does not accept; the machine did not change."""

    ts: int
    trigger: SessionTrigger
    state: SessionState


class SessionMachine:
    """The session state of one series.

    - `state`: the current `SessionState`; `halt_until`: when a halt ends
      (None while halted until lifted, or when not halted).
    - `transition(trigger, ts, until=None)`: apply one trigger (``until`` for HALT).
    - `advance(ts)`: apply every scheduled or timed trigger due at or before ``ts``.
    - `next_transition()`: the next (ts, trigger) due, for a sim loop's timer.
    - `allows_new_orders()`, `allows_matching()`, `allows_cancel()`,
      `allows_modify()`, `reject_reason()`: what the state permits.

    Starts in the state the schedule gives at ``ts`` (CLOSED at midnight,
    then the day's triggers up to ``ts``), or CONTINUOUS without a schedule.
    """

    __slots__ = ("state", "schedule", "reopen_call_ns", "halt_until", "_reopen_at", "_bounds", "_day", "_idx", "_next")

    def __init__(self, schedule: SessionSchedule | None = None, ts: int = 0, reopen_call_ns: int = 0) -> None:
        if reopen_call_ns < 0:
            raise InputError(f"session: reopen_call_ns ({reopen_call_ns}) must be >= 0")
        self.schedule = schedule
        self.reopen_call_ns = reopen_call_ns
        self.halt_until: int | None = None
        self._reopen_at = 0
        self._bounds = schedule.boundaries() if schedule is not None else []
        self._day = ts // DAY_NS
        self._idx = 0
        self.state = CLOSED if schedule is not None else CONTINUOUS
        self._refresh()
        self.advance(ts)

    # ------------------------------------------------------------------ permissions

    def allows_new_orders(self) -> bool:
        return self.state in ACCEPTS_ORDERS

    def allows_matching(self) -> bool:
        return self.state in MATCHES

    def allows_cancel(self) -> bool:
        return self.state in CANCELS

    def allows_modify(self) -> bool:
        return self.state in MODIFIES

    def reject_reason(self) -> RejectReason | None:
        """The reason to reject what this state does not allow (None: it allows all)."""
        return REJECT_REASONS[self.state]

    # ------------------------------------------------------------------ transitions

    def transition(self, trigger: SessionTrigger, ts: int, until: int | None = None) -> Transition | InvalidTransition:
        """Apply ``trigger`` at ``ts``. For HALT, ``until`` is when the halt
        ends (None: until a HALT_END is applied by hand, or the close).
        Returns the `Transition`, or an `InvalidTransition` and changes nothing."""
        old = self.state
        new = TRANSITIONS.get((old, trigger))
        if new is None:
            return InvalidTransition(ts, trigger, old)
        if trigger is T.HALT:
            if old is HALTED:
                current = self.halt_until
                self.halt_until = None if until is None or current is None else max(until, current)
            else:
                self.halt_until = until
        elif trigger is T.HALT_END:
            self.halt_until = None
            self._reopen_at = ts + self.reopen_call_ns
        elif trigger is T.REOPEN:
            new = self._trading_phase(ts)
        elif new is CLOSED:
            self.halt_until = None
        self.state = new
        self._refresh()
        return Transition(ts, trigger, old, new)

    def advance(self, ts: int) -> Sequence[Transition]:
        """Apply, in time order, every trigger due at or before ``ts``: the
        schedule's (skipped if invalid in the state reached, e.g. after a
        trigger applied by hand), a halt's end and the reopening uncross.
        On a tie the schedule goes first, so a halt ending at the close does
        not reopen. Returns the transitions that changed the state.

        Runtime complexity: O(1) when nothing is due."""
        nxt = self._next
        if nxt is None or nxt[0] > ts:
            return _NO_TRANSITIONS
        out = []
        while nxt is not None and nxt[0] <= ts:
            at, trigger = nxt
            if trigger not in _TIMER_TRIGGERS:
                self._idx += 1
                if self._idx == len(self._bounds):
                    self._idx = 0
                    self._day += 1
            result = self.transition(trigger, at)
            if type(result) is Transition and result.old is not result.new:
                out.append(result)
            self._refresh()
            nxt = self._next
        return out

    def next_transition(self) -> tuple[int, SessionTrigger] | None:
        """The next (ts, trigger) `advance` would apply, or None if none will."""
        return self._next

    def _refresh(self) -> None:
        scheduled = None
        if self._bounds:
            tod, trigger = self._bounds[self._idx]
            scheduled = (self._day * DAY_NS + tod, trigger)
        timer = None
        if self.state is HALTED and self.halt_until is not None:
            timer = (self.halt_until, T.HALT_END)
        elif self.state is REOPENING_AUCTION:
            timer = (self._reopen_at, T.REOPEN)
        if timer is not None and (scheduled is None or timer[0] < scheduled[0]):
            self._next = timer
        else:
            self._next = scheduled

    def _trading_phase(self, ts: int) -> SessionState:
        """Where a reopening lands: the settlement window once it has begun."""
        s = self.schedule
        if s is not None and ts % DAY_NS >= s.settlement_start:
            return SETTLEMENT_WINDOW
        return CONTINUOUS
