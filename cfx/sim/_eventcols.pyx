# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# distutils: language = c++
"""The events table's columns for a batch of events in one compiled pass:
what `cfx.sim.outputs._EventLayouts._filled` does, the readable reference,
giving the same arrays (tests/test_outputs.py holds the two to that, and
both to the columns cfx built before issue 19).

The reference groups the batch by type and reads each group's fields
with `msgspec.structs.astuple`; this walks the events in order instead,
and for each reads the fields its exact type's `Shape` says at their
slots (`cfx/core/_slots.pxd`), writing the int64 columns, their validity
and the string columns' codes (`cfx.tables.Words`, the reference's own,
so codes are shared with it) straight into the arrays; an event's other
fields go into its ``details`` Struct (the one the reference made for
its type), in the events' order, as the reference gives them. A shape
is built, on a type's first sight, from the reference's own `_Layout` of
it, so which field goes where is said once.

`TypeColumns` is the same pass for the events of one type (the trades
table's columns, `cfx.sim.outputs._TradeColumns`).

What it does not read it leaves to the reference: `fill` returns None
(and the caller runs the reference over the whole batch, which gives its
own result or error) at an event whose type is not a Struct with its
fields in its own slots, or whose int column holds anything but an int
that fits in 64 bits or None.
"""

from cpython.object cimport Py_TYPE, PyObject
from cpython.dict cimport PyDict_GetItemWithError
from cpython.long cimport PyLong_Check
from libc.stdint cimport int32_t, int64_t, uint8_t
from libcpp.vector cimport vector

from cfx.core._slots cimport at_or_null, slot

import numpy as np

cdef extern from "Python.h":
    object PyObject_Vectorcall(object callable, PyObject** args, size_t nargsf, PyObject* kwnames)

cdef enum:
    MAX_COLUMNS = 16
    SEEN = 16  # a string column's values remembered in one batch (by identity): a few series, sides, reasons
    TYPES = 64  # event types whose shapes are found by identity, not through the dict


cdef inline int32_t word_code(object words, PyObject* v, PyObject** seen, int32_t* seen_code, Py_ssize_t* n_seen) except? -1:
    """The code of the string ``v`` in ``words`` (a `Words`: a new word gets
    the next code from its ``__missing__``), looked for first among the
    ``n_seen`` values this batch has seen in its column, by identity: the
    events hold them while the batch runs, so an address is one object
    throughout (not across batches). Remembers up to `SEEN` of them."""
    cdef Py_ssize_t q = 0
    cdef int32_t code
    cdef PyObject* got
    while q < n_seen[0] and seen[q] != v:
        q += 1
    if q < n_seen[0]:
        return seen_code[q]
    got = PyDict_GetItemWithError(words, <object>v)
    code = words[<object>v] if got is NULL else <object>got
    if q < SEEN:
        seen[q] = v
        seen_code[q] = code
        n_seen[0] = q + 1
    return code

cdef class Shape:
    """How events of one exact type fill the columns: the slots of the
    fields its int64 columns and its string columns read, and each one's
    row among those columns; the code of its name; its other fields' slots
    and ``details`` Struct (None: it has none)."""

    cdef object tp
    cdef vector[Py_ssize_t] number_slot, number_row, word_slot, word_row, extra
    cdef int32_t kind
    cdef object details


