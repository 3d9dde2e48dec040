"""The compiled market maker (cfx/core/_mmcore.pyx, `CompiledMarketMaker`)
against the Python reference (`MarketMaker`), side by side.

A hypothesis property drives a pair of them through the same random
script (quotes, the public tape, index anchors, positions, fills and other
order events, market data, wake-ups, day ends, withdrawals, pickling) on
two identical scripted contexts and fails on any difference in what they
send (commands, wake-up requests, arguments and their types) or in their
state (every field, floats to the bit). Whole runs of shipped scenarios
check the run hash; `test_agents` and `test_agent_view` run their market
maker tests on both (tests/conftest.py, ``cfx_maker``)."""

from __future__ import annotations

import datetime as dt
import json
import pickle
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_agents import H27, J27, _random_maker_session, _WakeLog

from cfx import core
from cfx.agents import DayReport, MarketMaker, MarketMakerSpec, Quote
from cfx.agents.base import NO_INDICATIVE, SECOND, Indicative, PublicTrade
from cfx.agents.compiled import COMPILED, FITS, agent_class
from cfx.errors import InputError
from cfx.types import (
    CancelReason,
    OrderAccepted,
    OrderCancelled,
    OrderKind,
    OrderModified,
    OrderRejected,
    RejectReason,
    Side,
    TimeInForce,
    Trade,
)

needs_mm = pytest.mark.skipif(not core.agents_available(), reason="the compiled market maker is not built")
BUY, SELL = Side.BUY, Side.SELL
PERP = "HOP-PERP"
SERIES = (H27, J27, PERP)
ACCOUNT = 1


def compiled_type() -> type:
    return COMPILED[MarketMaker]


# ----------------------------------------------------------------------------- a scripted context


class ScriptCtx:
    """A `Context` whose market is what the script sets; it records what the agent sends."""

    def __init__(self, series: tuple[str, ...], seed: int, batch_ns: int) -> None:
        self.series = list(series)
        self.now = 0
        self.account = ACCOUNT
        self.rng = np.random.default_rng(seed)
        self.quotes = {s: Quote(None, 0, None, 0, None) for s in series}
        self.tape: dict[str, list] = {s: [] for s in series}
        self.expected: dict[str, int | None] = {}
        self.index: dict[str, int | None] = {}
        self.settle: dict[str, int | None] = {}
        self.positions: dict[str, int] = defaultdict(int)
        self.funding: int | None = None
        self.dte = 5
        self.window = (0, 0)
        self.rule = "index"
        self.batch_ns = batch_ns
        self.indicatives: dict[str, Indicative] = {}
        self.sent: list = []
        self.wakes: list[int] = []
        self._oid = 1000

    def _send(self, *what) -> None:
        self.sent.append(tuple((type(w).__name__, w) for w in what))

    def listed(self):
        return list(self.series)

    def front(self, basket=None):
        return self.series[0]

    def perpetual(self, basket=None):
        return PERP if PERP in self.series else None

    def quote(self, series):
        return self.quotes[series]

    def trades(self, series, since_ns):
        return [t for t in self.tape[series] if since_ns <= t.ts <= self.now]

    def expected_settlement(self, series):
        return self.expected.get(series)

    def index_ticks(self, series):
        return self.index.get(series)

    def settlement(self, series):
        return self.settle.get(series)

    def position(self, series):
        return self.positions[series]

    def funding_rate(self, series):
        return self.funding

    def days_to_expiry(self, series):
        return self.dte

    def settlement_window(self):
        return self.window

    def final_settlement_rule(self):
        return self.rule

    def batch_interval_ns(self):
        return self.batch_ns

    def indicative(self, series):
        return self.indicatives.get(series, NO_INDICATIVE)

    def submit(self, series, side, qty, price=0, **kw):
        self._oid += 1
        self._send("submit", series, side, qty, price, sorted(kw.items()))
        return self._oid

    def modify(self, order_id, price, qty):
        self._send("modify", order_id, price, qty)

    def cancel(self, order_id):
        self._send("cancel", order_id)

    def cancel_all(self, series=None):
        self._send("cancel_all", series)

    def wake_after(self, delay_ns):
        self._send("wake_after", delay_ns)
        self.wakes.append(self.now + delay_ns)

    def watch(self, series, trigger):
        self._send("watch", series, trigger)

    def unwatch(self, series):
        self._send("unwatch", series)


