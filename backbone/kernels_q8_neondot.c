/* Int8 1x1, general and depthwise 3x3 convolutions on AArch64 with the dot product
 * extension (ARMv8.2 FEAT_DotProd, SDOT: Cortex-A76, Raspberry Pi 5). meson
 * compiles this file alone with -march=armv8.2-a+dotprod; the table marks
 * the variants as needing CPU_FEATURE_ARM_DOTPROD, which cpu.c reads from
 * HWCAP_ASIMDDP, so the A72 and A53 (Pi 4 and 3) never run them.
 *
 * SDOT by element adds to each int32 lane the four products of four int8
 * weights (one output channel, four consecutive inputs) with the same four
 * inputs of one pixel, broadcast from a register of 16. A tile of 8 pixels
 * x 8 channels holds 16 accumulators (4 channels each), 8 pixel vectors of
 * 16 inputs and 2 weight vectors: 26 of the 32 q registers. Per 16 inputs:
 * 8 + 8 loads and 64 SDOT for 1024 multiply-adds. Other regular
 * convolutions run the same tile on rows gathered per tile
 * (kernels_q8_neon.inc).
 *
 * Depthwise 3x3: 16 channels per step. SDOT sums four taps of one
 * channel, so the four taps' input vectors are interleaved by channel (8
 * ZIP for 4 taps x 16 channels; the weights are packed that way once):
 * taps 0-3 and 4-7 take 4 SDOT each, tap 8 SMULL and SADDW. Per output of
 * 16 channels 9 loads, 16 ZIP, 8 SDOT and 6 for the last tap against the
 * int16 variant's 2 x 36 for the taps.
 *
 * Exactness: SDOT's products and sums are exact in int32 for any int8
 * values (-128 included: 4 * 16384 fits), and the running sums are exact
 * as kernels_q8_neon.inc explains (zero point folded into a correction,
 * modular adds, the bias added with saturation last). In the depthwise
 * layers the correction covers all nine taps, and a tap outside the input
 * reads the input zero point, whose product the correction takes back: it
 * adds nothing, as in the reference. |sum| <= 9 * 128 * 255.
 */
#if defined(MNV_NEON_VARIANTS) && defined(__aarch64__)
#if !defined(__ARM_FEATURE_DOTPROD)
#error "kernels_q8_neondot.c needs the dot product extension (-march=armv8.2-a+dotprod)"
#endif
#include <arm_neon.h>
#include <omp.h>
#include <string.h>

#include "backbone/backbone.h"

#define Q8_MR 8
#define Q8_NR 8
#define Q8_CONV1X1_NAME "conv1x1_qs8_nhwc_neondot"
#define Q8_CONV1X1_SYM conv1x1_qs8_nhwc_neondot
#define Q8_CONV1X1_FEATURES CPU_FEATURE_ARM_DOTPROD
#define Q8_CONV2D_NAME "conv2d_qs8_nhwc_neondot"
#define Q8_CONV2D_SYM conv2d_qs8_nhwc_neondot

#define Q8_INLINE static inline __attribute__((always_inline))

/* One block of 16 inputs: group g (inputs 4g..4g+3) of every pixel times
 * the two weight vectors of that group. The lane must be a constant, hence
 * the macro. */
#define DOT_GROUP(acc, a, w, g)                                                     \
    do {                                                                            \
        const int8x16_t b0 = vld1q_s8((w) + 32 * (g)), b1 = vld1q_s8((w) + 32 * (g) + 16); \
        for (int i = 0; i < Q8_MR; i++) {                                           \
            acc[i][0] = vdotq_laneq_s32(acc[i][0], b0, a[i], g);                    \
            acc[i][1] = vdotq_laneq_s32(acc[i][1], b1, a[i], g);                    \
        }                                                                           \
    } while (0)

Q8_INLINE void tile_block(int32x4_t acc[Q8_MR][2], const int8x16_t a[Q8_MR], const int8_t *w)
{
    DOT_GROUP(acc, a, w, 0);
    DOT_GROUP(acc, a, w, 1);
    DOT_GROUP(acc, a, w, 2);
    DOT_GROUP(acc, a, w, 3);
}

/* wide: SDOT needs no care for -128. The tail block takes only the groups
 * of 4 inputs that hold some of the tail_len. */
