/* The convolution template (kernels_simd.inc) over AVX-512F: 16 lanes, a
 * 12 x 32 GEMM register tile (24 accumulators of the 32 zmm registers), and
 * native lane masks for the channel tails. Compiled with -mavx512f; only run
 * after cpu_supports(MNV_ISA_AVX512). */
#if defined(MNV_X86_VARIANTS)
#include <immintrin.h>
#include <stdint.h>

typedef __m512 vf;
#define VL 16
#define GEMM_MR 12

static inline vf v_set1(float x) { return _mm512_set1_ps(x); }
static inline vf v_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void v_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf v_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf v_max(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf v_min(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline vf v_fma(vf acc, vf a, vf b) { return _mm512_fmadd_ps(a, b, acc); }
static inline __mmask16 lanes(int n) { return (__mmask16)((1u << n) - 1u); }
static inline vf v_load_n(const float *p, int n) { return _mm512_maskz_loadu_ps(lanes(n), p); }
static inline void v_store_n(float *p, vf v, int n) { _mm512_mask_storeu_ps(p, lanes(n), v); }
static inline vf v_load_h(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }

#define KERNEL_ISA MNV_ISA_AVX512
#define KERNEL_SYM(base) base##_avx512
#define KERNEL_STR(base) #base "_avx512"

#include "backbone/kernels_simd.inc"
#endif