class Print:
    """A public trade that is not a `PublicTrade` (the compiled maker reads it by name)."""

    def __init__(self, t: PublicTrade) -> None:
        self.ts, self.price, self.qty, self.aggressor = t.ts, t.price, t.qty, t.aggressor


class LookalikeCtx(ScriptCtx):
    """`ScriptCtx` whose tape holds `Print` s and whose anchors are floats."""

    prints = 0  # `Print` s handed out

    def trades(self, series, since_ns):
        out = [Print(t) for t in super().trades(series, since_ns)]
        LookalikeCtx.prints += len(out)
        return out

    def expected_settlement(self, series):
        v = super().expected_settlement(series)
        return None if v is None else v + 0.25

    def index_ticks(self, series):
        v = super().index_ticks(series)
        return None if v is None else float(v)


# ----------------------------------------------------------------------------- state, to the bit

QUOTING = (
    "bids asks var prev last_requote res fair tape_since anchor news markouts seen catchup target "
    "expected flow_mean window perpetual heard bid_plan ask_plan"
).split()
MAKER = (
    "withdrawn _pending_withdraw _index_seen timer_wakeups spread_ticks adverse_ticks _alpha _anchor_k "
    "_perp_anchor_k _news_k _markout_ns _flow_keep _flow_per_lot _batch_ns _batch_lead _batch_armed imbalance_orders"
).split()


def bits(x):
    """``x`` with every number as its float's hex (an int and the equal float alike, -0.0 not 0.0)
    and every dict as its items in order."""
    if x is None or isinstance(x, (bool, str, Side)):
        return x
    if isinstance(x, (int, float)):
        return float(x).hex()
    if isinstance(x, (list, tuple)):
        return [bits(v) for v in x]
    if isinstance(x, dict):
        return [(bits(k), bits(v)) for k, v in x.items()]
    return x  # a Quote (compared by its fields)


def state(mm) -> dict:
    out = {f: bits(getattr(mm, f)) for f in MAKER}
    out["orders"] = bits(mm.own.orders)
    out["changes"] = mm.own.changes
    out["alarms"] = bits(mm.alarms.at)
    out["earliest"] = bits(mm.alarms.earliest)
    out["pnl"] = bits(mm.pnl_parts())
    out["quoting"] = [(s, {f: bits(getattr(q, f)) for f in QUOTING}) for s, q in mm.quoting.items()]
    out["half_spread"] = [bits(mm.half_spread(s)) for s in mm.quoting]
    return out


# ----------------------------------------------------------------------------- the script

prices = st.integers(1, 400)
maybe_price = st.none() | prices
series_i = st.integers(0, len(SERIES) - 1)

steps = st.one_of(
    st.tuples(st.just("time"), st.integers(0, 3 * SECOND)),
    st.tuples(
        st.just("quote"), series_i, maybe_price, st.integers(0, 30), maybe_price, st.integers(0, 30), maybe_price
    ),
    st.tuples(st.just("touch"), series_i, st.integers(-3, 3), st.integers(-3, 3)),
    st.tuples(st.just("anchor"), series_i, maybe_price, maybe_price, maybe_price),
    st.tuples(st.just("position"), series_i, st.integers(-40, 40)),
    st.tuples(st.just("tape"), series_i, prices, st.integers(1, 12), st.booleans()),
    st.tuples(st.just("fill"), st.integers(0, 9), st.integers(1, 12), st.booleans()),
    st.tuples(
        st.just("event"),
        st.sampled_from(["accepted", "cancelled", "modified", "reject", "reject_unknown"]),
        st.integers(0, 9),
        st.integers(-2, 2),
        st.integers(-3, 3),
    ),
    st.tuples(st.just("reject_no_series"), st.integers(0, 9)),
    st.tuples(st.just("md"), series_i),
    st.tuples(st.just("wake"), st.booleans()),
    st.tuples(st.just("index")),
    st.tuples(st.just("day_end")),
    st.tuples(st.just("withdraw"), st.booleans()),
    st.tuples(st.just("resume"), st.booleans()),
    st.tuples(st.just("funding"), st.none() | st.integers(-200_000, 200_000)),
    st.tuples(st.just("last_day"), st.sampled_from(["index", "vwap_window"]), st.integers(0, 30), st.integers(1, 60)),
    st.tuples(st.just("indicative"), series_i, maybe_price, st.integers(0, 40), st.sampled_from([BUY, SELL, None])),
    st.tuples(st.just("pickle")),
    st.tuples(st.just("quiet"), st.integers(1, 120)),  # wake-ups on an unchanged market: the fair value settles
)

