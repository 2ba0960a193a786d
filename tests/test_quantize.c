/*
 * The quantizer (backbone's calib_* and quantize_model) on a small SSD-like
 * float model made with the test builder: a stem conv, a depthwise conv with
 * float16 weights behind DEQUANTIZE, a 1x1 projection, a residual ADD, two
 * 1x1 heads reshaped and concatenated into the float output.
 *  - calibration sees every activation tensor; min/max ranges are the
 *    extremes of the observed values; the percentile is the order statistic;
 *    the cut range leaves out isolated low values (a few, far below the
 *    rest), and the quantizer uses it for the predictors' outputs only;
 *  - the written file follows TFLite's int8 scheme (checked by reading it
 *    back: types, per-channel weight parameters on the right dimension, bias
 *    scales = input scale x weight scale with zero points 0, a QUANTIZE first,
 *    DEQUANTIZE before the float outputs, which keep their names);
 *  - the int8 network's outputs stay within a few output steps of float32's
 *    on the calibration inputs, with the head in float and in int8;
 *  - a nearly dead channel with a bias has its weight scale widened;
 *  - empirical bias correction (bias_probe) measures the shift that weights
 *    all rounded one way cause, and moves the int32 biases against it;
 *  - refusals: an operator outside SSD graphs, a tensor never observed, an
 *    output that cannot be written (no file left behind);
 *  - a channel that is nearly its bias grows its weight scale past 6% for
 *    the 32-bit form, and its output stays within a step of float32's;
 *  - an int8 inverted-residual block big enough to run fused (band by band,
 *    the threads' shares following their pace) gives the same bytes as the
 *    same layers run one by one, at 1 and 2 threads, stride 1 and 2.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backbone/backbone.h"
#include "check.h"
#include "tflite_builder.h"

#define H 8
#define W 8
#define C 8
#define N_INPUTS 4

static char tmpdir[256];

static unsigned rng = 12345u;
static float frand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* IEEE half of a float in the normal range (round to nearest even). */
static uint16_t to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, man = x & 0x7fffff;
    if (exp == 0 || (int)exp - 127 < -14)
        return (uint16_t)sign;
    uint32_t h = sign | ((exp - 127 + 15) << 10) | (man >> 13);
    uint32_t rest = man & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
        h++;
    return (uint16_t)h;
}

typedef struct model_data {
    float stem_w[C * 3 * 3 * 3], stem_b[C];
    uint16_t dw_w16[3 * 3 * C];
    float dw_b[C];
    float pw_w[C * C], pw_b[C];
    float h1_w[4 * C], h1_b[4], h2_w[4 * C], h2_b[4];
    int32_t shape1[3], shape2[3];
} model_data;

/* The float model; with_softmax appends an operator the quantizer refuses. */
static const char *write_float_model(model_data *d, int with_softmax, const char *name)
{
    static tfb_model m;
    memset(&m, 0, sizeof m);
    for (size_t i = 0; i < sizeof d->stem_w / sizeof *d->stem_w; i++)
        d->stem_w[i] = frand() * 0.5f;
    /* channel 5 of the stem: weights all but zero, a bias that is not (its
     * bias would pass int32 at the weights' own scale) */
    for (int i = 0; i < 27; i++)
        d->stem_w[5 * 27 + i] = frand() * 1e-7f;
    for (int c = 0; c < C; c++)
        d->stem_b[c] = c == 5 ? 0.75f : frand() * 0.1f;
    for (int i = 0; i < 9 * C; i++)
        d->dw_w16[i] = to_f16(frand() * 0.7f);
    for (int c = 0; c < C; c++)
        d->dw_b[c] = frand() * 0.2f, d->pw_b[c] = frand() * 0.1f;
    for (int i = 0; i < C * C; i++)
        d->pw_w[i] = frand() * 0.4f;
    for (int i = 0; i < 4 * C; i++)
        d->h1_w[i] = frand() * 0.5f, d->h2_w[i] = frand() * 0.3f;
    for (int i = 0; i < 4; i++)
        d->h1_b[i] = frand(), d->h2_b[i] = frand() * 2.0f;
    d->shape1[0] = d->shape2[0] = 1, d->shape1[1] = d->shape2[1] = H * W, d->shape1[2] = d->shape2[2] = 4;

    int in_s[4] = {1, H, W, 3}, act_s[4] = {1, H, W, C}, head_s[4] = {1, H, W, 4};
    int stem_ws[4] = {C, 3, 3, 3}, dw_ws[4] = {1, 3, 3, C}, pw_ws[4] = {C, 1, 1, C}, h_ws[4] = {4, 1, 1, C};
    int vec_c[1] = {C}, vec_4[1] = {4}, r_s[3] = {1, H * W, 4}, cat_s[3] = {1, 2 * H * W, 4}, three[1] = {3};
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, in_s, "input", NULL, 0);
    int sw = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, stem_ws, "stem/w", d->stem_w, sizeof d->stem_w);
    int sb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, vec_c, "stem/b", d->stem_b, sizeof d->stem_b);
    int s = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, act_s, "stem", NULL, 0);
    int dw16 = tfb_add_tensor(&m, TFL_TYPE_FLOAT16, 4, dw_ws, "dw/w16", d->dw_w16, sizeof d->dw_w16);
    int dww = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, dw_ws, "dw/w", NULL, 0);
    int dwb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, vec_c, "dw/b", d->dw_b, sizeof d->dw_b);
    int dwo = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, act_s, "dw", NULL, 0);
    int pww = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, pw_ws, "pw/w", d->pw_w, sizeof d->pw_w);
    int pwb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, vec_c, "pw/b", d->pw_b, sizeof d->pw_b);
    int pwo = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, act_s, "pw", NULL, 0);
    int sum = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, act_s, "add", NULL, 0);
    int h1w = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, h_ws, "h1/w", d->h1_w, sizeof d->h1_w);
    int h1b = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, vec_4, "h1/b", d->h1_b, sizeof d->h1_b);
    int h1 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, head_s, "h1", NULL, 0);
    int h2w = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, h_ws, "h2/w", d->h2_w, sizeof d->h2_w);
    int h2b = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, vec_4, "h2/b", d->h2_b, sizeof d->h2_b);
    int h2 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, head_s, "h2", NULL, 0);
    int rs1 = tfb_add_tensor(&m, TFL_TYPE_INT32, 1, three, "shape1", d->shape1, sizeof d->shape1);
    int r1 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, r_s, "r1", NULL, 0);
    int rs2 = tfb_add_tensor(&m, TFL_TYPE_INT32, 1, three, "shape2", d->shape2, sizeof d->shape2);
    int r2 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, r_s, "r2", NULL, 0);
    int out = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, cat_s, "raw_outputs/box_encodings", NULL, 0);
    int sm = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, cat_s, "softmax", NULL, 0);

    tfb_op *o = tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, sw, sb}, 3, &s, 1);
    o->activation = TFL_ACT_RELU6;
    tfb_add_op(&m, TFL_OP_DEQUANTIZE, &dw16, 1, &dww, 1)->with_options = 0;
    o = tfb_add_op(&m, TFL_OP_DEPTHWISE_CONV_2D, (int[]){s, dww, dwb}, 3, &dwo, 1);
    o->activation = TFL_ACT_RELU6;
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){dwo, pww, pwb}, 3, &pwo, 1);
    tfb_add_op(&m, TFL_OP_ADD, (int[]){pwo, s}, 2, &sum, 1);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){sum, h1w, h1b}, 3, &h1, 1);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){s, h2w, h2b}, 3, &h2, 1);
    tfb_add_op(&m, TFL_OP_RESHAPE, (int[]){h1, rs1}, 2, &r1, 1);
    tfb_add_op(&m, TFL_OP_RESHAPE, (int[]){h2, rs2}, 2, &r2, 1);
    o = tfb_add_op(&m, TFL_OP_CONCATENATION, (int[]){r1, r2}, 2, &out, 1);
    o->axis = 1;
    if (with_softmax)
        tfb_add_op(&m, TFL_OP_SOFTMAX, &out, 1, &sm, 1);
    m.inputs[m.n_inputs++] = x;
    m.outputs[m.n_outputs++] = with_softmax ? sm : out;

    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    size_t n;
    uint8_t *b = tfb_build(&m, &n);
    CHECK(b && tfb_write_file(path, b, n) == 0, "cannot write %s", path);
    free(b);
    return path;
}

