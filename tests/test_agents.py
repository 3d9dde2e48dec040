"""The agent library against a fake `Context` on a real matching engine.

`FakeMarket` holds an `Engine`, the index values the test sets and every
account's position; `FakeCtx` is one agent's `Context` on it. Commands an
agent sends reach the engine at once (no latency); the events they cause
are delivered to the agents (own order events, then market data to agents
that subscribe) when the hook that sent them returns. Wake-up requests are
recorded (``ctx.wakes``) and `FakeMarket.run` plays them in time order.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import pathlib
import typing
from collections import defaultdict

import msgspec
import numpy as np
import pyarrow.parquet as pq
import pytest

from cfx.agents import (
    AGENT_SPECS,
    REGISTRY,
    BasisTraderSpec,
    DayReport,
    MarketMaker,
    MarketMakerSpec,
    MomentumTraderSpec,
    NoiseTraderSpec,
    Quote,
    ValueTraderSpec,
    agent_for,
)
from cfx.agents.base import HOUR, NO_INDICATIVE, SECOND, Agent, AgentSpec, Indicative
from cfx.agents.common import Alarms, OwnOrders
from cfx.engine import Engine
from cfx.types import (
    CancelOrder,
    LevelChanged,
    ListSeries,
    MassCancel,
    ModifyOrder,
    OrderKind,
    OrderRejected,
    RejectReason,
    Side,
    SubmitOrder,
    TimeInForce,
    Trade,
    encoder,
)

BUY, SELL = Side.BUY, Side.SELL
H27, J27 = "HOP-H27", "HOP-J27"
LP = 900  # account of the test's own liquidity


# ----------------------------------------------------------------------------- the fake


class FakeMarket:
    def __init__(self, series: tuple[str, ...] = (H27,)) -> None:
        self.engine = Engine()
        for s in series:
            self.engine.apply(ListSeries(s))
        self.series = list(series)
        self.now = 0
        self.index: dict[str, int] = {}
        self.expected: dict[str, int] = {}
        self.settle: dict[str, int] = {}
        self.dte: dict[str, int] = {}
        self.window: tuple[int, int] = (0, 0)  # settlement window, ns
        self.rule = "index"  # the final-settlement rule
        self.positions: dict[tuple[int, str], int] = defaultdict(int)
        self.ctxs: dict[int, FakeCtx] = {}
        self.commands: list = []  # every command sent, in order
        self._oid = itertools.count(1)
        self._wakes: list = []  # heap of (time, seq, ctx)
        self._wseq = itertools.count()
        self.tape: list = []  # every trade, in order (the public tape)

    # the test's own orders (not an agent's)
    def place(
        self,
        side: Side,
        price: int,
        qty: int,
        series: str = H27,
        account: int = LP,
        kind: OrderKind = OrderKind.LIMIT,
        tif: TimeInForce = TimeInForce.GTC,
    ) -> int:
        oid = next(self._oid)
        self.send(SubmitOrder(self.now, series, oid, account, side, qty, price, kind, tif))
        self.pump()
        return oid

    def clear(self, account: int = LP) -> None:
        self.send(MassCancel(self.now, account))
        self.pump()

    def trade_at(self, price: int, series: str = H27, qty: int = 1) -> None:
        """A trade between two test accounts at ``price`` (sets the last price)."""
        self.place(SELL, price, qty, series, account=LP + 1)
        self.place(BUY, price, qty, series, account=LP + 2)

    def send(self, cmd) -> None:
        self.commands.append(cmd)
        self.engine.apply(cmd)

    def quote(self, series: str) -> Quote:
        book = self.engine.book(series)
        b, a = book.best_bid(), book.best_ask()
        return Quote(
            b,
            book.level_qty(BUY, b) if b is not None else 0,
            a,
            book.level_qty(SELL, a) if a is not None else 0,
            book.last_price,
        )

    def orders_of(self, account: int, series: str = H27) -> dict[Side, list[tuple[int, int]]]:
        """(price, open qty) of an account's live orders, per side, best first."""
        out: dict[Side, list] = {BUY: [], SELL: []}
        for o in self.engine.live_orders():
            if o.account == account and o.series == series:
                out[o.side].append((o.price, o.qty + o.hidden))
        out[BUY].sort(reverse=True)
        out[SELL].sort()
        return out

    def pump(self) -> None:
        """Deliver the engine's new events: positions, own order events,
        then market data to subscribers; repeat while agents send more."""
        for _ in range(1000):
            events = self.engine.events[:]
            if not events:
                return
            self.engine.events.clear()
            inbox: dict[int, list] = defaultdict(list)
            touched: dict[str, None] = {}
            for e in events:
                t = type(e)
                if t is Trade:
                    buyer, seller = (
                        (e.taker_account, e.maker_account) if e.aggressor is BUY else (e.maker_account, e.taker_account)
                    )
                    self.positions[(buyer, e.series)] += e.qty
                    self.positions[(seller, e.series)] -= e.qty
                    self.tape.append(e)
                    inbox[e.maker_account].append(e)
                    if e.taker_account != e.maker_account:
                        inbox[e.taker_account].append(e)
                    touched[e.series] = None
                elif t is LevelChanged:
                    touched[e.series] = None
                elif hasattr(e, "account"):
                    inbox[e.account].append(e)
            for account, evs in inbox.items():
                ctx = self.ctxs.get(account)
                if ctx is not None:
                    for e in evs:
                        ctx.agent.on_order_event(ctx, e)
            for s in touched:
                for ctx in self.ctxs.values():
                    if ctx.agent.subscribes:
                        ctx.md_calls += 1
                        ctx.agent.on_market_data(ctx, s)
        raise AssertionError("agents keep reacting to each other")

    def run(self, until: int) -> None:
        """Play every requested wake-up before ``until`` in time order."""
        while self._wakes and self._wakes[0][0] < until:
            t, _, ctx = heapq.heappop(self._wakes)
            self.now = max(self.now, t)
            ctx.agent.on_wakeup(ctx)
            self.pump()
        self.now = max(self.now, until)

    def day_end(self, date: dt.date = dt.date(2027, 3, 1)) -> None:
        for ctx in self.ctxs.values():
            ctx.agent.on_day_end(ctx, DayReport(date, dict(self.settle), {}, 0))
        self.pump()


class FakeCtx:
    """One agent's `Context` on a `FakeMarket`."""

    def __init__(self, market: FakeMarket, agent, account: int, seed: int = 0) -> None:
        self.market = market
        self.agent = agent
        self.account = account
        self.rng = np.random.default_rng(seed)
        self.wakes: list[int] = []  # every delay requested
        self.md_calls = 0
        self.deposits: list[float] = []
        market.ctxs[account] = self

    @property
    def now(self) -> int:
        return self.market.now

    # hooks, with delivery of what they caused
    def start(self) -> None:
        self.agent.on_start(self)
        self.market.pump()

    def wake(self, advance: int = SECOND) -> None:
        self.market.now += advance
        self.agent.on_wakeup(self)
        self.market.pump()

    # the Context protocol
    def listed(self) -> list[str]:
        return list(self.market.series)

    def front(self, basket: str | None = None) -> str:
        return self.market.series[0]

    def quote(self, series: str) -> Quote:
        return self.market.quote(series)

    def index_ticks(self, series: str) -> int | None:
        return self.market.index.get(series)

    def expected_settlement(self, series: str) -> int | None:
        return self.market.expected.get(series)

    def settlement(self, series: str) -> int | None:
        return self.market.settle.get(series)

    def days_to_expiry(self, series: str) -> int:
        return self.market.dte.get(series, 30)

    def settlement_window(self) -> tuple[int, int]:
        return self.market.window

    def final_settlement_rule(self) -> str:
        return self.market.rule

    def position(self, series: str) -> int:
        return self.market.positions[(self.account, series)]

    def trades(self, series: str, since_ns: int) -> list:
        return [t for t in self.market.tape if t.series == series and t.ts >= since_ns]

    def submit(
        self,
        series: str,
        side: Side,
        qty: int,
        price: int = 0,
        *,
        kind: OrderKind = OrderKind.LIMIT,
        tif: TimeInForce = TimeInForce.GTC,
        post_only: bool = False,
    ) -> int:
        oid = next(self.market._oid)
        self.market.send(SubmitOrder(self.now, series, oid, self.account, side, qty, price, kind, tif, post_only))
        return oid

    def cancel(self, order_id: int) -> None:
        self.market.send(CancelOrder(self.now, order_id, self.account))

    def modify(self, order_id: int, price: int, qty: int) -> None:
        self.market.send(ModifyOrder(self.now, order_id, self.account, price, qty))

    def cancel_all(self, series: str | None = None) -> None:
        self.market.send(MassCancel(self.now, self.account, series))

    def wake_after(self, delay_ns: int) -> None:
        assert delay_ns > 0
        self.wakes.append(delay_ns)
        heapq.heappush(self.market._wakes, (self.now + delay_ns, next(self.market._wseq), self))

    def deposit(self, amount_usd: float) -> None:
        self.deposits.append(amount_usd)