cdef class EventColumns:
    """`_EventLayouts._filled`, compiled: ``layout_of`` gives the reference's
    `_Layout` of a type, ``words`` is the reference's `tables.Words`,
    ``columns`` the typed columns in order (the event fields they read)
    and ``strings`` the ones that are codes into ``words``, the others
    int64 with a validity mask."""

    cdef object layout_of
    cdef object words
    cdef Py_ssize_t width
    cdef bint[MAX_COLUMNS] is_word
    cdef Py_ssize_t[MAX_COLUMNS] row  # a column's row among the int64 ones, or among the codes
    cdef Py_ssize_t n_numbers
    cdef dict shapes  # type -> Shape, or None: a type `fill` leaves to the reference
    cdef PyObject* known_type[TYPES]  # the first types with a Shape, and it (both kept alive by ``shapes``)
    cdef PyObject* known_shape[TYPES]
    cdef Py_ssize_t n_known

    def __init__(self, layout_of, words, tuple columns, strings):
        if len(columns) > MAX_COLUMNS:
            raise ValueError(f"at most {MAX_COLUMNS} typed columns")
        if not isinstance(words, dict):
            raise TypeError("words: a dict (a `tables.Words`)")
        self.layout_of = layout_of
        self.words = words
        self.width = len(columns)
        self.n_numbers = 0
        for i, c in enumerate(columns):
            self.is_word[i] = c in strings
            self.row[i] = i - self.n_numbers if self.is_word[i] else self.n_numbers
            self.n_numbers += not self.is_word[i]
        self.shapes = {}
        self.n_known = 0

    cdef object shape(self, object tp):
        """The `Shape` of type ``tp`` (None: the reference reads it), made on first sight."""
        cdef Shape s
        cdef Py_ssize_t i
        try:
            layout = self.layout_of(tp)
            fields = tp.__struct_fields__
            s = Shape()
            s.tp = tp
            for i, f in zip(layout.present, layout.typed):
                if self.is_word[i]:
                    s.word_slot.push_back(slot(tp, fields[f]))
                    s.word_row.push_back(self.row[i])
                else:
                    s.number_slot.push_back(slot(tp, fields[f]))
                    s.number_row.push_back(self.row[i])
            for f in layout.extra:
                s.extra.push_back(slot(tp, fields[f]))
        except (AttributeError, TypeError):  # not a Struct, or a field not in its own slot
            self.shapes[tp] = None
            return None
        s.kind = self.words[layout.name]
        s.details = layout.details
        self.shapes[tp] = s
        if self.n_known < TYPES:
            self.known_type[self.n_known] = <PyObject*>tp
            self.known_shape[self.n_known] = <PyObject*>s
            self.n_known += 1
        return s

    def fill(self, list events):
        """The batch's columns as `_EventLayouts._filled` gives them
        (``typed``, ``valid``, ``kinds``, ``details``, ``has_details``), or
        None for a batch it leaves to the reference."""
        cdef Py_ssize_t n = len(events), width = self.width, n_words = width - self.n_numbers
        numbers_arr = np.zeros((self.n_numbers, n), np.int64)
        valid_arr = np.zeros((self.n_numbers, n), np.bool_)
        codes_arr = np.full((n_words, n), -1, np.int32)
        kinds_arr = np.empty(n, np.int32)
        has_arr = np.zeros(n, np.bool_)
        cdef list details = []
        if n:
            try:
                if not self.fill_into(events, numbers_arr, valid_arr, codes_arr, kinds_arr, details, has_arr):
                    return None
            except OverflowError:  # an int beyond int64: the reference says so
                return None
        return (*self.arrays(numbers_arr, valid_arr, codes_arr), kinds_arr, details, has_arr)

    cdef bint fill_into(
        self, list events, numbers_arr, valid_arr, codes_arr, kinds_arr, list details, has_arr
    ) except -1:
        """`fill`'s pass over the events into its arrays; False at an event it leaves to the reference."""
        cdef Py_ssize_t n = len(events), i, j, r, q, n_words = self.width - self.n_numbers
        cdef int64_t[:, ::1] numbers_view = numbers_arr
        cdef uint8_t[:, ::1] valid_view = valid_arr.view(np.uint8)
        cdef int32_t[:, ::1] codes_view = codes_arr
        cdef int32_t[::1] kinds_view = kinds_arr
        cdef uint8_t[::1] has_view = has_arr.view(np.uint8)
        cdef int64_t* numbers = &numbers_view[0, 0] if self.n_numbers else NULL  # row r, event i: [r * n + i]
        cdef uint8_t* valid = &valid_view[0, 0] if self.n_numbers else NULL
        cdef int32_t* codes = &codes_view[0, 0] if n_words else NULL
        cdef int32_t* kinds = &kinds_view[0]
        cdef uint8_t* has = &has_view[0]
        cdef object words = self.words  # a dict (`Words`, a subclass): read as one
        # each string column's values seen in this batch and their codes, by identity: the events
        # hold them while it runs, so an address is one object throughout (not across batches)
        cdef PyObject* seen[MAX_COLUMNS][SEEN]
        cdef int32_t seen_code[MAX_COLUMNS][SEEN]
        cdef Py_ssize_t n_seen[MAX_COLUMNS]
        cdef vector[PyObject*] args
        cdef PyObject* v
        cdef PyObject* got
        cdef object e, found
        cdef PyObject* tp
        cdef PyObject* last_tp = NULL
        cdef Shape s = None
        for r in range(n_words):
            n_seen[r] = 0
        for i in range(n):
            e = events[i]
            tp = <PyObject*>Py_TYPE(e)
            if tp != last_tp:
                q = 0
                while q < self.n_known and self.known_type[q] != tp:
                    q += 1
                if q < self.n_known:
                    s = <Shape>self.known_shape[q]
                else:
                    got = PyDict_GetItemWithError(self.shapes, <object>tp)
                    found = self.shape(<object>tp) if got is NULL else <object>got
                    if found is None:
                        return False
                    s = <Shape>found
                last_tp = tp
            for j in range(<Py_ssize_t>s.number_slot.size()):
                v = at_or_null(e, s.number_slot[j])
                if v == <PyObject*>None:
                    continue  # a null: 0, not valid
                if v is NULL or not PyLong_Check(<object>v):
                    return False
                r = s.number_row[j] * n + i
                numbers[r] = <int64_t><object>v  # beyond int64: OverflowError (`fill`)
                valid[r] = 1
            for j in range(<Py_ssize_t>s.word_slot.size()):
                v = at_or_null(e, s.word_slot[j])
                if v is NULL:
                    return False
                r = s.word_row[j]
                codes[r * n + i] = word_code(words, v, seen[r], seen_code[r], &n_seen[r])
            kinds[i] = s.kind
            if s.details is not None:
                args.resize(s.extra.size())
                for j in range(<Py_ssize_t>s.extra.size()):
                    v = at_or_null(e, s.extra[j])
                    if v is NULL:
                        return False
                    args[j] = v
                details.append(PyObject_Vectorcall(s.details, args.data(), args.size(), NULL))
                has[i] = 1
        return True

    cdef tuple arrays(self, numbers, valid, codes):
        """The typed columns and their validity, in column order."""
        cdef Py_ssize_t c
        typed = []
        valids = []
        for c in range(self.width):
            if self.is_word[c]:
                typed.append(codes[self.row[c]])
                valids.append(None)
            else:
                typed.append(numbers[self.row[c]])
                valids.append(valid[self.row[c]])
        return typed, valids


