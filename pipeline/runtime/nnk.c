/* nnk: tinympq's portable integer kernels. Elements through nnk_get/nnk_put where nothing
 * faster applies; dot products of byte-aligned runs in blocks with two MACs per SMLAD (8/8,
 * 4/4, 2/2, 8/4 and 8/2 bits), int32 accumulation, the requantisation of nnk.h. Every kernel
 * zeroes each sub-byte output run before writing it (8-bit runs are stored byte by byte), so
 * padding bits are always 0 (checksums depend on it). */
#include "nnk.h"

static void zero(uint8_t *p, int32_t n) {
    for (int32_t i = 0; i < n; ++i) p[i] = 0;
}

/* Element i of an output run: a plain byte store at 8 bits (the run needs no zeroing then),
 * else nnk_put into the zeroed run. */
static inline void store(uint8_t *run, int32_t i, int32_t bits, int32_t v) {
    if (bits == 8) run[i] = (uint8_t)v;
    else nnk_put(run, i, bits, v);
}

/* Two-lane 16-bit helpers. With the Cortex-M DSP extension (__ARM_FEATURE_DSP: M4, M7,
 * M33) each is one instruction; elsewhere the same arithmetic in C, so the host build runs the
 * very same blocked loops. Lanes: bits 0-15 and 16-31 of a word. */
