# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# distutils: language = c++
"""The compiled `cfx.core.schedule.Schedule`: a binary heap of C++
``(ts, seq, slot)`` entries ordered by (time, push order), the items
themselves in a Python list at their slots (so the garbage collector sees
them: an item often refers back to the simulation that holds the
schedule). cfx/core/schedule.py has the pure-Python reference and says
what each method does; the two behave the same, item for item."""

cdef class Schedule:
    """Items ``(ts, kind, a, b)`` due at integer times, taken in (time, push order)."""

    def __cinit__(self):
        self.slots = []
        self.seq = 0

    def push(self, ts, kind, a=None, b=None):
        self.put(ts, (ts, kind, a, b))  # ts an int64_t (OverflowError beyond); the item keeps the int object it was given

    cdef int put(self, int64_t ts, tuple item) except -1:
        """`push` of ``item``, ``(ts, kind, a, b)``, from C (the heap, its
        attributes and this are declared in cfx/core/_schedule.pxd)."""
        cdef CfxEntry e
        e.ts = ts
        self.seq += 1
        e.seq = self.seq
        if self.free.empty():
            e.slot = len(self.slots)
            self.slots.append(item)
        else:
            e.slot = self.free.back()
            self.free.pop_back()
            self.slots[e.slot] = item
        cfx_heap_push(self.heap, e)
        return 0

    def pop(self, int64_t before):
        return self.take(before)

    cdef object take(self, int64_t before):
        """`pop`, from C: the next item if it is due before ``before``, else None."""
        cdef Py_ssize_t slot
        if self.heap.empty() or self.heap.front().ts >= before:
            return None
        slot = cfx_heap_pop(self.heap)
        item = self.slots[slot]
        self.slots[slot] = None
        self.free.push_back(slot)
        return item

    def peek(self):
        return None if self.heap.empty() else self.heap.front().ts

    def __len__(self):
        return self.heap.size()

    def items(self):
        cdef vector[CfxEntry] ordered = self.heap
        cfx_heap_order(ordered)
        return [self.slots[e.slot] for e in ordered]

    def __reduce__(self):
        from cfx.core.schedule import restore

        return restore, (self.items(),)
