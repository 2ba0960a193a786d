/* The int8 template (kernels_q8_simd.inc) over AVX-512 with VNNI: 16 int32
 * lanes. The GEMM (1x1 and other regular convolutions) feeds vpdpbusd (unsigned x signed bytes, four
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
static inline void v_store_s8(int8_t *p, vi v) { _mm_storeu_si128((__m128i *)p, _mm512_cvtsepi32_epi8(v)); }
static inline void v_store_s8_n(int8_t *p, vi v, int n)
{
    _mm512_mask_cvtsepi32_storeu_epi8(p, (__mmask16)((1u << n) - 1u), v);
}
static inline vi v_madd16(vi acc, vi x, vi w) { return _mm512_dpwssd_epi32(acc, x, w); }

/* quant_multiply's srdhm and rounding right shift as one 64-bit shift: with
 * P = x * m (|P| < 2^62), srdhm is Q = floor((P + 2^30) / 2^31) and the
 * shift floor((Q + 2^(e-1) - [Q < 0]) / 2^e) (ties away from zero; e = 0
 * leaves Q). Nested floors of integers merge, floor((floor(X / A) + h) / B)
 * = floor((X + h * A) / (A * B)), and Q < 0 exactly where P + 2^30 < 0, so
 * the result is (P + 2^30 + 2^(30+e) - [P < -2^30] * 2^31) >> (31 + e),
 * arithmetic (both 2^(30+e) and the 2^31 left out for e = 0): per half of
 * the lanes a multiply, an add, a compare, a masked subtract and a shift,
 * the sums below 2^63. Terms: the multipliers (even lanes, odd lanes moved
 * down), then per half the added constant, the subtracted one, the shift. */
#define V_MUL_SHIFT 1
#define Q8_MUL_TERMS 8
static inline void v_mul_terms(vi mult, vi right, vi *t)
{
    const vi one = _mm512_set1_epi64(1);
    t[0] = mult;
    t[1] = _mm512_srli_epi64(mult, 32);
    for (int i = 0; i < 2; i++) {
        const vi e = i ? _mm512_srli_epi64(right, 32) : _mm512_and_si512(right, _mm512_set1_epi64(0xffffffff));
        const vi h = _mm512_srli_epi64(_mm512_sllv_epi64(one, e), 1); /* 2^(e-1), 0 for e = 0 */
        t[2 + i] = _mm512_add_epi64(_mm512_set1_epi64(INT64_C(1) << 30), _mm512_slli_epi64(h, 31));
        t[4 + i] = _mm512_slli_epi64(_mm512_min_epu64(e, one), 31);
        t[6 + i] = _mm512_add_epi64(e, _mm512_set1_epi64(31));
    }
}

static inline vi v_mul_shift(vi x, const vi *t)
{
    const vi below = _mm512_set1_epi64(-(INT64_C(1) << 30));
    vi r[2];
    for (int i = 0; i < 2; i++) {
        const vi p = _mm512_mul_epi32(i ? _mm512_srli_epi64(x, 32) : x, t[i]);
        vi s = _mm512_add_epi64(p, t[2 + i]);
        s = _mm512_mask_sub_epi64(s, _mm512_cmplt_epi64_mask(p, below), s, t[4 + i]);
        r[i] = _mm512_srav_epi64(s, t[6 + i]);
    }
    /* the odd lanes' results are in their qwords' low halves: swap them up */
    return _mm512_mask_shuffle_epi32(r[0], 0xaaaa, r[1], _MM_PERM_CDAB);
}

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
