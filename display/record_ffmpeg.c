/*
 * Recordings in the containers FFmpeg writes (.mkv, .mp4, .avi, ...): the
 * container follows the file name (av_guess_format), the codec is that
 * container's default video codec (H.264 through libx264 for Matroska and
 * MP4 in Debian's FFmpeg, MPEG-4 part 2 for AVI), at its own default
 * settings. Frames go in as yuv420p made by mnv_image_from_rgb24 (BT.601
 * limited range, tagged so), or, for an encoder without yuv420p, in its
 * first pixel format through libswscale. One encoder thread: the detector
 * has the cores, and FFmpeg then logs from the caller's thread only
 * (common/ffmpeg_log.h, which also keeps FFmpeg's messages off the
 * terminal). Time stamps count frames at 1 / fps, rescaled to the
 * container's own time base.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "common/ffmpeg_log.h"
#include "display/display_internal.h"

struct record_ffmpeg {
    ffmpeg_log_sink log;        /* the encoder's and the muxer's last error line */
    char *path;
    AVFormatContext *muxer;
    AVCodecContext *encoder;
    AVStream *stream;
    AVFrame *frame;             /* the encoder's input, its buffers made at open */
    AVPacket *packet;
    struct SwsContext *sws;     /* RGB24 -> the encoder's format when that is not yuv420p */
    int64_t next_pts;           /* in frames: the number of the next one */
};

static void record_ffmpeg_free(record_ffmpeg *f)
{
    if (f->muxer && f->muxer->pb)
        avio_closep(&f->muxer->pb);
    avformat_free_context(f->muxer);
    avcodec_free_context(&f->encoder);
    av_frame_free(&f->frame);
    av_packet_free(&f->packet);
    sws_freeContext(f->sws);
    free(f->path);
    free(f);
}

/* yuv420p when the encoder takes it, else its first format. */
static enum AVPixelFormat input_format(const AVCodec *codec)
{
    if (!codec->pix_fmts)
        return AV_PIX_FMT_YUV420P;
    for (const enum AVPixelFormat *p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
        if (*p == AV_PIX_FMT_YUV420P)
            return *p;
    return codec->pix_fmts[0];
}

/* The container and its codec for path; 0 or MNV_EUNSUPPORTED. */
static int choose_codec(const char *path, const AVOutputFormat **fmt, const AVCodec **codec, char *err,
                        size_t errlen)
{
    *fmt = av_guess_format(NULL, path, NULL);
    if (!*fmt)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                         "%s: FFmpeg knows no video container by this file name's extension (try .mkv, .mp4, .avi "
                         "or .y4m)", path);
    if ((*fmt)->video_codec == AV_CODEC_ID_NONE)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: the %s container (%s) holds no video", path,
                         (*fmt)->name, (*fmt)->long_name ? (*fmt)->long_name : "?");
    if ((*fmt)->flags & AVFMT_NOFILE)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                         "%s: FFmpeg's %s is not a video file (it writes files or streams of its own); use .mkv, "
                         ".mp4, .avi or .y4m", path, (*fmt)->name);
    *codec = avcodec_find_encoder((*fmt)->video_codec);
    if (!*codec)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                         "%s: this FFmpeg has no %s encoder, the video codec of %s files (try .mkv, .avi or .y4m)",
                         path, avcodec_get_name((*fmt)->video_codec), (*fmt)->name);
    return 0;
}

