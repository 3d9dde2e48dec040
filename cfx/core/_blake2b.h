/* BLAKE2b's compression function (RFC 7693), for cfx/core/_journal.pyx:
   the rounds written out so that the compiler keeps the state in registers.
   Little-endian words are read byte by byte (any host). */
#ifndef CFX_BLAKE2B_H
#define CFX_BLAKE2B_H

#include <stdint.h>

static const uint64_t cfx_blake2b_iv[8] = {
    0x6A09E667F3BCC908ULL, 0xBB67AE8584CAA73BULL, 0x3C6EF372FE94F82BULL, 0xA54FF53A5F1D36F1ULL,
    0x510E527FADE682D1ULL, 0x9B05688C2B3E6C1FULL, 0x1F83D9ABFB41BD6BULL, 0x5BE0CD19137E2179ULL,
};

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
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static inline uint64_t cfx_rotr64(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

static inline uint64_t cfx_load64(const uint8_t *p) {
    return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) | ((uint64_t)p[3] << 24) |
           ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) | ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
}

#define CFX_G(r, i, a, b, c, d)                                  \
    do {                                                         \
        a = a + b + m[cfx_blake2b_sigma[r][2 * i]];              \
        d = cfx_rotr64(d ^ a, 32);                               \
        c = c + d;                                               \
        b = cfx_rotr64(b ^ c, 24);                               \
        a = a + b + m[cfx_blake2b_sigma[r][2 * i + 1]];          \
        d = cfx_rotr64(d ^ a, 16);                               \
        c = c + d;                                               \
        b = cfx_rotr64(b ^ c, 63);                               \
    } while (0)

#define CFX_ROUND(r)                              \
    do {                                          \
        CFX_G(r, 0, v0, v4, v8, v12);             \
        CFX_G(r, 1, v1, v5, v9, v13);             \
        CFX_G(r, 2, v2, v6, v10, v14);            \
        CFX_G(r, 3, v3, v7, v11, v15);            \
        CFX_G(r, 4, v0, v5, v10, v15);            \
        CFX_G(r, 5, v1, v6, v11, v12);            \
        CFX_G(r, 6, v2, v7, v8, v13);             \
        CFX_G(r, 7, v3, v4, v9, v14);             \
    } while (0)

/* One 128-byte block into the state h; t: the bytes hashed so far, this
   block's included (below 2**64); last: the final block. */
static void cfx_blake2b_compress(uint64_t h[8], const uint8_t *block, uint64_t t, int last) {
    uint64_t m[16];
    for (int i = 0; i < 16; i++) m[i] = cfx_load64(block + 8 * i);
    uint64_t v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3], v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
    uint64_t v8 = cfx_blake2b_iv[0], v9 = cfx_blake2b_iv[1], v10 = cfx_blake2b_iv[2], v11 = cfx_blake2b_iv[3];
    uint64_t v12 = cfx_blake2b_iv[4] ^ t, v13 = cfx_blake2b_iv[5], v14 = cfx_blake2b_iv[6], v15 = cfx_blake2b_iv[7];
    if (last) v14 = ~v14;
    CFX_ROUND(0);
    CFX_ROUND(1);
    CFX_ROUND(2);
    CFX_ROUND(3);
    CFX_ROUND(4);
    CFX_ROUND(5);
    CFX_ROUND(6);
    CFX_ROUND(7);
    CFX_ROUND(8);
    CFX_ROUND(9);
    CFX_ROUND(10);
    CFX_ROUND(11);
    h[0] ^= v0 ^ v8;
    h[1] ^= v1 ^ v9;
    h[2] ^= v2 ^ v10;
    h[3] ^= v3 ^ v11;
    h[4] ^= v4 ^ v12;
    h[5] ^= v5 ^ v13;
    h[6] ^= v6 ^ v14;
    h[7] ^= v7 ^ v15;
}

#undef CFX_G
#undef CFX_ROUND

#endif
