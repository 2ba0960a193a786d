/*
 * BT.601 limited-range YUV -> RGB, the one formula and the one chroma rule
 * that the reference conversion (yuv.c) and the fused pre-processing
 * (preprocess.c) share. Not part of backbone's public interface.
 *
 * With c = Y - 16, d = U - 128, e = V - 128 (8-bit samples):
 *   R' = (19077 c            + 26149 e) / 16384
 *   G' = (19077 c -  6419 d  - 13320 e) / 16384
 *   B' = (19077 c + 33050 d           ) / 16384
 * The coefficients are 255/219, 1.402 * 255/224, 0.344136 * 255/224,
 * 0.714136 * 255/224 and 1.772 * 255/224 in 14-bit fixed point. Every
 * numerator is an integer below 2^24 in magnitude, so R', G', B' are exact in
 * float32 whichever way a compiler orders or fuses the multiply-adds: the
 * fused path and the reference see the same values. 8-bit RGB is
 * clamp(R', 0, 255) rounded half up (what yuv_to_rgb8 computes in integers).
 *
 * Chroma rule: one chroma sample covers the luma pixels of its block, 2x1 for
 * YUYV (4:2:2) and 2x2 for NV12 and I420 (4:2:0): pixel (x, y) takes the
 * chroma of (x / 2, y) resp. (x / 2, y / 2), no interpolation.
 */
#ifndef MNV2DET_BACKBONE_YUV_INTERNAL_H
#define MNV2DET_BACKBONE_YUV_INTERNAL_H

#include <stdint.h>

#include "common/common.h"

enum { YUV_KY = 19077, YUV_KRV = 26149, YUV_KGU = 6419, YUV_KGV = 13320, YUV_KBU = 33050 };

#define YUV_FRAC 16384.0f /* 2^14: the coefficients' scale, a power of two so that dividing is exact */

static inline uint8_t yuv_round8(int32_t num)
{
    if (num < 0)
        num = 0;
    if (num > 255 << 14)
        num = 255 << 14;
    return (uint8_t)((num + (1 << 13)) >> 14);
}

static inline void yuv_to_rgb8(int y, int u, int v, uint8_t rgb[3])
{
    int32_t c = y - 16, d = u - 128, e = v - 128;
    rgb[0] = yuv_round8(YUV_KY * c + YUV_KRV * e);
    rgb[1] = yuv_round8(YUV_KY * c - YUV_KGU * d - YUV_KGV * e);
    rgb[2] = yuv_round8(YUV_KY * c + YUV_KBU * d);
}

/* The Y, U, V of pixel (x, y) of a YUYV, NV12 or I420 image, by the chroma
 * rule above. */
static inline void yuv_sample(const mnv_image *im, int x, int y, int *Y, int *U, int *V)
{
    const uint8_t *q;
    switch (im->format) {
    case MNV_PIX_YUYV:
        q = im->plane[0] + (size_t)y * im->stride[0] + (size_t)(x >> 1) * 4;
        *Y = q[(x & 1) * 2], *U = q[1], *V = q[3];
        break;
    case MNV_PIX_NV12:
        *Y = im->plane[0][(size_t)y * im->stride[0] + x];
        q = im->plane[1] + (size_t)(y >> 1) * im->stride[1] + (size_t)(x >> 1) * 2;
        *U = q[0], *V = q[1];
        break;
    default: /* MNV_PIX_I420 */
        *Y = im->plane[0][(size_t)y * im->stride[0] + x];
        *U = im->plane[1][(size_t)(y >> 1) * im->stride[1] + (x >> 1)];
        *V = im->plane[2][(size_t)(y >> 1) * im->stride[2] + (x >> 1)];
        break;
    }
}

#endif
