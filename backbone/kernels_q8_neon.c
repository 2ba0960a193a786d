/* Int8 convolutions on Arm Advanced SIMD without the dot product: AArch64
 * (Cortex-A53/A72: Raspberry Pi 3 and 4) and 32-bit ARMv7 NEON (the same
 * Pis with a 32-bit OS). One source for both; the intrinsics used exist in
 * both forms, except the few written out per form below.
 *
 * 1x1 convolution (a GEMM of [pixels x in_c] by [in_c x out_c]): int8
 * products summed in pairs in int16 (SMULL + SMLAL), the pairs summed into
 * int32 (SADALP), four int32 partial sums per output reduced once at the
 * end. Other regular convolutions (the stem, SSD's 3x3 stride 2 layers)
 * run the same tile on rows gathered per tile (kernels_q8_neon.inc). Exactness: with weights in [-127, 127] (the int8 spec's symmetric
 * weights) and inputs in [-128, 127] a product lies in [-16256, 16256] and a
 * pair in [-32512, 32512], inside int16. The one pair that does not fit is
 * (-128) * (-128) twice, 32768, so a layer with a weight of -128 (outside
 * the spec, but a file may hold one) is packed with a flag and runs the
 * wide tile instead: each int16 product (at most 16384) goes to SADALP on
 * its own, one instruction more per 16 products. An input tail of at most
 * 8 takes one SMULL per 8 products, each alone in int16 (exact for any
 * int8). The int32 sums are exact as kernels_q8_neon.inc explains.
 *
 * Depthwise 3x3, stride 1 and 2: x - izp widened to int16 (SSUBL: [-255,
 * 255]), times the packed w - w_zp in int16 ([-255, 255]), multiplied and
 * accumulated in int32 (SMLAL.4S): every product exact, |sum| <= 9 * 255 *
 * 255 < 2^20, so any weight and any weight zero point (a converted uint8
 * model) is exact; padding taps read the input zero point, which adds 0;
 * the bias is added with saturation at the end. Eight channels per step
 * with the step's nine weight vectors held in registers across the row
 * (AArch64).
 *
 * Register tiles: AArch64 has 32 q registers: 3 pixels x 4 channels (12
 * accumulators, 3 + 4 operands, products; 4 x 4 spilled in GCC 12's
 * allocation, and 2 x 8 too); ARMv7 has 16: 2 x 4 (8 accumulators, 2 + 4
 * operands, 1 product).
 *
 * On ARMv7 meson compiles this file alone with -mfpu=neon; cpu.c runs it
 * only where HWCAP lists NEON (with the float kernels' VFPv4 and HALF).
 */
#if defined(MNV_NEON_VARIANTS)
#if !defined(__ARM_NEON)
#error "kernels_q8_neon.c needs NEON (on ARMv7: -mfpu=neon)"
#endif
#include <arm_neon.h>
#include <omp.h>
#include <string.h>

#include "backbone/backbone.h"

#if defined(__aarch64__)
#define Q8_MR 3
#else
#define Q8_MR 2
#endif
#define Q8_NR 4
#define Q8_CONV1X1_NAME "conv1x1_qs8_nhwc_neon"
#define Q8_CONV1X1_SYM conv1x1_qs8_nhwc_neon
#define Q8_CONV1X1_FEATURES 0u
#define Q8_CONV2D_NAME "conv2d_qs8_nhwc_neon"
#define Q8_CONV2D_SYM conv2d_qs8_nhwc_neon

#define Q8_INLINE static inline __attribute__((always_inline))

/* a * b summed in pairs: lane i is a[i] b[i] + a[i + 8] b[i + 8] in int16 */
Q8_INLINE int16x8_t mul_pairs(int8x16_t a, int8x16_t b)
{
    const int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
#if defined(__aarch64__)
    return vmlal_high_s8(p, a, b);
#else
    return vmlal_s8(p, vget_high_s8(a), vget_high_s8(b));
#endif
}

/* acc + the 16 products of a and b, each product alone in int16 */
Q8_INLINE int32x4_t add_products_wide(int32x4_t acc, int8x16_t a, int8x16_t b)
{
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
#if defined(__aarch64__)
    return vpadalq_s16(acc, vmull_high_s8(a, b));
#else
    return vpadalq_s16(acc, vmull_s8(vget_high_s8(a), vget_high_s8(b)));
#endif
}

