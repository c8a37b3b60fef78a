/* nnk_resize_bilinear.c: bilinear resizing of an NHWC image in integers (the output on the
 * input's grid). Source coordinate of output pixel o: (o*a + b) / d clamped to [0, n - 1];
 * taps lo, min(lo + 1, n - 1); 10-bit weight round(rem * 1024 / d); rounded 20-bit shift. */
#include "nnk_lanes.h"
#include "nnk_extra.h"

static void taps(int32_t o, int32_t a, int32_t b, int32_t d, int32_t n, int32_t *lo, int32_t *hi, int32_t *wt) {
    int32_t num = o * a + b;
    if (num < 0) num = 0;
    if (num > (n - 1) * d) num = (n - 1) * d;
    *lo = num / d;
    *hi = *lo + 1 < n ? *lo + 1 : n - 1;
    *wt = (((num - *lo * d) << 10) + d / 2) / d;
}

void nnk_resize_bilinear(const uint8_t *in, int32_t h, int32_t w, int32_t c, int32_t bits, int32_t is_signed, int32_t ay, int32_t by,
                         int32_t dy, int32_t ax, int32_t bx, int32_t dx, int32_t out_h, int32_t out_w, uint8_t *out) {
    const int32_t run = nnk_run_bytes(c, bits);
    for (int32_t oy = 0; oy < out_h; ++oy) {
        int32_t y0, y1, wy;
        taps(oy, ay, by, dy, h, &y0, &y1, &wy);
        for (int32_t ox = 0; ox < out_w; ++ox) {
            int32_t x0, x1, wx;
            taps(ox, ax, bx, dx, w, &x0, &x1, &wx);
            const uint8_t *p00 = in + (y0 * w + x0) * run, *p01 = in + (y0 * w + x1) * run;
            const uint8_t *p10 = in + (y1 * w + x0) * run, *p11 = in + (y1 * w + x1) * run;
            uint8_t *o = out + (oy * out_w + ox) * run;
            zero(o, run);
            for (int32_t ch = 0; ch < c; ++ch) {
                const int32_t top = (1024 - wx) * nnk_get(p00, ch, bits, is_signed) + wx * nnk_get(p01, ch, bits, is_signed);
                const int32_t bottom = (1024 - wx) * nnk_get(p10, ch, bits, is_signed) + wx * nnk_get(p11, ch, bits, is_signed);
                nnk_put(o, ch, bits, ((1024 - wy) * top + wy * bottom + (1 << 19)) >> 20);
            }
        }
    }
}
