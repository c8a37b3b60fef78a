/* nnk_conv.c: convolution of any group count; standard (pointwise and k×k, row dots, two channels at a
 * time) and depthwise (channel-innermost groups of 4 or 8 channels) paths, bit-exact with each other. */
#include "nnk_dot.h"

/* Two output channels of 8-bit weights over the same 8-bit input run: each input word is
 * loaded and unpacked once for both. */
static inline __attribute__((always_inline)) void dot2_8x8_body(const uint8_t *x, const int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n,
                                 int32_t *acc0, int32_t *acc1) {
    int32_t a0 = 0, a1 = 0, i = 0;
    for (; i + 8 <= n; i += 8) { /* two words per iteration: less loop overhead per MAC */
        const uint32_t xw = rd32(x + i), u = rd32(w0 + i), v = rd32(w1 + i);
        const uint32_t xw2 = rd32(x + i + 4), u2 = rd32(w0 + i + 4), v2 = rd32(w1 + i + 4);
        const uint32_t xl = xt16(xw, xs), xh = xt16r(xw, xs), xl2 = xt16(xw2, xs), xh2 = xt16r(xw2, xs);
        a0 = smlad(xl, sx16(u), a0);
        a1 = smlad(xl, sx16(v), a1);
        a0 = smlad(xh, sx16r(u), a0);
        a1 = smlad(xh, sx16r(v), a1);
        a0 = smlad(xl2, sx16(u2), a0);
        a1 = smlad(xl2, sx16(v2), a1);
        a0 = smlad(xh2, sx16r(u2), a0);
        a1 = smlad(xh2, sx16r(v2), a1);
    }
    *acc0 += a0 + dot_tail(x, xs, 8, w0, 8, i, n);
    *acc1 += a1 + dot_tail(x, xs, 8, w1, 8, i, n);
}

/* Two output channels over the same input run: each input word is loaded and unpacked once
 * for both (lanes as in the single-row kernels above). */
typedef void (*nnk_dot2_fn)(const uint8_t *x, int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n, int32_t *acc0, int32_t *acc1);

static void dot2_8x8(const uint8_t *x, int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n, int32_t *acc0, int32_t *acc1) {
    if (xs) dot2_8x8_body(x, 1, w0, w1, n, acc0, acc1);
    else dot2_8x8_body(x, 0, w0, w1, n, acc0, acc1);
}

/* Eight 4-bit weights from each of two rows (words u and v) against the same input lanes. */
static inline __attribute__((always_inline)) void mac2_w4(uint32_t x04, uint32_t x26, uint32_t x15, uint32_t x37, uint32_t u, uint32_t v,
                                                          int32_t *a0, int32_t *a1) {
    *a0 = mac_w4(x04, x26, x15, x37, u, *a0);
    *a1 = mac_w4(x04, x26, x15, x37, v, *a1);
}

static inline __attribute__((always_inline)) void dot2_4x4_body(const uint8_t *x, const int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n,
                                                                int32_t *acc0, int32_t *acc1) {
    int32_t a0 = 0, a1 = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint32_t xw = rd32(x + i / 2), u = rd32(w0 + i / 2), v = rd32(w1 + i / 2);
        const uint32_t xl = (xw << 4) & 0xF0F0F0F0u, xh = xw & 0xF0F0F0F0u;
        const uint32_t x04 = xt16(xl, xs), x26 = xt16r(xl, xs), x15 = xt16(xh, xs), x37 = xt16r(xh, xs);
        mac2_w4(x04, x26, x15, x37, u, v, &a0, &a1);
    }
    *acc0 += (a0 >> 8) + dot_tail(x, xs, 4, w0, 4, i, n);
    *acc1 += (a1 >> 8) + dot_tail(x, xs, 4, w1, 4, i, n);
}

static void dot2_4x4(const uint8_t *x, int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n, int32_t *acc0, int32_t *acc1) {
    if (xs) dot2_4x4_body(x, 1, w0, w1, n, acc0, acc1);
    else dot2_4x4_body(x, 0, w0, w1, n, acc0, acc1);
}

