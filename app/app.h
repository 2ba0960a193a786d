/*
 * app: the mnv2det program. The only folder with policy: which files to
 * load, how to print, threads, timing, exit codes.
 */
#ifndef MNV2DET_APP_H
#define MNV2DET_APP_H

#include <pthread.h>
#include <stdio.h>

#include "backbone/backbone.h"
#include "capture/capture.h"
#include "ssdlite/ssdlite.h"

#define MNV2DET_VERSION "0.1.0"
#define DETECT_MAX 1000

/* A model ready to run: network, settings, labels and anchors. */
typedef struct detector {
    net *net;
    ssd_config cfg;
    labels labels;            /* count 0 when none could be found */
    anchor *anchors;
    int n_anchors;
    int box_output, class_output;
    int n_classes;
    int in_h, in_w;
    detection *scratch;       /* n_anchors entries, reused every frame */
    resize_plan *resize;      /* for the last frame size seen; NULL if none or same size */
    int resize_w, resize_h;
    char model_path[SSD_PATH_MAX];
} detector;

/* Paths the user gave; NULL means "find it": the config is MODEL.cfg beside
 * the model if present (else built-in defaults), the labels come from the
 * config, else MODEL.labels.txt beside the model. */
typedef struct detector_paths {
    const char *model, *config, *labels;
} detector_paths;

int detector_open(detector *d, const detector_paths *p, const net_options *opt,
                  char *err, size_t errlen);
void detector_close(detector *d);

/* Timings of one detector_run, in milliseconds. */
typedef struct detect_timing { double preprocess_ms, inference_ms, postprocess_ms; } detect_timing;

/* Detect objects in one frame (RGB24 for now: other formats give
 * MNV_EUNSUPPORTED); boxes stay normalized to the frame.
 * Returns the number of detections written to out (at most max_out), or a
 * negative mnv_status when a frame of a new size cannot be planned for
 * (out of memory). Allocates only when the frame size changes. */
int detector_run(detector *d, const frame *f, detection *out, int max_out, detect_timing *t);

/* The label of a class, or a "class N" spelling written into buf. */
const char *detector_label(const detector *d, int class_id, char *buf, size_t buflen);

/* s as a JSON string literal, quotes and escapes included. */
void json_string(FILE *out, const char *s);

/* Results of one image, printed as one JSON object on one line, or as a
 * readable table. */
void report_json(FILE *out, const detector *d, const char *image, const frame *f,
                 const detection *dets, int n, const detect_timing *t);
void report_table(FILE *out, const detector *d, const char *image, const frame *f,
                  const detection *dets, int n, const detect_timing *t);

/* The default model path: models/ under the current directory when that
 * exists, else the installed data folder beside the program's own
 * (bin/../share/mnv2det/) when the model is there, else the source tree's
 * models/ folder the program was built from. */
const char *default_model_path(void);

/* Command-line numbers: the whole string must be a number within [lo, hi];
 * 0 on success, -1 otherwise (out untouched). */
int arg_int(const char *s, long lo, long hi, int *out);
int arg_float(const char *s, float lo, float hi, float *out);

/* ------------------------------------------------------------------------ */
/* Frames in flight: timestamps, the mailbox, the pipeline (pipeline.c)     */
/* ------------------------------------------------------------------------ */

/* CLOCK_MONOTONIC now, in ns (the clock V4L2 stamps buffers with). */
uint64_t mono_ns(void);

/* Where a frame has been, CLOCK_MONOTONIC ns; 0 = not reached. */
typedef struct frame_times {
    uint64_t captured;        /* the camera's buffer time; a paced file frame's due time;
                                 else when it was read */
    uint64_t dequeued;        /* the capture thread had it from the source */
    uint64_t taken;           /* the detector took it from the mailbox */
    uint64_t detect_start, detect_end;
    uint64_t presented;
} frame_times;

typedef struct live_frame { frame f; frame_times t; } live_frame;

/* One slot between the capture thread and the detector, newest wins. */
typedef struct mailbox {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    live_frame slot;
    int full, closed, held;   /* held: frames taken and not yet done */
    int status;               /* why it was closed: 0 end of stream, or an mnv_status */
    char err[512];
    uint64_t dropped, put;
} mailbox;

int mailbox_init(mailbox *m);
/* Gives back a frame still waiting in the slot. */
void mailbox_destroy(mailbox *m);
/* Post a frame (ownership passes; *lf is cleared). wait = 0: replace the one
 * waiting, which goes back to its source and counts as dropped; wait = 1:
 * block until the slot is empty. MNV_EINTR (frame given back) once closed. */
int mailbox_put(mailbox *m, live_frame *lf, int wait);
/* Take the waiting frame, blocking until there is one: 0; after a close with
 * nothing waiting, MNV_END (end of stream) or the close status. *dropped (if
 * non-NULL) gets the drops so far. Each frame taken is followed by one
 * mailbox_done once it has been given back to its source. */
int mailbox_take(mailbox *m, live_frame *lf, uint64_t *dropped);
void mailbox_done(mailbox *m);
/* No more frames: wake the taker. The first close's status and err stick. */
void mailbox_close(mailbox *m, int status, const char *err);
/* Give back the waiting frame, if any (1 if there was one). */
int mailbox_drain(mailbox *m);
/* Drain, then wait until every taken frame is done (before closing a source). */
void mailbox_wait_idle(mailbox *m);

typedef struct pipeline_options {
    int realtime;             /* pace file frames at their frame rate, dropping what the
                                 detector misses, as a camera would */
    int reconnect;            /* camera: wait for a vanished or stalled device and resume */
    /* With reconnect: opens the source again (a camera), 0 or an error; chosen
     * gets a line saying what was opened. */
    int (*reopen)(void *ctx, frame_source **src, char *chosen, size_t chosenlen,
                  char *err, size_t errlen);
    void *reopen_ctx;
    int skip_bad_inputs;      /* a picture that does not decode is reported and skipped */
    long max_frames;          /* stop after this many detections; 0: until the end */
} pipeline_options;

typedef struct pipeline_stats {
    uint64_t captured;        /* frames read from the source */
    uint64_t processed;       /* frames the detector ran on */
    uint64_t dropped;         /* replaced in the mailbox before the detector took them */
    uint64_t skipped;         /* lost by the source itself (camera sequence gaps) */
    uint64_t bad_inputs;      /* pictures skipped because they did not decode */
    int interrupted;          /* ended by SIGINT / SIGTERM */
} pipeline_stats;

/* Called with each processed frame, on the detector's thread; nonzero stops. */
typedef int (*frame_sink)(void *ctx, const live_frame *lf, const detection *dets, int n,
                          const detect_timing *t);

/* Run the source through the detector until the stream ends, max_frames,
 * the sink says stop, or SIGINT/SIGTERM (signals_start must have run). *src
 * may be replaced by a reconnect; the caller closes it. 0, or the source's
 * or detector's error with its line in err. */
int pipeline_run(detector *d, frame_source **src, const pipeline_options *o, frame_sink sink,
                 void *ctx, pipeline_stats *st, char *err, size_t errlen);

/* Block SIGINT and SIGTERM in this thread (call first in main, before any
 * thread exists) and start the thread that handles them. */
int signals_start(void);
/* What SIGINT/SIGTERM do from now on: call h(ctx, sig) on the watcher
 * thread; NULL restores the default (the process ends). */
void signals_set_handler(void (*h)(void *ctx, int sig), void *ctx);

/* `mnv2det bench ...`: returns the process exit status. */
int bench_main(int argc, char **argv);

#endif
