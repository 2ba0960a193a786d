/*
 * Reference int8 kernels: the plain loops every optimized int8 variant must
 * match exactly, following TFLite's reference integer operators as
 * documented in backbone.h. Accumulators are 64-bit and saturate to int32
 * before requantization, which equals TFLite wherever its int32 sum does not
 * overflow (qconv_acc_fits). OpenMP over output rows changes no result.
 */
#include <math.h>
#include <string.h>

#include "backbone/backbone.h"

static int32_t saturate32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

static int8_t clamp8(int64_t v)
{
    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

void conv2d_qs8_nhwc_ref(const conv_desc *d, const qconv_params *q, const int8_t *in,
                         const int8_t *w, const int32_t *bias, int8_t *out)
{
    const int32_t izp = q->in_zero_point, wzp = q->w_zero_point;
    #pragma omp parallel for schedule(static)
    for (int oy = 0; oy < d->out_h; oy++) {
        for (int ox = 0; ox < d->out_w; ox++) {
            int8_t *o = out + ((size_t)oy * d->out_w + ox) * d->out_c;
            for (int oc = 0; oc < d->out_c; oc++) {
                int64_t acc = bias ? bias[oc] : 0;
                const int8_t *wo = w + (size_t)oc * d->k_h * d->k_w * d->in_c;
                for (int ky = 0; ky < d->k_h; ky++) {
                    int iy = oy * d->stride_h - d->pad_top + ky * d->dil_h;
                    if (iy < 0 || iy >= d->in_h)
                        continue;
                    for (int kx = 0; kx < d->k_w; kx++) {
                        int ix = ox * d->stride_w - d->pad_left + kx * d->dil_w;
                        if (ix < 0 || ix >= d->in_w)
                            continue;
                        const int8_t *ip = in + ((size_t)iy * d->in_w + ix) * d->in_c;
                        const int8_t *wp = wo + ((size_t)ky * d->k_w + kx) * d->in_c;
                        for (int ic = 0; ic < d->in_c; ic++)
                            acc += (int32_t)(wp[ic] - wzp) * (int32_t)(ip[ic] - izp);
                    }
                }
                o[oc] = quant_requantize(saturate32(acc), q->requant[oc], q->out_zero_point,
                                         q->act_min, q->act_max);
            }
        }
    }
}

void dwconv2d_qs8_nhwc_ref(const conv_desc *d, const qconv_params *q, const int8_t *in,
                           const int8_t *w, const int32_t *bias, int8_t *out)
{
    const int32_t izp = q->in_zero_point, wzp = q->w_zero_point;
    const int dm = d->depth_multiplier > 0 ? d->depth_multiplier : 1;
    #pragma omp parallel for schedule(static)
    for (int oy = 0; oy < d->out_h; oy++) {
        for (int ox = 0; ox < d->out_w; ox++) {
            int8_t *o = out + ((size_t)oy * d->out_w + ox) * d->out_c;
            for (int oc = 0; oc < d->out_c; oc++) {
                const int ic = oc / dm;
                int64_t acc = bias ? bias[oc] : 0;
                for (int ky = 0; ky < d->k_h; ky++) {
                    int iy = oy * d->stride_h - d->pad_top + ky * d->dil_h;
                    if (iy < 0 || iy >= d->in_h)
                        continue;
                    for (int kx = 0; kx < d->k_w; kx++) {
                        int ix = ox * d->stride_w - d->pad_left + kx * d->dil_w;
                        if (ix < 0 || ix >= d->in_w)
                            continue;
                        int32_t x = in[((size_t)iy * d->in_w + ix) * d->in_c + ic];
                        int32_t wv = w[((size_t)ky * d->k_w + kx) * d->out_c + oc];
                        acc += (wv - wzp) * (x - izp);
                    }
                }
                o[oc] = quant_requantize(saturate32(acc), q->requant[oc], q->out_zero_point,
                                         q->act_min, q->act_max);
            }
        }
    }
}

void add_qs8_ref(const qadd_params *p, const int8_t *a, const int8_t *b, int8_t *out, size_t n)
{
    const int32_t scale_up = 1 << p->left_shift;
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        /* |q - zp| <= 255, so the shifted values stay below 2^28 */
        const int32_t sa = quant_multiply(((int32_t)a[i] - p->a_zero_point) * scale_up, p->a_mult);
        const int32_t sb = quant_multiply(((int32_t)b[i] - p->b_zero_point) * scale_up, p->b_mult);
        int64_t v = (int64_t)quant_multiply(sa + sb, p->out_mult) + p->out_zero_point;
        v = v < p->act_min ? p->act_min : v;
        v = v > p->act_max ? p->act_max : v;
        out[i] = (int8_t)v;
    }
}

void requantize_qs8_ref(const int8_t *in, int8_t *out, size_t n, int32_t in_zero_point,
                        qmultiplier m, int32_t out_zero_point)
{
    for (size_t i = 0; i < n; i++)
        out[i] = quant_requantize((int32_t)in[i] - in_zero_point, m, out_zero_point, -128, 127);
}

/* round(v) + zero_point clamped to int8, for a float v of any size */
static int8_t round_to_q8(float v, int32_t zero_point)
{
    const float r = roundf(v);
    if (isnan(r))
        return clamp8(zero_point);
    if (r > 512.0f)
        return 127;
    if (r < -512.0f)
        return -128;
    return clamp8((int64_t)r + zero_point);
}

void concat_qs8_ref(int n_parts, const int8_t *const *parts, const qparams *part_q,
                    const size_t *part_inner, size_t outer, qparams out_q, int8_t *out)
{
    size_t out_inner = 0;
    for (int k = 0; k < n_parts; k++)
        out_inner += part_inner[k];
    size_t pos = 0;
    for (int k = 0; k < n_parts; k++) {
        const size_t inner = part_inner[k];
        const int same = part_q[k].scale == out_q.scale && part_q[k].zero_point == out_q.zero_point;
        const float scale = part_q[k].scale * (1.0f / out_q.scale);
        const int32_t zp = part_q[k].zero_point;
        for (size_t o = 0; o < outer; o++) {
            const int8_t *src = parts[k] + o * inner;
            int8_t *dst = out + o * out_inner + pos;
            if (same) {
                memcpy(dst, src, inner);
                continue;
            }
            for (size_t j = 0; j < inner; j++)
                dst[j] = round_to_q8((float)((int32_t)src[j] - zp) * scale, out_q.zero_point);
        }
        pos += inner;
    }
}

void logistic_qs8_table(qparams in, qparams out, int8_t table[256])
{
    const float inverse = 1.0f / out.scale;
    for (int q = -128; q <= 127; q++) {
        const float x = in.scale * (float)(q - in.zero_point);
        const float y = 1.0f / (1.0f + expf(-x));
        table[q + 128] = round_to_q8(y * inverse, out.zero_point);
    }
}

void lut_qs8_ref(const int8_t table[256], const int8_t *in, int8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = table[(int)in[i] + 128];
}
