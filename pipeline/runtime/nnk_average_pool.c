/* nnk_average_pool.c: average pooling over full windows. */
#include "nnk_lanes.h"

void nnk_average_pool(const nnk_window *g, const uint8_t *in, int32_t in_bits, int32_t in_signed, int32_t m,
                      int32_t shift, int32_t lo, int32_t hi, uint8_t *out, int32_t out_bits) {
    const int32_t ir = nnk_run_bytes(g->in_c, in_bits), orun = nnk_run_bytes(g->out_c, out_bits);
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            uint8_t *o = out + (oy * g->out_w + ox) * orun;
            zero(o, orun);
            for (int32_t c = 0; c < g->out_c; ++c) {
                int32_t acc = 0;
                for (int32_t ky = 0; ky < g->k_h; ++ky)
                    for (int32_t kx = 0; kx < g->k_w; ++kx)
                        acc += nnk_get(in + ((oy * g->stride_h + ky) * g->in_w + ox * g->stride_w + kx) * ir, c, in_bits, in_signed);
                nnk_put(o, c, out_bits, nnk_requant(acc, m, shift, lo, hi));
            }
        }
    }
}