#if defined(__ARM_FEATURE_DSP)
static inline uint32_t sx16(uint32_t x) { uint32_t r; __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x)); return r; }
static inline uint32_t sx16r(uint32_t x) { uint32_t r; __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x)); return r; }
static inline uint32_t ux16(uint32_t x) { uint32_t r; __asm__("uxtb16 %0, %1" : "=r"(r) : "r"(x)); return r; }
static inline uint32_t ux16r(uint32_t x) { uint32_t r; __asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x)); return r; }
static inline uint32_t pk_bt(uint32_t a, uint32_t b) { uint32_t r; __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b)); return r; }
static inline uint32_t pk_tb(uint32_t a, uint32_t b) { uint32_t r; __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b)); return r; }
static inline int32_t smlad(uint32_t a, uint32_t b, int32_t acc) {
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
static inline int32_t smlabb(uint32_t a, uint32_t b, int32_t acc) {
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
static inline int32_t smlatt(uint32_t a, uint32_t b, int32_t acc) {
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#else
/* Bytes 0 and 2 of x, sign- or zero-extended into the two lanes (ror: bytes 1 and 3). */
static inline uint32_t sx16(uint32_t x) { return ((uint32_t)(int32_t)(int8_t)x & 0xFFFFu) | ((uint32_t)(int32_t)(int8_t)(x >> 16) << 16); }
static inline uint32_t sx16r(uint32_t x) { return sx16(x >> 8 | x << 24); }
static inline uint32_t ux16(uint32_t x) { return x & 0x00FF00FFu; }
static inline uint32_t ux16r(uint32_t x) { return (x >> 8) & 0x00FF00FFu; }
/* Low lane of a, low lane of b as the high lane; high lane of a, high lane of b as the low lane. */
static inline uint32_t pk_bt(uint32_t a, uint32_t b) { return (a & 0xFFFFu) | (b << 16); }
static inline uint32_t pk_tb(uint32_t a, uint32_t b) { return (a & 0xFFFF0000u) | (b >> 16); }
static inline int32_t smlad(uint32_t a, uint32_t b, int32_t acc) {
    return acc + (int32_t)(int16_t)a * (int16_t)b + (int32_t)(int16_t)(a >> 16) * (int16_t)(b >> 16);
}
/* One MAC of the low (bb) or high (tt) lanes. */
static inline int32_t smlabb(uint32_t a, uint32_t b, int32_t acc) { return acc + (int32_t)(int16_t)a * (int16_t)b; }
static inline int32_t smlatt(uint32_t a, uint32_t b, int32_t acc) { return acc + (int32_t)(int16_t)(a >> 16) * (int16_t)(b >> 16); }
#endif

/* Four bytes as a little-endian word (any alignment: Cortex-M3 and up load unaligned words;
 * the fixed-size copy compiles to one load, no libc call). */
static inline uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
static inline uint32_t xt16(uint32_t x, int32_t sgn) { return sgn ? sx16(x) : ux16(x); }
static inline uint32_t xt16r(uint32_t x, int32_t sgn) { return sgn ? sx16r(x) : ux16r(x); }

/* Σ x·w over n elements of two runs that start on a byte, lanes packed for SMLAD (two MACs
 * per instruction), each word unpacked once. Sub-byte elements are moved to the top of their
 * byte (scaled by 16 or 64), so one sign- or zero-extension makes a lane; the scale is shifted
 * out exactly at the end. The tail after the last whole block goes one element at a time.
 * n ≤ 16384 keeps the scaled lane sums inside int32 (dot() splits longer runs). */
typedef int32_t (*nnk_dot_fn)(const uint8_t *x, int32_t xs, int32_t xbits, const uint8_t *w, int32_t wbits, int32_t n);

static inline int32_t dot_tail(const uint8_t *x, int32_t xs, int32_t xbits, const uint8_t *w, int32_t wbits, int32_t i, int32_t n) {
    int32_t acc = 0;
    if (i >= n) return 0;
    for (; i < n; ++i) acc += nnk_get(x, i, xbits, xs) * nnk_get(w, i, wbits, 1);
    return acc;
}

static int32_t dot_8x8(const uint8_t *x, int32_t xs, int32_t xbits, const uint8_t *w, int32_t wbits, int32_t n) {
    int32_t acc = 0, i = 0; /* lanes (0,2) and (1,3) of four elements */
    if (xs) {
        for (; i + 4 <= n; i += 4) {
            const uint32_t xw = rd32(x + i), ww = rd32(w + i);
            acc = smlad(sx16(xw), sx16(ww), acc);
            acc = smlad(sx16r(xw), sx16r(ww), acc);
        }
    } else {
        for (; i + 4 <= n; i += 4) {
            const uint32_t xw = rd32(x + i), ww = rd32(w + i);
            acc = smlad(ux16(xw), sx16(ww), acc);
            acc = smlad(ux16r(xw), sx16r(ww), acc);
        }
    }
    return acc + dot_tail(x, xs, xbits, w, wbits, i, n);
}

/* Eight 4-bit weights (one word; ×16 in the lanes (0,4) (2,6) (1,5) (3,7)) against input lanes
 * in the same order. */
static inline __attribute__((always_inline)) int32_t mac_w4(uint32_t x04, uint32_t x26, uint32_t x15, uint32_t x37, uint32_t w, int32_t acc) {
    const uint32_t wl = (w << 4) & 0xF0F0F0F0u, wh = w & 0xF0F0F0F0u;
    acc = smlad(x04, sx16(wl), acc);
    acc = smlad(x26, sx16r(wl), acc);
    acc = smlad(x15, sx16(wh), acc);
    return smlad(x37, sx16r(wh), acc);
}

static inline __attribute__((always_inline)) int32_t dot_4x4_body(const uint8_t *x, const int32_t xs, int32_t xbits, const uint8_t *w, int32_t wbits, int32_t n) {
    int32_t acc = 0, i = 0; /* eight elements: lanes (0,4) (2,6) (1,5) (3,7), ×16 each */
    for (; i + 8 <= n; i += 8) {
        const uint32_t xw = rd32(x + i / 2), ww = rd32(w + i / 2);
        const uint32_t xl = (xw << 4) & 0xF0F0F0F0u, xh = xw & 0xF0F0F0F0u;
        acc = mac_w4(xt16(xl, xs), xt16r(xl, xs), xt16(xh, xs), xt16r(xh, xs), ww, acc);
    }
    return (acc >> 8) + dot_tail(x, xs, xbits, w, wbits, i, n);
}
/* The signedness is a constant inside each copy, so the loop carries no branch. */
static int32_t dot_4x4(const uint8_t *x, int32_t xs, int32_t xbits, const uint8_t *w, int32_t wbits, int32_t n) {
    return xs ? dot_4x4_body(x, 1, xbits, w, wbits, n) : dot_4x4_body(x, 0, xbits, w, wbits, n);
}

static inline __attribute__((always_inline)) int32_t dot_2x2_body(const uint8_t *x, const int32_t xs, int32_t xbits, const uint8_t *w, int32_t wbits, int32_t n) {
    int32_t acc = 0, i = 0; /* sixteen elements: lanes (k, k+8) and (k+4, k+12), ×64 each */
    for (; i + 16 <= n; i += 16) {
        const uint32_t xw = rd32(x + i / 4), ww = rd32(w + i / 4);
        for (int32_t k = 0; k < 4; ++k) {
            const int32_t sh = 6 - 2 * k;
            const uint32_t xk = (xw << sh) & 0xC0C0C0C0u, wk = (ww << sh) & 0xC0C0C0C0u;
            acc = smlad(xt16(xk, xs), sx16(wk), acc);
            acc = smlad(xt16r(xk, xs), sx16r(wk), acc);
        }
    }
    return (acc >> 12) + dot_tail(x, xs, xbits, w, wbits, i, n);
}
static int32_t dot_2x2(const uint8_t *x, int32_t xs, int32_t xbits, const uint8_t *w, int32_t wbits, int32_t n) {
    return xs ? dot_2x2_body(x, 1, xbits, w, wbits, n) : dot_2x2_body(x, 0, xbits, w, wbits, n);
}

static inline __attribute__((always_inline)) int32_t dot_8x4_body(const uint8_t *x, const int32_t xs, int32_t xbits, const uint8_t *w, int32_t wbits, int32_t n) {
    int32_t acc = 0, i = 0; /* eight elements; 8-bit lanes repacked to the weights' (0,4) (2,6) (1,5) (3,7) */
    for (; i + 8 <= n; i += 8) {
        const uint32_t x0 = rd32(x + i), x1 = rd32(x + i + 4), ww = rd32(w + i / 2);
        const uint32_t a = xt16(x0, xs), ar = xt16r(x0, xs), b = xt16(x1, xs), br = xt16r(x1, xs);
        acc = mac_w4(pk_bt(a, b), pk_tb(b, a), pk_bt(ar, br), pk_tb(br, ar), ww, acc);
    }
    return (acc >> 4) + dot_tail(x, xs, xbits, w, wbits, i, n);
}
static int32_t dot_8x4(const uint8_t *x, int32_t xs, int32_t xbits, const uint8_t *w, int32_t wbits, int32_t n) {
    return xs ? dot_8x4_body(x, 1, xbits, w, wbits, n) : dot_8x4_body(x, 0, xbits, w, wbits, n);
}

static inline __attribute__((always_inline)) int32_t dot_8x2_body(const uint8_t *x, const int32_t xs, int32_t xbits, const uint8_t *w, int32_t wbits, int32_t n) {
    int32_t acc = 0, i = 0; /* sixteen elements; lanes (k, k+8) and (k+4, k+12) */
    for (; i + 16 <= n; i += 16) {
        const uint32_t ww = rd32(w + i / 4);
        uint32_t e[4], o[4]; /* word j: lanes (4j, 4j+2) and (4j+1, 4j+3) */
        for (int32_t j = 0; j < 4; ++j) {
            const uint32_t xw = rd32(x + i + 4 * j);
            e[j] = xt16(xw, xs);
            o[j] = xt16r(xw, xs);
        }
        /* k = 0..3 pairs element k with k+8 (words 0 and 2) and k+4 with k+12 (words 1 and 3) */
        const uint32_t xk[4][2] = {{pk_bt(e[0], e[2]), pk_bt(e[1], e[3])}, {pk_bt(o[0], o[2]), pk_bt(o[1], o[3])},
                                   {pk_tb(e[2], e[0]), pk_tb(e[3], e[1])}, {pk_tb(o[2], o[0]), pk_tb(o[3], o[1])}};
        for (int32_t k = 0; k < 4; ++k) {
            const uint32_t wk = (ww << (6 - 2 * k)) & 0xC0C0C0C0u;
            acc = smlad(xk[k][0], sx16(wk), acc);
            acc = smlad(xk[k][1], sx16r(wk), acc);
        }
    }
    return (acc >> 6) + dot_tail(x, xs, xbits, w, wbits, i, n);
}
static int32_t dot_8x2(const uint8_t *x, int32_t xs, int32_t xbits, const uint8_t *w, int32_t wbits, int32_t n) {
    return xs ? dot_8x2_body(x, 1, xbits, w, wbits, n) : dot_8x2_body(x, 0, xbits, w, wbits, n);
}

static int32_t dot_any(const uint8_t *x, int32_t xs, int32_t xbits, const uint8_t *w, int32_t wbits, int32_t n) {
    return dot_tail(x, xs, xbits, w, wbits, 0, n);
}

/* The dot product for byte-aligned runs of these widths. */
static nnk_dot_fn pick_dot(int32_t xbits, int32_t wbits) {
    if (xbits == 8 && wbits == 8) return dot_8x8;
    if (xbits == 4 && wbits == 4) return dot_4x4;
    if (xbits == 2 && wbits == 2) return dot_2x2;
    if (xbits == 8 && wbits == 4) return dot_8x4;
    if (xbits == 8 && wbits == 2) return dot_8x2;
    return dot_any;
}

/* Σ x[i]·w[i] over n elements of two packed runs starting at element offsets xo and wo. */
static int32_t dot(const uint8_t *x, int32_t xo, int32_t xbits, int32_t xsigned,
                   const uint8_t *w, int32_t wo, int32_t wbits, int32_t n) {
    if ((xo * xbits) % 8 != 0 || (wo * wbits) % 8 != 0) {
        int32_t acc = 0;
        for (int32_t i = 0; i < n; ++i) acc += nnk_get(x, xo + i, xbits, xsigned) * nnk_get(w, wo + i, wbits, 1);
        return acc;
    }
    const nnk_dot_fn fn = pick_dot(xbits, wbits);
    int32_t acc = 0;
    for (int32_t i = 0; i < n; i += 16384) {
        const int32_t len = n - i < 16384 ? n - i : 16384;
        acc += fn(x + ((xo + i) * xbits) / 8, xsigned, xbits, w + ((wo + i) * wbits) / 8, wbits, len);
    }
    return acc;
}

/* Σ of n weights (for padded taps of an input with a zero-point). */
static int32_t weight_sum(const uint8_t *w, int32_t wo, int32_t wbits, int32_t n) {
    int32_t s = 0;
    for (int32_t i = 0; i < n; ++i) s += nnk_get(w, wo + i, wbits, 1);
    return s;
}

/* Two output channels of 8-bit weights over the same 8-bit input run: each input word is
 * loaded and unpacked once for both. */
static inline __attribute__((always_inline)) void dot2_8x8_body(const uint8_t *x, const int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n,
                                 int32_t *acc0, int32_t *acc1) {
    int32_t a0 = 0, a1 = 0, i = 0;
    for (; i + 8 <= n; i += 8) { /* two words per iteration: less loop overhead per MAC */
        const uint32_t xw = rd32(x + i), u = rd32(w0 + i), v = rd32(w1 + i);
        const uint32_t xw2 = rd32(x + i + 4), u2 = rd32(w0 + i + 4), v2 = rd32(w1 + i + 4);
        const uint32_t xl = xt16(xw, xs), xh = xt16r(xw, xs), xl2 = xt16(xw2, xs), xh2 = xt16r(xw2, xs);
        a0 = smlad(xl, sx16(u), a0);
        a1 = smlad(xl, sx16(v), a1);
        a0 = smlad(xh, sx16r(u), a0);
        a1 = smlad(xh, sx16r(v), a1);
        a0 = smlad(xl2, sx16(u2), a0);
        a1 = smlad(xl2, sx16(v2), a1);
        a0 = smlad(xh2, sx16r(u2), a0);
        a1 = smlad(xh2, sx16r(v2), a1);
    }
    *acc0 += a0 + dot_tail(x, xs, 8, w0, 8, i, n);
    *acc1 += a1 + dot_tail(x, xs, 8, w1, 8, i, n);
}

/* Two output channels over the same input run: each input word is loaded and unpacked once
 * for both (lanes as in the single-row kernels above). */
typedef void (*nnk_dot2_fn)(const uint8_t *x, int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n, int32_t *acc0, int32_t *acc1);

static void dot2_8x8(const uint8_t *x, int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n, int32_t *acc0, int32_t *acc1) {
    if (xs) dot2_8x8_body(x, 1, w0, w1, n, acc0, acc1);
    else dot2_8x8_body(x, 0, w0, w1, n, acc0, acc1);
}

/* Eight 4-bit weights from each of two rows (words u and v) against the same input lanes. */
static inline __attribute__((always_inline)) void mac2_w4(uint32_t x04, uint32_t x26, uint32_t x15, uint32_t x37, uint32_t u, uint32_t v,
                                                          int32_t *a0, int32_t *a1) {
    *a0 = mac_w4(x04, x26, x15, x37, u, *a0);
    *a1 = mac_w4(x04, x26, x15, x37, v, *a1);
}

static inline __attribute__((always_inline)) void dot2_4x4_body(const uint8_t *x, const int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n,
                                                                int32_t *acc0, int32_t *acc1) {
    int32_t a0 = 0, a1 = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint32_t xw = rd32(x + i / 2), u = rd32(w0 + i / 2), v = rd32(w1 + i / 2);
        const uint32_t xl = (xw << 4) & 0xF0F0F0F0u, xh = xw & 0xF0F0F0F0u;
        const uint32_t x04 = xt16(xl, xs), x26 = xt16r(xl, xs), x15 = xt16(xh, xs), x37 = xt16r(xh, xs);
        mac2_w4(x04, x26, x15, x37, u, v, &a0, &a1);
    }
    *acc0 += (a0 >> 8) + dot_tail(x, xs, 4, w0, 4, i, n);
    *acc1 += (a1 >> 8) + dot_tail(x, xs, 4, w1, 4, i, n);
}

static void dot2_4x4(const uint8_t *x, int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n, int32_t *acc0, int32_t *acc1) {
    if (xs) dot2_4x4_body(x, 1, w0, w1, n, acc0, acc1);
    else dot2_4x4_body(x, 0, w0, w1, n, acc0, acc1);
}

static inline __attribute__((always_inline)) void dot2_2x2_body(const uint8_t *x, const int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n,
                                                                int32_t *acc0, int32_t *acc1) {
    int32_t a0 = 0, a1 = 0, i = 0;
    for (; i + 16 <= n; i += 16) {
        const uint32_t xw = rd32(x + i / 4), u = rd32(w0 + i / 4), v = rd32(w1 + i / 4);
        for (int32_t k = 0; k < 4; ++k) {
            const int32_t sh = 6 - 2 * k;
            const uint32_t xk = (xw << sh) & 0xC0C0C0C0u, uk = (u << sh) & 0xC0C0C0C0u, vk = (v << sh) & 0xC0C0C0C0u;
            const uint32_t xa = xt16(xk, xs), xb = xt16r(xk, xs);
            a0 = smlad(xa, sx16(uk), a0);
            a1 = smlad(xa, sx16(vk), a1);
            a0 = smlad(xb, sx16r(uk), a0);
            a1 = smlad(xb, sx16r(vk), a1);
        }
    }
    *acc0 += (a0 >> 12) + dot_tail(x, xs, 2, w0, 2, i, n);
    *acc1 += (a1 >> 12) + dot_tail(x, xs, 2, w1, 2, i, n);
}

static void dot2_2x2(const uint8_t *x, int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n, int32_t *acc0, int32_t *acc1) {
    if (xs) dot2_2x2_body(x, 1, w0, w1, n, acc0, acc1);
    else dot2_2x2_body(x, 0, w0, w1, n, acc0, acc1);
}

static inline __attribute__((always_inline)) void dot2_8x4_body(const uint8_t *x, const int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n,
                                                                int32_t *acc0, int32_t *acc1) {
    int32_t a0 = 0, a1 = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint32_t x0 = rd32(x + i), x1 = rd32(x + i + 4), u = rd32(w0 + i / 2), v = rd32(w1 + i / 2);
        const uint32_t a = xt16(x0, xs), ar = xt16r(x0, xs), b = xt16(x1, xs), br = xt16r(x1, xs);
        const uint32_t x04 = pk_bt(a, b), x26 = pk_tb(b, a), x15 = pk_bt(ar, br), x37 = pk_tb(br, ar);
        mac2_w4(x04, x26, x15, x37, u, v, &a0, &a1);
    }
    *acc0 += (a0 >> 4) + dot_tail(x, xs, 8, w0, 4, i, n);
    *acc1 += (a1 >> 4) + dot_tail(x, xs, 8, w1, 4, i, n);
}

static void dot2_8x4(const uint8_t *x, int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n, int32_t *acc0, int32_t *acc1) {
    if (xs) dot2_8x4_body(x, 1, w0, w1, n, acc0, acc1);
    else dot2_8x4_body(x, 0, w0, w1, n, acc0, acc1);
}

/* Two pixels × two output channels of 8-bit data: each loaded word serves two MAC pairs.
 * acc: pixel 0 channel 0, pixel 0 channel 1, pixel 1 channel 0, pixel 1 channel 1. */
static inline __attribute__((always_inline)) void dot22_8x8_body(const uint8_t *x0, const uint8_t *x1, const int32_t xs, const uint8_t *w0,
                                                                 const uint8_t *w1, int32_t n, int32_t acc[4]) {
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0, i = 0;
    const uint8_t *pp = x0, *qp = x1, *up = w0, *vp = w1;
    for (; i + 4 <= n; i += 4, pp += 4, qp += 4, up += 4, vp += 4) {
        const uint32_t p = rd32(pp), q = rd32(qp), u = rd32(up), v = rd32(vp);
        const uint32_t pl = xt16(p, xs), ph = xt16r(p, xs), ql = xt16(q, xs), qh = xt16r(q, xs);
        const uint32_t ul = sx16(u), uh = sx16r(u), vl = sx16(v), vh = sx16r(v);
        a00 = smlad(pl, ul, a00);
        a01 = smlad(pl, vl, a01);
        a10 = smlad(ql, ul, a10);
        a11 = smlad(ql, vl, a11);
        a00 = smlad(ph, uh, a00);
        a01 = smlad(ph, vh, a01);
        a10 = smlad(qh, uh, a10);
        a11 = smlad(qh, vh, a11);
    }
    acc[0] += a00 + dot_tail(x0, xs, 8, w0, 8, i, n);
    acc[1] += a01 + dot_tail(x0, xs, 8, w1, 8, i, n);
    acc[2] += a10 + dot_tail(x1, xs, 8, w0, 8, i, n);
    acc[3] += a11 + dot_tail(x1, xs, 8, w1, 8, i, n);
}

/* Not inlined: inside the convolution the register allocator spills its accumulators. */
static __attribute__((noinline)) void dot22_8x8(const uint8_t *x0, const uint8_t *x1, int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n, int32_t acc[4]) {
    if (xs) dot22_8x8_body(x0, x1, 1, w0, w1, n, acc);
    else dot22_8x8_body(x0, x1, 0, w0, w1, n, acc);
}

/* The two-channel kernel for these widths, or none. */
static nnk_dot2_fn pick_dot2(int32_t xbits, int32_t wbits) {
    if (xbits == 8 && wbits == 8) return dot2_8x8;
    if (xbits == 4 && wbits == 4) return dot2_4x4;
    if (xbits == 2 && wbits == 2) return dot2_2x2;
    if (xbits == 8 && wbits == 4) return dot2_8x4;
    return 0;
}

static void conv_standard(const nnk_conv_params *p, const uint8_t *in, const uint8_t *w, const int32_t *bias,
                          const int32_t *mult, const int32_t *shift, uint8_t *out) {
    /* Locals, so stores to the output cannot force the parameters to be reloaded. */
    const nnk_window g = p->g;
    const int32_t in_bits = p->in_bits, in_signed = p->in_signed, w_bits = p->w_bits, out_bits = p->out_bits;
    const int32_t lo = p->lo, hi = p->hi, pad_value = p->pad_value;
    const int32_t cin_g = g.in_c / p->groups, cout_g = g.out_c / p->groups;
    const int32_t in_run = nnk_run_bytes(g.in_c, in_bits);
    const int32_t out_run = nnk_run_bytes(g.out_c, out_bits);
    const int32_t taps = g.k_h * g.k_w * cin_g;
    const int32_t w_run = nnk_run_bytes(taps, w_bits);
    /* One image row of a window is one run of k_w·C elements when pixels are not padded to a
     * byte and the kernel is dense along x: a single dot covers it. Rows of byte-aligned
     * elements go straight to the block kernel; two 8-bit channels at a time share the input. */
    const int32_t row_dot = p->groups == 1 && g.dil_w == 1 && in_run * 8 == g.in_c * in_bits;
    const int32_t row_elems = g.k_w * cin_g;
    const int32_t direct = row_dot && (cin_g * w_bits) % 8 == 0 && row_elems <= 16384;
    const nnk_dot_fn fn = pick_dot(in_bits, w_bits);
    const nnk_dot2_fn fn2 = direct ? pick_dot2(in_bits, w_bits) : 0;
    const int32_t pairs = fn2 != 0;
    if (direct && g.k_h == 1 && g.k_w == 1 && g.pad_top == 0 && g.pad_left == 0) {
        /* Pointwise: dots over each output pixel's input run; at 8 bits two pixels × two
         * channels at a time, else two channels. */
        const int32_t pixels = g.out_h * g.out_w;
        int32_t px = 0;
        if (pairs && in_bits == 8 && w_bits == 8) {
            for (; px + 1 < pixels; px += 2) {
                const uint8_t *x0 = in + ((px / g.out_w) * g.stride_h * g.in_w + (px % g.out_w) * g.stride_w) * in_run;
                const uint8_t *x1 = in + (((px + 1) / g.out_w) * g.stride_h * g.in_w + ((px + 1) % g.out_w) * g.stride_w) * in_run;
                uint8_t *o0 = out + px * out_run, *o1 = o0 + out_run;
                if (out_bits != 8) {
                    zero(o0, out_run);
                    zero(o1, out_run);
                }
                int32_t co = 0;
                for (; co + 1 < g.out_c; co += 2) {
                    int32_t acc[4] = {bias[co], bias[co + 1], bias[co], bias[co + 1]};
                    dot22_8x8(x0, x1, in_signed, w + co * w_run, w + (co + 1) * w_run, cin_g, acc);
                    store(o0, co, out_bits, nnk_requant(acc[0], mult[co], shift[co], lo, hi));
                    store(o0, co + 1, out_bits, nnk_requant(acc[1], mult[co + 1], shift[co + 1], lo, hi));
                    store(o1, co, out_bits, nnk_requant(acc[2], mult[co], shift[co], lo, hi));
                    store(o1, co + 1, out_bits, nnk_requant(acc[3], mult[co + 1], shift[co + 1], lo, hi));
                }
                for (; co < g.out_c; ++co) {
                    store(o0, co, out_bits, nnk_requant(bias[co] + fn(x0, in_signed, in_bits, w + co * w_run, w_bits, cin_g), mult[co], shift[co], lo, hi));
                    store(o1, co, out_bits, nnk_requant(bias[co] + fn(x1, in_signed, in_bits, w + co * w_run, w_bits, cin_g), mult[co], shift[co], lo, hi));
                }
            }
        }
        for (; px < pixels; ++px) {
            const uint8_t *x = in + ((px / g.out_w) * g.stride_h * g.in_w + (px % g.out_w) * g.stride_w) * in_run;
            uint8_t *o = out + px * out_run;
            if (out_bits != 8) zero(o, out_run); /* 8-bit: every byte is stored below */
            int32_t co = 0;
            if (pairs) {
                for (; co + 1 < g.out_c; co += 2) {
                    int32_t a0 = bias[co], a1 = bias[co + 1];
                    fn2(x, in_signed, w + co * w_run, w + (co + 1) * w_run, cin_g, &a0, &a1);
                    store(o, co, out_bits, nnk_requant(a0, mult[co], shift[co], lo, hi));
                    store(o, co + 1, out_bits, nnk_requant(a1, mult[co + 1], shift[co + 1], lo, hi));
                }
            }
            for (; co < g.out_c; ++co) {
                const int32_t acc = bias[co] + fn(x, in_signed, in_bits, w + co * w_run, w_bits, cin_g);
                store(o, co, out_bits, nnk_requant(acc, mult[co], shift[co], lo, hi));
            }
        }
        return;
    }
    for (int32_t oy = 0; oy < g.out_h; ++oy) {
        for (int32_t ox = 0; ox < g.out_w; ++ox) {
            uint8_t *o = out + (oy * g.out_w + ox) * out_run;
            if (out_bits != 8) zero(o, out_run); /* 8-bit: every byte is stored below */
            const int32_t ix0 = ox * g.stride_w - g.pad_left;
            const int32_t kx_lo = ix0 < 0 ? -ix0 : 0, kx_hi = g.in_w - ix0 < g.k_w ? g.in_w - ix0 : g.k_w;
            for (int32_t co = 0; co < g.out_c; ++co) {
                const int32_t two = pairs && co + 1 < g.out_c;
                const uint8_t *wr = w + co * w_run;
                int32_t acc = bias[co], acc1 = two ? bias[co + 1] : 0;
                for (int32_t ky = 0; ky < g.k_h; ++ky) {
                    const int32_t iy = oy * g.stride_h - g.pad_top + ky * g.dil_h;
                    const int32_t wrow = ky * row_elems;
                    if (iy < 0 || iy >= g.in_h || (row_dot && kx_lo >= kx_hi)) { /* the whole row reads padding */
                        if (pad_value) {
                            acc += pad_value * weight_sum(wr, wrow, w_bits, row_elems);
                            if (two) acc1 += pad_value * weight_sum(wr + w_run, wrow, w_bits, row_elems);
                        }
                        continue;
                    }
                    if (row_dot) {
                        const int32_t head = kx_lo * cin_g, tail = kx_hi * cin_g;
                        if (pad_value && kx_lo > 0) {
                            acc += pad_value * weight_sum(wr, wrow, w_bits, head);
                            if (two) acc1 += pad_value * weight_sum(wr + w_run, wrow, w_bits, head);
                        }
                        if (pad_value && kx_hi < g.k_w) {
                            acc += pad_value * weight_sum(wr, wrow + tail, w_bits, row_elems - tail);
                            if (two) acc1 += pad_value * weight_sum(wr + w_run, wrow + tail, w_bits, row_elems - tail);
                        }
                        const uint8_t *x = in + (iy * g.in_w + ix0 + kx_lo) * in_run;
                        if (two) {
                            const int32_t wb = ((wrow + head) * w_bits) / 8;
                            fn2(x, in_signed, wr + wb, wr + w_run + wb, tail - head, &acc, &acc1);
                        } else if (direct) {
                            acc += fn(x, in_signed, in_bits, wr + ((wrow + head) * w_bits) / 8, w_bits, tail - head);
                        } else {
                            acc += dot(x, 0, in_bits, in_signed, wr, wrow + head, w_bits, tail - head);
                        }
                        continue;
                    }
                    const int32_t gr = co / cout_g;
                    for (int32_t kx = 0; kx < g.k_w; ++kx) {
                        const int32_t ix = ix0 + kx * g.dil_w;
                        const int32_t wo = wrow + kx * cin_g;
                        if (ix < 0 || ix >= g.in_w) {
                            if (pad_value) acc += pad_value * weight_sum(wr, wo, w_bits, cin_g);
                            continue;
                        }
                        acc += dot(in + (iy * g.in_w + ix) * in_run, gr * cin_g, in_bits, in_signed, wr, wo, w_bits, cin_g);
                    }
                }
                store(o, co, out_bits, nnk_requant(acc, mult[co], shift[co], lo, hi));
                if (two) {
                    store(o, co + 1, out_bits, nnk_requant(acc1, mult[co + 1], shift[co + 1], lo, hi));
                    ++co;
                }
            }
        }
    }
}

/* Depthwise, channel-innermost: for each output pixel the taps inside the input are listed
 * once, then channels go in groups whose accumulators stay in registers across the taps:
 * four 8-bit or eight 4-bit channels per word (SMLABB/SMLATT on unpacked lanes), four 2-bit
 * channels per byte. Leftover channels and mixed widths take the element-wise path. */
#define NNK_MAX_TAPS 64

static inline __attribute__((always_inline)) void dw_group8(const uint8_t *const *xs, const uint8_t *const *ws, int32_t inside,
                                                            const uint8_t *const *wout, int32_t outside, int32_t pad_value,
                                                            int32_t ch, const int32_t sgn, int32_t acc[4]) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int32_t t = 0; t < inside; ++t) {
        const uint32_t xw = rd32(xs[t] + ch), ww = rd32(ws[t] + ch);
        const uint32_t xl = xt16(xw, sgn), xh = xt16r(xw, sgn), wl = sx16(ww), wh = sx16r(ww);
        a0 = smlabb(xl, wl, a0);
        a2 = smlatt(xl, wl, a2);
        a1 = smlabb(xh, wh, a1);
        a3 = smlatt(xh, wh, a3);
    }
    if (pad_value) {
        for (int32_t t = 0; t < outside; ++t) {
            const int8_t *wv = (const int8_t *)(wout[t] + ch);
            a0 += pad_value * wv[0];
            a1 += pad_value * wv[1];
            a2 += pad_value * wv[2];
            a3 += pad_value * wv[3];
        }
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* Eight 4-bit channels per word: nibbles moved to the top of their byte (×16) make lanes
 * (0,4) (2,6) (1,5) (3,7) of input and weights alike; the ×256 is shifted out at the end. */
static inline __attribute__((always_inline)) void dw_group4x8(const uint8_t *const *xs, const uint8_t *const *ws, int32_t inside,
                                                              const uint8_t *const *wout, int32_t outside, int32_t pad_value,
                                                              int32_t byte, const int32_t sgn, int32_t acc[8]) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (int32_t t = 0; t < inside; ++t) {
        const uint32_t xw = rd32(xs[t] + byte), ww = rd32(ws[t] + byte);
        const uint32_t xl = (xw << 4) & 0xF0F0F0F0u, xh = xw & 0xF0F0F0F0u;
        const uint32_t wl = (ww << 4) & 0xF0F0F0F0u, wh = ww & 0xF0F0F0F0u;
        const uint32_t x04 = xt16(xl, sgn), x26 = xt16r(xl, sgn), x15 = xt16(xh, sgn), x37 = xt16r(xh, sgn);
        const uint32_t w04 = sx16(wl), w26 = sx16r(wl), w15 = sx16(wh), w37 = sx16r(wh);
        a0 = smlabb(x04, w04, a0);
        a4 = smlatt(x04, w04, a4);
        a2 = smlabb(x26, w26, a2);
        a6 = smlatt(x26, w26, a6);
        a1 = smlabb(x15, w15, a1);
        a5 = smlatt(x15, w15, a5);
        a3 = smlabb(x37, w37, a3);
        a7 = smlatt(x37, w37, a7);
    }
    acc[0] += a0 >> 8, acc[1] += a1 >> 8, acc[2] += a2 >> 8, acc[3] += a3 >> 8;
    acc[4] += a4 >> 8, acc[5] += a5 >> 8, acc[6] += a6 >> 8, acc[7] += a7 >> 8;
    if (pad_value) {
        for (int32_t t = 0; t < outside; ++t)
            for (int32_t k = 0; k < 8; ++k) acc[k] += pad_value * nnk_get(wout[t] + byte, k, 4, 1);
    }
}