/* Every value the observer passes, per tensor, to check the ranges against. */
typedef struct seen { float lo[64], hi[64]; int calls[64]; calib_ranges *c; } seen;

static void observe(void *user, int tensor, const float *data, size_t count)
{
    seen *s = user;
    CHECK(tensor >= 0 && tensor < 64, "tensor %d", tensor);
    if (tensor < 0 || tensor >= 64)
        return;
    for (size_t i = 0; i < count; i++) {
        if (!s->calls[tensor] && i == 0)
            s->lo[tensor] = s->hi[tensor] = data[0];
        s->lo[tensor] = fminf(s->lo[tensor], data[i]);
        s->hi[tensor] = fmaxf(s->hi[tensor], data[i]);
    }
    s->calls[tensor]++;
    calib_observe(s->c, tensor, data, count);
}

static void test_percentile(void)
{
    char err[256];
    calib_ranges *c = NULL;
    CHECK(calib_create(&c, 1, CALIB_PERCENTILE, 40.0, err, sizeof err) == MNV_EINVAL && !c &&
          strstr(err, "percentile 40"), "percentile 40 accepted: %s", err);
    /* 0..999 shuffled: the 90th percentile from either end is 100 and 899 */
    float v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = (float)i;
    for (int i = 999; i > 0; i--) {
        frand();
        int j = (int)((rng >> 3) % (unsigned)(i + 1));
        float t = v[i];
        v[i] = v[j], v[j] = t;
    }
    CHECK(calib_create(&c, 2, CALIB_PERCENTILE, 90.0, err, sizeof err) == 0, "%s", err);
    float lo = 0, hi = 0;
    CHECK(calib_range(c, 0, &lo, &hi) == -1, "an unseen tensor has a range");
    calib_observe(c, 0, v, 1000);
    CHECK(calib_range(c, 0, &lo, &hi) == 0 && lo == 100.0f && hi == 899.0f, "90th percentile: %g %g", lo, hi);
    /* ranges widen over pictures: a second picture shifted up by 500 */
    for (int i = 0; i < 1000; i++)
        v[i] += 500.0f;
    calib_observe(c, 0, v, 1000);
    CHECK(calib_range(c, 0, &lo, &hi) == 0 && lo == 100.0f && hi == 1399.0f, "two pictures: %g %g", lo, hi);
    /* many equal values and a few outliers: quickselect on duplicates */
    float d[257];
    for (int i = 0; i < 257; i++)
        d[i] = i % 64 == 0 ? 1000.0f : 1.0f;
    calib_observe(c, 1, d, 257);
    CHECK(calib_range(c, 1, &lo, &hi) == 0 && lo == 1.0f && hi == 1.0f, "duplicates: %g %g", lo, hi);
    CHECK(!calib_failed(c), "failed");
    calib_free(c);
    /* percentile 100 is min/max */
    CHECK(calib_create(&c, 1, CALIB_PERCENTILE, 100.0, err, sizeof err) == 0, "%s", err);
    calib_observe(c, 0, d, 257);
    CHECK(calib_range(c, 0, &lo, &hi) == 0 && lo == 1.0f && hi == 1000.0f, "percentile 100: %g %g", lo, hi);
    calib_free(c);
}

/* Isolated low values (calib_range_cut): the few lowest (at most 1 in
 * 1000) lying further below the rest than the rest's extent. */
