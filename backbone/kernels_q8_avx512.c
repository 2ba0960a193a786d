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

static inline vi v_set1(int32_t x) { return _mm512_set1_epi32(x); }
static inline vi v_load(const int32_t *p) { return _mm512_loadu_si512(p); }
static inline vi v_add(vi a, vi b) { return _mm512_add_epi32(a, b); }
static inline vi v_sub(vi a, vi b) { return _mm512_sub_epi32(a, b); }
static inline vi v_min(vi a, vi b) { return _mm512_min_epi32(a, b); }
static inline vi v_max(vi a, vi b) { return _mm512_max_epi32(a, b); }

/* floor((a * m + 2^30) / 2^31) per lane: the 64-bit products of the even
 * and the odd lanes; the quotient fits in 32 bits, so its low half is the
 * same after a logical or an arithmetic shift */
static inline vi v_srdhm(vi a, vi m)
{
    const vi half = _mm512_set1_epi64(INT64_C(1) << 30);
    const vi even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, m), half), 31);
    const vi odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(m, 32)), half);
    /* bits 31..62 of the odd sums, moved up to the high halves */
    return _mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64(odd, 1));
}

/* gemmlowp's RoundingDivideByPOT: floor, plus 1 where the remainder is
 * above half (negative x: above half + 1, so ties go away from zero) */
static inline vi v_rounding_shift(vi x, vi e)
{
    const vi one = _mm512_set1_epi32(1);
    const vi mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, e), one);
    const vi rem = _mm512_and_si512(x, mask);
    const vi thr = _mm512_sub_epi32(_mm512_srli_epi32(mask, 1), _mm512_srai_epi32(x, 31));
    const vi q = _mm512_srav_epi32(x, e);
    return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, thr), q, one);
}

static inline vi v_shl_sat(vi x, vi s)
{
    const vi y = _mm512_sllv_epi32(x, s);
    const vi sat = _mm512_xor_si512(_mm512_srai_epi32(x, 31), _mm512_set1_epi32(INT32_MAX));
    return _mm512_mask_blend_epi32(_mm512_cmpneq_epi32_mask(_mm512_srav_epi32(y, s), x), y, sat);
}

/* overflow where a and b agree in sign and the sum does not: then the
 * bound on the side of a's sign */
static inline vi v_sat_add(vi a, vi b)
{
    const vi r = _mm512_add_epi32(a, b);
    const vi ovf = _mm512_and_si512(_mm512_xor_si512(a, r), _mm512_xor_si512(b, r));
    const vi sat = _mm512_xor_si512(_mm512_srai_epi32(r, 31), _mm512_set1_epi32(INT32_MIN));
    return _mm512_mask_blend_epi32(_mm512_cmplt_epi32_mask(ovf, _mm512_setzero_si512()), r, sat);
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

#define GEMM_G 4
typedef uint8_t gemm_in_t;
typedef int8_t gemm_w_t;
#define GEMM_IN_OFFSET 128
#define GEMM_W_ZP 0
#define GEMM_MR 6
#define GEMM_NV 4
static inline vi v_dot(vi acc, vi a, vi w) { return _mm512_dpbusd_epi32(acc, a, w); }
static inline vi v_bcast_group(const gemm_in_t *p)
{
    int32_t g;
    memcpy(&g, p, sizeof g);
    return _mm512_set1_epi32(g);
}
static inline vi v_load_w(const gemm_w_t *p) { return _mm512_loadu_si512(p); }

#define Q8_DEPTHWISE 1
#define KERNEL_ISA MNV_ISA_AVX512
#define KERNEL_FEATURES CPU_FEATURE_AVX512_VNNI
#define KERNEL_SYM(base) base##_avx512vnni
#define KERNEL_STR(base) #base "_avx512vnni"

#include "backbone/kernels_q8_simd.inc"
#endif