/* One block of 16 inputs: a[i] the pixels', w the tile's weights. */
Q8_INLINE void tile_block(int32x4_t acc[Q8_MR][Q8_NR], const int8x16_t a[Q8_MR], const int8_t *w, int wide)
{
    int8x16_t b[Q8_NR];
    for (int j = 0; j < Q8_NR; j++)
        b[j] = vld1q_s8(w + 16 * j);
    for (int i = 0; i < Q8_MR; i++)
        for (int j = 0; j < Q8_NR; j++)
            acc[i][j] = wide ? add_products_wide(acc[i][j], a[i], b[j])
                             : vpadalq_s16(acc[i][j], mul_pairs(a[i], b[j]));
}

/* a0 + a1 + a2 + a3 of each of the four vectors, as one vector */
Q8_INLINE int32x4_t sum_lanes4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d)
{
#if defined(__aarch64__)
    return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
#else
    const int32x2_t ab = vpadd_s32(vadd_s32(vget_low_s32(a), vget_high_s32(a)),
                                   vadd_s32(vget_low_s32(b), vget_high_s32(b)));
    const int32x2_t cd = vpadd_s32(vadd_s32(vget_low_s32(c), vget_high_s32(c)),
                                   vadd_s32(vget_low_s32(d), vget_high_s32(d)));
    return vcombine_s32(ab, cd);
#endif
}

/* The last 1..8 inputs: each product alone into int32 (exact for any
 * int8), the first 8 bytes of the zero-padded block. */
Q8_INLINE void tile_half_block(int32x4_t acc[Q8_MR][Q8_NR], const int8_t (*tail)[16], const int8_t *w)
{
    int8x8_t a[Q8_MR], b[Q8_NR];
    for (int i = 0; i < Q8_MR; i++)
        a[i] = vld1_s8(tail[i]);
    for (int j = 0; j < Q8_NR; j++)
        b[j] = vld1_s8(w + 16 * j);
    for (int i = 0; i < Q8_MR; i++)
        for (int j = 0; j < Q8_NR; j++)
            acc[i][j] = vpadalq_s16(acc[i][j], vmull_s8(a[i], b[j]));
}

Q8_INLINE void tile_k(const int8_t *const rows[Q8_MR], const int8_t (*tail)[16], int kb_full, int tail_len,
                      const int8_t *w, int wide, int32x4_t s[Q8_MR][Q8_NR / 4])
{
    int32x4_t acc[Q8_MR][Q8_NR];
    for (int i = 0; i < Q8_MR; i++)
        for (int j = 0; j < Q8_NR; j++)
            acc[i][j] = vdupq_n_s32(0);
    int8x16_t a[Q8_MR];
    for (int kb = 0; kb < kb_full; kb++, w += 16 * Q8_NR) {
        for (int i = 0; i < Q8_MR; i++)
            a[i] = vld1q_s8(rows[i] + 16 * kb);
        tile_block(acc, a, w, wide);
    }
    if (tail_len > 8) {
        for (int i = 0; i < Q8_MR; i++)
            a[i] = vld1q_s8(tail[i]);
        tile_block(acc, a, w, wide);
    } else if (tail_len > 0) {
        tile_half_block(acc, tail, w);
    }
    for (int i = 0; i < Q8_MR; i++)
        s[i][0] = sum_lanes4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
}

/* wide is a constant in each call, so each tile is compiled without the test */
static void q8_tile(const int8_t *const rows[Q8_MR], const int8_t (*tail)[16], int kb_full, int tail_len,
                    const int8_t *w, int wide, int32x4_t s[Q8_MR][Q8_NR / 4])
{
    if (wide)
        tile_k(rows, tail, kb_full, tail_len, w, 1, s);
    else
        tile_k(rows, tail, kb_full, tail_len, w, 0, s);
}

/* per block of 16 inputs, channel n0 + j's 16 weights at 16 * j */
static void q8_pack_block(const int8_t *w, int k_total, int n_total, int n0, int kbs, int8_t *dst)
{
    memset(dst, 0, (size_t)kbs * Q8_NR * 16);
    for (int j = 0; j < Q8_NR && n0 + j < n_total; j++)
        for (int k = 0; k < k_total; k++)
            dst[(size_t)(k / 16) * Q8_NR * 16 + 16 * j + k % 16] = w[(size_t)(n0 + j) * k_total + k];
}

