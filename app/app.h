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
#include "display/display.h"
#include "ssdlite/ssdlite.h"

#define MNV2DET_VERSION "0.1.0"
/* Error buffers: room for two paths of PATH_MAX (4096) and the reason;
 * longer messages lose their middle, not the reason (mnv_error). */
#define APP_ERR_MAX 10240
/* --threads 1,2,...: at most this many team sizes in one benchmark */
#define APP_MAX_THREAD_RUNS 16

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
    char *model_path;         /* the model loaded */
    char *config_path;        /* the settings file read, NULL for the built-in defaults */
    unsigned char *keep;      /* --classes: keep[c] for each class; NULL: all */
} detector;

/* Paths the user gave; NULL means "find it":
 * - settings: the config, else MODEL.cfg beside the model if present, else
 *   the built-in defaults;
 * - model: the config's `model` (relative to the config's folder), else the
 *   default model;
 * - labels: the settings' `labels`; else, when a config was given, the
 *   `labels` of MODEL.cfg beside the model; else MODEL.labels.txt beside the
 *   model if present; else none (classes are called "class N").
 * A file named in a settings file that cannot be loaded is an error naming
 * that file and line. */
typedef struct detector_paths {
    const char *model, *config, *labels;
} detector_paths;

int detector_open(detector *d, const detector_paths *p, const net_options *opt,
                  char *err, size_t errlen);
void detector_close(detector *d);

/* Write frame f, pre-processed, into the network's input: what
 * detector_run does before it runs the network. MNV_EUNSUPPORTED for an
 * unknown pixel format, MNV_ENOMEM when a new frame size cannot be planned. */
int detector_prepare(detector *d, const frame *f);

/* path with its ".tflite" ending (if any) replaced by suffix, newly
 * allocated; NULL when out of memory. */
char *model_sibling(const char *path, const char *suffix);

/* Timings of one detector_run, in milliseconds. */
typedef struct detect_timing { double preprocess_ms, inference_ms, postprocess_ms; } detect_timing;

/* Detect objects in one frame of any mnv_pixfmt (RGB24, YUYV, NV12, I420:
 * read as it is by preprocess_image; an unknown format gives
 * MNV_EUNSUPPORTED); boxes stay normalized to the frame.
 * Returns the number of detections written to out (at most max_out), or a
 * negative mnv_status when a frame of a new size cannot be planned for
 * (out of memory). Allocates only when the frame size changes. */
int detector_run(detector *d, const frame *f, detection *out, int max_out, detect_timing *t);

/* The label of a class, or a "class N" spelling written into buf. */
const char *detector_label(const detector *d, int class_id, char *buf, size_t buflen);

/* s as a JSON string literal, quotes and escapes included. The output is
 * always valid UTF-8: each byte of s that is not part of a well-formed UTF-8
 * character is written as U+FFFD. */
void json_string(FILE *out, const char *s);

/* Results of one image, printed as one JSON object on one line, or as a
 * readable table. */
void report_json(FILE *out, const detector *d, const char *image, const frame *f,
                 const detection *dets, int n, const detect_timing *t);
void report_table(FILE *out, const detector *d, const char *image, const frame *f,
                  const detection *dets, int n, const detect_timing *t);

/* Flush out. When that or any earlier write to it failed, print one line
 * "who: writing output: reason" on stderr and return 1 (the exit status of
 * an output failure); else 0. */
int output_finish(FILE *out, const char *who);

/* The default model path: models/ under the current directory when that
 * exists, else the installed data folder beside the program's own
 * (bin/../share/mnv2det/) when the model is there, else the source tree's
 * models/ folder the program was built from. */
const char *default_model_path(void);
/* The int8 default model (what `mnv2det quantize` writes and
 * scripts/fetch-model makes), looked for the same way. */
const char *default_int8_model_path(void);
/* --int8: *path gets default_int8_model_path(); 0 when that file exists,
 * else MNV_EIO with one line naming the file and how to make it. */
