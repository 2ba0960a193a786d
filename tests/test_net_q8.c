/*
 * Quantized networks: small SSD-like int8 and uint8 models built here with
 * random weights and parameters, loaded by net_load and run, against a plain
 * evaluator in this file that walks the same graph description operator by
 * operator with the reference int8 kernels (no net.c, no arena, no reader).
 * The outputs must be equal bit for bit: both end in the same dequantization
 * of the same int8 values, so any difference is an int8 difference.
 *
 * Graph (16x16x3 input, C channels, A anchors, NC scores per anchor):
 *   [QUANTIZE] -> conv 3x3/2 RELU6 (stem) -> 1x1 RELU6 -> dw 3x3 RELU6 -> 1x1
 *   -> ADD stem (fm0, 8x8) -> dw 3x3/2 x2 RELU -> 1x1 (fm1, 4x4)
 *   heads: 1x1 box and class convs on fm0 and fm1, RESHAPE, CONCATENATION
 *   (parts requantized when their parameters differ from the output's),
 *   LOGISTIC on the classes, [DEQUANTIZE] or implicit dequantization; the
 *   uint8 variant ends in TFLite_Detection_PostProcess with uint8 anchors.
 *
 * The uint8 model also runs through the detector (pre-processing, network,
 * the operator's own decoding settings and anchors, NMS), as mnv2det runs
 * it, against ssd_postprocess on the network's outputs by hand.
 *
 * Also: models the importer must refuse (INT16 activations, per-channel
 * activations, missing parameters, ...) with a message naming the tensor.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "backbone/backbone.h"
#include "check.h"
#include "tflite_builder.h"

enum { IH = 16, IW = 16, C = 8, A = 2, NC = 4 };
enum { H0 = 8, W0 = 8, H1 = 4, W1 = 4, N = (H0 * W0 + H1 * W1) * A };

static char tmpdir[256];

static unsigned rng_next(unsigned *s)
{
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return *s;
}

/* uniform in [lo, hi] */
static int rand_int(unsigned *s, int lo, int hi)
{
    return lo + (int)(rng_next(s) % (unsigned)(hi - lo + 1));
}

static float rand_float(unsigned *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)(rng_next(s) >> 8) / 16777216.0f;
}

/* ---- the models ---- */

typedef struct variant {
    const char *name;
    int uint8;                /* uint8 per tensor (asymmetric weights), else int8 per channel */
    int float_io;             /* float input and outputs with QUANTIZE / DEQUANTIZE operators */
    int scaled_concat;        /* concatenation parts of other parameters than the output's */
    int postprocess;          /* ends in TFLite_Detection_PostProcess */
} variant;

#define MAX_CONST (64 * 1024)

/* Everything tfb_build reads must live until then: constants and the
 * quantization parameters of every tensor, in one static pool. */
typedef struct pool {
    uint8_t bytes[MAX_CONST];
    size_t used;
    float scales[TFB_MAX_TENSORS][32];
    int64_t zps[TFB_MAX_TENSORS][32];
    char names[TFB_MAX_TENSORS][24];
} pool;

static void *pool_take(pool *p, size_t n)
{
    size_t at = (p->used + 15) & ~(size_t)15;
    if (at + n > MAX_CONST) {
        fprintf(stderr, "test pool too small\n");
        exit(1);
    }
    p->used = at + n;
    return p->bytes + at;
}

typedef struct builder {
    tfb_model *m;
    pool *p;
    const variant *v;
    unsigned seed;
} builder;

static int qtype(const builder *b)
{
    return b->v->uint8 ? TFL_TYPE_UINT8 : TFL_TYPE_INT8;
}

/* An activation tensor with per-tensor parameters (zero point given in
 * int8 terms, shifted for uint8). */
static int act_tensor(builder *b, const char *name, int rank, const int *shape, float scale, int zp)
{
    int t = tfb_add_tensor(b->m, qtype(b), rank, shape, name, NULL, 0);
    b->p->scales[t][0] = scale;
    b->p->zps[t][0] = zp + (b->v->uint8 ? 128 : 0);
    tfb_set_quant(b->m, t, b->p->scales[t], b->p->zps[t], 1, 0);
    return t;
}

static int random_act(builder *b, const char *name, int rank, const int *shape)
{
    return act_tensor(b, name, rank, shape, rand_float(&b->seed, 0.01f, 0.08f), rand_int(&b->seed, -40, 40));
}

static float tensor_scale(const builder *b, int t)
{
    return b->m->tensors[t].scales[0];
}

/* A convolution (depthwise when dw) on tensor in: weights and bias made
 * here, the output's scale chosen so that its values spread over the int8
 * range instead of all saturating. */