static inline __attribute__((always_inline)) void dot2_2x2_body(const uint8_t *x, const int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n,
                                                                int32_t *acc0, int32_t *acc1) {
    int32_t a0 = 0, a1 = 0, i = 0;
    for (; i + 16 <= n; i += 16) {
        const uint32_t xw = rd32(x + i / 4), u = rd32(w0 + i / 4), v = rd32(w1 + i / 4);
        for (int32_t k = 0; k < 4; ++k) {
            const int32_t sh = 6 - 2 * k;
            const uint32_t xk = (xw << sh) & 0xC0C0C0C0u, uk = (u << sh) & 0xC0C0C0C0u, vk = (v << sh) & 0xC0C0C0C0u;
            const uint32_t xa = xt16(xk, xs), xb = xt16r(xk, xs);
            a0 = smlad(xa, sx16(uk), a0);
            a1 = smlad(xa, sx16(vk), a1);
            a0 = smlad(xb, sx16r(uk), a0);
            a1 = smlad(xb, sx16r(vk), a1);
        }
    }
    *acc0 += (a0 >> 12) + dot_tail(x, xs, 2, w0, 2, i, n);
    *acc1 += (a1 >> 12) + dot_tail(x, xs, 2, w1, 2, i, n);
}

static void dot2_2x2(const uint8_t *x, int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n, int32_t *acc0, int32_t *acc1) {
    if (xs) dot2_2x2_body(x, 1, w0, w1, n, acc0, acc1);
    else dot2_2x2_body(x, 0, w0, w1, n, acc0, acc1);
}

static inline __attribute__((always_inline)) void dot2_8x4_body(const uint8_t *x, const int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n,
                                                                int32_t *acc0, int32_t *acc1) {
    int32_t a0 = 0, a1 = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint32_t x0 = rd32(x + i), x1 = rd32(x + i + 4), u = rd32(w0 + i / 2), v = rd32(w1 + i / 2);
        const uint32_t a = xt16(x0, xs), ar = xt16r(x0, xs), b = xt16(x1, xs), br = xt16r(x1, xs);
        const uint32_t x04 = pk_bt(a, b), x26 = pk_tb(b, a), x15 = pk_bt(ar, br), x37 = pk_tb(br, ar);
        mac2_w4(x04, x26, x15, x37, u, v, &a0, &a1);
    }
    *acc0 += (a0 >> 4) + dot_tail(x, xs, 8, w0, 4, i, n);
    *acc1 += (a1 >> 4) + dot_tail(x, xs, 8, w1, 4, i, n);
}

static void dot2_8x4(const uint8_t *x, int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n, int32_t *acc0, int32_t *acc1) {
    if (xs) dot2_8x4_body(x, 1, w0, w1, n, acc0, acc1);
    else dot2_8x4_body(x, 0, w0, w1, n, acc0, acc1);
}

/* Two pixels × two output channels of 8-bit data: each loaded word serves two MAC pairs.
 * acc: pixel 0 channel 0, pixel 0 channel 1, pixel 1 channel 0, pixel 1 channel 1. */
static inline __attribute__((always_inline)) void dot22_8x8_body(const uint8_t *x0, const uint8_t *x1, const int32_t xs, const uint8_t *w0,
                                                                 const uint8_t *w1, int32_t n, int32_t acc[4]) {
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0, i = 0;
    const uint8_t *pp = x0, *qp = x1, *up = w0, *vp = w1;
    for (; i + 4 <= n; i += 4, pp += 4, qp += 4, up += 4, vp += 4) {
        const uint32_t p = rd32(pp), q = rd32(qp), u = rd32(up), v = rd32(vp);
        const uint32_t pl = xt16(p, xs), ph = xt16r(p, xs), ql = xt16(q, xs), qh = xt16r(q, xs);
        const uint32_t ul = sx16(u), uh = sx16r(u), vl = sx16(v), vh = sx16r(v);
        a00 = smlad(pl, ul, a00);
        a01 = smlad(pl, vl, a01);
        a10 = smlad(ql, ul, a10);
        a11 = smlad(ql, vl, a11);
        a00 = smlad(ph, uh, a00);
        a01 = smlad(ph, vh, a01);
        a10 = smlad(qh, uh, a10);
        a11 = smlad(qh, vh, a11);
    }
    acc[0] += a00 + dot_tail(x0, xs, 8, w0, 8, i, n);
    acc[1] += a01 + dot_tail(x0, xs, 8, w1, 8, i, n);
    acc[2] += a10 + dot_tail(x1, xs, 8, w0, 8, i, n);
    acc[3] += a11 + dot_tail(x1, xs, 8, w1, 8, i, n);
}

