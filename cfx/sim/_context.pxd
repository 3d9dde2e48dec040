"""The compiled agent context's C-level fields and methods: its clock for
the compiled loop (`cfx.sim._fanout`) to set without a Python call, its
C interface for the compiled agents (`cfx.core._agentctx.AgentCtx`, its
base), and `Waker`, the base of the compiled fan-out, whose `wake` it
calls from C."""

from cpython.dict cimport PyDict_GetItemWithError, PyDict_SetItem
from cpython.object cimport PyObject

from cfx.core._agentctx cimport AgentCtx


cdef class Waker:
    cdef int wake_c(self, object p, object when) except -1


cdef bint plain_attrs(object o, tuple names) except -1


cdef extern from "Python.h":
    PyObject** _PyObject_GetDictPtr(PyObject* obj)  # (where ``o.__dict__`` is: the checkpoint replaces it, each day)


cdef inline object attr(bint plain, object o, str name):
    """``o.name``: its entry in ``o``'s __dict__ when ``plain`` (`plain_attrs`:
    where a read by name would find it) and it is there; else read by name."""
    cdef PyObject** d
    cdef PyObject* v
    if plain:
        d = _PyObject_GetDictPtr(<PyObject*>o)
        if d is not NULL and d[0] is not NULL and type(<object>d[0]) is dict:
            v = PyDict_GetItemWithError(<object>d[0], name)
            if v is not NULL:
                return <object>v
    return getattr(o, name)


cdef inline int put_attr(bint plain, object o, str name, object value) except -1:
    """``o.name = value``: into ``o``'s __dict__ when ``plain`` (`plain_attrs`:
    where a store by name would put it); else stored by name."""
    cdef PyObject** d
    if plain:
        d = _PyObject_GetDictPtr(<PyObject*>o)
        if d is not NULL and d[0] is not NULL and type(<object>d[0]) is dict:
            return PyDict_SetItem(<object>d[0], name, value)
    setattr(o, name, value)
    return 0


cdef class Context(AgentCtx):
    cdef bint plain  # its simulation's class a plain `Simulation`'s where `next_order_id` and `arrive` are written out
    cdef bint plain_sim  # `attach`ed, the simulation's `READ` read (and ``_order_id`` written) in its __dict__
    cdef object tapes, trade_tapes, live_series, settlements, information, schedule  # the simulation's (`KEPT`), or None
    cdef bint plain_info  # `attach`ed, the `IndexPublisher`'s `PUBLISHED` read in its __dict__

    cdef int bind(self) except -1
    cdef int attach(self) except -1
    cdef object arrival(self)
    cdef object next_order_id(self)
    cdef int arrive(self, object ts, object cmd) except -1


cdef inline object sim_now(Context ctx):
    """``ctx.sim.now``: at its entry in the simulation's __dict__ when `attach`ed there."""
    return attr(ctx.plain_sim, ctx.sim, "now")
