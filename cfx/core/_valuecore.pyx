# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=False
# distutils: language = c++
"""The value trader's hot path, compiled: `cfx.agents.value_trader.ValueTrader`'s
wake-ups, views and order events with typed state and C arithmetic (what
cfx.agents.compiled puts together as `CompiledValueTrader`).

The Python class stays the rule; this is its layout in C, as
cfx/core/_noisecore.pyx is the noise trader's, and it keeps the same
promises (see that module's docstring): the same operations on the same
values in the same order (setup.py builds it with ``-ffp-contract=off``),
int64 times (`cfx.agents.compiled.fits`), the uniform draws read off the
agent's numpy bit generator (`BitGen`), so every command it sends and
every run hash is the same (tests/test_valuecore.py runs the two side by
side). An observation or a market price the reference holds as an int
is a double here, as Python converts it when it mixes it with a float;
a belief keeps the reference's value as it is (its first observation
unchanged, an int if the context gave one).

`BitGen`, the compiled `Executor` that works its position changes and the
`in_continuous`/`activity`/`reference_price` helpers are _noisecore's
(cimported from _noisecore.pxd); `Alarms` and `OwnOrders` are _common's.
The context (its private signal, quotes, positions, submit, cancel,
wake-ups) is called as the noise trader calls it (cfx/core/_agentctx.pxd:
from C on the compiled loop's context, by name on any other); what is
not hot (the start, the day end, the series roll) stays Python.
Everything pickles, as the noise trader does.
"""


from libc.math cimport fabs, isinf, log1p

from cfx.core._agentctx cimport AgentCtx, ctx_expected_settlement, ctx_now, ctx_position, ctx_quote, ctx_rng, direct
from cfx.core._common cimport Alarms, OwnOrders
from cfx.core._noisecore cimport BitGen, Executor, activity, in_continuous, reference_price, trunc_ns

from cfx.types import Side

cdef object BUY = Side.BUY
cdef object SELL = Side.SELL
cdef str VIEW = "view"
cdef str TWAP = "twap"
cdef long long SECOND = 1_000_000_000
cdef long long MINUTE = 60 * SECOND