def make(market: FakeMarket, spec, account: int = 1, seed: int = 0, start: bool = True):
    agent = agent_for(spec)(spec)
    ctx = FakeCtx(market, agent, account, seed)
    if start:
        ctx.start()
    return agent, ctx


def sent_by(market: FakeMarket, account: int) -> list:
    return [c for c in market.commands if getattr(c, "account", None) == account]


# ----------------------------------------------------------------------------- registry and specs


def test_every_agent_is_registered_and_decodes_from_toml():
    assert len(AGENT_SPECS) == 9
    tags = [s.__struct_config__.tag for s in AGENT_SPECS]
    assert len(set(tags)) == len(tags)
    assert {
        "market_maker",
        "otc_dealer",
        "neocloud",
        "inference_platform",
        "noise_trader",
        "basis_trader",
        "momentum_trader",
        "settlement_squeezer",
        "value_trader",
    } == set(tags)
    for spec in AGENT_SPECS:
        assert spec in REGISTRY
        agent_for(spec())(spec())  # defaults are valid and construct an agent
        assert spec.__doc__ and REGISTRY[spec].__doc__
        doc = "".join(c.__doc__ or "" for c in REGISTRY[spec].__mro__)
        own = [f for f in spec.__struct_fields__ if f not in AgentSpec.__struct_fields__]
        assert own and not [f for f in own if f"``{f}``" not in doc], spec  # every parameter documented

    class Scenario(msgspec.Struct):
        agents: list[typing.Union[AGENT_SPECS]]  # type: ignore[valid-type]

    sc = msgspec.toml.decode(
        b'[[agents]]\ntype = "market_maker"\nquote-lots = 3\nseries = ["front", "HOP-J27"]\n'
        b'[[agents]]\ntype = "noise_trader"\ncount = 40\n',
        type=Scenario,
    )
    assert isinstance(sc.agents[0], MarketMakerSpec) and sc.agents[0].quote_lots == 3
    assert sc.agents[1].count == 40
    bad = [
        (b'[[agents]]\ntype = "market_maker"\nquote-lots = 0\n', "agents[0].quote-lots"),
        (b'[[agents]]\ntype = "noise_trader"\nmarket-prob = 1.5\n', "agents[0].market-prob"),
        (b'[[agents]]\ntype = "market_maker"\nperpetual-index-weight = 2.0\n', "agents[0].perpetual-index-weight"),
        (b'[[agents]]\ntype = "market_maker"\nbatch-flow-ticks-per-lot = -1.0\n', "agents[0].batch-flow-ticks-per-lot"),
        (b'[[agents]]\ntype = "market_maker"\nbatch-imbalance-share = 1.5\n', "agents[0].batch-imbalance-share"),
        (
            b'[[agents]]\ntype = "basis_trader"\nperpetual-threshold-ticks = -0.5\n',
            "agents[0].perpetual-threshold-ticks",
        ),
        (b'[[agents]]\ntype = "basis_trader"\nseries = ["next"]\n', "agents[0].series[0]"),
        (b'[[agents]]\ntype = "momentum_trader"\nshort-window = 30\nlong-window = 10\n', "agents[0]"),
    ]
    for text, path in bad:
        with pytest.raises(msgspec.ValidationError, match=path.replace("[", r"\[").replace("]", r"\]")):
            msgspec.toml.decode(text, type=Scenario)


# ----------------------------------------------------------------------------- market maker


def classic(**kw) -> MarketMakerSpec:
    """A market maker whose fair value is its target at once (no flow, no news)."""
    return MarketMakerSpec(**{"news_mult": 0.0, "anchor_halflife_s": 0.0, "flow_ticks_per_lot": 0.0, **kw})


def mm_market(fair: int = 300) -> FakeMarket:
    m = FakeMarket()
    m.expected[H27] = fair
    m.index[H27] = fair
    return m


def test_market_maker_quotes_both_sides_around_fair_value_and_skews_by_inventory():
    m = mm_market(300)
    spec = classic(
        half_spread_ticks=2.0, vol_mult=0.0, index_weight=1.0, quote_lots=5, skew_ticks_per_lot=0.1, max_position=100
    )
    mm, ctx = make(m, spec)
    assert m.orders_of(1) == {BUY: [(298, 5)], SELL: [(302, 5)]}
    assert ctx.wakes and ctx.wakes[0] > 0

    m.positions[(1, H27)] = 30  # long 30 lots: reservation price 3 ticks lower
    ctx.wake()
    assert m.orders_of(1) == {BUY: [(295, 5)], SELL: [(299, 5)]}
    m.positions[(1, H27)] = -30
    ctx.wake()  # the bid stops under its own old ask (299) on the way up...
    assert m.orders_of(1) == {BUY: [(298, 5)], SELL: [(305, 5)]}
    ctx.wake()  # ...and gets there at the next requote
    assert m.orders_of(1) == {BUY: [(301, 5)], SELL: [(305, 5)]}
    # moving quotes is done with modifies, not cancel + new
    kinds = [type(c).__name__ for c in sent_by(m, 1)]
    assert kinds.count("SubmitOrder") == 2 and kinds.count("ModifyOrder") == 5
    # an unchanged requote sends nothing
    n = len(m.commands)
    ctx.wake()
    assert len(m.commands) == n


def test_market_maker_blends_index_with_the_others_mid_and_never_crosses_the_book():
    m = mm_market(300)
    m.place(BUY, 309, 10)
    m.place(SELL, 311, 10)  # others' mid 310
    spec = classic(half_spread_ticks=2.0, vol_mult=0.0, index_weight=0.5)
    mm, ctx = make(m, spec)
    # fair 305: bid 303; the ask 307 would cross the others' bid 309, so it sits just above it
    assert m.orders_of(1) == {BUY: [(303, 5)], SELL: [(310, 5)]}

    m = mm_market(300)
    mm, ctx = make(m, classic(half_spread_ticks=2.0, vol_mult=0.0, index_weight=1.0))
    assert m.orders_of(1) == {BUY: [(298, 5)], SELL: [(302, 5)]}
    m.place(SELL, 300, 10)  # someone else's ask inside the MM's
    m.expected[H27] = 320  # fair jumps: the MM would bid 318
    ctx.wake()
    assert m.orders_of(1) == {BUY: [(299, 5)], SELL: [(322, 5)]}  # one tick under the others' ask, not through it

    m = mm_market(300)
    mm, ctx = make(m, classic(half_spread_ticks=2.0, vol_mult=0.0, index_weight=1.0))
    m.place(SELL, 305, 10)  # behind the MM's own ask: invisible at L1
    m.expected[H27] = 320
    ctx.wake()
    assert m.orders_of(1) == {BUY: [(301, 5)], SELL: [(322, 5)]}  # under the best ask it sees (its own)
    ctx.wake()
    assert m.orders_of(1) == {BUY: [(304, 5)], SELL: [(322, 5)]}  # now it sees the others' ask
    assert m.positions[(1, H27)] == 0


@pytest.mark.parametrize(
    "rule, in_window, quotes",
    [
        ("index", True, {BUY: [(298, 5)], SELL: [(302, 5)]}),  # the index settles it: quote the index, fade the push
        ("index", False, {BUY: [(298, 5)], SELL: [(302, 5)]}),  # all the last day, not only in the window
        ("vwap_window", True, {BUY: [(308, 5)], SELL: [(312, 5)]}),  # the window opens: hold its opening value
        ("vwap_window", False, {BUY: [(308, 5)], SELL: [(312, 5)]}),  # before the window: the usual blend
    ],
)
def test_a_settlement_aware_market_maker_values_the_last_day_by_the_final_settlement_rule(rule, in_window, quotes):
    m = mm_market(300)
    m.rule = rule
    m.dte[H27] = 0
    m.window = (0, 10**15) if in_window else (10**15, 2 * 10**15)
    m.place(BUY, 296, 10, account=LP)
    m.place(SELL, 344, 10, account=LP)  # others' mid 320, pushed up from the index's 300
    spec = MarketMakerSpec(
        half_spread_ticks=2.0,
        vol_mult=0.0,
        news_mult=0.0,
        index_weight=0.5,
        anchor_halflife_s=0.0,
        settlement_aware=True,
    )
    mm, ctx = make(m, spec)
    assert m.orders_of(1) == quotes