/* The four channels of one byte of 2-bit input and weights, accumulators in registers. */
static inline __attribute__((always_inline)) int32_t field2(int32_t byte, int32_t k, int32_t sgn) {
    return sgn ? (int32_t)((uint32_t)byte << (30 - 2 * k)) >> 30 : (byte >> (2 * k)) & 3;
}

static inline __attribute__((always_inline)) void dw_group2x4(const uint8_t *const *xs, const uint8_t *const *ws, int32_t inside,
                                                              const uint8_t *const *wout, int32_t outside, int32_t pad_value,
                                                              int32_t byte, const int32_t sgn, int32_t acc[4]) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (int32_t t = 0; t < inside; ++t) {
        const int32_t xb = xs[t][byte], wb = ws[t][byte];
        a0 += field2(xb, 0, sgn) * field2(wb, 0, 1);
        a1 += field2(xb, 1, sgn) * field2(wb, 1, 1);
        a2 += field2(xb, 2, sgn) * field2(wb, 2, 1);
        a3 += field2(xb, 3, sgn) * field2(wb, 3, 1);
    }
    if (pad_value) {
        for (int32_t t = 0; t < outside; ++t) {
            const int32_t wb = wout[t][byte];
            a0 += pad_value * field2(wb, 0, 1);
            a1 += pad_value * field2(wb, 1, 1);
            a2 += pad_value * field2(wb, 2, 1);
            a3 += pad_value * field2(wb, 3, 1);
        }
    }
    acc[0] += a0, acc[1] += a1, acc[2] += a2, acc[3] += a3;
}