static int open_encoder(record_ffmpeg *f, const AVOutputFormat *fmt, const AVCodec *codec, int width, int height,
                        int num, int den, char *err, size_t errlen)
{
    char why[384];
    AVCodecContext *c = f->encoder = avcodec_alloc_context3(codec);
    if (!c)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", f->path);
    c->opaque = &f->log;
    c->width = width;
    c->height = height;
    c->pix_fmt = input_format(codec);
    c->time_base = (AVRational){den, num};
    c->framerate = (AVRational){num, den};
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->thread_count = 1;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(c->pix_fmt);
    int yuv = desc && !(desc->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL));
    if (yuv) {
        c->color_range = AVCOL_RANGE_MPEG;
        c->colorspace = AVCOL_SPC_SMPTE170M;
    }
    if (fmt->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    /* A recording is made beside live detection: x264's default "medium"
     * preset takes 6 to 9 ms a 640x480 frame on one core here, "veryfast"
     * about 4, at a larger file. Other encoders ignore the option. */
    AVDictionary *opts = NULL;
    if (strcmp(codec->name, "libx264") == 0)
        av_dict_set(&opts, "preset", "veryfast", 0);
    int rc = avcodec_open2(c, codec, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: cannot open the %s encoder for %dx%d at %d:%d fps (%s)",
                         f->path, codec->name, width, height, num, den,
                         ffmpeg_log_reason(&f->log, rc, why, sizeof why));
    f->frame = av_frame_alloc();
    f->packet = av_packet_alloc();
    if (!f->frame || !f->packet)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", f->path);
    f->frame->format = c->pix_fmt;
    f->frame->width = width;
    f->frame->height = height;
    f->frame->color_range = c->color_range;
    f->frame->colorspace = c->colorspace;
    f->frame->sample_aspect_ratio = c->sample_aspect_ratio;
    if (av_frame_get_buffer(f->frame, 0) < 0)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory for %dx%d frames", f->path, width, height);
    if (c->pix_fmt != AV_PIX_FMT_YUV420P) {
        f->sws = sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height, c->pix_fmt, SWS_BILINEAR, NULL,
                                NULL, NULL);
        if (!f->sws)
            return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: cannot convert rgb24 to %s for the %s encoder",
                             f->path, av_get_pix_fmt_name(c->pix_fmt), codec->name);
        const int *bt601 = sws_getCoefficients(SWS_CS_ITU601);
        sws_setColorspaceDetails(f->sws, bt601, 1, bt601, yuv ? 0 : 1, 0, 1 << 16, 1 << 16);
    }
    return 0;
}

