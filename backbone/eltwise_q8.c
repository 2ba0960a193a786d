/*
 * The elementwise int8 variants' table and dispatch (see eltwise_q8.h). A
 * variant is tested by being listed here: tests/test_q8_eltwise.c runs every
 * entry this CPU can run against the reference, byte for byte.
 */
#include <omp.h>

#include "backbone/eltwise_q8.h"

static const qadd_kernel add_ref = {"add_qs8_ref", MNV_ISA_REF, add_qs8_ref};
static const quantize_kernel quantize_ref = {"quantize_f32_qs8_ref", MNV_ISA_REF, quant_quantize_f32};

#if defined(MNV_X86_VARIANTS)
static const qadd_kernel add_avx512 = {"add_qs8_avx512", MNV_ISA_AVX512, add_qs8_avx512};
static const qadd_kernel add_avx2 = {"add_qs8_avx2", MNV_ISA_AVX2, add_qs8_avx2};
static const quantize_kernel quantize_avx512 = {"quantize_f32_qs8_avx512", MNV_ISA_AVX512, quantize_f32_qs8_avx512};
static const quantize_kernel quantize_avx2 = {"quantize_f32_qs8_avx2", MNV_ISA_AVX2, quantize_f32_qs8_avx2};
#endif
#if defined(MNV_NEON_VARIANTS)
static const qadd_kernel add_neon = {"add_qs8_neon", MNV_ISA_NEON, add_qs8_neon};
static const quantize_kernel quantize_neon = {"quantize_f32_qs8_neon", MNV_ISA_NEON, quantize_f32_qs8_neon};
#endif

static const qadd_kernel *const add_kernels[] = {
#if defined(MNV_X86_VARIANTS)
    &add_avx512, &add_avx2,
#endif
#if defined(MNV_NEON_VARIANTS)
    &add_neon,
#endif
    &add_ref, NULL,
};

static const quantize_kernel *const quantize_kernels[] = {
#if defined(MNV_X86_VARIANTS)
    &quantize_avx512, &quantize_avx2,
#endif
#if defined(MNV_NEON_VARIANTS)
    &quantize_neon,
#endif
    &quantize_ref, NULL,
};

const qadd_kernel *const *qadd_kernels_all(void)
{
    return add_kernels;
}

const quantize_kernel *const *quantize_kernels_all(void)
{
    return quantize_kernels;
}

int qadd_simd_supports(const qadd_params *p)
{
    const qmultiplier *m[3] = {&p->a_mult, &p->b_mult, &p->out_mult};
    if (p->left_shift < 0 || p->left_shift > 23)
        return 0;
    for (int i = 0; i < 3; i++)
        if (m[i]->shift < -31 || m[i]->shift > 30 || m[i]->multiplier < 0)
            return 0;
    return 1;
}

const qadd_kernel *qadd_kernel_choose(const qadd_params *p, mnv_isa max_isa)
{
    const int simd = qadd_simd_supports(p);
    for (const qadd_kernel *const *k = add_kernels; *k; k++)
        if ((*k)->isa <= max_isa && cpu_supports((*k)->isa) && (simd || (*k)->isa == MNV_ISA_REF))
            return *k;
    return &add_ref;
}

const quantize_kernel *quantize_kernel_choose(mnv_isa max_isa)
{
    for (const quantize_kernel *const *k = quantize_kernels; *k; k++)
        if ((*k)->isa <= max_isa && cpu_supports((*k)->isa))
            return *k;
    return &quantize_ref;
}

/* [*lo, *hi): thread t's part of n values among nt, cut at multiples of 64
 * so that each thread's stores start on its own cache line (given an
 * aligned buffer) and the vector loops run whole. */
static void share(size_t n, int t, int nt, size_t *lo, size_t *hi)
{
    const size_t blocks = (n + 63) / 64;
    const size_t b0 = blocks * (size_t)t / (size_t)nt, b1 = blocks * (size_t)(t + 1) / (size_t)nt;
    *lo = b0 * 64 < n ? b0 * 64 : n;
    *hi = b1 * 64 < n ? b1 * 64 : n;
}

void add_qs8(const qadd_params *p, const int8_t *a, const int8_t *b, int8_t *out, size_t n, mnv_isa max_isa)
{
    add_qs8_fn *run = qadd_kernel_choose(p, max_isa)->run;
    if (n < ELTWISE_Q8_PARALLEL_MIN) {
        run(p, a, b, out, n);
        return;
    }
    #pragma omp parallel
    {
        size_t lo, hi;
        share(n, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        run(p, a + lo, b + lo, out + lo, hi - lo);
    }
}

void quantize_qs8(const float *in, int8_t *out, size_t n, qparams q, mnv_isa max_isa)
{
    quantize_qs8_fn *run = quantize_kernel_choose(max_isa)->run;
    if (n < ELTWISE_Q8_PARALLEL_MIN) {
        run(in, out, n, q);
        return;
    }
    #pragma omp parallel
    {
        size_t lo, hi;
        share(n, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        run(in + lo, out + lo, hi - lo, q);
    }
}
