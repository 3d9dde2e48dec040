# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
# distutils: language = c++
"""The compiled `cfx.journal.PyRecords`: a journal's records built in C.
cfx/journal.py has the readable reference and the format; the two give
the same bytes record for record (tests/test_journal_records.py).

A record is ``SEQ HASH JSON`` and a newline, the hash chained:
blake2b-128 of the previous record's hash and the command's JSON. The
reference calls hashlib for each (a copy of a fresh hash, an update, a
digest) and formats the record with ``%``; here BLAKE2b is computed in
one call over the two pieces (RFC 7693, unkeyed, 16-byte digest: the
compression function in cfx/core/_blake2b.h) and the record written
straight into its bytes object. The command is still encoded by the
journal's msgspec encoder (its ``encode``, given)."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memcpy, memset

cdef enum:
    HASH_BYTES = 16
    BLOCK = 128

cdef extern from "_blake2b.h":
    const uint64_t* cfx_blake2b_iv
    void compress "cfx_blake2b_compress"(uint64_t* h, const uint8_t* block, uint64_t t, int last) noexcept nogil

cdef const char* HEX = b"0123456789abcdef"


cdef void blake2b_128(const uint8_t* head, Py_ssize_t n_head, const uint8_t* rest, Py_ssize_t n_rest,
                      uint8_t* out) noexcept nogil:
    """``out``: the 16-byte BLAKE2b (unkeyed) of ``head`` then ``rest``
    (``n_head`` at most a block): what ``hashlib.blake2b(head + rest,
    digest_size=16).digest()`` gives."""
    cdef uint64_t[8] h
    cdef uint8_t[BLOCK] block
    cdef Py_ssize_t total = n_head + n_rest, done = 0, take, at
    cdef int i
    for i in range(8):
        h[i] = cfx_blake2b_iv[i]
    h[0] ^= 0x01010000 ^ HASH_BYTES  # the parameter block: digest length 16, no key, fanout and depth 1
    while True:
        take = total - done if total - done < BLOCK else BLOCK  # the last block, even a full one, is flagged last
        # the block's bytes: from head while it lasts, then from rest
        at = 0
        if done < n_head:
            at = n_head - done if n_head - done < take else take
            memcpy(block, head + done, at)
        if at < take:
            memcpy(block + at, rest + (done + at - n_head), take - at)
        if take < BLOCK:
            memset(block + take, 0, BLOCK - take)
        done += take
        if done == total:
            compress(h, block, <uint64_t>done, True)
            break
        compress(h, block, <uint64_t>done, False)
    for i in range(HASH_BYTES):
        out[i] = <uint8_t>(h[i // 8] >> (8 * (i % 8)))


def blake2b_16(bytes data):
    """The 16-byte BLAKE2b of ``data``, as ``hashlib.blake2b(data,
    digest_size=16).digest()`` (for the tests: the hash the records use)."""
    cdef uint8_t[HASH_BYTES] out
    blake2b_128(<const uint8_t*>PyBytes_AS_STRING(data), 0, <const uint8_t*>PyBytes_AS_STRING(data),
                PyBytes_GET_SIZE(data), out)
    return PyBytes_FromStringAndSize(<char*>out, HASH_BYTES)


cdef class Records:
    """A journal's records, one a command, as `cfx.journal.PyRecords`
    builds them: ``encode`` makes a command's JSON; ``count`` records
    were written before, the last with hash ``chain``."""

    cdef object encode
    cdef readonly long long count
    cdef uint8_t[HASH_BYTES] h

    def __init__(self, encode, long long count, bytes chain):
        if len(chain) != HASH_BYTES:
            raise ValueError(f"a chain hash is {HASH_BYTES} bytes")
        self.encode = encode
        self.count = count
        memcpy(self.h, PyBytes_AS_STRING(chain), HASH_BYTES)

    @property
    def chain(self) -> bytes:
        """The last record's hash."""
        return PyBytes_FromStringAndSize(<char*>self.h, HASH_BYTES)

    def record(self, cmd) -> bytes:
        """The next record, of ``cmd``: its sequence number, the chained hash, its JSON."""
        line = self.encode(cmd)
        if type(line) is not bytes:
            raise TypeError("encode must give bytes")
        cdef Py_ssize_t n = PyBytes_GET_SIZE(<bytes>line), digits = 1, i
        cdef long long seq = self.count + 1, rest
        cdef uint8_t[HASH_BYTES] h
        if seq <= 0:
            raise OverflowError("journal record number out of range")
        rest = seq
        while rest >= 10:
            rest //= 10
            digits += 1
        blake2b_128(self.h, HASH_BYTES, <const uint8_t*>PyBytes_AS_STRING(<bytes>line), n, h)
        out = PyBytes_FromStringAndSize(NULL, digits + 1 + 2 * HASH_BYTES + 1 + n + 1)
        cdef char* p = PyBytes_AS_STRING(out)
        rest = seq
        for i in range(digits - 1, -1, -1):
            p[i] = <char>(48 + rest % 10)
            rest //= 10
        p += digits
        p[0] = 32
        p += 1
        for i in range(HASH_BYTES):
            p[2 * i] = HEX[h[i] >> 4]
            p[2 * i + 1] = HEX[h[i] & 15]
        p += 2 * HASH_BYTES
        p[0] = 32
        memcpy(p + 1, PyBytes_AS_STRING(<bytes>line), n)
        p[1 + n] = 10
        self.count = seq
        memcpy(self.h, h, HASH_BYTES)
        return out
