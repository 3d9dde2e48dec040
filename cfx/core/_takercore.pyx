# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=False
# distutils: language = c++
"""The takers' wake-ups, compiled: `cfx.agents.momentum_trader.MomentumTrader`
and `cfx.agents.basis_trader.BasisTrader` (what cfx.agents.compiled puts
together as `CompiledMomentumTrader` and `CompiledBasisTrader`).

Both wake at Poisson times, look at each series they trade and take with
an IOC order when their signal says so. The Python classes stay the rule;
this is their ``on_wakeup`` (and the momentum trader's ``_next``) over
typed copies of their specs, with the promises of cfx/core/_noisecore.pyx:
the same operations on the same values in the same order (setup.py builds
it with ``-ffp-contract=off``), int64 times (`cfx.agents.compiled.fits`),
the uniform draws read off the agent's numpy bit generator (`BitGen`), so
every command and every run hash is the same (tests/test_takercore.py runs
each beside its reference). A trend's prices and sums stay Python ints (a
price may be up to 2**63 - 1 ticks), and its signal Python's true
division of them, so no sum overflows and none is rounded. The context is called
as the other compiled agents call it (cfx/core/_agentctx.pxd); what is not
hot (the start, the day end, the series roll, `signal`) stays Python.
"""

from libc.math cimport log1p

from cfx.core._agentctx cimport (
    AgentCtx,
    ctx_expected_settlement,
    ctx_now,
    ctx_position,
    ctx_quote,
    ctx_rng,
    ctx_wake_after,
    direct,
)
from cfx.core._common cimport OwnOrders
from cfx.core._noisecore cimport BitGen, activity, in_continuous, trunc_ns

from collections import deque

from cfx.agents.common import funding_carry
from cfx.products import is_perpetual_symbol
from cfx.types import OrderKind, Side, TimeInForce

cdef object BUY = Side.BUY
cdef object SELL = Side.SELL
cdef object LIMIT = OrderKind.LIMIT
cdef object IOC = TimeInForce.IOC


cdef long long exp_delay(double u, long long mean_ns) except? -1:
    """`cfx.agents.common.exp_delay`: int(-log1p(-u) * mean_ns) + 1."""
    return trunc_ns(-log1p(-u) * <double>mean_ns) + 1


cdef object take(OwnOrders own, ctx, series, side, long long qty, price):
    """``own.submit(ctx, series, side, qty, price, tif=IOC)``."""
    if direct(ctx):
        oid = (<AgentCtx>ctx).submit_c(series, side, qty, price, LIMIT, IOC, False)
    else:
        oid = ctx.submit(series, side, qty, price, tif=IOC)
    own.orders[oid] = [series, side, price, qty, False]
    own.changes += 1
    return oid


cdef object busy_series(OwnOrders own):
    """The series with an order of its own in flight (the reference's ``busy``)."""
    if not own.orders:
        return ()
    return {o[0] for o in own.orders.values()}


cdef class Trend:
    """`cfx.agents.momentum_trader._Trend`: the last prices seen, in two
    windows, and their sums."""

    cdef public object short, long, short_sum, long_sum

    def __init__(self):
        self.short = deque()
        self.long = deque()
        self.short_sum = 0
        self.long_sum = 0