static void test_range_cut(void)
{
    char err[256];
    calib_ranges *c = NULL;
    CHECK(calib_create(&c, 4, CALIB_MINMAX, 0, err, sizeof err) == 0, "%s", err);
    /* as the default model's smallest box predictor: 4330 values in
     * [-13, 5.5] and two at -80.6 */
    static float v[4332];
    for (int i = 0; i < 4330; i++)
        v[i] = -13.0f + 18.5f * (float)((i * 7919) % 4330) / 4329.0f;
    v[4330] = v[4331] = -80.6f;
    float lo, hi;
    calib_observe(c, 0, v, 4332);
    CHECK(calib_range(c, 0, &lo, &hi) == 0 && lo == -80.6f && hi == 5.5f, "full range %g..%g", lo, hi);
    CHECK(calib_range_cut(c, 0, &lo, &hi) == 0 && lo == -13.0f && hi == 5.5f, "cut range %g..%g", lo, hi);
    /* a later picture reaching lower without an outlier widens the cut range */
    v[4330] = v[4331] = -14.0f;
    calib_observe(c, 0, v, 4332);
    CHECK(calib_range_cut(c, 0, &lo, &hi) == 0 && lo == -14.0f, "cut range over pictures %g", lo);
    /* a gap no wider than the rest's extent is no outlier */
    v[4330] = v[4331] = -31.0f; /* gap 18, extent 18.5 */
    calib_observe(c, 1, v, 4332);
    CHECK(calib_range_cut(c, 1, &lo, &hi) == 0 && lo == -31.0f, "gap below the extent cut: %g", lo);
    /* five far values in 4332 are more than 1 in 1000: kept */
    for (int i = 0; i < 5; i++)
        v[i] = -80.6f;
    calib_observe(c, 2, v, 4332);
    CHECK(calib_range_cut(c, 2, &lo, &hi) == 0 && lo == -80.6f, "5 of 4332 cut: %g", lo);
    /* an isolated high value stays (only low ones go) */
    for (int i = 0; i < 4332; i++)
        v[i] = (float)(i % 100);
    v[17] = 1000.0f;
    calib_observe(c, 3, v, 4332);
    CHECK(calib_range_cut(c, 3, &lo, &hi) == 0 && lo == 0.0f && hi == 1000.0f, "high outlier: %g..%g", lo, hi);
    CHECK(calib_range_cut(c, 3, &lo, &hi) == 0 && calib_range_cut(c, 3 + 1, &lo, &hi) == -1,
          "tensor 4 (of 4) has a cut range");
    calib_free(c);
    /* the percentile method's range is its own cut */
    CHECK(calib_create(&c, 1, CALIB_PERCENTILE, 99.9, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < 4330; i++)
        v[i] = -13.0f + 18.5f * (float)((i * 7919) % 4330) / 4329.0f;
    v[4330] = v[4331] = -80.6f;
    calib_observe(c, 0, v, 4332);
    float plo, phi;
    CHECK(calib_range(c, 0, &plo, &phi) == 0 && calib_range_cut(c, 0, &lo, &hi) == 0 && lo == plo && hi == phi &&
              lo > -13.1f,
          "percentile cut %g..%g, range %g..%g", lo, hi, plo, phi);
    calib_free(c);
}

static const tfl_tensor *find_tensor(const tfl_model *m, const char *name, int *index)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) {
            if (index)
                *index = i;
            return &m->tensors[i];
        }
    return NULL;
}

/* The written file, read back: TFLite's int8 scheme. */
/* Checks the int8 file's structure; returns how many of its convolutions
 * have every channel's multiplier in quant_narrow's 32-bit form for the
 * channel's accumulator bound (as the kernels find at pack time), each of
 * those channels' largest weight at 120 or more (its scale grown by 6%
 * at most) unless all its weights are 0 or +-1 (a widened channel). */
static int check_file(const char *path, int int8_head)
{
    int narrow_layers = 0;
    tfl_model m;
    char err[512];
    int rc = tfl_open(&m, path, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc)
        return 0;
    CHECK(m.n_inputs == 1 && m.tensors[m.inputs[0]].type == TFL_TYPE_FLOAT32 &&
          strcmp(m.tensors[m.inputs[0]].name, "input") == 0, "input");
    CHECK(m.n_outputs == 1 && m.tensors[m.outputs[0]].type == TFL_TYPE_FLOAT32 &&
          strcmp(m.tensors[m.outputs[0]].name, "raw_outputs/box_encodings") == 0, "output");
    CHECK(m.n_ops > 0 && m.ops[0].builtin == TFL_OP_QUANTIZE, "first operator %d", m.ops[0].builtin);
    int convs = 0, dequantize = 0;
    for (int i = 0; i < m.n_ops; i++) {
        const tfl_op *op = &m.ops[i];
        dequantize += op->builtin == TFL_OP_DEQUANTIZE;
        CHECK(op->builtin != TFL_OP_DEQUANTIZE || m.tensors[op->inputs[0]].type == TFL_TYPE_INT8,
              "a DEQUANTIZE of a constant is left");
        if (op->builtin != TFL_OP_CONV_2D && op->builtin != TFL_OP_DEPTHWISE_CONV_2D)
            continue;
        convs++;
        const tfl_tensor *in = &m.tensors[op->inputs[0]], *w = &m.tensors[op->inputs[1]],
                         *b = &m.tensors[op->inputs[2]], *out = &m.tensors[op->outputs[0]];
        const int dim = op->builtin == TFL_OP_DEPTHWISE_CONV_2D ? 3 : 0, ch = w->shape[dim];
        CHECK(in->type == TFL_TYPE_INT8 && in->n_quant == 1 && out->type == TFL_TYPE_INT8 && out->n_quant == 1,
              "op %d activations", i);
        CHECK(w->type == TFL_TYPE_INT8 && w->n_quant == ch && (ch < 2 || w->quant_dim == dim),
              "op %d weights: %d params on dim %d", i, w->n_quant, w->quant_dim);
        CHECK(b->type == TFL_TYPE_INT32 && b->n_quant == ch, "op %d bias", i);
        int bad = 0, full = 0;
        for (int c = 0; c < ch && w->n_quant == ch && b->n_quant == ch; c++) {
            bad += w->zero_point[c] != 0 || b->zero_point[c] != 0 || b->scale[c] != in->scale[0] * w->scale[c];
        }
        for (size_t k = 0; k < w->size; k++)
            full += ((const int8_t *)w->data)[k] == 127 || ((const int8_t *)w->data)[k] == -127;
        CHECK(!bad, "op %d: %d channels with zero points or bias scales off", i, bad);
        int narrow = w->n_quant == ch && b->n_quant == ch, shrunk = 0;
        const size_t per = w->size / (size_t)ch;
        for (int c = 0; c < ch && narrow; c++) {
            qmultiplier mult;
            quant_multiplier_from_double((double)in->scale[0] * (double)w->scale[c] / (double)out->scale[0], &mult);
            int64_t bound = llabs((long long)((const int32_t *)b->data)[c]);
            const int64_t zp = in->zero_point[0], span = zp + 128 > 127 - zp ? zp + 128 : 127 - zp;
            int top = 0;
            for (size_t k = 0; k < per; k++) {
                const int v = ((const int8_t *)w->data)[dim ? k * (size_t)ch + (size_t)c : (size_t)c * per + k];
                bound += (int64_t)abs(v) * span;
                top = abs(v) > top ? abs(v) : top;
            }
            narrow = quant_narrow_exact(mult, bound);
            /* grown by more than 6%, which only a channel may whose weights'
             * rounding moves its output by at most a step (narrow_growth) */
            const double unit = (double)in->scale[0] * w->scale[c] / out->scale[0];
            shrunk += top > 1 && top < 120 && (double)per * (double)span * unit / 2 > 1.0 + 1e-6;
        }
        narrow_layers += narrow;
        CHECK(!narrow || !shrunk, "op %d: %d channels' scales grew by more than 6%%", i, shrunk);
        CHECK(full >= 1 || narrow, "op %d: no weight reaches +-127 though the scales kept their size", i);
        for (size_t k = 0; k < w->size; k++)
            if (((const int8_t *)w->data)[k] == -128) {
                CHECK(0, "op %d: weight -128 (symmetric weights stop at -127)", i);
                break;
            }
    }
    CHECK(convs == 5, "%d convolutions", convs);
    /* float head: a DEQUANTIZE after each head conv; int8 head: one, at the end */
    CHECK(dequantize == (int8_head ? 1 : 2), "%d DEQUANTIZE operators", dequantize);
    int t;
    const tfl_tensor *cat = find_tensor(&m, "raw_outputs/box_encodings", NULL);
    CHECK(cat && cat->type == TFL_TYPE_FLOAT32, "output tensor");
    const tfl_tensor *r1 = find_tensor(&m, "r1", &t);
    CHECK(r1 && r1->type == (int8_head ? TFL_TYPE_INT8 : TFL_TYPE_FLOAT32), "r1's type");
    tfl_close(&m);
    return narrow_layers;
}

