/*
 * Post-training quantization of a float TFLite model into TFLite's int8
 * scheme (see quantize_model in backbone.h): weights int8 symmetric per
 * output channel, activations int8 asymmetric per tensor from calibrated
 * ranges, int32 biases at input scale x weight scale, QUANTIZE after the
 * float input and DEQUANTIZE before each float output, so that the file runs
 * in any TFLite runtime with int8 kernels.
 *
 * The float model's weights may be float32 constants or float16 constants
 * behind DEQUANTIZE operators (how float16 models are stored); those
 * DEQUANTIZE operators disappear. Operators other than those of SSD graphs
 * (CONV_2D, DEPTHWISE_CONV_2D, ADD, RESHAPE, CONCATENATION, LOGISTIC,
 * TFLite_Detection_PostProcess) are refused by name.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"

typedef struct qm {
    const char *path;
    const tfl_model *m;
    const calib_ranges *ranges;
    char *err; size_t errlen;
    tfw_tensor *t; int nt, cap_t;
    tfw_op *ops; int nops, cap_ops;
    int *map;                 /* float model tensor -> new tensor, or -1 */
    int *producer;            /* float model tensor -> operator writing it, or -1 */
    unsigned char *tail;      /* float model tensor -> 1: stays float (see mark_tail) */
    void **owned; int n_owned, cap_owned;
    int *outputs;
    int narrow;               /* grow weight scales to multipliers of quant_narrow's form */
    quantize_memo *memo;      /* or NULL */
    quantize_report rep;
} qm;

/* One convolution's search (quantize_conv): its inputs, then its result */
typedef struct memo_entry {
    int set, channels, has_bias, ok;
    float in_scale, out_scale;
    int64_t span;
    float *start;             /* channels starting scales, then channels biases (with has_bias) */
    float *grown;             /* channels: the scales found (with ok) */
} memo_entry;

struct quantize_memo {
    char *path;               /* the float model of the entries */
    int n_ops;
    memo_entry *e;            /* one per float model operator */
};

quantize_memo *quantize_memo_create(void)
{
    return calloc(1, sizeof(quantize_memo));
}

static void memo_clear(quantize_memo *memo)
{
    for (int i = 0; i < memo->n_ops; i++)
        free(memo->e[i].start), free(memo->e[i].grown);
    free(memo->e);
    free(memo->path);
    memo->e = NULL, memo->path = NULL, memo->n_ops = 0;
}

void quantize_memo_free(quantize_memo *memo)
{
    if (memo) {
        memo_clear(memo);
        free(memo);
    }
}

/* The memo for the float model at path with n_ops operators: emptied
 * first if it was of another one; NULL without memory (no memo then) */
static quantize_memo *memo_for(quantize_memo *memo, const char *path, int n_ops)
{
    if (!memo)
        return NULL;
    if (memo->path && strcmp(memo->path, path) == 0 && memo->n_ops == n_ops)
        return memo;
    memo_clear(memo);
    memo->path = strdup(path);
    memo->e = calloc((size_t)n_ops + 1, sizeof *memo->e);
    if (!memo->path || !memo->e) {
        memo_clear(memo);
        return NULL;
    }
    memo->n_ops = n_ops;
    return memo;
}

/* Operator opi's entry, if its search started from these values */
static const memo_entry *memo_find(const qm *q, int opi, int channels, const float *ws, const float *b,
                                   float in_scale, float out_scale, int64_t span)
{
    if (!q->memo)
        return NULL;
    const memo_entry *e = &q->memo->e[opi];
    const size_t bytes = (size_t)channels * sizeof(float);
    if (!e->set || e->channels != channels || e->has_bias != (b != NULL) || e->span != span ||
        memcmp(&e->in_scale, &in_scale, sizeof in_scale) != 0 ||
        memcmp(&e->out_scale, &out_scale, sizeof out_scale) != 0 || memcmp(e->start, ws, bytes) != 0 ||
        (b && memcmp(e->start + channels, b, bytes) != 0))
        return NULL;
    return e;
}

/* Keep operator opi's search (grown: its result when ok) */
static void memo_keep(qm *q, int opi, int channels, const float *ws, const float *b, float in_scale,
                      float out_scale, int64_t span, const float *grown, int ok)
{
    if (!q->memo)
        return;
    memo_entry *e = &q->memo->e[opi];
    const size_t bytes = (size_t)channels * sizeof(float);
    e->set = 0;
    if (e->channels != channels) {
        free(e->start), free(e->grown);
        e->start = malloc(2 * bytes);
        e->grown = malloc(bytes);
        e->channels = e->start && e->grown ? channels : 0;
        if (!e->channels)
            return;
    }
    memcpy(e->start, ws, bytes);
    if (b)
        memcpy(e->start + channels, b, bytes);
    if (ok)
        memcpy(e->grown, grown, bytes);
    e->has_bias = b != NULL, e->ok = ok, e->span = span;
    e->in_scale = in_scale, e->out_scale = out_scale;
    e->set = 1;
}

static int nomem(qm *q)
{
    return mnv_error(q->err, q->errlen, MNV_ENOMEM, "%s: out of memory", q->path);
}

