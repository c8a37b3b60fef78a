/* nnk_slice.c: slice of an NHWC image on H, W and C with positive steps: output (y, x, c) is
 * input (top + y*sh, left + x*sw, first + c*sc). */
#include "nnk_lanes.h"
#include "nnk_extra.h"

void nnk_slice(const uint8_t *in, int32_t w, int32_t c, int32_t bits, int32_t is_signed, int32_t top, int32_t left, int32_t first,
               int32_t sh, int32_t sw, int32_t sc, int32_t out_h, int32_t out_w, int32_t out_c, uint8_t *out) {
    const int32_t run = nnk_run_bytes(c, bits), orun = nnk_run_bytes(out_c, bits);
    for (int32_t y = 0; y < out_h; ++y) {
        for (int32_t x = 0; x < out_w; ++x) {
            const uint8_t *s = in + ((top + y * sh) * w + left + x * sw) * run;
            uint8_t *o = out + (y * out_w + x) * orun;
            zero(o, orun);
            for (int32_t ch = 0; ch < out_c; ++ch) nnk_put(o, ch, bits, nnk_get(s, first + ch * sc, bits, is_signed));
        }
    }
}