cdef class MomentumCore:
    """`MomentumTrader.on_wakeup` and `_next` over typed fields. A base of
    `CompiledMomentumTrader` (with `MomentumTrader` after it: its
    ``__init__`` fills the fields the reference has, `load` the typed copy
    of the spec)."""

    cdef public OwnOrders own
    cdef public list targets
    cdef public dict trends
    # the spec, typed (`load`)
    cdef long long mean_interval_ns, short_window, long_window, clip_lots, max_position
    cdef double threshold_ticks, activity_amplitude, activity_decay_s

    def load(self, spec):
        """Copy the spec's numbers the hot path reads into typed fields."""
        self.mean_interval_ns = spec.mean_interval_ns
        self.short_window = spec.short_window
        self.long_window = spec.long_window
        self.clip_lots = spec.clip_lots
        self.max_position = spec.max_position
        self.threshold_ticks = spec.threshold_ticks
        self.activity_amplitude = spec.activity_amplitude
        self.activity_decay_s = spec.activity_decay_s

    def _next(self, ctx):
        self.next_c(ctx, ctx_now(ctx))

    cdef int next_c(self, ctx, long long now) except -1:
        """`MomentumTrader._next`: the next Poisson wake-up."""
        cdef double mean = <double>self.mean_interval_ns
        if self.activity_amplitude != 0.0:  # (else `activity` is 1.0, and x / 1.0 is x)
            mean = mean / activity(ctx, now, self.activity_amplitude, self.activity_decay_s)
        ctx_wake_after(ctx, exp_delay(BitGen.of(ctx_rng(ctx)).draw(), trunc_ns(mean)))
        return 0

    def on_wakeup(self, ctx):
        cdef long long now = ctx_now(ctx)
        cdef long long target, need
        cdef double diff
        cdef Trend t
        self.next_c(ctx, now)
        if not in_continuous(ctx, now):
            return
        busy = busy_series(self.own)
        for series in self.targets:
            q = ctx_quote(ctx, series)
            last = q.last
            if last is None:
                continue
            t = self.trends[series]
            t.short.append(last)
            t.short_sum += last
            if len(t.short) > self.short_window:
                t.short_sum -= t.short.popleft()
            t.long.append(last)
            t.long_sum += last
            if len(t.long) > self.long_window:
                t.long_sum -= t.long.popleft()
            if len(t.long) < self.long_window or series in busy:  # `signal` is None, or an order in flight
                continue
            diff = t.short_sum / len(t.short) - t.long_sum / len(t.long)  # (Python's int / int)
            if diff > self.threshold_ticks:
                target = self.max_position
            elif diff < -self.threshold_ticks:
                target = -self.max_position
            else:
                continue
            need = target - <long long>ctx_position(ctx, series)
            if need > 0 and q.ask is not None:
                take(self.own, ctx, series, BUY, need if need < self.clip_lots else self.clip_lots, q.ask)
            elif need < 0 and q.bid is not None:
                take(self.own, ctx, series, SELL, -need if -need < self.clip_lots else self.clip_lots, q.bid)


cdef class BasisCore:
    """`BasisTrader.on_wakeup` over typed fields; a base of
    `CompiledBasisTrader` as `MomentumCore` is of the momentum trader."""

    cdef public OwnOrders own
    cdef public list targets
    cdef long long mean_interval_ns, clip_lots, max_position
    cdef double threshold_ticks, perpetual_threshold_ticks, cost_ticks
    cdef object funding_intervals

    def load(self, spec):
        """Copy the spec's numbers the hot path reads into typed fields."""
        self.mean_interval_ns = spec.mean_interval_ns
        self.clip_lots = spec.clip_lots
        self.max_position = spec.max_position
        self.threshold_ticks = spec.threshold_ticks
        self.perpetual_threshold_ticks = spec.perpetual_threshold_ticks
        self.cost_ticks = spec.cost_ticks
        self.funding_intervals = spec.funding_intervals

    def on_wakeup(self, ctx):
        cdef long long now = ctx_now(ctx)
        cdef long long pos, qty
        cdef double threshold
        ctx_wake_after(ctx, exp_delay(BitGen.of(ctx_rng(ctx)).draw(), self.mean_interval_ns))
        if not in_continuous(ctx, now):
            return
        busy = busy_series(self.own)
        for series in self.targets:
            if series in busy:
                continue
            fair = ctx_expected_settlement(ctx, series)
            if fair is None:
                continue
            if is_perpetual_symbol(series):  # the funding it earns or pays
                fair = fair - funding_carry(ctx, series, fair, self.funding_intervals)
                threshold = self.perpetual_threshold_ticks
            else:  # (the reference's ``fair -= 0.0``: a float from here on, as there)
                fair = fair - 0.0
                threshold = self.threshold_ticks
            q = ctx_quote(ctx, series)
            bid, ask = q.bid, q.ask
            pos = ctx_position(ctx, series)
            if ask is not None and <double>(fair - ask - self.cost_ticks) > threshold:
                qty = self.clip_lots if self.clip_lots < self.max_position - pos else self.max_position - pos
                if qty > 0:
                    take(self.own, ctx, series, BUY, qty, ask)
            elif bid is not None and <double>(bid - fair - self.cost_ticks) > threshold:
                qty = self.clip_lots if self.clip_lots < self.max_position + pos else self.max_position + pos
                if qty > 0:
                    take(self.own, ctx, series, SELL, qty, bid)
