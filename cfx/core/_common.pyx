# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=False
# distutils: language = c++
"""What the compiled agents share, compiled (declared in _common.pxd, which
the market maker, cfx/core/_mmcore.pyx, the noise trader, _noisecore.pyx,
and the value trader, _valuecore.pyx, cimport): `cfx.agents.common`'s
`Alarms` and `OwnOrders` with typed fields and C-level methods, and
`math.floor`/`math.ceil` of a double with Python's errors.

They are the reference's layout in C: the same state for Python code (an
`Alarms`' ``at`` and ``earliest``, an `OwnOrders`' ``orders`` and
``changes``), the same wake-ups asked for and the same order records
kept, call for call (tests/test_mmcore.py holds `Alarms` to the
reference, and each agent's differential test both). The context is
called through cfx/core/_agentctx.pxd's ``ctx_*`` helpers; an order
event's fields are read at their slots (cfx/core/_slots.pxd), its exact
type known.
"""

import math

from cpython.object cimport PyObject_RichCompareBool, Py_EQ
from libc.math cimport ceil, floor, isfinite

from cfx.core._agentctx cimport AgentCtx, ctx_cancel, ctx_modify, ctx_now, ctx_wake_after, direct
from cfx.core._slots cimport at, slot

from cfx.types import OrderAccepted, OrderCancelled, OrderKind, OrderModified, OrderRejected, RejectReason, TimeInForce, Trade

cdef object LIMIT = OrderKind.LIMIT  # `Context.submit`'s defaults
cdef object GTC = TimeInForce.GTC
cdef object TRADE = Trade
cdef object CANCELLED = OrderCancelled
cdef object ACCEPTED = OrderAccepted
cdef object MODIFIED = OrderModified
cdef object REJECTED = OrderRejected
cdef object UNKNOWN = RejectReason.UNKNOWN_ORDER
cdef Py_ssize_t TR_QTY = slot(Trade, "qty"), TR_MAKER_ID = slot(Trade, "maker_id"), TR_TAKER_ID = slot(Trade, "taker_id")
cdef Py_ssize_t CX_ID = slot(OrderCancelled, "order_id"), AC_ID = slot(OrderAccepted, "order_id")
cdef Py_ssize_t MD_ID = slot(OrderModified, "order_id"), MD_PRICE = slot(OrderModified, "price")
cdef Py_ssize_t MD_QTY = slot(OrderModified, "qty")


cdef long long py_floor(double x) except? -1:
    """math.floor: an int, or the error Python raises."""
    if not isfinite(x):
        math.floor(x)
    return <long long>floor(x)


cdef long long py_ceil(double x) except? -1:
    if not isfinite(x):
        math.ceil(x)
    return <long long>ceil(x)


cdef inline bint same(object a, object b) except -1:
    return PyObject_RichCompareBool(a, b, Py_EQ)


cdef inline bint same_key(object k, object name) except -1:
    """A dict's key match, ``k is name or k == name``, two str compared in C."""
    if k is name:
        return True
    if type(k) is not str or type(name) is not str:
        return same(k, name)
    if <str>k == <str>name:
        return True
    return False


# ----------------------------------------------------------------------------- deadlines


cdef class Alarms:
    """`cfx.agents.common.Alarms`, compiled: its deadlines in two small arrays
    (fields in _common.pxd), the names a list in the order the reference's
    dict keeps its keys (a name re-armed keeps its place, one that fired and
    is armed again goes last), so `due` returns them in the same order. For
    Python code the same ``at`` (a dict, a copy: arm and due are its only
    writers) and ``earliest``."""

    def __init__(self):
        self.names = []
        self._has_earliest = False
        self._earliest = 0

    @property
    def at(self):
        return {self.names[i]: self.times[i] for i in range(len(self.names))}

    @property
    def earliest(self):
        return self._earliest if self._has_earliest else None

    def __reduce__(self):
        return type(self), (), (self.at, self.earliest)

    def __setstate__(self, state):
        at, earliest = state
        self.names = list(at)
        self.times.clear()
        for t in at.values():
            self.times.push_back(t)
        self._has_earliest = earliest is not None
        self._earliest = earliest if earliest is not None else 0

    cdef Py_ssize_t find(self, object name) except -2:
        """Where ``name`` is armed, -1 if it is not (the dict's key match: identity, then ==)."""
        cdef list names = self.names
        cdef Py_ssize_t i
        for i in range(len(names)):
            if same_key(names[i], name):
                return i
        return -1

    def pending(self, name):
        return self.find(name) >= 0

    cdef bint pending_c(self, object name) except -1:
        return self.find(name) >= 0

    def arm(self, ctx, name, at):
        self.arm_c(ctx, name, at)

    cdef int arm_c(self, ctx, object name, long long at) except -1:
        cdef long long now = ctx_now(ctx)
        cdef Py_ssize_t i = self.find(name), j
        cdef bint moved
        if at <= now:
            at = now + 1
        if i < 0:  # a new key goes last
            self.names.append(name)
            self.times.push_back(at)
            i = len(self.names) - 1
        if self._has_earliest and at > self._earliest:  # an earlier deadline stands
            moved = self.times[i] == self._earliest  # (a new name's own deadline is at here: not it)
            self.times[i] = at
            if moved:  # min(pending.values())
                for j in range(<Py_ssize_t>self.times.size()):
                    if self.times[j] < at:
                        at = self.times[j]
                self._earliest = at
            return 0
        self.times[i] = at
        self._earliest = at
        self._has_earliest = True
        ctx_wake_after(ctx, at - now)
        return 0

    def due(self, ctx):
        return self.due_c(ctx)

    cdef list due_c(self, ctx):
        cdef long long now = ctx_now(ctx)
        cdef list names = self.names
        cdef list fired = []
        cdef long long earliest = 0, t
        cdef bint has = False
        cdef Py_ssize_t i, kept = 0, n = len(names)
        for i in range(n):
            t = self.times[i]
            if t <= now:
                fired.append(names[i])
                continue
            if not has or t < earliest:
                earliest = t
                has = True
            if kept != i:  # the rest close up, in order
                names[kept] = names[i]
                self.times[kept] = t
            kept += 1
        if kept != n:
            self.times.resize(kept)
            while len(names) > kept:
                names.pop()
        self._earliest = earliest
        self._has_earliest = has
        if has:
            ctx_wake_after(ctx, earliest - now)
        return fired