cdef class TypeColumns:
    """The events of one exact type in a batch, as columns: what
    `cfx.sim.outputs._TradeColumns._filled` (the reference, for the trades
    table) gives, in one pass over the batch. ``tp`` is the type, ``numbers``
    the names of its int64 fields, ``strings`` of its string fields, coded
    into ``words`` (a `tables.Words`, the reference's own)."""

    cdef object tp
    cdef object words
    cdef vector[Py_ssize_t] number_slot, word_slot

    def __init__(self, tp, tuple numbers, tuple strings, words):
        if not isinstance(words, dict):
            raise TypeError("words: a dict (a `tables.Words`)")
        self.tp = tp
        self.words = words
        for f in numbers:
            self.number_slot.push_back(slot(tp, f))
        for f in strings:
            self.word_slot.push_back(slot(tp, f))

    def fill(self, list events):
        """``(numbers, codes)``: an int64 row a number field and an int32
        row a string field, a column an event of the type, in the batch's
        order; None for a batch it leaves to the reference (a number field
        holding anything but an int that fits in 64 bits, a field unset)."""
        cdef Py_ssize_t n = len(events), k = 0
        numbers_arr = np.empty((self.number_slot.size(), n), np.int64)  # a row an event at most, cut to k
        codes_arr = np.empty((self.word_slot.size(), n), np.int32)
        if n:
            try:
                k = self.fill_into(events, numbers_arr, codes_arr)
            except OverflowError:  # an int beyond int64: the reference says so
                return None
            if k < 0:
                return None
        return np.ascontiguousarray(numbers_arr[:, :k]), np.ascontiguousarray(codes_arr[:, :k])

    cdef Py_ssize_t fill_into(self, list events, numbers_arr, codes_arr) except -2:
        """`fill`'s pass into its arrays: how many events were of the type, or -1 at one it leaves to the reference."""
        cdef Py_ssize_t n = len(events), i, j, at = 0
        cdef Py_ssize_t n_numbers = self.number_slot.size(), n_words = self.word_slot.size()
        cdef int64_t[:, ::1] numbers_view = numbers_arr
        cdef int32_t[:, ::1] codes_view = codes_arr
        cdef int64_t* numbers = &numbers_view[0, 0] if n_numbers else NULL  # field j, event at: [j * n + at]
        cdef int32_t* codes = &codes_view[0, 0] if n_words else NULL
        cdef PyObject* tp = <PyObject*>self.tp
        cdef object words = self.words
        cdef PyObject* seen[MAX_COLUMNS][SEEN]  # as in `EventColumns.fill_into`: a field's strings by identity
        cdef int32_t seen_code[MAX_COLUMNS][SEEN]
        cdef Py_ssize_t n_seen[MAX_COLUMNS]
        cdef PyObject* v
        cdef object e
        if n_words > MAX_COLUMNS:
            raise ValueError(f"at most {MAX_COLUMNS} string fields")
        for j in range(n_words):
            n_seen[j] = 0
        for i in range(n):
            e = events[i]
            if <PyObject*>Py_TYPE(e) != tp:
                continue
            for j in range(n_numbers):
                v = at_or_null(e, self.number_slot[j])
                if v is NULL or not PyLong_Check(<object>v):
                    return -1
                numbers[j * n + at] = <int64_t><object>v  # beyond int64: OverflowError (`fill`)
            for j in range(n_words):
                v = at_or_null(e, self.word_slot[j])
                if v is NULL:
                    return -1
                codes[j * n + at] = word_code(words, v, seen[j], seen_code[j], &n_seen[j])
            at += 1
        return at
