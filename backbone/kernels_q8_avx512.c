/* The int8 template (kernels_q8_simd.inc) over AVX-512 with VNNI: 16 int32
 * lanes. The 1x1 GEMM feeds vpdpbusd (unsigned x signed bytes, four
 * products summed into each int32 lane without saturation) the inputs as
 * x + 128 in [0, 255] against the int8 weights; the -(128 + in_zp) * sum(w)
 * this adds is folded into the bias at pack time. Weights with a zero point
 * (uint8 models) would leave int8, so this GEMM refuses them. A 6 x 64
 * register tile: 24 accumulators, 4 weight vectors and a broadcast of the 32
 * zmm registers. The depthwise kernels use vpdpwssd (int16 pairs; the high
 * half of each weight lane is 0). Compiled with -mavx512f -mavx512bw
 * -mavx512vl -mavx512vnni; only run after cpu_has_features(AVX512_VNNI). */
#if defined(MNV_X86_VARIANTS)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

typedef __m512i vi;
#define VL 16

#define VOP(name) _mm512_##name
#define VSI(name) _mm512_##name##_si512
static inline vi v_set1_64(int64_t x) { return _mm512_set1_epi64(x); }
static inline vi v_odd_blend(vi e, vi o) { return _mm512_mask_blend_epi32(0xaaaa, e, o); }
static inline vi v_eq(vi a, vi b)
{
    return _mm512_maskz_mov_epi32(_mm512_cmpeq_epi32_mask(a, b), _mm512_set1_epi32(-1));
}

static inline vi v_load_s8(const int8_t *p) { return _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)); }
static inline vi v_load_s8_n(const int8_t *p, int n)
{
    return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8((__mmask16)((1u << n) - 1u), p));
}
static inline void v_store_s8(int8_t *p, vi v) { _mm_storeu_si128((__m128i *)p, _mm512_cvtepi32_epi8(v)); }
static inline void v_store_s8_n(int8_t *p, vi v, int n)
{
    _mm512_mask_cvtepi32_storeu_epi8(p, (__mmask16)((1u << n) - 1u), v);
}
static inline vi v_madd16(vi acc, vi x, vi w) { return _mm512_dpwssd_epi32(acc, x, w); }

#define GEMM_VNNI 1
#define GEMM_MR 6
#define GEMM_NV 4
static inline vi v_dot(vi acc, vi a, vi w) { return _mm512_dpbusd_epi32(acc, a, w); }

#define Q8_DEPTHWISE 1
#define KERNEL_ISA MNV_ISA_AVX512
#define KERNEL_FEATURES CPU_FEATURE_AVX512_VNNI
#define KERNEL_SYM(base) base##_avx512vnni
#define KERNEL_STR(base) #base "_avx512vnni"

#include "backbone/kernels_q8_simd.inc"
#endif
