/* nnk_channel_mul.c: an image times a per-channel gate (squeeze-excite). */
#include "nnk_lanes.h"

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