def _pushed_last_day(rule: str) -> tuple[MarketMaker, FakeMarket, FakeCtx]:
    """A settlement-aware maker (flow-sensitive, slow anchor) on a series'
    last day, 100 s settlement window from t=0, index 300; a pusher lifts
    40 lots of its ask a quarter of the way in."""
    m = mm_market(300)
    m.rule = rule
    m.dte[H27] = 0
    m.window = (0, 100 * SECOND)
    spec = MarketMakerSpec(
        half_spread_ticks=2.0,
        vol_mult=0.0,
        news_mult=0.0,
        index_weight=0.5,
        anchor_halflife_s=7200.0,
        flow_ticks_per_lot=0.5,
        settlement_aware=True,
        quote_lots=50,
        max_position=200,
        min_requote_ns=0,
        skew_ticks_per_lot=0.0,
    )
    mm, ctx = make(m, spec)
    assert m.orders_of(1)[SELL] == [(302, 50)]
    m.now = 25 * SECOND
    m.place(BUY, 310, 40, account=LP + 2)  # the push: 40 lots of the maker's ask at 302
    assert m.positions[(1, H27)] == -40
    ctx.wake(0)
    return mm, m, ctx


def test_a_settlement_aware_maker_fades_a_push_the_index_will_undo():
    mm, m, ctx = _pushed_last_day("index")
    assert mm.fair_value(H27) == 300.0  # 20 ticks of flow impact ignored: the index settles it
    assert m.orders_of(1)[SELL] == [(302, 50)]  # and it sells the push again at the index


def test_under_a_vwap_settlement_a_push_already_printed_moves_the_value_by_its_share_of_the_window():
    mm, m, ctx = _pushed_last_day("vwap_window")
    # a quarter of the window gone at a VWAP of 302: 0.25 x 302 + 0.75 x 300 (the opening value),
    # not the 20 ticks the flow would have moved it
    assert mm.fair_value(H27) == pytest.approx(300.5)
    ctx.wake(50 * SECOND)  # three quarters gone, no more trades: the printed VWAP weighs more
    assert mm.fair_value(H27) == pytest.approx(301.5)


def test_without_settlement_awareness_the_push_moves_the_fair_value_by_its_flow():
    m = mm_market(300)
    m.rule = "index"
    m.dte[H27] = 0
    m.window = (0, 100 * SECOND)
    spec = MarketMakerSpec(
        half_spread_ticks=2.0,
        vol_mult=0.0,
        news_mult=0.0,
        index_weight=0.5,
        anchor_halflife_s=7200.0,
        flow_ticks_per_lot=0.5,
        min_requote_ns=0,
        quote_lots=50,
        max_position=200,
        skew_ticks_per_lot=0.0,
    )
    mm, ctx = make(m, spec)
    m.now = 25 * SECOND
    m.place(BUY, 310, 40, account=LP + 2)  # lifts its ask
    ctx.wake(0)
    assert mm.fair_value(H27) > 315.0  # 40 lots x 0.5 ticks of flow impact


def test_market_maker_on_a_perpetual_anchors_to_the_index_with_its_perpetual_weight_and_half_life():
    perp = "HOP-PERP"
    # fair 305 on a month (index_weight 0.5 of the index 300 and the others' mid 310), 300 on the perpetual;
    # the ask never crosses the others' bid 309, so both sit at 310
    for series, quotes in ((H27, {BUY: [(303, 5)], SELL: [(310, 5)]}), (perp, {BUY: [(298, 5)], SELL: [(310, 5)]})):
        m = FakeMarket((series,))
        m.expected[series] = m.index[series] = 300
        m.place(BUY, 309, 10, series)
        m.place(SELL, 311, 10, series)  # others' mid 310
        spec = classic(
            half_spread_ticks=2.0,
            vol_mult=0.0,
            index_weight=0.5,
            funding_intervals=0.0,
            series=(series,),
            perpetual_index_weight=1.0,
            perpetual_anchor_halflife_s=0.0,
        )
        make(m, spec)
        assert m.orders_of(1, series) == quotes, series
    # the perpetual's half-life: after one half-life the fair value is half way from the others' mid to the index
    m = FakeMarket((perp,))
    m.expected[perp] = m.index[perp] = 310
    m.place(BUY, 309, 10, perp)
    m.place(SELL, 311, 10, perp)
    spec = classic(
        half_spread_ticks=0.4,
        vol_mult=0.0,
        index_weight=0.0,
        funding_intervals=0.0,
        series=(perp,),
        perpetual_anchor_halflife_s=30.0,
        requote_interval_ns=10**15,
        min_requote_ns=0,
    )
    mm, ctx = make(m, spec)
    m.expected[perp] = m.index[perp] = 290
    ctx.wake(30 * SECOND)
    assert mm.quoting[perp].fair == pytest.approx(300.0, abs=0.01)


def test_market_maker_stops_quoting_the_side_that_would_grow_a_position_at_its_limit():
    m = mm_market(300)
    spec = classic(
        half_spread_ticks=2.0,
        vol_mult=0.0,
        index_weight=1.0,
        quote_lots=5,
        max_position=10,
        skew_ticks_per_lot=0.0,
        levels=2,
    )
    mm, ctx = make(m, spec)
    assert m.orders_of(1) == {BUY: [(298, 5), (297, 5)], SELL: [(302, 5), (303, 5)]}
    m.positions[(1, H27)] = 7
    ctx.wake()
    assert m.orders_of(1) == {BUY: [(298, 3)], SELL: [(302, 5), (303, 5)]}
    m.positions[(1, H27)] = 10
    ctx.wake()
    assert m.orders_of(1) == {BUY: [], SELL: [(302, 5), (303, 5)]}
    m.positions[(1, H27)] = -10
    ctx.wake()
    assert m.orders_of(1) == {BUY: [(298, 5), (297, 5)], SELL: []}


def test_market_maker_gets_filled_and_leans_against_its_inventory():
    m = mm_market(300)
    spec = classic(half_spread_ticks=2.0, vol_mult=0.0, index_weight=1.0, skew_ticks_per_lot=0.5, min_requote_ns=0)
    mm, ctx = make(m, spec)
    m.place(SELL, 0, 5, kind=OrderKind.MARKET, tif=TimeInForce.IOC)  # hits the MM's bid; market data requotes
    assert m.positions[(1, H27)] == 5
    assert m.orders_of(1) == {BUY: [(296, 5)], SELL: [(299, 5)]}  # reservation 297.5, h 2: nearest ticks
    assert ctx.md_calls > 0


def _spread_after(moves: list[int], **kw) -> int:
    m = mm_market(300)
    spec = classic(**{"half_spread_ticks": 2.0, "vol_mult": 2.0, "vol_halflife": 5.0, "index_weight": 1.0, **kw})
    mm, ctx = make(m, spec)
    for d in moves:
        m.expected[H27] = 300 + d
        ctx.wake()
    q = m.orders_of(1)
    return q[SELL][0][0] - q[BUY][0][0]


def test_market_maker_widens_with_volatility_and_news():
    calm = _spread_after([0] * 20)
    wild = _spread_after([0, 8] * 10)
    assert calm == 4
    assert wild > 3 * calm
    news = _spread_after([0] * 19 + [10, 10], vol_mult=0.0, news_mult=0.5)  # one jump of the index: 5 ticks wider
    assert news == calm + 2 * 5


def test_market_maker_withdraws_and_resumes():
    m = mm_market(300)
    mm, ctx = make(m, classic(vol_mult=0.0, index_weight=1.0))
    assert m.orders_of(1)[BUY] and m.orders_of(1)[SELL]
    mm.withdraw(ctx)
    m.pump()
    assert m.orders_of(1) == {BUY: [], SELL: []}
    assert not mm.own.orders
    ctx.wake()
    m.place(BUY, 290, 1)  # market data while withdrawn
    assert m.orders_of(1) == {BUY: [], SELL: []}
    mm.resume(ctx)
    m.pump()
    assert m.orders_of(1) == {BUY: [(299, 5)], SELL: [(300, 5)]}  # half spread ½ tick: a one-tick market


