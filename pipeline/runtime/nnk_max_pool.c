/* nnk_max_pool.c: max pooling; padded positions are skipped. */
#include "nnk_lanes.h"

void nnk_max_pool(const nnk_window *g, const uint8_t *in, int32_t bits, int32_t is_signed, uint8_t *out) {
    const int32_t run = nnk_run_bytes(g->in_c, bits);
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            uint8_t *o = out + (oy * g->out_w + ox) * run;
            zero(o, run);
            for (int32_t c = 0; c < g->out_c; ++c) {
                int32_t best = INT32_MIN;
                for (int32_t ky = 0; ky < g->k_h; ++ky) {
                    const int32_t iy = oy * g->stride_h - g->pad_top + ky;
                    if (iy < 0 || iy >= g->in_h) continue;
                    for (int32_t kx = 0; kx < g->k_w; ++kx) {
                        const int32_t ix = ox * g->stride_w - g->pad_left + kx;
                        if (ix < 0 || ix >= g->in_w) continue;
                        const int32_t v = nnk_get(in + (iy * g->in_w + ix) * run, c, bits, is_signed);
                        if (v > best) best = v;
                    }
                }
                nnk_put(o, c, bits, best);
            }
        }
    }
}
