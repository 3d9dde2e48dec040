# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: language = c++
"""The compiled matching core: one series' book and the engine's hot subset
(validation, limit/market/IOC/FOK, cancel, modify, self-trade prevention,
sequence numbers) in C++ containers, the same rules as cfx/engine.py and
cfx/book.py event for event.

Commands come in as typed columns (`apply`); events leave as fixed-width
int64 rows in one buffer that the next batch reuses (`rows`; cfx/core/rows.py
names the columns and turns rows into event Structs where Python reads
them). Prices are levels in two ordered maps (bids keyed by -price, so
``begin()`` is the best price on either side); a level's orders are a doubly
linked list through the order pool, so a cancel is O(1) with no tombstones;
order ids find their order through an open-addressing index (one cache
line per lookup, no allocation per order).
"""

from libc.stdint cimport int8_t, int32_t, int64_t, uint64_t
from libc.stdlib cimport abort, free, realloc
from libc.stdio cimport snprintf
from cython.operator cimport dereference as deref, preincrement as inc

cdef extern from *:
    """
    #define CFX_W 11
    #define CFX_PREFETCH(p) __builtin_prefetch(p)
    """
    int W "CFX_W"
    void prefetch "CFX_PREFETCH"(const void* p) noexcept nogil

cdef enum:
    PREFETCH = 8  # commands ahead whose order-id lookup is prefetched

# event types (row column 0)
cdef enum:
    EV_ACCEPTED = 1
    EV_REJECTED = 2
    EV_TRADE = 3
    EV_CANCELLED = 4
    EV_MODIFIED = 5
    EV_RESTED = 6
    EV_LEVEL = 7

# command kinds (the ``kind`` column)
cdef enum:
    K_LIMIT = 0   # limit GTC
    K_MARKET = 1  # market (IOC)
    K_IOC = 2     # limit IOC
    K_FOK = 3     # limit FOK
    K_CANCEL = 4
    K_MODIFY = 5
    K_SET_STP = 6  # an account's default STP (account, qty = mode code)

# order kinds and times in force as the rows carry them
cdef enum:
    OK_LIMIT = 0
    OK_MARKET = 1
    TIF_GTC = 0
    TIF_IOC = 1
    TIF_FOK = 2

# self-trade prevention modes (0 in an order: the account's default)
cdef enum:
    STP_DEFAULT = 0
    STP_NONE = 1
    STP_CANCEL_RESTING = 2
    STP_CANCEL_AGGRESSING = 3
    STP_CANCEL_BOTH = 4
    STP_DECREMENT_AND_CANCEL = 5

# reject reasons
cdef enum:
    R_BAD_QUANTITY = 1
    R_QUANTITY_TOO_LARGE = 2
    R_BAD_PRICE = 3
    R_DUPLICATE_ORDER_ID = 4
    R_UNKNOWN_ORDER = 5
    R_NOT_OWNER = 6
    R_FOK_CANNOT_FILL = 7

# cancel reasons
cdef enum:
    C_SILENT = 0  # a modify that loses priority: no OrderCancelled
    C_USER = 1
    C_IOC_REMAINDER = 2
    C_STP = 3


