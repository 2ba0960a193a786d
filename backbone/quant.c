/*
 * Int8 quantization arithmetic: TFLite's fixed-point multipliers and their
 * rounding, activation ranges, QUANTIZE / DEQUANTIZE of float buffers and the
 * uint8 -> int8 conversion. Written from the semantics documented in
 * backbone.h (TFLite's reference integer ops as built by default), not from
 * TFLite's code: every shift of a negative value goes through floor_shift,
 * so nothing relies on implementation-defined right shifts.
 */
#include <math.h>

#include "backbone/backbone.h"

/* floor(v / 2^s) for 0 <= s <= 62: ~v is -v - 1 >= 0 for a negative v, and
 * ~floor((-v - 1) / 2^s) = floor(v / 2^s). */
static int64_t floor_shift(int64_t v, int s)
{
    return v >= 0 ? v >> s : ~(~v >> s);
}

int quant_multiplier_from_double(double real, qmultiplier *out)
{
    out->multiplier = 0;
    out->shift = 0;
    if (!isfinite(real) || real < 0.0)
        return MNV_EINVAL;
    if (real == 0.0)
        return 0;
    int e;
    const double f = frexp(real, &e); /* real = f * 2^e, f in [0.5, 1) */
    int64_t m = (int64_t)round(f * 2147483648.0); /* exact product; round: ties away */
    if (m == (INT64_C(1) << 31)) {
        m /= 2;
        e++;
    }
    if (e < -31) /* every product would shift out: TFLite flushes to 0 */
        return 0;
    if (e > 30)
        return MNV_EINVAL;
    out->multiplier = (int32_t)m;
    out->shift = e;
    return 0;
}

int32_t quant_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    /* |a * b| <= 2^62 - 2^31 here, so adding 2^30 cannot overflow, and the
     * quotient fits in int32 */
    return (int32_t)floor_shift((int64_t)a * b + (INT64_C(1) << 30), 31);
}

int32_t quant_rounding_shift(int32_t x, int exponent)
{
    if (exponent <= 0)
        return x;
    const int64_t half = INT64_C(1) << (exponent - 1);
    const int64_t v = x;
    /* on the magnitude, so that ties go away from zero on both sides */
    return (int32_t)(v >= 0 ? (v + half) >> exponent : -((-v + half) >> exponent));
}

int32_t quant_multiply(int32_t x, qmultiplier m)
{
    const int left = m.shift > 0 ? m.shift : 0;
    const int right = m.shift > 0 ? 0 : -m.shift;
    int64_t shifted = (int64_t)x * (INT64_C(1) << left);
    if (shifted > INT32_MAX)
        shifted = INT32_MAX;
    else if (shifted < INT32_MIN)
        shifted = INT32_MIN;
    return quant_rounding_shift(quant_srdhm((int32_t)shifted, m.multiplier), right);
}

/*
 * The 32-bit form. With P = x * 2^s * M (s the left shift, e the right
 * one, one of them 0), quant_multiply is floor((P + 2^30) / 2^31) for e =
 * 0 and, merging the two floors, floor((P + 2^30 + 2^(30+e) - [P < -2^30]
 * * 2^31) / 2^(31+e)) for e > 0 (kernels_q8_avx512.c derives this). With M
 * = mult * 2^j and J = j + s <= 30 every term divides by 2^J: add = 2^(30-J)
 * (+ 2^(30+e-J)), below = -2^(30-J) (P < -2^30 exactly where x * mult <
 * -2^(30-J)), corr = 2^(31-J), shift = 31 + e - J.
 */
int quant_narrow_form(qmultiplier m, qnarrow *out)
{
    const int s = m.shift > 0 ? m.shift : 0, e = m.shift < 0 ? -m.shift : 0;
    if (m.multiplier == 0) {
        *out = (qnarrow){0, 0, INT32_MIN, 0, 0};
        return 1;
    }
    if (m.multiplier < 0 || s > 30)
        return 0;
    int j = __builtin_ctz((unsigned)m.multiplier);
    if (j > 30 - s)
        j = 30 - s;
    const int J = j + s;
    if (e > J) /* shift past 31 and add past int32 */
        return 0;
    out->mult = m.multiplier >> j;
    out->add = (int32_t)((INT64_C(1) << (30 - J)) + (e > 0 ? INT64_C(1) << (30 + e - J) : 0));
    out->below = e > 0 ? -(int32_t)(INT64_C(1) << (30 - J)) : INT32_MIN;
    out->corr = e > 0 ? (int32_t)(INT64_C(1) << (31 - J)) : 0;
    out->shift = 31 + e - J;
    return 1;
}