#include "backbone/kernels_q8_neon.inc"

/* ------------------------------------------------------------------------ */
/* Depthwise 3x3                                                             */
/* ------------------------------------------------------------------------ */

/* Packed: the channel parameters for np = out_c rounded up to 8, then per
 * block of 8 channels the 9 taps' w - w_zp as 8 int16 each. Every layer
 * q8_dw_supports() takes (any weight zero point). */
static int dw_supports_q(const conv_desc *d, const qconv_params *q)
{
    (void)d, (void)q;
    return 1;
}

static size_t dw_packed_size(const conv_desc *d)
{
    const size_t np = (size_t)q8_round_up(d->out_c, 8);
    return Q8_CHAN_ARRAYS * np * sizeof(int32_t) + np * 9 * sizeof(int16_t);
}

static void dw_pack(const conv_desc *d, const qconv_params *q, const int8_t *w, const int32_t *bias,
                    void *packed)
{
    const int np = q8_round_up(d->out_c, 8);
    int32_t *prm = packed;
    q8_pack_channels(d, q, bias, np, prm);
    int16_t *wp = (int16_t *)(prm + Q8_CHAN_ARRAYS * np);
    memset(wp, 0, (size_t)np * 9 * sizeof(int16_t));
    for (int c = 0; c < d->out_c; c++)
        for (int t = 0; t < 9; t++)
            wp[(size_t)(c / 8) * 72 + t * 8 + c % 8] = (int16_t)(w[(size_t)t * d->out_c + c] - q->w_zero_point);
}

/* acc += (x - izp) * w on 8 channels */
Q8_INLINE void dw_tap(int32x4_t *lo, int32x4_t *hi, int8x8_t x, int8x8_t izp, int16x8_t w)
{
    const int16x8_t v = vsubl_s8(x, izp);
    *lo = vmlal_s16(*lo, vget_low_s16(v), vget_low_s16(w));
#if defined(__aarch64__)
    *hi = vmlal_high_s16(*hi, v, w);
#else
    *hi = vmlal_s16(*hi, vget_high_s16(v), vget_high_s16(w));
#endif
}

/* One output of channels [cb, cb + n), n < 8: the last block of a channel
 * count that is not a multiple of 8. Each tap checked, the channels past n
 * neither read nor stored. */
static void dw_out_tail(const conv_desc *d, const int8_t *in, int8_t *dst, const int16_t *wb,
                        const int32_t *prm, int np, int cb, int n, int iy0, int ix0, int8x8_t izp, q8_out o)
{
    const size_t pix = (size_t)d->in_c, row = (size_t)d->in_w * pix;
    int32x4_t lo = vdupq_n_s32(0), hi = vdupq_n_s32(0);
    for (int ky = 0; ky < 3; ky++) {
        const int iy = iy0 + ky;
        if (iy < 0 || iy >= d->in_h)
            continue;
        for (int kx = 0; kx < 3; kx++) {
            const int ix = ix0 + kx;
            if (ix < 0 || ix >= d->in_w)
                continue;
            dw_tap(&lo, &hi, q8_load(in + (size_t)iy * row + (size_t)ix * pix + cb, n), izp,
                   vld1q_s16(wb + 8 * (ky * 3 + kx)));
        }
    }
    q8_store(dst, q8_narrow(q8_requant4(lo, prm, np, cb), q8_requant4(hi, prm, np, cb + 4), o), n);
}

/* A block of 8 channels' weights and requantization, loaded once per row
 * on AArch64. ARMv7's 16 q registers cannot hold the nine weights besides
 * the rest: the compiler would spill them as pairs of d registers (two
 * loads each), so there they are read from the packed copy at each tap. */
typedef struct dw_block {
#if defined(__aarch64__)
    int16x8_t w[9];
#endif
    const int16_t *wp;
    q8_chan4 lo, hi;
} dw_block;

Q8_INLINE int16x8_t dw_weight(const dw_block *b, int t)
{
#if defined(__aarch64__)
    return b->w[t];
#else
    return vld1q_s16(b->wp + 8 * t);
#endif
}

