/*
 * The table of int8 convolution variants, best first. A variant is tested by
 * being listed here: tests/test_q8.c runs every entry against the reference
 * loops, and exactly (integer results leave no rounding slack).
 */
#include <string.h>

#include "backbone/backbone.h"

static int ref_supports_conv(const conv_desc *d, const qconv_params *q)
{
    (void)q;
    return !d->depthwise;
}

static int ref_supports_dw(const conv_desc *d, const qconv_params *q)
{
    (void)q;
    return d->depthwise;
}

static size_t ref_weight_bytes(const conv_desc *d)
{
    return d->depthwise ? (size_t)d->k_h * d->k_w * d->out_c
                        : (size_t)d->out_c * d->k_h * d->k_w * d->in_c;
}

/* The reference "packs" by copying: the int32 biases first (packed memory
 * is 64-byte aligned), then the weights as they are. */
static size_t ref_packed_size(const conv_desc *d)
{
    return (size_t)d->out_c * sizeof(int32_t) + ref_weight_bytes(d);
}

static void ref_pack(const conv_desc *d, const qconv_params *q, const int8_t *w, const int32_t *bias,
                     void *packed)
{
    (void)q;
    int32_t *b = packed;
    if (bias)
        memcpy(b, bias, (size_t)d->out_c * sizeof(int32_t));
    else
        memset(b, 0, (size_t)d->out_c * sizeof(int32_t));
    memcpy(b + d->out_c, w, ref_weight_bytes(d));
}

static void ref_run_conv(const conv_desc *d, const qconv_params *q, const void *packed,
                         const int8_t *in, int8_t *out)
{
    const int32_t *b = packed;
    conv2d_qs8_nhwc_ref(d, q, in, (const int8_t *)(b + d->out_c), b, out);
}

static void ref_run_dw(const conv_desc *d, const qconv_params *q, const void *packed,
                       const int8_t *in, int8_t *out)
{
    const int32_t *b = packed;
    dwconv2d_qs8_nhwc_ref(d, q, in, (const int8_t *)(b + d->out_c), b, out);
}

static const qconv_kernel conv2d_qs8_ref = {
    "conv2d_qs8_nhwc_ref", MNV_ISA_REF, KERNEL_CONV2D, ref_supports_conv, ref_packed_size, ref_pack,
    ref_run_conv, 0,
};
static const qconv_kernel dwconv2d_qs8_ref = {
    "dwconv2d_qs8_nhwc_ref", MNV_ISA_REF, KERNEL_DWCONV2D, ref_supports_dw, ref_packed_size, ref_pack,
    ref_run_dw, 0,
};

/* The x86 variants (kernels_q8_simd.inc per vector layer): AVX-512 VNNI
 * first, then the 256-bit AVX-VNNI dot product, then plain AVX2. */
#if defined(MNV_X86_VARIANTS)
extern const qconv_kernel conv1x1_qs8_nhwc_avx512vnni;
extern const qconv_kernel conv2d_stem_qs8_nhwc_avx512vnni;
extern const qconv_kernel conv2d_qs8_nhwc_avx512vnni;
extern const qconv_kernel dwconv3x3s1_qs8_nhwc_avx512vnni;
extern const qconv_kernel dwconv3x3s2_qs8_nhwc_avx512vnni;
extern const qconv_kernel conv1x1_qs8_nhwc_avxvnni;
extern const qconv_kernel conv2d_stem_qs8_nhwc_avxvnni;
extern const qconv_kernel conv2d_qs8_nhwc_avxvnni;
extern const qconv_kernel conv1x1_qs8_nhwc_avx2;
extern const qconv_kernel conv2d_stem_qs8_nhwc_avx2;
extern const qconv_kernel conv2d_qs8_nhwc_avx2;
extern const qconv_kernel dwconv3x3s1_qs8_nhwc_avx2;
extern const qconv_kernel dwconv3x3s2_qs8_nhwc_avx2;
#endif

/* The Arm variants (kernels_q8_neon*.c): the dot product first; each
 * ISA's 1x1 entry before its general one (the same GEMM, without the
 * gather), which takes every other regular convolution (the stem, SSD's
 * 3x3 stride 2 layers) before the reference. */
#if defined(MNV_NEON_VARIANTS)
#if defined(__aarch64__)
extern const qconv_kernel conv1x1_qs8_nhwc_neondot;
extern const qconv_kernel conv2d_qs8_nhwc_neondot;
extern const qconv_kernel dwconv3x3s1_qs8_nhwc_neondot;
extern const qconv_kernel dwconv3x3s2_qs8_nhwc_neondot;
#endif
extern const qconv_kernel conv1x1_qs8_nhwc_neon;
extern const qconv_kernel conv2d_qs8_nhwc_neon;
extern const qconv_kernel dwconv3x3s1_qs8_nhwc_neon;
extern const qconv_kernel dwconv3x3s2_qs8_nhwc_neon;
#endif

static const qconv_kernel *const all_kernels[] = {
#if defined(MNV_X86_VARIANTS)
    &conv1x1_qs8_nhwc_avx512vnni,
    &conv2d_stem_qs8_nhwc_avx512vnni,
    &conv2d_qs8_nhwc_avx512vnni,
    &dwconv3x3s1_qs8_nhwc_avx512vnni,
    &dwconv3x3s2_qs8_nhwc_avx512vnni,
    &conv1x1_qs8_nhwc_avxvnni,
    &conv2d_stem_qs8_nhwc_avxvnni,
    &conv2d_qs8_nhwc_avxvnni,
    &conv1x1_qs8_nhwc_avx2,
    &conv2d_stem_qs8_nhwc_avx2,
    &conv2d_qs8_nhwc_avx2,
    &dwconv3x3s1_qs8_nhwc_avx2,
    &dwconv3x3s2_qs8_nhwc_avx2,
#endif
#if defined(MNV_NEON_VARIANTS)
#if defined(__aarch64__)
    &conv1x1_qs8_nhwc_neondot,
    &conv2d_qs8_nhwc_neondot,
    &dwconv3x3s1_qs8_nhwc_neondot,
    &dwconv3x3s2_qs8_nhwc_neondot,
#endif
    &conv1x1_qs8_nhwc_neon,
    &conv2d_qs8_nhwc_neon,
    &dwconv3x3s1_qs8_nhwc_neon,
    &dwconv3x3s2_qs8_nhwc_neon,
#endif
    &conv2d_qs8_ref,
    &dwconv2d_qs8_ref,
    NULL,
};

const qconv_kernel *const *qconv_kernels_all(void)
{
    return all_kernels;
}

int qconv_kernel_runs_here(const qconv_kernel *k)
{
    return cpu_supports(k->isa) && cpu_has_features(k->features);
}

const qconv_kernel *qconv_kernel_choose(const conv_desc *d, const qconv_params *q, mnv_isa max_isa)
{
    for (const qconv_kernel *const *k = all_kernels; *k; k++)
        if ((*k)->isa <= max_isa && qconv_kernel_runs_here(*k) && (*k)->supports(d, q))
            return *k;
    return NULL;
}
