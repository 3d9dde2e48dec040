"""Market maker: two-sided quotes at or inside the touch around a fair
value that learns from order flow, skewed by inventory, widened by
volatility and news, within a position limit; its P&L split into the
spread it earns and what informed flow costs it (adverse selection)."""

from __future__ import annotations

import math
from typing import Annotated, ClassVar

import msgspec

from cfx.agents.base import (
    SECOND,
    Agent,
    Context,
    DayReport,
    Latency,
    NonNegativeFloat,
    NonNegativeInt,
    Trigger,
    latency_default,
    register,
)
from cfx.agents.common import (
    funding_carry,
    BUY,
    SELL,
    Alarms,
    HalfLifeS,
    Interval,
    Lots,
    OwnOrders,
    PositionLimit,
    Probability,
    SeriesList,
    SeriesSpec,
    TicksF,
    exp_delay,
    resolve_all,
)
from cfx.products import is_perpetual_symbol
from cfx.types import TimeInForce, Trade

HalfSpread = Annotated[float, msgspec.Meta(gt=0.0, le=100_000.0)]
ON_QUOTE = Trigger(quote=True)  # a market maker requotes on any change of its series' top of book
ON_QUOTE_OR_INDICATIVE = Trigger(quote=True, indicative=True)  # in batch matching, also the next batch's indicative
BATCH_ALARM = "batch:"  # + series: the wake-up before a boundary that offers against the batch's surplus


class MarketMakerSpec(SeriesSpec, tag="market_maker"):
    """Parameters of a `MarketMaker` (prices in ticks, sizes in lots).

    Under batch matching (``[products] matching = "batch"``) two keys take
    effect: ``batch-flow-ticks-per-lot`` replaces ``flow-ticks-per-lot``,
    and ``batch-imbalance-share`` (0 to 1; 0: off) is the share of the next
    batch's published surplus (`Context.indicative`) it offers to take just
    before the boundary, with an IOC order on the other side at its
    reservation price ± half spread, within ``max-position``."""

    latency: Latency = latency_default(50_000, 10_000)
    series: SeriesList = ("front", "front+1")
    quote_lots: Lots = 5
    levels: Annotated[int, msgspec.Meta(ge=1, le=10)] = 1
    level_spacing_ticks: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    half_spread_ticks: HalfSpread = 0.5
    max_half_spread_ticks: HalfSpread = 50.0
    min_edge_ticks: TicksF = 0.25
    vol_mult: TicksF = 1.0
    vol_halflife: Annotated[float, msgspec.Meta(gt=0.0, le=1e9)] = 20.0
    news_mult: TicksF = 0.5
    news_halflife_s: HalfLifeS = 120.0
    index_weight: Probability = 0.5
    anchor_halflife_s: NonNegativeFloat = 120.0
    flow_ticks_per_lot: TicksF = 0.02
    flow_memory: Annotated[float, msgspec.Meta(ge=0.0, le=1e6)] = 0.0
    flow_discount: Probability = 0.5
    skew_ticks_per_lot: TicksF = 0.05
    max_position: PositionLimit = 100
    requote_interval_ns: Interval = 5 * SECOND
    min_requote_ns: NonNegativeInt = SECOND // 4
    markout_s: Annotated[float, msgspec.Meta(gt=0.0, le=86_400.0)] = 60.0
    settlement_aware: bool = False
    # bounded as basis_trader's: a huge one made the fair value infinite (int() crashed)
    funding_intervals: Annotated[float, msgspec.Meta(ge=0.0, le=1_000.0)] = 1.0
    perpetual_index_weight: Probability = 1.0
    perpetual_anchor_halflife_s: NonNegativeFloat = 30.0
    batch_flow_ticks_per_lot: TicksF = 0.0
    batch_imbalance_share: Probability = 0.5

    def __post_init__(self) -> None:
        if self.max_half_spread_ticks < self.half_spread_ticks:
            raise ValueError("max_half_spread_ticks must be >= half_spread_ticks")


