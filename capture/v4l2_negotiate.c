/* Negotiation with a V4L2 capture node: pixel format, frame size and frame
 * rate, each the nearest to what was asked that the driver offers. Frames
 * travel in the camera's own format when it is one pre-processing reads
 * (YUYV, NV12, I420, RGB24); only otherwise does libv4lconvert turn what the
 * camera offers (MJPEG, Bayer, ...) into RGB24. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libv4lconvert.h>

#include "capture/v4l2_internal.h"

#define MAX_OFFERED 128

typedef struct offered {
    uint32_t fourcc;
    int emulated;
} offered;

/* The native formats first when several could do: the order in which they
 * are preferred at the same frame size (the cheapest to move first). */
static const uint32_t preferred[] = {
    V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_RGB24,
};

static int list_offered(int fd, offered *list, int max)
{
    int n = 0;
    for (uint32_t i = 0; n < max; i++) {
        struct v4l2_fmtdesc d;
        memset(&d, 0, sizeof d);
        d.index = i;
        d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (cam_ioctl(fd, VIDIOC_ENUM_FMT, &d) != 0)
            break;
        list[n].fourcc = d.pixelformat;
        list[n].emulated = (d.flags & V4L2_FMT_FLAG_EMULATED) != 0;
        n++;
    }
    return n;
}

static int is_native(const offered *list, int n, uint32_t fourcc)
{
    for (int i = 0; i < n; i++)
        if (list[i].fourcc == fourcc && !list[i].emulated)
            return 1;
    return 0;
}

/* "YUYV, MJPG" for messages: the camera's own formats. */
static void describe_offered(const offered *list, int n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used + 8 < len; i++) {
        if (list[i].emulated)
            continue;
        char cc[8];
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                                 camera_fourcc_str(list[i].fourcc, cc));
    }
    if (!buf[0])
        snprintf(buf, len, "nothing");
}

static long size_cost(long w, long h, long want_w, long want_h)
{
    return labs(w - want_w) + labs(h - want_h);
}

static int snap(long v, long lo, long hi, long step)
{
    if (step <= 0)
        step = 1;
    if (v < lo)
        v = lo;
    if (v > hi)
        v = hi;
    v = lo + ((v - lo + step / 2) / step) * step;
    if (v > hi)
        v -= step;
    return (int)v;
}

/* The size of fourcc nearest want_w x want_h among those the driver lists;
 * the wanted size itself when it lists none (S_FMT then adjusts it). The
 * distance goes to *cost. */
static void nearest_size(int fd, uint32_t fourcc, int want_w, int want_h, int *w, int *h, long *cost)
{
    *w = want_w;
    *h = want_h;
    *cost = 0;
    long best = LONG_MAX;
    for (uint32_t i = 0;; i++) {
        struct v4l2_frmsizeenum s;
        memset(&s, 0, sizeof s);
        s.index = i;
        s.pixel_format = fourcc;
        if (cam_ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &s) != 0)
            break;
        if (s.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
            long c = size_cost(s.discrete.width, s.discrete.height, want_w, want_h);
            /* On a tie the larger size: detail can be thrown away, not made. */
            if (c < best || (c == best && (long long)s.discrete.width * s.discrete.height > (long long)*w * *h)) {
                best = c;
                *w = (int)s.discrete.width;
                *h = (int)s.discrete.height;
            }
        } else {
            *w = snap(want_w, s.stepwise.min_width, s.stepwise.max_width, s.stepwise.step_width);
            *h = snap(want_h, s.stepwise.min_height, s.stepwise.max_height, s.stepwise.step_height);
            best = size_cost(*w, *h, want_w, want_h);
            break;
        }
    }
    if (best != LONG_MAX)
        *cost = best;
}

/* The frame interval nearest fps the driver lists for this format and size,
 * or 1/fps when it lists none. */
static struct v4l2_fract nearest_interval(int fd, uint32_t fourcc, int w, int h, int fps)
{
    struct v4l2_fract best = { 1, (uint32_t)fps };
    double best_diff = -1;
    for (uint32_t i = 0;; i++) {
        struct v4l2_frmivalenum iv;
        memset(&iv, 0, sizeof iv);
        iv.index = i;
        iv.pixel_format = fourcc;
        iv.width = (uint32_t)w;
        iv.height = (uint32_t)h;
        if (cam_ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv) != 0)
            break;
        if (iv.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
            if (!iv.discrete.numerator || !iv.discrete.denominator)
                continue;
            double rate = (double)iv.discrete.denominator / iv.discrete.numerator;
            double diff = rate > fps ? rate - fps : fps - rate;
            /* On a tie the faster rate: frames can be dropped, not made. */
            if (best_diff < 0 || diff < best_diff - 1e-9 ||
                (diff < best_diff + 1e-9 && rate > (double)best.denominator / best.numerator)) {
                best_diff = diff;
                best = iv.discrete;
            }
        } else {
            /* A range: the rate clamped into it, in thousandths of a second
             * per frame; the driver rounds to its step. */
            const struct v4l2_fract *lo = &iv.stepwise.min, *hi = &iv.stepwise.max;
            double fastest = lo->numerator ? (double)lo->denominator / lo->numerator : fps;
            double slowest = hi->numerator ? (double)hi->denominator / hi->numerator : fps;
            double rate = fps;
            if (rate > fastest)
                rate = fastest;
            if (rate < slowest)
                rate = slowest;
            best.numerator = 1000;
            best.denominator = (uint32_t)(rate * 1000.0 + 0.5);
            break;
        }
    }
    return best;
}