/* Memory freed with the quantizer; NULL when out of memory. */
static void *own(qm *q, void *p)
{
    if (!p)
        return NULL;
    if (q->n_owned == q->cap_owned) {
        int cap = q->cap_owned ? 2 * q->cap_owned : 256;
        void **o = realloc(q->owned, (size_t)cap * sizeof *o);
        if (!o) {
            free(p);
            return NULL;
        }
        q->owned = o;
        q->cap_owned = cap;
    }
    return q->owned[q->n_owned++] = p;
}

static char *own_name(qm *q, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = own(q, malloc(la + lb + 1));
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

/* A new tensor shaped like the model's tensor `like`; -1 when out of memory. */
static int add_tensor(qm *q, int type, const tfl_tensor *like, const char *name)
{
    if (q->nt == q->cap_t) {
        int cap = q->cap_t ? 2 * q->cap_t : 256;
        tfw_tensor *t = realloc(q->t, (size_t)cap * sizeof *t);
        if (!t)
            return -1;
        q->t = t;
        q->cap_t = cap;
    }
    tfw_tensor *t = &q->t[q->nt];
    memset(t, 0, sizeof *t);
    t->type = type;
    t->rank = like->rank;
    memcpy(t->shape, like->shape, sizeof t->shape);
    t->name = name;
    return q->nt++;
}

static tfw_op *add_op(qm *q, int builtin, const int *in, int n_in, const int *out, int n_out)
{
    if (q->nops == q->cap_ops) {
        int cap = q->cap_ops ? 2 * q->cap_ops : 256;
        tfw_op *o = realloc(q->ops, (size_t)cap * sizeof *o);
        if (!o)
            return NULL;
        q->ops = o;
        q->cap_ops = cap;
    }
    tfw_op *op = &q->ops[q->nops++];
    memset(op, 0, sizeof *op);
    op->builtin = builtin;
    op->version = 1;
    op->n_in = n_in;
    op->n_out = n_out;
    memcpy(op->in, in, (size_t)n_in * sizeof *in);
    memcpy(op->out, out, (size_t)n_out * sizeof *out);
    return op;
}

/* Per-tensor parameters: scale and zero point kept by the quantizer. */
static int set_params(qm *q, int t, float scale, int64_t zero_point)
{
    float *s = own(q, malloc(sizeof *s));
    int64_t *z = own(q, malloc(sizeof *z));
    if (!s || !z)
        return nomem(q);
    *s = scale;
    *z = zero_point;
    q->t[t].scales = s, q->t[t].n_scales = 1;
    q->t[t].zero_points = z, q->t[t].n_zero_points = 1;
    return 0;
}

/*
 * Activation scales with short mantissas. A convolution's multiplier is
 * in_scale x w_scale / out_scale; with in_scale = a * 2^i and out_scale =
 * b * 2^o, a and b integers of ACT_SCALE_BITS bits, a weight scale b * t *
 * 2^w (t an integer) makes it exactly a * t * 2^(i + w - o): a multiplier
 * with as few significant bits as a * t, so with the zero low bits that the
 * 32-bit requantization needs (quant_narrow_exact), and with a * b * t
 * within a float's 24 bits TFLite's float product in_scale x w_scale is
 * exact too. Every a-th step of the multiplier's grid then has the form,
 * where otherwise a float scale hits it once in ~2^7 (see NARROW_MAX_GROWTH
 * below). Each activation scale grows by less than 2^-(ACT_SCALE_BITS - 1)
 * (3%) to get there, rounded up so that the range still covers [lo, hi].
 * Measured (README, Calibration): the default model's int8 network 5% faster
 * at 1 thread, and the accuracy criterion still met on the golden pictures
 * and Megamind.avi, on vtest.avi for 97.5% of the detections instead of
 * 98.1%. Rounding to the nearest 6-bit value instead (ranges shrunk by up
 * to 0.8%) gave 70 layers the form, but lost a detection on Megamind.avi.
 */
#define ACT_SCALE_BITS 6

/* The smallest float >= s with at most bits significant bits (bits 0: s) */
static double short_mantissa(double s, int bits)
{
    if (bits <= 0 || !(s > 0.0) || !isfinite(s))
        return s;
    int e;
    const double f = frexp(s, &e); /* s = f * 2^e, f in [0.5, 1) */
    return ldexp(ceil(ldexp(f, bits)), e - bits);
}

/* int8 parameters that cover [lo, hi] and hold 0 exactly (TFLite's
 * asymmetric scheme: real = scale * (q - zero_point), q in [-128, 127]),
 * the scale with at most bits significant bits (0: any). */
static void range_params(float lo, float hi, int bits, float *scale, int64_t *zero_point)
{
    double l = lo < 0.0f ? lo : 0.0, h = hi > 0.0f ? hi : 0.0;
    double s = (h - l) / 255.0;
    if (!(s > 0.0) || !isfinite(s))
        s = 1.0;
    s = short_mantissa(s, bits);
    double z = nearbyint(-128.0 - l / s);
    *scale = (float)s;
    *zero_point = z < -128.0 ? -128 : z > 127.0 ? 127 : (int64_t)z;
}

static const char *op_label(const tfl_op *op, char *buf, size_t len)
{
    return op->builtin == TFL_OP_CUSTOM && op->custom_code ? op->custom_code : tfl_op_name(op->builtin, buf, len);
}

/* The int8 parameters of the float activation tensor ft, from its
 * calibrated range; -1 when it has none. A predictor's output (dequantized
 * for the float head) leaves isolated low values out (calib_range_cut):
 * only the box decoder and the scores read it, and there a value far
 * below the rest is a box shrunk to nothing or a score of nothing, which a
 * value at the range's end still is; every other tensor keeps all its
 * values, as they feed on through the network. */
static int calibrated_params(const qm *q, int ft, float *scale, int64_t *zero_point)
{
    float lo, hi;
    const int cut = q->tail && q->tail[ft];
    if ((cut ? calib_range_cut(q->ranges, ft, &lo, &hi) : calib_range(q->ranges, ft, &lo, &hi)) != 0)
        return -1;
    range_params(lo, hi, q->narrow ? ACT_SCALE_BITS : 0, scale, zero_point);
    return 0;
}

/* The int8 tensor that stands for the model's float activation tensor ft,
 * with parameters from its calibrated range. */
static int activation(qm *q, int ft, int opi)
{
    const tfl_tensor *src = &q->m->tensors[ft];
    float scale;
    int64_t zp;
    if (calibrated_params(q, ft, &scale, &zp) != 0) {
        char b[32];
        return mnv_error(q->err, q->errlen, MNV_EINVAL,
                         "%s: tensor '%s' (output of %s, operator %d) got no calibration values", q->path,
                         src->name, op_label(&q->m->ops[opi], b, sizeof b), opi);
    }
    int t = add_tensor(q, TFL_TYPE_INT8, src, src->name);
    if (t < 0)
        return nomem(q);
    int rc = set_params(q, t, scale, zp);
    if (rc)
        return rc;
    q->map[ft] = t;
    q->rep.activations++;
    return 0;
}

/* The float values of a constant: float32 data, or float16/float32 data
 * behind a DEQUANTIZE operator, malloc'd into *out; or an error code with
 * the message written. */
static int const_floats(qm *q, int ft, int opi, float **out, size_t *count)
{
    *out = NULL;
    const tfl_tensor *t = &q->m->tensors[ft];
    int p = q->producer[ft];
    if (!t->data && p >= 0 && q->m->ops[p].builtin == TFL_OP_DEQUANTIZE)
        t = &q->m->tensors[q->m->ops[p].inputs[0]];
    size_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= (size_t)t->shape[i];
    size_t esize = t->type == TFL_TYPE_FLOAT32 ? 4 : t->type == TFL_TYPE_FLOAT16 ? 2 : 0;
    if (!t->data || !esize || t->n_quant || t->size != n * esize) {
        char b[32];
        return mnv_error(q->err, q->errlen, MNV_EUNSUPPORTED,
                         "%s: operator %d (%s): weights '%s' are not float32 or float16 constants", q->path,
                         opi, op_label(&q->m->ops[opi], b, sizeof b), q->m->tensors[ft].name);
    }
    float *f = malloc((n ? n : 1) * sizeof *f);
    if (!f)
        return nomem(q);
    for (size_t i = 0; i < n; i++) {
        if (esize == 4) {
            memcpy(&f[i], t->data + 4 * i, 4);
        } else {
            uint16_t h;
            memcpy(&h, t->data + 2 * i, 2);
            f[i] = fp16_to_f32(h);
        }
    }
    *count = n;
    *out = f;
    return 0;
}

static int dequantized(qm *q, int ft, const char *name);

/* The model's tensor ft, just given its int8 tensor, goes on as float: a
 * DEQUANTIZE writes a float tensor of its name (the int8 one is renamed),
 * and that is what later operators read. */
static int float_tail(qm *q, int ft)
{
    const char *renamed = own_name(q, q->m->tensors[ft].name, "/int8");
    if (!renamed)
        return nomem(q);
    q->t[q->map[ft]].name = renamed;
    int f = dequantized(q, ft, q->m->tensors[ft].name);
    if (f < 0)
        return f;
    q->map[ft] = f;
    return 0;
}

/*
 * Weight scales for the 32-bit requantization. A layer whose every channel
 * multiplier (input scale x weight scale / output scale, quantized as
 * TFLite does) has enough zero low bits for its accumulator bound
 * (quant_narrow_exact) is requantized with a multiply, an add and a shift
 * instead of two 64-bit products (kernels_q8_simd.inc): where the dot
 * products are few (the depthwise layers: 9 a output) the requantization
 * is most of the work. A channel's weight scale is free within the scheme
 * as long as it covers the weights; so it grows, by at most
 * NARROW_MAX_GROWTH, to the nearest float whose multiplier has the form,
 * costing the weights at most that fraction of their precision. The
 * depthwise layers, whose input and output share a scale (ReLU6 on both
 * sides, so the multiplier is the weight scale's own 24-bit mantissa),
 * need 0.03% at most. The expansions and projections: with activation
 * scales of any mantissa their multipliers have all 53 bits of the scale
 * ratio, whose grid of zero low bits a float hits once in ~2^7, and only
 * the first three 1x1 layers (16 to 32 inputs, small bounds) found the form
 * within 6%. With the activation scales' 6-bit mantissas (ACT_SCALE_BITS)
 * every expansion, 7 of the 16 projections (those of 96 and 144 inputs, 4 wider)
 * find it: 54 of the default model's 72 convolutions, against 20. 6% costs
 * those weights 0.08 bits of their 8 (largest weight 120 instead of 127). A
 * channel may grow further where that cannot matter (narrow_growth). All
 * channels of a layer or none: the kernels take the form per layer.
 */
#define NARROW_MAX_GROWTH 0.06

/* qconv_narrow_exact's bound for channel c quantized with scale s: the
 * weights and bias exactly as quantize_conv rounds them, inputs at most
 * span from their zero point */
static int64_t channel_bound(const float *w, size_t n, int channels, int dw, int c, float s, const float *b,
                             float in_scale, int64_t span)
{
    const size_t per = n / (size_t)channels;
    int64_t bound = 0;
    for (size_t k = 0; k < per; k++) {
        const float v = nearbyintf(w[dw ? k * (size_t)channels + (size_t)c : (size_t)c * per + k] / s);
        bound += (int64_t)fabsf(v < -127.0f ? -127.0f : v > 127.0f ? 127.0f : v) * span;
    }
    if (b) {
        const float bs = in_scale * s;
        const double v = fabs(nearbyint((double)b[c] / bs));
        bound += v > 2147483647.0 ? INT64_C(2147483648) : (int64_t)v;
    }
    return bound;
}

/* The multiplier qconv_params_init makes of these scales */
static qmultiplier layer_multiplier(float in_scale, float w_scale, float out_scale)
{
    qmultiplier m;
    if (quant_multiplier_from_double(qconv_real_multiplier(in_scale, w_scale, out_scale), &m) != 0)
        m.multiplier = -1;
    return m;
}

/* The smallest float scale >= s0, at most NARROW_MAX_GROWTH above it, whose
 * multiplier has the 32-bit form for the channel's bound; 0 if none. The
 * candidates: multipliers of the form M0's grid of 2^j steps upward (j
 * from the bound), each as the floats next to the scale that gives it. */
static float narrow_scale(const float *w, size_t n, int channels, int dw, int c, float s0, const float *b,
                          float in_scale, int64_t span, float out_scale, double max_growth)
{
    const qmultiplier m0 = layer_multiplier(in_scale, s0, out_scale);
    if (m0.multiplier <= 0)
        return 0.0f;
    const int64_t bound = channel_bound(w, n, channels, dw, c, s0, b, in_scale, span);
    if (quant_narrow_exact(m0, bound))
        return s0;
    if (bound > INT32_MAX)
        return 0.0f;
    int j = 0; /* the fewest zero bits that could do: bound * M / 2^j below 2^31 */
    while (j < 30 && (double)bound * ldexp((double)m0.multiplier, -j) >= 2147483648.0)
        j++;
    for (int64_t k = (m0.multiplier >> j) + 1;; k++) {
        const double real = ldexp((double)(k << j), m0.shift - 31);
        const double grow = real / ldexp((double)m0.multiplier, m0.shift - 31);
        if (grow > 1.0 + max_growth)
            return 0.0f;
        const float mid = (float)(real * (double)out_scale / (double)in_scale);
        float f = nextafterf(nextafterf(mid, 0.0f), 0.0f);
        for (int i = 0; i < 5; i++, f = nextafterf(f, INFINITY)) {
            if (f < s0 || f > s0 * (float)(1.0 + max_growth))
                continue;
            /* the form first: most candidates lack the zero bits, and the
             * bound costs a pass over the channel's weights */
            const qmultiplier m = layer_multiplier(in_scale, f, out_scale);
            qnarrow form;
            if (m.multiplier > 0 && quant_narrow_form(m, &form) &&
                quant_narrow_exact(m, channel_bound(w, n, channels, dw, c, f, b, in_scale, span)))
                return f;
        }
    }
}

/*
 * How much channel c's weight scale s may grow towards the 32-bit form:
 * NARROW_MAX_GROWTH, a widened channel's (weights all but zero) 100%; and
 * beyond that as far as the rounding stays harmless: each of the k weights
 * moves by at most half a grown unit, so the output (over inputs at most
 * span from their zero point) by at most k * span * unit * g / 2 output
 * steps, unit = in_scale * s / out_scale, which growth by g keeps within
 * one step, and the bias by half of unit * g, kept within 1/32 of a step;
 * 256x at most. In MobileNetV2 these are channels that are nearly their
 * bias, found in most expansions, whose large bias needs more zero bits
 * than 6% of growth finds and so kept the whole layer from the 32-bit form.
 */
static double narrow_growth(size_t n, int channels, int widened, float s, float in_scale, int64_t span,
                            float out_scale)
{
    const double unit = (double)in_scale * s / out_scale, k = (double)(n / (size_t)channels);
    double g = 256.0;
    if (k * (double)span * unit * g / 2 > 1.0)
        g = 2.0 / (k * (double)span * unit);
    if (unit * g > 1.0 / 16)
        g = 1.0 / (16 * unit);
    const double allow = widened ? 1.0 : NARROW_MAX_GROWTH;
    return g - 1.0 > allow ? g - 1.0 : allow;
}

/* CONV_2D and DEPTHWISE_CONV_2D: weights per output channel (dimension 0,
 * or 3 for depthwise), bias at input scale x weight scale. */
static int quantize_conv(qm *q, int opi)
{
    const tfl_op *op = &q->m->ops[opi];
    const int dw = op->builtin == TFL_OP_DEPTHWISE_CONV_2D;
    int in = op->inputs[0], wt = op->inputs[1], bt = op->n_inputs > 2 ? op->inputs[2] : -1;
    if (q->map[in] < 0 || q->t[q->map[in]].type != TFL_TYPE_INT8)
        return mnv_error(q->err, q->errlen, MNV_EUNSUPPORTED, "%s: operator %d reads '%s', not an activation",
                         q->path, opi, q->m->tensors[in].name);
    const tfl_tensor *wf = &q->m->tensors[wt];
    if (wf->rank != 4)
        return mnv_error(q->err, q->errlen, MNV_EFORMAT, "%s: operator %d: weights '%s' are not 4-D", q->path,
                         opi, wf->name);
    const int dim = dw ? 3 : 0, channels = wf->shape[dim];
    size_t n = 0, nb = 0;
    float *w = NULL, *b = NULL;
    int rc = const_floats(q, wt, opi, &w, &n);
    if (rc)
        return rc;
    if (bt >= 0 && (rc = const_floats(q, bt, opi, &b, &nb)) != 0) {
        free(w);
        return rc;
    }
    if (channels < 1 || n % (size_t)channels || (b && nb != (size_t)channels)) {
        rc = mnv_error(q->err, q->errlen, MNV_EFORMAT, "%s: operator %d: weights and bias do not agree",
                       q->path, opi);
        goto done;
    }
    int8_t *wq = own(q, malloc(n));
    float *ws = own(q, malloc((size_t)channels * sizeof *ws));
    int64_t *wz = own(q, calloc((size_t)channels, sizeof *wz));
    float *maxabs = calloc((size_t)channels, sizeof *maxabs);
    if (!wq || !ws || !wz || !maxabs) {
        free(maxabs);
        rc = nomem(q);
        goto done;
    }
    /* channel of element i: the outermost index, or the innermost for depthwise */
    const size_t per = n / (size_t)channels;
#define CHANNEL(i) (dw ? (int)((i) % (size_t)channels) : (int)((i) / per))
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(w[i]);
        int c = CHANNEL(i);
        if (a > maxabs[c])
            maxabs[c] = a;
    }
    /* empirical bias correction (calib_bias_shift): part of the bias from
     * here on, also for the widening below */
    int n_shift = 0;
    const float *shift = b ? calib_bias_shift(q->ranges, op->outputs[0], &n_shift) : NULL;
    if (shift && n_shift == channels)
        for (int c = 0; c < channels; c++)
            b[c] += shift[c];
    /* A channel whose weights are nearly all zero gets a tiny scale, and its
     * bias in units of input scale x that scale can then pass the int32
     * range or leave too little of it for the sums (the kernels need the
     * whole accumulation within int32). Such a channel's scale grows until
     * its bias stays within 2^29 steps: its weights lose precision they
     * hardly have. */
    const float in_scale = q->t[q->map[in]].scales[0];
    unsigned char *widened = calloc((size_t)channels, 1);
    for (int c = 0; c < channels; c++) {
        ws[c] = maxabs[c] > 0.0f ? maxabs[c] / 127.0f : 1.0f;
        float need = b ? fabsf(b[c]) / (in_scale * 536870912.0f) : 0.0f;
        if (need > ws[c]) {
            ws[c] = need;
            q->rep.widened++;
            if (widened)
                widened[c] = 1;
        }
    }
    free(maxabs);
    float out_scale;
    int64_t out_zp;
    /* the output's scale as activation() below sets it */
    if (q->narrow && calibrated_params(q, op->outputs[0], &out_scale, &out_zp) == 0) {
        const int64_t span = quant_input_span((int32_t)q->t[q->map[in]].zero_points[0]);
        const memo_entry *e = memo_find(q, opi, channels, ws, b, in_scale, out_scale, span);
        if (e) {
            if (e->ok) {
                memcpy(ws, e->grown, (size_t)channels * sizeof *ws);
                q->rep.narrow++;
                q->rep.narrow_reused++;
            }
        } else {
            float *grown = malloc((size_t)channels * sizeof *grown);
            int c = 0;
            for (; grown && widened && c < channels; c++) {
                const double allow = narrow_growth(n, channels, widened[c], ws[c], in_scale, span, out_scale);
                if ((grown[c] = narrow_scale(w, n, channels, dw, c, ws[c], b, in_scale, span, out_scale,
                                             allow)) == 0.0f)
                    break;
            }
            /* a search cut short by memory is not kept: it did not fail */
            if (grown && widened)
                memo_keep(q, opi, channels, ws, b, in_scale, out_scale, span, grown, c == channels);
            if (grown && c == channels) {
                memcpy(ws, grown, (size_t)channels * sizeof *ws);
                q->rep.narrow++;
            }
            free(grown);
        }
    }
    free(widened);
    for (size_t i = 0; i < n; i++) {
        float v = nearbyintf(w[i] / ws[CHANNEL(i)]);
        wq[i] = (int8_t)(v < -127.0f ? -127 : v > 127.0f ? 127 : v);
    }
#undef CHANNEL
    int tw = add_tensor(q, TFL_TYPE_INT8, wf, wf->name);
    if (tw < 0) {
        rc = nomem(q);
        goto done;
    }
    q->t[tw].data = wq, q->t[tw].size = n;
    q->t[tw].scales = ws, q->t[tw].n_scales = channels;
    q->t[tw].zero_points = wz, q->t[tw].n_zero_points = channels;
    q->t[tw].quant_dim = dim;

    int tb = -1;
    if (b) {
        int32_t *bq = own(q, malloc((size_t)channels * sizeof *bq));
        float *bs = own(q, malloc((size_t)channels * sizeof *bs));
        int64_t *bz = own(q, calloc((size_t)channels, sizeof *bz));
        if (!bq || !bs || !bz) {
            rc = nomem(q);
            goto done;
        }
        for (int c = 0; c < channels; c++) {
            bs[c] = in_scale * ws[c];
            double v = nearbyint((double)b[c] / bs[c]);
            bq[c] = v < -2147483647.0 ? -2147483647 : v > 2147483647.0 ? 2147483647 : (int32_t)v;
        }
        tb = add_tensor(q, TFL_TYPE_INT32, &q->m->tensors[bt], q->m->tensors[bt].name);
        if (tb < 0) {
            rc = nomem(q);
            goto done;
        }
        q->t[tb].data = bq, q->t[tb].size = (size_t)channels * sizeof *bq;
        q->t[tb].scales = bs, q->t[tb].n_scales = channels;
        q->t[tb].zero_points = bz, q->t[tb].n_zero_points = channels;
    }
    if ((rc = activation(q, op->outputs[0], opi)) != 0)
        goto done;
    int ins[3] = {q->map[in], tw, tb}, outs[1] = {q->map[op->outputs[0]]};
    tfw_op *o = add_op(q, op->builtin, ins, 3, outs, 1);
    if (!o) {
        rc = nomem(q);
        goto done;
    }
    o->with_options = 1;
    o->padding = op->padding;
    o->stride_w = op->stride_w, o->stride_h = op->stride_h;
    o->dilation_w = op->dilation_w, o->dilation_h = op->dilation_h;
    o->activation = op->activation;
    o->depth_multiplier = op->depth_multiplier;
    o->version = 3; /* per-channel int8: the versions TFLite's converter writes */
    q->rep.convs++;
    q->rep.weights += n;
    /* last: its DEQUANTIZE may move q->ops, and o with it */
    if (q->tail[op->outputs[0]])
        rc = float_tail(q, op->outputs[0]);
done:
    free(w);
    free(b);
    return rc;
}