static int conv(builder *b, int in, int dw, int k, int stride, int out_c, int act, const char *name)
{
    const tfb_tensor *ti = &b->m->tensors[in];
    const int ih = ti->shape[1], iw = ti->shape[2], ic = ti->shape[3];
    const int oh = (ih + stride - 1) / stride, ow = (iw + stride - 1) / stride; /* SAME */
    const int taps = k * k * (dw ? 1 : ic);
    const size_t nw = (size_t)out_c * k * k * (dw ? 1 : ic);
    uint8_t *w = pool_take(b->p, nw);
    int32_t *bias = pool_take(b->p, (size_t)out_c * sizeof *bias);
    char *wname = b->p->names[b->m->n_tensors], *bname = b->p->names[b->m->n_tensors + 1];
    snprintf(wname, 24, "%s/w", name);
    snprintf(bname, 24, "%s/b", name);
    int tw, tb;
    float wscale_mean = 0;
    if (b->v->uint8) {
        int zp = rand_int(&b->seed, 100, 156);
        for (size_t i = 0; i < nw; i++)
            w[i] = (uint8_t)rand_int(&b->seed, 0, 255);
        float ws = rand_float(&b->seed, 0.002f, 0.02f);
        tw = tfb_add_qtensor(b->m, TFL_TYPE_UINT8, 4, dw ? (int[]){1, k, k, out_c} : (int[]){out_c, k, k, ic},
                             wname, w, nw, ws, zp);
        wscale_mean = ws;
        tb = tfb_add_qtensor(b->m, TFL_TYPE_INT32, 1, (int[]){out_c}, bname, bias, (size_t)out_c * 4,
                             tensor_scale(b, in) * ws, 0);
    } else {
        for (size_t i = 0; i < nw; i++)
            w[i] = (uint8_t)(int8_t)rand_int(&b->seed, -127, 127);
        tw = tfb_add_tensor(b->m, TFL_TYPE_INT8, 4, dw ? (int[]){1, k, k, out_c} : (int[]){out_c, k, k, ic},
                            wname, w, nw);
        tb = tfb_add_tensor(b->m, TFL_TYPE_INT32, 1, (int[]){out_c}, bname, bias, (size_t)out_c * 4);
        for (int c = 0; c < out_c; c++) {
            b->p->scales[tw][c] = rand_float(&b->seed, 0.002f, 0.02f);
            b->p->zps[tw][c] = 0;
            b->p->scales[tb][c] = tensor_scale(b, in) * b->p->scales[tw][c];
            b->p->zps[tb][c] = 0;
            wscale_mean += b->p->scales[tw][c] / (float)out_c;
        }
        tfb_set_quant(b->m, tw, b->p->scales[tw], b->p->zps[tw], out_c, dw ? 3 : 0);
        tfb_set_quant(b->m, tb, b->p->scales[tb], b->p->zps[tb], out_c, 0);
    }
    for (int c = 0; c < out_c; c++)
        bias[c] = rand_int(&b->seed, -3000, 3000);
    /* |w - zp| ~ 73 and |x - zp| ~ 40 on average */
    float out_scale = tensor_scale(b, in) * wscale_mean * sqrtf((float)taps) * 73.0f * 40.0f / 50.0f;
    int out = act_tensor(b, name, 4, (int[]){1, oh, ow, out_c}, out_scale, rand_int(&b->seed, -30, 30));
    tfb_op *op = tfb_add_op(b->m, dw ? TFL_OP_DEPTHWISE_CONV_2D : TFL_OP_CONV_2D, (int[]){in, tw, tb}, 3,
                            (int[]){out}, 1);
    op->stride_w = op->stride_h = stride;
    op->activation = act;
    op->depth_multiplier = dw ? out_c / ic : 0;
    return out;
}

/* The model of variant v into m (constants in p); *image gets the input
 * tensor. */
