/*
 * ssdlite: everything after the backbone's raw outputs. The model config file
 * (what a TFLite file does not carry), anchors, box decoding, scores, NMS and
 * labels. Output: detections with normalized corners.
 *
 * Errors: 0 on success or a negative mnv_status (backbone.h) with one line in
 * the caller's err buffer. Nothing here prints or exits.
 */
#ifndef MNV2DET_SSDLITE_H
#define MNV2DET_SSDLITE_H

#include <stddef.h>
#include "backbone/backbone.h"

#define SSD_MAX_LAYERS 8
#define SSD_MAX_ASPECT 8
/* The most detections per image, for the config's max_detections and the
 * command line's --max alike; both refuse more with the same words. */
#define SSD_MAX_DETECTIONS 1000
#define SSD_MAX_DETECTIONS_WHY "the most detections per image"

typedef enum score_fn { SCORE_SIGMOID = 0, SCORE_SOFTMAX = 1, SCORE_IDENTITY = 2 } score_fn;

/* Settings of one SSD model. Field defaults (ssd_config_defaults) are the TF
 * Object Detection API's ssd_mobilenet_v2 pipeline, which is also the default
 * model's. */
typedef struct ssd_config {
    /* files, resolved relative to the config file's folder when relative;
     * NULL when not set, else owned (ssd_config_free) */
    char *model, *labels;
    int model_line, labels_line; /* their lines in the file that set them */
    /* pre-processing: x = (px - input_mean) / input_std */
    float input_mean, input_std;
    /* anchors (TF OD API multiple_grid_anchor_generator / ssd_anchor_generator) */
    int num_layers;             /* must match the model's feature maps */
    float min_scale, max_scale;
    int n_aspect_ratios;
    float aspect_ratios[SSD_MAX_ASPECT];
    float interpolated_scale_aspect_ratio; /* 0: no interpolated anchor */
    int reduce_boxes_in_lowest_layer;      /* lowest layer: (0.1,1), (s,2), (s,0.5) */
    float anchor_offset;        /* cell centre = (i + offset) / size */
    /* box coder (ty, tx, th, tw) scales */
    float box_scales[4];
    /* scores */
    score_fn score;
    int background_class;       /* 1: class 0 is background and never reported */
    float score_threshold;
    float nms_iou;              /* suppress when IoU > nms_iou */
    int max_detections;         /* 1 .. SSD_MAX_DETECTIONS */
    int per_class_nms;          /* 0: class-agnostic greedy NMS */
} ssd_config;

/* The defaults, no paths. Overwrites c without freeing what it held. */
void ssd_config_defaults(ssd_config *c);

/* Read "key = value" lines ('#' comments, blank lines, a UTF-8 byte-order
 * mark at the start) over what c holds. Unknown keys and bad values are
 * errors naming file, line and key, and leave c as it was. The format is
 * documented in the README. */
int ssd_config_load(ssd_config *c, const char *path, char *err, size_t errlen);

/* Free the paths a load set (safe on defaults); c keeps its other fields. */
void ssd_config_free(ssd_config *c);

typedef struct anchor { float cy, cx, h, w; } anchor;

/* Anchors per cell on feature map layer (0-based) under c. */
int anchors_per_cell(const ssd_config *c, int layer);

/* Generate anchors for n_maps feature maps of fm_h[i] x fm_w[i] cells, in the
 * order y, x, anchor of each map, maps in order. Writes at most max anchors;
 * returns the number generated or a negative mnv_status (n_maps differs from
 * c->num_layers, or max too small). */
int anchors_generate(const ssd_config *c, const int *fm_h, const int *fm_w, int n_maps,
                     anchor *out, int max, char *err, size_t errlen);

/* Box corners in normalized image coordinates (not clipped). */
typedef struct box { float ymin, xmin, ymax, xmax; } box;

/* Decode one encoding (ty, tx, th, tw) against its anchor. */
box box_decode(const float enc[4], const anchor *a, const float scales[4]);

/* Intersection over union; 0 when the union is empty. */
float box_iou(const box *a, const box *b);

typedef struct detection {
    int class_id;             /* index into the label map */
    float score;
    box bbox;                 /* normalized, not clipped */
} detection;

/* Greedy NMS over dets[0..n), which must be sorted by score, descending:
 * keeps a detection unless it overlaps (IoU > iou) one kept before it
 * (only of the same class if per_class). Compacts dets in place and returns
 * the number kept, at most max_keep. */
int nms_greedy(detection *dets, int n, float iou, int per_class, int max_keep);

/* The whole post-processing: decode boxes, turn logits into scores (c->score),
 * best non-background class per box, threshold, sort by score (stable),
 * NMS, cap at c->max_detections. scratch must hold n_anchors detections;
 * results go to out (capacity max_out). Returns the number of detections. */
int ssd_postprocess(const ssd_config *c, const anchor *anchors, int n_anchors,
                    const float *box_enc, const float *logits, int n_classes,
                    detection *scratch, detection *out, int max_out);

/* Label map: one label per line, line i = class i. */
typedef struct labels { char **names; int count; } labels;
int labels_load(labels *l, const char *path, char *err, size_t errlen);
void labels_free(labels *l);
/* The name of class id, or NULL when out of range. */
const char *labels_get(const labels *l, int id);

#endif