/* Not inlined: inside the convolution the register allocator spills its accumulators. */
static __attribute__((noinline)) void dot22_8x8(const uint8_t *x0, const uint8_t *x1, int32_t xs, const uint8_t *w0, const uint8_t *w1, int32_t n, int32_t acc[4]) {
    if (xs) dot22_8x8_body(x0, x1, 1, w0, w1, n, acc);
    else dot22_8x8_body(x0, x1, 0, w0, w1, n, acc);
}

/* The two-channel kernel for these widths, or none. */
static nnk_dot2_fn pick_dot2(int32_t xbits, int32_t wbits) {
    if (xbits == 8 && wbits == 8) return dot2_8x8;
    if (xbits == 4 && wbits == 4) return dot2_4x4;
    if (xbits == 2 && wbits == 2) return dot2_2x2;
    if (xbits == 8 && wbits == 4) return dot2_8x4;
    return 0;
}

static void conv_standard(const nnk_conv_params *p, const uint8_t *in, const uint8_t *w, const int32_t *bias,
                          const int32_t *mult, const int32_t *shift, uint8_t *out) {
    /* Locals, so stores to the output cannot force the parameters to be reloaded. */
    const nnk_window g = p->g;
    const int32_t in_bits = p->in_bits, in_signed = p->in_signed, w_bits = p->w_bits, out_bits = p->out_bits;
    const int32_t lo = p->lo, hi = p->hi, pad_value = p->pad_value;
    const int32_t cin_g = g.in_c / p->groups, cout_g = g.out_c / p->groups;
    const int32_t in_run = nnk_run_bytes(g.in_c, in_bits);
    const int32_t out_run = nnk_run_bytes(g.out_c, out_bits);
    const int32_t taps = g.k_h * g.k_w * cin_g;
    const int32_t w_run = nnk_run_bytes(taps, w_bits);
    /* One image row of a window is one run of k_w·C elements when pixels are not padded to a
     * byte and the kernel is dense along x: a single dot covers it. Rows of byte-aligned
     * elements go straight to the block kernel; two 8-bit channels at a time share the input. */
    const int32_t row_dot = p->groups == 1 && g.dil_w == 1 && in_run * 8 == g.in_c * in_bits;
    const int32_t row_elems = g.k_w * cin_g;
    const int32_t direct = row_dot && (cin_g * w_bits) % 8 == 0 && row_elems <= 16384;
    const nnk_dot_fn fn = nnk_pick_dot(in_bits, w_bits);
    const nnk_dot2_fn fn2 = direct ? pick_dot2(in_bits, w_bits) : 0;
    const int32_t pairs = fn2 != 0;
    if (direct && g.k_h == 1 && g.k_w == 1 && g.pad_top == 0 && g.pad_left == 0) {
        /* Pointwise: dots over each output pixel's input run; at 8 bits two pixels × two
         * channels at a time, else two channels. */
        const int32_t pixels = g.out_h * g.out_w;
        int32_t px = 0;
        if (pairs && in_bits == 8 && w_bits == 8) {
            for (; px + 1 < pixels; px += 2) {
                const uint8_t *x0 = in + ((px / g.out_w) * g.stride_h * g.in_w + (px % g.out_w) * g.stride_w) * in_run;
                const uint8_t *x1 = in + (((px + 1) / g.out_w) * g.stride_h * g.in_w + ((px + 1) % g.out_w) * g.stride_w) * in_run;
                uint8_t *o0 = out + px * out_run, *o1 = o0 + out_run;
                if (out_bits != 8) {
                    zero(o0, out_run);
                    zero(o1, out_run);
                }
                int32_t co = 0;
                for (; co + 1 < g.out_c; co += 2) {
                    int32_t acc[4] = {bias[co], bias[co + 1], bias[co], bias[co + 1]};
                    dot22_8x8(x0, x1, in_signed, w + co * w_run, w + (co + 1) * w_run, cin_g, acc);
                    store(o0, co, out_bits, nnk_requant(acc[0], mult[co], shift[co], lo, hi));
                    store(o0, co + 1, out_bits, nnk_requant(acc[1], mult[co + 1], shift[co + 1], lo, hi));
                    store(o1, co, out_bits, nnk_requant(acc[2], mult[co], shift[co], lo, hi));
                    store(o1, co + 1, out_bits, nnk_requant(acc[3], mult[co + 1], shift[co + 1], lo, hi));
                }
                for (; co < g.out_c; ++co) {
                    store(o0, co, out_bits, nnk_requant(bias[co] + fn(x0, in_signed, in_bits, w + co * w_run, w_bits, cin_g), mult[co], shift[co], lo, hi));
                    store(o1, co, out_bits, nnk_requant(bias[co] + fn(x1, in_signed, in_bits, w + co * w_run, w_bits, cin_g), mult[co], shift[co], lo, hi));
                }
            }
        }
        for (; px < pixels; ++px) {
            const uint8_t *x = in + ((px / g.out_w) * g.stride_h * g.in_w + (px % g.out_w) * g.stride_w) * in_run;
            uint8_t *o = out + px * out_run;
            if (out_bits != 8) zero(o, out_run); /* 8-bit: every byte is stored below */
            int32_t co = 0;
            if (pairs) {
                for (; co + 1 < g.out_c; co += 2) {
                    int32_t a0 = bias[co], a1 = bias[co + 1];
                    fn2(x, in_signed, w + co * w_run, w + (co + 1) * w_run, cin_g, &a0, &a1);
                    store(o, co, out_bits, nnk_requant(a0, mult[co], shift[co], lo, hi));
                    store(o, co + 1, out_bits, nnk_requant(a1, mult[co + 1], shift[co + 1], lo, hi));
                }
            }
            for (; co < g.out_c; ++co) {
                const int32_t acc = bias[co] + fn(x, in_signed, in_bits, w + co * w_run, w_bits, cin_g);
                store(o, co, out_bits, nnk_requant(acc, mult[co], shift[co], lo, hi));
            }
        }
        return;
    }
    for (int32_t oy = 0; oy < g.out_h; ++oy) {
        for (int32_t ox = 0; ox < g.out_w; ++ox) {
            uint8_t *o = out + (oy * g.out_w + ox) * out_run;
            if (out_bits != 8) zero(o, out_run); /* 8-bit: every byte is stored below */
            const int32_t ix0 = ox * g.stride_w - g.pad_left;
            const int32_t kx_lo = ix0 < 0 ? -ix0 : 0, kx_hi = g.in_w - ix0 < g.k_w ? g.in_w - ix0 : g.k_w;
            for (int32_t co = 0; co < g.out_c; ++co) {
                const int32_t two = pairs && co + 1 < g.out_c;
                const uint8_t *wr = w + co * w_run;
                int32_t acc = bias[co], acc1 = two ? bias[co + 1] : 0;
                for (int32_t ky = 0; ky < g.k_h; ++ky) {
                    const int32_t iy = oy * g.stride_h - g.pad_top + ky * g.dil_h;
                    const int32_t wrow = ky * row_elems;
                    if (iy < 0 || iy >= g.in_h || (row_dot && kx_lo >= kx_hi)) { /* the whole row reads padding */
                        if (pad_value) {
                            acc += pad_value * nnk_weight_sum(wr, wrow, w_bits, row_elems);
                            if (two) acc1 += pad_value * nnk_weight_sum(wr + w_run, wrow, w_bits, row_elems);
                        }
                        continue;
                    }
                    if (row_dot) {
                        const int32_t head = kx_lo * cin_g, tail = kx_hi * cin_g;
                        if (pad_value && kx_lo > 0) {
                            acc += pad_value * nnk_weight_sum(wr, wrow, w_bits, head);
                            if (two) acc1 += pad_value * nnk_weight_sum(wr + w_run, wrow, w_bits, head);
                        }
                        if (pad_value && kx_hi < g.k_w) {
                            acc += pad_value * nnk_weight_sum(wr, wrow + tail, w_bits, row_elems - tail);
                            if (two) acc1 += pad_value * nnk_weight_sum(wr + w_run, wrow + tail, w_bits, row_elems - tail);
                        }
                        const uint8_t *x = in + (iy * g.in_w + ix0 + kx_lo) * in_run;
                        if (two) {
                            const int32_t wb = ((wrow + head) * w_bits) / 8;
                            fn2(x, in_signed, wr + wb, wr + w_run + wb, tail - head, &acc, &acc1);
                        } else if (direct) {
                            acc += fn(x, in_signed, in_bits, wr + ((wrow + head) * w_bits) / 8, w_bits, tail - head);
                        } else {
                            acc += nnk_dot(x, 0, in_bits, in_signed, wr, wrow + head, w_bits, tail - head);
                        }
                        continue;
                    }
                    const int32_t gr = co / cout_g;
                    for (int32_t kx = 0; kx < g.k_w; ++kx) {
                        const int32_t ix = ix0 + kx * g.dil_w;
                        const int32_t wo = wrow + kx * cin_g;
                        if (ix < 0 || ix >= g.in_w) {
                            if (pad_value) acc += pad_value * nnk_weight_sum(wr, wo, w_bits, cin_g);
                            continue;
                        }
                        acc += nnk_dot(in + (iy * g.in_w + ix) * in_run, gr * cin_g, in_bits, in_signed, wr, wo, w_bits, cin_g);
                    }
                }
                store(o, co, out_bits, nnk_requant(acc, mult[co], shift[co], lo, hi));
                if (two) {
                    store(o, co + 1, out_bits, nnk_requant(acc1, mult[co + 1], shift[co + 1], lo, hi));
                    ++co;
                }
            }
        }
    }
}