static void run_net(const char *path, const float inputs[N_INPUTS][H * W * 3], float out[N_INPUTS][2 * H * W * 4])
{
    char err[512];
    net *n = NULL;
    net_options opt = {.max_isa = isa_select()};
    int rc = net_load(&n, path, &opt, err, sizeof err);
    CHECK(rc == 0, "load %s: %s", path, err);
    if (rc)
        return;
    for (int k = 0; k < N_INPUTS; k++) {
        net_run(n, inputs[k]);
        memcpy(out[k], net_output_data(n, 0), sizeof out[k]);
    }
    net_free(n);
}

static void test_quantize(void)
{
    static model_data d;
    const char *fpath = write_float_model(&d, 0, "float.tflite");
    char fcopy[512], err[512];
    snprintf(fcopy, sizeof fcopy, "%s", fpath);
    static float inputs[N_INPUTS][H * W * 3], ref[N_INPUTS][2 * H * W * 4], got[N_INPUTS][2 * H * W * 4];
    for (int k = 0; k < N_INPUTS; k++)
        for (int i = 0; i < H * W * 3; i++)
            inputs[k][i] = frand() * (k + 1) * 0.5f;

    net *n = NULL;
    net_options opt = {.max_isa = isa_select(), .keep_tensors = 1};
    int rc = net_load(&n, fcopy, &opt, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc)
        return;
    static seen s;
    CHECK(net_tensor_count(n) <= 64, "%d tensors", net_tensor_count(n));
    CHECK(calib_create(&s.c, net_tensor_count(n), CALIB_MINMAX, 0, err, sizeof err) == 0, "%s", err);

    /* a tensor never observed: refused by name */
    char qpath[512];
    snprintf(qpath, sizeof qpath, "%s/int8.tflite", tmpdir);
    quantize_report rep;
    rc = quantize_model(fcopy, s.c, 0, qpath, &rep, err, sizeof err);
    CHECK(rc == MNV_EINVAL && strstr(err, "'input'") && strstr(err, "no calibration values") &&
          access(qpath, F_OK) != 0, "no calibration: rc %d, %s", rc, err);

    for (int k = 0; k < N_INPUTS; k++)
        net_run_observed(n, inputs[k], observe, &s);
    net_free(n);
    /* the observed tensors: input, 5 convs, add, concat (not the reshapes,
     * which share their input's memory, nor the float16 DEQUANTIZE) */
    int observed = 0;
    for (int t = 0; t < 64; t++) {
        float lo, hi;
        if (!s.calls[t]) {
            CHECK(calib_range(s.c, t, &lo, &hi) == -1, "tensor %d has a range but was not observed", t);
            continue;
        }
        observed++;
        CHECK(s.calls[t] == N_INPUTS, "tensor %d observed %d times", t, s.calls[t]);
        CHECK(calib_range(s.c, t, &lo, &hi) == 0 && lo == s.lo[t] && hi == s.hi[t],
              "tensor %d: range %g..%g, observed %g..%g", t, lo, hi, s.lo[t], s.hi[t]);
    }
    CHECK(observed == 8, "%d tensors observed", observed);

    for (int int8_head = 0; int8_head <= 1; int8_head++) {
        rc = quantize_model(fcopy, s.c, int8_head, qpath, &rep, err, sizeof err);
        CHECK(rc == 0, "quantize: %s", err);
        if (rc)
            continue;
        CHECK(rep.convs == 5 && rep.widened == 1 && rep.bytes > 0, "report: %d convs, %d widened", rep.convs,
              rep.widened);
        const int narrow = check_file(qpath, int8_head);
        CHECK(narrow == rep.narrow && narrow >= 1, "%d convolutions with 32-bit requantization, %d reported",
              narrow, rep.narrow);
        /* and with the scales as they are: none grown, and none reported */
        rc = quantize_model(fcopy, s.c, int8_head | QUANTIZE_EXACT_SCALES, qpath, &rep, err, sizeof err);
        CHECK(rc == 0 && rep.narrow == 0, "exact scales: %s, %d narrow", err, rep.narrow);
        check_file(qpath, int8_head);
        rc = quantize_model(fcopy, s.c, int8_head, qpath, &rep, err, sizeof err);
        CHECK(rc == 0, "quantize: %s", err);
        run_net(fcopy, (const float(*)[H * W * 3])inputs, ref);
        run_net(qpath, (const float(*)[H * W * 3])inputs, got);
        /* within a few steps of the output's range: the error of 5 layers */
        float lo = 1e30f, hi = -1e30f, worst = 0;
        double mean = 0;
        for (int k = 0; k < N_INPUTS; k++)
            for (int i = 0; i < 2 * H * W * 4; i++) {
                lo = fminf(lo, ref[k][i]), hi = fmaxf(hi, ref[k][i]);
                float e = fabsf(got[k][i] - ref[k][i]);
                worst = fmaxf(worst, e);
                mean += e;
            }
        mean /= N_INPUTS * 2 * H * W * 4;
        const float step = (hi - lo) / 255.0f;
        CHECK(worst <= 6 * step && mean <= 1.5 * step, "int8 head %d: worst error %g, mean %g, step %g",
              int8_head, worst, mean, step);
        printf("int8 head %d: worst error %.4f (%.2f steps), mean %.4f (%.2f steps)\n", int8_head, worst,
               worst / step, mean, mean / step);
    }

    /* A predictor's output leaves isolated low values out of its range
     * (calib_range_cut), a tensor the network reads on does not: one more
     * picture for h1 (a head conv, dequantized) and for the ADD, of their
     * own range and two values 100 below it. */
    {
        tfl_model fm;
        int th1 = -1, tadd = -1;
        rc = tfl_open(&fm, fcopy, err, sizeof err);
        CHECK(rc == 0, "%s", err);
        if (rc == 0) {
            find_tensor(&fm, "h1", &th1);
            find_tensor(&fm, "add", &tadd);
            tfl_close(&fm);
        }
        CHECK(th1 >= 0 && tadd >= 0, "tensors h1 %d, add %d", th1, tadd);
        float r[2][2] = {{0}}; /* lo, hi before */
        static float extra[2000];
        for (int k = 0; k < 2 && th1 >= 0 && tadd >= 0; k++) {
            const int t = k ? tadd : th1;
            calib_range(s.c, t, &r[k][0], &r[k][1]);
            for (int i = 0; i < 2000; i++)
                extra[i] = r[k][0] + (r[k][1] - r[k][0]) * (float)i / 1999.0f;
            extra[700] = extra[1300] = r[k][0] - 100.0f;
            calib_observe(s.c, t, extra, 2000);
        }
        for (int int8_head = 0; int8_head <= 1 && th1 >= 0 && tadd >= 0; int8_head++) {
            rc = quantize_model(fcopy, s.c, int8_head, qpath, &rep, err, sizeof err);
            CHECK(rc == 0, "quantize: %s", err);
            if (rc != 0 || tfl_open(&fm, qpath, err, sizeof err) != 0)
                continue;
            /* the float head renames h1's int8 tensor; the int8 head keeps it */
            const tfl_tensor *q1 = find_tensor(&fm, int8_head ? "h1" : "h1/int8", NULL),
                             *qa = find_tensor(&fm, "add", NULL);
            CHECK(q1 && qa && q1->type == TFL_TYPE_INT8 && qa->type == TFL_TYPE_INT8, "int8 tensors h1, add");
            for (int k = 0; k < 2 && q1 && qa; k++) {
                const float lo = fminf(r[k][0], 0.0f) - (k || int8_head ? 100.0f : 0.0f),
                            want = (fmaxf(r[k][1], 0.0f) - lo) / 255.0f, got = (k ? qa : q1)->scale[0];
                /* the range's scale rounded up to 6 significant bits
                 * (quantize_model.c, ACT_SCALE_BITS) */
                int e;
                const double f = frexp(got, &e) * 64.0;
                CHECK(got >= want * (1.0f - 1e-6f) && got < want * (1.0f + 1.0f / 32) && f == floor(f),
                      "int8 head %d, %s: scale %g (%a), want %g rounded up to 6 significant bits", int8_head,
                      k ? "add" : "h1", got, got, want);
            }
            tfl_close(&fm);
        }
    }

    /* an output that cannot be written: an error naming it, nothing left */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.tflite", tmpdir);
    rc = quantize_model(fcopy, s.c, 0, bad, &rep, err, sizeof err);
    CHECK(rc == MNV_EIO && strstr(err, bad) && strstr(err, "cannot write"), "unwritable: rc %d, %s", rc, err);

    /* an operator outside SSD graphs */
    const char *spath = write_float_model(&d, 1, "softmax.tflite");
    rc = quantize_model(spath, s.c, 0, qpath, &rep, err, sizeof err);
    CHECK(rc == MNV_EUNSUPPORTED && strstr(err, "SOFTMAX") && strstr(err, "cannot be quantized"),
          "softmax: rc %d, %s", rc, err);
    calib_free(s.c);
    remove(qpath);
    remove(fcopy);
    remove(spath);
}

