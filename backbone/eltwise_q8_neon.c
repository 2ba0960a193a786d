/*
 * Elementwise int8 layers on Arm Advanced SIMD, AArch64 and ARMv7 from one
 * source: ADD and QUANTIZE float -> int8 (see eltwise_q8.h for what they
 * must equal), 16 values per step.
 *
 * ADD: NEON has quant_multiply's pieces as instructions. SQRDMULH is
 * quant_srdhm exactly (floor((2 x m + 2^31) / 2^32), saturating the one
 * overflowing case as the reference does); SQSHL the saturating left shift;
 * SRSHL by -r rounds half up without overflow (it works in wider precision),
 * so subtracting one from negative values first (saturating: INT32_MIN
 * still gives the reference's quotient) makes the ties go away from zero.
 *
 * QUANTIZE: AArch64 divides in IEEE single precision (FDIV, with FPCR's
 * default: no flush to zero, as the reference) and FCVTAS rounds ties away
 * from zero, saturating, NaN to 0, which + zero point is the reference's
 * NaN result; the saturating narrows clamp. ARMv7 NEON has no division and
 * flushes subnormals, so there each quotient comes from a VFP division (the
 * reference's own instruction); NEON then rounds: truncation, the exact
 * fraction q - trunc(q) compared with 0.5. A subnormal quotient read as 0
 * by NEON rounds to 0 either way.
 *
 * On ARMv7 meson compiles this file alone with -mfpu=neon (as
 * kernels_q8_neon.c); cpu.c runs it only where HWCAP lists NEON.
 */
#if defined(MNV_NEON_VARIANTS)
#if !defined(__ARM_NEON)
#error "eltwise_q8_neon.c needs NEON (on ARMv7: -mfpu=neon)"
#endif
#include <arm_neon.h>
#include <string.h>

#include "backbone/eltwise_q8.h"

#define INL static inline __attribute__((always_inline))

typedef struct vmul {
    int32x4_t mult, left, neg_right;
} vmul;

static vmul vmul_make(qmultiplier m)
{
    vmul v;
    v.mult = vdupq_n_s32(m.multiplier);
    v.left = vdupq_n_s32(m.shift > 0 ? m.shift : 0);
    v.neg_right = vdupq_n_s32(m.shift > 0 ? 0 : m.shift);
    return v;
}

/* quant_multiply(x, m) on 4 lanes */
INL int32x4_t qmul4(int32x4_t x, const vmul *m)
{
    const int32x4_t v = vqrdmulhq_s32(vqshlq_s32(x, m->left), m->mult);
    /* -1 for v < 0 when shifting right (neg_right has its sign bit set) */
    const int32x4_t fixup = vshrq_n_s32(vandq_s32(v, m->neg_right), 31);
    return vrshlq_s32(vqaddq_s32(v, fixup), m->neg_right);
}

typedef struct add_consts {
    int16x8_t a_zp, b_zp;
    int32x4_t left_shift, lo, hi, out_zp;
    vmul a, b, out;
} add_consts;

/* 4 sums from a and b minus their zero points (int16, in [-255, 255]) */
INL int16x4_t add4(int16x4_t da, int16x4_t db, const add_consts *c)
{
    const int32x4_t x = vshlq_s32(vmovl_s16(da), c->left_shift);
    const int32x4_t y = vshlq_s32(vmovl_s16(db), c->left_shift);
    int32x4_t s = qmul4(vaddq_s32(qmul4(x, &c->a), qmul4(y, &c->b)), &c->out);
    /* clamp(s + zp, act_min, act_max) as clamp(s, act_min - zp, act_max - zp) + zp */
    s = vminq_s32(vmaxq_s32(s, c->lo), c->hi);
    return vmovn_s32(vaddq_s32(s, c->out_zp));
}

INL int8x8_t add8(int8x8_t a, int8x8_t b, const add_consts *c)
{
    const int16x8_t da = vsubq_s16(vmovl_s8(a), c->a_zp), db = vsubq_s16(vmovl_s8(b), c->b_zp);
    const int16x4_t lo = add4(vget_low_s16(da), vget_low_s16(db), c);
    const int16x4_t hi = add4(vget_high_s16(da), vget_high_s16(db), c);
    return vmovn_s16(vcombine_s16(lo, hi));
}

