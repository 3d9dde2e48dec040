"""Market maker: two-sided quotes around a fair value, skewed by inventory,
widened by volatility, within a position limit."""

from __future__ import annotations

import math
from typing import Annotated

import msgspec

from cfx.agents.base import SECOND, Agent, AgentSpec, Context, DayReport, NonNegativeInt, register
from cfx.agents.common import (
    BUY,
    SELL,
    Interval,
    Lots,
    OwnOrders,
    PositionLimit,
    Probability,
    SeriesList,
    TicksF,
    exp_delay,
    resolve_all,
)

HalfSpread = Annotated[float, msgspec.Meta(gt=0.0, le=100_000.0)]


class MarketMakerSpec(AgentSpec, tag="market_maker"):
    """Parameters of a `MarketMaker` (prices in ticks, sizes in lots)."""

    series: SeriesList = ("front",)
    basket: str | None = None
    quote_lots: Lots = 5
    levels: Annotated[int, msgspec.Meta(ge=1, le=10)] = 1
    level_spacing_ticks: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    half_spread_ticks: HalfSpread = 2.0
    max_half_spread_ticks: HalfSpread = 50.0
    vol_mult: TicksF = 2.0
    vol_halflife: Annotated[float, msgspec.Meta(gt=0.0, le=1e9)] = 20.0
    index_weight: Probability = 0.5
    skew_ticks_per_lot: TicksF = 0.05
    max_position: PositionLimit = 100
    requote_interval_ns: Interval = 5 * SECOND
    min_requote_ns: NonNegativeInt = SECOND // 4
    settlement_aware: bool = False

    def __post_init__(self) -> None:
        if self.max_half_spread_ticks < self.half_spread_ticks:
            raise ValueError("max_half_spread_ticks must be >= half_spread_ticks")


class _Quoting:
    """Per-series state: our quote order ids per level, the volatility estimate."""

    __slots__ = ("bids", "asks", "var", "prev", "last_requote", "res")

    def __init__(self, levels: int) -> None:
        self.bids: list[int | None] = [None] * levels
        self.asks: list[int | None] = [None] * levels
        self.var = 0.0  # EWMA of squared changes of the observed market price, ticks^2
        self.prev: float | None = None
        self.last_requote = -(1 << 62)
        self.res = 0.0  # last reservation price


