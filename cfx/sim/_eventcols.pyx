# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# distutils: language = c++
"""The events table's columns for a batch of events in one compiled pass:
what `cfx.sim.outputs._EventLayouts._filled` does, the readable reference,
giving the same arrays (tests/test_outputs.py holds the two to that, and
both to the columns cfx built before issue 19).

The reference groups the batch by type and reads each group's fields
with `msgspec.structs.astuple`; this walks the events in order instead,
and for each reads the fields its exact type's `Shape` says at their
slots (`cfx/sim/_slots.pxd`), writing the int64 columns, their validity
and the string columns' codes (`cfx.tables.Words`, the reference's own,
so codes are shared with it) straight into the arrays; an event's other
fields go into its ``details`` Struct (the one the reference made for
its type), in the events' order, as the reference gives them. A shape
is built, on a type's first sight, from the reference's own `_Layout` of
it, so which field goes where is said once.

What it does not read it leaves to the reference: `fill` returns None
(and the caller runs the reference over the whole batch, which gives its
own result or error) at an event whose type is not a Struct with its
fields in its own slots, or whose int column holds anything but an int
that fits in 64 bits or None.
"""

from cpython.object cimport PyObject
from cpython.dict cimport PyDict_GetItemWithError
from cpython.exc cimport PyErr_Clear, PyErr_ExceptionMatches, PyErr_Occurred
from cpython.long cimport PyLong_Check
from libc.stdint cimport int32_t, int64_t, uint8_t
from libcpp.vector cimport vector

from cfx.sim._slots cimport at_or_null, slot

import numpy as np

cdef extern from "Python.h":
    # an int's value, -1 with an error set when it does not fit (checked here, not raised)
    long long as_int64 "PyLong_AsLongLong"(PyObject* o) noexcept
    object PyObject_Vectorcall(object callable, PyObject** args, size_t nargsf, PyObject* kwnames)

cdef enum:
    MAX_COLUMNS = 16


cdef class Shape:
    """How events of one exact type fill the columns: the slot of each
    column's field (-1: the type has none), the code of its name, and its
    other fields' slots and ``details`` Struct (None: it has none)."""

    cdef object tp
    cdef Py_ssize_t[MAX_COLUMNS] offset
    cdef int32_t kind
    cdef object details
    cdef vector[Py_ssize_t] extra


