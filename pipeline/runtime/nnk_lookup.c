/* nnk_lookup.c: y = table[x - input_min], any element-wise function of a small input. */
#include "nnk_lanes.h"

void nnk_lookup(const uint8_t *in, int32_t runs, int32_t len, int32_t in_bits, int32_t in_signed,
                const uint8_t *table, int32_t input_min, uint8_t *out, int32_t out_bits) {
    const int32_t ir = nnk_run_bytes(len, in_bits), orun = nnk_run_bytes(len, out_bits);
    for (int32_t r = 0; r < runs; ++r) {
        uint8_t *o = out + r * orun;
        zero(o, orun);
        for (int32_t i = 0; i < len; ++i) nnk_put(o, i, out_bits, (int32_t)(int8_t)table[nnk_get(in + r * ir, i, in_bits, in_signed) - input_min]);
    }
}
