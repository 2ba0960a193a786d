/*
 * The SSD box coder (TF OD API faster_rcnn_box_coder): encodings are the
 * centre offset in anchor sizes and the log of the size ratio, each
 * multiplied by a fixed scale. And the overlap measure NMS uses.
 */
#include <math.h>

#include "ssdlite/ssdlite.h"

box box_decode(const float enc[4], const anchor *a, const float scales[4])
{
    double cy = (double)enc[0] / scales[0] * a->h + a->cy;
    double cx = (double)enc[1] / scales[1] * a->w + a->cx;
    double h = exp((double)enc[2] / scales[2]) * a->h;
    double w = exp((double)enc[3] / scales[3]) * a->w;
    return (box){
        .ymin = (float)(cy - h / 2),
        .xmin = (float)(cx - w / 2),
        .ymax = (float)(cy + h / 2),
        .xmax = (float)(cx + w / 2),
    };
}

/* An inverted box (max < min) covers nothing rather than a negative area. */
static double box_area(const box *b)
{
    double h = (double)b->ymax - b->ymin, w = (double)b->xmax - b->xmin;
    return h > 0 && w > 0 ? h * w : 0.0;
}

float box_iou(const box *a, const box *b)
{
    double ih = fmin(a->ymax, b->ymax) - fmax(a->ymin, b->ymin);
    double iw = fmin(a->xmax, b->xmax) - fmax(a->xmin, b->xmin);
    double inter = ih > 0 && iw > 0 ? ih * iw : 0.0;
    double uni = box_area(a) + box_area(b) - inter;
    /* also false for NaN, so a broken box never suppresses anything */
    if (!(uni > 0))
        return 0.0f;
    return (float)(inter / uni);
}
