/* A build without FFmpeg (meson -Dffmpeg=disabled, or its libraries absent):
 * video other than Y4M is refused with how to get it. */
#include "capture/source_internal.h"

#define FFMPEG_MISSING                                                                                   \
    "%s: not an image or Y4M file, and this build has no FFmpeg for other video (install libavformat-dev " \
    "libavcodec-dev libswscale-dev and reconfigure with meson -Dffmpeg=enabled)"

int ffmpeg_source_open(frame_source **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    return mnv_error(err, errlen, MNV_EUNSUPPORTED, FFMPEG_MISSING, path);
}

int ffmpeg_source_open_max(frame_source **out, const char *name, const uint8_t *data, size_t len,
                           size_t max_frame_bytes, char *err, size_t errlen)
{
    (void)data;
    (void)len;
    (void)max_frame_bytes;
    *out = NULL;
    return mnv_error(err, errlen, MNV_EUNSUPPORTED, FFMPEG_MISSING, name);
}

int ffmpeg_source_available(void)
{
    return 0;
}