static void add16(const int8_t *a, const int8_t *b, int8_t *out, const add_consts *c)
{
    const int8x16_t va = vld1q_s8(a), vb = vld1q_s8(b);
    const int8x8_t lo = add8(vget_low_s8(va), vget_low_s8(vb), c);
    const int8x8_t hi = add8(vget_high_s8(va), vget_high_s8(vb), c);
    vst1q_s8(out, vcombine_s8(lo, hi));
}

void add_qs8_neon(const qadd_params *p, const int8_t *a, const int8_t *b, int8_t *out, size_t n)
{
    add_consts c;
    c.a_zp = vdupq_n_s16((int16_t)p->a_zero_point);
    c.b_zp = vdupq_n_s16((int16_t)p->b_zero_point);
    c.out_zp = vdupq_n_s32(p->out_zero_point);
    c.lo = vdupq_n_s32(p->act_min - p->out_zero_point);
    c.hi = vdupq_n_s32(p->act_max - p->out_zero_point);
    c.left_shift = vdupq_n_s32(p->left_shift);
    c.a = vmul_make(p->a_mult);
    c.b = vmul_make(p->b_mult);
    c.out = vmul_make(p->out_mult);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        add16(a + i, b + i, out + i, &c);
    if (i < n) { /* the last 1..15 through a copy */
        int8_t ta[16] = {0}, tb[16] = {0}, to[16];
        memcpy(ta, a + i, n - i);
        memcpy(tb, b + i, n - i);
        add16(ta, tb, to, &c);
        memcpy(out + i, to, n - i);
    }
}

/* 4 quotients x / scale as int32, rounded half away from zero; NaN gives
 * 0, values past the clamp stay past it */
INL int32x4_t round4(const float *in, float scale)
{
#if defined(__aarch64__)
    return vcvtaq_s32_f32(vdivq_f32(vld1q_f32(in), vdupq_n_f32(scale)));
#else
    float qs[4];
    for (int k = 0; k < 4; k++)
        qs[k] = in[k] / scale;
    /* within +-1024 (NEON's min/max give NaN for NaN, which converts to 0)
     * the conversion and the fraction are exact */
    const float32x4_t q = vminq_f32(vmaxq_f32(vld1q_f32(qs), vdupq_n_f32(-1024.0f)), vdupq_n_f32(1024.0f));
    const int32x4_t t = vcvtq_s32_f32(q); /* towards zero */
    const float32x4_t frac = vsubq_f32(q, vcvtq_f32_s32(t));
    const uint32x4_t up = vcageq_f32(frac, vdupq_n_f32(0.5f)); /* |frac| >= 0.5 */
    /* +1 or -1 by q's sign: (q < 0) is all ones (-1), else 1 */
    const int32x4_t away = vorrq_s32(vreinterpretq_s32_u32(vcltq_f32(q, vdupq_n_f32(0.0f))), vdupq_n_s32(1));
    return vaddq_s32(t, vandq_s32(vreinterpretq_s32_u32(up), away));
#endif
}

static void quantize16(const float *in, int8_t *out, float scale, int32x4_t zp)
{
    int16x4_t h[4];
    for (int k = 0; k < 4; k++)
        h[k] = vqmovn_s32(vqaddq_s32(round4(in + 4 * k, scale), zp));
    const int8x8_t lo = vqmovn_s16(vcombine_s16(h[0], h[1])), hi = vqmovn_s16(vcombine_s16(h[2], h[3]));
    vst1q_s8(out, vcombine_s8(lo, hi));
}

void quantize_f32_qs8_neon(const float *in, int8_t *out, size_t n, qparams qp)
{
    const int32x4_t zp = vdupq_n_s32(qp.zero_point);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        quantize16(in + i, out + i, qp.scale, zp);
    if (i < n) {
        float tin[16] = {0};
        int8_t to[16];
        memcpy(tin, in + i, (n - i) * sizeof(float));
        quantize16(tin, to, qp.scale, zp);
        memcpy(out + i, to, n - i);
    }
}
#endif