# ----------------------------------------------------------------------------- own orders


cdef class OwnOrders:
    """`cfx.agents.common.OwnOrders`, compiled (the same ``orders`` and ``changes``; fields in _common.pxd)."""

    def __init__(self):
        self.orders = {}
        self.changes = 0

    def __len__(self):
        return len(self.orders)

    def __contains__(self, order_id):
        return order_id in self.orders

    def submit(self, ctx, series, side, qty, price=0, **kw):
        oid = ctx.submit(series, side, qty, price, **kw)
        self.orders[oid] = [series, side, price, qty, False]
        self.changes += 1
        return oid

    cdef object submit_c(self, ctx, series, side, long long qty, long long price):
        if direct(ctx):
            oid = (<AgentCtx>ctx).submit_c(series, side, qty, price, LIMIT, GTC, False)
        else:
            oid = ctx.submit(series, side, qty, price)
        self.orders[oid] = [series, side, price, qty, False]
        self.changes += 1
        return oid

    def modify(self, ctx, order_id, price, qty):
        self.modify_c(ctx, order_id, price, qty)

    cdef int modify_c(self, ctx, order_id, long long price, long long qty) except -1:
        cdef list o = self.orders.get(order_id)
        if o is not None:
            o[2] = price
            o[3] = qty
            self.changes += 1
        ctx_modify(ctx, order_id, price, qty)
        return 0

    def cancel(self, ctx, order_id):
        ctx_cancel(ctx, order_id)

    def open_qty(self, series, side):
        return sum(o[3] for o in self.orders.values() if o[0] == series and o[1] is side)

    def ids(self, series=None):
        if series is None:
            return list(self.orders)
        return [i for i, o in self.orders.items() if o[0] == series]

    def on_event(self, ev):
        self.on_event_c(ev)

    cdef int on_event_c(self, ev) except -1:
        """`on_event`, the fields of the events it handles read at their slots."""
        t = type(ev)
        cdef dict orders = self.orders
        cdef list o
        if t is TRADE:
            self.filled(at(ev, TR_MAKER_ID), at(ev, TR_QTY))
            self.filled(at(ev, TR_TAKER_ID), at(ev, TR_QTY))
        elif t is CANCELLED:
            if orders.pop(at(ev, CX_ID), None) is not None:
                self.changes += 1
        elif t is ACCEPTED:
            o = orders.get(at(ev, AC_ID))
            if o is not None:
                o[4] = True
        elif t is MODIFIED:
            o = orders.get(at(ev, MD_ID))
            if o is not None and (o[2] != at(ev, MD_PRICE) or o[3] != at(ev, MD_QTY)):
                self.changes += 1
                o[2] = at(ev, MD_PRICE)
                o[3] = at(ev, MD_QTY)
        elif t is REJECTED:
            o = orders.get(ev.order_id)
            if o is not None:
                self.changes += 1
                if not o[4] or ev.reason is UNKNOWN:
                    del orders[ev.order_id]
                else:
                    o[2] = 0
        return 0

    cdef int filled(self, oid, long long qty) except -1:
        """A trade's ``qty`` off order ``oid`` if it is ours (gone when nothing is left)."""
        cdef list o = self.orders.get(oid)
        if o is not None:
            self.changes += 1
            o[3] = <long long>o[3] - qty
            if <long long>o[3] <= 0:
                del self.orders[oid]
        return 0
