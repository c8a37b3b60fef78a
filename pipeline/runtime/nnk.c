/* nnk: tinympq's portable integer kernels. Readable first: elements through nnk_get/nnk_put,
 * with direct loops where operands are byte-aligned 8-bit (and 8-bit × 4-bit weights), int32
 * accumulation, the requantisation of nnk.h. Every kernel zeroes each
 * output run before writing it, so padding bits are always 0 (checksums depend on it). */
#include "nnk.h"

static void zero(uint8_t *p, int32_t n) {
    for (int32_t i = 0; i < n; ++i) p[i] = 0;
}

/* Σ x[i]·w[i] over n elements of two packed runs starting at element offsets xo and wo.
 * Byte-aligned 8-bit operands take a direct loop; 4-bit weights starting on a byte take two
 * per byte; anything else goes one element at a time. */
static int32_t dot(const uint8_t *x, int32_t xo, int32_t xbits, int32_t xsigned,
                   const uint8_t *w, int32_t wo, int32_t wbits, int32_t n) {
    int32_t acc = 0;
    if (xbits == 8 && wbits == 8) {
        const uint8_t *xp = x + xo;
        const int8_t *wp = (const int8_t *)(w + wo);
        if (xsigned) {
            const int8_t *xs = (const int8_t *)xp;
            for (int32_t i = 0; i < n; ++i) acc += xs[i] * wp[i];
        } else {
            for (int32_t i = 0; i < n; ++i) acc += xp[i] * wp[i];
        }
        return acc;
    }
    if (xbits == 8 && wbits == 4 && (wo & 1) == 0) {
        const uint8_t *wp = w + (wo >> 1);
        int32_t i = 0;
        for (; i + 1 < n; i += 2) {
            const int32_t b = wp[i >> 1];
            const int32_t w0 = (int32_t)((b & 15) ^ 8) - 8, w1 = (int32_t)((b >> 4) ^ 8) - 8;
            const int32_t x0 = xsigned ? (int8_t)x[xo + i] : x[xo + i];
            const int32_t x1 = xsigned ? (int8_t)x[xo + i + 1] : x[xo + i + 1];
            acc += x0 * w0 + x1 * w1;
        }
        for (; i < n; ++i) acc += nnk_get(x, xo + i, 8, xsigned) * nnk_get(w, wo + i, 4, 1);
        return acc;
    }
    if (xbits == wbits && (xbits == 4 || xbits == 2) && (xo * xbits) % 8 == 0 && (wo * wbits) % 8 == 0) {
        /* Sub-byte operands starting on a byte: a whole byte of each at a time. */
        const int32_t per = 8 / xbits, mask = (1 << xbits) - 1, half = 1 << (xbits - 1);
        const uint8_t *xp = x + (xo * xbits) / 8, *wp = w + (wo * wbits) / 8;
        int32_t i = 0;
        for (; i + per <= n; i += per) {
            int32_t xb = *xp++, wb = *wp++;
            for (int32_t k = 0; k < per; ++k) {
                int32_t xv = xb & mask, wv = ((wb & mask) ^ half) - half;
                if (xsigned) xv = (xv ^ half) - half;
                acc += xv * wv;
                xb >>= xbits;
                wb >>= wbits;
            }
        }
        for (; i < n; ++i) acc += nnk_get(x, xo + i, xbits, xsigned) * nnk_get(w, wo + i, wbits, 1);
        return acc;
    }
    for (int32_t i = 0; i < n; ++i) acc += nnk_get(x, xo + i, xbits, xsigned) * nnk_get(w, wo + i, wbits, 1);
    return acc;
}

/* Σ of n weights (for padded taps of an input with a zero-point). */
static int32_t weight_sum(const uint8_t *w, int32_t wo, int32_t wbits, int32_t n) {
    int32_t s = 0;
    for (int32_t i = 0; i < n; ++i) s += nnk_get(w, wo + i, wbits, 1);
    return s;
}