@register(MarketMakerSpec)
class MarketMaker(Agent):
    """Quotes both sides of one or more series and keeps them there.

    Fair value: ``index_weight`` × the index anchor (`ctx.expected_settlement`,
    else `ctx.index_ticks`, else the last settlement) + the rest × the
    market's price (the mid of the *other* participants' best bid and ask,
    else the last trade); either alone if the other is unknown.
    Reservation price = fair − ``skew_ticks_per_lot`` × position. Quotes:
    bid ⌊res − h⌋ and ask ⌈res + h⌉, with h = ``half_spread_ticks`` +
    ``vol_mult`` × σ (capped at ``max_half_spread_ticks``), σ the EWMA
    (half-life ``vol_halflife`` requotes) standard deviation, in ticks, of
    the change in the observed market price (others' mid, else last trade)
    between requotes. Never crosses the book it sees (a bid at or above the
    best ask goes one tick under it, and vice versa). ``levels``
    price levels per side, ``level_spacing_ticks`` apart, ``quote_lots``
    each; sizes are cut so that filling every bid (ask) would not take the
    position past +``max_position`` (−``max_position``): at the limit the
    side that would grow it is not quoted.

    Requotes at Poisson wake-ups (mean ``requote_interval_ns``) and on
    market data (it subscribes), at most once per ``min_requote_ns`` per
    series (a throttled update is caught up with one extra wake-up). A
    requote moves resting quotes with modify, submits missing ones and
    cancels unwanted ones; unchanged quotes cost no message.

    `withdraw` cancels everything and stops quoting until `resume`.
    With ``settlement_aware`` the index weight knows the final-settlement
    rule on a series' last trading day (`_final_day_weight`).

    ``series``: selectors ("front", "front+1", or a symbol; default the
    front month of ``basket``, None = the default basket).
    """

    subscribes = True
    spec: MarketMakerSpec

    def __init__(self, spec: MarketMakerSpec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.own = OwnOrders()
        self.quoting: dict[str, _Quoting] = {}
        self.withdrawn = False
        self._pending_withdraw = False
        self._timer_at = 0
        self._catchup_at: int | None = None
        self._alpha = 1.0 - 0.5 ** (1.0 / spec.vol_halflife)

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

    # ------------------------------------------------------------------ hooks

    def on_start(self, ctx: Context) -> None:
        self._resolve(ctx)
        self._schedule(ctx)
        self._requote_all(ctx)

    def on_wakeup(self, ctx: Context) -> None:
        now = ctx.now
        if now >= self._timer_at:
            self._schedule(ctx)
        if self._catchup_at is not None and now >= self._catchup_at:
            self._catchup_at = None
        if self._pending_withdraw:
            self._cancel_everything(ctx)
        self._requote_all(ctx)

    def on_market_data(self, ctx: Context, series: str) -> None:
        if self.withdrawn:
            if self._pending_withdraw:
                self._cancel_everything(ctx)
            return
        st = self.quoting.get(series)
        if st is None:
            return
        wait = st.last_requote + self.spec.min_requote_ns - ctx.now
        if wait <= 0:
            self._requote(ctx, series, st)
        elif self._catchup_at is None:
            self._catchup_at = ctx.now + wait
            ctx.wake_after(wait)

    def on_order_event(self, ctx: Context, event) -> None:
        self.own.on_event(event)

    def on_day_end(self, ctx: Context, day: DayReport) -> None:
        self._resolve(ctx)

    # ------------------------------------------------------------------ quoting

    def _schedule(self, ctx: Context) -> None:
        d = exp_delay(ctx.rng.random(), self.spec.requote_interval_ns)
        self._timer_at = ctx.now + d
        ctx.wake_after(d)

    def _resolve(self, ctx: Context) -> None:
        """(Re)select the quoted series; pull quotes from series dropped."""
        wanted = resolve_all(ctx, self.spec.series, self.spec.basket)
        listed = set(ctx.listed())
        for s in list(self.quoting):
            if s not in wanted:
                if s in listed:
                    for oid in self.own.ids(s):
                        ctx.cancel(oid)
                del self.quoting[s]
        for s in wanted:
            if s not in self.quoting:
                self.quoting[s] = _Quoting(self.spec.levels)

    def _requote_all(self, ctx: Context) -> None:
        if self.withdrawn:
            return
        for s, st in self.quoting.items():
            self._requote(ctx, s, st)

    def half_spread(self, series: str) -> float:
        """The current half spread of a series' quotes, in ticks."""
        spec = self.spec
        st = self.quoting[series]
        return min(spec.max_half_spread_ticks, spec.half_spread_ticks + spec.vol_mult * math.sqrt(st.var))

    def _mine_at(self, ids: list[int | None], price: int) -> int:
        orders = self.own.orders
        n = 0
        for oid in ids:
            if oid is not None:
                o = orders.get(oid)
                if o is not None and o[2] == price:
                    n += o[3]
        return n

    def _final_day_weight(self, ctx: Context, series: str) -> float:
        """``settlement_aware``: the index weight on a series' last trading day
        knows the final-settlement rule. Settled on the index ("index"), the
        final price is all but known: quote around it (weight 1) and fade any
        push. Settled on the window's own VWAP ("vwap_window"), inside the
        window the market is what settles: follow it (weight 0) rather than
        sell the push below the price it sets. Other days: ``index_weight``."""
        if ctx.days_to_expiry(series) != 0:
            return self.spec.index_weight
        if ctx.final_settlement_rule() == "index":
            return 1.0
        start, end = ctx.settlement_window()
        return 0.0 if start <= ctx.now < end else self.spec.index_weight

    def _requote(self, ctx: Context, series: str, st: _Quoting) -> None:
        spec = self.spec
        st.last_requote = ctx.now
        q = ctx.quote(series)
        # the other participants' best prices (ours alone at the touch: unknown)
        bid = q.bid
        if bid is not None and q.bid_qty <= self._mine_at(st.bids, bid):
            bid = None
        ask = q.ask
        if ask is not None and q.ask_qty <= self._mine_at(st.asks, ask):
            ask = None
        market = (bid + ask) / 2 if bid is not None and ask is not None else q.last
        if market is not None:
            prev = st.prev
            if prev is not None:
                d = market - prev
                st.var += self._alpha * (d * d - st.var)
            st.prev = market
        anchor = ctx.expected_settlement(series)
        if anchor is None:
            anchor = ctx.index_ticks(series)
            if anchor is None:
                anchor = ctx.settlement(series)
        if anchor is None:
            if market is None:
                return
            fair = market
        elif market is None:
            fair = anchor
        else:
            w = spec.index_weight if not spec.settlement_aware else self._final_day_weight(ctx, series)
            fair = w * anchor + (1.0 - w) * market
        pos = ctx.position(series)
        res = fair - spec.skew_ticks_per_lot * pos
        h = spec.half_spread_ticks + spec.vol_mult * math.sqrt(st.var)
        if h > spec.max_half_spread_ticks:
            h = spec.max_half_spread_ticks
        b0 = math.floor(res - h)
        a0 = math.ceil(res + h)
        if a0 <= b0:
            a0 = b0 + 1
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
        if up:  # move the asks out of the way first (no self-cross in flight)
            self._side(ctx, series, st.asks, SELL, a0, spec.level_spacing_ticks, room_sell)
            self._side(ctx, series, st.bids, BUY, b0, -spec.level_spacing_ticks, room_buy)
        else:
            self._side(ctx, series, st.bids, BUY, b0, -spec.level_spacing_ticks, room_buy)
            self._side(ctx, series, st.asks, SELL, a0, spec.level_spacing_ticks, room_sell)

    def _side(self, ctx: Context, series: str, ids: list[int | None], side, p0: int, step: int, room: int) -> None:
        own = self.own
        orders = own.orders
        lots = self.spec.quote_lots
        for i in range(len(ids)):
            price = p0 + i * step
            qty = lots if room >= lots else room
            room -= qty
            oid = ids[i]
            o = orders.get(oid) if oid is not None else None
            if qty <= 0 or price <= 0:
                if o is not None:
                    ctx.cancel(oid)
                ids[i] = None
            elif o is None:
                ids[i] = own.submit(ctx, series, side, qty, price)
            elif o[2] != price or o[3] != qty:
                own.modify(ctx, oid, price, qty)


__all__ = ["MarketMaker", "MarketMakerSpec"]