static void conv_depthwise(const nnk_conv_params *p, const uint8_t *in, const uint8_t *w, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, uint8_t *out) {
    const nnk_window g = p->g;
    const int32_t in_bits = p->in_bits, in_signed = p->in_signed, w_bits = p->w_bits, out_bits = p->out_bits;
    const int32_t lo = p->lo, hi = p->hi, pad_value = p->pad_value;
    const int32_t c = g.out_c;
    const int32_t in_run = nnk_run_bytes(c, in_bits), out_run = nnk_run_bytes(c, out_bits);
    const int32_t w_run = nnk_run_bytes(c, w_bits);
    const int32_t listed = g.k_h * g.k_w <= NNK_MAX_TAPS;
    const int32_t group = !listed ? 0 : (in_bits == 8 && w_bits == 8) ? 4 : (in_bits == 4 && w_bits == 4) ? 8 : (in_bits == 2 && w_bits == 2) ? 4 : 0;
    for (int32_t oy = 0; oy < g.out_h; ++oy) {
        for (int32_t ox = 0; ox < g.out_w; ++ox) {
            uint8_t *o = out + (oy * g.out_w + ox) * out_run;
            if (out_bits != 8) zero(o, out_run); /* 8-bit: every byte is stored below */
            const int32_t iy0 = oy * g.stride_h - g.pad_top, ix0 = ox * g.stride_w - g.pad_left;
            /* Taps inside the input; the others read the pad value. */
            int32_t inside = 0, outside = 0;
            const uint8_t *xs[NNK_MAX_TAPS], *ws[NNK_MAX_TAPS], *wout[NNK_MAX_TAPS];
            for (int32_t ky = 0; listed && ky < g.k_h; ++ky) {
                const int32_t iy = iy0 + ky * g.dil_h;
                for (int32_t kx = 0; kx < g.k_w; ++kx) {
                    const int32_t ix = ix0 + kx * g.dil_w;
                    const uint8_t *wr = w + (ky * g.k_w + kx) * w_run;
                    if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) {
                        wout[outside++] = wr;
                    } else {
                        xs[inside] = in + (iy * g.in_w + ix) * in_run;
                        ws[inside++] = wr;
                    }
                }
            }
            int32_t ch = 0;
            if (group == 4 && in_bits == 8) {
                for (; ch + 4 <= c; ch += 4) {
                    int32_t acc[4] = {bias[ch], bias[ch + 1], bias[ch + 2], bias[ch + 3]};
                    if (in_signed) dw_group8(xs, ws, inside, wout, outside, pad_value, ch, 1, acc);
                    else dw_group8(xs, ws, inside, wout, outside, pad_value, ch, 0, acc);
                    for (int32_t k = 0; k < 4; ++k) store(o, ch + k, out_bits, nnk_requant(acc[k], mult[ch + k], shift[ch + k], lo, hi));
                }
            } else if (group == 8) {
                for (; ch + 8 <= c; ch += 8) {
                    int32_t acc[8];
                    for (int32_t k = 0; k < 8; ++k) acc[k] = bias[ch + k];
                    if (in_signed) dw_group4x8(xs, ws, inside, wout, outside, pad_value, ch / 2, 1, acc);
                    else dw_group4x8(xs, ws, inside, wout, outside, pad_value, ch / 2, 0, acc);
                    for (int32_t k = 0; k < 8; ++k) store(o, ch + k, out_bits, nnk_requant(acc[k], mult[ch + k], shift[ch + k], lo, hi));
                }
            } else if (group == 4) {
                for (; ch + 4 <= c; ch += 4) {
                    int32_t acc[4] = {bias[ch], bias[ch + 1], bias[ch + 2], bias[ch + 3]};
                    if (in_signed) dw_group2x4(xs, ws, inside, wout, outside, pad_value, ch / 4, 1, acc);
                    else dw_group2x4(xs, ws, inside, wout, outside, pad_value, ch / 4, 0, acc);
                    for (int32_t k = 0; k < 4; ++k) store(o, ch + k, out_bits, nnk_requant(acc[k], mult[ch + k], shift[ch + k], lo, hi));
                }
            }
            for (; ch < c; ++ch) {
                int32_t acc = bias[ch];
                if (listed) {
                    for (int32_t t = 0; t < inside; ++t) acc += nnk_get(xs[t], ch, in_bits, in_signed) * nnk_get(ws[t], ch, w_bits, 1);
                    if (pad_value)
                        for (int32_t t = 0; t < outside; ++t) acc += pad_value * nnk_get(wout[t], ch, w_bits, 1);
                } else { /* windows larger than NNK_MAX_TAPS */
                    for (int32_t ky = 0; ky < g.k_h; ++ky) {
                        const int32_t iy = iy0 + ky * g.dil_h;
                        for (int32_t kx = 0; kx < g.k_w; ++kx) {
                            const int32_t ix = ix0 + kx * g.dil_w;
                            const int32_t wv = nnk_get(w + (ky * g.k_w + kx) * w_run, ch, w_bits, 1);
                            const int32_t in_range = iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w;
                            acc += wv * (in_range ? nnk_get(in + (iy * g.in_w + ix) * in_run, ch, in_bits, in_signed) : pad_value);
                        }
                    }
                }
                store(o, ch, out_bits, nnk_requant(acc, mult[ch], shift[ch], lo, hi));
            }
        }
    }
}