cdef class CompiledBook:
    """One series' book behind the engine's checks. ``cmd`` and ``seq`` are
    the last command's and the last event's sequence numbers (start them
    where the engine that owns the book stands)."""

    def __cinit__(self, int64_t max_qty=10_000, int64_t cmd=0, int64_t seq=0):
        self.max_qty = max_qty
        self.cmd = cmd
        self.seq = seq
        self.cap = 32768 * W
        self.buf = <int64_t*> realloc(NULL, self.cap * sizeof(int64_t))
        if self.buf == NULL:
            raise MemoryError()
        self.n = 0
        self.live = 0
        self.index_resize(1 << 16)
        self.orders.reserve(1 << 15)

    def __dealloc__(self):
        free(self.buf)

    # ------------------------------------------------------------------ rows

    cdef void _grow(self) noexcept nogil:
        cdef Py_ssize_t cap = self.cap * 2
        cdef int64_t* b = <int64_t*> realloc(self.buf, cap * sizeof(int64_t))
        if b == NULL:
            abort()
        self.buf = b
        self.cap = cap

    cdef void ev(self, int64_t typ, int64_t ts, int64_t a0, int64_t a1, int64_t a2, int64_t a3,
                        int64_t a4, int64_t a5, int64_t a6) noexcept nogil:
        if self.n + W > self.cap:
            self._grow()
        cdef int64_t* r = self.buf + self.n
        self.n += W
        self.seq += 1
        r[0] = typ
        r[1] = self.seq
        r[2] = self.cmd
        r[3] = ts
        r[4] = a0
        r[5] = a1
        r[6] = a2
        r[7] = a3
        r[8] = a4
        r[9] = a5
        r[10] = a6

    # ------------------------------------------------------------------ the order-id index

    cdef void index_resize(self, uint64_t size) noexcept nogil:
        cdef vector[Entry] old
        old.swap(self.index)
        self.index.resize(size)
        cdef uint64_t i
        cdef int bits = 0
        while (<uint64_t> 1 << bits) < size:
            bits += 1
        self.mask = size - 1
        self.shift = 64 - bits
        for i in range(size):
            self.index[i].slot = -1
        self.live = 0
        for i in range(old.size()):
            if old[i].slot >= 0:
                self.index_put(old[i].key, old[i].slot)

    cdef inline uint64_t home(self, int64_t oid) noexcept nogil:
        return (<uint64_t> oid * <uint64_t> 0x9E3779B97F4A7C15) >> self.shift

    cdef int32_t find(self, int64_t oid) noexcept nogil:
        """The slot of live order ``oid``, or -1."""
        cdef uint64_t i = self.home(oid)
        cdef Entry* e
        while True:
            e = &self.index[i]
            if e.slot < 0:
                return -1
            if e.key == oid:
                return e.slot
            i = (i + 1) & self.mask

    cdef void index_put(self, int64_t oid, int32_t slot) noexcept nogil:
        cdef uint64_t i = self.home(oid)
        while self.index[i].slot >= 0 and self.index[i].key != oid:
            i = (i + 1) & self.mask
        if self.index[i].slot < 0:
            self.live += 1
        self.index[i].key = oid
        self.index[i].slot = slot
        if 2 * <uint64_t> self.live > self.mask:  # keep it at most half full
            self.index_resize(2 * (self.mask + 1))

    cdef void index_drop(self, int64_t oid) noexcept nogil:
        """Remove ``oid`` (present), shifting later entries of its probe run back."""
        cdef uint64_t i = self.home(oid), j, h
        while self.index[i].key != oid or self.index[i].slot < 0:
            i = (i + 1) & self.mask
        self.live -= 1
        j = i
        while True:
            self.index[i].slot = -1
            while True:
                j = (j + 1) & self.mask
                if self.index[j].slot < 0:
                    return
                h = self.home(self.index[j].key)
                # the entry at j may move to the hole at i unless its home lies in (i, j] (cyclically)
                if (h > i and h <= j) if i <= j else (h > i or h <= j):
                    continue
                self.index[i] = self.index[j]
                i = j
                break

    # ------------------------------------------------------------------ commands

    def apply(self, const int64_t[::1] ts, const int8_t[::1] kind, const int64_t[::1] order_id,
              const int64_t[::1] account, const int8_t[::1] side, const int64_t[::1] price,
              const int64_t[::1] qty, const int8_t[::1] stp, Py_ssize_t start, Py_ssize_t stop):
        """Apply commands ``start:stop`` of the columns; their events are
        appended to the row buffer (`clear` empties it). ``stp`` is the
        per-order STP code (0: the account's default)."""
        cdef Py_ssize_t i
        cdef int k
        cdef Py_ssize_t rows = min(ts.shape[0], kind.shape[0], order_id.shape[0], account.shape[0],
                                   side.shape[0], price.shape[0], qty.shape[0], stp.shape[0])
        if not 0 <= start <= stop <= rows:
            raise IndexError(f"rows {start}:{stop} of columns of {rows}")
        with nogil:
            for i in range(start, stop):
                if i + PREFETCH < stop:  # the index entry a later command will look up: fetched while this one runs
                    prefetch(&self.index[self.home(order_id[i + PREFETCH])])
                self.cmd += 1
                k = kind[i]
                if k <= K_FOK:
                    self.submit(ts[i], k, order_id[i], account[i], side[i], price[i], qty[i], stp[i])
                elif k == K_CANCEL:
                    self.cancel(ts[i], order_id[i], account[i])
                elif k == K_MODIFY:
                    self.modify(ts[i], order_id[i], account[i], price[i], qty[i])
                else:
                    self.account_stp[account[i]] = <int8_t> qty[i]

    cdef int8_t mode_of(self, int8_t stp, int64_t account) noexcept nogil:
        cdef unordered_map[int64_t, int8_t].iterator it
        if stp != STP_DEFAULT:
            return stp
        it = self.account_stp.find(account)
        if it == self.account_stp.end():
            return STP_CANCEL_AGGRESSING  # CME's default
        return deref(it).second

    cdef void submit(self, int64_t ts, int k, int64_t oid, int64_t account, int8_t side, int64_t price,
                     int64_t qty, int8_t stp) noexcept nogil:
        cdef int reason = 0
        if qty <= 0:
            reason = R_BAD_QUANTITY
        elif qty > self.max_qty:
            reason = R_QUANTITY_TOO_LARGE
        elif self.find(oid) >= 0:
            reason = R_DUPLICATE_ORDER_ID
        elif k == K_MARKET:
            if price != 0:
                reason = R_BAD_PRICE
        elif price <= 0:
            reason = R_BAD_PRICE
        if reason:
            self.ev(EV_REJECTED, ts, oid, account, reason, 1, 0, 0, 0)
            return
        cdef bint market = k == K_MARKET
        cdef int tif = TIF_GTC if k == K_LIMIT else TIF_FOK if k == K_FOK else TIF_IOC
        if k == K_FOK and not self.fillable(side, price, account, stp, qty):
            self.ev(EV_REJECTED, ts, oid, account, R_FOK_CANNOT_FILL, 1, 0, 0, 0)
            return
        self.ev(EV_ACCEPTED, ts, oid, account, side, OK_MARKET if market else OK_LIMIT, tif, price, qty)
        self.place(ts, oid, account, side, price, not market, qty, stp, k == K_LIMIT, 0)

    cdef void place(self, int64_t ts, int64_t oid, int64_t account, int8_t side, int64_t price,
                    bint has_limit, int64_t qty, int8_t stp, bint rests, int64_t filled) noexcept nogil:
        """An accepted order meets the book: it trades what crosses, then
        rests the remainder (GTC) or has it cancelled (market, IOC, FOK)."""
        cdef int64_t traded = 0
        qty = self.match(ts, oid, account, side, price, has_limit, qty, stp, &traded)
        if qty:
            if rests:
                self.rest(ts, oid, account, side, price, qty, stp, filled + traded)
            else:
                self.ev(EV_CANCELLED, ts, oid, account, qty, C_IOC_REMAINDER, 0, 0, 0)

    cdef int64_t match(self, int64_t ts, int64_t tid, int64_t tacct, int8_t side, int64_t limit,
                       bint has_limit, int64_t remaining, int8_t stp, int64_t* traded_out) noexcept nogil:
        """Trade up to ``remaining`` against the other side at prices no
        worse than ``limit``, in price-time priority, at each resting order's
        price; returns what is left (0 also when STP cancelled the taker)."""
        cdef bint buy = side == 0
        cdef cmap[int64_t, Level]* levels = &self.asks if buy else &self.bids
        cdef int8_t maker_side = 1 if buy else 0
        cdef Level* lvl
        cdef Order* m
        cdef int64_t p, t, traded = 0, first = 0, last = 0
        cdef int8_t mode
        cdef bint killed = False
        cdef cmap[int64_t, Level].iterator it
        while remaining and not levels.empty():
            it = levels.begin()
            lvl = &deref(it).second
            p = lvl.price
            if has_limit and (p > limit if buy else p < limit):
                break
            while remaining and lvl.head >= 0:
                m = &self.orders[lvl.head]
                if m.account == tacct:
                    mode = self.mode_of(stp, tacct)
                    if mode != STP_NONE:
                        remaining = self.prevent_self_trade(ts, lvl, tid, tacct, remaining, mode)
                        if remaining < 0:
                            remaining = 0
                            killed = True
                        continue
                t = m.qty if m.qty < remaining else remaining
                self.ev(EV_TRADE, ts, p, t, m.order_id, tid, m.account, tacct, side)
                self.fills += 1
                self.volume += t
                remaining -= t
                if not traded:
                    first = p
                traded += t
                last = p
                m.filled += t
                lvl.qty -= t
                if t == m.qty:
                    m.qty = 0
                    self.unlink(lvl.head)
                else:
                    m.qty -= t
            self.ev(EV_LEVEL, ts, maker_side, p, lvl.qty, 0, 0, 0, 0)
            if not lvl.count:
                levels.erase(it)
            if killed:
                break
        if traded:
            self.last = last
            self.first = first
            self.traded_ever = True
        traded_out[0] = traded
        return remaining

    cdef int64_t prevent_self_trade(self, int64_t ts, Level* lvl, int64_t tid, int64_t tacct,
                                    int64_t remaining, int8_t mode) noexcept nogil:
        """The taker's STP ``mode`` against the resting order at the head of
        ``lvl`` (same account). Returns the taker's quantity left, or -1 when
        the taker is cancelled."""
        cdef int32_t slot = lvl.head
        cdef Order* m = &self.orders[slot]
        cdef int64_t d
        if mode == STP_CANCEL_RESTING or mode == STP_CANCEL_BOTH:
            self.ev(EV_CANCELLED, ts, m.order_id, m.account, m.qty, C_STP, 0, 0, 0)
            lvl.qty -= m.qty
            self.unlink(slot)
            if mode == STP_CANCEL_RESTING:
                return remaining
        if mode == STP_CANCEL_AGGRESSING or mode == STP_CANCEL_BOTH:
            self.ev(EV_CANCELLED, ts, tid, tacct, remaining, C_STP, 0, 0, 0)
            return -1
        # decrement and cancel: both lose the smaller open quantity
        d = m.qty if m.qty < remaining else remaining
        self.ev(EV_CANCELLED, ts, m.order_id, m.account, d, C_STP, 0, 0, 0)
        lvl.qty -= d
        if d == m.qty:
            self.unlink(slot)
        else:
            m.qty -= d
        self.ev(EV_CANCELLED, ts, tid, tacct, d, C_STP, 0, 0, 0)
        return remaining - d if remaining > d else -1

    cdef bint fillable(self, int8_t side, int64_t limit, int64_t account, int8_t stp, int64_t need) noexcept nogil:
        """Could a limit order trade ``need`` lots now (the FOK check)?
        Mirrors `match` without changing anything: an order of the same
        account ends the sweep unless STP is none or cancel-resting (which
        removes it and sweeps on)."""
        cdef bint buy = side == 0
        cdef cmap[int64_t, Level]* levels = &self.asks if buy else &self.bids
        cdef int8_t mode = self.mode_of(stp, account)
        cdef bint blocking = mode != STP_NONE and mode != STP_CANCEL_RESTING
        cdef bint skip_own = mode == STP_CANCEL_RESTING
        cdef int64_t got = 0
        cdef int32_t slot
        cdef Order* o
        cdef int64_t p
        cdef cmap[int64_t, Level].iterator it = levels.begin()
        while it != levels.end():
            p = deref(it).second.price
            if p > limit if buy else p < limit:
                break
            slot = deref(it).second.head
            while slot >= 0:
                o = &self.orders[slot]
                if o.account == account:
                    if blocking:
                        return got >= need
                    if not skip_own:
                        got += o.qty
                else:
                    got += o.qty
                slot = o.next
            if got >= need:
                return True
            inc(it)
        return got >= need

    cdef void rest(self, int64_t ts, int64_t oid, int64_t account, int8_t side, int64_t price, int64_t qty,
                   int8_t stp, int64_t filled) noexcept nogil:
        """Put ``qty`` of an order at the back of its price level and index it."""
        cdef cmap[int64_t, Level]* levels = &self.bids if side == 0 else &self.asks
        cdef Level* lvl = &deref(levels)[-price if side == 0 else price]
        cdef int32_t slot
        if not lvl.count:  # a new level (emptied ones are erased at once)
            lvl.price = price
            lvl.qty = 0
            lvl.head = -1
            lvl.tail = -1
        if self.free.empty():
            slot = <int32_t> self.orders.size()
            self.orders.resize(slot + 1)
        else:
            slot = self.free.back()
            self.free.pop_back()
        cdef Order* o = &self.orders[slot]
        o.order_id = oid
        o.account = account
        o.price = price
        o.qty = qty
        o.filled = filled
        o.side = side
        o.stp = stp
        o.level = lvl
        o.next = -1
        o.prev = lvl.tail
        if lvl.tail >= 0:
            self.orders[lvl.tail].next = slot
        else:
            lvl.head = slot
        lvl.tail = slot
        lvl.qty += qty
        lvl.count += 1
        self.index_put(oid, slot)
        self.ev(EV_RESTED, ts, oid, side, price, qty, qty, 0, 0)
        self.ev(EV_LEVEL, ts, side, price, lvl.qty, 0, 0, 0, 0)

    cdef void unlink(self, int32_t slot) noexcept nogil:
        """Take an order off its level's queue and out of the live index
        (the level's quantity is the caller's)."""
        cdef Order* o = &self.orders[slot]
        cdef Level* lvl = o.level
        if o.prev >= 0:
            self.orders[o.prev].next = o.next
        else:
            lvl.head = o.next
        if o.next >= 0:
            self.orders[o.next].prev = o.prev
        else:
            lvl.tail = o.prev
        lvl.count -= 1
        self.index_drop(o.order_id)
        self.free.push_back(slot)

    cdef void remove(self, int64_t ts, int32_t slot, int reason) noexcept nogil:
        """Cancel a resting order (``C_SILENT``: only the level change, for a
        modify that loses priority)."""
        cdef Order* o = &self.orders[slot]
        cdef Level* lvl = o.level
        cdef int8_t side = o.side
        cdef int64_t price = o.price
        if reason != C_SILENT:
            self.ev(EV_CANCELLED, ts, o.order_id, o.account, o.qty, reason, 0, 0, 0)
        lvl.qty -= o.qty
        o.qty = 0
        self.unlink(slot)
        self.ev(EV_LEVEL, ts, side, price, lvl.qty, 0, 0, 0, 0)
        cdef cmap[int64_t, Level]* levels
        if not lvl.count:
            levels = &self.bids if side == 0 else &self.asks
            levels.erase(-price if side == 0 else price)

    cdef void cancel(self, int64_t ts, int64_t oid, int64_t account) noexcept nogil:
        cdef int32_t slot = self.find(oid)
        if slot < 0:
            self.ev(EV_REJECTED, ts, oid, account, R_UNKNOWN_ORDER, 0, 0, 0, 0)
            return
        if self.orders[slot].account != account:
            self.ev(EV_REJECTED, ts, oid, account, R_NOT_OWNER, 1, 0, 0, 0)
            return
        self.remove(ts, slot, C_USER)

    cdef void modify(self, int64_t ts, int64_t oid, int64_t account, int64_t price, int64_t qty) noexcept nogil:
        """Cancel-replace: a decrease at the same price keeps time priority;
        any other change re-enters the order, which may trade."""
        cdef int reason = 0
        cdef int has_series = 1
        cdef int32_t slot = self.find(oid)
        if slot < 0:
            reason = R_UNKNOWN_ORDER
            has_series = 0
        else:
            if self.orders[slot].account != account:
                reason = R_NOT_OWNER
            elif qty <= 0:
                reason = R_BAD_QUANTITY
            elif qty > self.max_qty:
                reason = R_QUANTITY_TOO_LARGE
            elif price <= 0:
                reason = R_BAD_PRICE
        if reason:
            self.ev(EV_REJECTED, ts, oid, account, reason, has_series, 0, 0, 0)
            return
        cdef Order* o = &self.orders[slot]
        if price == o.price and qty <= o.qty:
            if qty < o.qty:
                o.level.qty -= o.qty - qty
                o.qty = qty
                self.ev(EV_LEVEL, ts, o.side, price, o.level.qty, 0, 0, 0, 0)
            self.ev(EV_MODIFIED, ts, oid, account, price, qty, 1, 0, 0)
            return
        cdef int8_t side = o.side
        cdef int8_t stp = o.stp
        cdef int64_t filled = o.filled
        self.remove(ts, slot, C_SILENT)
        self.ev(EV_MODIFIED, ts, oid, account, price, qty, 0, 0, 0)
        self.place(ts, oid, account, side, price, True, qty, stp, True, filled)

    # ------------------------------------------------------------------ the row buffer

    def rows(self):
        """The events since the last `clear`, as an (n, 11) int64 memoryview
        of the buffer (None when there are none): valid until the next
        `apply` or `clear`."""
        cdef Py_ssize_t n = self.n // W
        if n == 0:
            return None
        return <int64_t[:n, :W]> self.buf

    def row_count(self):
        return self.n // W

    def clear(self):
        self.n = 0

    def fills_text(self):
        """``maker_id,taker_id,price,qty\\n`` for each trade in the buffer:
        what the fills hash is taken over (the benchmark yardstick's)."""
        cdef Py_ssize_t i, used = 0, size = 96 * (self.n // W) + 96
        cdef bytearray out = bytearray(size)
        cdef char* dst = out
        cdef int64_t* r
        for i in range(0, self.n, W):
            r = self.buf + i
            if r[0] == EV_TRADE:
                used += snprintf(dst + used, 96, b"%lld,%lld,%lld,%lld\n", <long long> r[6], <long long> r[7],
                                 <long long> r[4], <long long> r[5])
        del out[used:]
        return bytes(out)

    # ------------------------------------------------------------------ queries

    @property
    def last_price(self):
        return self.last if self.traded_ever else None

    @property
    def first_price(self):
        return self.first if self.traded_ever else None

    def best_bid(self):
        return None if self.bids.empty() else -deref(self.bids.begin()).first

    def best_ask(self):
        return None if self.asks.empty() else deref(self.asks.begin()).first

    def levels(self, int side):
        """(price, visible qty, live orders) per level of one side (0 buy,
        1 sell), best first."""
        out = []
        cdef cmap[int64_t, Level]* levels = &self.bids if side == 0 else &self.asks
        cdef cmap[int64_t, Level].iterator it = levels.begin()
        while it != levels.end():
            out.append((deref(it).second.price, deref(it).second.qty, deref(it).second.count))
            inc(it)
        return out

    def orders_at(self, int side, int64_t price):
        """(order_id, account, qty, filled) of the live orders at one price, in queue order."""
        cdef cmap[int64_t, Level]* levels = &self.bids if side == 0 else &self.asks
        cdef cmap[int64_t, Level].iterator it = levels.find(-price if side == 0 else price)
        cdef Order* o
        out = []
        if it == levels.end():
            return out
        cdef int32_t slot = deref(it).second.head
        while slot >= 0:
            o = &self.orders[slot]
            out.append((o.order_id, o.account, o.qty, o.filled))
            slot = o.next
        return out

    def order(self, int64_t oid):
        """(side, price, qty, filled, account) of a live order, or None."""
        cdef int32_t slot = self.find(oid)
        cdef Order* o
        if slot < 0:
            return None
        o = &self.orders[slot]
        return (o.side, o.price, o.qty, o.filled, o.account)

    def live_count(self):
        return self.live

    def check(self):
        """Assert the book's invariants (for tests): levels non-empty and
        consistent with their queues, never crossed, every queued order live."""
        cdef int side
        cdef int64_t qty, count
        cdef int32_t slot, prev
        cdef cmap[int64_t, Level]* levels
        cdef cmap[int64_t, Level].iterator it
        cdef Level* lvl
        cdef Order* o
        total = 0
        for side in (0, 1):
            levels = &self.bids if side == 0 else &self.asks
            it = levels.begin()
            while it != levels.end():
                lvl = &deref(it).second
                assert lvl.count > 0, ("empty level", side, lvl.price)
                assert deref(it).first == (-lvl.price if side == 0 else lvl.price)
                qty = 0
                count = 0
                slot = lvl.head
                prev = -1
                while slot >= 0:
                    o = &self.orders[slot]
                    assert o.prev == prev and o.level == lvl and o.side == side and o.price == lvl.price
                    assert o.qty > 0, ("dead order queued", o.order_id)
                    assert self.find(o.order_id) == slot
                    qty += o.qty
                    count += 1
                    prev = slot
                    slot = o.next
                assert lvl.tail == prev
                assert qty == lvl.qty and count == lvl.count, ("level totals", side, lvl.price)
                total += count
                inc(it)
        assert total == self.live, ("live index", total, self.live)
        assert sum(self.index[i].slot >= 0 for i in range(self.mask + 1)) == self.live
        bb, ba = self.best_bid(), self.best_ask()
        assert bb is None or ba is None or bb < ba, ("crossed", bb, ba)
