/* nnk_pad.c: constant padding of an NHWC image on H, W and C (channels before the Add of a
 * residual block that widens). */
#include "nnk_lanes.h"

void nnk_pad(const uint8_t *in, int32_t h, int32_t w, int32_t c, int32_t bits, int32_t is_signed,
             int32_t top, int32_t left, int32_t c_before, int32_t out_h, int32_t out_w, int32_t out_c, int32_t value, uint8_t *out) {
    const int32_t run = nnk_run_bytes(c, bits), orun = nnk_run_bytes(out_c, bits);
    for (int32_t y = 0; y < out_h; ++y) {
        for (int32_t x = 0; x < out_w; ++x) {
            uint8_t *o = out + (y * out_w + x) * orun;
            zero(o, orun);
            const int32_t iy = y - top, ix = x - left;
            const int32_t inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
            for (int32_t ch = 0; ch < out_c; ++ch) {
                const int32_t ic = ch - c_before;
                nnk_put(o, ch, bits, inside && ic >= 0 && ic < c ? nnk_get(in + (iy * w + ix) * run, ic, bits, is_signed) : value);
            }
        }
    }
}