void nnk_conv(const nnk_conv_params *p, const uint8_t *in, const uint8_t *w, const int32_t *bias,
              const int32_t *mult, const int32_t *shift, uint8_t *out) {
    if (p->depthwise) conv_depthwise(p, in, w, bias, mult, shift, out);
    else conv_standard(p, in, w, bias, mult, shift, out);
}

void nnk_fully_connected(const uint8_t *in, int32_t rows, int32_t in_c, int32_t in_bits, int32_t in_signed,
                         const uint8_t *w, int32_t w_bits, const int32_t *bias, const int32_t *mult,
                         const int32_t *shift, int32_t lo, int32_t hi, uint8_t *out, int32_t out_c,
                         int32_t out_bits, int32_t out_signed) {
    const int32_t in_run = nnk_run_bytes(in_c, in_bits), w_run = nnk_run_bytes(in_c, w_bits);
    const int32_t out_run = nnk_run_bytes(out_c, out_bits);
    (void)out_signed;
    for (int32_t r = 0; r < rows; ++r) {
        const uint8_t *x = in + r * in_run;
        uint8_t *o = out + r * out_run;
        zero(o, out_run);
        for (int32_t j = 0; j < out_c; ++j) {
            int32_t acc = bias[j];
            const uint8_t *wr = w + j * w_run;
            acc += dot(x, 0, in_bits, in_signed, wr, 0, w_bits, in_c);
            nnk_put(o, j, out_bits, nnk_requant(acc, mult[j], shift[j], lo, hi));
        }
    }
}

