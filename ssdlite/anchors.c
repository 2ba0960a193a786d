/*
 * SSD anchors as the TF Object Detection API's ssd_anchor_generator lays
 * them out (multiple_grid_anchor_generator.create_ssd_anchors): the head's
 * box encodings are relative to exactly these boxes, in this order.
 * Computed in double and stored as float, as the reference does.
 */
#include <math.h>

#include "ssdlite/ssdlite.h"

/* Scale of layer i; layer num_layers (one past the last) is 1.0, the partner
 * of the last layer's interpolated anchor. */
static double layer_scale(const ssd_config *c, int i)
{
    int n = c->num_layers;
    if (i >= n)
        return 1.0;
    /* TF divides by n - 1 and so has no answer for one layer; the midpoint is
     * what MediaPipe's anchor calculator uses there. */
    if (n == 1)
        return ((double)c->min_scale + c->max_scale) / 2;
    return c->min_scale + ((double)c->max_scale - c->min_scale) * i / (n - 1);
}

typedef struct anchor_spec { double scale, ratio; } anchor_spec;

/* The (scale, aspect ratio) of each anchor of one cell of layer; returns the
 * count (at most SSD_MAX_ASPECT + 1). */
static int layer_specs(const ssd_config *c, int layer, anchor_spec *spec)
{
    double s = layer_scale(c, layer);
    int n = 0;
    if (layer == 0 && c->reduce_boxes_in_lowest_layer) {
        /* Fixed by the TF OD API, whatever the configured ratios. */
        spec[n++] = (anchor_spec){0.1, 1.0};
        spec[n++] = (anchor_spec){s, 2.0};
        spec[n++] = (anchor_spec){s, 0.5};
        return n;
    }
    for (int i = 0; i < c->n_aspect_ratios && i < SSD_MAX_ASPECT; i++)
        spec[n++] = (anchor_spec){s, c->aspect_ratios[i]};
    if (c->interpolated_scale_aspect_ratio > 0)
        spec[n++] = (anchor_spec){sqrt(s * layer_scale(c, layer + 1)),
                                  c->interpolated_scale_aspect_ratio};
    return n;
}

int anchors_per_cell(const ssd_config *c, int layer)
{
    if (layer < 0 || layer >= c->num_layers)
        return 0;
    if (layer == 0 && c->reduce_boxes_in_lowest_layer)
        return 3;
    int n = c->n_aspect_ratios < SSD_MAX_ASPECT ? c->n_aspect_ratios : SSD_MAX_ASPECT;
    return (n > 0 ? n : 0) + (c->interpolated_scale_aspect_ratio > 0);
}

static int check_config(const ssd_config *c, char *err, size_t errlen)
{
    if (c->num_layers < 1 || c->num_layers > SSD_MAX_LAYERS)
        return mnv_error(err, errlen, MNV_EINVAL, "anchors: num_layers %d is outside [1, %d]",
                         c->num_layers, SSD_MAX_LAYERS);
    if (c->n_aspect_ratios < 0 || c->n_aspect_ratios > SSD_MAX_ASPECT)
        return mnv_error(err, errlen, MNV_EINVAL, "anchors: %d aspect ratios, at most %d",
                         c->n_aspect_ratios, SSD_MAX_ASPECT);
    for (int i = 0; i < c->n_aspect_ratios; i++)
        if (!(c->aspect_ratios[i] > 0 && isfinite(c->aspect_ratios[i])))
            return mnv_error(err, errlen, MNV_EINVAL, "anchors: aspect ratio %g is not positive",
                             (double)c->aspect_ratios[i]);
    if (!(c->min_scale > 0 && c->min_scale <= c->max_scale && isfinite(c->max_scale)))
        return mnv_error(err, errlen, MNV_EINVAL,
                         "anchors: need 0 < min_scale <= max_scale, got %g and %g",
                         (double)c->min_scale, (double)c->max_scale);
    return 0;
}

int anchors_generate(const ssd_config *c, const int *fm_h, const int *fm_w, int n_maps,
                     anchor *out, int max, char *err, size_t errlen)
{
    int rc = check_config(c, err, errlen);
    if (rc)
        return rc;
    if (n_maps != c->num_layers)
        return mnv_error(err, errlen, MNV_EINVAL,
                         "anchors: the model has %d feature maps but the config has num_layers %d",
                         n_maps, c->num_layers);

    long long total = 0;
    for (int l = 0; l < n_maps; l++) {
        if (fm_h[l] < 1 || fm_w[l] < 1)
            return mnv_error(err, errlen, MNV_EINVAL, "anchors: feature map %d is %dx%d", l,
                             fm_h[l], fm_w[l]);
        long long cells = (long long)fm_h[l] * fm_w[l]; /* < 2^62 */
        int per_cell = anchors_per_cell(c, l);
        if (per_cell > 0 && cells > (max - total) / per_cell)
            return mnv_error(err, errlen, MNV_EINVAL,
                             "anchors: the feature maps need more than the %d anchors there is room for",
                             max);
        total += cells * per_cell;
    }

    int k = 0;
    for (int l = 0; l < n_maps; l++) {
        anchor_spec spec[SSD_MAX_ASPECT + 1];
        int per_cell = layer_specs(c, l, spec);
        double off = c->anchor_offset;
        for (int y = 0; y < fm_h[l]; y++)
            for (int x = 0; x < fm_w[l]; x++)
                for (int a = 0; a < per_cell; a++) {
                    double r = sqrt(spec[a].ratio);
                    out[k++] = (anchor){
                        .cy = (float)((y + off) / fm_h[l]),
                        .cx = (float)((x + off) / fm_w[l]),
                        .h = (float)(spec[a].scale / r),
                        .w = (float)(spec[a].scale * r),
                    };
                }
    }
    return k;
}
