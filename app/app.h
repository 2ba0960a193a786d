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
 * exists, else the source tree's models/ folder the program was built from. */
const char *default_model_path(void);

/* Command-line numbers: the whole string must be a number within [lo, hi];
 * 0 on success, -1 otherwise (out untouched). */
int arg_int(const char *s, long lo, long hi, int *out);
int arg_float(const char *s, float lo, float hi, float *out);

/* `mnv2det --list-devices`: every video capture device with its driver,
 * card, formats, sizes and frame rates, as a readable table or (json) as one
 * JSON object {"devices": [...]} on one line. 0, or a negative mnv_status
 * with one line in err (no camera support in this build, /dev unreadable);
 * no device at all is not an error. */
int devices_print(FILE *out, int json, char *err, size_t errlen);

/* `mnv2det bench ...`: returns the process exit status. */
int bench_main(int argc, char **argv);

#endif
