/* nnk: tinympq's portable integer kernels (C99, no malloc, no float, no libc). One file per op,
 * named after it (nnk_conv.c, nnk_add.c, ...), as the op's Swift reference in Quantize/Ops/ and its
 * emitter in Codegen/Ops/; nnk_lanes.h holds the helpers they share, nnk_dot.h/.c the dot
 * products of the weighted kernels.
 *
 * Tensors are packed LSB-first: element i of a run is at byte i*b/8, bit (i*b)%8, b in {2,4,8};
 * signed values are two's complement in b bits. Activations are NHWC, one run per pixel (its
 * channel vector), each run padded to a whole byte. Conv weights are OHWI with one run per
 * output channel; depthwise weights are [kh][kw][C] with one run per (ky, kx); fully connected
 * weights are [out][in], one run per output.
 *
 * Requantisation (the contract, bit-exact with tinympq's Swift engine):
 *   y = clamp(((int64)acc * M + 2^(T-1)) >> T, lo, hi)     (arithmetic shift: ties round up)
 */
#ifndef NNK_H
#define NNK_H

#include <stdint.h>

typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
} nnk_window;

typedef struct {
    nnk_window g;
    int32_t groups, depthwise;
    int8_t in_bits, in_signed, w_bits, out_bits, out_signed;
    int32_t lo, hi, pad_value;
} nnk_conv_params;

/* Bytes of one packed run of n b-bit elements. */
static inline int32_t nnk_run_bytes(int32_t n, int32_t bits) { return (n * bits + 7) / 8; }

static inline int32_t nnk_get(const uint8_t *run, int32_t i, int32_t bits, int32_t is_signed) {
    int32_t bit = i * bits;
    uint32_t mask = (1u << bits) - 1u;
    uint32_t v = ((uint32_t)run[bit >> 3] >> (bit & 7)) & mask;
    if (is_signed && (v >> (bits - 1))) return (int32_t)v - (int32_t)(mask + 1u);
    return (int32_t)v;
}

/* Sets element i of a run whose bytes were zeroed first. */
static inline void nnk_put(uint8_t *run, int32_t i, int32_t bits, int32_t v) {
    int32_t bit = i * bits;
    uint32_t mask = (1u << bits) - 1u;
    run[bit >> 3] = (uint8_t)(run[bit >> 3] | (((uint32_t)v & mask) << (bit & 7)));
}

static inline int32_t nnk_requant(int32_t acc, int32_t m, int32_t t, int32_t lo, int32_t hi) {
    int64_t p = (int64_t)acc * (int64_t)m + ((int64_t)1 << (t - 1));
    if (t >= 32) { /* the usual case: the high word alone, shifted (the same floor) */
        int32_t y = (int32_t)(p >> 32) >> (t - 32);
        return y < lo ? lo : y > hi ? hi : y;
    }
    int64_t y = p >> t;
    if (y < lo) y = lo;
    if (y > hi) y = hi;
    return (int32_t)y;
}

void nnk_conv(const nnk_conv_params *p, const uint8_t *in, const uint8_t *w, const int32_t *bias,
              const int32_t *mult, const int32_t *shift, uint8_t *out);

void nnk_fully_connected(const uint8_t *in, int32_t rows, int32_t in_c, int32_t in_bits, int32_t in_signed,
                         const uint8_t *w, int32_t w_bits, const int32_t *bias, const int32_t *mult,
                         const int32_t *shift, int32_t lo, int32_t hi, uint8_t *out, int32_t out_c,
                         int32_t out_bits, int32_t out_signed);

void nnk_add(const uint8_t *a, const uint8_t *b, int32_t runs, int32_t len, int32_t a_bits, int32_t a_signed,
             int32_t b_bits, int32_t b_signed, int32_t m1, int32_t m2, int32_t shift, int32_t lo, int32_t hi,
             uint8_t *out, int32_t out_bits);

void nnk_channel_mul(const uint8_t *x, const uint8_t *gate, int32_t runs, int32_t len, int32_t x_bits,
                     int32_t x_signed, int32_t g_bits, int32_t g_signed, int32_t m, int32_t shift, int32_t lo,
                     int32_t hi, uint8_t *out, int32_t out_bits);

/* One input of a concatenation along any stored axis: `outer` blocks of `block` elements (runs of
 * in_len), requantized, each at element `offset` of the output's blocks of `out_block` (runs of
 * out_len); a non-zero `zero_bytes` clears that many output bytes first (the first input). */
void nnk_concat_part(const uint8_t *x, int32_t outer, int32_t block, int32_t in_len, int32_t in_bits, int32_t in_signed,
                     int32_t m, int32_t shift, int32_t lo, int32_t hi, uint8_t *out, int32_t out_block, int32_t out_len,
                     int32_t out_bits, int32_t offset, int32_t zero_bytes);

/* y = requant(w[c]*x + bias[c], m[c], shift[c]) over the last stored axis. */
void nnk_channel_affine(const uint8_t *x, int32_t runs, int32_t len, int32_t x_bits, int32_t x_signed, const int32_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t lo, int32_t hi, uint8_t *out,
                        int32_t out_bits);

void nnk_average_pool(const nnk_window *g, const uint8_t *in, int32_t in_bits, int32_t in_signed, int32_t m,
                      int32_t shift, int32_t lo, int32_t hi, uint8_t *out, int32_t out_bits);

void nnk_max_pool(const nnk_window *g, const uint8_t *in, int32_t bits, int32_t is_signed, uint8_t *out);

void nnk_lookup(const uint8_t *in, int32_t runs, int32_t len, int32_t in_bits, int32_t in_signed,
                const uint8_t *table, int32_t input_min, uint8_t *out, int32_t out_bits);

void nnk_pad(const uint8_t *in, int32_t h, int32_t w, int32_t c, int32_t bits, int32_t is_signed,
             int32_t top, int32_t left, int32_t c_before, int32_t out_h, int32_t out_w, int32_t out_c, int32_t value, uint8_t *out);

/* Same codes, new run length: runs of `in_len` become runs of `out_len` (reshape), reading the
 * image in NCHW order when `from_nhwc` (an image flattened the way ONNX flattens it). */
void nnk_reshape(const uint8_t *in, int32_t in_runs, int32_t in_len, int32_t bits, int32_t is_signed,
                 int32_t from_nhwc, int32_t h, int32_t w, int32_t c, uint8_t *out, int32_t out_runs,
                 int32_t out_len);

#endif