/* The int32 biases of the tensor named name in the model at path. */
static void read_bias(const char *path, const char *name, int32_t *out, int n)
{
    tfl_model m;
    char err[512];
    int rc = tfl_open(&m, path, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc)
        return;
    const tfl_tensor *t = find_tensor(&m, name, NULL);
    CHECK(t && t->type == TFL_TYPE_INT32 && t->data && t->size == (size_t)n * sizeof *out, "bias '%s'", name);
    if (t && t->data && t->size == (size_t)n * sizeof *out)
        memcpy(out, t->data, (size_t)n * sizeof *out);
    tfl_close(&m);
}

/* Mean of int8 - float32 output per channel (2 channels) over the inputs. */
static void mean_error(const char *fpath, const char *qpath, const float *inputs, int n_inputs, int in_size,
                       double err_out[2])
{
    static float ref[16][8 * 8 * 2];
    char err[512];
    net *n = NULL;
    err_out[0] = err_out[1] = 0.0;
    for (int pass = 0; pass < 2; pass++) {
        int rc = net_load(&n, pass ? qpath : fpath, NULL, err, sizeof err);
        CHECK(rc == 0, "load: %s", err);
        if (rc)
            return;
        for (int k = 0; k < n_inputs; k++) {
            net_run(n, inputs + (size_t)k * in_size);
            const float *o = net_output_data(n, 0);
            for (int i = 0; i < 8 * 8 * 2; i++) {
                if (!pass)
                    ref[k][i] = o[i];
                else
                    err_out[i % 2] += (o[i] - ref[k][i]) / (n_inputs * 8 * 8);
            }
        }
        net_free(n);
        n = NULL;
    }
}

/* 1 if the files at a and b hold the same bytes */
static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        const int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* quantize_model_memo on c (the convolution's search, the memo's part of
 * the work, reaching the 32-bit form): the file byte for byte
 * quantize_model's, the search's result taken from the memo while what it
 * starts from stays (want_reused) and redone otherwise */
