/* What users of the camera API need with or without camera support in the
 * build: V4L2 pixel format codes by name (the command line parses --format
 * either way), which of them frames carry as they are, and freeing a
 * listing. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <linux/videodev2.h>

#include "capture/capture.h"

static const struct {
    const char *name;
    uint32_t fourcc;
} fourcc_names[] = {
    { "yuyv", V4L2_PIX_FMT_YUYV },   { "yuy2", V4L2_PIX_FMT_YUYV },
    { "uyvy", V4L2_PIX_FMT_UYVY },   { "nv12", V4L2_PIX_FMT_NV12 },
    { "nv21", V4L2_PIX_FMT_NV21 },   { "yu12", V4L2_PIX_FMT_YUV420 },
    { "i420", V4L2_PIX_FMT_YUV420 }, { "yuv420", V4L2_PIX_FMT_YUV420 },
    { "yv12", V4L2_PIX_FMT_YVU420 }, { "rgb24", V4L2_PIX_FMT_RGB24 },
    { "rgb3", V4L2_PIX_FMT_RGB24 },  { "bgr24", V4L2_PIX_FMT_BGR24 },
    { "bgr3", V4L2_PIX_FMT_BGR24 },  { "mjpeg", V4L2_PIX_FMT_MJPEG },
    { "mjpg", V4L2_PIX_FMT_MJPEG },  { "jpeg", V4L2_PIX_FMT_JPEG },
    { "grey", V4L2_PIX_FMT_GREY },   { "gray", V4L2_PIX_FMT_GREY },
    { "h264", V4L2_PIX_FMT_H264 },
};

int camera_fourcc_parse(const char *name, uint32_t *fourcc)
{
    if (!name || !*name)
        return -1;
    for (size_t i = 0; i < sizeof fourcc_names / sizeof fourcc_names[0]; i++) {
        if (strcasecmp(name, fourcc_names[i].name) == 0) {
            *fourcc = fourcc_names[i].fourcc;
            return 0;
        }
    }
    size_t len = strlen(name);
    if (len > 4)
        return -1;
    /* A raw code as V4L2 spells it ("BA81", "Y10 "): case matters, short
     * codes are padded with spaces. */
    char c[4] = { ' ', ' ', ' ', ' ' };
    for (size_t i = 0; i < len; i++) {
        if (!isprint((unsigned char)name[i]))
            return -1;
        c[i] = name[i];
    }
    *fourcc = v4l2_fourcc(c[0], c[1], c[2], c[3]);
    return 0;
}

const char *camera_fourcc_str(uint32_t fourcc, char buf[8])
{
    /* Bit 31 marks the big-endian twin of a format ("Y16 " and "Y16-BE"). */
    int big_endian = (fourcc & (1u << 31)) != 0;
    fourcc &= ~(1u << 31);
    int len = 4;
    for (int i = 0; i < 4; i++) {
        unsigned char ch = (unsigned char)(fourcc >> (8 * i));
        buf[i] = isprint(ch) ? (char)ch : '.';
    }
    while (len > 1 && buf[len - 1] == ' ')
        len--;
    if (big_endian)
        memcpy(buf + len, "-BE", 3), len += 3;
    buf[len] = '\0';
    return buf;
}

int camera_fourcc_pixfmt(uint32_t fourcc)
{
    switch (fourcc) {
    case V4L2_PIX_FMT_RGB24: return MNV_PIX_RGB24;
    case V4L2_PIX_FMT_YUYV: return MNV_PIX_YUYV;
    case V4L2_PIX_FMT_NV12: return MNV_PIX_NV12;
    case V4L2_PIX_FMT_YUV420: return MNV_PIX_I420;
    default: return -1;
    }
}

void camera_list_free(camera_device *d, int n)
{
    if (!d)
        return;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d[i].n_formats; j++)
            free(d[i].formats[j].sizes);
        free(d[i].formats);
    }
    free(d);
}
