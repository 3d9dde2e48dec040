# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# distutils: language = c++
"""The compiled `cfx.core.schedule.Schedule`: a binary heap of C++
``(ts, seq, slot)`` entries ordered by (time, push order), the items
themselves in a Python list at their slots (so the garbage collector sees
them: an item often refers back to the simulation that holds the
schedule). cfx/core/schedule.py has the pure-Python reference and says
what each method does; the two behave the same, item for item."""

from libc.stdint cimport int64_t, uint64_t
from libcpp.vector cimport vector


cdef extern from *:
    """
    #include <algorithm>
    #include <cstdint>
    #include <vector>
    struct CfxEntry { int64_t ts; uint64_t seq; Py_ssize_t slot; };
    struct CfxLater {  // the heap's order: the entry due first on top, ties by push order
        bool operator()(const CfxEntry& x, const CfxEntry& y) const {
            return x.ts != y.ts ? x.ts > y.ts : x.seq > y.seq;
        }
    };
    static inline void cfx_heap_push(std::vector<CfxEntry>& h, const CfxEntry& e) {
        h.push_back(e);
        std::push_heap(h.begin(), h.end(), CfxLater());
    }
    static inline Py_ssize_t cfx_heap_pop(std::vector<CfxEntry>& h) {
        std::pop_heap(h.begin(), h.end(), CfxLater());
        Py_ssize_t slot = h.back().slot;
        h.pop_back();
        return slot;
    }
    static inline void cfx_heap_order(std::vector<CfxEntry>& h) {
        std::sort(h.begin(), h.end(), [](const CfxEntry& x, const CfxEntry& y) { return CfxLater()(y, x); });
    }
    """
    struct CfxEntry:
        int64_t ts
        uint64_t seq
        Py_ssize_t slot
    void cfx_heap_push(vector[CfxEntry]& h, const CfxEntry& e)
    Py_ssize_t cfx_heap_pop(vector[CfxEntry]& h)
    void cfx_heap_order(vector[CfxEntry]& h)


cdef class Schedule:
    """Items ``(ts, kind, a, b)`` due at integer times, taken in (time, push order)."""

    cdef vector[CfxEntry] heap
    cdef vector[Py_ssize_t] free  # slots of taken items, for the next pushes
    cdef list slots  # slot -> item, or None
    cdef uint64_t seq

    def __cinit__(self):
        self.slots = []
        self.seq = 0

    def push(self, ts, kind, a=None, b=None):
        cdef CfxEntry e
        cdef tuple item
        e.ts = ts  # an int64_t (OverflowError beyond); the item keeps the int object it was given
        item = (ts, kind, a, b)
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

    def pop(self, int64_t before):
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