/* Every input that is an activation must have its int8 tensor already. */
static int mapped_inputs(qm *q, int opi, int *ins, int first, int count)
{
    const tfl_op *op = &q->m->ops[opi];
    for (int k = 0; k < count; k++) {
        int ft = op->inputs[first + k];
        if (ft < 0 || q->map[ft] < 0) {
            char b[32];
            return mnv_error(q->err, q->errlen, MNV_EUNSUPPORTED,
                             "%s: operator %d (%s): input %d is not an activation of the graph", q->path, opi,
                             op_label(op, b, sizeof b), first + k);
        }
        ins[k] = q->map[ft];
    }
    return 0;
}

/* A float tensor named like the model's tensor ft that DEQUANTIZE fills
 * from its int8 tensor; returns it, or < 0 (error written). */
static int dequantized(qm *q, int ft, const char *name)
{
    int f = add_tensor(q, TFL_TYPE_FLOAT32, &q->m->tensors[ft], name);
    if (f < 0)
        return nomem(q);
    int in[1] = {q->map[ft]}, out[1] = {f};
    tfw_op *o = add_op(q, TFL_OP_DEQUANTIZE, in, 1, out, 1);
    if (!o)
        return nomem(q);
    o->version = 2;
    return f;
}

static int quantize_postprocess(qm *q, int opi)
{
    const tfl_op *op = &q->m->ops[opi];
    if (op->n_inputs != 3 || op->n_outputs > TFW_MAX_IO)
        return mnv_error(q->err, q->errlen, MNV_EUNSUPPORTED, "%s: operator %d: a detection post-processing "
                         "operator with %d inputs", q->path, opi, op->n_inputs);
    int ins[3];
    for (int k = 0; k < 2; k++) {
        int ft = op->inputs[k];
        if (ft < 0 || q->map[ft] < 0)
            return mapped_inputs(q, opi, ins, k, 1);
        const char *name = own_name(q, q->m->tensors[ft].name, "/dequantized");
        if (!name)
            return nomem(q);
        if ((ins[k] = dequantized(q, ft, name)) < 0)
            return ins[k];
    }
    size_t n = 0;
    float *anchors = NULL;
    int rc = const_floats(q, op->inputs[2], opi, &anchors, &n);
    if (rc)
        return rc;
    if (!own(q, anchors))
        return nomem(q);
    const tfl_tensor *at = &q->m->tensors[op->inputs[2]];
    if ((ins[2] = add_tensor(q, TFL_TYPE_FLOAT32, at, at->name)) < 0)
        return nomem(q);
    q->t[ins[2]].data = anchors, q->t[ins[2]].size = n * sizeof *anchors;
    int outs[TFW_MAX_IO];
    for (int k = 0; k < op->n_outputs; k++) {
        const tfl_tensor *ot = &q->m->tensors[op->outputs[k]];
        if ((outs[k] = add_tensor(q, ot->type, ot, ot->name)) < 0)
            return nomem(q);
        q->map[op->outputs[k]] = outs[k];
    }
    tfw_op *o = add_op(q, TFL_OP_CUSTOM, ins, 3, outs, op->n_outputs);
    if (!o)
        return nomem(q);
    o->custom_code = op->custom_code;
    o->custom_options = op->custom_options;
    o->custom_options_size = op->custom_options_size;
    return 0;
}

