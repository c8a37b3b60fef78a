/* nnk_extra.h: kernels declared apart from nnk.h (PReLU; data movement of resampling ops).
 * The generated model.c includes it after nnk.h. */
#ifndef NNK_EXTRA_H
#define NNK_EXTRA_H

#include "nnk.h"

/* y = requant(x, x >= 0 ? positive[c] : negative[c]) per channel of each run. */
void nnk_prelu(const uint8_t *x, int32_t runs, int32_t len, int32_t x_bits, int32_t x_signed, const int32_t *pos_mult,
               const int32_t *pos_shift, const int32_t *neg_mult, const int32_t *neg_shift, int32_t lo, int32_t hi, uint8_t *out,
               int32_t out_bits);

#endif
