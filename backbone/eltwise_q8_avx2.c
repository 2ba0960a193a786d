/*
 * Elementwise int8 layers on AVX2: ADD and QUANTIZE float -> int8, eight
 * values per int32 / float vector, 32 per step so that four vectors narrow
 * to one 32-byte store (see eltwise_q8.h for what they must equal; the
 * arithmetic is eltwise_q8_avx512.c's, with compares and blends in place of
 * mask registers). Compiled alone with -mavx2 (backbone/meson.build).
 */
#if defined(MNV_X86_VARIANTS)
#include <immintrin.h>
#include <string.h>

#include "backbone/eltwise_q8.h"

#define INL static inline __attribute__((always_inline))

typedef struct vmul {
    __m256i mult;
    __m128i left, right;
    __m256i sat_hi, sat_lo;   /* x above / below these saturates when shifted left */
    __m256i mask, halfmask;   /* 2^right - 1 and its half */
    int has_left;
} vmul;

static vmul vmul_make(qmultiplier m)
{
    vmul v;
    const int left = m.shift > 0 ? m.shift : 0, right = m.shift > 0 ? 0 : -m.shift;
    const int32_t mask = (int32_t)((UINT32_C(1) << right) - 1);
    v.mult = _mm256_set1_epi32(m.multiplier);
    v.left = _mm_cvtsi32_si128(left);
    v.right = _mm_cvtsi32_si128(right);
    v.sat_hi = _mm256_set1_epi32(INT32_MAX >> left);
    v.sat_lo = _mm256_set1_epi32(left ? -(INT32_C(1) << (31 - left)) : INT32_MIN);
    v.mask = _mm256_set1_epi32(mask);
    v.halfmask = _mm256_set1_epi32(mask >> 1);
    v.has_left = left > 0;
    return v;
}

/* quant_srdhm(x, m) for m >= 0 (see eltwise_q8_avx512.c) */
INL __m256i srdhm8(__m256i x, __m256i m)
{
    const __m256i round = _mm256_set1_epi64x(INT64_C(1) << 30);
    __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, m), round);
    __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), m), round);
    even = _mm256_srli_epi64(even, 31);
    odd = _mm256_slli_epi64(odd, 1);
    return _mm256_blend_epi32(even, odd, 0xAA);
}

/* quant_multiply(x, m) on 8 lanes */
INL __m256i qmul8(__m256i x, const vmul *m)
{
    if (m->has_left) {
        const __m256i s = _mm256_sll_epi32(x, m->left);
        const __m256i hi = _mm256_cmpgt_epi32(x, m->sat_hi), lo = _mm256_cmpgt_epi32(m->sat_lo, x);
        x = _mm256_blendv_epi8(_mm256_blendv_epi8(s, _mm256_set1_epi32(INT32_MAX), hi), _mm256_set1_epi32(INT32_MIN),
                               lo);
    }
    const __m256i v = srdhm8(x, m->mult);
    const __m256i rem = _mm256_and_si256(v, m->mask);
    const __m256i threshold = _mm256_add_epi32(m->halfmask, _mm256_srli_epi32(v, 31));
    /* the compare gives -1 where the quotient rounds away: subtract it */
    return _mm256_sub_epi32(_mm256_sra_epi32(v, m->right), _mm256_cmpgt_epi32(rem, threshold));
}

/* quant_multiply(x << L, m) for x = q - zp in 8 lanes */
INL __m256i vscale8(__m256i x, const qadd_scale32 *s)
{
    const __m256i lo = _mm256_sra_epi32(_mm256_add_epi32(_mm256_mullo_epi32(x, _mm256_set1_epi32(s->ml)),
                                                    _mm256_set1_epi32(s->round)), _mm_cvtsi32_si128(s->low));
    const __m256i v = _mm256_add_epi32(_mm256_mullo_epi32(x, _mm256_set1_epi32(s->mh)), lo);
    const __m256i neg = _mm256_and_si256(_mm256_srai_epi32(v, 31), _mm256_set1_epi32(s->neg));
    return _mm256_sra_epi32(_mm256_add_epi32(_mm256_add_epi32(v, _mm256_set1_epi32(s->half)), neg),
                            _mm_cvtsi32_si128(s->e));
}

typedef struct add_consts {
    __m256i a_zp, b_zp, lo, hi, out_zp;
    __m128i left_shift;
    vmul a, b, out;
    qadd_scale32 sa, sb;
    int scaled;               /* sa and sb hold: both operands in 32-bit steps */
} add_consts;