static void q8_tile(const int8_t *const rows[Q8_MR], const int8_t (*tail)[16], int kb_full, int tail_len,
                    const int8_t *w, int wide, int32x4_t s[Q8_MR][Q8_NR / 4])
{
    (void)wide;
    /* local, so that they stay in registers (s may alias the int8 loads) */
    int32x4_t acc[Q8_MR][2];
    for (int i = 0; i < Q8_MR; i++)
        acc[i][0] = acc[i][1] = vdupq_n_s32(0);
    int8x16_t a[Q8_MR];
    for (int kb = 0; kb < kb_full; kb++, w += 16 * Q8_NR) {
        for (int i = 0; i < Q8_MR; i++)
            a[i] = vld1q_s8(rows[i] + 16 * kb);
        tile_block(acc, a, w);
    }
    if (tail_len > 0) {
        for (int i = 0; i < Q8_MR; i++)
            a[i] = vld1q_s8(tail[i]);
        DOT_GROUP(acc, a, w, 0);
        if (tail_len > 4)
            DOT_GROUP(acc, a, w, 1);
        if (tail_len > 8)
            DOT_GROUP(acc, a, w, 2);
        if (tail_len > 12)
            DOT_GROUP(acc, a, w, 3);
    }
    for (int i = 0; i < Q8_MR; i++)
        s[i][0] = acc[i][0], s[i][1] = acc[i][1];
}

/* Per block of 16 inputs, per group g of 4 inputs: channels n0..n0+3 then
 * n0+4..n0+7, each its 4 inputs of the group in order. */
static void q8_pack_block(const int8_t *w, int k_total, int n_total, int n0, int kbs, int8_t *dst)
{
    memset(dst, 0, (size_t)kbs * Q8_NR * 16);
    for (int j = 0; j < Q8_NR && n0 + j < n_total; j++)
        for (int k = 0; k < k_total; k++) {
            const int in_block = k % 16;
            dst[(size_t)(k / 16) * Q8_NR * 16 + (in_block / 4) * 32 + (j / 4) * 16 + (j % 4) * 4 + in_block % 4] =
                w[(size_t)(n0 + j) * k_total + k];
        }
}

#include "backbone/kernels_q8_neon.inc"

/* ------------------------------------------------------------------------ */
/* Depthwise 3x3                                                             */
/* ------------------------------------------------------------------------ */

/* Packed: the channel parameters (np = out_c), the zero-point correction
 * (np int32), then per block of 16 channels 9 vectors of 16 bytes: taps 0-3
 * interleaved for channels 0-3, 4-7, 8-11, 12-15 (byte 4 r + e: tap e,
 * channel r of the four), the same for taps 4-7, then tap 8 as it is. */
static int dw_supports_q(const conv_desc *d, const qconv_params *q)
{
    return q->w_zero_point == 0 && d->out_c % 16 == 0;
}

static size_t dw_packed_size(const conv_desc *d)
{
    return (Q8_CHAN_ARRAYS + 1) * (size_t)d->out_c * sizeof(int32_t) + (size_t)d->out_c * 9;
}

static void dw_pack(const conv_desc *d, const qconv_params *q, const int8_t *w, const int32_t *bias,
                    void *packed)
{
    const int np = d->out_c;
    int32_t *prm = packed;
    q8_pack_channels(d, q, bias, np, prm);
    int32_t *corr = prm + Q8_CHAN_ARRAYS * np;
    int8_t *wp = (int8_t *)(corr + np);
    for (int c = 0; c < np; c++) {
        int64_t sum = 0;
        for (int t = 0; t < 9; t++) {
            const int8_t v = w[(size_t)t * np + c];
            sum += v;
            int8_t *block = wp + (size_t)(c / 16) * 144;
            if (t < 8)
                block[(t / 4) * 64 + (c % 16) / 4 * 16 + (c % 4) * 4 + t % 4] = v;
            else
                block[128 + c % 16] = v;
        }
        corr[c] = (int32_t)(-(int64_t)q->in_zero_point * sum);
    }
}

/* The four taps' vectors of 16 channels, interleaved by channel: quad[r]
 * holds channels 4r..4r+3, each its four taps in order. */
Q8_INLINE void interleave4(const int8x16_t x[4], int8x16_t quad[4])
{
    const int16x8_t a = vreinterpretq_s16_s8(vzip1q_s8(x[0], x[1]));
    const int16x8_t b = vreinterpretq_s16_s8(vzip2q_s8(x[0], x[1]));
    const int16x8_t c = vreinterpretq_s16_s8(vzip1q_s8(x[2], x[3]));
    const int16x8_t e = vreinterpretq_s16_s8(vzip2q_s8(x[2], x[3]));
    quad[0] = vreinterpretq_s8_s16(vzip1q_s16(a, c));
    quad[1] = vreinterpretq_s8_s16(vzip2q_s16(a, c));
    quad[2] = vreinterpretq_s8_s16(vzip1q_s16(b, e));
    quad[3] = vreinterpretq_s8_s16(vzip2q_s16(b, e));
}

/* A block of 16 channels' weights and corrections, loaded once per row. */
typedef struct dot_block {
    int8x16_t w[9];
    int32x4_t corr[4];
} dot_block;