/* Depthwise, channel-innermost: for each output pixel the taps inside the input are listed
 * once, then channels go in groups whose accumulators stay in registers across the taps:
 * four 8-bit or eight 4-bit channels per word (SMLABB/SMLATT on unpacked lanes), four 2-bit
 * channels per byte. Leftover channels and mixed widths take the element-wise path. */
#define NNK_MAX_TAPS 64

static inline __attribute__((always_inline)) void dw_group8(const uint8_t *const *xs, const uint8_t *const *ws, int32_t inside,
                                                            const uint8_t *const *wout, int32_t outside, int32_t pad_value,
                                                            int32_t ch, const int32_t sgn, int32_t acc[4]) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int32_t t = 0; t < inside; ++t) {
        const uint32_t xw = rd32(xs[t] + ch), ww = rd32(ws[t] + ch);
        const uint32_t xl = xt16(xw, sgn), xh = xt16r(xw, sgn), wl = sx16(ww), wh = sx16r(ww);
        a0 = smlabb(xl, wl, a0);
        a2 = smlatt(xl, wl, a2);
        a1 = smlabb(xh, wh, a1);
        a3 = smlatt(xh, wh, a3);
    }
    if (pad_value) {
        for (int32_t t = 0; t < outside; ++t) {
            const int8_t *wv = (const int8_t *)(wout[t] + ch);
            a0 += pad_value * wv[0];
            a1 += pad_value * wv[1];
            a2 += pad_value * wv[2];
            a3 += pad_value * wv[3];
        }
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* Eight 4-bit channels per word: nibbles moved to the top of their byte (×16) make lanes
 * (0,4) (2,6) (1,5) (3,7) of input and weights alike; the ×256 is shifted out at the end. */
static inline __attribute__((always_inline)) void dw_group4x8(const uint8_t *const *xs, const uint8_t *const *ws, int32_t inside,
                                                              const uint8_t *const *wout, int32_t outside, int32_t pad_value,
                                                              int32_t byte, const int32_t sgn, int32_t acc[8]) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (int32_t t = 0; t < inside; ++t) {
        const uint32_t xw = rd32(xs[t] + byte), ww = rd32(ws[t] + byte);
        const uint32_t xl = (xw << 4) & 0xF0F0F0F0u, xh = xw & 0xF0F0F0F0u;
        const uint32_t wl = (ww << 4) & 0xF0F0F0F0u, wh = ww & 0xF0F0F0F0u;
        const uint32_t x04 = xt16(xl, sgn), x26 = xt16r(xl, sgn), x15 = xt16(xh, sgn), x37 = xt16r(xh, sgn);
        const uint32_t w04 = sx16(wl), w26 = sx16r(wl), w15 = sx16(wh), w37 = sx16r(wh);
        a0 = smlabb(x04, w04, a0);
        a4 = smlatt(x04, w04, a4);
        a2 = smlabb(x26, w26, a2);
        a6 = smlatt(x26, w26, a6);
        a1 = smlabb(x15, w15, a1);
        a5 = smlatt(x15, w15, a5);
        a3 = smlabb(x37, w37, a3);
        a7 = smlatt(x37, w37, a7);
    }
    acc[0] += a0 >> 8, acc[1] += a1 >> 8, acc[2] += a2 >> 8, acc[3] += a3 >> 8;
    acc[4] += a4 >> 8, acc[5] += a5 >> 8, acc[6] += a6 >> 8, acc[7] += a7 >> 8;
    if (pad_value) {
        for (int32_t t = 0; t < outside; ++t)
            for (int32_t k = 0; k < 8; ++k) acc[k] += pad_value * nnk_get(wout[t] + byte, k, 4, 1);
    }
}