cdef class ValueCore:
    """The hooks that run per wake-up and order event (`on_wakeup`,
    `on_order_event`) and what they call (`_next`, `_view`, `_work`), over
    typed fields. A base of `CompiledValueTrader` (with `ValueTrader` after
    it: its ``__init__`` fills the fields the reference has, `load` the
    typed copy of the spec, and its other methods run as they are)."""

    cdef public OwnOrders own
    cdef public list targets
    cdef public Alarms alarms
    cdef public dict executors, beliefs
    cdef public long long views
    cdef public double _keep
    # the spec, typed (`load`)
    cdef long long mean_interval_ns, max_position, min_trade_lots, child_lots
    cdef double noise_ticks, threshold_ticks, lots_per_tick, horizon_s, urgency
    cdef double activity_amplitude, activity_decay_s

    def load(self, spec):
        """Copy the spec's numbers the hot path reads into typed fields."""
        self.mean_interval_ns = spec.mean_interval_ns
        self.max_position = spec.max_position
        self.min_trade_lots = spec.min_trade_lots
        self.child_lots = spec.child_lots
        self.noise_ticks = spec.noise_ticks
        self.threshold_ticks = spec.threshold_ticks
        self.lots_per_tick = spec.lots_per_tick
        self.horizon_s = spec.horizon_s
        self.urgency = spec.urgency
        self.activity_amplitude = spec.activity_amplitude
        self.activity_decay_s = spec.activity_decay_s

    # ------------------------------------------------------------------ hooks

    def on_wakeup(self, ctx):
        cdef BitGen rng = BitGen.of(ctx_rng(ctx))
        cdef long long now
        fired = self.alarms.due_c(ctx)
        if VIEW in fired:
            now = ctx_now(ctx)
            self.next_c(ctx, now, rng)
            if in_continuous(ctx, now):
                for series in self.targets:
                    self.view_c(ctx, series, rng)
        for series, ex in list(self.executors.items()):
            if (<Executor?>ex).done:
                del self.executors[series]
                continue
            if f"ex:{series}" in fired:
                self.work_c(ctx, series, ex, rng)

    def on_order_event(self, ctx, event):
        cdef Executor ex
        self.own.on_event_c(event)
        for v in self.executors.values():
            ex = v
            ex.on_order_event_c(event)

    # ------------------------------------------------------------------ what the reference's other methods call

    def _next(self, ctx):
        self.next_c(ctx, ctx_now(ctx), BitGen.of(ctx_rng(ctx)))

    def _view(self, ctx, series):
        self.view_c(ctx, series, BitGen.of(ctx_rng(ctx)))

    def _work(self, ctx, series, Executor ex):
        self.work_c(ctx, series, ex, BitGen.of(ctx_rng(ctx)))

    # ------------------------------------------------------------------ the compiled path

    cdef int next_c(self, ctx, long long now, BitGen rng) except -1:
        """`ValueTrader._next`: the next view, a Poisson wake-up (`exp_delay`)."""
        cdef double mean = <double>self.mean_interval_ns
        cdef long long mean_ns
        cdef double u
        if self.activity_amplitude != 0.0:  # (else `activity` is 1.0, and x / 1.0 is x)
            mean = mean / activity(ctx, now, self.activity_amplitude, self.activity_decay_s)
        mean_ns = trunc_ns(mean)
        u = rng.draw()
        self.alarms.arm_c(ctx, VIEW, now + trunc_ns(-log1p(-u) * <double>mean_ns) + 1)
        return 0

    cdef object signal_c(self, ctx, series):
        """`ValueTrader.signal`."""
        if direct(ctx):
            v = (<AgentCtx>ctx).value_signal_c(series, self.noise_ticks)
            if v is not None:
                return v
        else:
            observe = getattr(ctx, "value_signal", None)
            if observe is not None:
                v = observe(series, self.noise_ticks)
                if v is not None:
                    return v
        v = ctx_expected_settlement(ctx, series)
        return None if v is None else v + self.noise_ticks * float(ctx_rng(ctx).standard_normal())

    cdef int view_c(self, ctx, series, BitGen rng) except -1:
        """`ValueTrader._view`: a new observation, the belief, and the position change it calls for."""
        cdef double mkt = 0.0, o, v, edge, x
        cdef long long size, target, pos, working = 0, need, now
        cdef bint live
        cdef Executor ex = None
        obs = self.signal_c(ctx, series)
        self.views += 1
        q = ctx_quote(ctx, series)
        if not reference_price(ctx, series, q, &mkt) or obs is None:
            return 0
        o = obs
        old = self.beliefs.get(series)
        if old is None:
            self.beliefs[series] = obs
            v = o
        else:
            v = self._keep * <double>old + (1.0 - self._keep) * o
            self.beliefs[series] = v
        edge = v - mkt
        if fabs(edge) <= self.threshold_ticks:
            return 0
        x = self.lots_per_tick * (fabs(edge) - self.threshold_ticks)
        if x != x:
            raise ValueError("cannot convert float NaN to integer")
        if isinf(x):
            raise OverflowError("cannot convert float infinity to integer")
        size = self.max_position if x >= <double>self.max_position else <long long>x
        target = size if edge > 0.0 else -size
        v_ex = self.executors.get(series)
        pos = ctx_position(ctx, series)
        if v_ex is not None:
            ex = v_ex
        live = ex is not None and not ex.done
        if live:
            working = ex.qty - ex.filled if ex.side is BUY else ex.filled - ex.qty
        need = target - pos - working
        if (need if need >= 0 else -need) < self.min_trade_lots:
            return 0
        side = BUY if need > 0 else SELL
        if live:
            if ex.side is side:
                return 0  # already working toward it
            ex.cancel(ctx)
        now = ctx_now(ctx)
        ex = Executor.__new__(Executor)
        ex.init_c(series, side, need if need >= 0 else -need, now, now + trunc_ns(self.horizon_s * 1e9), TWAP, 0.1,
                  self.child_lots, None, self.urgency, 30 * SECOND)
        self.executors[series] = ex
        self.work_c(ctx, series, ex, rng)
        return 0

    cdef int work_c(self, ctx, series, Executor ex, BitGen rng) except -1:
        """`ValueTrader._work`: let the executor send what is due; drop it once done."""
        cdef long long delay
        if not in_continuous(ctx, ctx_now(ctx)):
            self.alarms.arm_c(ctx, f"ex:{series}", <long long>ctx_now(ctx) + MINUTE)
            return 0
        delay = ex.on_wakeup_c(ctx, rng)
        if delay < 0:
            self.executors.pop(series, None)
        else:
            self.alarms.arm_c(ctx, f"ex:{series}", <long long>ctx_now(ctx) + delay)
        return 0
