"""The compiled schedule's C-level interface, for a compiled module of the
loop to push and take items without a Python call (`cfx.sim._fanout`)."""

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
    cdef vector[CfxEntry] heap
    cdef vector[Py_ssize_t] free  # slots of taken items, for the next pushes
    cdef list slots  # slot -> item, or None
    cdef uint64_t seq

    cdef int put(self, int64_t ts, tuple item) except -1
    cdef object take(self, int64_t before)