cdef class EventColumns:
    """`_EventLayouts._filled`, compiled: ``layout_of`` gives the reference's
    `_Layout` of a type, ``words`` is the reference's
    `tables.Words`, ``columns`` the typed columns in order (the event
    fields they read) and ``strings`` the ones that are codes into
    ``words``, the others int64 with a validity mask."""

    cdef object layout_of
    cdef object words
    cdef Py_ssize_t width
    cdef bint[MAX_COLUMNS] is_word
    cdef Py_ssize_t[MAX_COLUMNS] row  # a column's row among the int64 ones, or among the codes
    cdef Py_ssize_t n_numbers
    cdef tuple columns
    cdef dict shapes  # type -> Shape, or None: a type `fill` leaves to the reference

    def __init__(self, layout_of, words, tuple columns, strings):
        if len(columns) > MAX_COLUMNS:
            raise ValueError(f"at most {MAX_COLUMNS} typed columns")
        if not isinstance(words, dict):
            raise TypeError("words: a dict (a `tables.Words`)")
        self.layout_of = layout_of
        self.words = words
        self.columns = columns
        self.width = len(columns)
        self.n_numbers = 0
        for i, c in enumerate(columns):
            self.is_word[i] = c in strings
            self.row[i] = i - self.n_numbers if self.is_word[i] else self.n_numbers
            self.n_numbers += not self.is_word[i]
        self.shapes = {}

    cdef object shape(self, object tp):
        """The `Shape` of type ``tp`` (None: the reference reads it), made on first sight."""
        cdef Shape s
        cdef Py_ssize_t i
        try:
            layout = self.layout_of(tp)
            fields = tp.__struct_fields__
            s = Shape()
            s.tp = tp
            for i in range(self.width):
                s.offset[i] = -1
            for i, f in zip(layout.present, layout.typed):
                s.offset[i] = slot(tp, fields[f])
            for f in layout.extra:
                s.extra.push_back(slot(tp, fields[f]))
        except (AttributeError, TypeError):  # not a Struct, or a field not in its own slot
            self.shapes[tp] = None
            return None
        s.kind = self.words[layout.name]
        s.details = layout.details
        self.shapes[tp] = s
        return s

    def fill(self, list events):
        """The batch's columns as `_EventLayouts._filled` gives them
        (``typed``, ``valid``, ``kinds``, ``details``, ``has_details``), or
        None for a batch it leaves to the reference."""
        cdef Py_ssize_t n = len(events), i, c, k, r, width = self.width
        numbers_arr = np.zeros((self.n_numbers, n), np.int64)
        valid_arr = np.zeros((self.n_numbers, n), np.bool_)
        codes_arr = np.full((width - self.n_numbers, n), -1, np.int32)
        kinds_arr = np.empty(n, np.int32)
        has_arr = np.zeros(n, np.bool_)
        cdef int64_t[:, ::1] numbers = numbers_arr
        cdef uint8_t[:, ::1] valid = valid_arr.view(np.uint8)
        cdef int32_t[:, ::1] codes = codes_arr
        cdef int32_t[::1] kinds = kinds_arr
        cdef uint8_t[::1] has = has_arr.view(np.uint8)
        cdef list details = []
        cdef object words = self.words  # a dict (`Words`, a subclass): read as one
        cdef dict shapes = self.shapes
        cdef PyObject* last_word[MAX_COLUMNS]  # each string column's last value and its code: most repeat
        cdef int32_t[MAX_COLUMNS] last_code
        cdef vector[PyObject*] args
        cdef PyObject* v
        cdef PyObject* got
        cdef object tp, last_tp = None, e, found
        cdef Shape s = None
        cdef long long x
        for c in range(width):
            last_word[c] = NULL
            last_code[c] = -1
        for i in range(n):
            e = events[i]
            tp = type(e)
            if tp is not last_tp:
                got = PyDict_GetItemWithError(shapes, tp)
                found = self.shape(tp) if got is NULL else <object>got
                if found is None:
                    return None
                s = <Shape>found
                last_tp = tp
            for c in range(width):
                k = s.offset[c]
                if k < 0:
                    continue
                v = at_or_null(e, k)
                if v is NULL:
                    return None
                r = self.row[c]
                if self.is_word[c]:
                    if v != last_word[c]:
                        got = PyDict_GetItemWithError(words, <object>v)
                        if got is NULL:  # a new word: `Words.__missing__` gives it the next code
                            last_code[c] = words[<object>v]
                        else:
                            last_code[c] = <object>got
                        last_word[c] = v
                    codes[r, i] = last_code[c]
                elif v == <PyObject*>None:
                    continue  # a null: 0, not valid
                elif PyLong_Check(<object>v):
                    x = as_int64(v)
                    if x == -1 and PyErr_Occurred() is not NULL:
                        if not PyErr_ExceptionMatches(OverflowError):
                            raise SystemError("PyLong_AsLongLong failed on an int")
                        PyErr_Clear()
                        return None  # beyond int64: the reference says so
                    numbers[r, i] = x
                    valid[r, i] = 1
                else:
                    return None
            kinds[i] = s.kind
            if s.details is not None:
                args.resize(s.extra.size())
                for k in range(<Py_ssize_t>s.extra.size()):
                    v = at_or_null(e, s.extra[k])
                    if v is NULL:
                        return None
                    args[k] = v
                details.append(PyObject_Vectorcall(s.details, args.data(), args.size(), NULL))
                has[i] = 1
        typed = []
        valids = []
        for c in range(width):
            if self.is_word[c]:
                typed.append(codes_arr[self.row[c]])
                valids.append(None)
            else:
                typed.append(numbers_arr[self.row[c]])
                valids.append(valid_arr[self.row[c]])
        return typed, valids, kinds_arr, details, has_arr