/* The four channels of one byte of 2-bit input and weights, accumulators in registers. */
static inline __attribute__((always_inline)) int32_t field2(int32_t byte, int32_t k, int32_t sgn) {
    return sgn ? (int32_t)((uint32_t)byte << (30 - 2 * k)) >> 30 : (byte >> (2 * k)) & 3;
}

static inline __attribute__((always_inline)) void dw_group2x4(const uint8_t *const *xs, const uint8_t *const *ws, int32_t inside,
                                                              const uint8_t *const *wout, int32_t outside, int32_t pad_value,
                                                              int32_t byte, const int32_t sgn, int32_t acc[4]) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (int32_t t = 0; t < inside; ++t) {
        const int32_t xb = xs[t][byte], wb = ws[t][byte];
        a0 += field2(xb, 0, sgn) * field2(wb, 0, 1);
        a1 += field2(xb, 1, sgn) * field2(wb, 1, 1);
        a2 += field2(xb, 2, sgn) * field2(wb, 2, 1);
        a3 += field2(xb, 3, sgn) * field2(wb, 3, 1);
    }
    if (pad_value) {
        for (int32_t t = 0; t < outside; ++t) {
            const int32_t wb = wout[t][byte];
            a0 += pad_value * field2(wb, 0, 1);
            a1 += pad_value * field2(wb, 1, 1);
            a2 += pad_value * field2(wb, 2, 1);
            a3 += pad_value * field2(wb, 3, 1);
        }
    }
    acc[0] += a0, acc[1] += a1, acc[2] += a2, acc[3] += a3;
}

