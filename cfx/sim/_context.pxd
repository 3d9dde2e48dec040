"""The compiled agent context's C-level fields and methods: its clock for
the compiled loop (`cfx.sim._fanout`) to set without a Python call, its
C interface for the compiled agents (`cfx.core._agentctx.AgentCtx`, its
base), and `Waker`, the base of the compiled fan-out, whose `wake` it
calls from C."""

from cfx.core._agentctx cimport AgentCtx


cdef class Waker:
    cdef int wake_c(self, object p, object when) except -1


cdef class Context(AgentCtx):
    cdef bint plain  # its simulation's class a plain `Simulation`'s where `next_order_id` and `arrive` are written out

    cdef int bind(self) except -1
    cdef object arrival(self)
    cdef object next_order_id(self)
    cdef int arrive(self, object ts, object cmd) except -1
