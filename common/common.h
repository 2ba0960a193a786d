/*
 * common: what every folder shares and that depends on nothing: the error
 * vocabulary and a view of pixels in the formats cameras deliver.
 *
 * Errors: every fallible function in this project returns 0 on success or a
 * negative mnv_status and writes one human-readable line (no newline) into
 * the caller's err buffer. Only app/ prints or exits.
 */
#ifndef MNV2DET_COMMON_H
#define MNV2DET_COMMON_H

#include <stddef.h>
#include <stdint.h>

typedef enum mnv_status {
    MNV_OK = 0,
    MNV_EIO = -1,          /* cannot open / read / map a file */
    MNV_EFORMAT = -2,      /* malformed or truncated input */
    MNV_EUNSUPPORTED = -3, /* well-formed but outside what we implement */
    MNV_ENOMEM = -4,
    MNV_EINVAL = -5,       /* bad argument from the caller */
    MNV_ENODEV = -6,       /* device missing, or gone while in use */
    MNV_EBUSY = -7,        /* device in use by another program */
    MNV_ETIMEOUT = -8,     /* no frame within the timeout (stalled device) */
    MNV_EINTR = -9,        /* interrupted on request (shutdown) */
    MNV_ECHANGED = -10,    /* the device changed its format mid-stream: open it again */
} mnv_status;

/* The most memory that one model (activation arena, packed weights and band
 * buffers), one still picture (decoded pixels) or one video frame (as
 * stored and as handed out) may need by the sizes its file declares, unless
 * the caller passes another cap: what a declared size over it would need is
 * refused before anything is allocated for it. The program takes another
 * cap from MNV2DET_MAX_MEMORY_MB (app/). */
#define MNV_DEFAULT_MAX_MEMORY ((size_t)1 << 30)

/* Bytes as whole MiB, rounded up, for messages about the cap. */
static inline size_t mnv_mib(size_t bytes)
{
    return bytes / ((size_t)1 << 20) + (bytes % ((size_t)1 << 20) != 0);
}

/* A source's next-frame call returns this (positive) at the end of a stream. */
#define MNV_END 1

/* printf into err (if non-NULL) and return code; a small convenience used by
 * every folder so that error paths stay one line long. A message too long
 * for err loses its middle ("..."), never its end, where the reason is. */
int mnv_error(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Pixel formats that flow from capture to pre-processing and display
 * unconverted. YUV is 8-bit BT.601 limited range (16-235 luma), what
 * webcams and Y4M files carry unless they say otherwise. */
typedef enum mnv_pixfmt {
    MNV_PIX_RGB24 = 0,        /* 1 plane: R, G, B bytes */
    MNV_PIX_YUYV,             /* 1 plane: Y0 U Y1 V, 4:2:2 packed */
    MNV_PIX_NV12,             /* 2 planes: Y, then interleaved U V at half size */
    MNV_PIX_I420,             /* 3 planes: Y, U, V; U and V at half width and height */
    MNV_PIX_COUNT
} mnv_pixfmt;

/* A view of one picture: format, size, plane pointers and strides (bytes).
 * Owns nothing. Chroma planes of 4:2:0 formats have (h + 1) / 2 rows and
 * (w + 1) / 2 samples (NV12: pairs) per row; YUYV rows hold (w + 1) / 2 pairs. */
typedef struct mnv_image {
    mnv_pixfmt format;
    int width, height;
    const uint8_t *plane[3];
    size_t stride[3];
} mnv_image;

/* Lower-case name of a format ("rgb24", "yuyv", "nv12", "i420"), or "?". */
const char *mnv_pixfmt_name(mnv_pixfmt f);
/* The format named s (case-insensitive), or -1. */
int mnv_pixfmt_parse(const char *s);
/* Planes of a format (1 to 3). */
int mnv_pixfmt_planes(mnv_pixfmt f);
/* Bytes of plane p of a tightly packed w x h picture of format f, and its
 * stride; 0 when p is not a plane of f. */
size_t mnv_plane_size(mnv_pixfmt f, int w, int h, int p, size_t *stride);
/* Fill img with f, w, h and planes laid out tightly one after another from
 * data, which must hold mnv_image_size(f, w, h) bytes. */
void mnv_image_pack(mnv_image *img, mnv_pixfmt f, int w, int h, const uint8_t *data);
size_t mnv_image_size(mnv_pixfmt f, int w, int h);

/* Write the RGB24 picture rgb into the pixels of out, an image of the same
 * size in any format, whose planes the caller allocated as writable memory
 * (out's fields are only read; bytes between a row's end and its stride are
 * left alone). YUV is BT.601 limited range, the inverse of backbone's
 * mnv_image_to_rgb24:
 *   Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255
 *   U = 128 + (-37.797 R - 74.203 G + 112 B) / 255
 *   V = 128 + (112 R - 93.786 G - 18.214 B) / 255
 * exact, rounded half up. A chroma sample is the mean U and V of the pixels
 * it covers: 2x2 for NV12 and I420, 2x1 for YUYV, fewer at an odd size's
 * last column or row; an odd width's last YUYV pair repeats its Y. RGB24 is
 * copied. MNV_EINVAL (nothing written) when rgb is not RGB24, the sizes
 * differ or are < 1, a plane is missing or a stride is shorter than a row. */
int mnv_image_from_rgb24(const mnv_image *rgb, mnv_image *out);

#endif
