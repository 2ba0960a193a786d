/*
 * Elementwise int8 layers on AVX-512F: ADD and QUANTIZE float -> int8, 16
 * values per step in int32 / float lanes (see eltwise_q8.h for what they
 * must equal). Only AVX512F instructions: the int8 values are widened and
 * narrowed with vpmovsxbd / vpmovdb, so no BW or VL is needed and the
 * variant runs wherever cpu_supports(MNV_ISA_AVX512).
 *
 * ADD computes add_qs8_ref's three quant_multiply steps exactly in integer
 * lanes; SRDHM needs the 64-bit product (vpmuldq on the even and the odd
 * lanes), the rounding right shift is gemmlowp's remainder-and-threshold
 * form, which cannot overflow as adding the half first would.
 *
 * Compiled alone with -mavx512f (backbone/meson.build).
 */
#if defined(MNV_X86_VARIANTS)
#include <immintrin.h>
#include <string.h>

#include "backbone/eltwise_q8.h"

#define INL static inline __attribute__((always_inline))

/* quant_multiply by one qmultiplier, as vector constants */
typedef struct vmul {
    __m512i mult;             /* multiplier in every lane (vpmuldq reads the low dword of each qword) */
    __m128i left, right;      /* shift counts */
    __m512i sat_hi, sat_lo;   /* x above / below these saturates when shifted left */
    __m512i mask, halfmask;   /* 2^right - 1 and its half (rounding threshold) */
    int has_left;
} vmul;

static vmul vmul_make(qmultiplier m)
{
    vmul v;
    const int left = m.shift > 0 ? m.shift : 0, right = m.shift > 0 ? 0 : -m.shift;
    const int32_t mask = (int32_t)((UINT32_C(1) << right) - 1);
    v.mult = _mm512_set1_epi32(m.multiplier);
    v.left = _mm_cvtsi32_si128(left);
    v.right = _mm_cvtsi32_si128(right);
    v.sat_hi = _mm512_set1_epi32(INT32_MAX >> left);
    /* INT32_MIN / 2^left, without shifting a negative value */
    v.sat_lo = _mm512_set1_epi32(left ? -(INT32_C(1) << (31 - left)) : INT32_MIN);
    v.mask = _mm512_set1_epi32(mask);
    v.halfmask = _mm512_set1_epi32(mask >> 1);
    v.has_left = left > 0;
    return v;
}

/* quant_srdhm(x, m) for m >= 0: floor((x m + 2^30) / 2^31), which fits
 * int32 (|x m| < 2^62); its low dword is bits 31..62 of the 64-bit sum. */
INL __m512i srdhm16(__m512i x, __m512i m)
{
    const __m512i round = _mm512_set1_epi64(INT64_C(1) << 30);
    __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, m), round);
    __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), m), round);
    even = _mm512_srli_epi64(even, 31); /* into the low dword */
    odd = _mm512_slli_epi64(odd, 1);    /* into the high dword */
    return _mm512_mask_blend_epi32(0xAAAA, even, odd);
}

/* quant_multiply(x, m) on 16 lanes */
INL __m512i qmul16(__m512i x, const vmul *m)
{
    if (m->has_left) { /* saturate as the reference's 64-bit shift and clamp */
        const __m512i s = _mm512_sll_epi32(x, m->left);
        const __mmask16 hi = _mm512_cmpgt_epi32_mask(x, m->sat_hi), lo = _mm512_cmplt_epi32_mask(x, m->sat_lo);
        x = _mm512_mask_mov_epi32(_mm512_mask_mov_epi32(s, hi, _mm512_set1_epi32(INT32_MAX)), lo,
                                  _mm512_set1_epi32(INT32_MIN));
    }
    const __m512i v = srdhm16(x, m->mult);
    /* rounding_shift: floor(v / 2^r) + 1 where the remainder exceeds half
     * (at least half for v < 0: ties away from zero) */
    const __m512i rem = _mm512_and_si512(v, m->mask);
    const __m512i threshold = _mm512_add_epi32(m->halfmask, _mm512_srli_epi32(v, 31));
    const __m512i q = _mm512_sra_epi32(v, m->right);
    return _mm512_mask_sub_epi32(q, _mm512_cmpgt_epi32_mask(rem, threshold), q, _mm512_set1_epi32(-1));
}

/* quant_multiply(x << L, m) for x = q - zp in 16 lanes */
INL __m512i vscale16(__m512i x, const qadd_scale32 *s)
{
    const __m512i lo = _mm512_sra_epi32(_mm512_add_epi32(_mm512_mullo_epi32(x, _mm512_set1_epi32(s->ml)),
                                                    _mm512_set1_epi32(s->round)), _mm_cvtsi32_si128(s->low));
    const __m512i v = _mm512_add_epi32(_mm512_mullo_epi32(x, _mm512_set1_epi32(s->mh)), lo);
    const __m512i neg = _mm512_and_si512(_mm512_srai_epi32(v, 31), _mm512_set1_epi32(s->neg));
    return _mm512_sra_epi32(_mm512_add_epi32(_mm512_add_epi32(v, _mm512_set1_epi32(s->half)), neg),
                            _mm_cvtsi32_si128(s->e));
}

typedef struct add_consts {
    __m512i a_zp, b_zp, lo, hi, out_zp;
    __m128i left_shift;
    vmul a, b, out;
    qadd_scale32 sa, sb;
} add_consts;

/* 16 sums: the bytes a8 and b8 in, 16 bytes out; scaled (a constant where
 * inlined): both operands in the 32-bit form (qadd_scale32) */