static void build_model(tfb_model *m, pool *p, const variant *v, unsigned seed, uint8_t *opts, size_t opts_size)
{
    memset(m, 0, sizeof *m);
    memset(p, 0, sizeof *p);
    builder b = {m, p, v, seed};
    int image;
    int x;
    if (v->float_io) {
        image = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 4, (int[]){1, IH, IW, 3}, "image", NULL, 0);
        x = act_tensor(&b, "image_q", 4, (int[]){1, IH, IW, 3}, 1.0f / 128, 0);
        tfb_add_op(m, TFL_OP_QUANTIZE, &image, 1, &x, 1);
    } else {
        image = x = act_tensor(&b, "image", 4, (int[]){1, IH, IW, 3}, 1.0f / 128, 0);
    }
    int stem = conv(&b, x, 0, 3, 2, C, TFL_ACT_RELU6, "stem");
    int e = conv(&b, stem, 0, 1, 1, 2 * C, TFL_ACT_RELU6, "expand");
    int d = conv(&b, e, 1, 3, 1, 2 * C, TFL_ACT_RELU6, "dw");
    int pj = conv(&b, d, 0, 1, 1, C, TFL_ACT_NONE, "project");
    int fm0 = random_act(&b, "fm0", 4, (int[]){1, H0, W0, C});
    tfb_add_op(m, TFL_OP_ADD, (int[]){pj, stem}, 2, &fm0, 1);
    int d2 = conv(&b, fm0, 1, 3, 2, 2 * C, TFL_ACT_RELU, "dw2");
    int fm1 = conv(&b, d2, 0, 1, 1, C, TFL_ACT_NONE, "fm1");

    int fms[2] = {fm0, fm1}, cells[2] = {H0 * W0, H1 * W1};
    int parts[2][2];
    const float box_scale = 0.05f, cls_scale = 0.06f;
    const int box_zp = 3, cls_zp = -7;
    for (int k = 0; k < 2; k++) {
        for (int h = 0; h < 2; h++) { /* h 0: boxes, 1: classes */
            int width = h ? NC : 4;
            static char head_names[2][2][2][24]; /* [map][head]: the conv's, the reshape's */
            char *name = head_names[k][h][0], *rname = head_names[k][h][1];
            snprintf(name, 24, "%s%d", h ? "cls" : "box", k);
            int o = conv(&b, fms[k], 0, 1, 1, A * width, TFL_ACT_NONE, name);
            /* the converter gives the parts the output's parameters; then
             * the concatenation copies */
            float s = v->scaled_concat ? tensor_scale(&b, o) : h ? cls_scale : box_scale;
            int z = v->scaled_concat ? (int)m->tensors[o].zero_points[0] - (v->uint8 ? 128 : 0) : h ? cls_zp : box_zp;
            p->scales[o][0] = s;
            p->zps[o][0] = z + (v->uint8 ? 128 : 0);
            snprintf(rname, 24, "%s%d/reshaped", h ? "cls" : "box", k);
            int r = act_tensor(&b, rname, 3, (int[]){1, cells[k] * A, width}, s, z);
            tfb_add_op(m, TFL_OP_RESHAPE, &o, 1, &r, 1);
            parts[h][k] = r;
        }
    }
    int boxes = act_tensor(&b, "boxes", 3, (int[]){1, N, 4}, box_scale, box_zp);
    tfb_add_op(m, TFL_OP_CONCATENATION, parts[0], 2, &boxes, 1)->axis = 1;
    int logits = act_tensor(&b, "logits", 3, (int[]){1, N, NC}, cls_scale, cls_zp);
    tfb_add_op(m, TFL_OP_CONCATENATION, parts[1], 2, &logits, 1)->axis = -2;
    int scores = act_tensor(&b, "scores", 3, (int[]){1, N, NC}, 1.0f / 256, -128);
    tfb_add_op(m, TFL_OP_LOGISTIC, &logits, 1, &scores, 1);
    int outs[2] = {boxes, scores};
    if (v->float_io) {
        int fb = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 3, (int[]){1, N, 4}, "boxes_f", NULL, 0);
        int fs = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 3, (int[]){1, N, NC}, "scores_f", NULL, 0);
        tfb_add_op(m, TFL_OP_DEQUANTIZE, &boxes, 1, &fb, 1);
        tfb_add_op(m, TFL_OP_DEQUANTIZE, &scores, 1, &fs, 1);
        outs[0] = fb, outs[1] = fs;
    }
    m->inputs[0] = image, m->n_inputs = 1;
    if (v->postprocess) {
        /* uint8 anchors, as in the quantization-aware detectors */
        uint8_t *anc = pool_take(p, N * 4);
        for (int i = 0; i < N * 4; i++)
            anc[i] = (uint8_t)rand_int(&b.seed, 1, 255);
        int ta = tfb_add_qtensor(m, TFL_TYPE_UINT8, 2, (int[]){N, 4}, "anchors", anc, N * 4, 0.004f, 0);
        int d0 = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 3, (int[]){1, 5, 4}, "detection_boxes", NULL, 0);
        int d1 = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 2, (int[]){1, 5}, "detection_classes", NULL, 0);
        int d2o = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 2, (int[]){1, 5}, "detection_scores", NULL, 0);
        int d3 = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 1, (int[]){1}, "num_detections", NULL, 0);
        tfb_op *op = tfb_add_op(m, TFL_OP_CUSTOM, (int[]){outs[0], outs[1], ta}, 3, (int[]){d0, d1, d2o, d3}, 4);
        op->custom_code = "TFLite_Detection_PostProcess";
        op->custom_options = opts;
        op->custom_options_size = opts_size;
        m->outputs[0] = d0, m->outputs[1] = d1, m->outputs[2] = d2o, m->outputs[3] = d3, m->n_outputs = 4;
    } else {
        m->outputs[0] = outs[0], m->outputs[1] = outs[1], m->n_outputs = 2;
    }
}

/* ---- the plain evaluator ---- */

static int is_q(int type) { return type == TFL_TYPE_INT8 || type == TFL_TYPE_UINT8; }

/* Per-tensor parameters of t as int8 ones. */
static qparams params_of(const tfb_tensor *t)
{
    qparams q = {t->scales[0], (int32_t)t->zero_points[0]};
    return t->type == TFL_TYPE_UINT8 ? quant_params_u8_to_s8(q) : q;
}

static size_t elems_of(const tfb_tensor *t)
{
    size_t e = 1;
    for (int i = 0; i < t->rank; i++)
        e *= (size_t)t->shape[i];
    return e;
}

static act_kind act_of(int fused)
{
    return fused == TFL_ACT_RELU ? ACT_RELU : fused == TFL_ACT_RELU6 ? ACT_RELU6 : ACT_NONE;
}

typedef struct values {
    int8_t *q[TFB_MAX_TENSORS];
    float *f[TFB_MAX_TENSORS];
} values;

