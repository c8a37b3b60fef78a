/* nnk_lanes.h: what every kernel file shares: zeroing and storing packed runs, the two-lane
 * 16-bit helpers (one DSP instruction each on Cortex-M4/M7/M33, the same arithmetic in C
 * elsewhere), unaligned word loads and the 64-bit rounding shift. All static inline. */
#ifndef NNK_LANES_H
#define NNK_LANES_H

#include "nnk.h"

static inline void zero(uint8_t *p, int32_t n) {
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

/* Rounding shift of an int64 sum (residual add): the requantisation of nnk.h without M. */
static inline int32_t round_shift(int64_t acc, int32_t t, int32_t lo, int32_t hi) {
    int64_t y = (acc + ((int64_t)1 << (t - 1))) >> t;
    if (y < lo) y = lo;
    if (y > hi) y = hi;
    return (int32_t)y;
}

#endif
