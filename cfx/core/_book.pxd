# The compiled book's types: one series' price levels and orders in C++
# containers, events out as fixed-width int64 rows (cfx/core/rows.py names
# the columns). See _book.pyx.

from libc.stdint cimport int8_t, int32_t, int64_t, uint64_t
from libcpp.map cimport map as cmap
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector


cdef struct Level:
    int64_t price
    int64_t qty      # visible quantity of the live orders
    int32_t count    # live orders
    int32_t head     # first order's slot (time priority), -1 when empty
    int32_t tail


cdef struct Order:
    int64_t order_id
    int64_t account
    int64_t price
    int64_t qty      # open quantity on the book
    int64_t filled
    int32_t prev     # neighbours in the level's queue (slots), -1 at the ends
    int32_t next
    int8_t side      # 0 buy, 1 sell
    int8_t stp       # 0: the account's default, else an STP_* code
    Level* level


cdef struct Entry:   # the order-id index: open addressing, linear probing
    int64_t key      # order id
    int32_t slot     # its order's slot; -1: empty


cdef class CompiledBook:
    cdef cmap[int64_t, Level] bids   # keyed by -price: begin() is the best bid
    cdef cmap[int64_t, Level] asks   # keyed by price: begin() is the best ask
    cdef vector[Order] orders        # the order pool; slots reused through free
    cdef vector[int32_t] free
    cdef vector[Entry] index         # order id -> slot of every live order
    cdef uint64_t mask               # index size - 1 (a power of two)
    cdef int shift                   # 64 - log2(index size)
    cdef Py_ssize_t live             # live orders (entries in use)
    cdef unordered_map[int64_t, int8_t] account_stp      # account -> default STP code
    cdef int64_t* buf                # event rows, reused batch after batch
    cdef Py_ssize_t n                # int64s used in buf
    cdef Py_ssize_t cap
    cdef readonly int64_t seq        # the last event's sequence number
    cdef readonly int64_t cmd        # the last command's sequence number
    cdef readonly int64_t max_qty
    cdef readonly int64_t fills      # trades since the book opened
    cdef readonly int64_t volume
    cdef int64_t last
    cdef int64_t first
    cdef bint traded_ever

    cdef void _grow(self) noexcept nogil
    cdef uint64_t home(self, int64_t oid) noexcept nogil
    cdef int32_t find(self, int64_t oid) noexcept nogil
    cdef void index_put(self, int64_t oid, int32_t slot) noexcept nogil
    cdef void index_drop(self, int64_t oid) noexcept nogil
    cdef void index_resize(self, uint64_t size) noexcept nogil
    cdef void ev(self, int64_t typ, int64_t ts, int64_t a0, int64_t a1, int64_t a2, int64_t a3,
                 int64_t a4, int64_t a5, int64_t a6) noexcept nogil
    cdef int8_t mode_of(self, int8_t stp, int64_t account) noexcept nogil
    cdef void submit(self, int64_t ts, int k, int64_t oid, int64_t account, int8_t side, int64_t price,
                     int64_t qty, int8_t stp) noexcept nogil
    cdef void place(self, int64_t ts, int64_t oid, int64_t account, int8_t side, int64_t price,
                    bint has_limit, int64_t qty, int8_t stp, bint rests, int64_t filled) noexcept nogil
    cdef int64_t match(self, int64_t ts, int64_t tid, int64_t tacct, int8_t side, int64_t limit,
                       bint has_limit, int64_t remaining, int8_t stp, int64_t* traded_out) noexcept nogil
    cdef int64_t prevent_self_trade(self, int64_t ts, Level* lvl, int64_t tid, int64_t tacct,
                                    int64_t remaining, int8_t mode) noexcept nogil
    cdef bint fillable(self, int8_t side, int64_t limit, int64_t account, int8_t stp, int64_t need) noexcept nogil
    cdef void rest(self, int64_t ts, int64_t oid, int64_t account, int8_t side, int64_t price, int64_t qty,
                   int8_t stp, int64_t filled) noexcept nogil
    cdef void unlink(self, int32_t slot) noexcept nogil
    cdef void remove(self, int64_t ts, int32_t slot, int reason) noexcept nogil
    cdef void cancel(self, int64_t ts, int64_t oid, int64_t account) noexcept nogil
    cdef void modify(self, int64_t ts, int64_t oid, int64_t account, int64_t price, int64_t qty) noexcept nogil
