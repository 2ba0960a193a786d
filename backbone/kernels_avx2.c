/* The convolution template (kernels_simd.inc) over AVX2 + FMA (+ F16C for
 * weights stored as float16): 8 lanes and a
 * 6 x 16 GEMM register tile (12 accumulators, 2 weight vectors and a
 * broadcast fill the 16 ymm registers). Compiled with -mavx2 -mfma -mf16c;
 * only run after cpu_supports(MNV_ISA_AVX2). */
#if defined(MNV_X86_VARIANTS)
#include <immintrin.h>
#include <stdint.h>

typedef __m256 vf;
#define VL 8
#define GEMM_MR 6

/* Sliding window: the 8 ints from (8 - n) have n leading all-ones lanes. */
static const int32_t lane_masks[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static inline vf v_set1(float x) { return _mm256_set1_ps(x); }
static inline vf v_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void v_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
static inline vf v_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf v_max(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf v_min(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline vf v_fma(vf acc, vf a, vf b) { return _mm256_fmadd_ps(a, b, acc); }
static inline __m256i lanes(int n) { return _mm256_loadu_si256((const __m256i *)(lane_masks + 8 - n)); }
static inline vf v_load_n(const float *p, int n) { return _mm256_maskload_ps(p, lanes(n)); }
static inline void v_store_n(float *p, vf v, int n) { _mm256_maskstore_ps(p, lanes(n), v); }
static inline vf v_load_h(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

#define KERNEL_ISA MNV_ISA_AVX2
#define KERNEL_SYM(base) base##_avx2
#define KERNEL_STR(base) #base "_avx2"

#include "backbone/kernels_simd.inc"
#endif