static void eval_conv(const tfb_model *m, const tfb_op *op, values *v)
{
    const tfb_tensor *in = &m->tensors[op->in[0]], *w = &m->tensors[op->in[1]], *b = &m->tensors[op->in[2]];
    const tfb_tensor *out = &m->tensors[op->out[0]];
    conv_desc d = {0};
    d.depthwise = op->builtin == TFL_OP_DEPTHWISE_CONV_2D;
    d.in_h = in->shape[1], d.in_w = in->shape[2], d.in_c = in->shape[3];
    d.out_h = out->shape[1], d.out_w = out->shape[2], d.out_c = out->shape[3];
    d.k_h = w->shape[1], d.k_w = w->shape[2];
    d.stride_h = op->stride_h, d.stride_w = op->stride_w, d.dil_h = d.dil_w = 1;
    d.pad_top = conv_pad_before(d.in_h, d.k_h, d.stride_h, 1, op->padding);
    d.pad_left = conv_pad_before(d.in_w, d.k_w, d.stride_w, 1, op->padding);
    d.depth_multiplier = d.depthwise ? d.out_c / d.in_c : 1;
    d.act = act_of(op->activation);
    size_t nw = elems_of(w);
    int8_t *w8 = malloc(nw);
    int32_t *bias = malloc((size_t)d.out_c * sizeof *bias);
    qmultiplier *requant = malloc((size_t)d.out_c * sizeof *requant);
    int32_t wzp = (int32_t)w->zero_points[0];
    if (w->type == TFL_TYPE_UINT8) {
        quant_u8_to_s8(w->data, w8, nw);
        wzp -= 128;
    } else {
        memcpy(w8, w->data, nw);
    }
    memcpy(bias, b->data, (size_t)d.out_c * sizeof *bias);
    qconv_params q;
    char err[256];
    int rc = qconv_params_init(&q, requant, &d, params_of(in), w->scales, w->n_scales, wzp, params_of(out), err,
                               sizeof err);
    CHECK(rc == 0, "evaluator: %s", err);
    if (d.depthwise)
        dwconv2d_qs8_nhwc_ref(&d, &q, v->q[op->in[0]], w8, bias, v->q[op->out[0]]);
    else
        conv2d_qs8_nhwc_ref(&d, &q, v->q[op->in[0]], w8, bias, v->q[op->out[0]]);
    free(w8), free(bias), free(requant);
}

static void eval_concat(const tfb_model *m, const tfb_op *op, values *v)
{
    const tfb_tensor *out = &m->tensors[op->out[0]];
    int axis = op->axis < 0 ? op->axis + out->rank : op->axis;
    size_t outer = 1, unit = 1, inner[TFB_MAX_IO];
    for (int i = 0; i < axis; i++)
        outer *= (size_t)out->shape[i];
    for (int i = axis + 1; i < out->rank; i++)
        unit *= (size_t)out->shape[i];
    const int8_t *parts[TFB_MAX_IO];
    qparams pq[TFB_MAX_IO];
    for (int k = 0; k < op->n_in; k++) {
        parts[k] = v->q[op->in[k]];
        pq[k] = params_of(&m->tensors[op->in[k]]);
        inner[k] = (size_t)m->tensors[op->in[k]].shape[axis] * unit;
    }
    concat_qs8_ref(op->n_in, parts, pq, inner, outer, params_of(out), v->q[op->out[0]]);
}

/* Run m on the float picture; out_f[i] gets graph output i as float (the
 * detection operator's box and score inputs when the graph ends in it). */
static void evaluate(const tfb_model *m, const float *picture, float **out_f, int *n_out)
{
    values v;
    memset(&v, 0, sizeof v);
    for (int t = 0; t < m->n_tensors; t++) {
        size_t e = elems_of(&m->tensors[t]);
        v.q[t] = calloc(e ? e : 1, 1);
        v.f[t] = calloc(e ? e : 1, sizeof(float));
    }
    const tfb_tensor *image = &m->tensors[m->inputs[0]];
    size_t ne = elems_of(image);
    if (is_q(image->type))
        quant_quantize_f32(picture, v.q[m->inputs[0]], ne, params_of(image));
    else
        memcpy(v.f[m->inputs[0]], picture, ne * sizeof(float));
    const int *outs = m->outputs;
    *n_out = m->n_outputs;
    for (int i = 0; i < m->n_ops; i++) {
        const tfb_op *op = &m->ops[i];
        const tfb_tensor *in = &m->tensors[op->in[0]], *out = op->n_out ? &m->tensors[op->out[0]] : NULL;
        size_t e = elems_of(in);
        switch (op->builtin) {
        case TFL_OP_QUANTIZE:
            if (is_q(in->type)) { /* TFLite's Requantize: in.scale / out.scale in double */
                qmultiplier qm;
                CHECK(quant_multiplier_from_double((double)params_of(in).scale / params_of(out).scale, &qm) == 0,
                      "evaluator: requantization multiplier");
                requantize_qs8_ref(v.q[op->in[0]], v.q[op->out[0]], e, params_of(in).zero_point, qm,
                                   params_of(out).zero_point);
            } else {
                quant_quantize_f32(v.f[op->in[0]], v.q[op->out[0]], e, params_of(out));
            }
            break;
        case TFL_OP_DEQUANTIZE:
            quant_dequantize_f32(v.q[op->in[0]], v.f[op->out[0]], e, params_of(in));
            break;
        case TFL_OP_CONV_2D:
        case TFL_OP_DEPTHWISE_CONV_2D:
            eval_conv(m, op, &v);
            break;
        case TFL_OP_ADD: {
            qadd_params ap;
            char err[256];
            CHECK(qadd_params_init(&ap, params_of(in), params_of(&m->tensors[op->in[1]]), params_of(out),
                                   act_of(op->activation), err, sizeof err) == 0, "evaluator: %s", err);
            add_qs8_ref(&ap, v.q[op->in[0]], v.q[op->in[1]], v.q[op->out[0]], e);
            break;
        }
        case TFL_OP_RESHAPE:
            memcpy(v.q[op->out[0]], v.q[op->in[0]], e);
            break;
        case TFL_OP_CONCATENATION:
            eval_concat(m, op, &v);
            break;
        case TFL_OP_LOGISTIC: {
            int8_t table[256];
            logistic_qs8_table(params_of(in), params_of(out), table);
            lut_qs8_ref(table, v.q[op->in[0]], v.q[op->out[0]], e);
            break;
        }
        case TFL_OP_CUSTOM: /* the detection operator: its inputs are the results */
            outs = op->in;
            *n_out = 2;
            break;
        default:
            CHECK(0, "evaluator: operator %d", op->builtin);
        }
    }
    for (int i = 0; i < *n_out; i++) {
        const tfb_tensor *t = &m->tensors[outs[i]];
        size_t e = elems_of(t);
        out_f[i] = malloc(e * sizeof(float));
        if (is_q(t->type))
            quant_dequantize_f32(v.q[outs[i]], out_f[i], e, params_of(t));
        else
            memcpy(out_f[i], v.f[outs[i]], e * sizeof(float));
    }
    for (int t = 0; t < m->n_tensors; t++)
        free(v.q[t]), free(v.f[t]);
}

