/*
 * From the head's raw outputs to a short list of detections: best class and
 * score per anchor, threshold, sort, decode, NMS.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ssdlite/ssdlite.h"

/* The best class of one row in [first, n), NaN never winning; -1 if every
 * value is NaN. Ties go to the lower class id, as numpy's argmax does. */
static int best_class(const float *row, int first, int n)
{
    int best = -1;
    for (int j = first; j < n; j++)
        if (!isnan(row[j]) && (best < 0 || row[j] > row[best]))
            best = j;
    return best;
}

/* Score of class k of one row. The sigmoid is monotonic, so the best logit
 * is the best class and only one exp per anchor is needed. Double precision,
 * so that scores close together keep the reference's order. */
static double class_score(score_fn fn, const float *row, int n, int k)
{
    switch (fn) {
    case SCORE_SOFTMAX: {
        /* over all classes, background included; subtracting the largest
         * logit keeps every exp in (0, 1] */
        int top = best_class(row, 0, n);
        double sum = 0;
        for (int j = 0; j < n; j++)
            sum += exp((double)row[j] - row[top]);
        return exp((double)row[k] - row[top]) / sum;
    }
    case SCORE_IDENTITY:
        return row[k];
    case SCORE_SIGMOID:
        break;
    }
    return 1.0 / (1.0 + exp(-(double)row[k]));
}

/* Until the sort is done a candidate's class_id holds its anchor index and
 * its (not yet decoded) bbox holds the score as a double: scores a float
 * cannot tell apart must still sort as the reference's double scores do. */
_Static_assert(sizeof(box) >= sizeof(double), "a box has room for a double");

static void set_sort_key(detection *d, int anchor_index, double score)
{
    d->class_id = anchor_index;
    d->score = (float)score;
    memcpy(&d->bbox, &score, sizeof score);
}

static double sort_key(const detection *d)
{
    double s;
    memcpy(&s, &d->bbox, sizeof s);
    return s;
}

/* Best score first; equal scores in anchor order, so that the result is
 * that of a stable sort whatever qsort does. */
static int by_score_then_anchor(const void *pa, const void *pb)
{
    const detection *a = pa, *b = pb;
    double sa = sort_key(a), sb = sort_key(b);
    if (sa != sb)
        return sa > sb ? -1 : 1;
    return (a->class_id > b->class_id) - (a->class_id < b->class_id);
}

int ssd_postprocess(const ssd_config *c, const anchor *anchors, int n_anchors,
                    const float *box_enc, const float *logits, int n_classes,
                    detection *scratch, detection *out, int max_out)
{
    int first = c->background_class ? 1 : 0;
    if (n_anchors <= 0 || n_classes <= first || max_out <= 0)
        return 0;

    int n = 0;
    for (int i = 0; i < n_anchors; i++) {
        const float *row = logits + (size_t)i * (size_t)n_classes;
        int k = best_class(row, first, n_classes);
        if (k < 0)
            continue;
        double s = class_score(c->score, row, n_classes, k);
        if (s >= c->score_threshold)
            set_sort_key(&scratch[n++], i, s);
    }
    qsort(scratch, (size_t)n, sizeof *scratch, by_score_then_anchor);

    for (int i = 0; i < n; i++) {
        int a = scratch[i].class_id;
        const float *row = logits + (size_t)a * (size_t)n_classes;
        scratch[i].class_id = best_class(row, first, n_classes);
        scratch[i].bbox = box_decode(box_enc + (size_t)a * 4, &anchors[a], c->box_scales);
    }

    int cap = c->max_detections < max_out ? c->max_detections : max_out;
    int kept = nms_greedy(scratch, n, c->nms_iou, c->per_class_nms, cap);
    if (kept > 0)
        memmove(out, scratch, (size_t)kept * sizeof *out);
    return kept;
}
