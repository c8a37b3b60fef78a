/* nnk_fully_connected.c: y = x·Wᵀ + b per row, one dot per output. */
#include "nnk_dot.h"

void nnk_fully_connected(const uint8_t *in, int32_t rows, int32_t in_c, int32_t in_bits, int32_t in_signed,
                         const uint8_t *w, int32_t w_bits, const int32_t *bias, const int32_t *mult,
                         const int32_t *shift, int32_t lo, int32_t hi, uint8_t *out, int32_t out_c,
                         int32_t out_bits, int32_t out_signed) {
    const int32_t in_run = nnk_run_bytes(in_c, in_bits), w_run = nnk_run_bytes(in_c, w_bits);
    const int32_t out_run = nnk_run_bytes(out_c, out_bits);
    (void)out_signed;
    for (int32_t r = 0; r < rows; ++r) {
        const uint8_t *x = in + r * in_run;
        uint8_t *o = out + r * out_run;
        zero(o, out_run);
        for (int32_t j = 0; j < out_c; ++j) {
            int32_t acc = bias[j];
            const uint8_t *wr = w + j * w_run;
            acc += nnk_dot(x, 0, in_bits, in_signed, wr, 0, w_bits, in_c);
            nnk_put(o, j, out_bits, nnk_requant(acc, mult[j], shift[j], lo, hi));
        }
    }
}