static void conv_depthwise(const nnk_conv_params *p, const uint8_t *in, const uint8_t *w, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, uint8_t *out) {
    const nnk_window g = p->g;
    const int32_t in_bits = p->in_bits, in_signed = p->in_signed, w_bits = p->w_bits, out_bits = p->out_bits;
    const int32_t lo = p->lo, hi = p->hi, pad_value = p->pad_value;
    const int32_t c = g.out_c;
    const int32_t in_run = nnk_run_bytes(c, in_bits), out_run = nnk_run_bytes(c, out_bits);
    const int32_t w_run = nnk_run_bytes(c, w_bits);
    const int32_t listed = g.k_h * g.k_w <= NNK_MAX_TAPS;
    const int32_t group = !listed ? 0 : (in_bits == 8 && w_bits == 8) ? 4 : (in_bits == 4 && w_bits == 4) ? 8 : (in_bits == 2 && w_bits == 2) ? 4 : 0;
    for (int32_t oy = 0; oy < g.out_h; ++oy) {
        for (int32_t ox = 0; ox < g.out_w; ++ox) {
            uint8_t *o = out + (oy * g.out_w + ox) * out_run;
            if (out_bits != 8) zero(o, out_run); /* 8-bit: every byte is stored below */
            const int32_t iy0 = oy * g.stride_h - g.pad_top, ix0 = ox * g.stride_w - g.pad_left;
            /* Taps inside the input; the others read the pad value. */
            int32_t inside = 0, outside = 0;
            const uint8_t *xs[NNK_MAX_TAPS], *ws[NNK_MAX_TAPS], *wout[NNK_MAX_TAPS];
            for (int32_t ky = 0; listed && ky < g.k_h; ++ky) {
                const int32_t iy = iy0 + ky * g.dil_h;
                for (int32_t kx = 0; kx < g.k_w; ++kx) {
                    const int32_t ix = ix0 + kx * g.dil_w;
                    const uint8_t *wr = w + (ky * g.k_w + kx) * w_run;
                    if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) {
                        wout[outside++] = wr;
                    } else {
                        xs[inside] = in + (iy * g.in_w + ix) * in_run;
                        ws[inside++] = wr;
                    }
                }
            }
            int32_t ch = 0;
            if (group == 4 && in_bits == 8) {
                for (; ch + 4 <= c; ch += 4) {
                    int32_t acc[4] = {bias[ch], bias[ch + 1], bias[ch + 2], bias[ch + 3]};
                    if (in_signed) dw_group8(xs, ws, inside, wout, outside, pad_value, ch, 1, acc);
                    else dw_group8(xs, ws, inside, wout, outside, pad_value, ch, 0, acc);
                    for (int32_t k = 0; k < 4; ++k) store(o, ch + k, out_bits, nnk_requant(acc[k], mult[ch + k], shift[ch + k], lo, hi));
                }
            } else if (group == 8) {
                for (; ch + 8 <= c; ch += 8) {
                    int32_t acc[8];
                    for (int32_t k = 0; k < 8; ++k) acc[k] = bias[ch + k];
                    if (in_signed) dw_group4x8(xs, ws, inside, wout, outside, pad_value, ch / 2, 1, acc);
                    else dw_group4x8(xs, ws, inside, wout, outside, pad_value, ch / 2, 0, acc);
                    for (int32_t k = 0; k < 8; ++k) store(o, ch + k, out_bits, nnk_requant(acc[k], mult[ch + k], shift[ch + k], lo, hi));
                }
            } else if (group == 4) {
                for (; ch + 4 <= c; ch += 4) {
                    int32_t acc[4] = {bias[ch], bias[ch + 1], bias[ch + 2], bias[ch + 3]};
                    if (in_signed) dw_group2x4(xs, ws, inside, wout, outside, pad_value, ch / 4, 1, acc);
                    else dw_group2x4(xs, ws, inside, wout, outside, pad_value, ch / 4, 0, acc);
                    for (int32_t k = 0; k < 4; ++k) store(o, ch + k, out_bits, nnk_requant(acc[k], mult[ch + k], shift[ch + k], lo, hi));
                }
            }
            for (; ch < c; ++ch) {
                int32_t acc = bias[ch];
                if (listed) {
                    for (int32_t t = 0; t < inside; ++t) acc += nnk_get(xs[t], ch, in_bits, in_signed) * nnk_get(ws[t], ch, w_bits, 1);
                    if (pad_value)
                        for (int32_t t = 0; t < outside; ++t) acc += pad_value * nnk_get(wout[t], ch, w_bits, 1);
                } else { /* windows larger than NNK_MAX_TAPS */
                    for (int32_t ky = 0; ky < g.k_h; ++ky) {
                        const int32_t iy = iy0 + ky * g.dil_h;
                        for (int32_t kx = 0; kx < g.k_w; ++kx) {
                            const int32_t ix = ix0 + kx * g.dil_w;
                            const int32_t wv = nnk_get(w + (ky * g.k_w + kx) * w_run, ch, w_bits, 1);
                            const int32_t in_range = iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w;
                            acc += wv * (in_range ? nnk_get(in + (iy * g.in_w + ix) * in_run, ch, in_bits, in_signed) : pad_value);
                        }
                    }
                }
                store(o, ch, out_bits, nnk_requant(acc, mult[ch], shift[ch], lo, hi));
            }
        }
    }
}

void nnk_conv(const nnk_conv_params *p, const uint8_t *in, const uint8_t *w, const int32_t *bias,
              const int32_t *mult, const int32_t *shift, uint8_t *out) {
    if (p->depthwise) conv_depthwise(p, in, w, bias, mult, shift, out);
    else conv_standard(p, in, w, bias, mult, shift, out);
}
