/*
 * Recordings of annotated frames (display.h): the checks every recording
 * makes, the frame rate as a rational, and our own YUV4MPEG2 writer; other
 * containers go to record_ffmpeg.c.
 *
 * The Y4M stream is what capture/y4m.c reads back:
 *
 *   YUV4MPEG2 W640 H480 F30000:1001 Ip A1:1 C420jpeg XCOLORRANGE=LIMITED\n
 *   FRAME\n <Y plane> <U plane> <V plane>   FRAME\n ...
 *
 * with each frame I420 from mnv_image_from_rgb24 (BT.601 limited range,
 * chroma the mean of each 2x2 block, which is C420jpeg's siting: between the
 * four pixels); odd sizes have ceil(w/2) x ceil(h/2) chroma planes, as
 * FFmpeg writes them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "display/display_internal.h"

#define RECORD_MAX_SIDE 16384

struct recorder {
    char *path;
    int width, height;
    unsigned long long frames;  /* written so far: the number of the next one */
    record_ffmpeg *ffmpeg;      /* FFmpeg writes this recording; NULL: our Y4M writer */
    FILE *fp;                   /* Y4M */
    uint8_t *i420;              /* Y4M: one frame's planes, made at open */
    size_t i420_bytes;
    mnv_image yuv;              /* Y4M: views i420 */
    int failed;                 /* a write failed: the file is damaged, later writes are refused */
    char failure[512];          /* the first failure's message, repeated by close */
};