static int32_t round_shift(int64_t acc, int32_t t, int32_t lo, int32_t hi) {
    int64_t y = (acc + ((int64_t)1 << (t - 1))) >> t;
    if (y < lo) y = lo;
    if (y > hi) y = hi;
    return (int32_t)y;
}

void nnk_add(const uint8_t *a, const uint8_t *b, int32_t runs, int32_t len, int32_t a_bits, int32_t a_signed,
             int32_t b_bits, int32_t b_signed, int32_t m1, int32_t m2, int32_t shift, int32_t lo, int32_t hi,
             uint8_t *out, int32_t out_bits) {
    const int32_t ar = nnk_run_bytes(len, a_bits), br = nnk_run_bytes(len, b_bits), orun = nnk_run_bytes(len, out_bits);
    for (int32_t r = 0; r < runs; ++r) {
        uint8_t *o = out + r * orun;
        zero(o, orun);
        for (int32_t i = 0; i < len; ++i) {
            const int64_t acc = (int64_t)nnk_get(a + r * ar, i, a_bits, a_signed) * m1 + (int64_t)nnk_get(b + r * br, i, b_bits, b_signed) * m2;
            nnk_put(o, i, out_bits, round_shift(acc, shift, lo, hi));
        }
    }
}

void nnk_channel_mul(const uint8_t *x, const uint8_t *gate, int32_t runs, int32_t len, int32_t x_bits,
                     int32_t x_signed, int32_t g_bits, int32_t g_signed, int32_t m, int32_t shift, int32_t lo,
                     int32_t hi, uint8_t *out, int32_t out_bits) {
    const int32_t xr = nnk_run_bytes(len, x_bits), orun = nnk_run_bytes(len, out_bits);
    for (int32_t r = 0; r < runs; ++r) {
        uint8_t *o = out + r * orun;
        zero(o, orun);
        for (int32_t i = 0; i < len; ++i) {
            const int32_t acc = nnk_get(x + r * xr, i, x_bits, x_signed) * nnk_get(gate, i, g_bits, g_signed);
            nnk_put(o, i, out_bits, nnk_requant(acc, m, shift, lo, hi));
        }
    }
}

