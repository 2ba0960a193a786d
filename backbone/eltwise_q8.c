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

/*
 * With x = q - zp of 9 bits, a shift -e <= 0 and 9 <= L <= 23,
 * srdhm(x 2^L, M) = floor((x M 2^L + 2^30) / 2^31) = floor((x M +
 * 2^(30-L)) / 2^(31-L)), and M = Mh 2^(31-L) + Ml splits that exactly into
 * x Mh + floor((x Ml + 2^(30-L)) / 2^(31-L)), both parts within int32
 * (|x Mh| < 2^(8+L), |x Ml| < 2^(39-L)). The rounding shift by e, ties away
 * from zero, is floor((v + 2^(e-1) - [v < 0]) / 2^e) for e >= 1 (v itself
 * for e = 0), where that sum stays within int32: checked here for the
 * largest |v|. Per vector 2 multiplies of 32 bits and 8 other steps,
 * against 2 of 64 bits and some 17 for quant_multiply's general form.
 */
int qadd_scale32_make(qmultiplier m, int left_shift, qadd_scale32 *s)
{
    if (m.shift > 0 || m.shift < -31 || left_shift < 9 || left_shift > 23 || m.multiplier < 0)
        return 0;
    const int e = -m.shift, low = 31 - left_shift;
    const int64_t mh = m.multiplier >> low, ml = m.multiplier & ((INT64_C(1) << low) - 1);
    const int64_t v = 255 * mh + ((255 * ml + (INT64_C(1) << (30 - left_shift))) >> low) + 1;
    if (v + (e ? INT64_C(1) << (e - 1) : 0) >= INT64_C(1) << 31)
        return 0;
    s->mh = (int32_t)mh;
    s->ml = (int32_t)ml;
    s->round = (int32_t)1 << (30 - left_shift);
    s->half = e ? (int32_t)1 << (e - 1) : 0;
    s->neg = e ? -1 : 0;
    s->low = low;
    s->e = e;
    return 1;
}

int32_t qadd_scale32_apply(const qadd_scale32 *s, int32_t x)
{
    /* >> of a negative int is arithmetic with gcc and clang, as the lanes' */
    const int32_t v = x * s->mh + ((x * s->ml + s->round) >> s->low);
    return (v + s->half + ((v >> 31) & s->neg)) >> s->e;
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