static void conv_standard(const nnk_conv_params *p, const uint8_t *in, const uint8_t *w, const int32_t *bias,
                          const int32_t *mult, const int32_t *shift, uint8_t *out) {
    const nnk_window *g = &p->g;
    const int32_t cin_g = g->in_c / p->groups, cout_g = g->out_c / p->groups;
    const int32_t in_run = nnk_run_bytes(g->in_c, p->in_bits);
    const int32_t out_run = nnk_run_bytes(g->out_c, p->out_bits);
    const int32_t taps = g->k_h * g->k_w * cin_g;
    const int32_t w_run = nnk_run_bytes(taps, p->w_bits);
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            uint8_t *o = out + (oy * g->out_w + ox) * out_run;
            zero(o, out_run);
            for (int32_t co = 0; co < g->out_c; ++co) {
                const int32_t gr = co / cout_g;
                const uint8_t *wr = w + co * w_run;
                int32_t acc = bias[co];
                for (int32_t ky = 0; ky < g->k_h; ++ky) {
                    const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                    for (int32_t kx = 0; kx < g->k_w; ++kx) {
                        const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
                        const int32_t wo = (ky * g->k_w + kx) * cin_g;
                        if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) {
                            if (p->pad_value) acc += p->pad_value * weight_sum(wr, wo, p->w_bits, cin_g);
                            continue;
                        }
                        const uint8_t *x = in + (iy * g->in_w + ix) * in_run;
                        acc += dot(x, gr * cin_g, p->in_bits, p->in_signed, wr, wo, p->w_bits, cin_g);
                    }
                }
                nnk_put(o, co, p->out_bits, nnk_requant(acc, mult[co], shift[co], p->lo, p->hi));
            }
        }
    }
}

static void conv_depthwise(const nnk_conv_params *p, const uint8_t *in, const uint8_t *w, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, uint8_t *out) {
    const nnk_window *g = &p->g;
    const int32_t c = g->out_c;
    const int32_t in_run = nnk_run_bytes(c, p->in_bits), out_run = nnk_run_bytes(c, p->out_bits);
    const int32_t w_run = nnk_run_bytes(c, p->w_bits);
    const int32_t fast = p->in_bits == 8 && p->w_bits == 8;
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            uint8_t *o = out + (oy * g->out_w + ox) * out_run;
            zero(o, out_run);
            const int32_t iy0 = oy * g->stride_h - g->pad_top, ix0 = ox * g->stride_w - g->pad_left;
            /* Taps inside the input; the others read the pad value. */
            int32_t inside = 0, outside_taps = 0;
            const uint8_t *xs[64];
            const uint8_t *ws[64];
            const uint8_t *wout[64];
            for (int32_t ky = 0; ky < g->k_h; ++ky) {
                const int32_t iy = iy0 + ky * g->dil_h;
                for (int32_t kx = 0; kx < g->k_w; ++kx) {
                    const int32_t ix = ix0 + kx * g->dil_w;
                    const uint8_t *wr = w + (ky * g->k_w + kx) * w_run;
                    if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) {
                        if (outside_taps < 64) wout[outside_taps] = wr;
                        outside_taps++;
                    } else if (inside < 64) {
                        xs[inside] = in + (iy * g->in_w + ix) * in_run;
                        ws[inside] = wr;
                        inside++;
                    }
                }
            }
            if (g->k_h * g->k_w > 64) { /* very large windows: the element-wise path */
                inside = -1;
            }
            for (int32_t ch = 0; ch < c; ++ch) {
                int32_t acc = bias[ch];
                if (inside >= 0) {
                    if (fast && !p->in_signed) {
                        for (int32_t t = 0; t < inside; ++t) acc += (int32_t)xs[t][ch] * (int32_t)(int8_t)ws[t][ch];
                    } else if (fast) {
                        for (int32_t t = 0; t < inside; ++t) acc += (int32_t)(int8_t)xs[t][ch] * (int32_t)(int8_t)ws[t][ch];
                    } else {
                        for (int32_t t = 0; t < inside; ++t) acc += nnk_get(xs[t], ch, p->in_bits, p->in_signed) * nnk_get(ws[t], ch, p->w_bits, 1);
                    }
                    if (p->pad_value)
                        for (int32_t t = 0; t < outside_taps; ++t) acc += p->pad_value * nnk_get(wout[t], ch, p->w_bits, 1);
                } else {
                    for (int32_t ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = iy0 + ky * g->dil_h;
                        for (int32_t kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = ix0 + kx * g->dil_w;
                            const int32_t wv = nnk_get(w + (ky * g->k_w + kx) * w_run, ch, p->w_bits, 1);
                            const int32_t in_range = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w;
                            acc += wv * (in_range ? nnk_get(in + (iy * g->in_w + ix) * in_run, ch, p->in_bits, p->in_signed) : p->pad_value);
                        }
                    }
                }
                nnk_put(o, ch, p->out_bits, nnk_requant(acc, mult[ch], shift[ch], p->lo, p->hi));
            }
        }
    }
}

void nnk_conv(const nnk_conv_params *p, const uint8_t *in, const uint8_t *w, const int32_t *bias,
              const int32_t *mult, const int32_t *shift, uint8_t *out) {
    if (p->depthwise) conv_depthwise(p, in, w, bias, mult, shift, out);
    else conv_standard(p, in, w, bias, mult, shift, out);
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