/* 8 sums as int32 lanes (in [-128, 127]) from 8 bytes at a and b */
INL __m256i add8(const int8_t *a, const int8_t *b, const add_consts *c)
{
    const __m256i a32 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)a));
    const __m256i b32 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)b));
    __m256i sum;
    if (c->scaled) {
        sum = _mm256_add_epi32(vscale8(_mm256_sub_epi32(a32, c->a_zp), &c->sa),
                               vscale8(_mm256_sub_epi32(b32, c->b_zp), &c->sb));
    } else {
        const __m256i x = _mm256_sll_epi32(_mm256_sub_epi32(a32, c->a_zp), c->left_shift);
        const __m256i y = _mm256_sll_epi32(_mm256_sub_epi32(b32, c->b_zp), c->left_shift);
        sum = _mm256_add_epi32(qmul8(x, &c->a), qmul8(y, &c->b));
    }
    __m256i s = qmul8(sum, &c->out);
    s = _mm256_min_epi32(_mm256_max_epi32(s, c->lo), c->hi);
    return _mm256_add_epi32(s, c->out_zp);
}

/* four vectors of 8 int32 in [-128, 127] as 32 bytes in order: the packs
 * work per 128-bit half, the permutation puts the dwords back in order */
INL __m256i narrow32(__m256i v0, __m256i v1, __m256i v2, __m256i v3)
{
    const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(v0, v1), _mm256_packs_epi32(v2, v3));
    return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static void add32(const int8_t *a, const int8_t *b, int8_t *out, const add_consts *c)
{
    const __m256i r = narrow32(add8(a, b, c), add8(a + 8, b + 8, c), add8(a + 16, b + 16, c), add8(a + 24, b + 24, c));
    _mm256_storeu_si256((__m256i *)(void *)out, r);
}

void add_qs8_avx2(const qadd_params *p, const int8_t *a, const int8_t *b, int8_t *out, size_t n)
{
    add_consts c;
    c.a_zp = _mm256_set1_epi32(p->a_zero_point);
    c.b_zp = _mm256_set1_epi32(p->b_zero_point);
    c.out_zp = _mm256_set1_epi32(p->out_zero_point);
    c.lo = _mm256_set1_epi32(p->act_min - p->out_zero_point);
    c.hi = _mm256_set1_epi32(p->act_max - p->out_zero_point);
    c.left_shift = _mm_cvtsi32_si128(p->left_shift);
    c.a = vmul_make(p->a_mult);
    c.b = vmul_make(p->b_mult);
    c.out = vmul_make(p->out_mult);
    c.scaled = qadd_scale32_make(p->a_mult, p->left_shift, &c.sa) && qadd_scale32_make(p->b_mult, p->left_shift, &c.sb);
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        add32(a + i, b + i, out + i, &c);
    if (i < n) { /* the last 1..31 through a copy */
        int8_t ta[32] = {0}, tb[32] = {0}, to[32];
        memcpy(ta, a + i, n - i);
        memcpy(tb, b + i, n - i);
        add32(ta, tb, to, &c);
        memcpy(out + i, to, n - i);
    }
}

/* 8 floats quantized, as int32 lanes in [-128, 127] (see quantize16 in
 * eltwise_q8_avx512.c) */
INL __m256i quantize8(const float *in, __m256 scale, __m256i zp)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 q = _mm256_div_ps(_mm256_loadu_ps(in), scale);
    __m256 t = _mm256_round_ps(q, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 afrac = _mm256_andnot_ps(sign, _mm256_sub_ps(q, t));
    const __m256 up = _mm256_cmp_ps(afrac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(sign, q));
    t = _mm256_add_ps(t, _mm256_and_ps(up, one));
    /* maxps gives its second operand for NaN: -512, replaced below */
    t = _mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(-512.0f)), _mm256_set1_ps(512.0f));
    __m256i v = _mm256_add_epi32(_mm256_cvttps_epi32(t), zp);
    v = _mm256_blendv_epi8(v, zp, _mm256_castps_si256(_mm256_cmp_ps(q, q, _CMP_UNORD_Q)));
    return _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(-128)), _mm256_set1_epi32(127));
}

static void quantize32(const float *in, int8_t *out, __m256 scale, __m256i zp)
{
    const __m256i r = narrow32(quantize8(in, scale, zp), quantize8(in + 8, scale, zp), quantize8(in + 16, scale, zp),
                               quantize8(in + 24, scale, zp));
    _mm256_storeu_si256((__m256i *)(void *)out, r);
}

void quantize_f32_qs8_avx2(const float *in, int8_t *out, size_t n, qparams qp)
{
    const __m256 scale = _mm256_set1_ps(qp.scale);
    const __m256i zp = _mm256_set1_epi32(qp.zero_point);
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        quantize32(in + i, out + i, scale, zp);
    if (i < n) {
        float tin[32] = {0};
        int8_t to[32];
        memcpy(tin, in + i, (n - i) * sizeof(float));
        quantize32(tin, to, scale, zp);
        memcpy(out + i, to, n - i);
    }
}
#endif