def test_a_withdrawal_shock_reaches_market_makers_only():
    from cfx.agents import REGISTRY, Withdrawable

    pulled = {spec.__struct_config__.tag for spec, cls in REGISTRY.items() if issubclass(cls, Withdrawable)}
    assert "market_maker" in pulled and "noise_trader" not in pulled and "value_trader" not in pulled


def test_market_maker_requotes_on_market_data_at_most_once_per_min_requote_ns():
    m = mm_market(300)
    spec = classic(
        half_spread_ticks=2.0, vol_mult=0.0, index_weight=1.0, min_requote_ns=10 * SECOND, requote_interval_ns=HOUR
    )
    mm, ctx = make(m, spec)
    m.run(m.now + 20 * SECOND)
    assert m.orders_of(1) == {BUY: [(298, 5)], SELL: [(302, 5)]}
    m.expected[H27] = 310
    m.now += 1
    m.place(BUY, 250, 1)  # market data: requotes at once (the last requote was long enough ago)
    assert m.orders_of(1) == {BUY: [(301, 5)], SELL: [(312, 5)]}  # the bid stops under its own old ask
    m.expected[H27] = 320
    before = len(sent_by(m, 1))
    for p in range(251, 261):  # ten more updates within the throttle: no requote...
        m.now += 1
        m.place(BUY, p, 1)
    assert len(sent_by(m, 1)) == before
    m.run(m.now + 10 * SECOND)  # ...until the catch-up wake-up: one requote, two modifies
    assert [type(c) for c in sent_by(m, 1)[before:]] == [ModifyOrder, ModifyOrder]
    assert m.orders_of(1) == {BUY: [(311, 5)], SELL: [(322, 5)]}


def test_market_maker_fair_value_learns_from_a_run_of_buys():
    m = mm_market(300)
    spec = classic(
        half_spread_ticks=1.0,
        vol_mult=0.0,
        index_weight=1.0,
        flow_ticks_per_lot=0.1,
        anchor_halflife_s=3600.0,
        quote_lots=50,
    )
    mm, ctx = make(m, spec)
    assert mm.fair_value(H27) == 300
    for _ in range(5):  # 5 buys of 4 lots lift its ask
        m.now += SECOND
        m.place(BUY, 0, 4, account=LP + 3, kind=OrderKind.MARKET, tif=TimeInForce.IOC)
    ctx.wake()
    assert mm.fair_value(H27) == pytest.approx(302, abs=0.05)  # 20 lots x 0.1 tick, barely pulled back
    assert m.orders_of(1)[SELL][0][0] >= 303
    for _ in range(10):  # sells bring it back down
        m.now += SECOND
        m.place(SELL, 0, 4, account=LP + 3, kind=OrderKind.MARKET, tif=TimeInForce.IOC)
    ctx.wake()
    assert mm.fair_value(H27) < 299


def test_market_maker_in_batch_matching_does_not_read_a_batch_s_volume_as_flow():
    class BatchCtx(FakeCtx):
        def batch_interval_ns(self) -> int:
            return SECOND

    fair = {}
    for batch_flow in (0.0, 0.1):
        m = mm_market(300)
        spec = classic(
            half_spread_ticks=1.0,
            vol_mult=0.0,
            index_weight=1.0,
            flow_ticks_per_lot=0.1,
            batch_flow_ticks_per_lot=batch_flow,
            anchor_halflife_s=3600.0,
            quote_lots=50,
        )
        mm = agent_for(spec)(spec)
        ctx = BatchCtx(m, mm, 1)
        ctx.start()
        for _ in range(5):  # 20 lots traded with buys as the aggressors (a batch's surplus side)
            m.now += SECOND
            m.place(BUY, 0, 4, account=LP + 3, kind=OrderKind.MARKET, tif=TimeInForce.IOC)
        ctx.wake()
        fair[batch_flow] = mm.fair_value(H27)
    assert fair[0.0] == pytest.approx(300, abs=0.05)  # the default: no flow read from batches
    assert fair[0.1] == pytest.approx(302, abs=0.05)  # as continuous, where asked for


class BatchSurplusCtx(FakeCtx):
    """A `FakeCtx` on a venue that matches in 1-second batches and publishes ``shown`` as the indicative."""

    shown = NO_INDICATIVE

    def batch_interval_ns(self) -> int:
        return SECOND

    def indicative(self, series: str) -> Indicative:
        return self.shown


def test_market_maker_offers_against_a_batch_s_surplus_just_before_the_boundary():
    m = mm_market(300)
    spec = classic(
        half_spread_ticks=2.0,
        vol_mult=0.0,
        index_weight=1.0,
        quote_lots=5,
        skew_ticks_per_lot=0.1,
        max_position=100,
        batch_imbalance_share=0.5,
        requote_interval_ns=3600 * SECOND,
    )
    mm = agent_for(spec)(spec)
    ctx = BatchSurplusCtx(m, mm, 1)
    m.now = 10 * SECOND + SECOND // 4
    ctx.start()
    assert m.orders_of(1) == {BUY: [(298, 5)], SELL: [(302, 5)]}  # res 300, h 2
    # buyers left over at 305 (>= res + h = 302): sell them half the 40-lot surplus, limit 302
    ctx.shown = Indicative(305, 60, 40, BUY, m.now)
    assert mm.surplus_order(ctx, H27) == (SELL, 20, 302)
    mm.on_market_data(ctx, H27)

    def iocs():
        return [c for c in sent_by(m, 1) if type(c) is SubmitOrder and c.tif is TimeInForce.IOC]

    lead = 2 * (spec.latency.entry_ns + spec.latency.market_data_ns) + 20 * spec.latency.jitter_ns
    m.run(11 * SECOND - lead)
    assert not iocs()  # not yet: it waits until just before the boundary at 11 s
    ctx.shown = Indicative(306, 70, 50, BUY, m.now)  # more buyers came meanwhile: it sees the latest
    m.run(11 * SECOND)
    (ioc,) = iocs()
    assert (ioc.ts, ioc.side, ioc.qty, ioc.price) == (11 * SECOND - lead, SELL, 25, 302)
    assert mm.imbalance_orders == 1
    # not rich enough (301 < 302), or the other way: sellers left over at 297 (<= 298): buy, limit 298
    ctx.shown = Indicative(301, 60, 40, BUY, m.now)
    assert mm.surplus_order(ctx, H27) is None
    ctx.shown = Indicative(297, 60, 40, SELL, m.now)
    assert mm.surplus_order(ctx, H27) == (BUY, 20, 298)
    # long 90 lots: res 291, limit 289 for the buy; room 100 - 90 - its resting bids' 5 lots = 5
    m.positions[(1, H27)] = 90
    ctx.shown = Indicative(280, 60, 40, SELL, m.now)
    assert mm.surplus_order(ctx, H27) == (BUY, 5, 289)
    ctx.shown = Indicative(None, 0, 0, None, m.now)  # the batch uncrossed: nothing indicated
    assert mm.surplus_order(ctx, H27) is None


def test_market_maker_without_a_batch_imbalance_share_ignores_the_indicative():
    m = mm_market(300)
    spec = classic(half_spread_ticks=2.0, vol_mult=0.0, index_weight=1.0, batch_imbalance_share=0.0)
    mm = agent_for(spec)(spec)
    ctx = BatchSurplusCtx(m, mm, 1)
    ctx.shown = Indicative(305, 60, 40, BUY, 0)
    ctx.start()
    mm.on_market_data(ctx, H27)
    m.run(10 * SECOND)
    assert mm.surplus_order(ctx, H27) is None and mm.imbalance_orders == 0
    assert not [c for c in sent_by(m, 1) if type(c) is SubmitOrder and c.tif is TimeInForce.IOC]


def test_market_maker_joins_the_touch_when_its_edge_allows():
    m = mm_market(300)
    m.place(BUY, 299, 3)
    m.place(SELL, 302, 3)
    spec = classic(half_spread_ticks=2.5, vol_mult=0.0, index_weight=1.0, min_edge_ticks=0.5)
    mm, ctx = make(m, spec)
    # its own quotes would be 298 / 302 (res 300 +- 2.5, nearest ticks): it joins the others' bid at 299
    # (1 tick of edge >= 0.5) and its ask stays at 302, the others' ask
    assert m.orders_of(1) == {BUY: [(299, 5)], SELL: [(302, 5)]}
    m.clear()
    m.place(BUY, 300, 3)  # a bid at its fair value: no edge left, it does not join
    ctx.wake()
    assert m.orders_of(1)[BUY] == [(298, 5)]