int int8_model_find(const char **path, char *err, size_t errlen);

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
    uint64_t detect_start, detect_end;  /* detect_end: detections ready (after post-processing) */
    uint64_t display_start;   /* the display (or, headless, the output) began with it */
    uint64_t presented;       /* on screen (SDL_RenderPresent returned); headless: 0 */
} frame_times;

typedef struct live_frame {
    frame f;
    frame_times t;
    uint64_t dropped;         /* frames the mailbox had dropped when this one was taken */
    uint64_t skipped;         /* frames the source had lost up to this one */
} live_frame;

/* One video or camera frame's results as one JSON line: source, frame
 * number, capture timestamp (CLOCK_MONOTONIC s), pts, size, format, drops,
 * latency from capture to detections, timing, detections; or as a table. */
void report_frame_json(FILE *out, const detector *d, const live_frame *lf, const detection *dets, int n,
                       const detect_timing *t);
void report_frame_table(FILE *out, const detector *d, const live_frame *lf, const detection *dets, int n,
                        const detect_timing *t);

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

/* --reconnect's retry interval: short enough that a camera that is back
 * streams again well within a second; an open that fails costs next to
 * nothing. */
#define RECONNECT_INTERVAL_MS 200

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
    int threads;              /* the detector's OpenMP team size (set on the thread that
                                 runs the detector: OpenMP's setting is per thread);
                                 0: the calling thread's */
    struct pipeline_control *control;  /* NULL, or lets other threads stop the run */
} pipeline_options;

/* Stops a pipeline_run from another thread (the display's, on q). */
typedef struct pipeline_control {
    pthread_mutex_t mu;
    struct pipeline *running; /* set while pipeline_run runs */
    int stop_requested;       /* sticky: a run that starts after the request stops at once */
    /* NULL, or called whenever the run is asked to stop (SIGINT, SIGTERM,
     * pipeline_control_stop), on the asking thread, which may hold the
     * signal handler's lock: it may only set flags and wake threads, e.g. a
     * sink blocked on a condition of its own, which the pipeline's own
     * wake-ups cannot reach. Set before the run. */
    void (*on_stop)(void *ctx);
    void *on_stop_ctx;
} pipeline_control;

int pipeline_control_init(pipeline_control *c);
void pipeline_control_destroy(pipeline_control *c);
/* Ask the run to stop as SIGINT would: the source is interrupted and
 * pipeline_run returns with stats->interrupted set. Any thread. */
void pipeline_control_stop(pipeline_control *c);

