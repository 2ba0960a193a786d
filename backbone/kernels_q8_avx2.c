/* The int8 template (kernels_q8_simd.inc) over AVX2: 8 int32 lanes.
 * Compiled twice: plain (-mavx2, the _avx2 variants) and with -mavxvnni
 * -DMNV_Q8_AVXVNNI (the _avxvnni GEMMs only: a depthwise with vpdpwssd in
 * place of vpmaddwd + vpaddd measured no faster on Zen 4).
 *
 * The AVX2 GEMM's exact scheme: inputs sign-extended to int16 (x, not
 * x - in_zp) and weights stored as int16 w - w_zp, so it takes uint8 models'
 * weight zero points too; vpmaddwd multiplies int16 pairs into int32 and
 * adds the two products, which saturates only when both pairs are
 * -32768 * -32768, and here |x * (w - w_zp)| <= 128 * 255 = 32640. The
 * -in_zp * sum(w - w_zp) is folded into the bias at pack time. (vpmaddubsw
 * would do twice the products per instruction but saturates its int16 pair
 * sums: 255 * 127 * 2 > 32767.)
 *
 * The AVX-VNNI GEMM is the AVX-512 one's scheme on ymm: vpdpbusd of x + 128
 * against int8 weights (zero point 0 only), -(128 + in_zp) * sum(w) in the
 * bias.
 *
 * Tiles: 16 ymm registers hold GEMM_MR x 2 accumulators, 2 weight vectors,
 * a broadcast (and vpmaddwd's product). Only run after cpu_supports(AVX2)
 * and, for AVX-VNNI, cpu_has_features(AVX_VNNI). */
#if defined(MNV_X86_VARIANTS)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

typedef __m256i vi;
#define VL 8

#define VOP(name) _mm256_##name
#define VSI(name) _mm256_##name##_si256
static inline vi v_set1_64(int64_t x) { return _mm256_set1_epi64x(x); }
static inline vi v_odd_blend(vi e, vi o) { return _mm256_blend_epi32(e, o, 0xaa); }
static inline vi v_eq(vi a, vi b) { return _mm256_cmpeq_epi32(a, b); }

static inline void v_store_s8(int8_t *p, vi v)
{
    const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64((__m128i *)p, _mm_packs_epi16(w16, w16));
}
static inline void v_store_s8_n(int8_t *p, vi v, int n)
{
    int8_t t[8];
    v_store_s8(t, v);
    memcpy(p, t, (size_t)n);
}
#if !defined(MNV_Q8_AVXVNNI) /* the depthwise kernels' */
static inline vi v_load_s8(const int8_t *p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)); }
static inline vi v_load_s8_n(const int8_t *p, int n)
{
    int8_t t[8] = {0};
    memcpy(t, p, (size_t)n);
    return v_load_s8(t);
}
static inline vi v_madd16(vi acc, vi x, vi w) { return _mm256_add_epi32(acc, _mm256_madd_epi16(x, w)); }
#endif

#if defined(MNV_Q8_AVXVNNI)
#define GEMM_VNNI 1
#define GEMM_MR 6
static inline vi v_dot(vi acc, vi a, vi w) { return _mm256_dpbusd_avx_epi32(acc, a, w); }
#else
#define GEMM_VNNI 0
#define GEMM_MR 5
static inline vi v_dot(vi acc, vi a, vi w) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, w)); }
#endif
#define GEMM_NV 2

#define KERNEL_ISA MNV_ISA_AVX2
#if defined(MNV_Q8_AVXVNNI)
#define Q8_DEPTHWISE 0
#define KERNEL_FEATURES CPU_FEATURE_AVX_VNNI
#define KERNEL_SYM(base) base##_avxvnni
#define KERNEL_STR(base) #base "_avxvnni"
#else
#define Q8_DEPTHWISE 1
#define KERNEL_FEATURES 0
#define KERNEL_SYM(base) base##_avx2
#define KERNEL_STR(base) #base "_avx2"
#endif

#include "backbone/kernels_q8_simd.inc"
#endif
