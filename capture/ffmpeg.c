/*
 * Any video FFmpeg's libavformat and libavcodec decode, as a frame source.
 * Frames in YUV420P, NV12 or YUYV422 (limited range, positive strides) are
 * handed out as the decoder made them: the slot keeps a reference to the
 * decoder's AVFrame until release, so nothing is copied. Anything else is
 * converted by libswscale into I420 in the slot's own buffer.
 *
 * FFmpeg logs through one process-wide callback; ours (common/ffmpeg_log.h)
 * keeps each source's last error line for its own messages and prints
 * nothing.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "capture/source_internal.h"
#include "common/ffmpeg_log.h"

#define FFMPEG_IO_BUFFER 65536

typedef struct ffmpeg_source {
    frame_source base;
    frame_pool pool;
    AVFrame *held[SOURCE_MAX_OUTSTANDING]; /* the decoder's frame a slot hands out (pass-through) */
    AVFormatContext *demuxer;
    AVCodecContext *decoder;
    AVIOContext *memory_io;                /* reading from memory (standard input) */
    const uint8_t *memory;
    size_t memory_len, memory_pos;
    AVPacket *packet;
    AVFrame *decoded;
    struct SwsContext *sws;
    int stream_index;
    size_t max_frame_bytes;                /* a frame as decoded plus as converted */
    AVRational time_base;
    int64_t first_ts;                      /* subtracted so that pts starts at 0 */
    double last_pts;
    uint64_t seq;
    int draining;                          /* the demuxer ended; the decoder gives out what it holds */
    int ended;
    atomic_int interrupted;
    ffmpeg_log_sink log;                   /* FFmpeg's last error line about this source */
    char *name;
} ffmpeg_source;

/* FFmpeg's reason for code, with the last line it logged about s. */
static const char *reason(ffmpeg_source *s, int code, char *buf, size_t len)
{
    return ffmpeg_log_reason(&s->log, code, buf, len);
}

/* What a w x h frame may take at once: the decoder's picture (at most 4
 * bytes a pixel for the formats a camera-like video uses; more exotic ones
 * are bounded by the decoder's max_pixels) and our I420 copy. 0 when w or h
 * is not positive; SIZE_MAX when it does not fit a size_t. */
static size_t frame_need(int w, int h)
{
    size_t pixels;
    if (w <= 0 || h <= 0)
        return 0;
    if (__builtin_mul_overflow((size_t)w, (size_t)h, &pixels) || pixels > SIZE_MAX / 6)
        return SIZE_MAX;
    return pixels * 4 + mnv_image_size(MNV_PIX_I420, w, h);
}

static int over_limit(const ffmpeg_source *s, const char *when, int w, int h, char *err, size_t errlen)
{
    return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: %sa %dx%d frame needs %zu MiB, more than the memory "
                     "limit of %zu MiB", s->name, when, w, h, mnv_mib(frame_need(w, h)), mnv_mib(s->max_frame_bytes));
}

static int memory_read(void *opaque, uint8_t *buf, int size)
{
    ffmpeg_source *s = opaque;
    size_t left = s->memory_len - s->memory_pos;
    if (left == 0)
        return AVERROR_EOF;
    size_t n = size < 0 ? 0 : (size_t)size < left ? (size_t)size : left;
    memcpy(buf, s->memory + s->memory_pos, n);
    s->memory_pos += n;
    return (int)n;
}

static int64_t memory_seek(void *opaque, int64_t offset, int whence)
{
    ffmpeg_source *s = opaque;
    if (whence & AVSEEK_SIZE)
        return (int64_t)s->memory_len;
    whence &= ~AVSEEK_FORCE;
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)s->memory_pos
                 : whence == SEEK_END ? (int64_t)s->memory_len : -1;
    if (base < 0 || offset < -base || offset > (int64_t)s->memory_len - base)
        return AVERROR(EINVAL);
    s->memory_pos = (size_t)(base + offset);
    return (int64_t)s->memory_pos;
}

