# What other compiled agents share of the noise trader's core (cfx/core/_valuecore.pyx cimports it):
# `BitGen` (the uniform draws straight off a numpy bit generator), the compiled `Executor`, and the
# helpers mirroring cfx.agents.common's `in_continuous`, `activity` and `reference_price`.

from libc.math cimport fabs

from cfx.core._agentctx cimport AgentCtx, cfx_bitgen, direct


cdef inline long long trunc_ns(double x) except? -1:
    """int(x) of a delay or a length in ns (`fits` keeps them inside int64)."""
    if not (fabs(x) < 4611686018427387904.0):  # 2**62
        raise OverflowError(f"{x!r} ns is beyond the compiled agents' int64 times")
    return <long long>x


cdef inline bint in_continuous(ctx, long long now) except -1:
    """`cfx.agents.common.in_continuous`."""
    if direct(ctx):
        open_ns, close_ns = (<AgentCtx>ctx).session_c()
        return open_ns <= now < close_ns
    session = getattr(ctx, "session", None)
    if session is None:
        return True
    open_ns, close_ns = session()
    return open_ns <= now < close_ns


cdef double activity(ctx, long long now, double amplitude, double decay_s) except? -1.0
cdef bint reference_price(ctx, series, q, double *out) except -1


cdef class BitGen:
    cdef object rng, owner
    cdef cfx_bitgen *bg

    @staticmethod
    cdef BitGen of(object rng)

    cdef inline double draw(self) except? -1.0:
        if self.bg is not NULL:
            return self.bg.next_double(self.bg.state)
        return self.rng.random()

    cdef int six(self, double *u) except -1


cdef class Executor:
    cdef public object series, side, style, limit_ticks, _tape_since
    cdef public long long qty, start_ns, end_ns, max_child_lots, filled, slice_ns, pov_interval_ns, grace_ns
    cdef public long long market_volume, crossed, sent
    cdef public double pov_rate, urgency
    cdef public bint done
    cdef public dict children

    cdef int init_c(
        self, series, side, long long qty, long long start_ns, long long end_ns, style, double pov_rate,
        long long max_child_lots, limit_ticks, double urgency, long long pov_interval_ns,
    ) except -1
    cdef long long target_c(self, long long now, bint pov) except? -1
    cdef long long on_wakeup_c(self, ctx, BitGen rng) except -2
    cdef int on_order_event_c(self, event) except -1
    cdef int child_c(self, ctx, long long qty, price, bint passive) except -1
