/* nnk_reshape.c: the same codes under new runs, optionally from NHWC to logical order. */
#include "nnk_lanes.h"

void nnk_reshape(const uint8_t *in, int32_t in_runs, int32_t in_len, int32_t bits, int32_t is_signed,
                 int32_t from_nhwc, int32_t h, int32_t w, int32_t c, uint8_t *out, int32_t out_runs,
                 int32_t out_len) {
    const int32_t ir = nnk_run_bytes(in_len, bits), orun = nnk_run_bytes(out_len, bits);
    (void)in_runs;
    for (int32_t r = 0; r < out_runs; ++r) {
        uint8_t *o = out + r * orun;
        zero(o, orun);
        for (int32_t i = 0; i < out_len; ++i) {
            const int32_t flat = r * out_len + i; /* logical (row-major) index */
            int32_t src_run, src_i;
            if (from_nhwc) {
                const int32_t ch = flat / (h * w), y = (flat / w) % h, x = flat % w;
                src_run = y * w + x;
                src_i = ch;
            } else {
                src_run = flat / in_len;
                src_i = flat % in_len;
            }
            nnk_put(o, i, bits, nnk_get(in + src_run * ir, src_i, bits, is_signed));
        }
    }
    (void)c;
}