/* The next decoded frame of our stream into s->decoded: 0, MNV_END, or an error. */
static int decode_next(ffmpeg_source *s, char *err, size_t errlen)
{
    char why[384];
    unsigned long long number = (unsigned long long)s->seq;
    for (;;) {
        int rc = avcodec_receive_frame(s->decoder, s->decoded);
        if (rc == 0)
            return 0;
        if (rc == AVERROR_EOF)
            return MNV_END;
        if (rc != AVERROR(EAGAIN))
            return mnv_error(err, errlen, MNV_EFORMAT, "%s: frame %llu: cannot decode (%s)", s->name, number,
                             reason(s, rc, why, sizeof why));
        if (s->draining) /* cannot happen: a drained decoder answers EOF */
            return MNV_END;
        rc = av_read_frame(s->demuxer, s->packet);
        if (rc == AVERROR_EOF) {
            s->draining = 1;
            rc = avcodec_send_packet(s->decoder, NULL);
        } else if (rc < 0) {
            return mnv_error(err, errlen, MNV_EIO, "%s: frame %llu: cannot read (%s)", s->name, number,
                             reason(s, rc, why, sizeof why));
        } else if (s->packet->stream_index != s->stream_index) {
            av_packet_unref(s->packet);
            continue;
        } else {
            rc = avcodec_send_packet(s->decoder, s->packet);
            av_packet_unref(s->packet);
        }
        if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_EOF)
            return mnv_error(err, errlen, MNV_EFORMAT, "%s: frame %llu: cannot decode (%s)", s->name, number,
                             reason(s, rc, why, sizeof why));
    }
}

/* The format a decoded frame goes out in untouched, or -1 when it needs
 * converting: other pixel formats, full-range YUV (ours is limited range),
 * bottom-up pictures (negative strides). */
static int pass_through_format(const AVFrame *d)
{
    int fmt = d->format == AV_PIX_FMT_YUV420P ? MNV_PIX_I420
            : d->format == AV_PIX_FMT_NV12    ? MNV_PIX_NV12
            : d->format == AV_PIX_FMT_YUYV422 ? MNV_PIX_YUYV : -1;
    if (fmt < 0 || d->color_range == AVCOL_RANGE_JPEG)
        return -1;
    for (int p = 0; p < mnv_pixfmt_planes((mnv_pixfmt)fmt); p++)
        if (d->linesize[p] <= 0)
            return -1;
    return fmt;
}

static int convert_to_i420(ffmpeg_source *s, int slot, mnv_image *img, char *err, size_t errlen)
{
    const AVFrame *d = s->decoded;
    int w = d->width, h = d->height;
    s->sws = sws_getCachedContext(s->sws, w, h, (enum AVPixelFormat)d->format, w, h, AV_PIX_FMT_YUV420P,
                                  SWS_BILINEAR, NULL, NULL, NULL);
    uint8_t *buf = frame_pool_buffer(&s->pool, slot, mnv_image_size(MNV_PIX_I420, w, h));
    if (!s->sws || !buf)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: frame %llu: cannot convert %s %dx%d to i420", s->name,
                         (unsigned long long)s->seq, av_get_pix_fmt_name((enum AVPixelFormat)d->format), w, h);
    int src_full = d->color_range == AVCOL_RANGE_JPEG || d->format == AV_PIX_FMT_YUVJ420P ||
                   d->format == AV_PIX_FMT_YUVJ422P || d->format == AV_PIX_FMT_YUVJ444P;
    int src_space = d->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_ITU601;
    sws_setColorspaceDetails(s->sws, sws_getCoefficients(src_space), src_full, sws_getCoefficients(SWS_CS_ITU601),
                             0, 0, 1 << 16, 1 << 16);
    mnv_image_pack(img, MNV_PIX_I420, w, h, buf);
    uint8_t *dst[4] = {(uint8_t *)img->plane[0], (uint8_t *)img->plane[1], (uint8_t *)img->plane[2], NULL};
    int dst_stride[4] = {(int)img->stride[0], (int)img->stride[1], (int)img->stride[2], 0};
    sws_scale(s->sws, (const uint8_t *const *)d->data, d->linesize, 0, h, dst, dst_stride);
    return 0;
}

