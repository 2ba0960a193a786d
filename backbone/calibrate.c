/*
 * Activation ranges for post-training quantization: each float tensor's
 * smallest and largest value over the calibration pictures (see calib_* in
 * backbone.h). The percentile method takes, in each picture, the values at
 * the given percentile from either end instead of the extremes, so that a
 * few outliers do not stretch the range; across pictures it still keeps the
 * widest of them, so no picture's bulk is clipped.
 *
 * Beside each range, the same range without isolated low values
 * (calib_range_cut): in a picture, the few lowest values that lie further
 * below the rest than the rest's own extent. The default model's smallest
 * box predictor gives one anchor (the top left corner cell, 0.1 x 1.0) the
 * height and width encodings -80.6 in every picture, where the other 4330
 * values stay within [-13, 5.6]: a box of 1e-8 of the image, quantized on
 * the full range, would cost every box of that predictor 4.6 times its
 * resolution.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"

struct calib_ranges {
    int n_tensors;
    calib_method method;
    double percentile;
    float *lo, *hi;           /* per tensor; lo > hi: never seen */
    float *cut_lo;            /* per tensor: lo without isolated low values */
    float *scratch;           /* percentile: a copy to select in */
    size_t scratch_cap;
    int failed;               /* out of memory inside an observation */
    /* bias correction (bias_probe_apply): per tensor, NULL or shift_n[t]
     * values; both arrays made on the first shift */
    float **shift;
    int *shift_n;
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
        c->cut_lo = malloc((size_t)(n_tensors > 0 ? n_tensors : 1) * sizeof(float));
    }
    if (!c || !c->lo || !c->hi || !c->cut_lo) {
        calib_free(c);
        return mnv_error(err, errlen, MNV_ENOMEM, "calibration: out of memory");
    }
    c->n_tensors = n_tensors;
    c->method = method;
    c->percentile = percentile;
    for (int t = 0; t < n_tensors; t++)
        c->lo[t] = c->cut_lo[t] = FLT_MAX, c->hi[t] = -FLT_MAX;
    *out = c;
    return 0;
}