class _Quoting:
    """Per-series state: our quote order ids per level, fair value, volatility, news."""

    __slots__ = (
        "bids",
        "asks",
        "var",
        "prev",
        "last_requote",
        "res",
        "fair",
        "tape_since",
        "anchor",
        "news",
        "markouts",
        "seen",
        "catchup",
        "target",
        "expected",
        "flow_mean",
        "window",
        "perpetual",
        "heard",
        "bid_plan",
        "ask_plan",
    )

    def __init__(self, levels: int, perpetual: bool = False) -> None:
        self.bids: list[int | None] = [None] * levels
        self.asks: list[int | None] = [None] * levels
        self.var = 0.0  # EWMA of squared changes of the fair value between requotes, ticks^2
        self.prev: float | None = None
        self.last_requote = -(1 << 62)
        self.res = 0.0  # last reservation price
        self.fair: float | None = None  # fair value, ticks
        self.tape_since = 0  # public trades up to here are in the fair value
        self.anchor: float | None = None  # last index anchor seen
        self.news = 0.0  # size of the latest index jump, decaying, ticks
        self.markouts: list = []  # (due ns, side sign, lots, fair at fill)
        self.seen: tuple | None = None  # (quote, anchor, position) at the last requote
        self.catchup = False  # a throttled update is waiting for the catch-up wake-up
        self.target = 0.0  # where the fair value was heading at the last requote
        self.expected: int | None = None  # the expected settlement as of the last index publication seen
        self.flow_mean = 0.0  # EWMA of signed lots per trade: the flow it has come to expect
        self.window: list | None = None  # last day, VWAP rule: [start, opening value, tape since, lots, notional]
        self.perpetual = perpetual  # funding is a carry on it (a dated future's is 0)
        self.heard = 0  # order events that changed one of its orders here (`OwnOrders.changes`)
        # (first price, room, heard) at each side's last `_side` call: `_side` run again with the same
        # prices and room on orders no event has changed since sends nothing and changes nothing
        self.bid_plan: tuple | None = None
        self.ask_plan: tuple | None = None

    def forget(self) -> None:
        """Drop what lets a requote skip work (the next one does it all;
        tests compare the two)."""
        self.bid_plan = self.ask_plan = None


