# The compiled helpers other compiled agents share (cfx/core/_noisecore.pyx cimports them):
# `cfx.agents.common.Alarms` and `OwnOrders` with typed fields and C-level methods, and
# `math.floor`/`math.ceil` of a double with Python's errors.

cdef long long py_floor(double x) except? -1
cdef long long py_ceil(double x) except? -1

cdef class Alarms:
    cdef public dict at
    cdef long long _earliest
    cdef bint _has_earliest

    cdef int arm_c(self, ctx, object name, long long at) except -1
    cdef list due_c(self, ctx)


cdef class OwnOrders:
    cdef public dict orders
    cdef public long long changes

    cdef object submit_c(self, ctx, series, side, long long qty, long long price)
    cdef int modify_c(self, ctx, order_id, long long price, long long qty) except -1
    cdef int on_event_c(self, ev) except -1
