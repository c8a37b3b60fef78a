/* nnk_pad.c: spatial constant padding of an NHWC image. */
#include "nnk_lanes.h"

void nnk_pad(const uint8_t *in, int32_t h, int32_t w, int32_t c, int32_t bits, int32_t is_signed,
             int32_t top, int32_t left, int32_t out_h, int32_t out_w, int32_t value, uint8_t *out) {
    const int32_t run = nnk_run_bytes(c, bits);
    for (int32_t y = 0; y < out_h; ++y) {
        for (int32_t x = 0; x < out_w; ++x) {
            uint8_t *o = out + (y * out_w + x) * run;
            zero(o, run);
            const int32_t iy = y - top, ix = x - left;
            const int32_t inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
            for (int32_t ch = 0; ch < c; ++ch)
                nnk_put(o, ch, bits, inside ? nnk_get(in + (iy * w + ix) * run, ch, bits, is_signed) : value);
        }
    }
}
