# cython: language_level=3
# distutils: language = c++
"""The compiled twin of `cfx.journal.Journal.write` (cfx/journal.py, the
readable reference, says the format, the chain and the crash semantics):
one C call a record encodes the command (the journal's msgspec encoder,
called from here), chains the hash, formats the record (sequence number,
32 hex digits, the JSON, a newline) into a buffer kept across records and
copies it into the journal's shared map. The bytes are the reference's
(tests/test_journal_twin.py holds the two to that, records straddling the
map's growth included).

`cfx.journal.CompiledJournal` holds a `RecordWriter` and hands it the
map each time `Journal._grow` maps the file again: the writer keeps a
buffer exported from the map (`mmap.close()` refuses while one is), so
the journal releases it before closing or growing the map. When a record
does not fit, the writer calls the journal's `_grow`, which grows, maps
and hands the map back (or, where the file cannot be mapped, its `write`:
the record is then written as bytes). A full disk is the `OSError` of
`_grow`, as in the reference; ``count`` and the chain have then moved on
and ``offset`` has not, as there.

The hash is BLAKE2b (RFC 7693) with a 16-byte digest, no key, the
parameters of ``hashlib.blake2b(digest_size=16)``, over the previous
hash and the JSON, which the buffer holds next to each other (the
previous hash goes where the hex digits then go). The compression is the
reference implementation's, written out below (the BLAKE2 reference code
is CC0, see its header). It is the code hashlib's blake2b runs here
(CPython 3.11 bundles blake2b-ref.c): the same instructions for the hash
(callgrind, 2-day baseline: 67 M either way), without the four calls and
two objects a record hashlib's would still cost when called from C
(``copy``, ``update`` twice, ``digest``).
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy

cdef extern from *:
    """
    /*
       BLAKE2b, after the BLAKE2 reference source code package (blake2b-ref.c)

       Copyright 2012, Samuel Neves <sneves@dei.uc.pt>.  You may use this under the
       terms of the CC0, the OpenSSL Licence, or the Apache Public License 2.0, at
       your option.  The terms of these licenses can be found at:

       - CC0 1.0 Universal : http://creativecommons.org/publicdomain/zero/1.0
       - OpenSSL license   : https://www.openssl.org/source/license.html
       - Apache 2.0        : http://www.apache.org/licenses/LICENSE-2.0

       More information about the BLAKE2 hash function can be found at
       https://blake2.net.

       Cut down here to what the journal needs: one whole message at a time,
       no key, a 16-byte digest.
    */
    #include <stdint.h>
    #include <string.h>

    static const uint64_t cfx_blake2b_IV[8] = {
        0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
        0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

    static const uint8_t cfx_blake2b_sigma[12][16] = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
        {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
        {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
        {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
        {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
        {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
        {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
        {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
        {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
        {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
        {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

    static inline uint64_t cfx_load64(const uint8_t *p) {
        return ((uint64_t)p[0]) | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) | ((uint64_t)p[3] << 24) |
               ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) | ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
    }

    static inline uint64_t cfx_rotr64(uint64_t w, unsigned c) { return (w >> c) | (w << (64 - c)); }

    #define CFX_G(r, i, a, b, c, d)                         \\
        do {                                                \\
            a = a + b + m[cfx_blake2b_sigma[r][2 * i + 0]]; \\
            d = cfx_rotr64(d ^ a, 32);                      \\
            c = c + d;                                      \\
            b = cfx_rotr64(b ^ c, 24);                      \\
            a = a + b + m[cfx_blake2b_sigma[r][2 * i + 1]]; \\
            d = cfx_rotr64(d ^ a, 16);                      \\
            c = c + d;                                      \\
            b = cfx_rotr64(b ^ c, 63);                      \\
        } while (0)

    #define CFX_ROUND(r)                           \\
        do {                                       \\
            CFX_G(r, 0, v[0], v[4], v[8], v[12]);  \\
            CFX_G(r, 1, v[1], v[5], v[9], v[13]);  \\
            CFX_G(r, 2, v[2], v[6], v[10], v[14]); \\
            CFX_G(r, 3, v[3], v[7], v[11], v[15]); \\
            CFX_G(r, 4, v[0], v[5], v[10], v[15]); \\
            CFX_G(r, 5, v[1], v[6], v[11], v[12]); \\
            CFX_G(r, 6, v[2], v[7], v[8], v[13]);  \\
            CFX_G(r, 7, v[3], v[4], v[9], v[14]);  \\
        } while (0)

    static void cfx_blake2b_compress(uint64_t h[8], const uint8_t block[128], uint64_t t, int last) {
        uint64_t m[16], v[16];
        for (int i = 0; i < 16; ++i) m[i] = cfx_load64(block + 8 * i);
        for (int i = 0; i < 8; ++i) v[i] = h[i];
        for (int i = 0; i < 8; ++i) v[i + 8] = cfx_blake2b_IV[i];
        v[12] ^= t;  /* the counter's high word is 0: a message is well under 2**64 bytes */
        if (last) v[14] = ~v[14];
        CFX_ROUND(0); CFX_ROUND(1); CFX_ROUND(2); CFX_ROUND(3); CFX_ROUND(4); CFX_ROUND(5);
        CFX_ROUND(6); CFX_ROUND(7); CFX_ROUND(8); CFX_ROUND(9); CFX_ROUND(10); CFX_ROUND(11);
        for (int i = 0; i < 8; ++i) h[i] ^= v[i] ^ v[i + 8];
    }

    /* blake2b with a 16-byte digest and no key of the n bytes at p, into out */
    static void cfx_blake2b_128(uint8_t out[16], const uint8_t *p, size_t n) {
        uint64_t h[8];
        uint8_t block[128];
        uint64_t t = 0;
        for (int i = 0; i < 8; ++i) h[i] = cfx_blake2b_IV[i];
        h[0] ^= 0x01010000ULL ^ 16;  /* depth 1, fanout 1, no key, digest length 16 */
        while (n > 128) {
            t += 128;
            cfx_blake2b_compress(h, p, t, 0);
            p += 128;
            n -= 128;
        }
        memset(block, 0, sizeof block);
        memcpy(block, p, n);
        t += n;
        cfx_blake2b_compress(h, block, t, 1);
        for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 8; ++j) out[8 * i + j] = (uint8_t)(h[i] >> (8 * j));
    }
    """
    void cfx_blake2b_128(uint8_t* out, const uint8_t* p, size_t n) nogil


cdef const char* HEX = b"0123456789abcdef"
DEF HASH = 16


def blake2b_128(bytes data):
    """The blake2b-128 digest of ``data``, as ``hashlib.blake2b(data,
    digest_size=16).digest()`` (for the tests)."""
    cdef uint8_t out[HASH]
    cfx_blake2b_128(out, <const uint8_t*>PyBytes_AS_STRING(data), <size_t>PyBytes_GET_SIZE(data))
    return PyBytes_FromStringAndSize(<char*>out, HASH)


cdef class RecordWriter:
    """A journal's records, each written in one call (`write`): its
    sequence number (``count``), chain (``chain``) and the byte offset
    after its last record (``offset``) are kept here, and read and set by
    the `cfx.journal.CompiledJournal` that holds it."""

    cdef public long long count
    cdef public long long offset
    cdef uint8_t h[HASH]
    cdef object encode
    cdef object journal
    cdef object put  # the file's write, where the file is not mapped; else None
    cdef Py_buffer view
    cdef bint mapped
    cdef char* buf
    cdef Py_ssize_t cap

    def __cinit__(self, journal, encode):
        self.journal = journal
        self.encode = encode
        self.put = None
        self.mapped = False
        self.buf = NULL
        self.cap = 0

    def __dealloc__(self):
        if self.mapped:
            PyBuffer_Release(&self.view)
        free(self.buf)

    @property
    def chain(self):
        """The running hash after the last record (16 bytes)."""
        return PyBytes_FromStringAndSize(<char*>self.h, HASH)

    @chain.setter
    def chain(self, bytes value):
        if PyBytes_GET_SIZE(value) != HASH:
            raise ValueError(f"a journal's chain is {HASH} bytes, not {len(value)}")
        memcpy(self.h, PyBytes_AS_STRING(value), HASH)

    def attach(self, target, put):
        """Write records into ``target`` (the journal's map, the file
        grown past ``offset``), or, with ``target`` None, through ``put``
        (the file's ``write``); a buffer held on an earlier map is released."""
        self.release()
        if target is not None:
            PyObject_GetBuffer(target, &self.view, PyBUF_SIMPLE | PyBUF_WRITABLE)
            self.mapped = True
        else:
            self.put = put

    def release(self):
        """Let go of the map (before it is closed) and of ``put``."""
        if self.mapped:
            self.mapped = False
            PyBuffer_Release(&self.view)
        self.put = None

    cdef char* room(self, Py_ssize_t n) except NULL:
        cdef char* p
        if n > self.cap:
            p = <char*>realloc(self.buf, n + 256)
            if p == NULL:
                raise MemoryError()
            self.buf = p
            self.cap = n + 256
        return self.buf

    def write(self, cmd):
        """Journal ``cmd``: `cfx.journal.Journal.write`'s record, in the
        map (or the file) before this returns."""
        cdef bytes line = self.encode(cmd)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(line)
        cdef long long seq = self.count + 1
        cdef long long q = seq
        cdef Py_ssize_t digits = 1
        while q >= 10:
            q //= 10
            digits += 1
        cdef Py_ssize_t at = digits + 2 + 2 * HASH  # where the JSON starts
        cdef Py_ssize_t size = at + n + 1
        cdef char* b = self.room(size)
        cdef uint8_t* h = self.h
        cdef Py_ssize_t i
        memcpy(b + at - HASH, h, HASH)  # the previous hash just before the JSON: h(n-1) || json(n)
        memcpy(b + at, PyBytes_AS_STRING(line), n)
        cfx_blake2b_128(h, <const uint8_t*>(b + at - HASH), <size_t>(n + HASH))
        self.count = seq
        q = seq
        i = digits - 1
        while i >= 0:
            b[i] = <char>(48 + q % 10)
            q //= 10
            i -= 1
        b[digits] = 32
        for i in range(HASH):
            b[digits + 1 + 2 * i] = HEX[h[i] >> 4]
            b[digits + 2 + 2 * i] = HEX[h[i] & 15]
        b[at - 1] = 32
        b[at + n] = 10
        if not (self.mapped and self.offset + size <= self.view.len):
            if self.put is None:  # the map is full (or closed): grown, and handed back by `attach`
                self.journal._grow(size)
            if not self.mapped:
                self.put(PyBytes_FromStringAndSize(b, size))
                self.offset += size
                return
        memcpy(<char*>self.view.buf + self.offset, b, size)
        self.offset += size
