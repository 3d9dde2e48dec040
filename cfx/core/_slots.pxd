"""An object's attribute read at its slot, for the compiled modules of
cfx/sim, cfx/clearing and the compiled agents of cfx/core (here, in the
lowest layer, so all may cimport it): what CPython's own specialised
attribute read does, the offset taken once from the class's member
descriptor (a __slots__ entry, or a msgspec Struct field), and used only
on an object whose exact class that is (the caller checks it). Inline
functions only: nothing to import at run time, so no extension module of
its own."""

from cpython.object cimport Py_TYPE, PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF

cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset

    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member

    PyTypeObject PyMemberDescr_Type

cdef enum:
    OBJECT_SLOT = 16  # T_OBJECT_EX (structmember.h): a __slots__ entry's, or a msgspec field's


cdef inline Py_ssize_t slot(object cls, str name) except -1:
    """Where ``cls``'s instances hold attribute ``name`` (a __slots__ entry or
    a msgspec Struct field, defined by ``cls`` itself): the offset its member
    descriptor reads at."""
    d = cls.__dict__.get(name)
    if Py_TYPE(d) is not &PyMemberDescr_Type or (<PyMemberDescrObject*>d).d_member.type != OBJECT_SLOT:
        raise TypeError(f"{cls.__name__}.{name} is not an object slot")
    return (<PyMemberDescrObject*>d).d_member.offset


cdef inline PyObject* at_or_null(object o, Py_ssize_t offset) noexcept:
    """``o``'s attribute at ``offset`` (borrowed), NULL when unset: ``o`` is of
    the class the offset is of (checked by the caller)."""
    return (<PyObject**>((<char*><PyObject*>o) + offset))[0]


cdef extern from *:
    """
    /* an unset slot's error, out of line: what `at` inlines is the read alone */
    static __attribute__((noinline, cold, unused)) PyObject* cfx_slot_unset(PyObject* o) {
        PyErr_Format(PyExc_AttributeError, "%s object has an attribute unset", Py_TYPE(o)->tp_name);
        return NULL;
    }
    """
    object cfx_slot_unset(object o)  # raises AttributeError


cdef inline object at(object o, Py_ssize_t offset):
    """``o``'s attribute at ``offset``: ``o`` is of the class the offset is of (checked by the caller)."""
    cdef PyObject* v = at_or_null(o, offset)
    if v is NULL:
        return cfx_slot_unset(o)
    return <object>v


cdef inline void put(object o, Py_ssize_t offset, object v):
    """``o``'s attribute at ``offset`` set to ``v`` (``o`` of the class the
    offset is of, checked by the caller): what the member descriptor's own
    set does, the new value held before the old one is let go."""
    cdef PyObject** field = <PyObject**>((<char*><PyObject*>o) + offset)
    cdef PyObject* old = field[0]
    Py_INCREF(v)
    field[0] = <PyObject*>v
    Py_XDECREF(old)