static void check_memo(const char *fpath, const calib_ranges *c, quantize_memo *memo, int want_reused)
{
    char plain[512], memod[512], err[512];
    snprintf(plain, sizeof plain, "%s/memo_plain.tflite", tmpdir);
    snprintf(memod, sizeof memod, "%s/memo_memo.tflite", tmpdir);
    quantize_report r0, r1;
    int rc = quantize_model(fpath, c, 0, plain, &r0, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    rc = quantize_model_memo(fpath, c, 0, memo, memod, &r1, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    CHECK(r0.narrow == 1 && r0.narrow_reused == 0 && r1.narrow == 1 &&
          r1.narrow_reused == (want_reused ? 1 : 0), "narrow %d (reused %d), with the memo %d (reused %d), want %d",
          r0.narrow, r0.narrow_reused, r1.narrow, r1.narrow_reused, want_reused);
    CHECK(same_bytes(plain, memod), "the memo's file differs from quantize_model's (reused %d)", want_reused);
    remove(plain);
    remove(memod);
}

/* Empirical bias correction on one 1x1 convolution (8 -> 2 channels, no
 * activation) whose weights all round the same way: in channel 0 each
 * weight but the largest is 0.4 of a step above an integer step (rounded
 * down: the int8 output comes out low on positive inputs), in channel 1 0.6
 * above (rounded up: high). The probe must measure the shift the rounding
 * causes, within the noise of the activations' rounding, and the corrected
 * file's biases must move by it: channel 0's up, channel 1's down; the
 * corrected model's mean error must shrink. */
static void test_bias_correction(void)
{
    enum { CI = 8, CO = 2, K = 16 };
    static tfb_model m;
    memset(&m, 0, sizeof m);
    static float w[CO * CI], b[CO] = {0.1f, -0.1f}, inputs[K][8 * 8 * CI];
    for (int o = 0; o < CO; o++) {
        w[o * CI] = 1.0f; /* the largest: the scale is 1/127 */
        for (int i = 1; i < CI; i++)
            w[o * CI + i] = ((float)(8 + i) + (o ? 0.6f : 0.4f)) / 127.0f;
    }
    int in_s[4] = {1, 8, 8, CI}, out_s[4] = {1, 8, 8, CO}, ws[4] = {CO, 1, 1, CI}, bs[1] = {CO};
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, in_s, "input", NULL, 0);
    int tw = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, ws, "conv/w", w, sizeof w);
    int tb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, bs, "conv/b", b, sizeof b);
    int y = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, out_s, "conv", NULL, 0);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, tw, tb}, 3, &y, 1);
    m.inputs[m.n_inputs++] = x;
    m.outputs[m.n_outputs++] = y;
    char fpath[512], qpath[512], cpath[512], err[512];
    snprintf(fpath, sizeof fpath, "%s/bias_float.tflite", tmpdir);
    snprintf(qpath, sizeof qpath, "%s/bias_int8.tflite", tmpdir);
    snprintf(cpath, sizeof cpath, "%s/bias_corrected.tflite", tmpdir);
    size_t nb;
    uint8_t *bytes = tfb_build(&m, &nb);
    CHECK(bytes && tfb_write_file(fpath, bytes, nb) == 0, "cannot write %s", fpath);
    free(bytes);
    /* inputs in [0, 1]: the float - int8 shift the weights cause is, per
     * channel, the mean over the inputs of sum_i x_i (w_i - rounded w_i) */
    double expect[CO] = {0, 0};
    for (int k = 0; k < K; k++)
        for (int p = 0; p < 8 * 8; p++)
            for (int i = 0; i < CI; i++) {
                float v = inputs[k][p * CI + i] = (frand() + 1.0f) * 0.5f;
                for (int o = 0; o < CO; o++) {
                    float ww = w[o * CI + i];
                    expect[o] += (double)v * (ww - nearbyintf(ww * 127.0f) / 127.0f) / (K * 8 * 8);
                }
            }
    CHECK(expect[0] > 0.005 && expect[1] < -0.005, "the model: expected shifts %g %g", expect[0], expect[1]);

    net *fn = NULL, *qn = NULL;
    net_options opt = {.max_isa = isa_select(), .keep_tensors = 1};
    calib_ranges *c = NULL;
    bias_probe *probe = NULL;
    quantize_memo *memo = NULL;
    int rc = net_load(&fn, fpath, &opt, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (!rc)
        rc = calib_create(&c, net_tensor_count(fn), CALIB_MINMAX, 0, err, sizeof err);
    for (int k = 0; k < K && !rc; k++)
        net_run_observed(fn, inputs[k], calib_observe, c);
    int n_shift = -1;
    CHECK(!rc && !calib_bias_shift(c, y, &n_shift) && n_shift == 0, "a shift before any correction");
    /* the scales exactly max|w| / 127, which expect assumes */
    if (!rc)
        rc = quantize_model(fpath, c, QUANTIZE_EXACT_SCALES, qpath, NULL, err, sizeof err);
    if (!rc)
        rc = net_load(&qn, qpath, &opt, err, sizeof err);
    if (!rc)
        rc = bias_probe_create(&probe, fpath, qpath, 0, -1, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc)
        goto done;
    CHECK(bias_probe_count(probe) == 1, "%d convolutions", bias_probe_count(probe));
    memo = quantize_memo_create();
    CHECK(memo != NULL, "out of memory");
    if (memo) {
        check_memo(fpath, c, memo, 0); /* the memo empty: searched */
        check_memo(fpath, c, memo, 1); /* the same inputs: reused */
    }
    for (int k = 0; k < K; k++) {
        net_run_observed(fn, inputs[k], bias_probe_float, probe);
        net_run_observed_q8(qn, inputs[k], bias_probe_int8, probe);
    }
    CHECK(!bias_probe_failed(probe), "out of memory");
    double mean_abs = 0;
    rc = bias_probe_apply(probe, c, &mean_abs, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    const float *shift = calib_bias_shift(c, y, &n_shift);
    CHECK(shift && n_shift == CO, "no shift for the convolution (%d channels)", n_shift);
    if (!shift || n_shift != CO)
        goto done;
    for (int o = 0; o < CO; o++)
        CHECK(fabs(shift[o] - expect[o]) <= 0.2 * fabs(expect[o]), "channel %d: shift %g, expected %g", o,
              (double)shift[o], expect[o]);
    CHECK(fabs(mean_abs - (fabs(shift[0]) + fabs(shift[1])) / 2) < 1e-6, "mean |shift| %g", mean_abs);
    printf("bias correction: shifts %.5f %.5f, expected %.5f %.5f\n", (double)shift[0], (double)shift[1],
           expect[0], expect[1]);
    if (memo) {
        check_memo(fpath, c, memo, 0); /* the bias moved: searched again */
        check_memo(fpath, c, memo, 1);
        /* another float model (the same bytes under another name): afresh */
        char fcopy[600];
        snprintf(fcopy, sizeof fcopy, "%s/bias_float_copy.tflite", tmpdir);
        bytes = tfb_build(&m, &nb);
        CHECK(bytes && tfb_write_file(fcopy, bytes, nb) == 0, "cannot write %s", fcopy);
        free(bytes);
        check_memo(fcopy, c, memo, 0);
        remove(fcopy);
    }

    rc = quantize_model(fpath, c, QUANTIZE_EXACT_SCALES, cpath, NULL, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    int32_t before[CO] = {0, 0}, after[CO] = {0, 0};
    read_bias(qpath, "conv/b", before, CO);
    read_bias(cpath, "conv/b", after, CO);
    /* bias units: input scale (1/255, from [0, 1]) x weight scale (1/127) */
    for (int o = 0; o < CO; o++) {
        double moved = (double)(after[o] - before[o]) / (255.0 * 127.0);
        CHECK(fabs(moved - shift[o]) <= 0.02 * fabs(shift[o]), "channel %d: bias %d -> %d, moved %g, shift %g",
              o, before[o], after[o], moved, (double)shift[o]);
    }
    CHECK(after[0] > before[0] && after[1] < before[1], "biases %d %d -> %d %d", before[0], before[1], after[0],
          after[1]);
    double e_before[2], e_after[2];
    mean_error(fpath, qpath, &inputs[0][0], K, 8 * 8 * CI, e_before);
    mean_error(fpath, cpath, &inputs[0][0], K, 8 * 8 * CI, e_after);
    for (int o = 0; o < CO; o++)
        CHECK(fabs(e_after[o]) < 0.25 * fabs(e_before[o]), "channel %d: mean error %g before, %g after", o,
              e_before[o], e_after[o]);
    printf("bias correction: mean int8 - float32 %.5f %.5f before, %.5f %.5f after\n", e_before[0], e_before[1],
           e_after[0], e_after[1]);
done:
    quantize_memo_free(memo);
    bias_probe_free(probe);
    calib_free(c);
    net_free(qn);
    net_free(fn);
    remove(fpath);
    remove(qpath);
    remove(cpath);
}

/* m with input tensor in and output tensor out, written to
 * tmpdir/NAME.tflite (fpath); qpath gets tmpdir/NAME.int8.tflite, where the
 * quantizer is to write (both of len bytes) */
static void write_test_model(tfb_model *m, int in, int out, const char *name, char *fpath, char *qpath,
                             size_t len)
{
    m->inputs[m->n_inputs++] = in;
    m->outputs[m->n_outputs++] = out;
    snprintf(fpath, len, "%s/%s.tflite", tmpdir, name);
    snprintf(qpath, len, "%s/%s.int8.tflite", tmpdir, name);
    size_t nb;
    uint8_t *b = tfb_build(m, &nb);
    CHECK(b && tfb_write_file(fpath, b, nb) == 0, "cannot write %s", fpath);
    free(b);
}

/* The float model at fpath run over n inputs of in_size values each (when
 * ref is not NULL, its first output, out_size values an input, copied
 * there), min/max ranges taken of every tensor, and the model quantized
 * into qpath with them; 0, or the failing step's code (reported) */
static int calibrate_and_quantize(const char *fpath, const float *inputs, int n, size_t in_size, float *ref,
                                  size_t out_size, const char *qpath, quantize_report *rep)
{
    char err[512];
    net *fn = NULL;
    calib_ranges *c = NULL;
    net_options opt = {.max_isa = isa_select(), .keep_tensors = 1};
    int rc = net_load(&fn, fpath, &opt, err, sizeof err);
    if (rc == 0)
        rc = calib_create(&c, net_tensor_count(fn), CALIB_MINMAX, 0, err, sizeof err);
    for (int k = 0; k < n && rc == 0; k++) {
        net_run_observed(fn, inputs + (size_t)k * in_size, calib_observe, c);
        if (ref)
            memcpy(ref + (size_t)k * out_size, net_output_data(fn, 0), out_size * sizeof *ref);
    }
    if (rc == 0)
        rc = quantize_model(fpath, c, 0, qpath, rep, err, sizeof err);
    CHECK(rc == 0, "calibrate and quantize %s: %s", fpath, err);
    net_free(fn);
    calib_free(c);
    return rc;
}

/* A 1x1 convolution (8 -> 16, linear) whose last channel is nearly its bias
 * (weights of 1e-4, bias 1): its bias in units of input scale x weight
 * scale is some 10^8, so the 32-bit form needs so many zero bits that no
 * multiplier within NARROW_MAX_GROWTH's 6% has them (without narrow_growth
 * the layer keeps the 64-bit form: tried). Its weights and bias move its
 * output by far less than a step when its scale grows (narrow_growth), so
 * the layer takes the form anyway: that channel's scale grows by more than
 * 6% (4x here), the others' by 6% at most, and its output stays within a
 * step of float32's. */
static void test_narrow_growth(void)
{
    enum { CIN = 8, COUT = 16, SIDE = 4, PICS = 4 };
    static float w[COUT * CIN], b[COUT];
    for (int o = 0; o < COUT; o++) {
        for (int i = 0; i < CIN; i++)
            w[o * CIN + i] = o == COUT - 1 ? frand() * 1e-4f : frand() * 0.5f;
        b[o] = o == COUT - 1 ? 1.0f : frand() * 0.1f;
    }
    w[(COUT - 1) * CIN] = 1e-4f; /* its largest weight, exactly */
    int in_s[4] = {1, SIDE, SIDE, CIN}, o_s[4] = {1, SIDE, SIDE, COUT}, w_s[4] = {COUT, 1, 1, CIN}, vb[1] = {COUT};
    static tfb_model m;
    memset(&m, 0, sizeof m);
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, in_s, "input", NULL, 0);
    int tw = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, w_s, "w", w, sizeof w);
    int tb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, vb, "b", b, sizeof b);
    int to = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, o_s, "out", NULL, 0);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, tw, tb}, 3, &to, 1);
    char fpath[512], qpath[512], err[512];
    write_test_model(&m, x, to, "growth", fpath, qpath, sizeof fpath);

    enum { N_IN = SIDE * SIDE * CIN, N_OUT = SIDE * SIDE * COUT };
    static float pics[PICS][N_IN], ref[PICS][N_OUT];
    for (int k = 0; k < PICS; k++)
        for (int i = 0; i < N_IN; i++)
            pics[k][i] = frand();
    quantize_report rep = {0};
    int rc = calibrate_and_quantize(fpath, &pics[0][0], PICS, N_IN, &ref[0][0], N_OUT, qpath, &rep);
    if (rc != 0)
        return;
    CHECK(rep.narrow == 1 && rep.widened == 0, "%d layers in the 32-bit form, %d widened: want 1 and 0",
          rep.narrow, rep.widened);

    tfl_model qm;
    rc = tfl_open(&qm, qpath, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        const tfl_tensor *qw = find_tensor(&qm, "w", NULL);
        CHECK(qw && qw->n_quant == COUT, "the int8 weights' scales");
        if (qw && qw->n_quant == COUT) {
            const double grown = qw->scale[COUT - 1] / (1e-4 / 127.0);
            /* comparisons, not fmaxf / fmax: Debian 12's aarch64 gcc stops with an
             * internal error vectorizing those reductions here */
            double others = 0;
            for (int o = 0; o < COUT - 1; o++) {
                float top = 0;
                for (int i = 0; i < CIN; i++)
                    if (fabsf(w[o * CIN + i]) > top)
                        top = fabsf(w[o * CIN + i]);
                const double g = qw->scale[o] / (top / 127.0);
                if (g > others)
                    others = g;
            }
            CHECK(grown > 1.06 && grown < 256.0, "the nearly-bias channel's scale grew %.4fx", grown);
            CHECK(others <= 1.06 + 1e-6, "another channel's scale grew %.4fx (6%% at most)", others);
            printf("narrow growth: the nearly-bias channel's scale grew %.3fx, the others' %.4fx at most\n",
                   grown, others);
        }
        tfl_close(&qm);
    }

    net *n = NULL;
    net_options opt = {.max_isa = isa_select()};
    rc = net_load(&n, qpath, &opt, err, sizeof err);
    CHECK(rc == 0, "load %s: %s", qpath, err);
    if (rc == 0) {
        /* the output's step: its calibrated range over 255 */
        float lo = 0, hi = 0;
        for (int k = 0; k < PICS; k++)
            for (int i = 0; i < N_OUT; i++)
                lo = fminf(lo, ref[k][i]), hi = fmaxf(hi, ref[k][i]);
        const float step = (hi - lo) / 255.0f;
        float worst = 0;
        for (int k = 0; k < PICS; k++) {
            net_run(n, pics[k]);
            const float *got = net_output_data(n, 0);
            for (int p = 0; p < SIDE * SIDE; p++)
                worst = fmaxf(worst, fabsf(got[p * COUT + COUT - 1] - ref[k][p * COUT + COUT - 1]));
        }
        CHECK(worst <= step, "the nearly-bias channel: int8 off float32 by %g, a step is %g", worst, step);
        net_free(n);
    }
    remove(fpath);
    remove(qpath);
}

