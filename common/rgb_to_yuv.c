/*
 * RGB24 -> any frame format, BT.601 limited range (common.h), in integers:
 * the formula's coefficients are multiples of 1/255000, so each sample is a
 * sum of integer products divided by 255000 (times the pixels averaged),
 * which is the exact value rounded half up. Every sum stays below 2^28.
 */
#include <string.h>

#include "common/common.h"

/* Y, U and V times 255000 without their offsets. */
#define Y_OF(p) (65481 * (p)[0] + 128553 * (p)[1] + 24966 * (p)[2])
#define U_OF(p) (-37797 * (p)[0] - 74203 * (p)[1] + 112000 * (p)[2])
#define V_OF(p) (112000 * (p)[0] - 93786 * (p)[1] - 18214 * (p)[2])

/* 16 + y / 255000, rounded half up (y >= 0, so division is floor). */
static inline uint8_t luma8(int y)
{
    return (uint8_t)((y + 16 * 255000 + 127500) / 255000);
}

/* 128 + sum / (255000 n), rounded half up: the mean of n samples' chroma.
 * The numerator is positive: |sum| <= n * 255 * 112000 < n * 128 * 255000. */
static inline uint8_t chroma8(int sum, int n)
{
    return (uint8_t)((sum + n * (128 * 255000 + 127500)) / (n * 255000));
}

/* Luma of row `row` (w pixels). */
static void luma_row(const uint8_t *row, int w, uint8_t *out)
{
    for (int x = 0; x < w; x++)
        out[x] = luma8(Y_OF(row + 3 * x));
}

/* The chroma of 4:2:0 block j from rows r0 and r1 (r1 NULL: the last row of
 * an odd height), columns 2j and 2j + 1 (when < w). */
static void block_420(const uint8_t *r0, const uint8_t *r1, int j, int w, uint8_t *u, uint8_t *v)
{
    const uint8_t *a = r0 + 6 * j;
    int two = 2 * j + 1 < w;
    if (two && r1) {
        const uint8_t *c = r1 + 6 * j;
        *u = chroma8(U_OF(a) + U_OF(a + 3) + U_OF(c) + U_OF(c + 3), 4);
        *v = chroma8(V_OF(a) + V_OF(a + 3) + V_OF(c) + V_OF(c + 3), 4);
    } else if (two) {
        *u = chroma8(U_OF(a) + U_OF(a + 3), 2);
        *v = chroma8(V_OF(a) + V_OF(a + 3), 2);
    } else if (r1) {
        const uint8_t *c = r1 + 6 * j;
        *u = chroma8(U_OF(a) + U_OF(c), 2);
        *v = chroma8(V_OF(a) + V_OF(c), 2);
    } else {
        *u = chroma8(U_OF(a), 1);
        *v = chroma8(V_OF(a), 1);
    }
}

static void to_yuyv(const mnv_image *rgb, const mnv_image *out)
{
    const int w = rgb->width, pairs = w / 2;
    for (int y = 0; y < rgb->height; y++) {
        const uint8_t *s = rgb->plane[0] + (size_t)y * rgb->stride[0];
        uint8_t *o = (uint8_t *)out->plane[0] + (size_t)y * out->stride[0];
        for (int j = 0; j < pairs; j++, s += 6, o += 4) {
            o[0] = luma8(Y_OF(s));
            o[1] = chroma8(U_OF(s) + U_OF(s + 3), 2);
            o[2] = luma8(Y_OF(s + 3));
            o[3] = chroma8(V_OF(s) + V_OF(s + 3), 2);
        }
        if (w & 1) {
            o[0] = o[2] = luma8(Y_OF(s));
            o[1] = chroma8(U_OF(s), 1);
            o[3] = chroma8(V_OF(s), 1);
        }
    }
}

/* NV12 (U and V interleaved: step 2) and I420 (their own planes: step 1). */
static void to_420(const mnv_image *rgb, const mnv_image *out)
{
    const int w = rgb->width, h = rgb->height, cw = (w + 1) / 2;
    const int nv12 = out->format == MNV_PIX_NV12;
    for (int y = 0; y < h; y++)
        luma_row(rgb->plane[0] + (size_t)y * rgb->stride[0], w,
                 (uint8_t *)out->plane[0] + (size_t)y * out->stride[0]);
    for (int cy = 0; cy < (h + 1) / 2; cy++) {
        const uint8_t *r0 = rgb->plane[0] + (size_t)(2 * cy) * rgb->stride[0];
        const uint8_t *r1 = 2 * cy + 1 < h ? r0 + rgb->stride[0] : NULL;
        uint8_t *u = (uint8_t *)out->plane[1] + (size_t)cy * out->stride[1];
        uint8_t *v = nv12 ? u + 1 : (uint8_t *)out->plane[2] + (size_t)cy * out->stride[2];
        const int step = nv12 ? 2 : 1;
        for (int j = 0; j < cw; j++)
            block_420(r0, r1, j, w, u + step * j, v + step * j);
    }
}

int mnv_image_from_rgb24(const mnv_image *rgb, mnv_image *out)
{
    if (!rgb || !out || rgb->format != MNV_PIX_RGB24 || (unsigned)out->format >= MNV_PIX_COUNT ||
        rgb->width < 1 || rgb->height < 1 || rgb->width != out->width || rgb->height != out->height ||
        !rgb->plane[0] || rgb->stride[0] < (size_t)rgb->width * 3)
        return MNV_EINVAL;
    for (int p = 0; p < mnv_pixfmt_planes(out->format); p++) {
        size_t row = 0;
        mnv_plane_size(out->format, out->width, out->height, p, &row);
        if (!out->plane[p] || out->stride[p] < row)
            return MNV_EINVAL;
    }
    switch (out->format) {
    case MNV_PIX_RGB24:
        for (int y = 0; y < rgb->height; y++)
            memmove((uint8_t *)out->plane[0] + (size_t)y * out->stride[0], rgb->plane[0] + (size_t)y * rgb->stride[0],
                    (size_t)rgb->width * 3);
        break;
    case MNV_PIX_YUYV: to_yuyv(rgb, out); break;
    default: to_420(rgb, out); break;
    }
    return 0;
}