static int ffmpeg_next(frame_source *base, frame *f, char *err, size_t errlen)
{
    ffmpeg_source *s = (ffmpeg_source *)base;
    int slot, rc = source_next_begin(&s->interrupted, s->ended, &s->pool, s->name, &slot, err, errlen);
    if (rc != 0)
        return rc;
    rc = decode_next(s, err, errlen);
    const AVFrame *d = s->decoded;
    if (rc == 0 && (d->width <= 0 || d->height <= 0))
        rc = mnv_error(err, errlen, MNV_EFORMAT, "%s: frame %llu: decoded picture has no pixels", s->name,
                       (unsigned long long)s->seq);
    else if (rc == 0 && frame_need(d->width, d->height) > s->max_frame_bytes) {
        char when[48];
        snprintf(when, sizeof when, "frame %llu: ", (unsigned long long)s->seq);
        rc = over_limit(s, when, d->width, d->height, err, errlen);
    }
    if (rc != 0) {
        frame_pool_give(&s->pool, slot);
        av_frame_unref(s->decoded);
        s->ended = 1;
        return rc;
    }
    int64_t ts = d->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) {
        /* No time stamp: one frame period after the last one. */
        double step = s->base.info.fps > 0 ? 1.0 / s->base.info.fps : 0;
        f->pts = s->seq ? s->last_pts + step : 0;
    } else {
        if (s->first_ts == AV_NOPTS_VALUE)
            s->first_ts = ts;
        f->pts = (double)(ts - s->first_ts) * av_q2d(s->time_base);
    }
    s->last_pts = f->pts;
    int fmt = pass_through_format(d);
    if (fmt >= 0) {
        f->img.format = (mnv_pixfmt)fmt;
        f->img.width = d->width;
        f->img.height = d->height;
        for (int p = 0; p < mnv_pixfmt_planes((mnv_pixfmt)fmt); p++) {
            f->img.plane[p] = d->data[p];
            f->img.stride[p] = (size_t)d->linesize[p];
        }
        av_frame_move_ref(s->held[slot], s->decoded);
    } else {
        rc = convert_to_i420(s, slot, &f->img, err, errlen);
        av_frame_unref(s->decoded);
        if (rc != 0) {
            frame_pool_give(&s->pool, slot);
            s->ended = 1;
            return rc;
        }
    }
    f->seq = s->seq++;
    f->t_capture_ns = source_now_ns();
    f->name = s->name;
    f->slot_ = slot;
    return 0;
}

static void ffmpeg_release(frame_source *base, frame *f)
{
    ffmpeg_source *s = (ffmpeg_source *)base;
    /* Drops our reference only: safe beside a decoder running in another
     * thread (FFmpeg's buffer references are atomic, its pools locked). */
    av_frame_unref(s->held[f->slot_]);
    frame_pool_give(&s->pool, f->slot_);
}

static void ffmpeg_interrupt(frame_source *base)
{
    atomic_store(&((ffmpeg_source *)base)->interrupted, 1);
}

static void ffmpeg_close(frame_source *base)
{
    ffmpeg_source *s = (ffmpeg_source *)base;
    for (int i = 0; i < SOURCE_MAX_OUTSTANDING; i++)
        av_frame_free(&s->held[i]);
    av_frame_free(&s->decoded);
    av_packet_free(&s->packet);
    sws_freeContext(s->sws);
    avcodec_free_context(&s->decoder);
    avformat_close_input(&s->demuxer);
    if (s->memory_io) {
        av_freep(&s->memory_io->buffer);
        avio_context_free(&s->memory_io);
    }
    frame_pool_destroy(&s->pool);
    free(s->name);
    free(s);
}

static const source_ops ffmpeg_ops = {ffmpeg_next, ffmpeg_release, ffmpeg_interrupt, ffmpeg_close};

/* Opens the demuxer on path, or on memory when data is given. */
static int open_demuxer(ffmpeg_source *s, const char *path, const uint8_t *data, size_t len, char *err,
                        size_t errlen)
{
    char why[384];
    s->demuxer = avformat_alloc_context();
    if (!s->demuxer)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", s->name);
    s->demuxer->opaque = &s->log;
    if (data) {
        s->memory = data;
        s->memory_len = len;
        uint8_t *buf = av_malloc(FFMPEG_IO_BUFFER);
        s->memory_io = buf ? avio_alloc_context(buf, FFMPEG_IO_BUFFER, 0, s, memory_read, NULL, memory_seek) : NULL;
        if (!s->memory_io) {
            av_free(buf);
            return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", s->name);
        }
        s->demuxer->pb = s->memory_io;
    }
    int rc = avformat_open_input(&s->demuxer, data ? NULL : path, NULL, NULL);
    if (rc < 0) /* avformat_open_input freed the context */
        return mnv_error(err, errlen, rc == AVERROR(ENOENT) ? MNV_EIO : MNV_EFORMAT,
                         "%s: not an image, Y4M or video file FFmpeg can read (%s)", s->name,
                         reason(s, rc, why, sizeof why));
    rc = avformat_find_stream_info(s->demuxer, NULL);
    if (rc < 0)
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: cannot read its streams (%s)", s->name,
                         reason(s, rc, why, sizeof why));
    return 0;
}