def test_own_orders_count_each_change_of_an_order_and_not_its_acks():
    """`OwnOrders.changes` moves on a submit, a modify, a fill, a cancel, a
    refused modify and an ack that differs from what it holds, and not on
    an ack of what it sent: what the market maker's side skip trusts."""

    class Holder(Agent):
        def __init__(self) -> None:
            super().__init__(AgentSpec())
            self.own = OwnOrders()

        def on_order_event(self, ctx, event) -> None:
            self.own.on_event(event)

    m = FakeMarket()
    agent = Holder()
    ctx = FakeCtx(m, agent, 1)
    own = agent.own
    oid = own.submit(ctx, H27, BUY, 5, 299)
    assert own.changes == 1
    m.pump()  # accepted
    assert own.changes == 1
    own.modify(ctx, oid, 298, 5)
    assert own.changes == 2
    m.pump()  # modified as sent
    assert own.changes == 2 and own.orders[oid][2:4] == [298, 5]
    own.modify(ctx, oid, 298, 6)
    own.orders[oid][3] = 4  # as if it had heard of a fill the engine had not seen
    m.pump()  # the ack corrects the record
    assert own.changes == 4 and own.orders[oid][2:4] == [298, 6]
    m.place(SELL, 0, 2, kind=OrderKind.MARKET, tif=TimeInForce.IOC)  # a fill of 2
    assert own.changes == 5 and own.orders[oid][3] == 4
    own.modify(ctx, oid, 0, 4)  # refused: its price is now unknown
    m.pump()
    assert own.changes == 7 and own.orders[oid][2] == 0
    own.cancel(ctx, oid)
    assert own.changes == 7
    m.pump()  # cancelled
    assert own.changes == 8 and oid not in own.orders


class _MinAlarms:
    """`Alarms` as it was before it kept its earliest deadline: a min() over all of them at each `arm`."""

    def __init__(self) -> None:
        self.at: dict[str, int] = {}

    def arm(self, ctx, name: str, at: int) -> None:
        now = ctx.now
        if at <= now:
            at = now + 1
        if self.at:
            earliest = min(self.at.values())
            self.at[name] = at
            if at <= earliest:
                ctx.wake_after(at - now)
        else:
            self.at[name] = at
            ctx.wake_after(at - now)

    def due(self, ctx) -> list[str]:
        fired = [k for k, t in self.at.items() if t <= ctx.now]
        for k in fired:
            del self.at[k]
        if self.at:
            ctx.wake_after(min(self.at.values()) - ctx.now)
        return fired


class _WakeLog:
    """A context that only keeps time and records the wake-ups asked for."""

    def __init__(self) -> None:
        self.now = 0
        self.wakes: list[tuple[int, int]] = []

    def wake_after(self, delay_ns: int) -> None:
        self.wakes.append((self.now, delay_ns))


@pytest.mark.parametrize("seed", range(5))
def test_alarms_keep_the_earliest_deadline_as_a_min_over_all_of_them_would(seed):
    """`Alarms.earliest`, kept by `arm` and `due`, is the min of its
    deadlines after every call, and the wake-ups it asks for and the names
    `due` returns are those of a min() over all deadlines at each call:
    deadlines re-armed earlier, later (the earliest one too), ties, a
    deadline already past, and several due at once."""
    rng = np.random.default_rng(seed)
    fast, slow = Alarms(), _MinAlarms()
    fast_ctx, slow_ctx = _WakeLog(), _WakeLog()
    for _ in range(2000):
        if rng.random() < 0.3:
            fast_ctx.now = slow_ctx.now = fast_ctx.now + int(rng.integers(0, 40))
            assert fast.due(fast_ctx) == slow.due(slow_ctx)
        else:
            name = ("timer", "catchup", "exec")[int(rng.integers(3))]
            at = fast_ctx.now + int(rng.integers(-5, 60))
            fast.arm(fast_ctx, name, at)
            slow.arm(slow_ctx, name, at)
        assert fast.at == slow.at
        assert fast.earliest == min(fast.at.values(), default=None)
    assert fast_ctx.wakes == slow_ctx.wakes and len(fast_ctx.wakes) > 300


class _FullRequoteMaker(MarketMaker):
    """A market maker that forgets its shortcuts before every requote: the full path."""

    def _requote(self, ctx, series, st):
        st.forget()
        super()._requote(ctx, series, st)


def _random_maker_session(full: bool, seed: int) -> tuple[list, list]:
    """Commands and fair values of a two-level maker through random flow,
    fills, index moves and wake-ups (seeded)."""
    m = FakeMarket((H27, J27))
    for s in (H27, J27):
        m.expected[s] = m.index[s] = 300
    spec = MarketMakerSpec(
        series=("front", "front+1"),
        levels=2,
        quote_lots=6,
        max_position=20,
        flow_ticks_per_lot=0.3,
        anchor_halflife_s=60.0,
        news_mult=0.5,
        min_requote_ns=SECOND // 2,
        requote_interval_ns=3 * SECOND,
    )
    mm = (_FullRequoteMaker if full else MarketMaker)(spec)
    ctx = FakeCtx(m, mm, 1, seed)
    ctx.start()
    rng = np.random.default_rng(seed)
    fairs = []
    for _ in range(400):
        s = (H27, J27)[int(rng.integers(2))]
        r = rng.random()
        m.now += int(rng.integers(1, 2 * SECOND))
        if r < 0.3:  # a taker hits or lifts the maker (fills, partial fills, the position near its limit)
            side = BUY if rng.random() < 0.5 else SELL
            m.place(side, 0, int(rng.integers(1, 9)), s, account=LP + 3, kind=OrderKind.MARKET, tif=TimeInForce.IOC)
        elif r < 0.5:  # others' resting orders around the touch
            q = m.quote(s)
            mid = q.mid or 300
            side = BUY if rng.random() < 0.5 else SELL
            price = int(mid) + int(rng.integers(-3, 4))
            if price > 0:
                m.place(side, price, int(rng.integers(1, 5)), s, account=LP + 4)
        elif r < 0.6:
            m.clear(LP + 4)
        elif r < 0.7:  # the index moves (news)
            m.expected[s] = m.index[s] = m.expected[s] + int(rng.integers(-2, 3))
            mm.on_index(ctx, "HOPPER")
        elif r < 0.75:  # the position moves with no fill of its own orders (a statement)
            m.positions[(1, s)] += int(rng.integers(-8, 9))
        m.run(m.now + 1)
        fairs.append((mm.fair_value(H27), mm.fair_value(J27)))
    return m.commands, fairs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_market_maker_shortcuts_send_what_the_full_requote_sends(seed):
    """Skipping a side its last requote left as it would place it (and any
    other requote shortcut) changes no command and no fair value."""
    fast_cmds, fast_fair = _random_maker_session(False, seed)
    full_cmds, full_fair = _random_maker_session(True, seed)
    assert len(fast_cmds) > 300 and any(type(c) is ModifyOrder for c in fast_cmds)
    assert fast_cmds == full_cmds
    assert fast_fair == full_fair


def test_market_maker_places_again_a_quote_a_reject_naming_no_series_has_dropped():
    """An unknown-order reject names no series: the maker's side skip must
    still see that the order is gone and send a new one."""
    m = mm_market(300)
    mm, ctx = make(m, classic(half_spread_ticks=2.0, vol_mult=0.0, index_weight=1.0))
    m.expected[H27] = 301  # a jump of the index: news (not quoted: news_mult 0), so every requote looks again
    ctx.wake()
    bid = mm.quoting[H27].bids[0]
    n = len(sent_by(m, 1))
    ctx.wake()
    assert len(sent_by(m, 1)) == n  # the quotes stand
    mm.on_order_event(ctx, OrderRejected(0, 0, m.now, bid, 1, RejectReason.UNKNOWN_ORDER, None))
    assert bid not in mm.own.orders
    ctx.wake()
    assert [(type(c), c.side, c.price) for c in sent_by(m, 1)[n:]] == [(SubmitOrder, BUY, 299)]