@register(MarketMakerSpec)
class MarketMaker(Agent):
    """Quotes both sides of one or more series and keeps them there.

    Fair value, per series, a state that moves three ways at each requote:
    by ``flow_ticks_per_lot`` for each lot that aggressed on the public tape
    since the last requote (up for buys, down for sells: a run of buys moves
    it up, as a market maker learns from order flow) beyond
    ``flow_discount`` × the flow it expected — with ``flow_memory`` > 0 the
    expectation is an EWMA of the signed lots per trade (half-life
    ``flow_memory`` trades), so that a predictable run of split child
    orders moves it less and prices stay nearly a martingale although order
    signs have long memory (Lillo & Farmer 2004); a discount of 1 would make
    all impact transient — then part of the way
    (half-life ``anchor_halflife_s``; 0: all the way) toward the target ``index_weight`` ×
    the index anchor (`ctx.expected_settlement`, else `ctx.index_ticks`,
    else the last settlement) + the rest × the other participants' mid
    (else the last trade). Reservation price res = fair −
    ``skew_ticks_per_lot`` × position (from its own fills).

    Half spread h = ``half_spread_ticks`` + ``vol_mult`` × σ + ``news_mult``
    × the latest jump of the index anchor (decaying with half-life
    ``news_halflife_s``), capped at ``max_half_spread_ticks``; σ is the EWMA
    (half-life ``vol_halflife`` requotes) standard deviation of the fair
    value's change between requotes. The bid is res − h and the ask res + h,
    each rounded to the nearest tick (so h ≤ ½ tick quotes a one-tick market
    around res). Competing for the touch: a bid below the others' best bid
    joins it (and an ask above the others' best ask joins it) as long as it
    stays at least ``min_edge_ticks`` on the right side of res; a quote
    already resting at the wanted price is left alone (queue position).
    Never crosses the book it sees. ``levels`` levels per side,
    ``level_spacing_ticks`` apart, ``quote_lots`` each; sizes are cut so
    that filling every bid (ask) would not take the position past
    +``max_position`` (−``max_position``). To keep queue priority and
    messages down, a partly filled quote is topped up only once half of it
    is gone, and a deeper level one tick from where it should be stays.

    Requotes at Poisson wake-ups (mean ``requote_interval_ns``) and on
    market data, at most once per ``min_requote_ns`` per series (a
    throttled update is caught up with one extra wake-up; both timers are
    kept, see `Alarms`). P&L split: each fill's spread earned is its side ×
    (fair value at the fill − price) × lots; its adverse selection is side ×
    (fair value ``markout_s`` later − fair value at the fill) × lots
    (`pnl_parts`, in tick-lots).

    `withdraw` cancels everything and stops quoting until `resume`.
    With ``settlement_aware`` its fair value on a series' last trading day
    is the value of the final settlement under the rule in force: the
    index's expected average, or the settlement window's VWAP as far as
    its quotes can still hold it (`_final_day_value`).
    On a perpetual (no final settlement: its anchor is the index)
    ``perpetual_index_weight`` and ``perpetual_anchor_halflife_s`` take the
    place of ``index_weight`` and ``anchor_halflife_s``: the index is the
    only value a perpetual has and it is known now (a month's anchor is an
    average still to come, which the others' trading helps estimate), so
    by default the fair value is pulled all the way to the index with a
    30-second half-life, as perpetual makers quote off the index; and the
    reservation price is lowered by the funding a long would pay over
    ``funding_intervals`` intervals at the rate the current interval would
    pay (`ctx.funding_rate`; raised when shorts pay) — at once, not through
    the slow fair value: it is a holding cost known now — so a premium that
    pushes funding past the interest rate is quoted back toward the index.
    Where the venue matches in periodic batches (`Context.batch_interval_ns`)
    ``batch_flow_ticks_per_lot`` (default 0) takes the place of
    ``flow_ticks_per_lot``: every trade of a batch's uncross carries the
    batch's surplus side as its aggressor, so a batch's volume is both
    sides' orders meeting at one price, not a taker's flow, and read as
    flow it walks the fair value away (design_batch, seed 42, 5 days:
    settlement volatility 0.51 with 0.08, 0.10 with 0).
    There too, with ``batch_imbalance_share`` > 0 it offers liquidity
    against a batch's published surplus (the closing-auction imbalance
    liquidity of Xetra and CME, what Budish-Cramton-Shim makers do in a
    batch): it watches the next batch's indicative uncross
    (`Context.indicative`) and, when one shows a surplus at a price at
    least its half spread beyond its reservation price (buyers left over
    at a price ≥ res + h, or sellers at ≤ res − h), it wakes just before
    the boundary (its round trip to the venue and back, twice, plus
    jitter) and, if the indicative it sees then still shows one, sends an
    IOC order (it joins that batch only) on the other side for the share
    of the surplus, limit res + h (res − h) rounded away from res, cut so
    that filling it and its resting quotes on that side would not take the
    position past ``max_position``. Default 0.5 (design_batch, seeds 42, 7
    and 123, 5 days, against 0: stray prints 280 -> 224 on average,
    tracking error lower on every seed, band halts unchanged).
    ``series``: selectors ("front", "front+1", "perp", or a symbol; default the
    front and the next month of ``basket``, None = the default basket).
    """

    subscribes = True
    spec: MarketMakerSpec
    # the types of its state: cfx.agents.compiled's `CompiledMarketMaker` puts cfx.core._mmcore's and _common's in their place
    quoting_type: ClassVar[type] = _Quoting
    orders_type: ClassVar[type] = OwnOrders
    alarms_type: ClassVar[type] = Alarms

    def __init__(self, spec: MarketMakerSpec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.own = self.orders_type()
        self.quoting: dict[str, _Quoting] = {}
        self.withdrawn = False
        self._pending_withdraw = False
        self.alarms = self.alarms_type()
        self.timer_wakeups = 0
        self.spread_ticks = 0.0  # tick-lots earned against the fair value at the fill
        self.adverse_ticks = 0.0  # tick-lots the fair value moved against the fills (negative: a cost)
        self._alpha = 1.0 - 0.5 ** (1.0 / spec.vol_halflife)
        self._anchor_k = math.log(2) / (spec.anchor_halflife_s * 1e9) if spec.anchor_halflife_s else math.inf
        self._perp_anchor_k = (
            math.log(2) / (spec.perpetual_anchor_halflife_s * 1e9) if spec.perpetual_anchor_halflife_s else math.inf
        )
        self._news_k = math.log(2) / (spec.news_halflife_s * 1e9)
        self._markout_ns = int(spec.markout_s * 1e9)
        self._flow_keep = 0.5 ** (1.0 / spec.flow_memory) if spec.flow_memory else 0.0
        self._flow_per_lot = spec.flow_ticks_per_lot  # batch_flow_ticks_per_lot where the venue matches in batches
        self._index_seen = False  # indicative values arrive by on_index: the anchor can be cached
        self._batch_ns = 0  # the venue's batch interval where it offers against a batch's surplus (0: it does not)
        lat = spec.latency
        self._batch_lead = 2 * (lat.entry_ns + lat.market_data_ns) + 20 * lat.jitter_ns  # before a boundary
        self._batch_armed: dict[str, int] = {}  # series -> the boundary its surplus wake-up is armed for
        self.imbalance_orders = 0  # IOC orders sent against a batch's surplus

    # ------------------------------------------------------------------ shocks

    def withdraw(self, ctx: Context | None = None) -> None:
        """Pull all quotes and stop quoting until `resume`. Without a
        context the cancels go out at the agent's next hook."""
        self.withdrawn = True
        if ctx is None:
            self._pending_withdraw = True
        else:
            self._cancel_everything(ctx)

    def resume(self, ctx: Context | None = None) -> None:
        """Quote again (at once if given a context, else at the next wake-up)."""
        self.withdrawn = False
        self._pending_withdraw = False
        if ctx is not None:
            self._requote_all(ctx)

    def _cancel_everything(self, ctx: Context) -> None:
        self._pending_withdraw = False
        if self.own.orders:
            ctx.cancel_all()
        for st in self.quoting.values():
            st.bids = [None] * len(st.bids)
            st.asks = [None] * len(st.asks)
            st.forget()

    # ------------------------------------------------------------------ hooks

    def on_start(self, ctx: Context) -> None:
        batch = getattr(ctx, "batch_interval_ns", None)
        if batch is not None and batch():
            self._flow_per_lot = self.spec.batch_flow_ticks_per_lot
            if self.spec.batch_imbalance_share > 0 and hasattr(ctx, "indicative"):
                self._batch_ns = batch()
        self._resolve(ctx)
        self._schedule(ctx)
        self._requote_all(ctx)

    def on_wakeup(self, ctx: Context) -> None:
        fired = self.alarms.due(ctx)
        if self._pending_withdraw:
            self._cancel_everything(ctx)
        if self._batch_ns:
            surplus = [f for f in fired if f.startswith(BATCH_ALARM)]
            if surplus:
                for name in surplus:
                    self._offer_against_surplus(ctx, name[len(BATCH_ALARM) :])
                if len(surplus) == len(fired):
                    return
                fired = [f for f in fired if not f.startswith(BATCH_ALARM)]
        if "timer" in fired:
            self.timer_wakeups += 1
            self._schedule(ctx)
        if "catchup" not in fired or "timer" in fired:
            self._requote_all(ctx)
        elif "catchup" in fired and not self.withdrawn:  # only the series whose update was throttled
            for s, st in self.quoting.items():
                if st.catchup:
                    self._requote(ctx, s, st)

    def on_market_data(self, ctx: Context, series: str) -> None:
        if self.withdrawn:
            if self._pending_withdraw:
                self._cancel_everything(ctx)
            return
        st = self.quoting.get(series)
        if st is None:
            return
        if self._batch_ns:
            self._arm_for_surplus(ctx, series, st)
        now = ctx.now
        wait = st.last_requote + self.spec.min_requote_ns - now
        if wait <= 0:
            self._requote(ctx, series, st)
        else:
            st.catchup = True
            alarms = self.alarms
            if "catchup" not in alarms.at:  # (`Alarms.pending`, inlined: 2 of 3 updates are throttled)
                alarms.arm(ctx, "catchup", now + wait)

    def on_index(self, ctx: Context, name: str) -> None:
        """A new indicative index value: the anchor is read afresh at the next requote."""
        self._index_seen = True
        for st in self.quoting.values():
            st.expected = None

    def on_order_event(self, ctx: Context, event) -> None:
        own = self.own
        changes = own.changes
        own.on_event(event)
        if own.changes != changes:  # one of its orders changed: its series' sides are looked at again
            st = self.quoting.get(event.series)
            if st is not None:
                st.heard += 1
            else:  # (a reject need not name its series)
                for st in self.quoting.values():
                    st.heard += 1
        if type(event) is Trade and event.maker_account == ctx.account:
            st = self.quoting.get(event.series)
            if st is not None and st.fair is not None:
                sign = 1.0 if event.aggressor is SELL else -1.0  # we bought when a seller hit us
                self.spread_ticks += sign * (st.fair - event.price) * event.qty
                st.markouts.append((ctx.now + self._markout_ns, sign, event.qty, st.fair))

    def on_day_end(self, ctx: Context, day: DayReport) -> None:
        for st in self.quoting.values():  # a new fixing: a new anchor
            st.expected = None
        for st in self.quoting.values():  # fills not marked out by the close: marked at the settlement
            if st.markouts:
                self._mark_out(st, 1 << 62, st.fair)
        self._resolve(ctx)

    # ------------------------------------------------------------------ P&L

    def pnl_parts(self) -> dict[str, float]:
        """Spread earned and adverse selection so far, in tick-lots."""
        return {"spread_earned": self.spread_ticks, "adverse_selection": self.adverse_ticks}

    def _mark_out(self, st: _Quoting, now: int, fair: float | None) -> None:
        if fair is None:
            return
        keep = []
        for m in st.markouts:
            if m[0] <= now:
                self.adverse_ticks += m[1] * (fair - m[3]) * m[2]
            else:
                keep.append(m)
        st.markouts = keep

    # ------------------------------------------------------------------ batch surplus

    def surplus_order(self, ctx: Context, series: str) -> tuple | None:
        """(side, lots, limit) of the IOC order it would send now against the
        surplus of the next batch's indicative uncross as it sees it, or
        None (no surplus, the price not far enough beyond res ± h, or no
        room under the position limit). See the class docstring."""
        st = self.quoting.get(series)
        if st is None or st.fair is None or self.withdrawn:
            return None
        ind = ctx.indicative(series)
        if ind.price is None or not ind.imbalance or ind.imbalance_side is None:
            return None
        spec = self.spec
        pos = ctx.position(series)
        res = st.fair - spec.skew_ticks_per_lot * pos
        h = self.half_spread(series)
        if ind.imbalance_side is BUY:  # buyers left over: sell to them if the price is rich
            side, limit = SELL, math.ceil(res + h)
            if ind.price < limit:
                return None
            room = spec.max_position + pos
        else:
            side, limit = BUY, math.floor(res - h)
            if ind.price > limit or limit <= 0:
                return None
            room = spec.max_position - pos
        room -= sum(o[3] for o in self.own.orders.values() if o[0] == series and o[1] is side)
        lots = min(room, int(spec.batch_imbalance_share * ind.imbalance + 0.5))
        return (side, lots, limit) if lots > 0 else None

    def _arm_for_surplus(self, ctx: Context, series: str, st: _Quoting) -> None:
        """A new indicative: if it shows a surplus worth taking, wake just before its boundary (once a boundary)."""
        n = self._batch_ns
        boundary = (ctx.now // n + 1) * n
        if self._batch_armed.get(series) == boundary or self.surplus_order(ctx, series) is None:
            return
        self._batch_armed[series] = boundary
        at = boundary - self._batch_lead
        if at <= ctx.now:
            self._offer_against_surplus(ctx, series)
        else:
            self.alarms.arm(ctx, BATCH_ALARM + series, at)

    def _offer_against_surplus(self, ctx: Context, series: str) -> None:
        """Just before the boundary: the IOC order against the surplus it sees now, if still there."""
        order = self.surplus_order(ctx, series)
        if order is None:
            return
        side, lots, limit = order
        self.own.submit(ctx, series, side, lots, limit, tif=TimeInForce.IOC)
        self.imbalance_orders += 1

    # ------------------------------------------------------------------ quoting

    def _schedule(self, ctx: Context) -> None:
        self.alarms.arm(ctx, "timer", ctx.now + exp_delay(ctx.rng.random(), self.spec.requote_interval_ns))

    def _resolve(self, ctx: Context) -> None:
        """(Re)select the quoted series; pull quotes from series dropped.
        Market data: only the quoted series' top-of-book changes (`Trigger`)."""
        wanted = resolve_all(ctx, self.spec.series, self.spec.basket)
        listed = set(ctx.listed())
        watch = getattr(ctx, "watch", None)
        for s in list(self.quoting):
            if s not in wanted:
                if s in listed:
                    for oid in self.own.ids(s):
                        ctx.cancel(oid)
                del self.quoting[s]
                if watch is not None:
                    ctx.unwatch(s)
        for s in wanted:
            if s not in self.quoting:
                self.quoting[s] = self.quoting_type(self.spec.levels, is_perpetual_symbol(s))
                if watch is not None:
                    watch(s, ON_QUOTE_OR_INDICATIVE if self._batch_ns else ON_QUOTE)

    def _requote_all(self, ctx: Context) -> None:
        if self.withdrawn:
            return
        for s, st in self.quoting.items():
            self._requote(ctx, s, st)

    def half_spread(self, series: str) -> float:
        """The current half spread of a series' quotes, in ticks."""
        spec = self.spec
        st = self.quoting[series]
        return min(
            spec.max_half_spread_ticks,
            spec.half_spread_ticks + spec.vol_mult * math.sqrt(st.var) + spec.news_mult * st.news,
        )

    def fair_value(self, series: str) -> float | None:
        st = self.quoting.get(series)
        return None if st is None else st.fair

    def _final_day_value(
        self, ctx: Context, series: str, st: _Quoting, fair: float, anchor: float | None
    ) -> float | None:
        """``settlement_aware``: on a series' last trading day a lot is worth
        its final settlement price, and the rule in force says what sets it.

        "index": the monthly average of the fixings, all but known on the
        last day and moved by no futures trade: the value is the expected
        final settlement (``anchor``) all day, and order flow teaches
        nothing, so a push is sold at the index (a fade that pays: the
        future converges to the index).

        "vwap_window", inside the settlement window: the final price is the
        window's own VWAP. What the window has traded is fixed; what it
        still trades the makers can hold near the value the market had when
        the window opened, by quoting there. So the value is f × the VWAP so
        far + (1 − f) × that opening value, f the elapsed share of the
        window: early in the window the push is faded (sold near the
        opening value, which keeps the VWAP down and protects the short the
        makers carry into it); late in it most of the VWAP is fixed and the
        value follows it: fading pays only as far as it can still move the
        VWAP. Before the window, and on other days: None (the usual fair
        value)."""
        if ctx.days_to_expiry(series) != 0:
            return None
        if ctx.final_settlement_rule() == "index":
            return None if anchor is None else float(anchor)
        start, end = ctx.settlement_window()
        now = ctx.now
        if not start <= now < end:
            return None
        win = st.window
        if win is None or win[0] != start:  # the window opens: the value the market had
            win = st.window = [start, fair, start, 0, 0]  # start, opening value, tape since, lots, notional
        for t in ctx.trades(series, win[2]):
            win[3] += t.qty
            win[4] += t.qty * t.price
            win[2] = t.ts + 1
        if not win[3]:
            return win[1]
        f = (now - start) / (end - start)
        return f * win[4] / win[3] + (1.0 - f) * win[1]

    def _in_final_window(self, ctx: Context, series: str) -> bool:
        """Inside the settlement window of a VWAP-settled series' last day (its value drifts with time)."""
        start, end = ctx.settlement_window()
        return (
            start <= ctx.now < end and ctx.final_settlement_rule() == "vwap_window" and ctx.days_to_expiry(series) == 0
        )

    def _funding_carry(self, ctx: Context, series: str, price: float) -> float:
        """What a long pays in funding over ``funding_intervals`` (`funding_carry`)."""
        return funding_carry(ctx, series, price, self.spec.funding_intervals)

    def _requote(self, ctx: Context, series: str, st: _Quoting) -> None:  # noqa: C901 (one pass over the quote; split candidate)
        spec = self.spec
        now = ctx.now
        st.catchup = False
        q = ctx.quote(series)
        anchor = st.expected
        if anchor is None:
            anchor = ctx.expected_settlement(series)
            if self._index_seen:
                st.expected = anchor
        pos = ctx.position(series)
        seen = (q, anchor, pos)
        if (
            seen == st.seen
            and st.news < 0.05
            and st.fair is not None
            and abs(st.target - st.fair) < 0.05
            and not (spec.settlement_aware and self._in_final_window(ctx, series))
        ):
            return  # nothing it looks at changed and its fair value has settled: the quotes stand
        st.seen = seen
        dt = now - st.last_requote
        st.last_requote = now
        # the other participants' best prices (ours alone at the touch: unknown), from the lots of
        # its own quotes there (a loop inline per side: two calls saved per requote)
        orders = self.own.orders
        bid = q.bid
        if bid is not None:
            mine = 0
            for oid in st.bids:
                o = orders.get(oid)  # (None for an empty level)
                if o is not None and o[2] == bid:
                    mine += o[3]
            if q.bid_qty <= mine:
                bid = None
        ask = q.ask
        if ask is not None:
            mine = 0
            for oid in st.asks:
                o = orders.get(oid)
                if o is not None and o[2] == ask:
                    mine += o[3]
            if q.ask_qty <= mine:
                ask = None
        market = (bid + ask) / 2 if bid is not None and ask is not None else q.last
        if anchor is None:
            anchor = ctx.index_ticks(series)
            if anchor is None:
                anchor = ctx.settlement(series)
        if anchor is None:
            if market is None:
                return
            target = market
        elif market is None:
            target = anchor
        else:
            w = spec.perpetual_index_weight if st.perpetual else spec.index_weight
            target = w * anchor + (1.0 - w) * market
        # news: a jump of the index anchor widens the quotes for a while
        news = st.news
        if news:  # 0 stays 0 (decay is finite): no exp to take
            news *= math.exp(-self._news_k * dt) if dt < (1 << 61) else 0.0
        if anchor is not None:
            if st.anchor is not None:
                jump = abs(anchor - st.anchor)
                if jump > news:
                    news = jump
            st.anchor = anchor
        st.news = news
        fair = prev = st.fair
        final = (
            self._final_day_value(ctx, series, st, target if fair is None else fair, anchor)
            if spec.settlement_aware
            else None
        )
        if final is not None:  # the final settlement's value, which flow does not move
            for t in ctx.trades(series, st.tape_since):
                st.tape_since = t.ts + 1
            fair = target = final
        elif fair is None:
            fair = target
            st.tape_since = now
        else:
            trades = ctx.trades(series, st.tape_since)
            if trades:
                surprise = 0.0
                expect = st.flow_mean
                keep = self._flow_keep
                discount = spec.flow_discount if spec.flow_memory else 0.0
                for t in trades:
                    x = t.qty if t.aggressor is BUY else -t.qty
                    surprise += x - discount * expect
                    expect = keep * expect + (1.0 - keep) * x
                st.tape_since = trades[-1].ts + 1
                st.flow_mean = expect
                fair += self._flow_per_lot * surprise
            else:
                fair += 0.0  # what no surprise adds (kept: it turns a -0.0 into 0.0, as ever)
            k = (self._perp_anchor_k if st.perpetual else self._anchor_k) * dt
            fair += (1.0 - math.exp(-k)) * (target - fair) if k < 50.0 else target - fair
        st.target = target
        var = st.var
        if prev is not None:
            d = fair - prev
            var += self._alpha * (d * d - var)
            st.var = var
        st.fair = fair
        markouts = st.markouts
        if markouts and markouts[0][0] <= now:  # fills are marked out in time order
            self._mark_out(st, now, fair)
        res = fair - spec.skew_ticks_per_lot * pos
        if st.perpetual and spec.funding_intervals:  # a perpetual's holding cost, known now: not a view to learn slowly
            res -= self._funding_carry(ctx, series, fair)
        h = spec.half_spread_ticks + spec.vol_mult * math.sqrt(var) + spec.news_mult * news
        if h > spec.max_half_spread_ticks:
            h = spec.max_half_spread_ticks
        b0 = math.floor(res - h + 0.5)
        a0 = math.ceil(res + h - 0.5)
        if a0 <= b0:
            if res - b0 >= 0.5:
                a0 = b0 + 1
            else:
                b0 = a0 - 1
        # join the others' touch when behind it and the edge allows
        edge = spec.min_edge_ticks
        if bid is not None and b0 < bid <= res - edge:
            b0 = bid
        if ask is not None and a0 > ask >= res + edge:
            a0 = ask
        # never cross the book as seen (ours included: a quote moving through
        # our own stale other side would self-trade; the next requote goes on)
        if q.ask is not None and b0 >= q.ask:
            b0 = q.ask - 1
        if q.bid is not None and a0 <= q.bid:
            a0 = q.bid + 1
        up = res > st.res
        st.res = res
        room_buy = spec.max_position - pos
        room_sell = spec.max_position + pos
        step = spec.level_spacing_ticks
        # a side as its last `_side` call left it is skipped (`_Quoting.bid_plan`): 84 % of calls
        heard = st.heard
        bids = (b0, room_buy, heard)
        asks = (a0, room_sell, heard)
        if up:  # move the asks out of the way first (no self-cross in flight)
            if st.ask_plan != asks:
                self._side(ctx, series, st.asks, SELL, a0, step, room_sell)
                st.ask_plan = asks
            if st.bid_plan != bids:
                self._side(ctx, series, st.bids, BUY, b0, -step, room_buy)
                st.bid_plan = bids
        else:
            if st.bid_plan != bids:
                self._side(ctx, series, st.bids, BUY, b0, -step, room_buy)
                st.bid_plan = bids
            if st.ask_plan != asks:
                self._side(ctx, series, st.asks, SELL, a0, step, room_sell)
                st.ask_plan = asks

    def _side(self, ctx: Context, series: str, ids: list[int | None], side, p0: int, step: int, room: int) -> None:
        """One side's levels to prices p0, p0 + step, ...: submit, modify or
        cancel only what differs. Runtime complexity: O(levels)."""
        own = self.own
        orders = own.orders
        lots = self.spec.quote_lots
        i = 0
        for oid in ids:
            price = p0 + i * step
            qty = lots if room >= lots else room
            room -= qty
            o = orders.get(oid)  # (None for an empty level)
            if o is not None and o[2] == price and o[3] <= qty <= 2 * o[3] and price > 0 < qty:
                i += 1
                continue  # the usual case: the level stands as it is
            if qty <= 0 or price <= 0:
                if o is not None:
                    ctx.cancel(oid)
                ids[i] = None
            elif o is None:
                ids[i] = own.submit(ctx, series, side, qty, price)
            elif o[2] != price:
                if not (i and abs(o[2] - price) <= 1 and o[3] <= qty and (o[2] - p0) * step > 0):
                    own.modify(ctx, oid, price, qty)  # (a deeper level one tick off keeps its place in the queue)
            else:  # cut to the room left, or topped up once half gone
                own.modify(ctx, oid, price, qty)
            i += 1


__all__ = ["MarketMaker", "MarketMakerSpec"]
