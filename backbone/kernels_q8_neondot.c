/* Int8 1x1 convolution on AArch64 with the dot product extension (ARMv8.2
 * FEAT_DotProd, SDOT: Cortex-A76, Raspberry Pi 5). meson compiles this file
 * alone with -march=armv8.2-a+dotprod; the table marks the variant as
 * needing MNV_CPU_ARM_DOTPROD, which cpu.c reads from HWCAP_ASIMDDP, so
 * the A72 and A53 (Pi 4 and 3) never run it.
 *
 * SDOT by element adds to each int32 lane the four products of four int8
 * weights (one output channel, four consecutive inputs) with the same four
 * inputs of one pixel, broadcast from a register of 16. A tile of 8 pixels
 * x 8 channels holds 16 accumulators (4 channels each), 8 pixel vectors of
 * 16 inputs and 2 weight vectors: 26 of the 32 q registers. Per 16 inputs:
 * 8 + 8 loads and 64 SDOT for 1024 multiply-adds.
 *
 * Exactness: SDOT's products and sums are exact in int32 for any int8
 * values (-128 included: 4 * 16384 fits), and the running sums are exact
 * as kernels_q8_neon.inc explains (zero point folded into a correction,
 * modular adds, the bias added with saturation last).
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
#define Q8_CONV1X1_FEATURES MNV_CPU_ARM_DOTPROD

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
static void q8_pack_block(const conv_desc *d, const int8_t *w, int n0, int kbs, int8_t *dst)
{
    memset(dst, 0, (size_t)kbs * Q8_NR * 16);
    for (int j = 0; j < Q8_NR && n0 + j < d->out_c; j++)
        for (int k = 0; k < d->in_c; k++) {
            const int in_block = k % 16;
            dst[(size_t)(k / 16) * Q8_NR * 16 + (in_block / 4) * 32 + (j / 4) * 16 + (j % 4) * 4 + in_block % 4] =
                w[(size_t)(n0 + j) * d->in_c + k];
        }
}

#include "backbone/kernels_q8_neon.inc"
#endif