/* ---- net against evaluator ---- */

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *b = malloc(1 << 16);
    *n = b ? fread(b, 1, 1 << 16, f) : 0;
    fclose(f);
    return b;
}

static const char *write_model(const tfb_model *m, const char *name)
{
    static char path[512];
    size_t n;
    uint8_t *bytes = tfb_build(m, &n);
    snprintf(path, sizeof path, "%s/%s.tflite", tmpdir, name);
    int ok = bytes && tfb_write_file(path, bytes, n) == 0;
    free(bytes);
    CHECK(ok, "cannot write %s", path);
    return path;
}

static void test_variant(const variant *v, const uint8_t *opts, size_t opts_size)
{
    static tfb_model m;
    static pool p;
    build_model(&m, &p, v, 2024u + (unsigned)v->uint8 * 7 + (unsigned)v->float_io * 3, (uint8_t *)opts,
                opts_size);
    const char *path = write_model(&m, v->name);
    char err[512] = "";
    for (int isa = MNV_ISA_REF; isa < MNV_ISA_COUNT; isa++) {
        if (!cpu_supports((mnv_isa)isa))
            continue;
        net_options opt = {.max_isa = (mnv_isa)isa};
        net *n = NULL;
        int rc = net_load(&n, path, &opt, err, sizeof err);
        CHECK(rc == 0, "[%s] load: %s", v->name, err);
        if (rc)
            return;
        int h, w, c;
        net_input_shape(n, &h, &w, &c);
        CHECK(h == IH && w == IW && c == 3 && net_output_count(n) == 2, "[%s] shapes", v->name);
        const net_output_info *ob = net_output(n, 0), *os = net_output(n, 1);
        CHECK(ob->n_segments == 2 && ob->segments[0].fm_h == H0 && ob->segments[1].fm_h == H1 &&
                  ob->segments[1].rows == H1 * W1 * A && os->n_segments == 0,
              "[%s] box segments found through the dequantization: %d; the scores, a LOGISTIC's output as in "
              "float models, %d", v->name, ob->n_segments, os->n_segments);
        CHECK(!ob->sigmoid_applied && os->sigmoid_applied, "[%s] the scores' LOGISTIC seen", v->name);
        int stem = 0, qconv = 0;
        for (int i = 0; i < net_layer_count(n); i++) {
            net_layer_info li;
            net_layer_get(n, i, &li);
            stem += li.role == ROLE_STEM;
            qconv += strstr(li.kernel, "qs8") != NULL;
        }
        CHECK(stem == 1 && qconv == 14, "[%s] %d stem layers, %d int8 kernels", v->name, stem, qconv);
        if (v->postprocess) {
            const net_postprocess *pp = net_detection_postprocess(n);
            int same = pp && pp->n_anchors == N;
            const tfb_tensor *ta = NULL;
            for (int t = 0; t < m.n_tensors; t++)
                if (m.tensors[t].name && strcmp(m.tensors[t].name, "anchors") == 0)
                    ta = &m.tensors[t];
            for (int i = 0; same && ta && i < N * 4; i++)
                same = pp->anchors[i] == 0.004f * (float)((const uint8_t *)ta->data)[i];
            CHECK(same && ta, "[%s] uint8 anchors dequantized", v->name);
        }

        unsigned s = 77;
        for (int round = 0; round < 3; round++) {
            float picture[IH * IW * 3];
            for (int i = 0; i < IH * IW * 3; i++)
                picture[i] = round == 2 ? rand_float(&s, -4.0f, 4.0f) : rand_float(&s, -1.0f, 1.0f);
            net_run(n, picture);
            float *want[4] = {0};
            int n_want = 0;
            evaluate(&m, picture, want, &n_want);
            CHECK(n_want == 2, "[%s] evaluator outputs %d", v->name, n_want);
            const size_t sizes[2] = {N * 4, N * NC};
            for (int o = 0; o < 2 && o < n_want; o++) {
                const float *got = net_output_data(n, o);
                size_t diff = 0, first = 0;
                for (size_t i = 0; i < sizes[o]; i++)
                    if (memcmp(&got[i], &want[o][i], sizeof(float)) != 0 && diff++ == 0)
                        first = i;
                /* and the values are not all one (a test that could not fail) */
                size_t distinct = 0;
                for (size_t i = 1; i < sizes[o]; i++)
                    distinct += want[o][i] != want[o][0];
                CHECK(diff == 0 && distinct > sizes[o] / 4,
                      "[%s, %s] round %d output %d: %zu of %zu differ (first %zu: %g, want %g); %zu distinct",
                      v->name, isa_name((mnv_isa)isa), round, o, diff, sizes[o], first, (double)got[first],
                      (double)want[o][first], distinct);
            }
            for (int o = 0; o < n_want; o++)
                free(want[o]);
        }
        /* net_run_timed runs the same layers one by one */
        double secs[128] = {0};
        if (net_layer_count(n) <= 128) {
            float picture[IH * IW * 3];
            for (int i = 0; i < IH * IW * 3; i++)
                picture[i] = rand_float(&s, -1.0f, 1.0f);
            net_run(n, picture);
            float *first = malloc(N * NC * sizeof(float));
            memcpy(first, net_output_data(n, 1), N * NC * sizeof(float));
            net_run_timed(n, picture, secs);
            CHECK(memcmp(first, net_output_data(n, 1), N * NC * sizeof(float)) == 0, "[%s] timed run differs",
                  v->name);
            free(first);
        }
        net_free(n);
    }
}

