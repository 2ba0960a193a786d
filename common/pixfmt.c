/* Names and plane layouts of the pixel formats frames travel in. */
#include <strings.h>

#include "common/common.h"

static const char *const names[MNV_PIX_COUNT] = {"rgb24", "yuyv", "nv12", "i420"};

const char *mnv_pixfmt_name(mnv_pixfmt f)
{
    return (unsigned)f < MNV_PIX_COUNT ? names[f] : "?";
}

int mnv_pixfmt_parse(const char *s)
{
    for (int i = 0; i < MNV_PIX_COUNT; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return -1;
}

int mnv_pixfmt_planes(mnv_pixfmt f)
{
    switch (f) {
    case MNV_PIX_NV12: return 2;
    case MNV_PIX_I420: return 3;
    default: return 1;
    }
}

size_t mnv_plane_size(mnv_pixfmt f, int w, int h, int p, size_t *stride)
{
    size_t cw = (size_t)(w + 1) / 2, ch = (size_t)(h + 1) / 2, s = 0, rows = (size_t)h;
    switch (f) {
    case MNV_PIX_RGB24: s = p == 0 ? (size_t)w * 3 : 0; break;
    case MNV_PIX_YUYV: s = p == 0 ? cw * 4 : 0; break;
    case MNV_PIX_NV12:
        s = p == 0 ? (size_t)w : p == 1 ? cw * 2 : 0;
        rows = p == 0 ? (size_t)h : ch;
        break;
    case MNV_PIX_I420:
        s = p == 0 ? (size_t)w : p <= 2 ? cw : 0;
        rows = p == 0 ? (size_t)h : ch;
        break;
    default: break;
    }
    if (stride)
        *stride = s;
    return s * rows;
}

size_t mnv_image_size(mnv_pixfmt f, int w, int h)
{
    size_t n = 0;
    for (int p = 0; p < mnv_pixfmt_planes(f); p++)
        n += mnv_plane_size(f, w, h, p, NULL);
    return n;
}

void mnv_image_pack(mnv_image *img, mnv_pixfmt f, int w, int h, const uint8_t *data)
{
    img->format = f;
    img->width = w;
    img->height = h;
    for (int p = 0; p < 3; p++) {
        size_t stride = 0, size = mnv_plane_size(f, w, h, p, &stride);
        img->plane[p] = size ? data : NULL;
        img->stride[p] = stride;
        data += size;
    }
}