def test_market_maker_splits_its_pnl_into_spread_and_adverse_selection():
    m = mm_market(300)
    spec = classic(half_spread_ticks=1.0, vol_mult=0.0, index_weight=1.0, markout_s=10.0, quote_lots=5)
    mm, ctx = make(m, spec)  # 299 / 301 around 300
    m.now += SECOND
    m.place(BUY, 0, 5, account=LP + 3, kind=OrderKind.MARKET, tif=TimeInForce.IOC)  # it sells 5 at 301
    assert mm.spread_ticks == pytest.approx(5.0)  # 1 tick under its fair value, 5 lots
    m.expected[H27] = 304  # the buyer knew: the value moves up 4 ticks
    m.now += 20 * SECOND
    ctx.wake()
    assert mm.adverse_ticks == pytest.approx(-20.0)  # 4 ticks against it on 5 lots
    assert mm.pnl_parts() == {"spread_earned": pytest.approx(5.0), "adverse_selection": pytest.approx(-20.0)}


def deep_book(m: FakeMarket, series: str, bid: int = 299, ask: int = 301, qty: int = 1000) -> None:
    m.place(BUY, bid, qty, series)
    m.place(SELL, ask, qty, series)


# ----------------------------------------------------------------------------- basis and momentum


def test_basis_trader_buys_cheap_futures_and_sells_rich_ones_within_its_limit():
    m = FakeMarket()
    m.expected[H27] = 300
    spec = BasisTraderSpec(threshold_ticks=5.0, clip_lots=5, max_position=12)
    bt, ctx = make(m, spec)
    m.place(BUY, 296, 100)
    m.place(SELL, 298, 100)  # mid 297: cheap by 3, inside the threshold
    ctx.wake()
    assert m.positions[(1, H27)] == 0
    m.clear()
    m.place(BUY, 288, 100)
    m.place(SELL, 290, 100)  # mid 289: cheap by 11
    for _ in range(5):
        ctx.wake()
    assert m.positions[(1, H27)] == 12  # bought, up to the limit
    assert all(c.price == 290 and c.side is BUY for c in sent_by(m, 1) if isinstance(c, SubmitOrder))
    m.clear()
    m.place(BUY, 310, 100)
    m.place(SELL, 312, 100)  # rich by 11
    for _ in range(10):
        ctx.wake()
    assert m.positions[(1, H27)] == -12


def test_basis_trader_takes_a_smaller_edge_on_a_perpetual():
    perp = "HOP-PERP"
    taken = {}
    for series in (H27, perp):
        m = FakeMarket((series,))
        m.expected[series] = 300
        m.place(BUY, 298, 100, series)
        m.place(SELL, 299, 100, series)  # the ask is cheap by 1 tick: beyond 0.25 + 0.15 fees, inside 3
        spec = BasisTraderSpec(
            threshold_ticks=3.0,
            perpetual_threshold_ticks=0.25,
            cost_ticks=0.15,
            clip_lots=5,
            funding_intervals=0.0,
            series=(series,),
        )
        bt, ctx = make(m, spec)
        ctx.wake()
        taken[series] = m.positions[(1, series)]
    assert taken == {H27: 0, perp: 5}


def test_squeezer_builds_a_long_then_buys_through_the_ask_in_the_last_settlement_window():
    from cfx.agents import SettlementSqueezerSpec

    m = FakeMarket()
    m.window = (10**15, 2 * 10**15)  # the settlement window: far in the future for now
    spec = SettlementSqueezerSpec(target_lots=20, clip_lots=10, push_lots=30, push_clip_lots=15, push_through_ticks=4)
    sq, ctx = make(m, spec)
    m.place(SELL, 300, 1000)
    for _ in range(4):
        ctx.wake()
    assert m.positions[(1, H27)] == 20  # built to target, at the ask, not beyond
    assert all(c.price == 300 for c in sent_by(m, 1) if isinstance(c, SubmitOrder))
    m.dte[H27] = 0  # the last trading day, but before the window: no buying
    ctx.wake()
    assert m.positions[(1, H27)] == 20
    m.now = m.window[0]
    for _ in range(3):
        ctx.wake()
    pushes = [c for c in sent_by(m, 1) if isinstance(c, SubmitOrder)][2:]
    assert [(c.qty, c.price) for c in pushes] == [(15, 304), (15, 304)]  # through the ask, push-lots in all
    assert m.positions[(1, H27)] == 50


def _momentum_after(prices: list[int]) -> int:
    m = FakeMarket()
    spec = MomentumTraderSpec(short_window=3, long_window=8, clip_lots=2, max_position=6)
    mt, ctx = make(m, spec)
    for p in prices:
        m.trade_at(p)
        m.clear(LP)
        m.place(BUY, p - 1, 50)
        m.place(SELL, p + 1, 50)
        ctx.wake()
    return m.positions[(1, H27)]


def test_momentum_trader_follows_the_trend():
    assert _momentum_after(list(range(300, 320))) == 6
    assert _momentum_after(list(range(320, 300, -1))) == -6
    assert _momentum_after([300, 301] * 10) == 0


# ----------------------------------------------------------------------------- value traders


def _value_market(expected: int, position: int = 0) -> FakeMarket:
    """A deep book around 300 (mid 300.0), the expected settlement at ``expected``, and
    account 1 (the value trader's) already holding ``position``."""
    m = FakeMarket()
    m.expected[H27] = expected
    deep_book(m, H27, bid=299, ask=301, qty=10_000)
    m.positions[(1, H27)] = position
    return m


def _value_spec(**kw) -> ValueTraderSpec:
    # no noise and no memory: its belief is the expected settlement exactly (plus 0.0 x its draw)
    base = {"noise_ticks": 0.0, "memory": 0.0, "threshold_ticks": 1.0, "lots_per_tick": 2.0, "urgency": 1.0}
    return ValueTraderSpec(**{**base, **kw})


def test_a_value_trader_builds_the_position_its_edge_calls_for_in_children_within_its_limit():
    m = _value_market(310)  # 10 ticks rich: 2 lots a tick beyond the threshold, 18 lots
    vt, _ = make(m, _value_spec(child_lots=3, horizon_s=600.0))
    m.run(HOUR)
    subs = sent_by(m, 1)
    assert m.positions[(1, H27)] == 18 and vt.views > 20
    assert subs and all(isinstance(c, SubmitOrder) and c.side is BUY and c.qty <= 3 for c in subs)
    m = _value_market(310)
    make(m, _value_spec(lots_per_tick=16.0, max_position=60))  # 144 lots, beyond its limit
    m.run(2 * HOUR)
    assert m.positions[(1, H27)] == 60


def test_a_value_trader_holds_a_mispricing_of_up_to_its_threshold_then_trades_beyond_it():
    m = _value_market(301, position=10)  # 1 tick: exactly its threshold
    vt, _ = make(m, _value_spec(lots_per_tick=4.0))
    m.run(HOUR)
    assert vt.views > 20 and vt.beliefs[H27] == 301.0 and sent_by(m, 1) == []
    m.expected[H27] = 302  # 2 ticks: a target of 4 lots, so it sells 6 of its 10
    m.run(2 * HOUR)
    assert m.positions[(1, H27)] == 4 and {c.side for c in sent_by(m, 1)} == {SELL}


def test_a_value_trader_cancels_the_parent_it_works_when_its_view_turns():
    m = _value_market(320)
    vt, _ = make(m, _value_spec(urgency=0.0, horizon_s=3600.0, child_lots=2))  # passive children at its bid
    m.run(20 * 60 * SECOND)
    buys = [c for c in sent_by(m, 1) if isinstance(c, SubmitOrder)]
    assert buys and {c.side for c in buys} == {BUY} and vt.executors[H27].side is BUY
    resting = set(vt.executors[H27].children)
    assert resting
    m.expected[H27] = 280
    m.run(40 * 60 * SECOND)
    after = sent_by(m, 1)[len(buys) :]
    assert resting <= {c.order_id for c in after if isinstance(c, CancelOrder)}
    assert vt.executors[H27].side is SELL and any(isinstance(c, SubmitOrder) and c.side is SELL for c in after)


def test_value_traders_are_deterministic_for_a_seed():
    def run(seed: int) -> bytes:
        m = _value_market(300)
        spec = ValueTraderSpec(noise_ticks=3.0, mean_interval_ns=30 * SECOND, child_lots=2)
        for i in range(3):
            make(m, spec, account=10 + i, seed=seed * 1000 + i)
        m.run(HOUR)
        return encoder.encode(m.commands)

    assert run(5) == run(5) != run(6)


