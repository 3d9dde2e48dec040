# The compiled book's layout and its C interface: what cfx/_engine.pyx's
# `EnginePath` cimports to call a `CompiledOrderBook` directly (the `_c`
# methods), without a Python method call's lookup and argument parsing.
# The `def` methods of the same names are these, for Python callers. See
# _orderbook.pyx.

from cpython.ref cimport PyObject
from libc.stdint cimport int64_t
from libcpp.deque cimport deque
from libcpp.map cimport map as cmap


cdef extern from *:
    """
    #include <deque>
    #include <Python.h>
    struct CfxLevel {
        long long qty = 0;    // visible quantity of the live orders
        long long count = 0;  // live orders
        std::deque<PyObject*> queue;  // owned references, time priority; cancelled ones have qty 0
    };
    """
    cdef cppclass CfxLevel:
        int64_t qty
        int64_t count
        deque[PyObject*] queue

ctypedef cmap[int64_t, CfxLevel] Side_t
ctypedef cmap[int64_t, CfxLevel].iterator Iter


cdef class CompiledOrderBook:
    cdef Side_t bids  # keyed by -price
    cdef Side_t asks  # keyed by price
    cdef public str series
    cdef public object last_price
    cdef public object first_price
    cdef dict _live
    cdef list _out
    cdef object _seq
    cdef dict _stp_defaults
    cdef bint _full

    cdef void _clear(self) noexcept
    cdef list _levels_state(self, bint buy)
    cdef void _load(self, bint buy, list rows) except *
    cdef int64_t _prevent_self_trade(self, maker, CfxLevel* lvl, taker, int64_t remaining, mode, cmd,
                                     ts) except? -2
    cdef void _cancel_resting(self, m, CfxLevel* lvl, cmd, ts) except *
    cdef void _emit(self, event) except *
    cdef CfxLevel* _level(self, side, price) except NULL
    cdef list _depth(self, bint buy, Py_ssize_t n)
    cdef list _side_l3(self, bint buy)

    # the C interface (cfx/_engine.pyx; the top of book: cfx/sim/_fanout.pyx)
    cdef object place_c(self, order, qty, limit, cmd, ts, bint cross, filled)
    cdef tuple match_c(self, order, remaining, limit, cmd, ts)
    cdef void cancel_c(self, order, cmd, ts, reason) except *
    cdef void reduce_c(self, order, new_open, cmd, ts) except *
    cdef object best_bid_c(self)
    cdef object best_ask_c(self)
    cdef object best_qty_c(self, bint buy)