static long long gcd(long long a, long long b)
{
    while (b) {
        long long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int record_rate(double fps, int *num, int *den)
{
    if (!(fps >= RECORD_MIN_FPS && fps <= RECORD_MAX_FPS))
        return -1;
    /* Within half a thousandth: what a rate given with three decimals means. */
    const double close = 0.0005;
    double whole = nearbyint(fps), ntsc = nearbyint(fps * 1.001);
    if (whole >= 1 && fabs(fps - whole) <= close) {
        *num = (int)whole;
        *den = 1;
    } else if (ntsc >= 1 && fabs(fps - ntsc * 1000.0 / 1001.0) <= close) {
        *num = (int)ntsc * 1000;
        *den = 1001;
    } else {
        long long n = llrint(fps * 1000.0), g = gcd(n, 1000);
        *num = (int)(n / g);
        *den = (int)(1000 / g);
    }
    return 0;
}

/* ".y4m", any case, at the end of the path's last component. */
static int is_y4m(const char *path)
{
    const char *base = strrchr(path, '/'), *dot = strrchr(base ? base : path, '.');
    return dot && strcasecmp(dot, ".y4m") == 0;
}

static int y4m_open(recorder *r, int num, int den, char *err, size_t errlen)
{
    r->i420_bytes = mnv_image_size(MNV_PIX_I420, r->width, r->height);
    r->i420 = malloc(r->i420_bytes);
    if (!r->i420)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory for %dx%d frames", r->path, r->width,
                         r->height);
    mnv_image_pack(&r->yuv, MNV_PIX_I420, r->width, r->height, r->i420);
    r->fp = fopen(r->path, "wb");
    if (!r->fp)
        return mnv_error(err, errlen, MNV_EIO, "%s: cannot create: %s", r->path, strerror(errno));
    /* Buffered: a disk that is full shows at the first frame or at close. */
    fprintf(r->fp, "YUV4MPEG2 W%d H%d F%d:%d Ip A1:1 C420jpeg XCOLORRANGE=LIMITED\n", r->width, r->height, num,
            den);
    return 0;
}

static int y4m_write(recorder *r, const mnv_image *rgb, char *err, size_t errlen)
{
    mnv_image_from_rgb24(rgb, &r->yuv); /* cannot fail: recorder_write checked rgb */
    errno = 0;
    if (fwrite("FRAME\n", 1, 6, r->fp) != 6 || fwrite(r->i420, 1, r->i420_bytes, r->fp) != r->i420_bytes)
        return mnv_error(err, errlen, MNV_EIO, "%s: frame %llu: cannot write: %s", r->path, r->frames,
                         errno ? strerror(errno) : "write error");
    return 0;
}

/* Flush and close: 0 or MNV_EIO. */
static int y4m_close(recorder *r, char *err, size_t errlen)
{
    errno = 0;
    int bad = fflush(r->fp) != 0 || ferror(r->fp);
    int saved = errno;
    if (fclose(r->fp) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    r->fp = NULL;
    if (bad)
        return mnv_error(err, errlen, MNV_EIO, "%s: cannot write: %s", r->path,
                         saved ? strerror(saved) : "write error");
    return 0;
}

static void recorder_free(recorder *r)
{
    if (r->fp)
        fclose(r->fp);
    free(r->i420);
    free(r->path);
    free(r);
}

int recorder_open(recorder **out, const char *path, int width, int height, double fps, char *err,
                  size_t errlen)
{
    if (!out)
        return mnv_error(err, errlen, MNV_EINVAL, "recorder: no place for the recorder");
    *out = NULL;
    if (!path || !path[0])
        return mnv_error(err, errlen, MNV_EINVAL, "recorder: no file name");
    if (width < 1 || width > RECORD_MAX_SIDE || height < 1 || height > RECORD_MAX_SIDE)
        return mnv_error(err, errlen, MNV_EINVAL, "%s: cannot record %dx%d frames (1 to %d pixels a side)", path,
                         width, height, RECORD_MAX_SIDE);
    int num, den;
    if (record_rate(fps, &num, &den) != 0)
        return mnv_error(err, errlen, MNV_EINVAL, "%s: frame rate %g is not within %g to %g", path, fps,
                         RECORD_MIN_FPS, RECORD_MAX_FPS);
    int y4m = is_y4m(path);
#ifndef MNV_HAVE_FFMPEG
    if (!y4m)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                         "%s: this build records only .y4m files (it has no FFmpeg for other containers: install "
                         "libavformat-dev libavcodec-dev libswscale-dev and reconfigure with meson -Dffmpeg=enabled)",
                         path);
#endif
    recorder *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", path);
    }
    r->width = width;
    r->height = height;
    int rc;
#ifdef MNV_HAVE_FFMPEG
    if (!y4m)
        rc = record_ffmpeg_open(&r->ffmpeg, path, width, height, num, den, err, errlen);
    else
#endif
        rc = y4m_open(r, num, den, err, errlen);
    if (rc != 0) {
        recorder_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int recorder_write(recorder *r, const mnv_image *rgb, char *err, size_t errlen)
{
    if (!r)
        return mnv_error(err, errlen, MNV_EINVAL, "recorder: no recorder");
    if (r->failed)
        return mnv_error(err, errlen, MNV_EIO, "%s: frame %llu not written: an earlier write failed (%s)", r->path,
                         r->frames, r->failure);
    if (!rgb)
        return mnv_error(err, errlen, MNV_EINVAL, "%s: frame %llu: no image", r->path, r->frames);
    if (rgb->format != MNV_PIX_RGB24 || rgb->width != r->width || rgb->height != r->height)
        return mnv_error(err, errlen, MNV_EINVAL, "%s: frame %llu: a %s %dx%d image, the recording takes rgb24 %dx%d",
                         r->path, r->frames, mnv_pixfmt_name(rgb->format), rgb->width, rgb->height, r->width,
                         r->height);
    if (!rgb->plane[0] || rgb->stride[0] < (size_t)r->width * 3)
        return mnv_error(err, errlen, MNV_EINVAL, "%s: frame %llu: the image has no pixels or a stride below %d",
                         r->path, r->frames, r->width * 3);
    int rc;
#ifdef MNV_HAVE_FFMPEG
    if (r->ffmpeg)
        rc = record_ffmpeg_write(r->ffmpeg, rgb, r->failure, sizeof r->failure);
    else
#endif
        rc = y4m_write(r, rgb, r->failure, sizeof r->failure);
    if (rc != 0) {
        r->failed = 1;
        return mnv_error(err, errlen, rc, "%s", r->failure);
    }
    r->frames++;
    return 0;
}

int recorder_close(recorder *r, char *err, size_t errlen)
{
    if (!r)
        return 0;
    int rc;
#ifdef MNV_HAVE_FFMPEG
    if (r->ffmpeg)
        rc = record_ffmpeg_close(r->ffmpeg, err, errlen);
    else
#endif
        rc = y4m_close(r, err, errlen);
    if (r->failed)
        rc = mnv_error(err, errlen, MNV_EIO, "%s", r->failure);
    recorder_free(r);
    return rc;
}
