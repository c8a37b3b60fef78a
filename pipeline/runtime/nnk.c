/* nnk: tinympq's portable integer kernels. Elements through nnk_get/nnk_put where nothing
 * faster applies; dot products of byte-aligned runs in blocks with two MACs per SMLAD (8/8,
 * 4/4, 2/2, 8/4 and 8/2 bits), int32 accumulation, the requantisation of nnk.h. Every kernel zeroes each
 * output run before writing it, so padding bits are always 0 (checksums depend on it). */
#include "nnk.h"

static void zero(uint8_t *p, int32_t n) {
    for (int32_t i = 0; i < n; ++i) p[i] = 0;
}

/* Two-lane 16-bit helpers. With the Cortex-M DSP extension (__ARM_FEATURE_DSP: M4, M7,
 * M33) each is one instruction; elsewhere the same arithmetic in C, so the host build runs the
 * very same blocked loops. Lanes: bits 0-15 and 16-31 of a word. */
#if defined(__ARM_FEATURE_DSP)
static inline uint32_t sx16(uint32_t x) { uint32_t r; __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x)); return r; }
static inline uint32_t sx16r(uint32_t x) { uint32_t r; __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x)); return r; }
static inline uint32_t ux16(uint32_t x) { uint32_t r; __asm__("uxtb16 %0, %1" : "=r"(r) : "r"(x)); return r; }
static inline uint32_t ux16r(uint32_t x) { uint32_t r; __asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x)); return r; }
static inline uint32_t pk_bt(uint32_t a, uint32_t b) { uint32_t r; __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b)); return r; }
static inline uint32_t pk_tb(uint32_t a, uint32_t b) { uint32_t r; __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b)); return r; }
static inline int32_t smlad(uint32_t a, uint32_t b, int32_t acc) {
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#else
/* Bytes 0 and 2 of x, sign- or zero-extended into the two lanes (ror: bytes 1 and 3). */
static inline uint32_t sx16(uint32_t x) { return ((uint32_t)(int32_t)(int8_t)x & 0xFFFFu) | ((uint32_t)(int32_t)(int8_t)(x >> 16) << 16); }
static inline uint32_t sx16r(uint32_t x) { return sx16(x >> 8 | x << 24); }
static inline uint32_t ux16(uint32_t x) { return x & 0x00FF00FFu; }
static inline uint32_t ux16r(uint32_t x) { return (x >> 8) & 0x00FF00FFu; }
/* Low lane of a, low lane of b as the high lane; high lane of a, high lane of b as the low lane. */
static inline uint32_t pk_bt(uint32_t a, uint32_t b) { return (a & 0xFFFFu) | (b << 16); }
static inline uint32_t pk_tb(uint32_t a, uint32_t b) { return (a & 0xFFFF0000u) | (b >> 16); }
static inline int32_t smlad(uint32_t a, uint32_t b, int32_t acc) {
    return acc + (int32_t)(int16_t)a * (int16_t)b + (int32_t)(int16_t)(a >> 16) * (int16_t)(b >> 16);
}
#endif

/* Four bytes as a little-endian word (any alignment: Cortex-M3 and up load unaligned words;
 * the fixed-size copy compiles to one load, no libc call). */
static inline uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
static inline uint32_t xt16(uint32_t x, int32_t sgn) { return sgn ? sx16(x) : ux16(x); }
static inline uint32_t xt16r(uint32_t x, int32_t sgn) { return sgn ? sx16r(x) : ux16r(x); }

/* Σ x·w over whole blocks of two byte-aligned runs, lanes packed for SMLAD (two MACs per
 * instruction), unpacking each word once. Sub-byte elements are moved to the top of their byte
 * (scaled by 16 or 64), so one sign-extension makes a lane; the scale is shifted out exactly at
 * the end. Returns the number of elements consumed (a multiple of the block). */
static int32_t dot_blocks(const uint8_t *x, int32_t xbits, int32_t xs, const uint8_t *w, int32_t wbits, int32_t n, int32_t *sum) {
    int32_t acc = 0, i = 0;
    if (xbits == 8 && wbits == 8) { /* lanes (0,2) and (1,3) of four elements */
        for (; i + 4 <= n; i += 4) {
            const uint32_t xw = rd32(x + i), ww = rd32(w + i);
            acc = smlad(xt16(xw, xs), sx16(ww), acc);
            acc = smlad(xt16r(xw, xs), sx16r(ww), acc);
        }
        *sum = acc;
        return i;
    }
    if (xbits == 4 && wbits == 4) { /* eight elements: lanes (0,4) (2,6) (1,5) (3,7), ×16 each */
        for (; i + 8 <= n; i += 8) {
            const uint32_t xw = rd32(x + i / 2), ww = rd32(w + i / 2);
            const uint32_t xl = (xw << 4) & 0xF0F0F0F0u, xh = xw & 0xF0F0F0F0u;
            const uint32_t wl = (ww << 4) & 0xF0F0F0F0u, wh = ww & 0xF0F0F0F0u;
            acc = smlad(xt16(xl, xs), sx16(wl), acc);
            acc = smlad(xt16r(xl, xs), sx16r(wl), acc);
            acc = smlad(xt16(xh, xs), sx16(wh), acc);
            acc = smlad(xt16r(xh, xs), sx16r(wh), acc);
        }
        *sum = acc >> 8;
        return i;
    }
    if (xbits == 2 && wbits == 2) { /* sixteen elements: lanes (k, k+8) and (k+4, k+12), ×64 each */
        for (; i + 16 <= n; i += 16) {
            const uint32_t xw = rd32(x + i / 4), ww = rd32(w + i / 4);
            for (int32_t k = 0; k < 4; ++k) {
                const int32_t sh = 6 - 2 * k;
                const uint32_t xk = (xw << sh) & 0xC0C0C0C0u, wk = (ww << sh) & 0xC0C0C0C0u;
                acc = smlad(xt16(xk, xs), sx16(wk), acc);
                acc = smlad(xt16r(xk, xs), sx16r(wk), acc);
            }
        }
        *sum = acc >> 12;
        return i;
    }
    if (xbits == 8 && wbits == 4) { /* eight elements; 8-bit lanes repacked to the weights' (0,4) (2,6) (1,5) (3,7) */
        for (; i + 8 <= n; i += 8) {
            const uint32_t x0 = rd32(x + i), x1 = rd32(x + i + 4), ww = rd32(w + i / 2);
            const uint32_t a = xt16(x0, xs), ar = xt16r(x0, xs), b = xt16(x1, xs), br = xt16r(x1, xs);
            const uint32_t wl = (ww << 4) & 0xF0F0F0F0u, wh = ww & 0xF0F0F0F0u;
            acc = smlad(pk_bt(a, b), sx16(wl), acc);
            acc = smlad(pk_tb(b, a), sx16r(wl), acc);
            acc = smlad(pk_bt(ar, br), sx16(wh), acc);
            acc = smlad(pk_tb(br, ar), sx16r(wh), acc);
        }
        *sum = acc >> 4;
        return i;
    }
    if (xbits == 8 && wbits == 2) { /* sixteen elements; lanes (k, k+8) and (k+4, k+12) */
        for (; i + 16 <= n; i += 16) {
            const uint32_t ww = rd32(w + i / 4);
            uint32_t e[4], o[4]; /* words j: lanes (4j, 4j+2) and (4j+1, 4j+3) */
            for (int32_t j = 0; j < 4; ++j) {
                const uint32_t xw = rd32(x + i + 4 * j);
                e[j] = xt16(xw, xs);
                o[j] = xt16r(xw, xs);
            }
            /* element k (k < 4) and k+8: lane k/2... of words 0 and 2; k+4, k+12: words 1 and 3 */
            const uint32_t lo02 = pk_bt(e[0], e[2]), hi02 = pk_tb(e[2], e[0]), lo13 = pk_bt(e[1], e[3]), hi13 = pk_tb(e[3], e[1]);
            const uint32_t olo02 = pk_bt(o[0], o[2]), ohi02 = pk_tb(o[2], o[0]), olo13 = pk_bt(o[1], o[3]), ohi13 = pk_tb(o[3], o[1]);
            const uint32_t xk[4][2] = {{lo02, lo13}, {olo02, olo13}, {hi02, hi13}, {ohi02, ohi13}};
            for (int32_t k = 0; k < 4; ++k) {
                const uint32_t wk = (ww << (6 - 2 * k)) & 0xC0C0C0C0u;
                acc = smlad(xk[k][0], sx16(wk), acc);
                acc = smlad(xk[k][1], sx16r(wk), acc);
            }
        }
        *sum = acc >> 6;
        return i;
    }
    *sum = 0;
    return 0;
}

/* Σ x[i]·w[i] over n elements of two packed runs starting at element offsets xo and wo.
 * Byte-aligned runs go through dot_blocks; the remainder (and unaligned or mixed-width runs
 * dot_blocks does not cover) one element at a time. */
static int32_t dot(const uint8_t *x, int32_t xo, int32_t xbits, int32_t xsigned,
                   const uint8_t *w, int32_t wo, int32_t wbits, int32_t n) {
    int32_t acc = 0, i = 0;
    if ((xo * xbits) % 8 == 0 && (wo * wbits) % 8 == 0) {
        /* Chunks of 16384 elements keep the scaled lane sums far inside int32. */
        for (int32_t done = 1; done > 0 && i < n;) {
            int32_t part = 0;
            const int32_t len = n - i < 16384 ? n - i : 16384;
            done = dot_blocks(x + ((xo + i) * xbits) / 8, xbits, xsigned, w + ((wo + i) * wbits) / 8, wbits, len, &part);
            acc += part;
            i += done;
            if (done < len) break;
        }
    }
    for (; i < n; ++i) acc += nnk_get(x, xo + i, xbits, xsigned) * nnk_get(w, wo + i, wbits, 1);
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
    /* One image row of a window is one run of k_w·C elements when pixels are not padded to a
     * byte and the kernel is dense along x: a single dot covers it. */
    const int32_t row_dot = p->groups == 1 && g->dil_w == 1 && in_run * 8 == g->in_c * p->in_bits;
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            uint8_t *o = out + (oy * g->out_w + ox) * out_run;
            zero(o, out_run);
            const int32_t ix0 = ox * g->stride_w - g->pad_left;
            const int32_t kx_lo = ix0 < 0 ? -ix0 : 0, kx_hi = g->in_w - ix0 < g->k_w ? g->in_w - ix0 : g->k_w;
            for (int32_t co = 0; co < g->out_c; ++co) {
                const int32_t gr = co / cout_g;
                const uint8_t *wr = w + co * w_run;
                int32_t acc = bias[co];
                for (int32_t ky = 0; ky < g->k_h; ++ky) {
                    const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                    const int32_t wrow = ky * g->k_w * cin_g;
                    if (iy < 0 || iy >= g->in_h) {
                        if (p->pad_value) acc += p->pad_value * weight_sum(wr, wrow, p->w_bits, g->k_w * cin_g);
                        continue;
                    }
                    if (row_dot && kx_lo < kx_hi) {
                        if (p->pad_value && kx_lo > 0) acc += p->pad_value * weight_sum(wr, wrow, p->w_bits, kx_lo * cin_g);
                        if (p->pad_value && kx_hi < g->k_w) acc += p->pad_value * weight_sum(wr, wrow + kx_hi * cin_g, p->w_bits, (g->k_w - kx_hi) * cin_g);
                        acc += dot(in + (iy * g->in_w + ix0 + kx_lo) * in_run, 0, p->in_bits, p->in_signed,
                                   wr, wrow + kx_lo * cin_g, p->w_bits, (kx_hi - kx_lo) * cin_g);
                        continue;
                    }
                    for (int32_t kx = 0; kx < g->k_w; ++kx) {
                        const int32_t ix = ix0 + kx * g->dil_w;
                        const int32_t wo = wrow + kx * cin_g;
                        if (ix < 0 || ix >= g->in_w) {
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
            acc += dot(x, 0, in_bits, in_signed, wr, 0, w_bits, in_c);
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
