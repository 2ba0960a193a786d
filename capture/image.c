/* Still images as frames, decoded by libstb (PNG, JPEG, PPM/PGM, BMP, ...). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>

#include "capture/capture.h"

/* 16k x 16k: far beyond any camera, far below what would exhaust memory. */
#define IMAGE_MAX_PIXELS (16384LL * 16384LL)

static int fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    return mnv_error(err, errlen, -1, fmt, a, b);
}

int image_load(frame *f, const char *path, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    /* Open it ourselves first: stbi's failure reason for a missing file is
     * the unhelpful "can't fopen". */
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return fail(err, errlen, "%s: %s", path, strerror(errno));
    int w = 0, h = 0, comp = 0;
    /* Refuse absurd sizes before decoding: a tiny corrupt header could
     * otherwise ask for gigabytes. */
    if (stbi_info_from_file(fp, &w, &h, &comp) && ((long long)w * h > IMAGE_MAX_PIXELS)) {
        fclose(fp);
        char dims[64];
        snprintf(dims, sizeof dims, "%dx%d", w, h);
        return fail(err, errlen, "%s: image too large (%s)", path, dims);
    }
    unsigned char *px = stbi_load_from_file(fp, &w, &h, &comp, 3);
    fclose(fp);
    if (!px)
        return fail(err, errlen, "%s: cannot decode image (%s)", path, stbi_failure_reason());
    if (w <= 0 || h <= 0) {
        stbi_image_free(px);
        return fail(err, errlen, "%s: %s", path, "image has no pixels");
    }
    mnv_image_pack(&f->img, MNV_PIX_RGB24, w, h, px);
    f->name = path;
    return 0;
}

void frame_free(frame *f)
{
    if (f->img.plane[0])
        stbi_image_free((void *)f->img.plane[0]);
    memset(f, 0, sizeof *f);
}
