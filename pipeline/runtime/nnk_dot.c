/* nnk_dot.c: the blocked dot products of nnk_dot.h, once for every weighted kernel. */
#include "nnk_dot.h"

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
nnk_dot_fn nnk_pick_dot(int32_t xbits, int32_t wbits) {
    if (xbits == 8 && wbits == 8) return dot_8x8;
    if (xbits == 4 && wbits == 4) return dot_4x4;
    if (xbits == 2 && wbits == 2) return dot_2x2;
    if (xbits == 8 && wbits == 4) return dot_8x4;
    if (xbits == 8 && wbits == 2) return dot_8x2;
    return dot_any;
}

/* Σ x[i]·w[i] over n elements of two packed runs starting at element offsets xo and wo. */
int32_t nnk_dot(const uint8_t *x, int32_t xo, int32_t xbits, int32_t xsigned,
                   const uint8_t *w, int32_t wo, int32_t wbits, int32_t n) {
    if ((xo * xbits) % 8 != 0 || (wo * wbits) % 8 != 0) {
        int32_t acc = 0;
        for (int32_t i = 0; i < n; ++i) acc += nnk_get(x, xo + i, xbits, xsigned) * nnk_get(w, wo + i, wbits, 1);
        return acc;
    }
    const nnk_dot_fn fn = nnk_pick_dot(xbits, wbits);
    int32_t acc = 0;
    for (int32_t i = 0; i < n; i += 16384) {
        const int32_t len = n - i < 16384 ? n - i : 16384;
        acc += fn(x + ((xo + i) * xbits) / 8, xsigned, xbits, w + ((wo + i) * wbits) / 8, wbits, len);
    }
    return acc;
}

/* Σ of n weights (for padded taps of an input with a zero-point). */
int32_t nnk_weight_sum(const uint8_t *w, int32_t wo, int32_t wbits, int32_t n) {
    int32_t s = 0;
    for (int32_t i = 0; i < n; ++i) s += nnk_get(w, wo + i, wbits, 1);
    return s;
}