void calib_free(calib_ranges *c)
{
    if (!c)
        return;
    free(c->lo);
    free(c->hi);
    free(c->cut_lo);
    free(c->scratch);
    if (c->shift)
        for (int t = 0; t < c->n_tensors; t++)
            free(c->shift[t]);
    free(c->shift);
    free(c->shift_n);
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

/* How many of a picture's lowest values calib_observe keeps to find
 * isolated ones among, and the share of all values they may be at most. */
#define CUT_KEEP 8
#define CUT_SHARE 1000 /* at most 1 in CUT_SHARE values */

/* The lowest value of a picture's tensor once isolated low values are left
 * out: low[0..n) its n lowest values ascending, hi its highest, count its
 * size. The j lowest are isolated when the gap above them exceeds the
 * extent of everything above it (low[j] - low[j-1] > hi - low[j]) and
 * they are at most 1 in CUT_SHARE of the values; the largest such j wins. */
static float isolated_low_cut(const float *low, int n, float hi, size_t count)
{
    float cut = low[0];
    for (int j = 1; j < n && (size_t)j * CUT_SHARE <= count; j++)
        if (low[j] - low[j - 1] > hi - low[j])
            cut = low[j];
    return cut;
}

void calib_observe(void *ranges, int tensor, const float *data, size_t count)
{
    calib_ranges *c = ranges;
    if (tensor < 0 || tensor >= c->n_tensors || count == 0)
        return;
    float lo, hi, cut;
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
        size_t rank = (size_t)((double)(count - 1) * (100.0 - c->percentile) / 100.0 + 0.5);
        hi = select_kth(c->scratch, count, count - 1 - rank);
        lo = select_kth(c->scratch, count, rank);
        cut = lo; /* the percentile has left the outliers out already */
    } else {
        /* the CUT_KEEP lowest values, ascending, kept by insertion */
        float low[CUT_KEEP];
        int n_low = 0;
        hi = data[0];
        for (size_t i = 0; i < count; i++) {
            const float x = data[i];
            hi = x > hi ? x : hi;
            if (n_low == CUT_KEEP && !(x < low[CUT_KEEP - 1]))
                continue;
            int k = n_low < CUT_KEEP ? n_low++ : CUT_KEEP - 1;
            for (; k > 0 && low[k - 1] > x; k--)
                low[k] = low[k - 1];
            low[k] = x;
        }
        lo = low[0];
        cut = isolated_low_cut(low, n_low, hi, count);
    }
    if (cut < c->cut_lo[tensor])
        c->cut_lo[tensor] = cut;
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

int calib_range_cut(const calib_ranges *c, int tensor, float *lo, float *hi)
{
    if (calib_range(c, tensor, lo, hi) != 0)
        return -1;
    *lo = c->cut_lo[tensor];
    return 0;
}

const float *calib_bias_shift(const calib_ranges *c, int tensor, int *channels)
{
    *channels = 0;
    if (!c->shift || tensor < 0 || tensor >= c->n_tensors || !c->shift[tensor])
        return NULL;
    *channels = c->shift_n[tensor];
    return c->shift[tensor];
}

/*
 * Empirical bias correction. Rounding the weights to int8 shifts each
 * convolution's output channel by a systematic amount (the rounding errors
 * of a channel's weights times the inputs' mean do not average out), and
 * the shifts of early layers travel down the network. Adding the mean
 * difference between the float and the int8 output, measured on the
 * calibration pictures, to the channel's bias cancels that part of the
 * error; what is left has mean zero.
 *
 * The outputs compared are those of the convolutions with their fused
 * activation applied, so positions where either value sits at an end of the
 * int8 range (ReLU's 0, ReLU6's 6, or the calibrated extremes) are left
 * out: there the clamp hides how far the sum itself moved, and counting
 * them would shrink the estimate towards 0.
 */
typedef struct probe_conv {
    int tensor;               /* the float model's */
    int channels;
    size_t count;             /* values of the output */
    float *fvals;             /* the float output for the current input */
    int seen;                 /* fvals holds the current input's output */
    double *sum;              /* per channel: sum of float - int8 */
    double *n;                /* per channel: values counted */
} probe_conv;

struct bias_probe {
    probe_conv *convs; int n_convs;   /* in the float model's operator order */
    int *float_conv;          /* float model tensor -> convs index, or -1 */
    int n_float;
    int *int8_conv;           /* int8 model tensor -> convs index, or -1 */
    int n_int8;
    int first, end;           /* the convolutions measured: [first, end) */
    int failed;
};

void bias_probe_free(bias_probe *p)
{
    if (!p)
        return;
    for (int k = 0; k < p->n_convs; k++) {
        free(p->convs[k].fvals);
        free(p->convs[k].sum);
        free(p->convs[k].n);
    }
    free(p->convs);
    free(p->float_conv);
    free(p->int8_conv);
    free(p);
}

/* The int8 model names a tensor like the float one, or adds "/int8" when a
 * float tensor of that name follows it (quantize_model's float head). */
static int same_tensor_name(const char *float_name, const char *int8_name)
{
    size_t lf = strlen(float_name), li = strlen(int8_name);
    return strcmp(float_name, int8_name) == 0 ||
           (li == lf + 5 && strncmp(float_name, int8_name, lf) == 0 && strcmp(int8_name + lf, "/int8") == 0);
}

static int probe_build(bias_probe *p, const tfl_model *fm, const tfl_model *qm, const char *int8_path,
                       char *err, size_t errlen)
{
    p->n_float = fm->n_tensors;
    p->n_int8 = qm->n_tensors;
    p->float_conv = malloc((size_t)(fm->n_tensors + 1) * sizeof *p->float_conv);
    p->int8_conv = malloc((size_t)(qm->n_tensors + 1) * sizeof *p->int8_conv);
    p->convs = calloc((size_t)fm->n_ops + 1, sizeof *p->convs);
    if (!p->float_conv || !p->int8_conv || !p->convs)
        return mnv_error(err, errlen, MNV_ENOMEM, "bias correction: out of memory");
    for (int t = 0; t < fm->n_tensors; t++)
        p->float_conv[t] = -1;
    for (int t = 0; t < qm->n_tensors; t++)
        p->int8_conv[t] = -1;
    for (int i = 0; i < fm->n_ops; i++) {
        const tfl_op *op = &fm->ops[i];
        if ((op->builtin != TFL_OP_CONV_2D && op->builtin != TFL_OP_DEPTHWISE_CONV_2D) || op->n_outputs != 1 ||
            op->outputs[0] < 0)
            continue;
        const tfl_tensor *t = &fm->tensors[op->outputs[0]];
        probe_conv *pc = &p->convs[p->n_convs];
        pc->tensor = op->outputs[0];
        pc->channels = t->rank > 0 ? t->shape[t->rank - 1] : 0;
        pc->count = 1;
        for (int d = 0; d < t->rank; d++)
            pc->count *= (size_t)t->shape[d];
        if (pc->channels < 1)
            continue;
        pc->sum = calloc((size_t)pc->channels, sizeof *pc->sum);
        pc->n = calloc((size_t)pc->channels, sizeof *pc->n);
        if (!pc->sum || !pc->n) {
            p->n_convs++; /* freed with the probe */
            return mnv_error(err, errlen, MNV_ENOMEM, "bias correction: out of memory");
        }
        p->float_conv[pc->tensor] = p->n_convs++;
    }
    /* names: a few hundred tensors each, so the quadratic match is cheap */
    int matched = 0;
    for (int t = 0; t < qm->n_tensors; t++) {
        if (qm->tensors[t].type != TFL_TYPE_INT8 || qm->tensors[t].data)
            continue;
        for (int k = 0; k < p->n_convs; k++) {
            if (same_tensor_name(fm->tensors[p->convs[k].tensor].name, qm->tensors[t].name)) {
                p->int8_conv[t] = k;
                matched++;
                break;
            }
        }
    }
    if (matched == 0)
        return mnv_error(err, errlen, MNV_EINVAL, "%s: no convolution output named as in the float model",
                         int8_path);
    return 0;
}

int bias_probe_create(bias_probe **out, const char *float_path, const char *int8_path, int first, int count,
                      char *err, size_t errlen)
{
    *out = NULL;
    tfl_model fm, qm;
    memset(&fm, 0, sizeof fm);
    memset(&qm, 0, sizeof qm);
    int rc = tfl_open(&fm, float_path, err, errlen);
    if (!rc)
        rc = tfl_open(&qm, int8_path, err, errlen);
    bias_probe *p = NULL;
    if (!rc && !(p = calloc(1, sizeof *p)))
        rc = mnv_error(err, errlen, MNV_ENOMEM, "bias correction: out of memory");
    if (!rc)
        rc = probe_build(p, &fm, &qm, int8_path, err, errlen);
    tfl_close(&fm);
    tfl_close(&qm);
    if (!rc) {
        p->first = first < 0 ? 0 : first < p->n_convs ? first : p->n_convs;
        p->end = count < 0 || count > p->n_convs - p->first ? p->n_convs : p->first + count;
    }
    if (rc) {
        bias_probe_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void bias_probe_float(void *probe, int tensor, const float *data, size_t count)
{
    bias_probe *p = probe;
    int k = tensor >= 0 && tensor < p->n_float ? p->float_conv[tensor] : -1;
    if (k < p->first || k >= p->end)
        return;
    probe_conv *pc = &p->convs[k];
    if (count != pc->count)
        return;
    if (!pc->fvals && !(pc->fvals = malloc(count * sizeof *pc->fvals))) {
        p->failed = 1;
        return;
    }
    memcpy(pc->fvals, data, count * sizeof *data);
    pc->seen = 1;
}

void bias_probe_int8(void *probe, int tensor, const int8_t *data, size_t count, qparams q)
{
    bias_probe *p = probe;
    int k = tensor >= 0 && tensor < p->n_int8 ? p->int8_conv[tensor] : -1;
    if (k < p->first || k >= p->end)
        return;
    probe_conv *pc = &p->convs[k];
    if (!pc->seen || count != pc->count)
        return;
    pc->seen = 0;
    /* the real values of -128 and 127: a float value at or beyond them was
     * clamped in int8 too */
    const double lo = (double)q.scale * (-128 - q.zero_point), hi = (double)q.scale * (127 - q.zero_point);
    const size_t ch = (size_t)pc->channels;
    /* NHWC: the channel is the innermost index */
    for (size_t at = 0; at + ch <= count; at += ch) {
        const int8_t *v = data + at;
        const float *f = pc->fvals + at;
        for (size_t c = 0; c < ch; c++) {
            if (v[c] == -128 || v[c] == 127 || !(f[c] > lo && f[c] < hi))
                continue;
            pc->sum[c] += f[c] - (double)q.scale * (v[c] - q.zero_point);
            pc->n[c] += 1.0;
        }
    }
}

int bias_probe_failed(const bias_probe *p)
{
    return p->failed;
}

int bias_probe_count(const bias_probe *p)
{
    return p->n_convs;
}

int bias_probe_apply(const bias_probe *p, calib_ranges *c, double *mean_abs, char *err, size_t errlen)
{
    if (!c->shift) {
        c->shift = calloc((size_t)c->n_tensors + 1, sizeof *c->shift);
        c->shift_n = calloc((size_t)c->n_tensors + 1, sizeof *c->shift_n);
        if (!c->shift || !c->shift_n) {
            free(c->shift), free(c->shift_n);
            c->shift = NULL, c->shift_n = NULL;
            return mnv_error(err, errlen, MNV_ENOMEM, "bias correction: out of memory");
        }
    }
    double total = 0.0;
    int channels = 0;
    for (int k = p->first; k < p->end; k++) {
        const probe_conv *pc = &p->convs[k];
        if (pc->tensor >= c->n_tensors)
            continue;
        if (!c->shift[pc->tensor]) {
            if (!(c->shift[pc->tensor] = calloc((size_t)pc->channels, sizeof(float))))
                return mnv_error(err, errlen, MNV_ENOMEM, "bias correction: out of memory");
            c->shift_n[pc->tensor] = pc->channels;
        }
        float *s = c->shift[pc->tensor];
        for (int ch = 0; ch < pc->channels; ch++) {
            double d = pc->n[ch] > 0.0 ? pc->sum[ch] / pc->n[ch] : 0.0;
            s[ch] += (float)d;
            total += fabs(d);
            channels++;
        }
    }
    if (mean_abs)
        *mean_abs = channels ? total / channels : 0.0;
    return 0;
}