# ----------------------------------------------------------------------------- noise traders


def _noise_run(seed: int, n: int = 5, hours: int = 2):
    m = FakeMarket()
    m.expected[H27] = 300
    deep_book(m, H27, bid=295, ask=305, qty=10_000)
    spec = NoiseTraderSpec(mean_interval_ns=30 * SECOND, max_open_orders=4)
    agents = []
    for i in range(n):
        a, _ = make(m, spec, account=10 + i, seed=seed * 1000 + i)
        agents.append(a)
    m.run(hours * HOUR)
    return m, agents


def test_noise_traders_send_orders_at_the_configured_rate_and_cancel_stale_ones():
    m, agents = _noise_run(seed=1)
    expected = 5 * 2 * HOUR / (30 * SECOND)  # 1200 orders
    sent = sum(a.sent for a in agents)
    assert 0.85 * expected < sent < 1.15 * expected
    subs = [c for c in m.commands if isinstance(c, SubmitOrder) and c.account != LP]
    assert len(subs) == sent
    assert {c.side for c in subs} == {BUY, SELL}
    assert any(c.kind is OrderKind.MARKET for c in subs) and any(c.kind is OrderKind.LIMIT for c in subs)
    assert sum(a.cancels for a in agents) > 0
    for i in range(5):
        live = m.orders_of(10 + i)
        assert len(live[BUY]) + len(live[SELL]) <= 4
    prices = [c.price for c in subs if c.kind is OrderKind.LIMIT]
    assert all(270 <= p <= 330 for p in prices)  # around the mid (300), within ~10 mean offsets


def test_noise_traders_are_deterministic_for_a_seed():
    a, _ = _noise_run(seed=5, hours=1)
    b, _ = _noise_run(seed=5, hours=1)
    c, _ = _noise_run(seed=6, hours=1)
    assert encoder.encode(a.commands) == encoder.encode(b.commands)
    assert encoder.encode(a.commands) != encoder.encode(c.commands)


def test_noise_traders_anchor_on_the_expected_settlement_when_asked():
    def median_limit_price(w: float) -> float:
        m = FakeMarket()
        m.expected[H27] = 330
        deep_book(m, H27, bid=299, ask=301, qty=10_000)  # mid 300
        spec = NoiseTraderSpec(anchor_weight=w, market_prob=0.0)
        for i in range(3):
            make(m, spec, account=10 + i, seed=i)
        m.run(HOUR)
        return float(np.median([c.price for c in m.commands if isinstance(c, SubmitOrder) and c.account != LP]))

    assert abs(median_limit_price(0.0) - 300) <= 3
    assert abs(median_limit_price(0.5) - 315) <= 3


def test_a_noise_traders_excitement_is_per_tick_of_mid_change_up_to_its_cap_in_ticks():
    """excitement x |mid change| in ticks, capped at excitement-max-ticks: a finer tick scales both, and the
    same move in dollars excites as much (design_perpetual: 0.5 and 5 ticks of $0.01 = 0.05 and 50 of $0.001)."""

    class _Mid:
        def __init__(self) -> None:
            self.mid = 0.0

        def quote(self, series):
            return self

    def boost(spec: NoiseTraderSpec, moves: list[float]) -> list[float]:
        agent, ctx = agent_for(spec)(spec), _Mid()  # (the compiled one too: `cfx_noise`)
        agent.targets = [H27]
        out = []
        for mid in moves:
            ctx.mid = mid
            out.append(agent.intensity(ctx))
        return out

    cents = NoiseTraderSpec(excitement=0.5)  # the default cap, 5 ticks
    assert boost(cents, [300.0, 302.0, 320.0]) == [1.0, 2.0, 3.5]  # 1 + 0.5 x 2; 1 + 0.5 x min(5, 18)
    mils = NoiseTraderSpec(excitement=0.05, excitement_max_ticks=50.0)
    assert boost(mils, [3000.0, 3020.0, 3200.0]) == pytest.approx([1.0, 2.0, 3.5])  # the same moves in $0.001


def test_squeezer_counts_the_push_by_what_fills_not_what_it_sends():
    from cfx.agents import SettlementSqueezerSpec

    m = FakeMarket()
    m.window = (10**15, 2 * 10**15)
    spec = SettlementSqueezerSpec(target_lots=0, push_lots=30, push_clip_lots=15, push_through_ticks=0)
    sq, ctx = make(m, spec)
    m.dte[H27] = 0
    m.now = m.window[0]
    m.place(SELL, 300, 20)  # only 20 lots offered
    for _ in range(3):
        ctx.wake()
    assert sq.pushed == 20 and m.positions[(1, H27)] == 20  # 15 + 5 filled; the rest of the second IOC cancelled
    m.place(SELL, 301, 50)
    for _ in range(3):
        ctx.wake()
    assert sq.pushed == 30 and m.positions[(1, H27)] == 30  # push-lots filled in all, then it stops


# ----------------------------------------------------------------------------- market-data triggers

from cfx.agents import Trigger  # noqa: E402
from cfx.agents.base import register  # noqa: E402


def q(bid, ask, last=None, bid_qty=1, ask_qty=1) -> Quote:
    return Quote(bid, bid_qty, ask, ask_qty, last)


def test_a_trigger_fires_only_on_the_changes_it_names():
    before = q(100, 102, 101)
    size_only = q(100, 102, 101, bid_qty=5)
    moved = q(101, 102, 101)
    assert Trigger(quote=True).fires(before, size_only, False)
    assert not Trigger(best=True).fires(before, size_only, False)
    assert Trigger(best=True).fires(before, moved, False)
    assert not Trigger(trade=True).fires(before, moved, False)
    assert Trigger(trade=True).fires(before, size_only, True)  # printed at an unchanged price
    assert Trigger(trade=True).fires(before, q(100, 102, 100), False)  # the last price changed
    assert not Trigger().fires(before, q(1, 2, 3), True)  # nothing named: never


def test_a_level_trigger_fires_once_per_crossing():
    up = Trigger(above=105)
    assert up.fires(q(100, 102), q(105, 106), False)  # the bid reached it
    assert up.fires(q(100, 102), q(100, 102, 105), False)  # a trade printed at it
    assert not up.fires(q(105, 106), q(106, 107), False)  # already there: no new crossing
    assert not up.fires(q(100, 102), q(104, 105), False)  # the ask at it is not a bid or a trade at it
    down = Trigger(below=99)  # e.g. its own bid at 99: touched when the ask comes down to it
    assert down.fires(q(97, 101), q(97, 99), False)
    assert not down.fires(q(97, 99), q(97, 98), False)
    assert not down.fires(q(97, 101), q(99, 100), False)


class TriggerProbeSpec(AgentSpec, tag="trigger_probe"):
    """A test agent: watches the front month with the trigger its ``watch`` names ("" = none)."""

    watch: str = ""


