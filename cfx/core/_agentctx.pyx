# cython: language_level=3
# distutils: language = c++
"""The agents' context, its C interface: `AgentCtx`, the base of the
compiled loop's context (`cfx.sim._context.Context`, whose Python methods
are its C methods), so that the compiled agents (cfx/core/_mmcore.pyx,
_noisecore.pyx, _valuecore.pyx) call what they call per message (the
clock, a quote, the tape, a position, an order, a wake-up) as C methods
rather than by name. It lives here, in the lowest layer, because the
agents may cimport nothing from cfx/sim.

The agents reach it through the ``ctx_*`` helpers of _agentctx.pxd: a C
call when the context is `direct` (its class says its C methods are what
its Python methods do: `Context` itself, not a Python subclass of it,
whose overrides are called by name), else the Python call they always
made, with the same arguments (the Python `AgentContext`, a test's
double). tests/test_context.py drives the same agent through a
`Context` and through a plain object that forwards to it: the same
calls, answers and run.

The methods here are the fallback of a class that does not write its own
(each calls the Python method of its name); a class that overrides them
sets ``direct``.

`uniform` is ``rng.random()`` of an agent's generator: read straight off
its numpy bit generator (``Generator.random`` is one ``next_double``, as
cfx/core/_noisecore.pyx's `BitGen` reads it), else called.
"""

from cpython.pycapsule cimport PyCapsule_GetPointer

from numpy.random import Generator

cdef object GENERATOR = Generator


cdef double uniform(object rng) except? -1.0:
    """``rng.random()``: for a numpy `Generator`, its bit generator's
    ``next_double`` (what ``Generator.random`` calls, under a lock only
    other threads would need); else the call."""
    cdef cfx_bitgen* bg
    if type(rng) is GENERATOR:
        bg = <cfx_bitgen*>PyCapsule_GetPointer(rng.bit_generator.capsule, "BitGenerator")
        return bg.next_double(bg.state)
    return rng.random()


cdef class AgentCtx:
    """The C methods an agent calls; ``sim``, ``p``, ``account``, ``rng``
    and ``now`` as `cfx.sim.participant.AgentContext` has them."""

    cdef object quote_c(self, object series):
        return self.quote(series)

    cdef object trades_c(self, object series, object since_ns):
        return self.trades(series, since_ns)

    cdef object position_c(self, object series):
        return self.position(series)

    cdef object expected_settlement_c(self, object series):
        return self.expected_settlement(series)

    cdef object value_signal_c(self, object series, object noise_ticks):
        return self.value_signal(series, noise_ticks)

    cdef object settlement_c(self, object series):
        return self.settlement(series)

    cdef object session_c(self):
        return self.session()

    cdef object submit_c(self, object series, object side, object qty, object price, object kind, object tif,
                         object post_only):
        return self.submit(series, side, qty, price, kind=kind, tif=tif, post_only=post_only)

    cdef int cancel_c(self, object order_id) except -1:
        self.cancel(order_id)
        return 0

    cdef int modify_c(self, object order_id, object price, object qty) except -1:
        self.modify(order_id, price, qty)
        return 0

    cdef int wake_after_c(self, object delay_ns) except -1:
        self.wake_after(delay_ns)
        return 0