/* ---- the detector on a quantized model ---- */

static void test_detector(const uint8_t *opts, size_t opts_size)
{
    static tfb_model m;
    static pool p;
    static const variant v = {"uint8 detector", 1, 0, 0, 1};
    build_model(&m, &p, &v, 31, (uint8_t *)opts, opts_size);
    const char *path = write_model(&m, "detector");
    detector d;
    char err[512] = "";
    detector_paths paths = {path, NULL, NULL};
    int rc = detector_open(&d, &paths, NULL, err, sizeof err);
    CHECK(rc == 0, "detector on a uint8 model: %s", err);
    if (rc)
        return;
    CHECK(d.n_anchors == N && d.n_classes == NC && d.cfg.score == SCORE_IDENTITY,
          "%d anchors, %d classes, scores as the graph's LOGISTIC made them", d.n_anchors, d.n_classes);
    /* the model's uint8 anchors, dequantized */
    const tfb_tensor *ta = &m.tensors[m.ops[m.n_ops - 1].in[2]];
    int same = 1;
    for (int i = 0; i < N; i++) {
        const uint8_t *q = (const uint8_t *)ta->data + 4 * i;
        same &= d.anchors[i].cy == 0.004f * q[0] && d.anchors[i].cx == 0.004f * q[1] &&
                d.anchors[i].h == 0.004f * q[2] && d.anchors[i].w == 0.004f * q[3];
    }
    CHECK(same, "the detector's anchors are not the model's uint8 ones dequantized");
    d.cfg.score_threshold = 0.3f;
    uint8_t rgb[IH * IW * 3];
    for (int i = 0; i < IH * IW * 3; i++)
        rgb[i] = (uint8_t)(i * 53 % 256);
    frame fr = {0};
    mnv_image_pack(&fr.img, MNV_PIX_RGB24, IW, IH, rgb);
    detection got[16];
    int n = detector_run(&d, &fr, got, 16, NULL);
    CHECK(n > 0 && n <= 5, "%d detections (the options allow 5)", n);
    /* scores: dequantized LOGISTIC outputs (multiples of 1/256), as the
     * network gave them, best first */
    const float *scores = net_output_data(d.net, d.class_output);
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int k = 0; k < N * NC && !found; k++)
            found = scores[k] == got[i].score;
        CHECK(found && got[i].score * 256.0f == floorf(got[i].score * 256.0f) && got[i].score >= 0.3f &&
                  (i == 0 || got[i].score <= got[i - 1].score),
              "detection %d: score %g", i, (double)got[i].score);
    }
    detector_close(&d);
}

/* ---- large elementwise layers, split between threads ---- */

/* QUANTIZE, LOGISTIC, a requantizing QUANTIZE (uint8 -> int8 of other
 * parameters) and DEQUANTIZE on 64x64x8 values: enough that the team
 * shares them; the result must not depend on who computed what. */
static void test_elementwise_team(void)
{
    enum { S = 64, CH = 8, E = S * S * CH };
    static tfb_model m;
    memset(&m, 0, sizeof m);
    const int shape[4] = {1, S, S, CH};
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, shape, "x", NULL, 0);
    int q = tfb_add_qtensor(&m, TFL_TYPE_INT8, 4, shape, "q", NULL, 0, 0.03f, -5);
    int l = tfb_add_qtensor(&m, TFL_TYPE_INT8, 4, shape, "sig", NULL, 0, 1.0f / 256, -128);
    int r = tfb_add_qtensor(&m, TFL_TYPE_UINT8, 4, shape, "requantized", NULL, 0, 0.0051f, 7);
    int y = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, shape, "y", NULL, 0);
    tfb_add_op(&m, TFL_OP_QUANTIZE, &x, 1, &q, 1);
    tfb_add_op(&m, TFL_OP_LOGISTIC, &q, 1, &l, 1);
    tfb_add_op(&m, TFL_OP_QUANTIZE, &l, 1, &r, 1);
    tfb_add_op(&m, TFL_OP_DEQUANTIZE, &r, 1, &y, 1);
    m.inputs[0] = x, m.n_inputs = 1, m.outputs[0] = y, m.n_outputs = 1;
    net *n = NULL;
    char err[512] = "";
    int rc = net_load(&n, write_model(&m, "elementwise"), NULL, err, sizeof err);
    CHECK(rc == 0, "elementwise model: %s", err);
    if (rc)
        return;
    static float picture[E];
    unsigned seed = 3;
    for (int i = 0; i < E; i++)
        picture[i] = rand_float(&seed, -5.0f, 5.0f);
    float *want[2] = {NULL, NULL};
    int n_want = 0;
    evaluate(&m, picture, want, &n_want);
    for (int threads = 1; threads <= 3; threads++) {
        omp_set_num_threads(threads);
        net_run(n, picture);
        size_t diff = 0;
        for (int i = 0; i < E; i++)
            diff += memcmp(&net_output_data(n, 0)[i], &want[0][i], sizeof(float)) != 0;
        CHECK(n_want == 1 && diff == 0, "elementwise layers at %d threads: %zu of %d values differ", threads, diff,
              (int)E);
    }
    omp_set_num_threads(2);
    free(want[0]);
    net_free(n);
}