static int open_muxer(record_ffmpeg *f, const AVOutputFormat *fmt, char *err, size_t errlen)
{
    char why[384];
    int rc = avformat_alloc_output_context2(&f->muxer, fmt, NULL, f->path);
    if (rc < 0 || !(f->stream = avformat_new_stream(f->muxer, NULL)))
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", f->path);
    f->muxer->opaque = &f->log;
    rc = avcodec_parameters_from_context(f->stream->codecpar, f->encoder);
    if (rc < 0)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", f->path);
    f->stream->time_base = f->encoder->time_base;
    f->stream->avg_frame_rate = f->encoder->framerate;
    f->stream->sample_aspect_ratio = f->encoder->sample_aspect_ratio;
    rc = avio_open(&f->muxer->pb, f->path, AVIO_FLAG_WRITE);
    if (rc < 0) {
        char what[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(rc, what, sizeof what);
        return mnv_error(err, errlen, MNV_EIO, "%s: cannot create: %s", f->path, what);
    }
    rc = avformat_write_header(f->muxer, NULL);
    if (rc < 0)
        return mnv_error(err, errlen, f->muxer->pb->error ? MNV_EIO : MNV_EUNSUPPORTED,
                         "%s: cannot start the %s file (%s)", f->path, fmt->name,
                         ffmpeg_log_reason(&f->log, rc, why, sizeof why));
    return 0;
}

int record_ffmpeg_open(record_ffmpeg **out, const char *path, int width, int height, int rate_num,
                       int rate_den, char *err, size_t errlen)
{
    ffmpeg_log_install();
    *out = NULL;
    const AVOutputFormat *fmt;
    const AVCodec *codec;
    int rc = choose_codec(path, &fmt, &codec, err, errlen);
    if (rc != 0)
        return rc;
    record_ffmpeg *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", path);
    }
    ffmpeg_log_sink_init(&f->log);
    /* The encoder first: a size or rate it refuses leaves the file alone. */
    rc = open_encoder(f, fmt, codec, width, height, rate_num, rate_den, err, errlen);
    if (rc == 0)
        rc = open_muxer(f, fmt, err, errlen);
    if (rc != 0) {
        record_ffmpeg_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* Hand the encoder's finished packets to the muxer; `when` says at which
 * frame (or at the end) for the messages. */
static int write_packets(record_ffmpeg *f, const char *when, char *err, size_t errlen)
{
    char why[384];
    for (;;) {
        int rc = avcodec_receive_packet(f->encoder, f->packet);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return mnv_error(err, errlen, MNV_EIO, "%s: %s: cannot encode (%s)", f->path, when,
                             ffmpeg_log_reason(&f->log, rc, why, sizeof why));
        av_packet_rescale_ts(f->packet, f->encoder->time_base, f->stream->time_base);
        f->packet->stream_index = f->stream->index;
        rc = av_interleaved_write_frame(f->muxer, f->packet); /* takes the packet's data */
        if (rc < 0)
            return mnv_error(err, errlen, MNV_EIO, "%s: %s: cannot write (%s)", f->path, when,
                             ffmpeg_log_reason(&f->log, rc, why, sizeof why));
    }
}

int record_ffmpeg_write(record_ffmpeg *f, const mnv_image *rgb, char *err, size_t errlen)
{
    char why[384], when[48];
    snprintf(when, sizeof when, "frame %lld", (long long)f->next_pts);
    AVFrame *fr = f->frame;
    /* Allocates only when the encoder still holds the last frame's buffer
     * (none of the defaults does: they copy their input). */
    int rc = av_frame_make_writable(fr);
    if (rc < 0)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: %s: out of memory", f->path, when);
    if (f->sws) {
        if (rgb->stride[0] > INT_MAX)
            return mnv_error(err, errlen, MNV_EINVAL, "%s: %s: image stride %zu is too large for libswscale",
                             f->path, when, rgb->stride[0]);
        const uint8_t *src[4] = {rgb->plane[0], NULL, NULL, NULL};
        const int src_stride[4] = {(int)rgb->stride[0], 0, 0, 0};
        sws_scale(f->sws, src, src_stride, 0, rgb->height, fr->data, fr->linesize);
    } else {
        mnv_image yuv = {.format = MNV_PIX_I420, .width = fr->width, .height = fr->height};
        for (int p = 0; p < 3; p++) {
            yuv.plane[p] = fr->data[p];
            yuv.stride[p] = (size_t)fr->linesize[p];
        }
        mnv_image_from_rgb24(rgb, &yuv);
    }
    fr->pts = f->next_pts++;
    rc = avcodec_send_frame(f->encoder, fr);
    if (rc < 0)
        return mnv_error(err, errlen, MNV_EIO, "%s: %s: cannot encode (%s)", f->path, when,
                         ffmpeg_log_reason(&f->log, rc, why, sizeof why));
    return write_packets(f, when, err, errlen);
}

int record_ffmpeg_close(record_ffmpeg *f, char *err, size_t errlen)
{
    char why[384];
    int rc = avcodec_send_frame(f->encoder, NULL); /* drain: the frames the encoder still holds */
    if (rc < 0)
        rc = mnv_error(err, errlen, MNV_EIO, "%s: cannot encode (%s)", f->path,
                       ffmpeg_log_reason(&f->log, rc, why, sizeof why));
    else
        rc = write_packets(f, "at the end", err, errlen);
    if (rc == 0 && (rc = av_write_trailer(f->muxer)) < 0)
        rc = mnv_error(err, errlen, MNV_EIO, "%s: cannot finish the file (%s)", f->path,
                       ffmpeg_log_reason(&f->log, rc, why, sizeof why));
    AVIOContext *pb = f->muxer->pb;
    avio_flush(pb);
    if (rc == 0 && pb->error < 0)
        rc = mnv_error(err, errlen, MNV_EIO, "%s: cannot write (%s)", f->path,
                       ffmpeg_log_reason(&f->log, pb->error, why, sizeof why));
    int closed = avio_closep(&f->muxer->pb);
    if (rc == 0 && closed < 0)
        rc = mnv_error(err, errlen, MNV_EIO, "%s: cannot close (%s)", f->path,
                       ffmpeg_log_reason(&f->log, closed, why, sizeof why));
    record_ffmpeg_free(f);
    return rc;
}
