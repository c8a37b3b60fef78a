/* nnk_channel_affine.c: y = requant(w[c]*x + bias[c], m[c], shift[c]) per channel (the last
 * stored axis): an activation with a scalar or per-channel constant (Add, Mul, Div). */
#include "nnk_lanes.h"

void nnk_channel_affine(const uint8_t *x, int32_t runs, int32_t len, int32_t x_bits, int32_t x_signed, const int32_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t lo, int32_t hi, uint8_t *out,
                        int32_t out_bits) {
    const int32_t xr = nnk_run_bytes(len, x_bits), orun = nnk_run_bytes(len, out_bits);
    for (int32_t r = 0; r < runs; ++r) {
        uint8_t *o = out + r * orun;
        zero(o, orun);
        for (int32_t c = 0; c < len; ++c) {
            const int32_t acc = w[c] * nnk_get(x + r * xr, c, x_bits, x_signed) + bias[c];
            nnk_put(o, c, out_bits, nnk_requant(acc, mult[c], shift[c], lo, hi));
        }
    }
}
