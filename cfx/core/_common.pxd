# What the compiled agents share (cfx/core/_common.pyx; _mmcore, _noisecore, _valuecore and _takercore cimport it):
# `cfx.agents.common.Alarms` and `OwnOrders` with typed fields and C-level methods, and
# `math.floor`/`math.ceil` of a double with Python's errors.

from libcpp.vector cimport vector

cdef long long py_floor(double x) except? -1
cdef long long py_ceil(double x) except? -1

cdef class Alarms:
    cdef list names  # armed, in the order `cfx.agents.common.Alarms`' dict keeps them
    cdef vector[long long] times  # their deadlines
    cdef long long _earliest
    cdef bint _has_earliest

    cdef Py_ssize_t find(self, object name) except -2
    cdef bint pending_c(self, object name) except -1
    cdef int arm_c(self, ctx, object name, long long at) except -1
    cdef list due_c(self, ctx)


cdef class OwnOrders:
    cdef public dict orders
    cdef public long long changes

    cdef object submit_c(self, ctx, series, side, long long qty, long long price)
    cdef int modify_c(self, ctx, order_id, long long price, long long qty) except -1
    cdef int on_event_c(self, ev) except -1
    cdef int filled(self, oid, long long qty) except -1
