/* nnk_concat.c: one input of a channel concatenation, requantized into its channel range. */
#include "nnk_lanes.h"

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