static int set_rate(int fd, const char *path, uint32_t fourcc, int w, int h, int fps,
                    struct v4l2_fract *interval, char *err, size_t errlen)
{
    struct v4l2_streamparm parm;
    memset(&parm, 0, sizeof parm);
    parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    int can_set = cam_ioctl(fd, VIDIOC_G_PARM, &parm) == 0 &&
                  (parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME);
    if (fps > 0 && can_set) {
        parm.parm.capture.timeperframe = nearest_interval(fd, fourcc, w, h, fps);
        if (cam_ioctl(fd, VIDIOC_S_PARM, &parm) != 0 && errno == EBUSY)
            return mnv_error(err, errlen, MNV_EBUSY, "%s: %s", path, cam_errno_reason(EBUSY));
        /* Another refusal leaves the driver's rate, which chosen reports. */
    }
    memset(&parm, 0, sizeof parm);
    parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    interval->numerator = interval->denominator = 0;
    if (cam_ioctl(fd, VIDIOC_G_PARM, &parm) == 0 &&
        parm.parm.capture.timeperframe.numerator && parm.parm.capture.timeperframe.denominator)
        *interval = parm.parm.capture.timeperframe;
    return 0;
}

size_t cam_plane_layout(const struct v4l2_pix_format *fmt, mnv_pixfmt f,
                        size_t offset[3], size_t stride[3])
{
    size_t w = fmt->width, h = fmt->height, bpl = fmt->bytesperline;
    size_t cw = (w + 1) / 2, ch = (h + 1) / 2;
    memset(offset, 0, 3 * sizeof *offset);
    memset(stride, 0, 3 * sizeof *stride);
    if (!w || !h)
        return 0;
    switch (f) {
    case MNV_PIX_RGB24:
        if (!bpl)
            bpl = 3 * w;
        if (bpl < 3 * w)
            return 0;
        stride[0] = bpl;
        return bpl * h;
    case MNV_PIX_YUYV:
        if (!bpl)
            bpl = 4 * cw;
        if (bpl < 4 * cw)
            return 0;
        stride[0] = bpl;
        return bpl * h;
    case MNV_PIX_NV12:
        if (!bpl)
            bpl = 2 * cw;
        if (bpl < w || bpl < 2 * cw)
            return 0;
        stride[0] = stride[1] = bpl;
        offset[1] = bpl * h;
        return bpl * (h + ch);
    case MNV_PIX_I420:
        /* V4L2's YU12: the chroma planes have half the luma's bytesperline. */
        if (!bpl)
            bpl = 2 * cw;
        if (bpl < w || bpl / 2 < cw)
            return 0;
        stride[0] = bpl;
        stride[1] = stride[2] = bpl / 2;
        offset[1] = bpl * h;
        offset[2] = offset[1] + (bpl / 2) * ch;
        return offset[2] + (bpl / 2) * ch;
    default:
        return 0;
    }
}

/* Set fourcc at w x h; what the driver made of it goes to out. */
static int set_format(int fd, const char *path, uint32_t fourcc, int w, int h,
                      struct v4l2_format *out, char *err, size_t errlen)
{
    char cc[8], got[8];
    memset(out, 0, sizeof *out);
    out->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    out->fmt.pix.width = (uint32_t)w;
    out->fmt.pix.height = (uint32_t)h;
    out->fmt.pix.pixelformat = fourcc;
    out->fmt.pix.field = V4L2_FIELD_NONE;
    if (cam_ioctl(fd, VIDIOC_S_FMT, out) != 0) {
        int e = errno;
        if (e == EBUSY || e == ENODEV)
            return mnv_error(err, errlen, cam_errno_status(e), "%s: %s", path, cam_errno_reason(e));
        return mnv_error(err, errlen, cam_errno_status(e), "%s: cannot set format %s %dx%d: %s",
                         path, camera_fourcc_str(fourcc, cc), w, h, cam_errno_reason(e));
    }
    if (out->fmt.pix.pixelformat != fourcc)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: the driver would not capture %s (it gave %s)",
                         path, camera_fourcc_str(fourcc, cc), camera_fourcc_str(out->fmt.pix.pixelformat, got));
    return 0;
}

