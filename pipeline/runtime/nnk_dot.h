/* nnk_dot.h: dot products of packed runs for the weighted kernels (convolution, fully
 * connected): blocks with two MACs per SMLAD (8/8, 4/4, 2/2, 8/4 and 8/2 bits), int32
 * accumulation, element by element where nothing faster applies. The blocked kernels live once, in
 * nnk_dot.c; the lane macros the convolution's two-row kernels share stay inline here. */
#ifndef NNK_DOT_H
#define NNK_DOT_H

#include "nnk_lanes.h"

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

/* Eight 4-bit weights (one word; ×16 in the lanes (0,4) (2,6) (1,5) (3,7)) against input lanes
 * in the same order. */
static inline __attribute__((always_inline)) int32_t mac_w4(uint32_t x04, uint32_t x26, uint32_t x15, uint32_t x37, uint32_t w, int32_t acc) {
    const uint32_t wl = (w << 4) & 0xF0F0F0F0u, wh = w & 0xF0F0F0F0u;
    acc = smlad(x04, sx16(wl), acc);
    acc = smlad(x26, sx16r(wl), acc);
    acc = smlad(x15, sx16(wh), acc);
    return smlad(x37, sx16r(wh), acc);
}

/* The dot product for byte-aligned runs of these widths. */
nnk_dot_fn nnk_pick_dot(int32_t xbits, int32_t wbits);

/* Σ x[i]·w[i] over n elements of two packed runs starting at element offsets xo and wo. */
int32_t nnk_dot(const uint8_t *x, int32_t xo, int32_t xbits, int32_t xsigned, const uint8_t *w, int32_t wo, int32_t wbits, int32_t n);

/* Σ of n weights (for padded taps of an input with a zero-point). */
int32_t nnk_weight_sum(const uint8_t *w, int32_t wo, int32_t wbits, int32_t n);

#endif
