/* Pixel helpers for the display tests: read an RGB24 picture, compare
 * colours, and the BT.601 limited-range YUV -> RGB reference. */
#ifndef MNV2DET_TESTS_PICTURE_H
#define MNV2DET_TESTS_PICTURE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/common.h"

/* The colour at (x, y) of an RGB24 picture as 0xRRGGBB. */
static inline uint32_t pic_at(const mnv_image *img, int x, int y)
{
    const uint8_t *p = img->plane[0] + (size_t)y * img->stride[0] + (size_t)x * 3;
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Every channel of a and b within tol. */
static inline int rgb_near(uint32_t a, uint32_t b, int tol)
{
    for (int sh = 0; sh <= 16; sh += 8) {
        int d = (int)(a >> sh & 0xFF) - (int)(b >> sh & 0xFF);
        if (abs(d) > tol)
            return 0;
    }
    return 1;
}

/* BT.601, limited range (Y 16-235, Cb/Cr 16-240), as common.h defines YUV. */
static inline uint32_t bt601_rgb(int y, int u, int v)
{
    double c = 1.164383 * (y - 16), d = u - 128, e = v - 128;
    double rgb[3] = {c + 1.596027 * e, c - 0.391762 * d - 0.812968 * e, c + 2.017232 * d};
    uint32_t out = 0;
    for (int i = 0; i < 3; i++) {
        double x = rgb[i] < 0 ? 0 : rgb[i] > 255 ? 255 : rgb[i];
        out = out << 8 | (uint32_t)lround(x);
    }
    return out;
}

/* Count the pixels of a rectangle (clipped to the picture) for which
 * pred(colour, arg) holds. */
static inline int pic_count(const mnv_image *img, int x0, int y0, int x1, int y1,
                            int (*pred)(uint32_t, uint32_t), uint32_t arg)
{
    int n = 0;
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < img->height; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < img->width; x++)
            n += pred(pic_at(img, x, y), arg);
    return n;
}

static inline int is_color(uint32_t c, uint32_t want) { return c == want; }
static inline int is_not_color(uint32_t c, uint32_t want) { return c != want; }

#endif