INL __m128i add16(__m128i a8, __m128i b8, const add_consts *c, int scaled)
{
    const __m512i a = _mm512_sub_epi32(_mm512_cvtepi8_epi32(a8), c->a_zp);
    const __m512i b = _mm512_sub_epi32(_mm512_cvtepi8_epi32(b8), c->b_zp);
    /* int32 sum: the reference's sum of the two is int32 as well, each
     * below 2^28 in magnitude for qadd_params_init's parameters */
    const __m512i sum = scaled ? _mm512_add_epi32(vscale16(a, &c->sa), vscale16(b, &c->sb))
                               : _mm512_add_epi32(qmul16(_mm512_sll_epi32(a, c->left_shift), &c->a),
                                                  qmul16(_mm512_sll_epi32(b, c->left_shift), &c->b));
    __m512i s = qmul16(sum, &c->out);
    /* clamp(s + zp, act_min, act_max) as clamp(s, act_min - zp, act_max - zp)
     * + zp: the same integers, and s + zp cannot overflow */
    s = _mm512_min_epi32(_mm512_max_epi32(s, c->lo), c->hi);
    return _mm512_cvtepi32_epi8(_mm512_add_epi32(s, c->out_zp));
}

/* n values through add16 (scaled a constant where inlined) */
INL void add_run(const add_consts *c, int scaled, const int8_t *a, const int8_t *b, int8_t *out, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(a + i)),
                      y = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        _mm_storeu_si128((__m128i *)(void *)(out + i), add16(x, y, c, scaled));
    }
    if (i < n) { /* the last 1..15 through a copy: nothing read or written past n */
        int8_t ta[16] = {0}, tb[16] = {0}, to[16];
        memcpy(ta, a + i, n - i);
        memcpy(tb, b + i, n - i);
        const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)ta),
                      y = _mm_loadu_si128((const __m128i *)(const void *)tb);
        _mm_storeu_si128((__m128i *)(void *)to, add16(x, y, c, scaled));
        memcpy(out + i, to, n - i);
    }
}

void add_qs8_avx512(const qadd_params *p, const int8_t *a, const int8_t *b, int8_t *out, size_t n)
{
    add_consts c;
    c.a_zp = _mm512_set1_epi32(p->a_zero_point);
    c.b_zp = _mm512_set1_epi32(p->b_zero_point);
    c.out_zp = _mm512_set1_epi32(p->out_zero_point);
    c.lo = _mm512_set1_epi32(p->act_min - p->out_zero_point);
    c.hi = _mm512_set1_epi32(p->act_max - p->out_zero_point);
    c.left_shift = _mm_cvtsi32_si128(p->left_shift);
    c.a = vmul_make(p->a_mult);
    c.b = vmul_make(p->b_mult);
    c.out = vmul_make(p->out_mult);
    if (qadd_scale32_make(p->a_mult, p->left_shift, &c.sa) && qadd_scale32_make(p->b_mult, p->left_shift, &c.sb))
        add_run(&c, 1, a, b, out, n);
    else
        add_run(&c, 0, a, b, out, n);
}

/* 16 floats quantized: round(x / scale) with ties away from zero, + zp,
 * clamped; NaN gives the zero point. */
INL __m128i quantize16(__m512 x, __m512 scale, __m512i zp)
{
    const __m512i sign = _mm512_set1_epi32(INT32_MIN);
    const __m512 q = _mm512_div_ps(x, scale); /* IEEE division, as the reference's */
    __m512 t = _mm512_roundscale_ps(q, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    /* q - trunc(q) is exact (q's own low bits); |frac| >= 0.5 rounds away.
     * Infinities give inf - inf = NaN there, which compares false. */
    const __m512i frac = _mm512_castps_si512(_mm512_sub_ps(q, t));
    const __m512 afrac = _mm512_castsi512_ps(_mm512_andnot_si512(sign, frac));
    const __mmask16 up = _mm512_cmp_ps_mask(afrac, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 one = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(_mm512_set1_ps(1.0f)),
                                                           _mm512_and_si512(sign, _mm512_castps_si512(q))));
    t = _mm512_mask_add_ps(t, up, t, one);
    /* past +-512 the result is clamped anyway (the reference's own cut);
     * this keeps the conversion defined. NaN lanes are replaced below. */
    t = _mm512_min_ps(_mm512_max_ps(t, _mm512_set1_ps(-512.0f)), _mm512_set1_ps(512.0f));
    __m512i v = _mm512_add_epi32(_mm512_cvttps_epi32(t), zp);
    v = _mm512_mask_mov_epi32(v, _mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q), zp);
    v = _mm512_min_epi32(_mm512_max_epi32(v, _mm512_set1_epi32(-128)), _mm512_set1_epi32(127));
    return _mm512_cvtepi32_epi8(v);
}

void quantize_f32_qs8_avx512(const float *in, int8_t *out, size_t n, qparams qp)
{
    const __m512 scale = _mm512_set1_ps(qp.scale);
    const __m512i zp = _mm512_set1_epi32(qp.zero_point);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm_storeu_si128((__m128i *)(void *)(out + i), quantize16(_mm512_loadu_ps(in + i), scale, zp));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        int8_t to[16];
        _mm_storeu_si128((__m128i *)(void *)to, quantize16(_mm512_maskz_loadu_ps(m, in + i), scale, zp));
        memcpy(out + i, to, n - i);
    }
}
#endif
