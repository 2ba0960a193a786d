/*
 * app: the mnv2det program. The only folder with policy: which files to
 * load, how to print, threads, timing, exit codes.
 */
#ifndef MNV2DET_APP_H
#define MNV2DET_APP_H

#include <stdio.h>

#include "backbone/backbone.h"
#include "capture/capture.h"
#include "ssdlite/ssdlite.h"

#define MNV2DET_VERSION "0.1.0"
/* Error buffers: room for two paths of PATH_MAX (4096) and the reason;
 * longer messages lose their middle, not the reason (mnv_error). */
#define APP_ERR_MAX 10240

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
 * exists, else the source tree's models/ folder the program was built from. */
const char *default_model_path(void);

/* Command-line numbers: the whole string must be a number within [lo, hi];
 * 0 on success, -1 otherwise (out untouched). */
int arg_int(const char *s, long lo, long hi, int *out);
int arg_float(const char *s, float lo, float hi, float *out);

/* The cap on the kernels' ISA: flag (--isa's value) when not NULL, else the
 * environment variable MNV2DET_ISA when set and not empty, else the best this
 * CPU runs. An unknown name or one this CPU or build cannot run is refused
 * (MNV_EINVAL, naming --isa or MNV2DET_ISA), even when --isa overrides the
 * variable: a stale setting should not go unnoticed. */
int isa_choose(const char *flag, mnv_isa *out, char *err, size_t errlen);

/* `mnv2det bench ...`: returns the process exit status. */
int bench_main(int argc, char **argv);

#endif
