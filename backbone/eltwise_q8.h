/*
 * Elementwise int8 layers with SIMD variants: TFLite's int8 ADD (exactly
 * add_qs8_ref) and QUANTIZE float -> int8 (exactly quant_quantize_f32), for
 * AVX-512F, AVX2 and NEON (AArch64 and ARMv7), chosen at run time from the
 * CPU's features (eltwise_q8.c). Integer ADD leaves no rounding slack, and
 * QUANTIZE divides with the same IEEE division as the reference, so every
 * variant must give the reference's bytes for every input.
 */
#ifndef MNV2DET_BACKBONE_ELTWISE_Q8_H
#define MNV2DET_BACKBONE_ELTWISE_Q8_H

#include <stddef.h>
#include <stdint.h>

#include "backbone/backbone.h"

/* One variant on the calling thread alone: [0, n) of the operands. */
typedef void add_qs8_fn(const qadd_params *p, const int8_t *a, const int8_t *b, int8_t *out, size_t n);
typedef void quantize_qs8_fn(const float *in, int8_t *out, size_t n, qparams q);

typedef struct qadd_kernel {
    const char *name;         /* e.g. "add_qs8_avx512" */
    mnv_isa isa;
    add_qs8_fn *run;
} qadd_kernel;

typedef struct quantize_kernel {
    const char *name;         /* e.g. "quantize_f32_qs8_avx2" */
    mnv_isa isa;
    quantize_qs8_fn *run;
} quantize_kernel;

/* The variants compiled in, best first, NULL-terminated; the reference
 * (add_qs8_ref, quant_quantize_f32) is last and always present. */
const qadd_kernel *const *qadd_kernels_all(void);
const quantize_kernel *const *quantize_kernels_all(void);

/* An ADD operand's scaling quant_multiply((q - zp) << left_shift, m) in
 * 32-bit steps, for x = q - zp in [-255, 255] (eltwise_q8.c says why it is
 * exact): v = x * mh + ((x * ml + round) >> low) and the result
 * (v + half + ((v >> 31) & neg)) >> e, every step within int32, shifts
 * arithmetic. */
typedef struct qadd_scale32 {
    int32_t mh, ml, round, half, neg;
    int low, e;
} qadd_scale32;

/* 1 and *s when m and left_shift have that form (what qadd_params_init
 * makes: shift <= 0, left_shift 20), else 0 */
int qadd_scale32_make(qmultiplier m, int left_shift, qadd_scale32 *s);
/* The form on one value, as the SIMD variants compute it per lane */
int32_t qadd_scale32_apply(const qadd_scale32 *s, int32_t x);

/* 1 if the SIMD ADD variants handle p: left_shift in [0, 23] (so that
 * (q - zp) * 2^left_shift fits int32, as the reference assumes) and every
 * multiplier's shift in qmultiplier's [-31, 30]. Other parameters (which
 * qadd_params_init never makes) go to the reference. */
int qadd_simd_supports(const qadd_params *p);

/* The best variant with ISA <= max_isa that this CPU runs (and, for ADD,
 * that handles p): never NULL. */
const qadd_kernel *qadd_kernel_choose(const qadd_params *p, mnv_isa max_isa);
const quantize_kernel *quantize_kernel_choose(mnv_isa max_isa);

/* Below this many values the dispatchers run on the calling thread alone:
 * waking the team would cost more than it saves. */
#define ELTWISE_Q8_PARALLEL_MIN 16384

/* add_qs8_ref / quant_quantize_f32 through the best variant up to max_isa,
 * split between the OpenMP team for large n (the values do not depend on
 * who computes them). */
void add_qs8(const qadd_params *p, const int8_t *a, const int8_t *b, int8_t *out, size_t n, mnv_isa max_isa);
void quantize_qs8(const float *in, int8_t *out, size_t n, qparams q, mnv_isa max_isa);

/* The variants (eltwise_q8_avx512.c, eltwise_q8_avx2.c, eltwise_q8_neon.c). */
#if defined(MNV_X86_VARIANTS)
add_qs8_fn add_qs8_avx512, add_qs8_avx2;
quantize_qs8_fn quantize_f32_qs8_avx512, quantize_f32_qs8_avx2;
#endif
#if defined(MNV_NEON_VARIANTS)
add_qs8_fn add_qs8_neon;
quantize_qs8_fn quantize_f32_qs8_neon;
#endif

#endif
