"""The compiled agent context's C-level fields, for the compiled loop
(`cfx.sim._fanout`) to set its clock without a Python call."""


cdef class Context:
    cdef public object sim, p, account, rng, now
    cdef bint plain  # its simulation's class a plain `Simulation`'s where `next_order_id` and `arrive` are written out

    cdef int bind(self) except -1
    cdef object arrival(self)
    cdef object next_order_id(self)
    cdef int arrive(self, object ts, object cmd) except -1
