/*
 * Any frame format to 8-bit RGB24 by the formula of yuv_internal.h: the
 * reference that the fused convert-and-resize of preprocess.c is tested and
 * timed against.
 */
#include "backbone/backbone.h"
#include "backbone/yuv_internal.h"

#define CHUNK 256 /* pixels converted at a time (even, so chunks start on a chroma pair) */

int mnv_image_to_rgb24(const mnv_image *img, uint8_t *rgb, size_t stride)
{
    if (!img || !rgb || (unsigned)img->format >= MNV_PIX_COUNT || img->width < 1 || img->height < 1 ||
        stride < (size_t)img->width * 3)
        return MNV_EINVAL;
    for (int p = 0; p < mnv_pixfmt_planes(img->format); p++) {
        size_t need = 0;
        mnv_plane_size(img->format, img->width, img->height, p, &need);
        if (!img->plane[p] || img->stride[p] < need)
            return MNV_EINVAL;
    }
    const int w = img->width, h = img->height;
    /* Parallel like the resize it is compared with in mnv2det bench. */
    #pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++) {
        uint8_t *dst = rgb + (size_t)y * stride;
        if (img->format == MNV_PIX_RGB24) {
            const uint8_t *src = img->plane[0] + (size_t)y * img->stride[0];
            for (int i = 0; i < w * 3; i++)
                dst[i] = src[i];
            continue;
        }
        for (int x0 = 0; x0 < w; x0 += CHUNK) {
            int n = w - x0 < CHUNK ? w - x0 : CHUNK;
            float r[CHUNK], g[CHUNK], b[CHUNK];
            yuv_row(img, y, x0, x0 + n, r, g, b);
            for (int i = 0; i < n; i++) {
                dst[3 * (x0 + i)] = yuv_round8(r[i]);
                dst[3 * (x0 + i) + 1] = yuv_round8(g[i]);
                dst[3 * (x0 + i) + 2] = yuv_round8(b[i]);
            }
        }
    }
    return 0;
}