void nnk_concat_part(const uint8_t *x, int32_t runs, int32_t in_len, int32_t in_bits, int32_t in_signed, int32_t m,
                     int32_t shift, int32_t lo, int32_t hi, uint8_t *out, int32_t out_len, int32_t out_bits, int32_t offset,
                     int32_t first) {
    const int32_t xr = nnk_run_bytes(in_len, in_bits), orun = nnk_run_bytes(out_len, out_bits);
    for (int32_t r = 0; r < runs; ++r) {
        uint8_t *o = out + r * orun;
        if (first) zero(o, orun);
        for (int32_t i = 0; i < in_len; ++i)
            nnk_put(o, offset + i, out_bits, nnk_requant(nnk_get(x + r * xr, i, in_bits, in_signed), m, shift, lo, hi));
    }
}

void nnk_average_pool(const nnk_window *g, const uint8_t *in, int32_t in_bits, int32_t in_signed, int32_t m,
                      int32_t shift, int32_t lo, int32_t hi, uint8_t *out, int32_t out_bits) {
    const int32_t ir = nnk_run_bytes(g->in_c, in_bits), orun = nnk_run_bytes(g->out_c, out_bits);
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            uint8_t *o = out + (oy * g->out_w + ox) * orun;
            zero(o, orun);
            for (int32_t c = 0; c < g->out_c; ++c) {
                int32_t acc = 0;
                for (int32_t ky = 0; ky < g->k_h; ++ky)
                    for (int32_t kx = 0; kx < g->k_w; ++kx)
                        acc += nnk_get(in + ((oy * g->stride_h + ky) * g->in_w + ox * g->stride_w + kx) * ir, c, in_bits, in_signed);
                nnk_put(o, c, out_bits, nnk_requant(acc, m, shift, lo, hi));
            }
        }
    }
}