static int quantize_op(qm *q, int opi)
{
    const tfl_op *op = &q->m->ops[opi];
    int ins[TFW_MAX_IO], rc = 0;
    char b[32];
    switch (op->builtin) {
    case TFL_OP_DEQUANTIZE:
        /* of a constant: its reader takes the float values */
        if (op->n_inputs == 1 && q->m->tensors[op->inputs[0]].data)
            return 0;
        break;
    case TFL_OP_CONV_2D:
    case TFL_OP_DEPTHWISE_CONV_2D:
        if (op->n_inputs < 2 || op->n_outputs != 1)
            break;
        return quantize_conv(q, opi);
    case TFL_OP_ADD:
        if (op->n_inputs != 2 || op->n_outputs != 1)
            break;
        if ((rc = mapped_inputs(q, opi, ins, 0, 2)) || (rc = activation(q, op->outputs[0], opi)))
            return rc;
        {
            int out[1] = {q->map[op->outputs[0]]};
            tfw_op *o = add_op(q, TFL_OP_ADD, ins, 2, out, 1);
            if (!o)
                return nomem(q);
            o->with_options = 1;
            o->activation = op->activation;
            o->version = 2;
        }
        return 0;
    case TFL_OP_CONCATENATION:
        if (op->n_inputs < 1 || op->n_inputs > TFW_MAX_IO || op->n_outputs != 1)
            break;
        if ((rc = mapped_inputs(q, opi, ins, 0, op->n_inputs)))
            return rc;
        if (q->tail[op->outputs[0]]) {
            const tfl_tensor *ot = &q->m->tensors[op->outputs[0]];
            if ((q->map[op->outputs[0]] = add_tensor(q, TFL_TYPE_FLOAT32, ot, ot->name)) < 0)
                return nomem(q);
        } else if ((rc = activation(q, op->outputs[0], opi)) != 0) {
            return rc;
        }
        {
            int out[1] = {q->map[op->outputs[0]]};
            tfw_op *o = add_op(q, TFL_OP_CONCATENATION, ins, op->n_inputs, out, 1);
            if (!o)
                return nomem(q);
            o->with_options = 1;
            o->axis = op->axis;
            o->activation = op->activation;
            o->version = 2;
        }
        return 0;
    case TFL_OP_RESHAPE:
    case TFL_OP_LOGISTIC: {
        if (op->n_inputs < 1 || op->n_outputs != 1 || (rc = mapped_inputs(q, opi, ins, 0, 1)))
            return rc ? rc : mnv_error(q->err, q->errlen, MNV_EUNSUPPORTED, "%s: operator %d (%s) is malformed",
                                       q->path, opi, op_label(op, b, sizeof b));
        const tfl_tensor *ot = &q->m->tensors[op->outputs[0]];
        const tfw_tensor *it = &q->t[ins[0]];
        int out = add_tensor(q, it->type, ot, ot->name);
        if (out < 0)
            return nomem(q);
        /* a reshape keeps its input's parameters; a logistic's output is
         * [0, 1) in steps of 1/256, as TFLite requires */
        it = &q->t[ins[0]];
        if (it->type == TFL_TYPE_INT8) {
            rc = op->builtin == TFL_OP_RESHAPE ? set_params(q, out, it->scales[0], it->zero_points[0])
                                               : set_params(q, out, 1.0f / 256.0f, -128);
            if (rc)
                return rc;
        }
        q->map[op->outputs[0]] = out;
        int n_in = 1;
        if (op->builtin == TFL_OP_RESHAPE && op->n_inputs > 1 && op->inputs[1] >= 0) {
            const tfl_tensor *st = &q->m->tensors[op->inputs[1]];
            if (!st->data || st->type != TFL_TYPE_INT32)
                return mnv_error(q->err, q->errlen, MNV_EUNSUPPORTED,
                                 "%s: operator %d (RESHAPE): its shape is not an int32 constant", q->path, opi);
            if ((ins[1] = add_tensor(q, TFL_TYPE_INT32, st, st->name)) < 0)
                return nomem(q);
            q->t[ins[1]].data = st->data, q->t[ins[1]].size = st->size;
            n_in = 2;
        }
        int outs[1] = {out};
        tfw_op *o = add_op(q, op->builtin, ins, n_in, outs, 1);
        if (!o)
            return nomem(q);
        o->with_options = op->builtin == TFL_OP_RESHAPE;
        o->n_new_shape = ot->rank;
        memcpy(o->new_shape, ot->shape, sizeof o->new_shape);
        o->version = op->builtin == TFL_OP_LOGISTIC ? 2 : 1;
        return 0;
    }
    case TFL_OP_CUSTOM:
        if (op->custom_code && strcmp(op->custom_code, "TFLite_Detection_PostProcess") == 0)
            return quantize_postprocess(q, opi);
        break;
    default:
        break;
    }
    return mnv_error(q->err, q->errlen, MNV_EUNSUPPORTED, "%s: operator %d (%s) cannot be quantized", q->path,
                     opi, op_label(op, b, sizeof b));
}

