/*
 * Reference kernels: the plain loops every optimized variant is tested
 * against. Kept obvious on purpose; the only concession to speed is OpenMP
 * over output rows, which does not change any result (each output element is
 * summed in the same order whatever the thread count).
 */
#include <math.h>

#include "backbone/backbone.h"

static inline float activate(float v, act_kind act)
{
    if (act == ACT_RELU)
        return v > 0.0f ? v : 0.0f;
    if (act == ACT_RELU6)
        return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    return v;
}

void conv2d_f32_nhwc_ref(const conv_desc *d, const float *in, const float *w,
                         const float *bias, const float *residual, float *out)
{
    #pragma omp parallel for schedule(static)
    for (int oy = 0; oy < d->out_h; oy++) {
        for (int ox = 0; ox < d->out_w; ox++) {
            float *o = out + ((size_t)oy * d->out_w + ox) * d->out_c;
            for (int oc = 0; oc < d->out_c; oc++) {
                float acc = bias ? bias[oc] : 0.0f;
                const float *wo = w + (size_t)oc * d->k_h * d->k_w * d->in_c;
                for (int ky = 0; ky < d->k_h; ky++) {
                    int iy = oy * d->stride_h - d->pad_top + ky * d->dil_h;
                    if (iy < 0 || iy >= d->in_h)
                        continue;
                    for (int kx = 0; kx < d->k_w; kx++) {
                        int ix = ox * d->stride_w - d->pad_left + kx * d->dil_w;
                        if (ix < 0 || ix >= d->in_w)
                            continue;
                        const float *ip = in + ((size_t)iy * d->in_w + ix) * d->in_c;
                        const float *wp = wo + ((size_t)ky * d->k_w + kx) * d->in_c;
                        for (int ic = 0; ic < d->in_c; ic++)
                            acc += ip[ic] * wp[ic];
                    }
                }
                float v = activate(acc, d->act);
                if (residual)
                    v += residual[((size_t)oy * d->out_w + ox) * d->out_c + oc];
                o[oc] = v;
            }
        }
    }
}

void dwconv2d_f32_nhwc_ref(const conv_desc *d, const float *in, const float *w,
                           const float *bias, float *out)
{
    int dm = d->depth_multiplier > 0 ? d->depth_multiplier : 1;
    #pragma omp parallel for schedule(static)
    for (int oy = 0; oy < d->out_h; oy++) {
        for (int ox = 0; ox < d->out_w; ox++) {
            float *o = out + ((size_t)oy * d->out_w + ox) * d->out_c;
            for (int oc = 0; oc < d->out_c; oc++) {
                int ic = oc / dm;
                float acc = bias ? bias[oc] : 0.0f;
                for (int ky = 0; ky < d->k_h; ky++) {
                    int iy = oy * d->stride_h - d->pad_top + ky * d->dil_h;
                    if (iy < 0 || iy >= d->in_h)
                        continue;
                    for (int kx = 0; kx < d->k_w; kx++) {
                        int ix = ox * d->stride_w - d->pad_left + kx * d->dil_w;
                        if (ix < 0 || ix >= d->in_w)
                            continue;
                        acc += in[((size_t)iy * d->in_w + ix) * d->in_c + ic] *
                               w[((size_t)ky * d->k_w + kx) * d->out_c + oc];
                    }
                }
                o[oc] = activate(acc, d->act);
            }
        }
    }
}

void add_f32_ref(const float *a, const float *b, float *out, size_t n, act_kind act)
{
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        out[i] = activate(a[i] + b[i], act);
}
