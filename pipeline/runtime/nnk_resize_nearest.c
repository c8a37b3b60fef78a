/* nnk_resize_nearest.c: nearest upsampling of an NHWC image by whole factors: output pixel
 * (y, x) is a copy of input pixel (y / fh, x / fw) (each packed run copied whole). */
#include "nnk_lanes.h"
#include "nnk_extra.h"

void nnk_resize_nearest(const uint8_t *in, int32_t h, int32_t w, int32_t c, int32_t bits, int32_t fh, int32_t fw, uint8_t *out) {
    const int32_t run = nnk_run_bytes(c, bits), ow = w * fw;
    for (int32_t y = 0; y < h * fh; ++y) {
        for (int32_t x = 0; x < ow; ++x) {
            const uint8_t *s = in + ((y / fh) * w + x / fw) * run;
            uint8_t *o = out + (y * ow + x) * run;
            for (int32_t i = 0; i < run; ++i) o[i] = s[i];
        }
    }
}