/* ---- int8 constants dequantized at load (weight-only quantization) ---- */

/* A float conv whose weights come from a DEQUANTIZE of int8 (per channel,
 * along dimension 0) or uint8 (per tensor) constants must give exactly
 * what the same conv gives with the weights written out in float. */
static void test_dequantized_weights(void)
{
    enum { OC = 5, K = 3, IC = 4, NW = OC * K * K * IC };
    static int8_t q[NW];
    static float wf[NW], bias[OC];
    static const float ch_scale[OC] = {0.01f, 0.5f, 0.003f, 1.25f, 0.07f};
    static const int64_t ch_zp[OC] = {0, 0, 0, 0, 0};
    unsigned seed = 9;
    for (int per_channel = 0; per_channel < 2; per_channel++) {
        const int type = per_channel ? TFL_TYPE_INT8 : TFL_TYPE_UINT8;
        const int zp = per_channel ? 0 : 131;
        for (int i = 0; i < NW; i++) {
            q[i] = (int8_t)rand_int(&seed, -128, 127);
            const int v = per_channel ? q[i] : (uint8_t)q[i];
            const float sc = per_channel ? ch_scale[i / (K * K * IC)] : 0.02f;
            wf[i] = sc * (float)(v - zp); /* as quant_dequantize_f32 rounds */
        }
        for (int c = 0; c < OC; c++)
            bias[c] = rand_float(&seed, -1.0f, 1.0f);
        float *out[2] = {NULL, NULL};
        float picture[6 * 6 * IC];
        for (int i = 0; i < 6 * 6 * IC; i++)
            picture[i] = rand_float(&seed, -2.0f, 2.0f);
        for (int quantized = 0; quantized < 2; quantized++) {
            static tfb_model m;
            memset(&m, 0, sizeof m);
            int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 6, 6, IC}, "x", NULL, 0);
            int w = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){OC, K, K, IC}, "w", quantized ? NULL : wf,
                                   quantized ? 0 : sizeof wf);
            int b = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, (int[]){OC}, "b", bias, sizeof bias);
            int y = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 6, 6, OC}, "y", NULL, 0);
            if (quantized) {
                int wq = per_channel
                             ? tfb_set_quant(&m, tfb_add_tensor(&m, type, 4, (int[]){OC, K, K, IC}, "wq", q, sizeof q),
                                             ch_scale, ch_zp, OC, 0)
                             : tfb_add_qtensor(&m, type, 4, (int[]){OC, K, K, IC}, "wq", q, sizeof q, 0.02f, zp);
                tfb_add_op(&m, TFL_OP_DEQUANTIZE, &wq, 1, &w, 1);
            }
            tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, w, b}, 3, &y, 1);
            m.inputs[0] = x, m.n_inputs = 1, m.outputs[0] = y, m.n_outputs = 1;
            net *n = NULL;
            char err[512] = "";
            int rc = net_load(&n, write_model(&m, "dequantized_weights"), NULL, err, sizeof err);
            CHECK(rc == 0, "dequantized weights (%s): %s", per_channel ? "int8" : "uint8", err);
            if (rc)
                break;
            net_run(n, picture);
            out[quantized] = malloc(6 * 6 * OC * sizeof(float));
            memcpy(out[quantized], net_output_data(n, 0), 6 * 6 * OC * sizeof(float));
            net_free(n);
        }
        CHECK(out[0] && out[1] && memcmp(out[0], out[1], 6 * 6 * OC * sizeof(float)) == 0,
              "%s weights through DEQUANTIZE differ from the same weights in float",
              per_channel ? "int8 per-channel" : "uint8");
        free(out[0]), free(out[1]);
    }
}

/* ---- refusals ---- */

/* A one-conv int8 model with hooks to break it. */
typedef struct tiny {
    tfb_model m;
    pool p;
    int in, w, b, out, op_out;
} tiny;

static void tiny_model(tiny *t)
{
    static const variant v8 = {"tiny", 0, 0, 0, 0};
    memset(&t->m, 0, sizeof t->m);
    memset(&t->p, 0, sizeof t->p);
    builder b = {&t->m, &t->p, &v8, 5};
    t->in = act_tensor(&b, "x", 4, (int[]){1, 4, 4, 3}, 0.02f, 1);
    t->out = conv(&b, t->in, 0, 1, 1, 4, TFL_ACT_NONE, "y");
    t->w = t->out - 2, t->b = t->out - 1;
    t->m.inputs[0] = t->in, t->m.n_inputs = 1;
    t->m.outputs[0] = t->out, t->m.n_outputs = 1;
}

static void expect_refusal(const tfb_model *m, const char *what, const char *want1, const char *want2)
{
    const char *path = write_model(m, "refused");
    char err[512] = "";
    net *n = NULL;
    int rc = net_load(&n, path, NULL, err, sizeof err);
    CHECK(rc != 0 && n == NULL && strstr(err, want1) && strstr(err, want2) && !strchr(err, '\n'),
          "%s: rc %d, '%s' lacks '%s' or '%s'", what, rc, err, want1, want2);
    net_free(n);
}

