/* nnk: tinympq's portable integer kernels. Readable first: one element at a time through
 * nnk_get/nnk_put, int32 accumulation, the requantisation of nnk.h. Every kernel zeroes each
 * output run before writing it, so padding bits are always 0 (checksums depend on it). */
#include "nnk.h"

static void zero(uint8_t *p, int32_t n) {
    for (int32_t i = 0; i < n; ++i) p[i] = 0;
}

void nnk_conv(const nnk_conv_params *p, const uint8_t *in, const uint8_t *w, const int32_t *bias,
              const int32_t *mult, const int32_t *shift, uint8_t *out) {
    const nnk_window *g = &p->g;
    const int32_t cin_g = g->in_c / p->groups, cout_g = g->out_c / p->groups;
    const int32_t in_run = nnk_run_bytes(g->in_c, p->in_bits);
    const int32_t out_run = nnk_run_bytes(g->out_c, p->out_bits);
    const int32_t taps = g->k_h * g->k_w * cin_g;
    const int32_t w_run = p->depthwise ? nnk_run_bytes(g->out_c, p->w_bits) : nnk_run_bytes(taps, p->w_bits);
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            uint8_t *o = out + (oy * g->out_w + ox) * out_run;
            zero(o, out_run);
            for (int32_t co = 0; co < g->out_c; ++co) {
                const int32_t gr = co / cout_g;
                int32_t acc = bias[co];
                for (int32_t ky = 0; ky < g->k_h; ++ky) {
                    const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                    for (int32_t kx = 0; kx < g->k_w; ++kx) {
                        const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
                        const int32_t inside = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w;
                        const uint8_t *x = in + (iy * g->in_w + ix) * in_run;
                        for (int32_t ci = 0; ci < cin_g; ++ci) {
                            int32_t wv;
                            if (p->depthwise) {
                                wv = nnk_get(w + (ky * g->k_w + kx) * w_run, co, p->w_bits, 1);
                            } else {
                                wv = nnk_get(w + co * w_run, (ky * g->k_w + kx) * cin_g + ci, p->w_bits, 1);
                            }
                            const int32_t xv = inside ? nnk_get(x, gr * cin_g + ci, p->in_bits, p->in_signed) : p->pad_value;
                            acc += xv * wv;
                        }
                    }
                }
                nnk_put(o, co, p->out_bits, nnk_requant(acc, mult[co], shift[co], p->lo, p->hi));
            }
        }
    }
}

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
            for (int32_t i = 0; i < in_c; ++i) acc += nnk_get(x, i, in_bits, in_signed) * nnk_get(wr, i, w_bits, 1);
            nnk_put(o, j, out_bits, nnk_requant(acc, mult[j], shift[j], lo, hi));
        }
    }
}

static int32_t round_shift(int64_t acc, int32_t t, int32_t lo, int32_t hi) {
    int64_t y = (acc + ((int64_t)1 << (t - 1))) >> t;
    if (y < lo) y = lo;
    if (y > hi) y = hi;
    return (int32_t)y;
}

void nnk_add(const uint8_t *a, const uint8_t *b, int32_t runs, int32_t len, int32_t a_bits, int32_t a_signed,
             int32_t b_bits, int32_t b_signed, int32_t m1, int32_t m2, int32_t shift, int32_t lo, int32_t hi,
             uint8_t *out, int32_t out_bits) {
    const int32_t ar = nnk_run_bytes(len, a_bits), br = nnk_run_bytes(len, b_bits), orun = nnk_run_bytes(len, out_bits);
    for (int32_t r = 0; r < runs; ++r) {
        uint8_t *o = out + r * orun;
        zero(o, orun);
        for (int32_t i = 0; i < len; ++i) {
            const int64_t acc = (int64_t)nnk_get(a + r * ar, i, a_bits, a_signed) * m1 + (int64_t)nnk_get(b + r * br, i, b_bits, b_signed) * m2;
            nnk_put(o, i, out_bits, round_shift(acc, shift, lo, hi));
        }
    }
}

void nnk_channel_mul(const uint8_t *x, const uint8_t *gate, int32_t runs, int32_t len, int32_t x_bits,
                     int32_t x_signed, int32_t g_bits, int32_t g_signed, int32_t m, int32_t shift, int32_t lo,
                     int32_t hi, uint8_t *out, int32_t out_bits) {
    const int32_t xr = nnk_run_bytes(len, x_bits), orun = nnk_run_bytes(len, out_bits);
    for (int32_t r = 0; r < runs; ++r) {
        uint8_t *o = out + r * orun;
        zero(o, orun);
        for (int32_t i = 0; i < len; ++i) {
            const int32_t acc = nnk_get(x + r * xr, i, x_bits, x_signed) * nnk_get(gate, i, g_bits, g_signed);
            nnk_put(o, i, out_bits, nnk_requant(acc, m, shift, lo, hi));
        }
    }
}

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

void nnk_lookup(const uint8_t *in, int32_t runs, int32_t len, int32_t in_bits, int32_t in_signed,
                const uint8_t *table, int32_t input_min, uint8_t *out, int32_t out_bits) {
    const int32_t ir = nnk_run_bytes(len, in_bits), orun = nnk_run_bytes(len, out_bits);
    for (int32_t r = 0; r < runs; ++r) {
        uint8_t *o = out + r * orun;
        zero(o, orun);
        for (int32_t i = 0; i < len; ++i) nnk_put(o, i, out_bits, (int32_t)(int8_t)table[nnk_get(in + r * ir, i, in_bits, in_signed) - input_min]);
    }
}

void nnk_pad(const uint8_t *in, int32_t h, int32_t w, int32_t c, int32_t bits, int32_t is_signed,
             int32_t top, int32_t left, int32_t out_h, int32_t out_w, int32_t value, uint8_t *out) {
    const int32_t run = nnk_run_bytes(c, bits);
    for (int32_t y = 0; y < out_h; ++y) {
        for (int32_t x = 0; x < out_w; ++x) {
            uint8_t *o = out + (y * out_w + x) * run;
            zero(o, run);
            const int32_t iy = y - top, ix = x - left;
            const int32_t inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
            for (int32_t ch = 0; ch < c; ++ch)
                nnk_put(o, ch, bits, inside ? nnk_get(in + (iy * w + ix) * run, ch, bits, is_signed) : value);
        }
    }
}

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
