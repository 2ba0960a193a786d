/*
 * capture: frame sources. Knows nothing of models: produces frames in the
 * source's own pixel format (common.h's mnv_image), with a sequence number
 * and a capture time.
 *
 * Every source (still images, Y4M, FFmpeg, V4L2 camera) sits behind one
 * interface, frame_source: next / release / close. A source owns a small pool
 * of buffers; a frame handed out by source_next stays valid until it is given
 * back with source_release, from any thread (the capture thread takes frames,
 * the detector gives them back). At most SOURCE_MAX_OUTSTANDING frames may be
 * out at once; source_next on a source with that many out fails with
 * MNV_EBUSY rather than block.
 *
 * Errors: 0 on success or a negative mnv_status with one line in the caller's
 * err buffer naming the source and the reason. Nothing here prints or exits.
 */
#ifndef MNV2DET_CAPTURE_H
#define MNV2DET_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define SOURCE_MAX_OUTSTANDING 4

typedef struct frame_source frame_source;

typedef struct frame {
    mnv_image img;            /* format, size, planes, strides */
    uint64_t seq;             /* the source's sequence number: 0, 1, 2, ... (a camera's own) */
    uint64_t t_capture_ns;    /* CLOCK_MONOTONIC ns: the driver's buffer time for a camera,
                                 the time it was read for a file */
    uint64_t skipped;         /* frames the source lost just before this one (sequence gap) */
    double pts;               /* seconds from the start of the stream (file sources'
                                 presentation time; n / fps for Y4M; 0 for still images) */
    const char *name;         /* what produced it: the image's path, the file, the device */
    /* Private to the source that made the frame. */
    frame_source *src_;
    int slot_;
} frame;

/* What a source is, filled at open. */
typedef struct source_info {
    const char *kind;         /* "image", "y4m", "ffmpeg", "v4l2" */
    char name[256];           /* path or device (may be shortened with "...") */
    int width, height;        /* of the first frame; 0 if not known before reading */
    mnv_pixfmt format;
    double fps;               /* nominal frame rate, 0 if none (still images) */
    int live;                 /* 1 for a camera: frames come at the camera's pace */
} source_info;

/* The next frame. 0 and a frame in f; MNV_END (positive) at the end of a
 * stream (f left empty); negative on error (f left empty). A camera waits
 * up to its timeout and then fails with MNV_ETIMEOUT; MNV_EINTR when
 * source_interrupt was called. */
int source_next(frame_source *s, frame *f, char *err, size_t errlen);
/* Give a frame back to its source (safe on an empty frame); thread-safe. */
void source_release(frame *f);
/* Make a source_next that is waiting, or the next one, return MNV_EINTR.
 * Safe from any thread and from a signal handler's flag watcher. */
void source_interrupt(frame_source *s);
/* Close a source; every frame must have been released. Safe on NULL. */
void source_close(frame_source *s);
const source_info *source_get_info(const frame_source *s);

/* Decode an image file into a newly allocated RGB24 frame, upright: a
 * JPEG's EXIF orientation is applied, so the frame has the size the picture
 * is shown at. Formats: whatever libstb decodes (PNG, JPEG, BMP, GIF's first
 * frame, TGA, PSD, HDR, PIC, PNM: PPM and PGM). path may be a regular file,
 * a pipe or /dev/stdin, or "-" for standard input; it is read whole into
 * memory (at most 1 GiB). f->name = path. On failure f is left empty and err
 * names the file and the reason (missing, a directory, unreadable, not an
 * image). */
int image_load(frame *f, const char *path, char *err, size_t errlen);

/* Decode an image held in memory (any format image_load takes), applying a JPEG's EXIF orientation; name is what error messages call it. On failure f is left empty. */
int image_load_memory(frame *f, const uint8_t *data, size_t len, const char *name, char *err, size_t errlen);

/* Free the pixels of a frame made by image_load or image_load_memory; safe
 * on an empty frame. */
void frame_free(frame *f);

/* The EXIF orientation (TIFF tag 0x0112, 1 to 8) of the JPEG in data[0..len):
 * how its stored pixels are to be shown. 1 = as stored, 2 mirrored
 * left-right, 3 turned 180 degrees, 4 mirrored top-bottom, 5 transposed
 * (stored row 0 becomes the left column, column 0 the top row), 6 stored
 * turned 90 degrees clockwise to show (row 0 becomes the right column), 7
 * transverse (row 0 the right column, column 0 the bottom row), 8 turned 90
 * degrees anticlockwise (row 0 becomes the left column). 1 also when data
 * is not a JPEG or its EXIF block is missing or malformed: every offset in
 * it is checked against len before use (exif.c). */
int exif_orientation(const uint8_t *data, size_t len);

#endif
