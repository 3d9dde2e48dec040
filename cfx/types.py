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
from typing import Annotated, Literal

import msgspec
from msgspec import Meta


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
    validation (cfx/validation.py), risk (the clearing house's credit check), matching, session."""

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
    BAD_ORDER_TYPE = "bad_order_type"  # e.g. post-only market, iceberg IOC, stop without a stop price
    # risk
    CREDIT_LIMIT = "credit_limit"
    # matching
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    FOK_CANNOT_FILL = "fok_cannot_fill"
    # session (the series' trading state, cfx/session.py; a batch series' refusals, cfx/batch.py)
    MARKET_CLOSED = "market_closed"
    SERIES_HALTED = "series_halted"
    NOT_IN_BATCH = "not_in_batch"  # an order type a batch-auction series does not take (cfx/batch.py)


class CancelReason(StrEnum):
    USER = "user"
    IOC_REMAINDER = "ioc_remainder"  # unfilled part of an IOC or market order
    STP = "stp"
    EXPIRY = "expiry"
    MASS_CANCEL = "mass_cancel"
    BAND = "band"  # market order stopped at the price band
    RISK = "risk"  # cancelled by the clearing house (default management)


class Msg(msgspec.Struct, tag_field="type", gc=False, forbid_unknown_fields=True):
    """Shared options of every command and event. Fields are positional as
    well as keyword: the engine builds events positionally, which is about
    twice as fast in its hot loop."""


# --------------------------------------------------------------------------- commands

MAX_TS = 8_835_955_200_000_000_000
"""The latest time a command may carry: 2250-01-01T00:00Z in ns since 1970.
Past any run's last day (a scenario starts by 2199-12-31 and lasts at most
2,000 days), and twelve years under int64's end (2262), so a command's time
plus a day, a halt or an expiry stays a 64-bit integer."""

Timestamp = Annotated[int, Meta(ge=0, le=MAX_TS)]
"""A command's time, ns since 1970 (UTC). A journal record outside the range
is a decode error naming it, before the venue steps its sessions and
expiries through time up to it (a ts of 10**29 is ~10**15 days away)."""


class SubmitOrder(Msg):
    """A new order. ``price`` is the limit price (0 for market and
    stop-market); ``stop_price`` the trigger of stop orders; ``display_qty``
    > 0 makes an iceberg that shows that much at a time; ``stp`` None takes
    the account's default."""

    ts: Timestamp
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
    expire_ns: Timestamp = 0  # 0: none
    stp: StpMode | None = None


class CancelOrder(Msg):
    ts: Timestamp
    order_id: int
    account: int


class ModifyOrder(Msg):
    """Cancel-replace. ``qty`` is the new open quantity. A decrease at the
    same price keeps time priority; anything else loses it."""

    ts: Timestamp
    order_id: int
    account: int
    price: int
    qty: int


class MassCancel(Msg):
    """Cancel every live order of ``account`` and/or in ``series`` (None = any)."""

    ts: Timestamp
    account: int | None = None
    series: str | None = None


class EndOfDay(Msg):
    """Session end: DAY orders expire (in ``series``, or everywhere if None)."""

    ts: Timestamp
    series: str | None = None


class AdvanceTime(Msg):
    """Tell the engine the time; GTD orders whose expiry has come expire.
    Every other command does this too, implicitly, with its own ``ts``."""

    ts: Timestamp


class ListSeries(Msg):
    """Open (or re-rule) a series' book. ``band_low``/``band_high`` (ticks,
    inclusive) reject limit prices outside them and stop market orders at
    the edge; None means no band. With ``band_moving`` the band keeps its
    width but is centred on the last trade price once the series has traded
    (until then, as listed: e.g. around the last settlement). ``max_qty`` is
    the largest order. ``reference`` is the prior settlement (the listing's
    reference price before the first): an opening call's reference price.
    ``auction_tie_break`` is the uncross tie-break style (cfx/auction.py).
    Dynamic limits (0 = off): once ``band_hits`` orders in a row of trading
    are refused for lying beyond the same edge (a limit hit: the market
    wants to trade through it), the band widens by ``band_expand_pct``
    percent of its half-width on both sides and the series halts
    ``band_halt_ns`` to cool off, then reopens by auction; at most
    ``band_max_expansions`` times until it is re-listed."""

    symbol: str
    ts: Timestamp = 0
    max_qty: int = 10_000
    band_low: int | None = None
    band_high: int | None = None
    band_moving: bool = False
    reference: int | None = None
    auction_tie_break: Literal["reference", "cme"] = "reference"
    band_expand_pct: int = 0
    band_hits: int = 3
    band_halt_ns: int = 120_000_000_000
    band_max_expansions: int = 2


class SetAccountStp(Msg):
    """An account's default self-trade prevention mode."""

    account: int
    mode: StpMode
    ts: Timestamp = 0


Command = SubmitOrder | CancelOrder | ModifyOrder | MassCancel | EndOfDay | AdvanceTime | ListSeries | SetAccountStp

# --------------------------------------------------------------------------- events
# Every event carries ``seq``, strictly increasing over the engine's life, and
# ``cmd`` the sequence number of the command that caused it.


class OrderAccepted(Msg):
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


class OrderRejected(Msg):
    seq: int
    cmd: int
    ts: int
    order_id: int
    account: int
    reason: RejectReason
    series: str | None = None


class Trade(Msg):
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


class OrderCancelled(Msg):
    """``qty`` is the open quantity that was cancelled."""

    seq: int
    cmd: int
    ts: int
    series: str
    order_id: int
    account: int
    qty: int
    reason: CancelReason


class OrderModified(Msg):
    seq: int
    cmd: int
    ts: int
    series: str
    order_id: int
    account: int
    price: int
    qty: int
    kept_priority: bool


class OrderTriggered(Msg):
    """A stop order's trigger was reached; it now enters as a market or
    limit order, in trigger order."""

    seq: int
    cmd: int
    ts: int
    series: str
    order_id: int
    account: int
    stop_price: int


class OrderRefilled(Msg):
    """An iceberg showed a new slice of ``qty``; it went to the back of its
    price level's queue."""

    seq: int
    cmd: int
    ts: int
    series: str
    order_id: int
    qty: int


class OrderRested(Msg):
    """The open part of an order was placed on the book (after matching, or
    after a modify that lost priority): visible ``qty`` at ``price``, at the
    back of the queue; ``open_qty`` includes an iceberg's reserve."""

    seq: int
    cmd: int
    ts: int
    series: str
    order_id: int
    side: Side
    price: int
    qty: int
    open_qty: int


class LevelChanged(Msg):
    """Market data: the visible quantity at a price level is now ``qty``
    (0 = the level is gone). One per level touched by a command."""

    seq: int
    cmd: int
    ts: int
    series: str
    side: Side
    price: int
    qty: int


EngineEvent = (
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
encoder = msgspec.json.Encoder()

# --------------------------------------------------------------------------- clearing events
# Emitted by the clearing house (cfx/clearing), not the engine, so they
# carry no ``seq``/``cmd``: ``ts`` is the clearing run's time and ``date`` the
# business day it settles. Money in integer micro-dollars, prices in ticks.
# They are not part of the engine's ``Event`` union.

import datetime as _dt  # noqa: E402  (kept with the section that uses it)


class SettlementTier(StrEnum):
    """Which rule of the tiered daily settlement procedure set a price."""

    VWAP = "vwap"  # trades in the settlement window
    MID = "mid"  # best bid/ask mid at the close, spread within the threshold
    INDEX_MOVED = "index_moved"  # previous settlement moved by the index change
    FINAL = "final"  # final settlement price at expiry
    MARK = "mark"  # a perpetual: its mark price at the close (cfx/sim/perpetual.py)


class SettlementPrice(Msg):
    ts: int
    date: _dt.date
    series: str
    price: int
    tier: SettlementTier


class VariationMarginPaid(Msg):
    """``amount`` > 0 was paid to the account, < 0 collected from it."""

    ts: int
    date: _dt.date
    account: int
    amount: int


class FundingPaid(Msg):
    """A perpetual's funding payment to one account at one interval:
    ``amount`` > 0 received, < 0 paid (micro-$), at ``rate`` (1e-8 units,
    cfx/clearing/funding.py) on ``position`` lots marked at ``mark`` ticks.
    The amounts of one interval sum to zero."""

    ts: int
    series: str
    account: int
    position: int
    mark: int
    rate: int
    amount: int


class MarkPriceUpdated(Msg):
    """A perpetual's mark price (ticks): ``index`` (the published index in
    ticks) plus the smoothed basis, clamped (cfx/clearing/funding.py);
    ``premium`` the premium index sample taken with it (1e-8 units). Margin
    and liquidation of the perpetual use the mark."""

    ts: int
    series: str
    index: int
    mark: int
    premium: int


class CollateralDeposited(Msg):
    ts: int
    account: int
    amount: int


class GuaranteeFundContributed(Msg):
    ts: int
    account: int
    amount: int


class MarginCallIssued(Msg):
    """Equity fell below maintenance: ``amount`` restores it to initial
    margin, due by the settlement run of ``deadline``."""

    ts: int
    date: _dt.date
    account: int
    amount: int
    equity: int
    maintenance: int
    initial: int
    deadline: _dt.date


class MarginCallMet(Msg):
    ts: int
    date: _dt.date
    account: int
    amount: int


class AccountDefaulted(Msg):
    """An unmet margin call, or (a perpetual holder) equity on the mark
    below maintenance margin intraday (``call_amount`` then the shortfall
    to initial margin): the account's orders are cancelled and its
    positions liquidated through the book."""

    ts: int
    date: _dt.date
    account: int
    call_amount: int
    collateral: int


class DefaultLossCovered(Msg):
    """A defaulter's losses of one settlement run, through the waterfall:
    its collateral, its own guarantee-fund contribution, the insurance fund
    (``from_insurance``, before any loss is mutualised), the other members'
    contributions (pro rata, ``from_fund``), the clearing house's capital;
    ``uncovered`` is the defaulter's deficit left after it (cumulative: it
    includes earlier runs' uncovered deficit)."""

    ts: int
    date: _dt.date
    account: int
    loss: int
    from_collateral: int
    from_own_contribution: int
    from_fund: int
    from_house: int
    uncovered: int
    from_insurance: int = 0


class SeriesDelisted(Msg):
    ts: int
    date: _dt.date
    series: str
    final_price: int


# --------------------------------------------------------------------------- sessions, auctions, halts
# The trading-session state machine is cfx/session.py (its docstring
# holds the table); the events below are engine events (``seq``/``cmd``).


class SessionState(StrEnum):
    PRE_OPEN = "pre_open"  # orders accepted, no matching
    OPENING_AUCTION = "opening_auction"  # call freeze; uncross on leaving it
    CONTINUOUS = "continuous"
    SETTLEMENT_WINDOW = "settlement_window"  # continuous; trades feed the settlement VWAP
    CLOSED = "closed"
    MAINTENANCE = "maintenance"  # nothing accepted
    HALTED = "halted"  # resting orders stay, new orders queue for the reopening auction
    REOPENING_AUCTION = "reopening_auction"  # call freeze; uncross on leaving it


class SessionTrigger(StrEnum):
    """What moved a series from one `SessionState` to another."""

    PRE_OPEN = "pre_open"  # schedule
    OPENING_CALL = "opening_call"  # schedule: the pre-open freezes into the opening auction
    OPEN = "open"  # schedule: uncross, continuous trading starts
    SETTLEMENT_START = "settlement_start"  # schedule
    CLOSE = "close"  # schedule
    MAINTENANCE_START = "maintenance_start"  # schedule
    MAINTENANCE_END = "maintenance_end"  # schedule
    HALT = "halt"  # circuit breaker or kill switch
    HALT_END = "halt_end"  # the halt's time is up (or the kill switch is lifted)
    REOPEN = "reopen"  # uncross of the reopening auction


class SessionStateChanged(Msg):
    seq: int
    cmd: int
    ts: int
    series: str
    old: SessionState
    new: SessionState
    reason: SessionTrigger


class SeriesHalted(Msg):
    """Why a series halted: a trade at ``price`` would have moved more than
    the breaker allows from ``reference`` (both None for the kill switch).
    ``until`` is when the reopening auction starts; None until lifted."""

    seq: int
    cmd: int
    ts: int
    series: str
    until: int | None
    price: int | None = None
    reference: int | None = None


class IndicativeUncross(Msg):
    """Market data during a call: the price and volume an uncross would have
    now, and the unmatched surplus (``imbalance`` lots on ``imbalance_side``).
    ``price`` None (volume 0) says the book has stopped crossing: no uncross."""

    seq: int
    cmd: int
    ts: int
    series: str
    price: int | None
    volume: int
    imbalance: int
    imbalance_side: Side | None = None


class AuctionUncrossed(Msg):
    """A call auction (the open, a reopening after a halt) executed
    ``volume`` lots at ``price`` (its Trades follow)."""

    seq: int
    cmd: int
    ts: int
    series: str
    price: int
    volume: int
    imbalance: int
    imbalance_side: Side | None = None


class BatchUncrossed(Msg):
    """A periodic batch auction (cfx/batch.py) executed ``volume`` lots at
    ``price`` at its boundary (its Trades follow): the same uncross as a
    call's, told apart because in a batch series it is how every trade of
    the trading day prints, while a call's is the open or a reopening."""

    seq: int
    cmd: int
    ts: int
    series: str
    price: int
    volume: int
    imbalance: int
    imbalance_side: Side | None = None


class PriceBandChanged(Msg):
    """A series' price band moved: ``expanded`` after a limit hit (the halt
    that cools it off follows), else re-listed (a new settlement, or a
    reference that follows the index while the book is stale)."""

    seq: int
    cmd: int
    ts: int
    series: str
    low: int
    high: int
    expanded: bool


# --------------------------------------------------------------------------- the one event union

Event = (
    EngineEvent
    | SessionStateChanged
    | SeriesHalted
    | IndicativeUncross
    | AuctionUncrossed
    | BatchUncrossed
    | PriceBandChanged
    | SettlementPrice
    | VariationMarginPaid
    | FundingPaid
    | MarkPriceUpdated
    | CollateralDeposited
    | GuaranteeFundContributed
    | MarginCallIssued
    | MarginCallMet
    | AccountDefaulted
    | DefaultLossCovered
    | SeriesDelisted
)
"""Every event a run writes (engine, session, clearing): one decoder reads any
line of an event log."""

event_decoder = msgspec.json.Decoder(Event)
