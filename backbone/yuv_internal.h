/*
 * BT.601 limited-range YUV -> RGB: the one formula and the one chroma rule,
 * written once here for the reference conversion (yuv.c) and the fused
 * pre-processing (preprocess.c), which differ only in where they round. Not
 * part of backbone's public interface.
 *
 * With c = Y - 16, d = U - 128, e = V - 128 (8-bit samples):
 *   R' = (19077 c            + 26149 e) / 16384
 *   G' = (19077 c -  6419 d  - 13320 e) / 16384
 *   B' = (19077 c + 33050 d           ) / 16384
 * The coefficients are 255/219, 1.402 * 255/224, 0.344136 * 255/224,
 * 0.714136 * 255/224 and 1.772 * 255/224 in 14-bit fixed point. Every
 * numerator is an integer below 2^24 in magnitude, so coefficient / 2^14 in
 * float32 and every product and sum below are exact, whichever way a
 * compiler orders or fuses the multiply-adds: every path sees the same
 * values. Then clamp to [0, 255]; 8-bit RGB rounds that half up.
 *
 * Chroma rule: one chroma sample covers the luma pixels of its block, 2x1 for
 * YUYV (4:2:2) and 2x2 for NV12 and I420 (4:2:0): pixel (x, y) takes the
 * chroma of (x / 2, y) resp. (x / 2, y / 2), no interpolation.
 */
#ifndef MNV2DET_BACKBONE_YUV_INTERNAL_H
#define MNV2DET_BACKBONE_YUV_INTERNAL_H

#include <stdint.h>

#include "common/common.h"

#define YUV_KY (19077.0f / 16384.0f)
#define YUV_KRV (26149.0f / 16384.0f)
#define YUV_KGU (6419.0f / 16384.0f)
#define YUV_KGV (13320.0f / 16384.0f)
#define YUV_KBU (33050.0f / 16384.0f)

static inline float yuv_clamp(float v)
{
    return v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
}

/* A clamped value rounded half up to 8 bits (v + 0.5 is exact, and
 * truncation is floor for v >= 0). */
static inline uint8_t yuv_round8(float v)
{
    return (uint8_t)(int)(v + 0.5f);
}

/* Pixels 2j and 2j + 1 (luma y0, y1) sharing the chroma u, v, into r[0..1],
 * g[0..1], b[0..1]. */
static inline void yuv_pair(float y0, float y1, float u, float v, float *r, float *g, float *b)
{
    float d = u - 128.0f, e = v - 128.0f;
    float cr = YUV_KRV * e, cg = -YUV_KGU * d - YUV_KGV * e, cb = YUV_KBU * d;
    float l0 = YUV_KY * (y0 - 16.0f), l1 = YUV_KY * (y1 - 16.0f);
    r[0] = yuv_clamp(l0 + cr), r[1] = yuv_clamp(l1 + cr);
    g[0] = yuv_clamp(l0 + cg), g[1] = yuv_clamp(l1 + cg);
    b[0] = yuv_clamp(l0 + cb), b[1] = yuv_clamp(l1 + cb);
}

static inline void yuv_one(float y0, float u, float v, float *r, float *g, float *b)
{
    float d = u - 128.0f, e = v - 128.0f, l0 = YUV_KY * (y0 - 16.0f);
    r[0] = yuv_clamp(l0 + YUV_KRV * e);
    g[0] = yuv_clamp(l0 + (-YUV_KGU * d - YUV_KGV * e));
    b[0] = yuv_clamp(l0 + YUV_KBU * d);
}

/* Pixels [lo, hi) of row y of a YUYV, NV12 or I420 image as clamped,
 * unrounded R, G, B planes: r[i] is pixel base + i with base = lo rounded
 * down to even (so pixel lo - 1 comes too when lo is odd). Reads no sample
 * of a pixel at or past hi. The loops go by chroma pairs so that each chroma
 * sample is read once. */
static inline void yuv_row(const mnv_image *im, int y, int lo, int hi, float *restrict r,
                           float *restrict g, float *restrict b)
{
    const int j0 = lo >> 1, n = (hi >> 1) - j0, odd = hi & 1;
    const uint8_t *restrict p0 = im->plane[0] + (size_t)y * im->stride[0];
    if (im->format == MNV_PIX_YUYV) {
        const uint8_t *restrict q = p0 + 4 * (size_t)j0;
        for (int j = 0; j < n; j++)
            yuv_pair(q[4 * j], q[4 * j + 2], q[4 * j + 1], q[4 * j + 3], r + 2 * j, g + 2 * j, b + 2 * j);
        if (odd)
            yuv_one(q[4 * n], q[4 * n + 1], q[4 * n + 3], r + 2 * n, g + 2 * n, b + 2 * n);
        return;
    }
    const uint8_t *restrict l = p0 + 2 * (size_t)j0;
    if (im->format == MNV_PIX_NV12) {
        const uint8_t *restrict c = im->plane[1] + (size_t)(y >> 1) * im->stride[1] + 2 * (size_t)j0;
        for (int j = 0; j < n; j++)
            yuv_pair(l[2 * j], l[2 * j + 1], c[2 * j], c[2 * j + 1], r + 2 * j, g + 2 * j, b + 2 * j);
        if (odd)
            yuv_one(l[2 * n], c[2 * n], c[2 * n + 1], r + 2 * n, g + 2 * n, b + 2 * n);
        return;
    }
    const uint8_t *restrict u = im->plane[1] + (size_t)(y >> 1) * im->stride[1] + j0;
    const uint8_t *restrict v = im->plane[2] + (size_t)(y >> 1) * im->stride[2] + j0;
    for (int j = 0; j < n; j++)
        yuv_pair(l[2 * j], l[2 * j + 1], u[j], v[j], r + 2 * j, g + 2 * j, b + 2 * j);
    if (odd)
        yuv_one(l[2 * n], u[n], v[n], r + 2 * n, g + 2 * n, b + 2 * n);
}

#endif
