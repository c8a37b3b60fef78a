/* nnk_depth_to_space.c: [C*b*b, H, W] -> [C, H*b, W*b] of an NHWC image; output channel c of
 * pixel (y*b + i, x*b + j) is input channel (i*b + j)*C + c (DCR) or c*b*b + i*b + j (CRD). */
#include "nnk_lanes.h"
#include "nnk_extra.h"

void nnk_depth_to_space(const uint8_t *in, int32_t h, int32_t w, int32_t c_in, int32_t bits, int32_t is_signed,
                        int32_t b, int32_t crd, uint8_t *out) {
    const int32_t c = c_in / (b * b), ow = w * b;
    const int32_t run = nnk_run_bytes(c_in, bits), orun = nnk_run_bytes(c, bits);
    for (int32_t y = 0; y < h; ++y) {
        for (int32_t x = 0; x < w; ++x) {
            const uint8_t *s = in + (y * w + x) * run;
            for (int32_t i = 0; i < b; ++i) {
                for (int32_t j = 0; j < b; ++j) {
                    uint8_t *o = out + ((y * b + i) * ow + x * b + j) * orun;
                    zero(o, orun);
                    for (int32_t ch = 0; ch < c; ++ch) {
                        const int32_t from = crd ? ch * b * b + i * b + j : (i * b + j) * c + ch;
                        nnk_put(o, ch, bits, nnk_get(s, from, bits, is_signed));
                    }
                }
            }
        }
    }
}
