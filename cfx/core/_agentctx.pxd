# The agents' context, its C interface (cfx/core/_agentctx.pyx): what the compiled agents
# (cfx/core/_mmcore.pyx, _noisecore.pyx, _valuecore.pyx) call per message, as C methods.
# `AgentCtx` is the base of the compiled loop's context (`cfx.sim._context.Context`, a
# higher layer: cfx/core cimports nothing from cfx/sim); the `ctx_*` helpers below make a
# call a C call when the context is such a one (`direct`), else the Python call the agents
# always made, with the same arguments (the Python `AgentContext`, a test's double).

cdef extern from *:
    """
    /* numpy's bitgen_t (numpy/random/bitgen.h), the struct behind a
       BitGenerator's "BitGenerator" capsule: its layout is numpy's
       documented C interface for extensions (numpy.random, "Extending"). */
    typedef struct cfx_bitgen {
        void *state;
        uint64_t (*next_uint64)(void *st);
        uint32_t (*next_uint32)(void *st);
        double (*next_double)(void *st);
        uint64_t (*next_raw)(void *st);
    } cfx_bitgen;
    """
    ctypedef struct cfx_bitgen:
        void *state
        double (*next_double)(void *st) noexcept nogil


cdef double uniform(object rng) except? -1.0


cdef class AgentCtx:
    cdef public object sim, p, account, rng, now
    cdef readonly bint direct  # its C methods are what its Python methods do: set by a class whose Python methods call them

    cdef object quote_c(self, object series)
    cdef object trades_c(self, object series, object since_ns)
    cdef object position_c(self, object series)
    cdef object expected_settlement_c(self, object series)
    cdef object value_signal_c(self, object series, object noise_ticks)
    cdef object settlement_c(self, object series)
    cdef object session_c(self)
    cdef object submit_c(self, object series, object side, object qty, object price, object kind, object tif,
                         object post_only)
    cdef int cancel_c(self, object order_id) except -1
    cdef int modify_c(self, object order_id, object price, object qty) except -1
    cdef int wake_after_c(self, object delay_ns) except -1


cdef inline bint direct(object ctx) noexcept:
    """Is ``ctx`` a context whose C methods the agents may call for its Python ones?"""
    return isinstance(ctx, AgentCtx) and (<AgentCtx>ctx).direct


cdef inline object ctx_now(object ctx):
    return (<AgentCtx>ctx).now if direct(ctx) else ctx.now


cdef inline object ctx_rng(object ctx):
    return (<AgentCtx>ctx).rng if direct(ctx) else ctx.rng


cdef inline double ctx_random(object ctx) except? -1.0:
    """``ctx.rng.random()`` (`uniform`)."""
    return uniform(ctx_rng(ctx))


cdef inline object ctx_account(object ctx):
    return (<AgentCtx>ctx).account if direct(ctx) else ctx.account


cdef inline object ctx_quote(object ctx, object series):
    return (<AgentCtx>ctx).quote_c(series) if direct(ctx) else ctx.quote(series)


cdef inline object ctx_trades(object ctx, object series, object since_ns):
    return (<AgentCtx>ctx).trades_c(series, since_ns) if direct(ctx) else ctx.trades(series, since_ns)


cdef inline object ctx_position(object ctx, object series):
    return (<AgentCtx>ctx).position_c(series) if direct(ctx) else ctx.position(series)


cdef inline object ctx_expected_settlement(object ctx, object series):
    return (<AgentCtx>ctx).expected_settlement_c(series) if direct(ctx) else ctx.expected_settlement(series)


cdef inline object ctx_settlement(object ctx, object series):
    return (<AgentCtx>ctx).settlement_c(series) if direct(ctx) else ctx.settlement(series)


cdef inline int ctx_cancel(object ctx, object order_id) except -1:
    if direct(ctx):
        return (<AgentCtx>ctx).cancel_c(order_id)
    ctx.cancel(order_id)
    return 0


cdef inline int ctx_modify(object ctx, object order_id, object price, object qty) except -1:
    if direct(ctx):
        return (<AgentCtx>ctx).modify_c(order_id, price, qty)
    ctx.modify(order_id, price, qty)
    return 0


cdef inline int ctx_wake_after(object ctx, object delay_ns) except -1:
    if direct(ctx):
        return (<AgentCtx>ctx).wake_after_c(delay_ns)
    ctx.wake_after(delay_ns)
    return 0
