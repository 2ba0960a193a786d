/*
 * FFmpeg's log messages kept off the terminal and handed to the object they
 * are about. FFmpeg has one log callback for the whole process, and two
 * folders use FFmpeg (capture/ffmpeg.c reads video, display/record_ffmpeg.c
 * writes it): each installs this same callback, so that whichever installs
 * it last serves both, and neither prints.
 *
 * A codec or format context whose `opaque` points to an ffmpeg_log_sink
 * gets the last line FFmpeg logged about it at error level or worse in the
 * sink (for the owner's error messages); every other message is dropped.
 * Contexts of ours log from the thread that calls FFmpeg on them (one
 * codec thread), so a sink is written by its owner's thread only.
 *
 * Only files built with the ffmpeg feature include this header.
 */
#ifndef MNV2DET_COMMON_FFMPEG_LOG_H
#define MNV2DET_COMMON_FFMPEG_LOG_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>

#define FFMPEG_LOG_MAGIC 0x6d6e764cu /* "mnvL": tells a sink from another user's opaque */

typedef struct ffmpeg_log_sink {
    uint32_t magic;   /* FFMPEG_LOG_MAGIC (ffmpeg_log_sink_init) */
    char line[256];   /* the last error line, without its newline; "" when none */
} ffmpeg_log_sink;

static inline void ffmpeg_log_sink_init(ffmpeg_log_sink *s)
{
    s->magic = FFMPEG_LOG_MAGIC;
    s->line[0] = '\0';
}

static inline void ffmpeg_log_route(void *avcl, int level, const char *fmt, va_list ap)
{
    if (!avcl || level > AV_LOG_ERROR)
        return;
    const AVClass *cls = *(const AVClass **)avcl;
    ffmpeg_log_sink *s = NULL;
    if (cls == avcodec_get_class())
        s = ((AVCodecContext *)avcl)->opaque;
    else if (cls == avformat_get_class())
        s = ((AVFormatContext *)avcl)->opaque;
    if (!s || s->magic != FFMPEG_LOG_MAGIC)
        return;
    vsnprintf(s->line, sizeof s->line, fmt, ap);
    size_t n = strlen(s->line);
    while (n && (s->line[n - 1] == '\n' || s->line[n - 1] == '\r'))
        s->line[--n] = '\0';
}

static inline void ffmpeg_log_install_now(void)
{
    av_log_set_callback(ffmpeg_log_route);
}

/* Install the callback, once per including library. */
static inline void ffmpeg_log_install(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ffmpeg_log_install_now);
}

/* "what: line" when the sink holds a line, else "what" (FFmpeg's av_strerror
 * of code); the sink is emptied. */
static inline const char *ffmpeg_log_reason(ffmpeg_log_sink *s, int code, char *buf, size_t len)
{
    char what[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(code, what, sizeof what);
    if (s->line[0])
        snprintf(buf, len, "%s: %s", what, s->line);
    else
        snprintf(buf, len, "%s", what);
    s->line[0] = '\0';
    return buf;
}

#endif