int cam_negotiate(int fd, struct v4lconvert_data *cv, const char *path,
                  const camera_options *o, cam_negotiated *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int want_w = o->width > 0 ? o->width : 640;
    int want_h = o->height > 0 ? o->height : 480;
    offered list[MAX_OFFERED];
    int n = list_offered(fd, list, MAX_OFFERED);
    char offers[256], cc[8];
    describe_offered(list, n, offers, sizeof offers);

    /* What to capture, and whether it needs converting. */
    uint32_t capture = 0;
    int convert = 0;
    uint32_t wanted = o->fourcc;
    if (!wanted && o->format >= 0) {
        static const uint32_t by_pixfmt[MNV_PIX_COUNT] = {
            [MNV_PIX_RGB24] = V4L2_PIX_FMT_RGB24, [MNV_PIX_YUYV] = V4L2_PIX_FMT_YUYV,
            [MNV_PIX_NV12] = V4L2_PIX_FMT_NV12, [MNV_PIX_I420] = V4L2_PIX_FMT_YUV420,
        };
        wanted = by_pixfmt[o->format];
    }
    if (wanted) {
        if (is_native(list, n, wanted)) {
            capture = wanted;
            convert = camera_fourcc_pixfmt(wanted) < 0;
        } else if (wanted == V4L2_PIX_FMT_RGB24) {
            convert = 1;      /* from whatever libv4lconvert picks */
        } else {
            return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                             "%s: the camera does not offer %s (it offers %s; --format rgb24 converts)",
                             path, camera_fourcc_str(wanted, cc), offers);
        }
    } else {
        long best_cost = LONG_MAX;
        for (size_t i = 0; i < sizeof preferred / sizeof preferred[0]; i++) {
            if (!is_native(list, n, preferred[i]))
                continue;
            int w, h;
            long cost;
            nearest_size(fd, preferred[i], want_w, want_h, &w, &h, &cost);
            if (cost < best_cost) {
                best_cost = cost;
                capture = preferred[i];
            }
        }
        convert = capture == 0;
    }
    if (convert && !capture) {
        /* libv4lconvert knows which of the camera's formats it converts
         * best into RGB24 at this size. */
        struct v4l2_format want, src;
        memset(&want, 0, sizeof want);
        memset(&src, 0, sizeof src);
        want.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        want.fmt.pix.width = (uint32_t)want_w;
        want.fmt.pix.height = (uint32_t)want_h;
        want.fmt.pix.pixelformat = V4L2_PIX_FMT_RGB24;
        want.fmt.pix.field = V4L2_FIELD_NONE;
        if (!cv || v4lconvert_try_format(cv, &want, &src) != 0 || !src.fmt.pix.pixelformat ||
            !is_native(list, n, src.fmt.pix.pixelformat))
            return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                             "%s: no usable format (it offers %s; none of them YUYV, NV12, YU12, "
                             "RGB24 or a format libv4lconvert converts)", path, offers);
        capture = src.fmt.pix.pixelformat;
    }

    int w, h;
    long cost;
    nearest_size(fd, capture, want_w, want_h, &w, &h, &cost);
    int rc = set_format(fd, path, capture, w, h, &out->fmt, err, errlen);
    if (rc)
        return rc;
    struct v4l2_pix_format *pix = &out->fmt.fmt.pix;
    if (!convert) {
        size_t offset[3], stride[3];
        out->pixfmt = camera_fourcc_pixfmt(capture);
        size_t need = cam_plane_layout(pix, (mnv_pixfmt)out->pixfmt, offset, stride);
        if (!need || (pix->sizeimage && pix->sizeimage < need))
            return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                             "%s: the driver's %s %ux%u layout is not understood "
                             "(%u bytes per line, %u bytes per image)", path,
                             camera_fourcc_str(capture, cc), pix->width, pix->height,
                             pix->bytesperline, pix->sizeimage);
    } else {
        out->convert = 1;
        out->pixfmt = MNV_PIX_RGB24;
        out->dest = out->fmt;
        out->dest.fmt.pix.pixelformat = V4L2_PIX_FMT_RGB24;
        out->dest.fmt.pix.bytesperline = 3 * pix->width;
        out->dest.fmt.pix.sizeimage = 3 * pix->width * pix->height;
    }
    return set_rate(fd, path, capture, (int)pix->width, (int)pix->height, o->fps,
                    &out->interval, err, errlen);
}