/* One output of 8 channels from its nine taps' addresses. */
Q8_INLINE void dw_out(const int8_t *const tap[9], int8_t *dst, const dw_block *b, int8x8_t izp, q8_out o)
{
    int32x4_t lo = vdupq_n_s32(0), hi = vdupq_n_s32(0);
    for (int t = 0; t < 9; t++)
        dw_tap(&lo, &hi, vld1_s8(tap[t]), izp, dw_weight(b, t));
    vst1_s8(dst, q8_narrow(q8_requant4v(lo, b->lo), q8_requant4v(hi, b->hi), o));
}

/* Outputs [ox0, ox1) of one row whose nine taps all lie inside the input,
 * 8 channels: p is the top left tap of the first. */
Q8_INLINE void dw_interior(const int8_t *p, int8_t *dst, int count, size_t pix, size_t row, const dw_block *b,
                           int8x8_t izp, q8_out o, const int stride)
{
    for (int i = 0; i < count; i++, p += (size_t)stride * pix, dst += pix) {
        const int8_t *const tap[9] = {p, p + pix, p + 2 * pix, p + row, p + row + pix, p + row + 2 * pix,
                                      p + 2 * row, p + 2 * row + pix, p + 2 * row + 2 * pix};
        dw_out(tap, dst, b, izp, o);
    }
}

/* Output rows [y0, y1) of a depthwise 3x3 with this stride, a block of 8
 * channels at a time along the row. Taps outside the input read 8 bytes of
 * the input zero point instead, whose x - izp is 0: they add nothing, as
 * the reference skips them. */
Q8_INLINE void dw_rows(const conv_desc *d, const qconv_params *q, const void *packed, const int8_t *in,
                       int8_t *out, int y0, int y1, const int stride)
{
    const int32_t *prm = packed;
    const int c_total = d->out_c, np = q8_round_up(c_total, 8);
    const int16_t *wts = (const int16_t *)(prm + Q8_CHAN_ARRAYS * np);
    const size_t pix = (size_t)c_total, row = (size_t)d->in_w * pix;
    const int8x8_t izp = vdup_n_s8((int8_t)q->in_zero_point);
    int8_t pad[8];
    vst1_s8(pad, izp);
    const q8_out o = q8_out_params(q);
    for (int oy = y0; oy < y1; oy++) {
        int a, b;
        const int iy0 = q8_dw_row(d, stride, oy, &a, &b);
        int8_t *orow = out + (size_t)oy * d->out_w * pix;
        int cb = 0;
        for (; cb + 8 <= c_total; cb += 8) {
            dw_block blk;
            blk.wp = wts + (size_t)cb * 9;
#if defined(__aarch64__)
            for (int t = 0; t < 9; t++)
                blk.w[t] = vld1q_s16(blk.wp + 8 * t);
#endif
            blk.lo = q8_chan4_load(prm, np, cb);
            blk.hi = q8_chan4_load(prm, np, cb + 4);
            for (int ox = 0; ox < d->out_w; ox++) {
                if (ox == a && b > a) {
                    dw_interior(in + (size_t)iy0 * row + (size_t)(a * stride - d->pad_left) * pix + cb,
                                orow + (size_t)a * pix + cb, b - a, pix, row, &blk, izp, o, stride);
                    ox = b - 1;
                    continue;
                }
                const int8_t *tap[9];
                q8_dw_taps(d, in, iy0, ox * stride - d->pad_left, cb, pad, tap);
                dw_out(tap, orow + (size_t)ox * pix + cb, &blk, izp, o);
            }
        }
        if (cb < c_total)
            for (int ox = 0; ox < d->out_w; ox++)
                dw_out_tail(d, in, orow + (size_t)ox * pix + cb, wts + (size_t)cb * 9, prm, np, cb,
                            c_total - cb, iy0, ox * stride - d->pad_left, izp, o);
    }
}

#define Q8_DW_S1_NAME "dwconv3x3s1_qs8_nhwc_neon"
#define Q8_DW_S1_SYM dwconv3x3s1_qs8_nhwc_neon
#define Q8_DW_S2_NAME "dwconv3x3s2_qs8_nhwc_neon"
#define Q8_DW_S2_SYM dwconv3x3s2_qs8_nhwc_neon
#define Q8_DW_FEATURES 0u
#include "backbone/kernels_q8_neon_dw.inc"
#endif