/* One output of 16 channels from its nine taps' addresses. */
Q8_INLINE void dot_out(const int8_t *const tap[9], int8_t *dst, const dot_block *b, const int32_t *prm, int np,
                       int cb, q8_out o)
{
    int32x4_t acc[4] = {b->corr[0], b->corr[1], b->corr[2], b->corr[3]};
    for (int g = 0; g < 2; g++) {
        int8x16_t x[4], quad[4];
        for (int e = 0; e < 4; e++)
            x[e] = vld1q_s8(tap[4 * g + e]);
        interleave4(x, quad);
        for (int r = 0; r < 4; r++)
            acc[r] = vdotq_s32(acc[r], quad[r], b->w[4 * g + r]);
    }
    const int8x16_t x8 = vld1q_s8(tap[8]);
    const int16x8_t lo = vmull_s8(vget_low_s8(x8), vget_low_s8(b->w[8]));
    const int16x8_t hi = vmull_high_s8(x8, b->w[8]);
    acc[0] = vaddw_s16(acc[0], vget_low_s16(lo));
    acc[1] = vaddw_high_s16(acc[1], lo);
    acc[2] = vaddw_s16(acc[2], vget_low_s16(hi));
    acc[3] = vaddw_high_s16(acc[3], hi);
    const int8x8_t r0 = q8_narrow(q8_requant4(acc[0], prm, np, cb), q8_requant4(acc[1], prm, np, cb + 4), o);
    const int8x8_t r1 = q8_narrow(q8_requant4(acc[2], prm, np, cb + 8), q8_requant4(acc[3], prm, np, cb + 12), o);
    vst1q_s8(dst, vcombine_s8(r0, r1));
}

/* count outputs of one row whose taps all lie inside the input, p the top
 * left tap of the first */
Q8_INLINE void dot_interior(const int8_t *p, int8_t *dst, int count, size_t pix, size_t row, const dot_block *b,
                            const int32_t *prm, int np, int cb, q8_out o, const int stride)
{
    for (int i = 0; i < count; i++, p += (size_t)stride * pix, dst += pix) {
        const int8_t *const tap[9] = {p, p + pix, p + 2 * pix, p + row, p + row + pix, p + row + 2 * pix,
                                      p + 2 * row, p + 2 * row + pix, p + 2 * row + 2 * pix};
        dot_out(tap, dst, b, prm, np, cb, o);
    }
}

Q8_INLINE void dw_rows(const conv_desc *d, const qconv_params *q, const void *packed, const int8_t *in,
                       int8_t *out, int y0, int y1, const int stride)
{
    const int32_t *prm = packed;
    const int np = d->out_c;
    const int32_t *corr = prm + Q8_CHAN_ARRAYS * np;
    const int8_t *wts = (const int8_t *)(corr + np);
    const size_t pix = (size_t)np, row = (size_t)d->in_w * pix;
    int8_t pad[16];
    memset(pad, (int)q->in_zero_point, sizeof pad);
    const q8_out o = q8_out_params(q);
    for (int oy = y0; oy < y1; oy++) {
        int a, b;
        const int iy0 = q8_dw_row(d, stride, oy, &a, &b);
        int8_t *orow = out + (size_t)oy * d->out_w * pix;
        for (int cb = 0; cb < np; cb += 16) {
            dot_block blk;
            for (int t = 0; t < 9; t++)
                blk.w[t] = vld1q_s8(wts + (size_t)cb * 9 + 16 * t);
            for (int r = 0; r < 4; r++)
                blk.corr[r] = vld1q_s32(corr + cb + 4 * r);
            for (int ox = 0; ox < d->out_w; ox++) {
                if (ox == a && b > a) {
                    dot_interior(in + (size_t)iy0 * row + (size_t)(a * stride - d->pad_left) * pix + cb,
                                 orow + (size_t)a * pix + cb, b - a, pix, row, &blk, prm, np, cb, o, stride);
                    ox = b - 1;
                    continue;
                }
                const int8_t *tap[9];
                q8_dw_taps(d, in, iy0, ox * stride - d->pad_left, cb, pad, tap);
                dot_out(tap, orow + (size_t)ox * pix + cb, &blk, prm, np, cb, o);
            }
        }
    }
}

#define Q8_DW_S1_NAME "dwconv3x3s1_qs8_nhwc_neondot"
#define Q8_DW_S1_SYM dwconv3x3s1_qs8_nhwc_neondot
#define Q8_DW_S2_NAME "dwconv3x3s2_qs8_nhwc_neondot"
#define Q8_DW_S2_SYM dwconv3x3s2_qs8_nhwc_neondot
#define Q8_DW_FEATURES CPU_FEATURE_ARM_DOTPROD
#include "backbone/kernels_q8_neon_dw.inc"
#endif
