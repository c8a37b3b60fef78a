/* nnk_concat.c: one input of a concatenation along any stored axis, requantized into its place.
 * Stored order (images H, W, C; other tensors their own) makes the input `outer` blocks of
 * `block` elements, each landing at element `offset` of the output's blocks of `out_block`. */
#include "nnk_lanes.h"

void nnk_concat_part(const uint8_t *x, int32_t outer, int32_t block, int32_t in_len, int32_t in_bits, int32_t in_signed,
                     int32_t m, int32_t shift, int32_t lo, int32_t hi, uint8_t *out, int32_t out_block, int32_t out_len,
                     int32_t out_bits, int32_t offset, int32_t zero_bytes) {
    const int32_t xr = nnk_run_bytes(in_len, in_bits), orun = nnk_run_bytes(out_len, out_bits);
    if (zero_bytes) zero(out, zero_bytes); /* the first input clears the whole output */
    for (int32_t o = 0; o < outer; ++o) {
        for (int32_t e = 0; e < block; ++e) {
            const int32_t f = o * block + e, g = o * out_block + offset + e; /* element indices, in and out */
            const int32_t v = nnk_get(x + (f / in_len) * xr, f % in_len, in_bits, in_signed);
            nnk_put(out + (g / out_len) * orun, g % out_len, out_bits, nnk_requant(v, m, shift, lo, hi));
        }
    }
}