@register(TriggerProbeSpec)
class TriggerProbe(Agent):
    """Records each `on_market_data` call: (series, its view time, trades new since its last call)."""

    def __init__(self, spec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.calls: list[tuple[str, int, int]] = []
        self.since: dict[str, int] = {}
        self.front = ""

    def on_start(self, ctx) -> None:
        self.front = ctx.front()
        if self.spec.watch:
            ctx.watch(self.front, Trigger(**{self.spec.watch: True}))

    def on_market_data(self, ctx, series) -> None:
        view = ctx.now - ctx.p.md_ns
        new = len(ctx.trades(series, self.since.get(series, 0)))
        self.since[series] = view + 1
        self.calls.append((series, view, new))


def _triggered_run(tmp_path, run_writer, **probe):
    from cfx.sim import scenario as scn
    from cfx.sim.loop import Simulation
    from cfx.sim.run import build_fixings

    sc = scn.load(pathlib.Path(__file__).parent / "data" / "sim_small.toml")
    sc.agents.append(TriggerProbeSpec(**probe))
    sim = Simulation(sc, run_writer(tmp_path / "run"), fixings=build_fixings(sc))
    sim.run()
    return sim, next(p.agent for p in sim.participants if isinstance(p.agent, TriggerProbe))


def test_a_trade_trigger_calls_the_agent_only_for_its_series_after_a_trade(tmp_path, run_writer):
    sim, probe = _triggered_run(tmp_path, run_writer, watch="trade")
    assert probe.calls, "a trade trigger on a traded series fires"
    assert {s for s, _, _ in probe.calls} == {probe.front}
    assert all(new > 0 for s, view, new in probe.calls)  # each call follows a trade it can see
    assert len(probe.calls) <= sim.volume[probe.front]  # at most one call per lot traded there


def test_an_agent_without_triggers_is_not_called_and_a_subscriber_hears_every_series(tmp_path, run_writer, monkeypatch):
    sim, probe = _triggered_run(tmp_path, run_writer)  # neither subscribes nor watches
    assert probe.calls == []
    monkeypatch.setattr(TriggerProbe, "subscribes", True)
    sim, probe = _triggered_run(tmp_path / "again", run_writer)
    assert len({s for s, _, _ in probe.calls}) == len(sim.tapes) > 1  # every listed series, no filter
    assert any(new == 0 for _, _, new in probe.calls)  # quote changes without a trade call it too


def test_market_makers_hear_only_the_series_they_quote(tmp_path, run_writer):
    from cfx.agents.market_maker import MarketMaker

    sim, _ = _triggered_run(tmp_path, run_writer)
    for p in sim.participants:
        if isinstance(p.agent, MarketMaker):
            assert p.triggers is not None and set(p.triggers) == set(p.agent.quoting)


def _small_run_with(tmp_path, spec: AgentSpec):
    """sim_small with one more agent of ``spec``, run to its end on the engine
    CFX_ENGINE names, its tables written: (the simulation, that agent's
    participant, the events table's path)."""
    from cfx.sim import scenario as scn
    from cfx.sim.loop import Simulation
    from cfx.sim.outputs import RunWriter
    from cfx.sim.run import build_fixings

    sc = scn.load(pathlib.Path(__file__).parent / "data" / "sim_small.toml")
    sc.agents.append(spec)
    writer = RunWriter(tmp_path / "run")
    sim = Simulation(sc, writer, fixings=build_fixings(sc))
    sim.run()
    writer.close()
    added = next(p for p in sim.participants if p.spec is spec)
    return sim, added, writer.path("events")


class FarWakerSpec(AgentSpec, tag="far_waker"):
    """A test agent: asks for one wake-up ``delay`` ns away, far past int64."""

    delay: int = 10**30


@register(FarWakerSpec)
class FarWaker(Agent):
    woken = 0

    def on_start(self, ctx) -> None:
        ctx.wake_after(self.spec.delay)

    def on_wakeup(self, ctx) -> None:
        self.woken += 1


@pytest.mark.parametrize("engine", ["python", "auto"])
def test_a_wake_up_past_int64_never_fires_and_runs_on_either_schedule(tmp_path, monkeypatch, engine):
    """The compiled schedule holds int64 times only; a later wake-up is kept at NEVER_NS, not an OverflowError."""
    from cfx.units import NEVER_NS

    monkeypatch.setenv("CFX_ENGINE", engine)
    _, far, _ = _small_run_with(tmp_path, FarWakerSpec())
    assert far.agent.woken == 0 and far.wake_at == NEVER_NS


class WildOrdersSpec(AgentSpec, tag="wild_orders"):
    """A test agent: sends orders with prices and sizes past int64, once an hour."""


@register(WildOrdersSpec)
class WildOrders(Agent):
    def __init__(self, spec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.refused: list[str] = []

    def on_start(self, ctx) -> None:
        ctx.wake_after(HOUR)

    def on_wakeup(self, ctx) -> None:
        series = ctx.front()
        for price, qty in [(10**30, 1), (1, 10**30), (2**63, 2**63), (-5, 1)]:
            ctx.submit(series, Side.BUY, qty, price)
        ctx.modify(1, 10**30, 10**30)
        for call in (lambda: ctx.cancel(2**64), lambda: ctx.modify(-(2**63) - 1, 1, 1)):
            try:
                call()
            except ValueError as e:
                self.refused.append(str(e).split(":")[0])
        ctx.wake_after(HOUR)


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_orders_past_int64_are_rejected_and_ids_past_it_refused_at_the_call(tmp_path, monkeypatch, engine):
    """Prices and sizes past int64 get the venue's typed rejects (the run and its tables go on); an
    order id past it is no order's and cannot be stored, so cancel/modify refuse it as a ValueError."""
    from cfx import core

    if engine == "compiled" and not core.available():
        pytest.skip("the compiled core is not built")
    monkeypatch.setenv("CFX_ENGINE", engine)
    _, wild, events_path = _small_run_with(tmp_path, WildOrdersSpec())
    events = pq.read_table(events_path, columns=["type", "account", "reason"]).to_pylist()
    rejects = [e for e in events if e["type"] == "OrderRejected" and e["account"] == wild.account]
    reasons = {e["reason"] for e in rejects}
    assert {"bad_price", "quantity_too_large"} <= reasons
    assert wild.agent.refused and set(wild.agent.refused) == {"cancel", "modify"}


class LooseTypesSpec(AgentSpec, tag="loose_types"):
    """A test agent: sends, once, orders with numpy integers, a side as a string, and wrong types."""


@register(LooseTypesSpec)
class LooseTypes(Agent):
    def __init__(self, spec, index: int = 0) -> None:
        super().__init__(spec, index)
        self.taken: list[int] = []
        self.refused: dict[str, str] = {}

    def on_start(self, ctx) -> None:
        ctx.wake_after(HOUR)

    def on_wakeup(self, ctx) -> None:
        if self.taken:  # the next hour: the first order is resting by now
            if not self.refused.get("cancelled"):
                ctx.cancel(np.int64(self.taken[0]))
                self.refused["cancelled"] = "no"
            return
        ctx.wake_after(HOUR)
        series = ctx.front()
        price = (ctx.quote(series).bid or ctx.index_ticks(series)) - 10  # behind the touch: it rests
        self.taken.append(ctx.submit(series, Side.BUY, np.int64(1), np.int64(price)))
        self.taken.append(ctx.submit(series, "buy", 1, int(price)))
        calls = {
            "float price": lambda: ctx.submit(series, Side.BUY, 1, price + 0.5),
            "float qty": lambda: ctx.submit(series, Side.BUY, 1.5, int(price)),
            "bool qty": lambda: ctx.submit(series, Side.BUY, True, int(price)),
            "no side": lambda: ctx.submit(series, None, 1, int(price)),
            "bad tif": lambda: ctx.submit(series, Side.BUY, 1, int(price), tif="forever"),
            "str id": lambda: ctx.cancel("12"),
            "int series": lambda: ctx.submit(5, Side.BUY, 1, int(price)),
            "str post_only": lambda: ctx.submit(series, Side.BUY, 1, int(price), post_only="no"),
            "int cancel_all": lambda: ctx.cancel_all(7),
            "float modify": lambda: ctx.modify(self.taken[1], price + 0.5, 1),
        }
        for name, call in calls.items():
            try:
                call()
            except (TypeError, ValueError) as e:
                self.refused[name] = type(e).__name__


def test_an_agents_orders_take_numpy_integers_and_refuse_other_types_at_the_call(tmp_path):
    """numpy integers (msgspec cannot journal them) become ints and the orders go in; a float price
    or size, a series that is not a str or a post_only that is not a bool is a TypeError and a bad
    side, tif or order id a ValueError, raised before anything is journaled, so no fractional
    price reaches the book and no table is handed a value its column cannot hold."""
    _, loose, events_path = _small_run_with(tmp_path, LooseTypesSpec())
    loose = loose.agent
    assert loose.refused == {
        "float price": "TypeError",
        "float qty": "TypeError",
        "bool qty": "TypeError",
        "no side": "ValueError",
        "bad tif": "ValueError",
        "str id": "ValueError",
        "int series": "TypeError",
        "str post_only": "TypeError",
        "int cancel_all": "TypeError",
        "float modify": "TypeError",
        "cancelled": "no",  # the numpy-integer cancel went in
    }
    events = pq.read_table(events_path, columns=["type", "order_id", "side"]).to_pylist()
    accepted = {e["order_id"]: e["side"] for e in events if e["type"] == "OrderAccepted"}
    assert {oid: accepted.get(oid) for oid in loose.taken} == {oid: "buy" for oid in loose.taken}
    assert any(e["type"] == "OrderCancelled" and e["order_id"] == loose.taken[0] for e in events)
    journaled = [line for line in (events_path.parent / "journal").read_text().splitlines() if '"price"' in line]
    assert not any(".5" in line.split('"price":')[1].split(",")[0] for line in journaled)
