/*
 * libFuzzer target: the Y4M reader on any bytes, as standard input would
 * feed it (the first 64 bytes already read by sniffing, the rest from a
 * stream), every frame read, every byte of its planes touched (so that ASan
 * sees a plane that overruns its buffer), frames held two at a time. An
 * error must come with a one-line message naming the input. The memory cap
 * is small (FUZZ_MAX_MEMORY): a header declaring a bigger frame must be
 * refused at open, before anything is allocated for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/source_internal.h"

#define FUZZ_MAX_MEMORY ((size_t)16 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A sum over every byte of the picture, where mnv_image says its rows are. */
static unsigned touch(const mnv_image *im)
{
    unsigned sum = 0;
    for (int p = 0; p < mnv_pixfmt_planes(im->format); p++) {
        size_t row_bytes = 0, bytes = mnv_plane_size(im->format, im->width, im->height, p, &row_bytes);
        size_t rows = row_bytes ? bytes / row_bytes : 0;
        for (size_t r = 0; r < rows; r++)
            for (size_t i = 0; i < row_bytes; i++)
                sum += im->plane[p][r * im->stride[p] + i];
    }
    return sum;
}

static void check_message(int rc, const char *err)
{
    if (rc < 0 && (strncmp(err, "fuzz.y4m: ", 10) != 0 || strchr(err, '\n'))) {
        fprintf(stderr, "bad error message for %d: '%s'\n", rc, err);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t sniffed = size < 64 ? size : 64;
    /* fmemopen wants a size > 0: an empty rest is one byte read at once. */
    static const uint8_t one_byte;
    FILE *fp = sniffed < size ? fmemopen((void *)(data + sniffed), size - sniffed, "rb")
                              : fmemopen((void *)&one_byte, 1, "rb");
    if (!fp)
        return 0;
    if (sniffed == size)
        fgetc(fp);
    frame_source *s;
    char err[512] = "";
    int rc = y4m_source_open_max(&s, "fuzz.y4m", fp, data, sniffed, FUZZ_MAX_MEMORY, err, sizeof err);
    check_message(rc, err);
    if (rc == 0) {
        frame held[2];
        memset(held, 0, sizeof held);
        volatile unsigned sink = 0;
        for (int n = 0;; n++) {
            frame *f = &held[n % 2];
            source_release(f);
            rc = source_next(s, f, err, sizeof err);
            check_message(rc, err);
            if (rc != 0)
                break;
            sink += touch(&f->img);
        }
        (void)sink;
        source_release(&held[0]);
        source_release(&held[1]);
        source_close(s);
    }
    fclose(fp);
    return 0;
}