typedef struct pipeline_stats {
    uint64_t captured;        /* frames read from the source */
    uint64_t processed;       /* frames the detector ran on */
    uint64_t dropped;         /* replaced in the mailbox before the detector took them */
    uint64_t skipped;         /* lost by the source itself (camera sequence gaps) */
    uint64_t bad_inputs;      /* pictures skipped because they did not decode */
    uint64_t unfinished;      /* read, then neither processed nor dropped: the run ended
                                 (captured = processed + dropped + unfinished) */
    uint64_t t_first_capture; /* CLOCK_MONOTONIC ns of the first frame's capture time; 0: none */
    int interrupted;          /* ended by SIGINT / SIGTERM or pipeline_control_stop */
    uint64_t not_presented;   /* live_run: processed, then replaced before the window showed them */
    int output_failed;        /* live_run: writing results to stdout failed (reported) */
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

/* ------------------------------------------------------------------------ */
/* Latency benchmarking (latency.c, latency_plot.c)                         */
/* ------------------------------------------------------------------------ */

/* One processed frame, as the benchmark keeps it. */
typedef struct latency_record {
    uint64_t seq;             /* the frame's number from its source */
    frame_times t;
    double preprocess_ms, inference_ms, postprocess_ms;  /* detect_timing */
    uint64_t dropped;         /* mailbox drops so far when it was taken */
    uint64_t skipped;         /* frames the source had lost so far */
    int n_detections;
} latency_record;

/* The stages of a frame's way, in order; each is the difference of two of
 * its timestamps or one of its detect_timing figures. */
typedef enum latency_stage {
    LAT_CAPTURE_TO_DEQUEUE,   /* dequeued - captured */
    LAT_MAILBOX_WAIT,         /* taken - dequeued */
    LAT_PREPROCESS,           /* preprocess_ms */
    LAT_INFERENCE,            /* inference_ms */
    LAT_POSTPROCESS,          /* postprocess_ms */
    LAT_DISPLAY,              /* presented - detect_end: waiting for, drawing and presenting
                                 (only frames that were presented) */
    LAT_END_TO_END,           /* presented - captured; headless: detect_end - captured */
    LAT_N_STAGES
} latency_stage;

/* Short name of a stage for tables, CSV and JSON keys, e.g. "inference". */
const char *latency_stage_name(latency_stage s);

/* Order statistics of one stage over a run, in ms. Percentiles are nearest
 * rank: the p-th is the smallest value v with at least p% of the values <= v
 * (the sorted values' element ceil(p/100 * n) - 1). n 0: all figures 0. */
typedef struct latency_stats {
    size_t n;
    double median, p90, p99, max;
} latency_stats;

/* A run's records and counts. */
typedef struct latency_run {
    int threads;              /* the detector's team size */
    int headless;             /* end to end ends at detections, not at the screen */
    latency_record *rec;      /* processed frames, in order */
    size_t n, cap;
    uint64_t captured;        /* frames read from the source */
    uint64_t dropped;         /* frames the mailbox replaced before detection */
    uint64_t unfinished;      /* read but neither processed nor dropped (the run ended) */
    uint64_t skipped;         /* frames the source itself lost (camera sequence gaps) */
    uint64_t not_presented;   /* processed, then replaced before the window showed them */
    uint64_t t_start, t_end;  /* CLOCK_MONOTONIC ns: first capture, last frame done */
} latency_run;

/* Empty run with room for expect records (grows as needed). MNV_ENOMEM. */
int latency_run_init(latency_run *r, int threads, int headless, size_t expect);
int latency_run_add(latency_run *r, const latency_record *rec);
void latency_run_free(latency_run *r);

/* Figures of a run: every stage's statistics, frame and detection rates. */
typedef struct latency_summary {
    int threads, headless;
    latency_stats stage[LAT_N_STAGES];
    size_t processed;
    uint64_t captured, dropped, unfinished, skipped, not_presented;
    double seconds;           /* t_end - t_start */
    double capture_fps;       /* captured / seconds: the source's achieved rate */
    double detection_fps;     /* processed / seconds */
} latency_summary;

/* MNV_ENOMEM (a sort buffer) or 0. */
int latency_summarize(const latency_run *r, latency_summary *s);

/* One readable table over several runs (one block of rows per team size),
 * or, json, one object {"runs": [{"threads": 1, "frames": ..., "stages":
 * {"inference": {"median": ...}, ...}}, ...]} on one line. */
void latency_report_table(FILE *out, const latency_summary *s, int n);
void latency_report_json(FILE *out, const latency_summary *s, int n);

/* One CSV row per record with every timestamp (ms from the run's t_start)
 * and figure, under a header line; runs after the first follow with their
 * own threads column value. 0, or MNV_EIO when a write failed. */
int latency_write_csv(FILE *out, const latency_run *runs, int n);

/* An SVG picture: end-to-end and inference latency of each frame over
 * time (one line per run), and a histogram of end-to-end latency. 0 or
 * MNV_EIO. */
int latency_write_svg(FILE *out, const latency_run *runs, int n, const char *title);

/* ------------------------------------------------------------------------ */
/* Each frame's way out: printed, timed, recorded, shown (live.c)           */
/* ------------------------------------------------------------------------ */

typedef struct live_config {
    int print, json;          /* print each frame's results (report_*), as JSON lines */
    const char *record;       /* --record: annotated frames to this video file; NULL: none */
    int progress;             /* a progress line on stderr (a terminal) */
    long progress_total;      /* frames the run is to process, for the progress line */
    int threads;              /* the detector's team size, for the heads-up line */
} live_config;

/* Run the source through the detector (pipeline_run) with each frame's
 * results printed, recorded, timed into lat (NULL: not timed) and, when dsp
 * is not NULL, shown in that window, which must belong to the calling
 * thread: detection then runs on a thread of its own while this one shows
 * frames and answers keys (q, Esc or closing the window stop the run like
 * SIGINT; space pauses the picture; s saves a screenshot in the current
 * folder; + and - change the score threshold). 0, or the first error with
 * its line in err (the source's, the detector's, the recording's). */
int live_run(const live_config *cfg, detector *d, frame_source **src, const pipeline_options *po,
             display *dsp, latency_run *lat, pipeline_stats *st, char *err, size_t errlen);

/* --classes: keep only detections whose label is one of list's
 * comma-separated names (case-insensitive). A name the model does not have
 * is MNV_EINVAL with a line listing the model's labels. NULL list: all. */
int detector_keep_classes(detector *d, const char *list, char *err, size_t errlen);

/* Block SIGINT and SIGTERM in this thread (call first in main, before any
 * thread exists) and start the thread that handles them. */
int signals_start(void);
/* What SIGINT/SIGTERM do from now on: call h(ctx, sig) on the watcher
 * thread; NULL restores the default (the process ends). */
void signals_set_handler(void (*h)(void *ctx, int sig), void *ctx);
/* The cap on the kernels' ISA: flag (--isa's value) when not NULL, else the
 * environment variable MNV2DET_ISA when set and not empty, else the best this
 * CPU runs. An unknown name or one this CPU or build cannot run is refused
 * (MNV_EINVAL, naming --isa or MNV2DET_ISA), even when --isa overrides the
 * variable: a stale setting should not go unnoticed. */
int isa_choose(const char *flag, mnv_isa *out, char *err, size_t errlen);
/* The memory cap for a model, a picture or a video frame (see
 * MNV_DEFAULT_MAX_MEMORY): MNV2DET_MAX_MEMORY_MB MiB when the variable is set
 * and not empty, else the default. A value that is not a whole number from
 * 1 to 1048576 (1 TiB) is refused (MNV_EINVAL, naming the variable). */
int memory_limit_from_env(size_t *bytes, char *err, size_t errlen);
/* `mnv2det --list-devices`: every video capture device with its driver,
 * card, formats, sizes and frame rates, as a readable table or (json) as one
 * JSON object {"devices": [...]} on one line. 0, or a negative mnv_status
 * with one line in err (no camera support in this build, /dev unreadable);
 * no device at all is not an error. */
int devices_print(FILE *out, int json, char *err, size_t errlen);

/* `mnv2det bench ...`: returns the process exit status. */
int bench_main(int argc, char **argv);
/* mnv2det quantize: calibrate a float model and write its int8 version. */
int quantize_main(int argc, char **argv);

/* Times of pre-processing one frame of a format and size into an out_w x
 * out_h input: fused (preprocess_image) and convert-then-resize
 * (mnv_image_to_rgb24, then preprocess_rgb24); median and fastest run. */
typedef struct preprocess_timing {
    mnv_pixfmt format;
    int width, height;
    double fused_ms, separate_ms;
    double fused_min_ms, separate_min_ms;
} preprocess_timing;

/* Time YUYV and NV12 frames of 640x480 and 1280x720, made from a real
 * picture (the source tree's tests/data/messi5.jpg; noise when it is not
 * there, *picture says which), iters runs after warmup each, at the current
 * OpenMP thread count. Returns the number of results written (at most
 * max_res), or MNV_ENOMEM. */
int bench_preprocess(int out_w, int out_h, int iters, int warmup, preprocess_timing *res, int max_res,
                     const char **picture);

#endif