/* Write bytes to a temporary file beside path, then rename it over path:
 * a failure leaves no half-written model. */
static int write_atomically(const char *path, const void *bytes, size_t size, char *err, size_t errlen)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 16);
    if (!tmp)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", path);
    snprintf(tmp, len + 16, "%s.partial", path);
    int rc = 0;
    if (tfw_write_file(tmp, bytes, size) != 0) {
        rc = mnv_error(err, errlen, MNV_EIO, "%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
    } else if (rename(tmp, path) != 0) {
        rc = mnv_error(err, errlen, MNV_EIO, "%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return rc;
}

int quantize_model(const char *float_path, const calib_ranges *ranges, int flags, const char *out_path,
                   quantize_report *report, char *err, size_t errlen)
{
    return quantize_model_memo(float_path, ranges, flags, NULL, out_path, report, err, errlen);
}

int quantize_model_memo(const char *float_path, const calib_ranges *ranges, int flags, quantize_memo *memo,
                        const char *out_path, quantize_report *report, char *err, size_t errlen)
{
    const int float_outputs = !(flags & QUANTIZE_INT8_HEAD);
    tfl_model m;
    int rc = tfl_open(&m, float_path, err, errlen);
    if (rc)
        return rc;
    qm q = {.path = float_path, .m = &m, .ranges = ranges, .err = err, .errlen = errlen,
            .narrow = !(flags & QUANTIZE_EXACT_SCALES), .memo = memo_for(memo, float_path, m.n_ops)};
    if (errlen)
        err[0] = '\0';
    q.map = malloc((size_t)(m.n_tensors + 1) * sizeof(int));
    q.producer = malloc((size_t)(m.n_tensors + 1) * sizeof(int));
    q.outputs = malloc((size_t)(m.n_outputs + 1) * sizeof(int));
    q.tail = calloc((size_t)m.n_tensors + 1, 1);
    if (!q.map || !q.producer || !q.outputs || !q.tail) {
        rc = nomem(&q);
        goto done;
    }
    for (int t = 0; t < m.n_tensors; t++)
        q.map[t] = q.producer[t] = -1;
    for (int i = 0; i < m.n_ops; i++)
        for (int k = 0; k < m.ops[i].n_outputs; k++)
            if (m.ops[i].outputs[k] >= 0)
                q.producer[m.ops[i].outputs[k]] = i;
    /* The head's reshapes and concatenations run in float, as in ONNX
     * Runtime's QDQ models: each predictor's output is then quantized on its
     * own range, not on the union of all six, which would cost the boxes and
     * scores of the small ones most of their resolution. */
    if (q.tail) {
        for (int k = 0; k < m.n_outputs; k++)
            q.tail[m.outputs[k]] = float_outputs;
        for (int i = m.n_ops - 1; i >= 0; i--) {
            const tfl_op *op = &m.ops[i];
            if ((op->builtin != TFL_OP_RESHAPE && op->builtin != TFL_OP_CONCATENATION) || op->n_outputs != 1 ||
                !q.tail[op->outputs[0]])
                continue;
            for (int k = 0; k < (op->builtin == TFL_OP_RESHAPE ? 1 : op->n_inputs); k++)
                if (op->inputs[k] >= 0)
                    q.tail[op->inputs[k]] = 1;
        }
    }
    if (m.n_inputs != 1 || m.tensors[m.inputs[0]].type != TFL_TYPE_FLOAT32) {
        rc = mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: not a float model with one float32 input", float_path);
        goto done;
    }
    /* the float input, quantized first */
    const int fin = m.inputs[0];
    const char *qname = own_name(&q, m.tensors[fin].name, "/int8");
    int tin = qname ? add_tensor(&q, TFL_TYPE_FLOAT32, &m.tensors[fin], m.tensors[fin].name) : -1;
    if (tin < 0) {
        rc = nomem(&q);
        goto done;
    }
    if ((rc = activation(&q, fin, 0)) != 0)
        goto done;
    q.t[q.map[fin]].name = qname;
    int qin[1] = {tin}, qout[1] = {q.map[fin]};
    tfw_op *o = add_op(&q, TFL_OP_QUANTIZE, qin, 1, qout, 1);
    if (!o) {
        rc = nomem(&q);
        goto done;
    }
    for (int i = 0; i < m.n_ops; i++)
        if ((rc = quantize_op(&q, i)) != 0)
            goto done;
    /* int8 outputs become float ones of the same name */
    for (int k = 0; k < m.n_outputs; k++) {
        int ft = m.outputs[k], t = q.map[ft];
        if (t < 0) {
            rc = mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: output '%s' is not computed by the graph",
                           float_path, m.tensors[ft].name);
            goto done;
        }
        if (q.t[t].type == TFL_TYPE_INT8) {
            const char *renamed = own_name(&q, m.tensors[ft].name, "/int8");
            if (!renamed) {
                rc = nomem(&q);
                goto done;
            }
            q.t[t].name = renamed;
            if ((t = dequantized(&q, ft, m.tensors[ft].name)) < 0) {
                rc = t;
                goto done;
            }
        }
        q.outputs[k] = t;
    }
    tfw_model w = {.tensors = q.t, .n_tensors = q.nt, .ops = q.ops, .n_ops = q.nops,
                   .inputs = qin, .n_inputs = 1, .outputs = q.outputs, .n_outputs = m.n_outputs};
    size_t size = 0;
    uint8_t *bytes = tfw_build(&w, &size);
    if (!bytes) {
        rc = nomem(&q);
        goto done;
    }
    rc = write_atomically(out_path, bytes, size, err, errlen);
    free(bytes);
    q.rep.bytes = size;
    q.rep.operators = q.nops;
    if (report && !rc)
        *report = q.rep;
done:
    for (int i = 0; i < q.n_owned; i++)
        free(q.owned[i]);
    free(q.owned);
    free(q.t);
    free(q.ops);
    free(q.map);
    free(q.producer);
    free(q.outputs);
    free(q.tail);
    tfl_close(&m);
    return rc;
}
