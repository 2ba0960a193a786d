/*
 * What a frame source implements: a method table, as SQLite's io_methods.
 * Each source embeds struct frame_source first in its own state.
 */
#ifndef MNV2DET_SOURCE_INTERNAL_H
#define MNV2DET_SOURCE_INTERNAL_H

#include "capture/capture.h"

typedef struct source_ops {
    /* Fill f (img, seq, t_capture_ns, skipped, pts, name, slot_); see source_next. */
    int (*next)(frame_source *s, frame *f, char *err, size_t errlen);
    /* Take back the frame's buffer (f->slot_); called from any thread. */
    void (*release)(frame_source *s, frame *f);
    /* Optional: wake a blocked next with MNV_EINTR. */
    void (*interrupt)(frame_source *s);
    /* Free everything, the source itself included. */
    void (*close)(frame_source *s);
} source_ops;

struct frame_source {
    const source_ops *ops;
    source_info info;
};

#endif