/* expand 1x1 (8 -> 64, RELU6) -> depthwise 3x3 (stride, RELU6) -> project
 * 1x1 (64 -> 8), on a 1 x side x side x 8 input: quantized here, then the
 * int8 net's fused run against its layer-by-layer run. */
static void test_fused_block(int side, int stride)
{
    enum { CIN = 8, E = 64 };
    static float ew[E * CIN], eb[E], dw[9 * E], db[E], pw[CIN * E], pb[CIN];
    for (int i = 0; i < E * CIN; i++)
        ew[i] = frand() * 0.5f, pw[i] = frand() * 0.2f;
    for (int i = 0; i < 9 * E; i++)
        dw[i] = frand() * 0.6f;
    for (int i = 0; i < E; i++)
        eb[i] = frand() * 0.1f, db[i] = frand() * 0.1f;
    for (int i = 0; i < CIN; i++)
        pb[i] = frand() * 0.1f;
    const int os = (side + stride - 1) / stride;
    int in_s[4] = {1, side, side, CIN}, e_s[4] = {1, side, side, E}, d_s[4] = {1, os, os, E},
        o_s[4] = {1, os, os, CIN};
    int ew_s[4] = {E, 1, 1, CIN}, dw_s[4] = {1, 3, 3, E}, pw_s[4] = {CIN, 1, 1, E}, ve[1] = {E}, vc[1] = {CIN};
    static tfb_model m;
    memset(&m, 0, sizeof m);
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, in_s, "input", NULL, 0);
    int t_ew = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, ew_s, "ew", ew, sizeof ew);
    int t_eb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, ve, "eb", eb, sizeof eb);
    int t_e = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, e_s, "expand", NULL, 0);
    int t_dw = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, dw_s, "dw", dw, sizeof dw);
    int t_db = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, ve, "db", db, sizeof db);
    int t_d = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, d_s, "depthwise", NULL, 0);
    int t_pw = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, pw_s, "pw", pw, sizeof pw);
    int t_pb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, vc, "pb", pb, sizeof pb);
    int t_o = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, o_s, "project", NULL, 0);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, t_ew, t_eb}, 3, &t_e, 1)->activation = TFL_ACT_RELU6;
    tfb_op *o = tfb_add_op(&m, TFL_OP_DEPTHWISE_CONV_2D, (int[]){t_e, t_dw, t_db}, 3, &t_d, 1);
    o->activation = TFL_ACT_RELU6;
    o->stride_w = o->stride_h = stride;
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){t_d, t_pw, t_pb}, 3, &t_o, 1);
    char fpath[512], qpath[512], err[512];
    write_test_model(&m, x, t_o, "block", fpath, qpath, sizeof fpath);

    const size_t n_in = (size_t)side * side * CIN, n_out = (size_t)os * os * CIN;
    float *input = malloc(n_in * sizeof *input), *fused = malloc(n_out * sizeof *fused);
    CHECK(input && fused, "out of memory");
    if (input && fused) {
        for (size_t i = 0; i < n_in; i++)
            input[i] = frand();
        quantize_report rep;
        calibrate_and_quantize(fpath, input, 1, n_in, NULL, 0, qpath, &rep);
    }
    net *n = NULL;
    net_options opt = {.max_isa = isa_select()};
    if (input && fused && net_load(&n, qpath, &opt, err, sizeof err) == 0) {
        CHECK(net_fused_blocks(n) == 1, "side %d stride %d: %d fused blocks, want 1 (is the block big enough?)",
              side, stride, net_fused_blocks(n));
        double *secs = calloc((size_t)net_layer_count(n), sizeof *secs);
        for (int threads = 1; threads <= 2 && secs; threads++) {
            omp_set_num_threads(threads);
            for (int run = 0; run < 3; run++) {
                for (size_t i = 0; i < n_in; i++)
                    input[i] = frand() * 1.2f;
                net_run(n, input);
                memcpy(fused, net_output_data(n, 0), n_out * sizeof *fused);
                net_run_timed(n, input, secs); /* layer by layer */
                CHECK(memcmp(fused, net_output_data(n, 0), n_out * sizeof *fused) == 0,
                      "side %d stride %d, %d threads, run %d: fused and layer-by-layer runs differ", side, stride,
                      threads, run);
            }
        }
        free(secs);
    } else {
        CHECK(0, "load %s: %s", qpath, err);
    }
    net_free(n);
    free(input);
    free(fused);
    remove(fpath);
    remove(qpath);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mnv2det-quantize-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_percentile();
    test_range_cut();
    test_quantize();
    test_bias_correction();
    test_narrow_growth();
    /* expand outputs of 128x128x64 and 130x130x64 int8 bytes: over the 1 MB
     * from which plan_blocks fuses float32 blocks; 72x72x64, over the 128 KB
     * from which it fuses int8 ones, and a band that would hold it all */
    test_fused_block(128, 1);
    test_fused_block(130, 2);
    test_fused_block(72, 1);
    rmdir(tmpdir);
    return check_finish("quantizer");
}