specs = st.fixed_dictionaries(
    {
        "series": st.sampled_from([("front",), ("front", "front+1"), ("front", "perp"), ("perp",)]),
        "levels": st.integers(1, 3),
        "level_spacing_ticks": st.integers(1, 3),
        "quote_lots": st.integers(1, 8),
        "half_spread_ticks": st.floats(0.1, 4.0),
        "vol_mult": st.sampled_from([0.0, 1.0, 2.5]),
        "vol_halflife": st.floats(1.0, 50.0),
        "news_mult": st.sampled_from([0.0, 0.5, 1.3]),
        "news_halflife_s": st.floats(1.0, 300.0),
        "index_weight": st.floats(0.0, 1.0),
        "anchor_halflife_s": st.sampled_from([0.0, 5.0, 120.0]),
        "flow_ticks_per_lot": st.sampled_from([0.0, 0.02, 0.3]),
        "flow_memory": st.sampled_from([0.0, 3.0, 20.0]),
        "flow_discount": st.floats(0.0, 1.0),
        "skew_ticks_per_lot": st.sampled_from([0.0, 0.05, 0.4]),
        "min_edge_ticks": st.sampled_from([0.0, 0.25, 1.5]),
        "max_position": st.integers(0, 30),
        "requote_interval_ns": st.integers(SECOND // 100, 5 * SECOND),
        "min_requote_ns": st.integers(0, 2 * SECOND),
        "markout_s": st.floats(0.5, 30.0),
        "settlement_aware": st.booleans(),
        "funding_intervals": st.sampled_from([0.0, 1.0, 3.5]),
        "perpetual_anchor_halflife_s": st.sampled_from([0.0, 30.0]),
        "batch_flow_ticks_per_lot": st.sampled_from([0.0, 0.1]),
        "batch_imbalance_share": st.sampled_from([0.0, 0.5]),
    }
)


def _order(mm, k: int):
    """The k-th (mod count) of the maker's live orders, or None."""
    ids = list(mm.own.orders)
    return (ids[k % len(ids)], mm.own.orders[ids[k % len(ids)]]) if ids else None


def _events(mm, ctx: ScriptCtx, step: tuple) -> list:
    """The order events a step delivers (built from the reference maker's orders)."""
    kind = step[0]
    got = _order(mm, step[2] if kind == "event" else step[1])
    if got is None:
        return []
    oid, (series, side, price, qty, _acked) = got
    now = ctx.now
    if kind == "fill":
        lots, ours = step[2], step[3]
        aggressor = SELL if side is BUY else BUY
        return [Trade(0, 0, now, series, price, lots, oid, 5, ACCOUNT if ours else 7, 9, aggressor)]
    if kind == "reject_no_series":
        return [OrderRejected(0, 0, now, oid, ACCOUNT, RejectReason.UNKNOWN_ORDER, None)]
    what, dp, dq = step[1], step[3], step[4]
    if what == "accepted":
        return [OrderAccepted(0, 0, now, series, oid, ACCOUNT, side, OrderKind.LIMIT, TimeInForce.GTC, price, qty)]
    if what == "cancelled":
        return [OrderCancelled(0, 0, now, series, oid, ACCOUNT, qty, CancelReason.USER)]
    if what == "modified":
        return [OrderModified(0, 0, now, series, oid, ACCOUNT, max(1, price + dp), max(1, qty + dq), False)]
    reason = RejectReason.UNKNOWN_ORDER if what == "reject_unknown" else RejectReason.MARKET_CLOSED
    return [OrderRejected(0, 0, now, oid, ACCOUNT, reason, series)]


def _apply_market(ctx: ScriptCtx, step: tuple) -> None:
    """What a step changes in the (scripted) market."""
    kind = step[0]
    if kind == "time":
        ctx.now += step[1]
    elif kind == "quote":
        _, i, bid, bq, ask, aq, last = step
        ctx.quotes[SERIES[i]] = Quote(bid, bq if bid is not None else 0, ask, aq if ask is not None else 0, last)
    elif kind == "touch":  # one tick more or less on each side: the same kind of book, moved
        q = ctx.quotes[SERIES[step[1]]]
        bid = None if q.bid is None else max(1, q.bid + step[2])
        ctx.quotes[SERIES[step[1]]] = Quote(bid, q.bid_qty + abs(step[3]), q.ask, q.ask_qty, q.last)
    elif kind == "anchor":
        s = SERIES[step[1]]
        ctx.expected[s], ctx.index[s], ctx.settle[s] = step[2], step[3], step[4]
    elif kind == "position":
        ctx.positions[SERIES[step[1]]] += step[2]
    elif kind == "tape":
        s = SERIES[step[1]]
        ctx.tape[s].append(PublicTrade(ctx.now, step[2], step[3], BUY if step[4] else SELL))
    elif kind == "funding":
        ctx.funding = step[1]
    elif kind == "last_day":
        ctx.dte, ctx.rule = 0, step[1]
        ctx.window = (ctx.now - step[2] * SECOND, ctx.now + step[3] * SECOND)
    elif kind == "indicative":
        _, i, price, imb, side = step
        ind = Indicative(price, 0 if price is None else 10, imb, side if imb else None, ctx.now)
        ctx.indicatives[SERIES[i]] = ind


def _hook(mm, ctx: ScriptCtx, step: tuple, events: list) -> None:
    kind = step[0]
    for ev in events:
        if type(ev) is Trade and ev.maker_account == ACCOUNT:
            ctx.positions[ev.series] += ev.qty if ev.aggressor is SELL else -ev.qty
        mm.on_order_event(ctx, ev)
    if kind in ("quote", "touch", "md", "tape", "indicative"):
        mm.on_market_data(ctx, SERIES[step[1]])
    elif kind == "wake":
        if step[1] and ctx.wakes:  # at the time it asked for (if later than now)
            ctx.now = max(ctx.now, min(ctx.wakes))
            ctx.wakes.remove(min(ctx.wakes))
        mm.on_wakeup(ctx)
    elif kind == "quiet":
        for _ in range(step[1]):
            ctx.now += SECOND // 2
            mm.on_wakeup(ctx)
    elif kind == "index":
        mm.on_index(ctx, "HOPPER")
    elif kind == "day_end":
        mm.on_day_end(ctx, DayReport(dt.date(2027, 1, 4), {}, {}, 0))
    elif kind == "withdraw":
        mm.withdraw(ctx if step[1] else None)
    elif kind == "resume":
        mm.resume(ctx if step[1] else None)


def run_pair(params: dict, script: list, batch: bool, seed: int = 5, ctx_type: type = ScriptCtx) -> int:
    """Both makers through ``script``; assert they agree after every step. Returns the commands sent."""
    spec = MarketMakerSpec(**params, max_half_spread_ticks=max(params["half_spread_ticks"], 6.0))
    makers = [MarketMaker(spec), compiled_type()(spec)]
    ctxs = [ctx_type(SERIES, seed, 2 * SECOND if batch else 0) for _ in makers]
    for mm, ctx in zip(makers, ctxs):
        for s in SERIES:
            ctx.expected[s] = ctx.index[s] = 300
        mm.on_start(ctx)
    assert ctxs[0].sent == ctxs[1].sent
    assert state(makers[0]) == state(makers[1])
    for n, step in enumerate(script):
        if step[0] == "pickle":
            makers = [pickle.loads(pickle.dumps(mm, protocol=pickle.HIGHEST_PROTOCOL)) for mm in makers]
            assert type(makers[1]) is compiled_type()
        events = _events(makers[0], ctxs[0], step) if step[0] in ("fill", "event", "reject_no_series") else []
        errors = []
        for mm, ctx in zip(makers, ctxs):
            _apply_market(ctx, step)
            try:
                _hook(mm, ctx, step, events)
                errors.append(None)
            except (ArithmeticError, ValueError, TypeError) as e:
                errors.append(type(e))
        assert errors[0] == errors[1], (n, step, errors)
        assert ctxs[0].sent == ctxs[1].sent, (n, step)
        assert state(makers[0]) == state(makers[1]), (n, step)
        if errors[0] is not None:
            break
    return len(ctxs[0].sent)


@needs_mm
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(specs, st.lists(steps, min_size=20, max_size=120), st.booleans())
def test_the_compiled_maker_sends_and_keeps_what_the_reference_does(params, script, batch):
    run_pair(params, script, batch)


@needs_mm
@pytest.mark.parametrize("ctx_type", [ScriptCtx, LookalikeCtx])
def test_a_long_random_script_keeps_them_alike_and_does_work(ctx_type):
    """One long seeded script (hypothesis's examples are short): many commands, all alike.
    The compiled maker reads a `PublicTrade`'s fields at their slots and an int anchor
    without a float: with `LookalikeCtx` (a tape of `Print` s, float anchors) the other way."""
    LookalikeCtx.prints = 0
    rng = np.random.default_rng(11)
    kinds = ["time", "quote", "touch", "anchor", "position", "tape", "fill", "event", "md", "wake", "index"]
    script = []
    for _ in range(3000):
        k = kinds[int(rng.integers(len(kinds)))]
        i = int(rng.integers(2))
        if k == "time":
            script.append(("time", int(rng.integers(0, SECOND))))
        elif k == "quote":
            b = int(rng.integers(290, 310))
            script.append(
                ("quote", i, b, int(rng.integers(1, 20)), b + int(rng.integers(1, 4)), int(rng.integers(1, 20)), b)
            )
        elif k == "touch":
            script.append(("touch", i, int(rng.integers(-2, 3)), int(rng.integers(-2, 3))))
        elif k == "anchor":
            a = 300 + int(rng.integers(-5, 6))
            script.append(("anchor", i, a, a, None))
        elif k == "position":
            script.append(("position", i, int(rng.integers(-5, 6))))
        elif k == "tape":
            script.append(("tape", i, int(rng.integers(290, 310)), int(rng.integers(1, 6)), bool(rng.random() < 0.5)))
        elif k == "fill":
            script.append(("fill", int(rng.integers(10)), int(rng.integers(1, 6)), True))
        elif k == "event":
            what = ["accepted", "cancelled", "modified", "reject", "reject_unknown"][int(rng.integers(5))]
            script.append(("event", what, int(rng.integers(10)), int(rng.integers(-1, 2)), int(rng.integers(-2, 3))))
        elif k == "md":
            script.append(("md", i))
        elif k == "wake":
            script.append(("wake", True))
        else:
            script.append(("index",))
        if len(script) % 500 == 0:
            script.append(("quiet", 40))
        if len(script) % 1000 == 0:
            script.append(("pickle",))
    params = {
        "series": ("front", "front+1"),
        "levels": 2,
        "level_spacing_ticks": 1,
        "quote_lots": 5,
        "half_spread_ticks": 0.5,
        "vol_mult": 1.0,
        "vol_halflife": 20.0,
        "news_mult": 0.5,
        "news_halflife_s": 5.0,
        "index_weight": 0.5,
        "anchor_halflife_s": 5.0,
        "flow_ticks_per_lot": 0.02,
        "flow_memory": 20.0,
        "flow_discount": 0.5,
        "skew_ticks_per_lot": 0.05,
        "min_edge_ticks": 0.25,
        "max_position": 25,
        "requote_interval_ns": SECOND,
        "min_requote_ns": SECOND // 4,
        "markout_s": 5.0,
        "settlement_aware": False,
        "funding_intervals": 1.0,
        "perpetual_anchor_halflife_s": 30.0,
        "batch_flow_ticks_per_lot": 0.0,
        "batch_imbalance_share": 0.5,
    }
    assert run_pair(params, script, batch=False, ctx_type=ctx_type) > 1000
    assert ctx_type is ScriptCtx or LookalikeCtx.prints > 100


@needs_mm
@pytest.mark.parametrize("seed", range(4))
def test_the_compiled_alarms_keep_what_the_reference_keeps(seed):
    """`_common.Alarms` (its deadlines in arrays) against `cfx.agents.common.Alarms`
    (a dict): the same names due in the same order, the same wake-ups asked for,
    the same ``at`` (in order) and ``earliest`` after every call, across
    deadlines re-armed earlier and later (the earliest too), ties, deadlines
    already past, several due at once, names fired and armed again (they go
    last), a name equal to an armed one but another object (a str, or any
    other key), and a pickle."""
    from cfx.agents.common import Alarms
    from cfx.core._common import Alarms as CompiledAlarms

    rng = np.random.default_rng(seed)
    ref, comp = Alarms(), CompiledAlarms()
    ref_ctx, comp_ctx = _WakeLog(), _WakeLog()
    names = ["timer", "catchup", "exec", "batch:HOP-H27", "ex:HOP-J27", ("ex", 7)]
    fired = 0
    for step in range(3000):
        r = rng.random()
        if r < 0.3:
            ref_ctx.now = comp_ctx.now = ref_ctx.now + int(rng.integers(0, 40))
            due = ref.due(ref_ctx)
            assert comp.due(comp_ctx) == due
            fired += len(due)
        elif r < 0.33:
            comp = pickle.loads(pickle.dumps(comp))
        else:
            name = names[int(rng.integers(len(names)))]
            name = "".join(name) if type(name) is str else tuple(list(name))  # (equal, another object)
            at = ref_ctx.now + int(rng.integers(-5, 60))
            ref.arm(ref_ctx, name, at)
            comp.arm(comp_ctx, name, at)
        assert list(comp.at.items()) == list(ref.at.items())
        assert comp.earliest == ref.earliest
        assert comp.pending("timer") == ref.pending("timer")
    assert comp_ctx.wakes == ref_ctx.wakes and len(ref_ctx.wakes) > 300 and fired > 300


# ----------------------------------------------------------------------------- on a real engine, and whole runs


@needs_mm
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_on_a_real_engine_it_sends_what_the_reference_sends(seed, monkeypatch):
    """`test_agents`'s random maker session (flow, fills, index moves, wake-ups on a real engine):
    the same commands and fair values with either maker."""
    import test_agents

    py = _random_maker_session(False, seed)
    monkeypatch.setattr(test_agents, "MarketMaker", compiled_type())
    comp = _random_maker_session(False, seed)
    assert len(py[0]) > 300 and comp == py


@needs_mm
@pytest.mark.parametrize("scenario, days", [("baseline", 2), ("design_perpetual", 1), ("design_batch", 1)])
def test_a_run_has_the_same_hash_and_journal_with_either_maker(scenario, days, tmp_path, monkeypatch):
    """`cfx run` with ``CFX_ENGINE=python`` (the reference maker) and auto (the compiled one, when
    built): the same run hash and journal; timing.json says which maker ran."""
    from cfx.cli import main

    runs = {}
    for engine in ("python", "auto"):
        monkeypatch.setenv("CFX_ENGINE", engine)
        out = tmp_path / engine
        args = ["run", scenario, "--set", f"calendar.days={days}", "--out", str(out), "--quiet", "--no-report"]
        assert main(args) == 0
        runs[engine] = out
    timing = {e: json.loads((runs[e] / "timing.json").read_text()) for e in runs}
    assert timing["python"]["agents_engine"] == "python" and timing["auto"]["agents_engine"] == core.AUTO_AGENTS
    py, comp = (json.loads((runs[e] / "summary.json").read_text()) for e in ("python", "auto"))
    assert py["trades"] > 100 and comp["run_hash"] == py["run_hash"]
    assert comp["pnl_parts_usd_by_agent_type"] == py["pnl_parts_usd_by_agent_type"]
    assert (runs["auto"] / "journal").read_bytes() == (runs["python"] / "journal").read_bytes()


# ----------------------------------------------------------------------------- the choice


def test_choose_agents(monkeypatch):
    """CFX_ENGINE picks the market makers as it picks the books: python is pure Python,
    compiled without the build is an InputError, auto falls back."""
    monkeypatch.delenv("CFX_NO_EXTENSION", raising=False)
    monkeypatch.setenv("CFX_ENGINE", "python")
    assert core.choose_agents() == "python"
    monkeypatch.setenv("CFX_ENGINE", "fast")
    with pytest.raises(InputError, match="CFX_ENGINE"):
        core.choose_agents()
    monkeypatch.setenv("CFX_ENGINE", "auto")
    assert core.choose_agents() == (core.AUTO_AGENTS if core.agents_available() else "python")
    monkeypatch.setenv("CFX_NO_EXTENSION", "1")
    assert not core.agents_available() and core.choose_agents() == "python"
    monkeypatch.setenv("CFX_ENGINE", "compiled")
    with pytest.raises(InputError, match="compiled market maker is not built"):
        core.choose_agents()


def test_agent_class_compiles_only_the_plain_maker_with_a_spec_that_fits():
    spec = MarketMakerSpec()
    assert agent_class(spec, "python") is MarketMaker
    if not COMPILED:  # not built: nothing to compile it with
        assert agent_class(spec, "compiled") is MarketMaker
        return
    comp = agent_class(spec, "compiled")
    assert comp is compiled_type() and issubclass(comp, MarketMaker)
    assert agent_class(MarketMakerSpec(min_requote_ns=FITS), "compiled") is MarketMaker  # beyond int64's comfort
    assert agent_class(MarketMakerSpec(requote_interval_ns=FITS * 4), "compiled") is MarketMaker
