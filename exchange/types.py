"""Commands into the engine and events out of it: one schema for the journal,
the event log and the CLI's JSON.

Units everywhere: prices in integer ticks, quantities in integer lots,
timestamps in integer nanoseconds. Commands are imperative (`SubmitOrder`),
events past tense (`OrderAccepted`). Both are tagged msgspec Structs
(``{"type": "SubmitOrder", ...}``) so one decoder reads any journal line and
one encoder writes any event.

Structs are declared ``gc=False``: they hold only scalars, never cycles, and
millions of them pass through a replay.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderKind(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    GTC = "gtc"  # good till cancelled
    DAY = "day"  # expires at the session end (EndOfDay)
    GTD = "gtd"  # expires at expire_ns
    IOC = "ioc"  # immediate or cancel: the remainder never rests
    FOK = "fok"  # fill or kill: all of it at once, or nothing


class StpMode(StrEnum):
    """Self-trade prevention: what happens when an order would trade with a
    resting order of the same account."""

    NONE = "none"
    CANCEL_RESTING = "cancel_resting"
    CANCEL_AGGRESSING = "cancel_aggressing"
    CANCEL_BOTH = "cancel_both"
    DECREMENT_AND_CANCEL = "decrement_and_cancel"


class RejectReason(StrEnum):
    """Why a command changed nothing. Grouped by the layer that refuses:
    validation, then risk, then matching, then market state."""

    # validation
    UNKNOWN_SERIES = "unknown_series"
    BAD_QUANTITY = "bad_quantity"
    QUANTITY_TOO_LARGE = "quantity_too_large"
    BAD_PRICE = "bad_price"
    PRICE_OUTSIDE_BAND = "price_outside_band"
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    UNKNOWN_ORDER = "unknown_order"
    NOT_OWNER = "not_owner"
    BAD_DISPLAY_QUANTITY = "bad_display_quantity"
    BAD_EXPIRY = "bad_expiry"
    NOT_MODIFIABLE = "not_modifiable"
    # risk
    CREDIT_LIMIT = "credit_limit"
    # matching
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    FOK_CANNOT_FILL = "fok_cannot_fill"
    # market state
    MARKET_CLOSED = "market_closed"
    SERIES_HALTED = "series_halted"


class CancelReason(StrEnum):
    USER = "user"
    IOC_REMAINDER = "ioc_remainder"  # unfilled part of an IOC or market order
    STP = "stp"
    EXPIRY = "expiry"
    MASS_CANCEL = "mass_cancel"
    BAND = "band"  # market order stopped at the price band
    RISK = "risk"  # cancelled by the clearing house (default management)


class _Msg(msgspec.Struct, tag_field="type", kw_only=True, gc=False, forbid_unknown_fields=True):
    """Shared options of every command and event."""


# --------------------------------------------------------------------------- commands


class SubmitOrder(_Msg):
    """A new order. ``price`` is the limit price (0 for market and
    stop-market); ``stop_price`` the trigger of stop orders; ``display_qty``
    > 0 makes an iceberg that shows that much at a time; ``stp`` None takes
    the account's default."""

    ts: int
    series: str
    order_id: int
    account: int
    side: Side
    qty: int
    price: int = 0
    kind: OrderKind = OrderKind.LIMIT
    tif: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    display_qty: int = 0
    stop_price: int = 0
    expire_ns: int = 0
    stp: StpMode | None = None


class CancelOrder(_Msg):
    ts: int
    order_id: int
    account: int


class ModifyOrder(_Msg):
    """Cancel-replace. ``qty`` is the new open quantity. A decrease at the
    same price keeps time priority; anything else loses it."""

    ts: int
    order_id: int
    account: int
    price: int
    qty: int


class MassCancel(_Msg):
    """Cancel every live order of ``account`` and/or in ``series`` (None = any)."""

    ts: int
    account: int | None = None
    series: str | None = None


class EndOfDay(_Msg):
    """Session end: DAY orders expire (in ``series``, or everywhere if None)."""

    ts: int
    series: str | None = None


class AdvanceTime(_Msg):
    """Tell the engine the time; GTD orders whose expiry has come expire.
    Every other command does this too, implicitly, with its own ``ts``."""

    ts: int


Command = SubmitOrder | CancelOrder | ModifyOrder | MassCancel | EndOfDay | AdvanceTime

# --------------------------------------------------------------------------- events
# Every event carries ``seq``, strictly increasing over the engine's life, and
# ``cmd`` the sequence number of the command that caused it.


class OrderAccepted(_Msg):
    seq: int
    cmd: int
    ts: int
    series: str
    order_id: int
    account: int
    side: Side
    kind: OrderKind
    tif: TimeInForce
    price: int
    qty: int
    display_qty: int = 0
    stop_price: int = 0


class OrderRejected(_Msg):
    seq: int
    cmd: int
    ts: int
    order_id: int
    account: int
    reason: RejectReason
    series: str | None = None


class Trade(_Msg):
    """A fill, at the resting (maker) order's price."""

    seq: int
    cmd: int
    ts: int
    series: str
    price: int
    qty: int
    maker_id: int
    taker_id: int
    maker_account: int
    taker_account: int
    aggressor: Side


class OrderCancelled(_Msg):
    """``qty`` is the open quantity that was cancelled."""

    seq: int
    cmd: int
    ts: int
    series: str
    order_id: int
    account: int
    qty: int
    reason: CancelReason


class OrderModified(_Msg):
    seq: int
    cmd: int
    ts: int
    series: str
    order_id: int
    account: int
    price: int
    qty: int
    kept_priority: bool


class OrderTriggered(_Msg):
    """A stop order's trigger was reached; it now enters as a market or
    limit order, in trigger order."""

    seq: int
    cmd: int
    ts: int
    series: str
    order_id: int
    account: int
    stop_price: int


class OrderRefilled(_Msg):
    """An iceberg showed a new slice of ``qty``; it went to the back of its
    price level's queue."""

    seq: int
    cmd: int
    ts: int
    series: str
    order_id: int
    qty: int


class OrderRested(_Msg):
    """The open part of an order was placed on the book (after matching, or
    after a modify that lost priority): visible ``qty`` at ``price``, at the
    back of the queue."""

    seq: int
    cmd: int
    ts: int
    series: str
    order_id: int
    side: Side
    price: int
    qty: int


class LevelChanged(_Msg):
    """Market data: the visible quantity at a price level is now ``qty``
    (0 = the level is gone). One per level touched by a command."""

    seq: int
    cmd: int
    ts: int
    series: str
    side: Side
    price: int
    qty: int


Event = (
    OrderAccepted
    | OrderRejected
    | Trade
    | OrderCancelled
    | OrderModified
    | OrderTriggered
    | OrderRefilled
    | OrderRested
    | LevelChanged
)

command_decoder = msgspec.json.Decoder(Command)
event_decoder = msgspec.json.Decoder(Event)
encoder = msgspec.json.Encoder()
