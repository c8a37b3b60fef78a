/* nnk_prelu.c: y = requant(x, x >= 0 ? positive[c] : negative[c]) per channel (the last stored
 * axis): PReLU with a scalar or per-channel slope (the negative multiplier carries its sign). */
#include "nnk_lanes.h"
#include "nnk_extra.h"

void nnk_prelu(const uint8_t *x, int32_t runs, int32_t len, int32_t x_bits, int32_t x_signed, const int32_t *pos_mult,
               const int32_t *pos_shift, const int32_t *neg_mult, const int32_t *neg_shift, int32_t lo, int32_t hi, uint8_t *out,
               int32_t out_bits) {
    const int32_t xr = nnk_run_bytes(len, x_bits), orun = nnk_run_bytes(len, out_bits);
    for (int32_t r = 0; r < runs; ++r) {
        uint8_t *o = out + r * orun;
        zero(o, orun);
        for (int32_t c = 0; c < len; ++c) {
            const int32_t v = nnk_get(x + r * xr, c, x_bits, x_signed);
            nnk_put(o, c, out_bits, v >= 0 ? nnk_requant(v, pos_mult[c], pos_shift[c], lo, hi) : nnk_requant(v, neg_mult[c], neg_shift[c], lo, hi));
        }
    }
}