void nnk_max_pool(const nnk_window *g, const uint8_t *in, int32_t bits, int32_t is_signed, uint8_t *out) {
    const int32_t run = nnk_run_bytes(g->in_c, bits);
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            uint8_t *o = out + (oy * g->out_w + ox) * run;
            zero(o, run);
            for (int32_t c = 0; c < g->out_c; ++c) {
                int32_t best = INT32_MIN;
                for (int32_t ky = 0; ky < g->k_h; ++ky) {
                    const int32_t iy = oy * g->stride_h - g->pad_top + ky;
                    if (iy < 0 || iy >= g->in_h) continue;
                    for (int32_t kx = 0; kx < g->k_w; ++kx) {
                        const int32_t ix = ox * g->stride_w - g->pad_left + kx;
                        if (ix < 0 || ix >= g->in_w) continue;
                        const int32_t v = nnk_get(in + (iy * g->in_w + ix) * run, c, bits, is_signed);
                        if (v > best) best = v;
                    }
                }
                nnk_put(o, c, bits, best);
            }
        }
    }
}

void nnk_lookup(const uint8_t *in, int32_t runs, int32_t len, int32_t in_bits, int32_t in_signed,
                const uint8_t *table, int32_t input_min, uint8_t *out, int32_t out_bits) {
    const int32_t ir = nnk_run_bytes(len, in_bits), orun = nnk_run_bytes(len, out_bits);
    for (int32_t r = 0; r < runs; ++r) {
        uint8_t *o = out + r * orun;
        zero(o, orun);
        for (int32_t i = 0; i < len; ++i) nnk_put(o, i, out_bits, (int32_t)(int8_t)table[nnk_get(in + r * ir, i, in_bits, in_signed) - input_min]);
    }
}

void nnk_pad(const uint8_t *in, int32_t h, int32_t w, int32_t c, int32_t bits, int32_t is_signed,
             int32_t top, int32_t left, int32_t out_h, int32_t out_w, int32_t value, uint8_t *out) {
    const int32_t run = nnk_run_bytes(c, bits);
    for (int32_t y = 0; y < out_h; ++y) {
        for (int32_t x = 0; x < out_w; ++x) {
            uint8_t *o = out + (y * out_w + x) * run;
            zero(o, run);
            const int32_t iy = y - top, ix = x - left;
            const int32_t inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
            for (int32_t ch = 0; ch < c; ++ch)
                nnk_put(o, ch, bits, inside ? nnk_get(in + (iy * w + ix) * run, ch, bits, is_signed) : value);
        }
    }
}

void nnk_reshape(const uint8_t *in, int32_t in_runs, int32_t in_len, int32_t bits, int32_t is_signed,
                 int32_t from_nhwc, int32_t h, int32_t w, int32_t c, uint8_t *out, int32_t out_runs,
                 int32_t out_len) {
    const int32_t ir = nnk_run_bytes(in_len, bits), orun = nnk_run_bytes(out_len, bits);
    (void)in_runs;
    for (int32_t r = 0; r < out_runs; ++r) {
        uint8_t *o = out + r * orun;
        zero(o, orun);
        for (int32_t i = 0; i < out_len; ++i) {
            const int32_t flat = r * out_len + i; /* logical (row-major) index */
            int32_t src_run, src_i;
            if (from_nhwc) {
                const int32_t ch = flat / (h * w), y = (flat / w) % h, x = flat % w;
                src_run = y * w + x;
                src_i = ch;
            } else {
                src_run = flat / in_len;
                src_i = flat % in_len;
            }
            nnk_put(o, i, bits, nnk_get(in + src_run * ir, src_i, bits, is_signed));
        }
    }
    (void)c;
}