static int open_decoder(ffmpeg_source *s, char *err, size_t errlen)
{
    char why[384];
    const AVCodec *codec = NULL;
    int idx = av_find_best_stream(s->demuxer, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (idx == AVERROR_STREAM_NOT_FOUND)
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: no video stream", s->name);
    const AVStream *st = idx >= 0 ? s->demuxer->streams[idx] : NULL;
    if (idx < 0 || !codec) {
        int any = av_find_best_stream(s->demuxer, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
        const char *codec_name = any >= 0 ? avcodec_get_name(s->demuxer->streams[any]->codecpar->codec_id) : "?";
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: this FFmpeg has no decoder for its %s video", s->name,
                         codec_name);
    }
    s->stream_index = idx;
    s->time_base = st->time_base;
    s->decoder = avcodec_alloc_context3(codec);
    if (!s->decoder)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", s->name);
    s->decoder->opaque = &s->log;
    int rc = avcodec_parameters_to_context(s->decoder, st->codecpar);
    /* One decoding thread: the detector has the cores, and FFmpeg logs
     * from its own thread only then (common/ffmpeg_log.h). */
    s->decoder->thread_count = 1;
    s->decoder->pkt_timebase = st->time_base;
    /* The declared size within the cap, and the decoder told to refuse a
     * bigger picture later (sizes may change mid-stream) before it
     * allocates one: at 4 bytes a pixel plus our I420 copy, 5.5. */
    if (frame_need(st->codecpar->width, st->codecpar->height) > s->max_frame_bytes)
        return over_limit(s, "", st->codecpar->width, st->codecpar->height, err, errlen);
    /* SIZE_MAX / 6 fits an int64_t on 32- and 64-bit size_t alike. */
    s->decoder->max_pixels = (int64_t)(s->max_frame_bytes / 6);
    if (rc >= 0)
        rc = avcodec_open2(s->decoder, codec, NULL);
    if (rc < 0)
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: cannot open the %s decoder (%s)", s->name, codec->name,
                         reason(s, rc, why, sizeof why));
    if (st->start_time != AV_NOPTS_VALUE)
        s->first_ts = st->start_time;

    source_info *info = &s->base.info;
    info->kind = "ffmpeg";
    snprintf(info->name, sizeof info->name, "%s", s->name);
    info->width = st->codecpar->width;
    info->height = st->codecpar->height;
    AVFrame probe = {.format = st->codecpar->format, .color_range = st->codecpar->color_range,
                     .linesize = {1, 1, 1}};
    int fmt = pass_through_format(&probe);
    info->format = fmt >= 0 ? (mnv_pixfmt)fmt : MNV_PIX_I420;
    AVRational rate = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate
                                                                                : st->r_frame_rate;
    info->fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
    return 0;
}

static int ffmpeg_open(frame_source **out, const char *name, const uint8_t *data, size_t len,
                       size_t max_frame_bytes, char *err, size_t errlen)
{
    ffmpeg_log_install();
    *out = NULL;
    ffmpeg_source *s = calloc(1, sizeof *s);
    if (!s || frame_pool_init(&s->pool) != 0) {
        free(s);
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", name);
    }
    s->base.ops = &ffmpeg_ops;
    s->max_frame_bytes = max_frame_bytes ? max_frame_bytes : MNV_DEFAULT_MAX_MEMORY;
    s->first_ts = AV_NOPTS_VALUE;
    ffmpeg_log_sink_init(&s->log);
    atomic_init(&s->interrupted, 0);
    s->name = strdup(name);
    s->packet = av_packet_alloc();
    s->decoded = av_frame_alloc();
    int ok = s->name && s->packet && s->decoded;
    for (int i = 0; i < SOURCE_MAX_OUTSTANDING; i++)
        ok = ok && (s->held[i] = av_frame_alloc()) != NULL;
    int rc = !ok ? mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", name)
                 : open_demuxer(s, name, data, len, err, errlen);
    if (rc == 0)
        rc = open_decoder(s, err, errlen);
    if (rc != 0) {
        ffmpeg_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

int ffmpeg_source_open(frame_source **out, const char *path, char *err, size_t errlen)
{
    return ffmpeg_open(out, path, NULL, 0, 0, err, errlen);
}

int ffmpeg_source_open_max(frame_source **out, const char *name, const uint8_t *data, size_t len,
                           size_t max_frame_bytes, char *err, size_t errlen)
{
    return ffmpeg_open(out, name, data, len, max_frame_bytes, err, errlen);
}

int ffmpeg_source_available(void)
{
    return 1;
}
