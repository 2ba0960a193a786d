/*
 * capture: frame sources. Knows nothing of models: produces RGB24 frames.
 *
 * Errors: 0 on success or a negative code with one line in the caller's err
 * buffer (naming the source and the reason). Nothing here prints or exits.
 */
#ifndef MNV2DET_CAPTURE_H
#define MNV2DET_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

typedef struct frame {
    uint8_t *rgb;             /* RGB24, row stride bytes apart */
    int width, height;
    size_t stride;
    uint64_t seq;             /* sequence number from the source */
    uint64_t t_capture_ns;    /* CLOCK_MONOTONIC at capture */
} frame;

/* Decode an image file (PNG, JPEG, PPM/PGM, BMP: whatever libstb decodes)
 * into a newly allocated RGB24 frame. On failure f is left empty and err
 * names the file and the reason (missing, unreadable, not an image). */
int image_load(frame *f, const char *path, char *err, size_t errlen);

/* Free the pixels of a frame made by this module; safe on an empty frame. */
void frame_free(frame *f);

#endif
