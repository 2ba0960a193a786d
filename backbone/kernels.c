/*
 * The table of convolution kernel variants, best first. A variant is tested
 * and benchmarked by being listed here: tests/test_kernels.c runs every entry
 * against the reference.
 */
#include <string.h>

#include "backbone/backbone.h"

static int ref_supports_conv(const conv_desc *d) { return !d->depthwise; }
static int ref_supports_dw(const conv_desc *d) { return d->depthwise; }

/* The reference "packs" by copying weights then bias, so that the executor
 * treats every variant alike. */
static size_t ref_packed_size(const conv_desc *d)
{
    size_t nw = d->depthwise ? (size_t)d->k_h * d->k_w * d->out_c
                             : (size_t)d->out_c * d->k_h * d->k_w * d->in_c;
    return (nw + (size_t)d->out_c) * sizeof(float);
}

static void ref_pack(const conv_desc *d, const float *w, const float *bias, void *packed)
{
    size_t nw = ref_packed_size(d) / sizeof(float) - (size_t)d->out_c;
    float *p = packed;
    memcpy(p, w, nw * sizeof(float));
    if (bias)
        memcpy(p + nw, bias, (size_t)d->out_c * sizeof(float));
    else
        memset(p + nw, 0, (size_t)d->out_c * sizeof(float));
}

static void ref_run_conv(const conv_desc *d, const void *packed, const float *in,
                         const float *residual, float *out)
{
    const float *w = packed;
    size_t nw = ref_packed_size(d) / sizeof(float) - (size_t)d->out_c;
    conv2d_f32_nhwc_ref(d, in, w, w + nw, residual, out);
}

static void ref_run_dw(const conv_desc *d, const void *packed, const float *in,
                       const float *residual, float *out)
{
    const float *w = packed;
    size_t nw = ref_packed_size(d) / sizeof(float) - (size_t)d->out_c;
    dwconv2d_f32_nhwc_ref(d, in, w, w + nw, out);
    if (residual)
        add_f32_ref(out, residual, out, (size_t)d->out_h * d->out_w * d->out_c, ACT_NONE);
}

static const conv_kernel conv2d_ref = {
    "conv2d_f32_nhwc_ref", MNV_ISA_REF, ref_supports_conv, ref_packed_size, ref_pack, ref_run_conv, NULL,
};
static const conv_kernel dwconv2d_ref = {
    "dwconv2d_f32_nhwc_ref", MNV_ISA_REF, ref_supports_dw, ref_packed_size, ref_pack, ref_run_dw, NULL,
};

/* The SIMD variants: one template (kernels_simd.inc) compiled per ISA with
 * that ISA's flags into kernels_<isa>.c. */
#if defined(MNV_X86_VARIANTS)
extern const conv_kernel conv_smallmap_f32_nhwc_avx512;
extern const conv_kernel pwconv_f32_nhwc_avx512;
extern const conv_kernel dwconv3x3s1_f32_nhwc_avx512;
extern const conv_kernel dwconv3x3s2_f32_nhwc_avx512;
extern const conv_kernel conv3x3s2_stem_f32_nhwc_avx512;
extern const conv_kernel conv_f32_nhwc_avx512;
extern const conv_kernel conv_smallmap_f32_nhwc_avx2;
extern const conv_kernel pwconv_f32_nhwc_avx2;
extern const conv_kernel dwconv3x3s1_f32_nhwc_avx2;
extern const conv_kernel dwconv3x3s2_f32_nhwc_avx2;
extern const conv_kernel conv3x3s2_stem_f32_nhwc_avx2;
extern const conv_kernel conv_f32_nhwc_avx2;
#endif
#if defined(MNV_NEON_VARIANTS)
extern const conv_kernel conv_smallmap_f32_nhwc_neon;
extern const conv_kernel pwconv_f32_nhwc_neon;
extern const conv_kernel dwconv3x3s1_f32_nhwc_neon;
extern const conv_kernel dwconv3x3s2_f32_nhwc_neon;
extern const conv_kernel conv3x3s2_stem_f32_nhwc_neon;
extern const conv_kernel conv_f32_nhwc_neon;
#endif

/* Within an ISA the specialized kernels come before the general conv, which
 * would also accept 1x1 layers. */
static const conv_kernel *const all_kernels[] = {
#if defined(MNV_X86_VARIANTS)
    &conv_smallmap_f32_nhwc_avx512,
    &pwconv_f32_nhwc_avx512,
    &dwconv3x3s1_f32_nhwc_avx512,
    &dwconv3x3s2_f32_nhwc_avx512,
    &conv3x3s2_stem_f32_nhwc_avx512,
    &conv_f32_nhwc_avx512,
    &conv_smallmap_f32_nhwc_avx2,
    &pwconv_f32_nhwc_avx2,
    &dwconv3x3s1_f32_nhwc_avx2,
    &dwconv3x3s2_f32_nhwc_avx2,
    &conv3x3s2_stem_f32_nhwc_avx2,
    &conv_f32_nhwc_avx2,
#endif
#if defined(MNV_NEON_VARIANTS)
    &conv_smallmap_f32_nhwc_neon,
    &pwconv_f32_nhwc_neon,
    &dwconv3x3s1_f32_nhwc_neon,
    &dwconv3x3s2_f32_nhwc_neon,
    &conv3x3s2_stem_f32_nhwc_neon,
    &conv_f32_nhwc_neon,
#endif
    &conv2d_ref,
    &dwconv2d_ref,
    NULL,
};

const conv_kernel *const *conv_kernels_all(void)
{
    return all_kernels;
}

const conv_kernel *conv_kernel_choose(const conv_desc *d, mnv_isa max_isa)
{
    for (const conv_kernel *const *k = all_kernels; *k; k++)
        if ((*k)->isa <= max_isa && cpu_supports((*k)->isa) && (*k)->supports(d))
            return *k;
    return NULL;
}