int quant_narrow_exact(qmultiplier m, int64_t bound)
{
    qnarrow n;
    if (bound < 0 || bound > INT32_MAX || !quant_narrow_form(m, &n))
        return 0;
    const int s = m.shift > 0 ? m.shift : 0;
    if (s > 0 && bound > (int64_t)INT32_MAX >> s)
        return 0;
    const int64_t p = bound * n.mult;
    return p + n.add <= INT32_MAX && -p + n.add - n.corr >= INT32_MIN;
}

int32_t quant_narrow_apply(int32_t x, const qnarrow *n)
{
    const int64_t p = (int64_t)x * n->mult;
    return (int32_t)floor_shift(p + n->add - (p < n->below ? n->corr : 0), n->shift);
}

int8_t quant_requantize(int32_t acc, qmultiplier m, int32_t zero_point, int32_t lo, int32_t hi)
{
    int64_t v = (int64_t)quant_multiply(acc, m) + zero_point;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* TFLite quantizes the bound in float: zero_point + round(f / scale). */
static int32_t quantize_bound(float f, qparams out)
{
    float r = roundf(f / out.scale);
    if (r > 1e6f) /* only the comparison with 127 matters past here */
        r = 1e6f;
    return out.zero_point + (int32_t)r;
}

void quant_activation_range(act_kind act, qparams out, int32_t *lo, int32_t *hi)
{
    *lo = -128;
    *hi = 127;
    if (act == ACT_RELU || act == ACT_RELU6) {
        int32_t z = quantize_bound(0.0f, out);
        *lo = z > -128 ? z : -128;
    }
    if (act == ACT_RELU6) {
        int32_t six = quantize_bound(6.0f, out);
        *hi = six < 127 ? six : 127;
    }
}

void quant_quantize_f32(const float *in, int8_t *out, size_t n, qparams q)
{
    for (size_t i = 0; i < n; i++) {
        float r = roundf(in[i] / q.scale);
        int32_t v;
        if (isnan(r))
            v = q.zero_point;
        else if (r > 512.0f) /* clamped below either way; keeps the cast defined */
            v = 127;
        else if (r < -512.0f)
            v = -128;
        else
            v = (int32_t)r + q.zero_point;
        out[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
    }
}

void quant_dequantize_f32(const int8_t *in, float *out, size_t n, qparams q)
{
    /* a float times an integer of at most 9 bits: one float multiply rounds
     * the exact product once, as TFLite's double product cast to float does */
    for (size_t i = 0; i < n; i++)
        out[i] = q.scale * (float)((int32_t)in[i] - q.zero_point);
}

void quant_u8_to_s8(const uint8_t *in, int8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (int8_t)((int)in[i] - 128);
}

qparams quant_params_u8_to_s8(qparams q)
{
    q.zero_point -= 128;
    return q;
}

int quant_params_check(qparams q, const char *what, char *err, size_t errlen)
{
    if (!(q.scale > 0.0f) || !isfinite(q.scale))
        return mnv_error(err, errlen, MNV_EINVAL, "%s: quantization scale %g is not finite and above 0",
                         what, (double)q.scale);
    if (q.zero_point < -128 || q.zero_point > 127)
        return mnv_error(err, errlen, MNV_EINVAL, "%s: zero point %d is outside the int8 range [-128, 127]",
                         what, (int)q.zero_point);
    return 0;
}

double qconv_real_multiplier(float in_scale, float w_scale, float out_scale)
{
    return (double)in_scale * (double)w_scale / (double)out_scale;
}

int32_t quant_input_span(int32_t zero_point)
{
    return zero_point + 128 > 127 - zero_point ? zero_point + 128 : 127 - zero_point;
}

int qconv_params_init(qconv_params *p, qmultiplier *requant, const conv_desc *d, qparams in,
                      const float *w_scales, int n_w_scales, int32_t w_zero_point, qparams out,
                      char *err, size_t errlen)
{
    int rc;
    p->requant = requant;
    if ((rc = quant_params_check(in, "input", err, errlen)) != 0 ||
        (rc = quant_params_check(out, "output", err, errlen)) != 0)
        return rc;
    if (n_w_scales != 1 && n_w_scales != d->out_c)
        return mnv_error(err, errlen, MNV_EINVAL,
                         "weights: %d quantization scales for %d output channels (1 or %d expected)",
                         n_w_scales, d->out_c, d->out_c);
    if (w_zero_point < -128 || w_zero_point > 127)
        return mnv_error(err, errlen, MNV_EINVAL, "weights: zero point %d is outside [-128, 127]",
                         (int)w_zero_point);
    for (int c = 0; c < d->out_c; c++) {
        const float ws = w_scales[n_w_scales == 1 ? 0 : c];
        if (!(ws > 0.0f) || !isfinite(ws))
            return mnv_error(err, errlen, MNV_EINVAL,
                             "weights: quantization scale %g of channel %d is not finite and above 0",
                             (double)ws, c);
        const double real = qconv_real_multiplier(in.scale, ws, out.scale);
        if (quant_multiplier_from_double(real, &requant[c]) != 0)
            return mnv_error(err, errlen, MNV_EINVAL,
                             "channel %d: requantization multiplier %g (input scale x weight scale / "
                             "output scale) is out of range", c, real);
    }
    p->in_zero_point = in.zero_point;
    p->w_zero_point = w_zero_point;
    p->out_zero_point = out.zero_point;
    quant_activation_range(d->act, out, &p->act_min, &p->act_max);
    return 0;
}

/* Channel oc's bound on |bias + S| (see qconv_acc_fits) for inputs with
 * |in - in_zp| <= span, or INT32_MAX + 1 once it passes INT32_MAX. span
 * 255 holds for any zero point, and the kernels' folding of the zero point
 * terms into the bias relies on it (q8_set_c1); the true value of bias + S
 * (what the requantization sees) stays within span max(in_zp + 128, 127 -
 * in_zp). */
static int64_t qconv_acc_bound(const conv_desc *d, const qconv_params *q, const int8_t *w, const int32_t *bias,
                               int oc, int64_t span)
{
    const size_t taps = (size_t)d->k_h * d->k_w;
    int64_t bound = bias ? (bias[oc] < 0 ? -(int64_t)bias[oc] : bias[oc]) : 0;
    if (d->depthwise) {
        for (size_t t = 0; t < taps; t++) {
            int32_t v = (int32_t)w[t * d->out_c + oc] - q->w_zero_point;
            bound += (int64_t)(v < 0 ? -v : v) * span;
        }
    } else {
        const int8_t *wo = w + (size_t)oc * taps * d->in_c;
        for (size_t i = 0; i < taps * d->in_c && bound <= INT32_MAX; i++) {
            int32_t v = (int32_t)wo[i] - q->w_zero_point;
            bound += (int64_t)(v < 0 ? -v : v) * span;
        }
    }
    return bound > INT32_MAX ? (int64_t)INT32_MAX + 1 : bound;
}

int qconv_acc_fits(const conv_desc *d, const qconv_params *q, const int8_t *w, const int32_t *bias)
{
    for (int oc = 0; oc < d->out_c; oc++)
        if (qconv_acc_bound(d, q, w, bias, oc, 255) > INT32_MAX)
            return 0;
    return 1;
}

int qconv_left_shift_exact(const conv_desc *d, const qconv_params *q, const int8_t *w, const int32_t *bias)
{
    for (int oc = 0; oc < d->out_c; oc++) {
        const int s = q->requant[oc].shift;
        if (s <= 0)
            continue;
        if (s > 30 || qconv_acc_bound(d, q, w, bias, oc, 255) > (int64_t)INT32_MAX >> s)
            return 0;
    }
    return 1;
}

int qconv_narrow_exact(const conv_desc *d, const qconv_params *q, const int8_t *w, const int32_t *bias)
{
    if (!qconv_acc_fits(d, q, w, bias))
        return 0;
    const int64_t span = quant_input_span(q->in_zero_point);
    for (int oc = 0; oc < d->out_c; oc++)
        if (!quant_narrow_exact(q->requant[oc], qconv_acc_bound(d, q, w, bias, oc, span)))
            return 0;
    return 1;
}

int qadd_params_init(qadd_params *p, qparams a, qparams b, qparams out, act_kind act, char *err,
                     size_t errlen)
{
    int rc;
    if ((rc = quant_params_check(a, "first input", err, errlen)) != 0 ||
        (rc = quant_params_check(b, "second input", err, errlen)) != 0 ||
        (rc = quant_params_check(out, "output", err, errlen)) != 0)
        return rc;
    /* add.cc's Prepare for 8-bit types: both inputs to a common scale of
     * twice the larger input scale, 2^20 finer */
    p->left_shift = 20;
    const double twice_max = 2.0 * (a.scale > b.scale ? (double)a.scale : (double)b.scale);
    const double real_a = a.scale / twice_max, real_b = b.scale / twice_max;
    const double real_out = twice_max / ((double)(1 << p->left_shift) * out.scale);
    if (!(real_out < 1.0))
        return mnv_error(err, errlen, MNV_EINVAL,
                         "output scale %g is too small for inputs of scales %g and %g "
                         "(TFLite's ADD needs 2 * max input scale < 2^20 * output scale)",
                         (double)out.scale, (double)a.scale, (double)b.scale);
    if (quant_multiplier_from_double(real_a, &p->a_mult) != 0 ||
        quant_multiplier_from_double(real_b, &p->b_mult) != 0 ||
        quant_multiplier_from_double(real_out, &p->out_mult) != 0)
        return mnv_error(err, errlen, MNV_EINVAL, "ADD multipliers out of range");
    p->a_zero_point = a.zero_point;
    p->b_zero_point = b.zero_point;
    p->out_zero_point = out.zero_point;
    quant_activation_range(act, out, &p->act_min, &p->act_max);
    return 0;
}
