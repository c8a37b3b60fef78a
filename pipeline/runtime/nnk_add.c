/* nnk_add.c: residual add of two equally shaped tensors, two multipliers and one shift. */
#include "nnk_lanes.h"

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