static void test_refusals(void)
{
    static tiny t;
    static const float s1 = 0.5f;
    static const int64_t z0 = 0;
    static const float ch[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    static const int64_t chz[4] = {0, 0, 0, 0};

    tiny_model(&t); /* it loads as built */
    {
        const char *path = write_model(&t.m, "tiny");
        char err[512] = "";
        net *n = NULL;
        CHECK(net_load(&n, path, NULL, err, sizeof err) == 0, "tiny model: %s", err);
        net_free(n);
    }
    tiny_model(&t);
    t.m.tensors[t.in].type = TFL_TYPE_INT16;
    t.m.tensors[t.in].zero_points = &z0;
    expect_refusal(&t.m, "int16 input", "'x'", "INT16");

    tiny_model(&t);
    t.m.tensors[t.out].type = TFL_TYPE_INT16;
    t.m.tensors[t.out].zero_points = &z0;
    expect_refusal(&t.m, "int16 activations", "'y'", "unsupported type INT16");

    tiny_model(&t);
    tfb_set_quant(&t.m, t.in, ch, chz, 3, 3);
    expect_refusal(&t.m, "per-channel input", "'x'", "per channel");

    tiny_model(&t);
    tfb_set_quant(&t.m, t.out, ch, chz, 4, 3);
    expect_refusal(&t.m, "per-channel activation", "'y'", "per channel");

    tiny_model(&t);
    tfb_set_quant(&t.m, t.out, NULL, NULL, 0, 0);
    expect_refusal(&t.m, "no parameters", "'y'", "no quantization parameters");

    tiny_model(&t);
    t.m.tensors[t.out].quant_details = 1;
    expect_refusal(&t.m, "custom scheme", "'y'", "custom quantization scheme");

    tiny_model(&t);
    tfb_set_quant(&t.m, t.w, t.p.scales[t.w], t.p.zps[t.w], 3, 3); /* along input channels */
    expect_refusal(&t.m, "weights along the inputs", "'y/w'", "along another dimension");

    tiny_model(&t);
    t.p.zps[t.w][2] = 5;
    expect_refusal(&t.m, "weight zero points", "'y/w'", "differ between channels");

    tiny_model(&t);
    t.m.tensors[t.b].type = TFL_TYPE_INT8;
    t.m.tensors[t.b].size = 4;
    expect_refusal(&t.m, "int8 bias", "'y/b'", "unsupported type INT8");

    tiny_model(&t);
    t.p.scales[t.out][0] = 1e-30f; /* multiplier past 2^30 */
    expect_refusal(&t.m, "multiplier", "CONV_2D at index 0", "out of range");

    /* a float operator on int8 values, and the reverse */
    tiny_model(&t);
    {
        int f = tfb_add_tensor(&t.m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 4}, "f", NULL, 0);
        tfb_add_op(&t.m, TFL_OP_RELU, &t.out, 1, &f, 1);
        t.m.outputs[0] = f;
        expect_refusal(&t.m, "RELU on int8", "'y'", "unsupported type INT8");
    }
    tiny_model(&t);
    {
        int l = tfb_add_qtensor(&t.m, TFL_TYPE_INT8, 4, (int[]){1, 4, 4, 4}, "sig", NULL, 0, 0.01f, 0);
        tfb_add_op(&t.m, TFL_OP_LOGISTIC, &t.out, 1, &l, 1);
        t.m.outputs[0] = l;
        expect_refusal(&t.m, "LOGISTIC output parameters", "'sig'", "1/256");
    }
    tiny_model(&t);
    {
        int r = tfb_add_qtensor(&t.m, TFL_TYPE_INT8, 2, (int[]){4, 16}, "r", NULL, 0, s1, 0);
        tfb_add_op(&t.m, TFL_OP_RESHAPE, &t.out, 1, &r, 1);
        t.m.outputs[0] = r;
        expect_refusal(&t.m, "RESHAPE changing parameters", "RESHAPE at index 1", "parameters differ");
    }
}

int main(int argc, char **argv)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/flexbuf_small_model.bin", test_env("MNV2DET_TEST_DATA"));
    size_t opts_size = 0;
    uint8_t *opts = read_file(path, &opts_size);
    /* `test_net_q8 write DIR`: the int8 model with float input and outputs
     * and the uint8 one with the detection operator, for mnv2det and its
     * benchmark on quantized models (tests/test_cli_q8.sh) */
    if (argc == 3 && strcmp(argv[1], "write") == 0) {
        static tfb_model m;
        static pool p;
        static const variant v8 = {"int8", 0, 1, 0, 0}, vu8 = {"uint8", 1, 0, 0, 1};
        snprintf(tmpdir, sizeof tmpdir, "%s", argv[2]);
        build_model(&m, &p, &v8, 31, NULL, 0);
        write_model(&m, "small_ssd.int8");
        if (opts) {
            build_model(&m, &p, &vu8, 31, opts, opts_size);
            write_model(&m, "small_ssd_postprocess.uint8");
        }
        free(opts);
        return check_g.failed ? 1 : 0;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mnv2det-netq8-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK(opts && opts_size > 0, "cannot read %s", path);

    static const variant variants[] = {
        {"int8, float input and outputs", 0, 1, 0, 0},
        {"int8 input and outputs, requantizing concatenation", 0, 0, 1, 0},
        {"uint8 with detection post-processing", 1, 0, 0, 1},
        {"uint8, float input and outputs, requantizing concatenation", 1, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++)
        if (opts || !variants[i].postprocess)
            test_variant(&variants[i], opts, opts_size);
    if (opts)
        test_detector(opts, opts_size);
    test_dequantized_weights();
    test_elementwise_team();
    test_refusals();
    free(opts);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_finish("int8 networks");
}
