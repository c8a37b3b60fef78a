/* nnk_extra.h: kernels declared apart from nnk.h (PReLU; data movement of resampling ops).
 * The generated model.c includes it after nnk.h. */
#ifndef NNK_EXTRA_H
#define NNK_EXTRA_H

#include "nnk.h"

/* y = requant(x, x >= 0 ? positive[c] : negative[c]) per channel of each run. */
void nnk_prelu(const uint8_t *x, int32_t runs, int32_t len, int32_t x_bits, int32_t x_signed, const int32_t *pos_mult,
               const int32_t *pos_shift, const int32_t *neg_mult, const int32_t *neg_shift, int32_t lo, int32_t hi, uint8_t *out,
               int32_t out_bits);

/* Nearest upsampling of an NHWC image by whole factors fh, fw (packed runs copied). */
void nnk_resize_nearest(const uint8_t *in, int32_t h, int32_t w, int32_t c, int32_t bits, int32_t fh, int32_t fw, uint8_t *out);

/* DepthToSpace of an NHWC image of c_in = C*b*b channels (crd: CRD order, else DCR). */
void nnk_depth_to_space(const uint8_t *in, int32_t h, int32_t w, int32_t c_in, int32_t bits, int32_t is_signed,
                        int32_t b, int32_t crd, uint8_t *out);

/* Slice of an NHWC image: output (y, x, c) is input (top + y*sh, left + x*sw, first + c*sc). */
void nnk_slice(const uint8_t *in, int32_t w, int32_t c, int32_t bits, int32_t is_signed, int32_t top, int32_t left, int32_t first,
               int32_t sh, int32_t sw, int32_t sc, int32_t out_h, int32_t out_w, int32_t out_c, uint8_t *out);

/* Bilinear resizing of an NHWC image: source coordinate (o*a + b) / d per axis, 10-bit weights. */
void nnk_resize_bilinear(const uint8_t *in, int32_t h, int32_t w, int32_t c, int32_t bits, int32_t is_signed, int32_t ay, int32_t by,
                         int32_t dy, int32_t ax, int32_t bx, int32_t dx, int32_t out_h, int32_t out_w, uint8_t *out);

#endif
