# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# distutils: language = c++
"""Order-message CSV text straight into typed columns (cfx/core/columns.py
drives it). It reads the plain form only: comma-separated, no quotes,
integers as ``-?digits``. Any other line makes it give up, and the caller
lets the pure-Python loader read the file (which names the line and field
of a real mistake)."""

from libc.stdint cimport int8_t, int64_t
from libc.string cimport memcmp

# column ids (what each CSV field feeds; -1: ignored)
cdef enum:
    C_TS = 0
    C_KIND = 1
    C_ORDER_ID = 2
    C_ACCOUNT = 3
    C_SIDE = 4
    C_PRICE = 5
    C_QTY = 6


cdef inline bint parse_int(const unsigned char* s, Py_ssize_t n, int64_t* out) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef bint neg = False
    cdef int64_t v = 0
    if n and s[0] == c'-':
        neg = True
        i = 1
    if i == n or n - i > 18:  # empty, or might not fit in 64 bits
        return False
    while i < n:
        if s[i] < c'0' or s[i] > c'9':
            return False
        v = v * 10 + (s[i] - c'0')
        i += 1
    out[0] = -v if neg else v
    return True


cdef inline int parse_kind(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """The core's kind code (cfx/core/_book.pyx K_*), or -1."""
    if n == 5 and memcmp(s, b"limit", 5) == 0:
        return 0
    if n == 6 and memcmp(s, b"cancel", 6) == 0:
        return 4
    if n == 6 and memcmp(s, b"market", 6) == 0:
        return 1
    if n == 3 and memcmp(s, b"ioc", 3) == 0:
        return 2
    if n == 3 and memcmp(s, b"fok", 3) == 0:
        return 3
    if n == 6 and memcmp(s, b"modify", 6) == 0:
        return 5
    return -1


def parse(const unsigned char[::1] buf, const int[::1] column_of, int64_t[::1] ts, int8_t[::1] kind,
          int64_t[::1] order_id, int64_t[::1] account, int8_t[::1] side, int64_t[::1] price,
          int64_t[::1] qty):
    """Parse the header-less lines of ``buf`` (``column_of[field]`` says
    which column each CSV field feeds) into the columns, which must have a
    row per line. Returns the rows read, or -1 when a line is not in the
    plain form."""
    cdef Py_ssize_t size = buf.shape[0], n
    if size == 0:
        return 0
    with nogil:
        n = scan(&buf[0], size, &column_of[0], column_of.shape[0], &ts[0], &kind[0], &order_id[0],
                 &account[0], &side[0], &price[0], &qty[0])
    return n


cdef Py_ssize_t scan(const unsigned char* s, Py_ssize_t size, const int* column_of, Py_ssize_t width,
                     int64_t* ts, int8_t* kind, int64_t* order_id, int64_t* account, int8_t* side,
                     int64_t* price, int64_t* qty) noexcept nogil:
    cdef Py_ssize_t pos = 0, end, e, p, q, field, n = 0
    cdef int c, k
    cdef int64_t v
    cdef const unsigned char* side_s
    cdef Py_ssize_t side_n
    while pos < size:
        end = pos
        while end < size and s[end] != c'\n':
            end += 1
        e = end
        if e > pos and s[e - 1] == c'\r':
            e -= 1
        if e == pos:  # blank line: the csv module skips it too
            pos = end + 1
            continue
        field = 0
        p = pos
        k = -1
        side_s = NULL
        side_n = 0
        while True:
            q = p
            while q < e and s[q] != c',':
                q += 1
            if field >= width or (q > p and s[p] == c'"'):
                return -1
            c = column_of[field]
            if c == C_KIND:
                k = parse_kind(s + p, q - p)
                if k < 0:
                    return -1
                kind[n] = k
            elif c == C_SIDE:
                side_s = s + p
                side_n = q - p
            elif c >= 0:
                if not parse_int(s + p, q - p, &v):
                    return -1
                if c == C_TS:
                    ts[n] = v
                elif c == C_ORDER_ID:
                    order_id[n] = v
                elif c == C_ACCOUNT:
                    account[n] = v
                elif c == C_PRICE:
                    price[n] = v
                else:
                    qty[n] = v
            field += 1
            if q >= e:
                break
            p = q + 1
        if field != width:
            return -1
        if side_n == 3 and memcmp(side_s, b"buy", 3) == 0:
            side[n] = 0
        elif side_n == 4 and memcmp(side_s, b"sell", 4) == 0:
            side[n] = 1
        elif k >= 4:  # a cancel or modify: its side is not read
            side[n] = 0
        else:
            return -1
        n += 1
        pos = end + 1
    return n
