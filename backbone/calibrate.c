/*
 * Activation ranges for post-training quantization: each float tensor's
 * smallest and largest value over the calibration pictures (see calib_* in
 * backbone.h). The percentile method takes, in each picture, the values at
 * the given percentile from either end instead of the extremes, so that a
 * few outliers do not stretch the range; across pictures it still keeps the
 * widest of them, so no picture's bulk is clipped.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"

struct calib_ranges {
    int n_tensors;
    calib_method method;
    double percentile;
    float *lo, *hi;           /* per tensor; lo > hi: never seen */
    float *scratch;           /* percentile: a copy to select in */
    size_t scratch_cap;
    int failed;               /* out of memory inside an observation */
};

int calib_create(calib_ranges **out, int n_tensors, calib_method method, double percentile,
                 char *err, size_t errlen)
{
    *out = NULL;
    if (method == CALIB_PERCENTILE && !(percentile > 50.0 && percentile <= 100.0))
        return mnv_error(err, errlen, MNV_EINVAL,
                         "percentile %g: it must be above 50 and at most 100", percentile);
    calib_ranges *c = calloc(1, sizeof *c);
    if (c) {
        c->lo = malloc((size_t)(n_tensors > 0 ? n_tensors : 1) * sizeof(float));
        c->hi = malloc((size_t)(n_tensors > 0 ? n_tensors : 1) * sizeof(float));
    }
    if (!c || !c->lo || !c->hi) {
        calib_free(c);
        return mnv_error(err, errlen, MNV_ENOMEM, "calibration: out of memory");
    }
    c->n_tensors = n_tensors;
    c->method = method;
    c->percentile = percentile;
    for (int t = 0; t < n_tensors; t++)
        c->lo[t] = FLT_MAX, c->hi[t] = -FLT_MAX;
    *out = c;
    return 0;
}

void calib_free(calib_ranges *c)
{
    if (!c)
        return;
    free(c->lo);
    free(c->hi);
    free(c->scratch);
    free(c);
}

/* The k-th smallest of v[0..n) (k < n), reordering v: quickselect with the
 * middle element as pivot, Hoare's partition. */
static float select_kth(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                float t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

void calib_observe(void *ranges, int tensor, const float *data, size_t count)
{
    calib_ranges *c = ranges;
    if (tensor < 0 || tensor >= c->n_tensors || count == 0)
        return;
    float lo, hi;
    if (c->method == CALIB_PERCENTILE && c->percentile < 100.0) {
        if (count > c->scratch_cap) {
            float *s = realloc(c->scratch, count * sizeof *s);
            if (!s) {
                c->failed = 1;
                return;
            }
            c->scratch = s;
            c->scratch_cap = count;
        }
        memcpy(c->scratch, data, count * sizeof *data);
        /* rank of the percentile from the top; the same from the bottom */
        size_t cut = (size_t)((double)(count - 1) * (100.0 - c->percentile) / 100.0 + 0.5);
        hi = select_kth(c->scratch, count, count - 1 - cut);
        lo = select_kth(c->scratch, count, cut);
    } else {
        lo = hi = data[0];
        for (size_t i = 1; i < count; i++) {
            lo = data[i] < lo ? data[i] : lo;
            hi = data[i] > hi ? data[i] : hi;
        }
    }
    if (lo < c->lo[tensor])
        c->lo[tensor] = lo;
    if (hi > c->hi[tensor])
        c->hi[tensor] = hi;
}

int calib_failed(const calib_ranges *c)
{
    return c->failed;
}

int calib_range(const calib_ranges *c, int tensor, float *lo, float *hi)
{
    if (tensor < 0 || tensor >= c->n_tensors || c->lo[tensor] > c->hi[tensor])
        return -1;
    *lo = c->lo[tensor];
    *hi = c->hi[tensor];
    return 0;
}
