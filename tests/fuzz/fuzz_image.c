/*
 * libFuzzer target: a still picture as the program reads one from standard
 * input or a pipe: an image source over the bytes in memory (the path
 * source_open_inputs takes for an input sniffed as an image), decoded by
 * libstb with the EXIF orientation applied, under a small memory cap
 * (FUZZ_MAX_MEMORY) so that a header declaring a huge picture is refused
 * before decoding. Every byte of the picture is read (ASan sees a buffer
 * smaller than its size says); a refusal is one line naming the input.
 * The EXIF reader and the input sniffer (the first 64 bytes) are also
 * called on their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/source_internal.h"

#define FUZZ_MAX_MEMORY ((size_t)8 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int o = exif_orientation(data, size);
    if (o < 1 || o > 8) {
        fprintf(stderr, "exif orientation %d\n", o);
        abort();
    }
    volatile input_kind kind = sniff_input_kind(data, size < 64 ? size : 64);
    (void)kind;
    image_entry e = {"fuzz.img", data, size};
    frame_source *s;
    char err[512] = "";
    int rc = image_source_open_entries(&s, &e, 1, FUZZ_MAX_MEMORY, err, sizeof err);
    if (rc != 0)
        return 0;
    frame f;
    memset(&f, 0, sizeof f);
    rc = source_next(s, &f, err, sizeof err);
    if (rc < 0 && (strncmp(err, "fuzz.img: ", 10) != 0 || strchr(err, '\n'))) {
        fprintf(stderr, "bad error message for %d: '%s'\n", rc, err);
        abort();
    }
    if (rc == 0) {
        const mnv_image *im = &f.img;
        if (im->format != MNV_PIX_RGB24 || im->width < 1 || im->height < 1 ||
            im->stride[0] < (size_t)im->width * 3) {
            fprintf(stderr, "bad picture %dx%d\n", im->width, im->height);
            abort();
        }
        volatile unsigned sum = 0;
        for (int y = 0; y < im->height; y++)
            for (size_t x = 0; x < (size_t)im->width * 3; x++)
                sum += im->plane[0][(size_t)y * im->stride[0] + x];
        (void)sum;
        source_release(&f);
    }
    source_close(s);
    return 0;
}
