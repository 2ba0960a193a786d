/*
 * The TFLite reader: the real default model, round trips through the test
 * writer in every layout it can produce, and damaged files (every
 * truncation, cuts of the real model, targeted corruptions, random
 * mutations) that must be rejected with a message naming the problem and
 * never read outside the buffer (the robustness suite runs this under ASan
 * and UBSan). Also fp16 conversion and the name tables.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backbone/backbone.h"
#include "check.h"
#include "tflite_builder.h"

#define MODEL_NAME "object_detection_ssd_mobilenetv2_oidv4_fp16.tflite"

static char tmpdir[256];

static int has_text(const char *s, const char *needle) { return strstr(s, needle) != NULL; }

static size_t elem_count(const tfl_tensor *t)
{
    size_t e = 1;
    for (int d = 0; d < t->rank; d++)
        e *= (size_t)t->shape[d];
    return e;
}

static int is_zeroed(const tfl_model *m)
{
    static const tfl_model zero;
    return memcmp(m, &zero, sizeof zero) == 0;
}

static uint8_t *read_whole(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *b = NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len > 0 && fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)len)) != NULL &&
        fread(b, 1, (size_t)len, f) != (size_t)len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = len > 0 ? (size_t)len : 0;
    return b;
}

/* ---- the real model ---- */

static void test_real_model(const char *dir)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, MODEL_NAME);
    tfl_model m;
    int rc = tfl_open(&m, path, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc)
        return;
    CHECK(m.mapped == 1 && m.size == 9987728, "mapped %d, %zu bytes", m.mapped, m.size);
    CHECK(m.n_tensors == 389, "%d tensors", m.n_tensors);
    CHECK(m.n_ops == 241, "%d operators", m.n_ops);
    int count[256] = {0}, other = 0;
    for (int i = 0; i < m.n_ops; i++) {
        if (m.ops[i].builtin >= 0 && m.ops[i].builtin < 256)
            count[m.ops[i].builtin]++;
        other += m.ops[i].custom_code != NULL || m.ops[i].custom_options != NULL;
    }
    CHECK(count[TFL_OP_CONV_2D] == 55, "%d CONV_2D", count[TFL_OP_CONV_2D]);
    CHECK(count[TFL_OP_DEPTHWISE_CONV_2D] == 17, "%d DEPTHWISE_CONV_2D", count[TFL_OP_DEPTHWISE_CONV_2D]);
    CHECK(count[TFL_OP_ADD] == 10, "%d ADD", count[TFL_OP_ADD]);
    CHECK(count[TFL_OP_RESHAPE] == 13, "%d RESHAPE", count[TFL_OP_RESHAPE]);
    CHECK(count[TFL_OP_CONCATENATION] == 2, "%d CONCATENATION", count[TFL_OP_CONCATENATION]);
    CHECK(count[TFL_OP_DEQUANTIZE] == 241 - 55 - 17 - 10 - 13 - 2, "%d DEQUANTIZE", count[TFL_OP_DEQUANTIZE]);
    CHECK(other == 0, "%d operators with custom codes or options", other);

    CHECK(m.n_inputs == 1 && m.n_outputs == 2, "%d inputs, %d outputs", m.n_inputs, m.n_outputs);
    const tfl_tensor *in = &m.tensors[m.inputs[0]];
    CHECK(in->type == TFL_TYPE_FLOAT32 && in->rank == 4 && in->shape[0] == 1 && in->shape[1] == 300 &&
          in->shape[2] == 300 && in->shape[3] == 3 && in->data == NULL, "input tensor");
    CHECK(strcmp(in->name, "normalized_input_image_tensor") == 0, "input name '%s'", in->name);
    const tfl_tensor *o0 = &m.tensors[m.outputs[0]], *o1 = &m.tensors[m.outputs[1]];
    CHECK(o0->type == TFL_TYPE_FLOAT32 && o0->rank == 3 && o0->shape[0] == 1 && o0->shape[1] == 1917 &&
          o0->shape[2] == 4, "box output shape");
    CHECK(o1->type == TFL_TYPE_FLOAT32 && o1->rank == 3 && o1->shape[0] == 1 && o1->shape[1] == 1917 &&
          o1->shape[2] == 24, "class output shape");
    CHECK(strcmp(o0->name, "raw_outputs/box_encodings") == 0 &&
              strcmp(o1->name, "raw_outputs/class_predictions") == 0,
          "output names '%s' '%s'", o0->name, o1->name);

    /* the stem: the first convolution, on the image, 32 filters 3x3x3 */
    const tfl_op *stem = NULL;
    for (int i = 0; i < m.n_ops && !stem; i++)
        if (m.ops[i].builtin == TFL_OP_CONV_2D)
            stem = &m.ops[i];
    CHECK(stem && stem->padding == TFL_PAD_SAME && stem->stride_w == 2 && stem->stride_h == 2 &&
          stem->activation == TFL_ACT_RELU6 && stem->dilation_w == 1 && stem->dilation_h == 1 &&
          stem->n_inputs == 3 && stem->inputs[0] == m.inputs[0], "stem options");
    if (stem) {
        /* its weights come from a DEQUANTIZE of a float16 constant */
        const tfl_op *dq = NULL;
        for (int i = 0; i < m.n_ops; i++)
            if (m.ops[i].builtin == TFL_OP_DEQUANTIZE && m.ops[i].outputs[0] == stem->inputs[1])
                dq = &m.ops[i];
        const tfl_tensor *w = dq ? &m.tensors[dq->inputs[0]] : NULL;
        CHECK(w && w->type == TFL_TYPE_FLOAT16 && w->rank == 4 && w->shape[0] == 32 && w->shape[1] == 3 &&
              w->shape[2] == 3 && w->shape[3] == 3 && w->size == 32 * 27 * 2, "stem weights");
    }
    int dw_ok = 0;
    for (int i = 0; i < m.n_ops; i++)
        dw_ok += m.ops[i].builtin == TFL_OP_DEPTHWISE_CONV_2D && m.ops[i].depth_multiplier == 1 &&
                 m.ops[i].activation == TFL_ACT_RELU6 && (m.ops[i].stride_w == 1 || m.ops[i].stride_w == 2);
    CHECK(dw_ok == 17, "%d of 17 depthwise convs have multiplier 1, RELU6, stride 1 or 2", dw_ok);

    /* float16 constants hold 2 bytes per element, inside the file, and
     * together the 4.95 M parameters the model card gives */
    int f16 = 0, bad = 0;
    size_t params = 0;
    for (int i = 0; i < m.n_ops; i++) {
        if (m.ops[i].builtin != TFL_OP_DEQUANTIZE)
            continue;
        const tfl_tensor *t = &m.tensors[m.ops[i].inputs[0]];
        f16++;
        params += elem_count(t);
        bad += t->type != TFL_TYPE_FLOAT16 || !t->data || t->size != 2 * elem_count(t) || t->data < m.buf ||
               t->data + t->size > m.buf + m.size || m.tensors[m.ops[i].outputs[0]].data != NULL ||
               m.tensors[m.ops[i].outputs[0]].type != TFL_TYPE_FLOAT32;
    }
    CHECK(f16 == 144 && bad == 0, "%d float16 constants, %d wrong", f16, bad);
    CHECK(params > 4940000 && params < 4960000, "%zu parameters", params);
    tfl_close(&m);
    CHECK(is_zeroed(&m), "tfl_close leaves the model zeroed");
    tfl_close(&m); /* idempotent */
}

/* ---- round trips ---- */

typedef struct layout {
    const char *name;
    int vtables_after, external_data, legacy_opcodes, omit_defaults;
} layout;

static const layout layouts[] = {
    {"plain", 0, 0, 0, 0},
    {"vtables after tables", 1, 0, 0, 0},
    {"external data", 0, 1, 0, 0},
    {"legacy opcodes", 0, 0, 1, 0},
    {"defaults omitted", 0, 0, 0, 1},
    {"all switches", 1, 1, 1, 1},
};
#define N_LAYOUTS (int)(sizeof layouts / sizeof *layouts)

/* A model that uses every field the writer can write; not a network that
 * runs, just a graph that reads back. */
static void full_model(tfb_model *m, const layout *l)
{
    static uint16_t conv_w[4 * 3 * 3 * 3];
    static float conv_b[4], dw_w[3 * 3 * 8], anchors[2 * 4];
    static const int32_t scalar[1] = {-7};
    static const uint8_t u8[6] = {0, 1, 2, 253, 254, 255};
    static const int8_t i8[5] = {-128, -1, 0, 1, 127};
    static const int64_t i64[2] = {-1, 1LL << 40};
    static const uint8_t options[] = {'f', 'l', 'e', 'x', 0, 1, 2, 3, 0xff, 0x80, 7};
    for (int i = 0; i < 108; i++)
        conv_w[i] = (uint16_t)(0x3c00 + i);
    for (int i = 0; i < 4; i++)
        conv_b[i] = (float)i - 1.5f;
    for (int i = 0; i < 72; i++)
        dw_w[i] = 0.25f * (float)i;
    for (int i = 0; i < 8; i++)
        anchors[i] = 1.0f / (float)(i + 1);

    memset(m, 0, sizeof *m);
    m->vtables_after = l->vtables_after;
    m->external_data = l->external_data;
    m->legacy_opcodes = l->legacy_opcodes;
    m->omit_defaults = l->omit_defaults;
    int in = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 4, (int[]){1, 8, 8, 3}, "input", NULL, 0);
    int cw = tfb_add_tensor(m, TFL_TYPE_FLOAT16, 4, (int[]){4, 3, 3, 3}, "conv/w", conv_w, sizeof conv_w);
    int cb = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 1, (int[]){4}, "conv/b", conv_b, sizeof conv_b);
    int co = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 4, (int[]){1, 3, 3, 4}, "conv", NULL, 0);
    int dw = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 4, (int[]){1, 3, 3, 8}, "dw/w", dw_w, sizeof dw_w);
    int dout = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 4, (int[]){1, 3, 3, 8}, "dw", NULL, 0);
    int sum = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 4, (int[]){1, 3, 3, 8}, "sum", NULL, 0);
    int cat = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 4, (int[]){1, 3, 3, 16}, "cat", NULL, 0);
    int flat = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 2, (int[]){1, 144}, "flat", NULL, 0);
    int probs = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 2, (int[]){1, 144}, "probs", NULL, 0);
    int anc = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 2, (int[]){2, 4}, "anchors", anchors, sizeof anchors);
    int sc = tfb_add_tensor(m, TFL_TYPE_INT32, 0, NULL, NULL, scalar, sizeof scalar);
    int tu8 = tfb_add_tensor(m, TFL_TYPE_UINT8, 2, (int[]){2, 3}, "u8", u8, sizeof u8);
    int ti8 = tfb_add_tensor(m, TFL_TYPE_INT8, 1, (int[]){5}, "i8", i8, sizeof i8);
    int ti64 = tfb_add_tensor(m, TFL_TYPE_INT64, 6, (int[]){1, 1, 2, 1, 1, 1}, "i64", i64, sizeof i64);
    int gelu = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 2, (int[]){1, 144}, "gelu", NULL, 0);
    int d0 = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 3, (int[]){1, 10, 4}, "detection_boxes", NULL, 0);
    int d1 = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 2, (int[]){1, 10}, "detection_classes", NULL, 0);
    int d2 = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 2, (int[]){1, 10}, "detection_scores", NULL, 0);
    int d3 = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 1, (int[]){1}, "num_detections", NULL, 0);
    int empty = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 2, (int[]){0, 4}, "empty", NULL, 0);
    /* quantized: int8 per channel along dimension 3 (a depthwise layout),
     * uint8 per tensor, an int32 bias, and a table with no scales */
    static const float ch_scales[3] = {0.5f, 0.25f, 1e-6f};
    static const int64_t ch_zps[3] = {-128, 0, 127};
    static const int8_t qw[1 * 1 * 2 * 3] = {1, -2, 3, -4, 5, -127};
    static const int32_t qb[3] = {-1000000, 0, 1 << 30};
    int tqw = tfb_add_tensor(m, TFL_TYPE_INT8, 4, (int[]){1, 1, 2, 3}, "qw", qw, sizeof qw);
    tfb_set_quant(m, tqw, ch_scales, ch_zps, 3, 3);
    tfb_add_qtensor(m, TFL_TYPE_UINT8, 4, (int[]){1, 3, 3, 3}, "qact", NULL, 0, 0.0078125f, 255);
    tfb_add_qtensor(m, TFL_TYPE_INT32, 1, (int[]){3}, "qb", qb, sizeof qb, 3.5e-9f, 0);
    int unq = tfb_add_tensor(m, TFL_TYPE_FLOAT32, 1, (int[]){3}, "minmax only", NULL, 0);
    m->tensors[unq].quant_dim = 5; /* a table with only this field: not quantized */

    tfb_op *op = tfb_add_op(m, TFL_OP_CONV_2D, (int[]){in, cw, cb}, 3, (int[]){co}, 1);
    op->padding = TFL_PAD_VALID, op->stride_w = 2, op->stride_h = 3, op->dilation_w = 2;
    op->activation = TFL_ACT_RELU6;
    op = tfb_add_op(m, TFL_OP_DEPTHWISE_CONV_2D, (int[]){co, dw, -1}, 3, (int[]){dout}, 1);
    op->depth_multiplier = 2, op->dilation_h = 2, op->activation = TFL_ACT_RELU;
    tfb_add_op(m, TFL_OP_ADD, (int[]){dout, dout}, 2, (int[]){sum}, 1)->activation = TFL_ACT_RELU_N1_TO_1;
    tfb_add_op(m, TFL_OP_CONCATENATION, (int[]){sum, sum}, 2, (int[]){cat}, 1)->axis = -1;
    tfb_add_op(m, TFL_OP_RESHAPE, (int[]){cat}, 1, (int[]){flat}, 1);
    tfb_add_op(m, TFL_OP_SOFTMAX, (int[]){flat}, 1, (int[]){probs}, 1)->beta = 0.5f;
    tfb_add_op(m, 150 /* GELU: past the deprecated byte */, (int[]){probs}, 1, (int[]){gelu}, 1);
    op = tfb_add_op(m, TFL_OP_CUSTOM, (int[]){gelu, probs, anc}, 3, (int[]){d0, d1, d2, d3}, 4);
    op->custom_code = "TFLite_Detection_PostProcess";
    op->version = 2;
    op->custom_options = options;
    op->custom_options_size = sizeof options;
    /* a conv without an options table; one whose options all hold the
     * schema's defaults (left out when omit_defaults) */
    tfb_add_op(m, TFL_OP_CONV_2D, (int[]){in, cw}, 2, (int[]){co}, 1)->with_options = 0;
    op = tfb_add_op(m, TFL_OP_DEPTHWISE_CONV_2D, (int[]){co, dw}, 2, (int[]){dout}, 1);
    op->stride_w = op->stride_h = 0, op->depth_multiplier = 0;
    tfb_add_op(m, TFL_OP_SOFTMAX, (int[]){flat}, 1, (int[]){probs}, 1)->beta = 0.0f;
    tfb_add_op(m, 18 /* MUL */, (int[]){sum, sc, tu8, ti8, ti64}, 5, (int[]){sum}, 1)->version = 3;
    tfb_add_op(m, TFL_OP_CUSTOM, (int[]){empty}, 1, (int[]){empty}, 1)->custom_code = "MyOp";
    tfb_add_op(m, TFL_OP_ADD, NULL, 0, NULL, 0); /* no inputs, no outputs */
    m->inputs[0] = in, m->inputs[1] = anc, m->n_inputs = 2;
    m->outputs[0] = d0, m->outputs[1] = d1, m->outputs[2] = d2, m->outputs[3] = d3, m->outputs[4] = empty;
    m->n_outputs = 5;
}

static int same_ints(const int *a, const int *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* What the reader must give for one written operator's options: the
 * written values for the five builtins whose options it decodes, else the
 * plain-operator values the header documents. */
static void check_options(const tfb_op *w, const tfl_op *g, int i, const char *lname)
{
    int pad = TFL_PAD_SAME, sw = 1, sh = 1, dil_w = 1, dil_h = 1, dm = 1, act = TFL_ACT_NONE, axis = 0;
    float beta = 1.0f;
    if (w->with_options) {
        switch (w->builtin) {
        case TFL_OP_CONV_2D:
        case TFL_OP_DEPTHWISE_CONV_2D:
            pad = w->padding, sw = w->stride_w, sh = w->stride_h, dil_w = w->dilation_w, dil_h = w->dilation_h;
            act = w->activation;
            if (w->builtin == TFL_OP_DEPTHWISE_CONV_2D)
                dm = w->depth_multiplier;
            break;
        case TFL_OP_ADD:
            act = w->activation;
            break;
        case TFL_OP_CONCATENATION:
            axis = w->axis, act = w->activation;
            break;
        case TFL_OP_SOFTMAX:
            beta = w->beta;
            break;
        default:
            break;
        }
    }
    CHECK(g->padding == pad && g->stride_w == sw && g->stride_h == sh && g->dilation_w == dil_w &&
              g->dilation_h == dil_h && g->depth_multiplier == dm && g->activation == act && g->axis == axis &&
              g->beta == beta,
          "[%s] op %d options: pad %d stride %d,%d dil %d,%d dm %d act %d axis %d beta %g", lname, i, g->padding,
          g->stride_w, g->stride_h, g->dilation_w, g->dilation_h, g->depth_multiplier, g->activation, g->axis,
          (double)g->beta);
}

/* Everything written in want reads back in got. */
static void check_same(const tfb_model *want, const tfl_model *got, const layout *l)
{
    const char *lname = l->name;
    CHECK(got->n_tensors == want->n_tensors && got->n_ops == want->n_ops, "[%s] %d tensors, %d ops", lname,
          got->n_tensors, got->n_ops);
    if (got->n_tensors != want->n_tensors || got->n_ops != want->n_ops)
        return;
    for (int i = 0; i < want->n_tensors; i++) {
        const tfb_tensor *w = &want->tensors[i];
        const tfl_tensor *g = &got->tensors[i];
        CHECK(g->type == w->type && g->rank == w->rank && same_ints(g->shape, w->shape, w->rank) &&
                  strcmp(g->name, w->name ? w->name : "") == 0,
              "[%s] tensor %d: type %d rank %d name '%s'", lname, i, g->type, g->rank, g->name);
        if (w->data)
            CHECK(g->data && g->size == w->size && memcmp(g->data, w->data, w->size) == 0 && g->data >= got->buf &&
                      g->data + g->size <= got->buf + got->size,
                  "[%s] tensor %d data (%zu bytes, want %zu)", lname, i, g->size, w->size);
        else
            CHECK(!g->data && g->size == 0, "[%s] tensor %d has data", lname, i);
        int quant_ok = g->n_quant == w->n_scales && (g->n_quant < 2 || g->quant_dim == w->quant_dim) &&
                       g->quant_details == w->quant_details;
        for (int k = 0; quant_ok && k < g->n_quant; k++)
            quant_ok = g->scale[k] == w->scales[k] && g->zero_point[k] == w->zero_points[k];
        CHECK(quant_ok, "[%s] tensor %d: %d quantization pairs along %d (want %d along %d)", lname, i, g->n_quant,
              g->quant_dim, w->n_scales, w->quant_dim);
    }
    for (int i = 0; i < want->n_ops; i++) {
        const tfb_op *w = &want->ops[i];
        const tfl_op *g = &got->ops[i];
        /* a file with only the deprecated byte says 127 for the codes past it */
        int builtin = l->legacy_opcodes && w->builtin > 127 ? 127 : w->builtin;
        CHECK(g->builtin == builtin && g->version == w->version, "[%s] op %d: builtin %d version %d", lname, i,
              g->builtin, g->version);
        CHECK(w->custom_code ? g->custom_code && strcmp(g->custom_code, w->custom_code) == 0 : !g->custom_code,
              "[%s] op %d custom code '%s'", lname, i, g->custom_code ? g->custom_code : "(null)");
        CHECK(g->n_inputs == w->n_in && g->n_outputs == w->n_out && same_ints(g->inputs, w->in, w->n_in) &&
                  same_ints(g->outputs, w->out, w->n_out),
              "[%s] op %d: %d inputs, %d outputs", lname, i, g->n_inputs, g->n_outputs);
        check_options(w, g, i, lname);
        if (w->custom_options)
            CHECK(g->custom_options_size == w->custom_options_size &&
                      memcmp(g->custom_options, w->custom_options, w->custom_options_size) == 0,
                  "[%s] op %d custom options (%zu bytes)", lname, i, g->custom_options_size);
        else
            CHECK(!g->custom_options && g->custom_options_size == 0, "[%s] op %d has custom options", lname, i);
    }
    CHECK(got->n_inputs == want->n_inputs && same_ints(got->inputs, want->inputs, want->n_inputs) &&
              got->n_outputs == want->n_outputs && same_ints(got->outputs, want->outputs, want->n_outputs),
          "[%s] graph inputs/outputs", lname);
}

/* What any successfully parsed model promises, whatever the file was:
 * indices in range, sane shapes, data inside the buffer (touched so that
 * ASan sees every byte). Returns the number of broken promises. */
static int broken_promises(const tfl_model *m)
{
    int bad = 0;
    unsigned sink = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const tfl_tensor *t = &m->tensors[i];
        bad += t->rank < 0 || t->rank > TFL_MAX_RANK || t->name == NULL;
        for (int d = 0; d < t->rank && d < TFL_MAX_RANK; d++)
            bad += t->shape[d] < 0;
        if (t->data) {
            bad += t->data < m->buf || t->size > m->size || t->data + t->size > m->buf + m->size;
            for (size_t k = 0; k < t->size; k++)
                sink += t->data[k];
        }
        sink += (unsigned)strlen(t->name ? t->name : "");
        bad += t->n_quant < 0 || (t->n_quant > 0 && (!t->scale || !t->zero_point));
        if (t->n_quant > 1)
            bad += t->quant_dim < 0 || t->quant_dim >= t->rank || t->shape[t->quant_dim] != t->n_quant;
        for (int k = 0; k < t->n_quant; k++) {
            bad += !(t->scale[k] > 0.0f) || !isfinite(t->scale[k]);
            bad += t->type == TFL_TYPE_INT8 && (t->zero_point[k] < -128 || t->zero_point[k] > 127);
            bad += t->type == TFL_TYPE_UINT8 && (t->zero_point[k] < 0 || t->zero_point[k] > 255);
            bad += t->type == TFL_TYPE_INT32 && t->zero_point[k] != 0;
        }
    }
    for (int i = 0; i < m->n_ops; i++) {
        const tfl_op *op = &m->ops[i];
        for (int k = 0; k < op->n_inputs; k++)
            bad += op->inputs[k] < -1 || op->inputs[k] >= m->n_tensors;
        for (int k = 0; k < op->n_outputs; k++)
            bad += op->outputs[k] < 0 || op->outputs[k] >= m->n_tensors;
        for (size_t k = 0; k < op->custom_options_size; k++)
            sink += op->custom_options[k];
        if (op->custom_code)
            sink += (unsigned)strlen(op->custom_code);
        bad += op->builtin < 0;
    }
    for (int i = 0; i < m->n_inputs; i++)
        bad += m->inputs[i] < 0 || m->inputs[i] >= m->n_tensors;
    for (int i = 0; i < m->n_outputs; i++)
        bad += m->outputs[i] < 0 || m->outputs[i] >= m->n_tensors;
    return bad + (sink == 0xdeadbeefu); /* keep the reads */
}

static void test_round_trips(void)
{
    for (int li = 0; li < N_LAYOUTS; li++) {
        const layout *l = &layouts[li];
        static tfb_model tm;
        full_model(&tm, l);
        size_t n;
        uint8_t *b = tfb_build(&tm, &n);
        CHECK(b != NULL, "[%s] build failed", l->name);
        if (!b)
            continue;
        tfl_model m;
        char err[512] = "";
        int rc = tfl_parse(&m, b, n, err, sizeof err);
        CHECK(rc == 0, "[%s] %s", l->name, err);
        if (rc == 0) {
            CHECK(m.buf == b && m.size == n && m.mapped == 0, "[%s] buffer", l->name);
            check_same(&tm, &m, l);
            tfl_close(&m);
        }

        /* every truncation fails cleanly, leaving nothing to close */
        int accepted = 0, unclean = 0;
        for (size_t cut = 0; cut < n; cut++) {
            err[0] = 0;
            rc = tfl_parse(&m, b, cut, err, sizeof err);
            if (rc == 0) {
                accepted++;
                tfl_close(&m);
            } else {
                unclean += !is_zeroed(&m) || err[0] == 0 || rc != MNV_EFORMAT;
            }
        }
        CHECK(accepted == 0 && unclean == 0, "[%s] %d of %zu truncated copies accepted, %d failed uncleanly",
              l->name, accepted, n, unclean);

        /* random mutations: any outcome but a crash or a broken promise */
        uint8_t *copy = malloc(n);
        unsigned seed = 12345u + (unsigned)li;
        int parsed = 0, broken = 0, unclean_err = 0;
        for (int round = 0; copy && round < 1500; round++) {
            memcpy(copy, b, n);
            for (int k = 0; k < 1 + round % 4; k++) {
                seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5; /* xorshift32 */
                copy[(seed >> 8) % n] = (uint8_t)seed;
            }
            err[0] = 0;
            if (tfl_parse(&m, copy, n, err, sizeof err) == 0) {
                parsed++;
                broken += broken_promises(&m) != 0;
                tfl_close(&m);
            } else {
                unclean_err += !is_zeroed(&m) || err[0] == 0;
            }
        }
        CHECK(broken == 0 && unclean_err == 0,
              "[%s] mutations: %d parsed models break promises, %d errors unclean", l->name, broken, unclean_err);
        printf("[%s] %zu bytes; random mutations: %d of 1500 still parse\n", l->name, n, parsed);
        free(copy);

        /* and through a file */
        char path[512];
        snprintf(path, sizeof path, "%s/layout%d.tflite", tmpdir, li);
        CHECK(tfb_write_file(path, b, n) == 0, "cannot write %s", path);
        rc = tfl_open(&m, path, err, sizeof err);
        CHECK(rc == 0 && m.mapped == 1 && m.size == n, "[%s] tfl_open: %s", l->name, err);
        if (rc == 0) {
            check_same(&tm, &m, l);
            tfl_close(&m);
        }
        free(b);
    }
}

/* ---- quantization parameters that must be refused ---- */

typedef struct bad_quant {
    const char *what;
    int type, rank, shape[4];
    int n_scales, n_zero_points, dim;
    float scale;              /* of every entry but the last, which gets last_scale */
    float last_scale;
    int64_t zero_point;       /* of the last entry (the others get 0) */
    const char *want;         /* in the message */
} bad_quant;

static void test_quantization_errors(void)
{
    const bad_quant cases[] = {
        {"fewer zero points", TFL_TYPE_INT8, 1, {4}, 4, 3, 0, 1.0f, 1.0f, 0, "4 quantization scales but 3 zero points"},
        {"zero points without", TFL_TYPE_INT8, 1, {4}, 1, 0, 0, 1.0f, 1.0f, 0, "1 quantization scales but 0 zero"},
        {"count vs dimension", TFL_TYPE_INT8, 4, {8, 1, 1, 3}, 3, 3, 0, 1.0f, 1.0f, 0,
         "3 quantization scales for the 8 entries of its dimension 0"},
        {"dimension past rank", TFL_TYPE_INT8, 2, {3, 3}, 3, 3, 2, 1.0f, 1.0f, 0, "along dimension 2 of a rank 2"},
        {"negative dimension", TFL_TYPE_INT8, 2, {3, 3}, 3, 3, -1, 1.0f, 1.0f, 0, "along dimension -1"},
        {"zero scale", TFL_TYPE_INT8, 1, {2}, 2, 2, 0, 1.0f, 0.0f, 0, "scale 0 (entry 1)"},
        {"negative scale", TFL_TYPE_UINT8, 0, {0}, 1, 1, 0, 1.0f, -0.5f, 0, "scale -0.5"},
        {"infinite scale", TFL_TYPE_INT8, 1, {3}, 3, 3, 0, 1.0f, INFINITY, 0, "scale inf"},
        {"NaN scale", TFL_TYPE_INT8, 1, {1}, 1, 1, 0, 1.0f, NAN, 0, "not finite"},
        {"int8 zero point", TFL_TYPE_INT8, 1, {2}, 2, 2, 0, 1.0f, 1.0f, 128, "zero point 128 (entry 1), outside [-128, 127] for INT8"},
        {"int8 zero point low", TFL_TYPE_INT8, 1, {1}, 1, 1, 0, 1.0f, 1.0f, -129, "zero point -129"},
        {"uint8 zero point", TFL_TYPE_UINT8, 1, {1}, 1, 1, 0, 1.0f, 1.0f, -1, "outside [0, 255] for UINT8"},
        {"uint8 zero point high", TFL_TYPE_UINT8, 1, {1}, 1, 1, 0, 1.0f, 1.0f, 256, "zero point 256"},
        {"int32 bias zero point", TFL_TYPE_INT32, 1, {2}, 2, 2, 0, 1.0f, 1.0f, 1, "outside [0, 0] for INT32"},
        {"int16 zero point", TFL_TYPE_INT16, 1, {1}, 1, 1, 0, 1.0f, 1.0f, -3, "for INT16"},
        {"huge zero point", TFL_TYPE_FLOAT32, 1, {1}, 1, 1, 0, 1.0f, 1.0f, INT64_C(1) << 40, "zero point 1099511627776"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const bad_quant *q = &cases[c];
        float scales[8];
        int64_t zps[8] = {0};
        for (int k = 0; k < q->n_scales; k++)
            scales[k] = k == q->n_scales - 1 ? q->last_scale : q->scale;
        if (q->n_zero_points)
            zps[q->n_zero_points - 1] = q->zero_point;
        static tfb_model tm;
        memset(&tm, 0, sizeof tm);
        int in = tfb_add_tensor(&tm, TFL_TYPE_FLOAT32, 1, (int[]){1}, "in", NULL, 0);
        int t = tfb_add_tensor(&tm, q->type, q->rank, q->shape, "bad q", NULL, 0);
        tm.tensors[t].scales = scales, tm.tensors[t].n_scales = q->n_scales;
        tm.tensors[t].zero_points = zps, tm.tensors[t].n_zero_points = q->n_zero_points;
        tm.tensors[t].quant_dim = q->dim;
        tm.inputs[0] = in, tm.n_inputs = 1;
        tm.outputs[0] = t, tm.n_outputs = 1;
        size_t n;
        uint8_t *b = tfb_build(&tm, &n);
        CHECK(b != NULL, "%s: build failed", q->what);
        if (!b)
            continue;
        tfl_model m;
        char err[512] = "";
        int rc = tfl_parse(&m, b, n, err, sizeof err);
        CHECK(rc == MNV_EFORMAT && is_zeroed(&m) && has_text(err, "tensor 1: 'bad q'") && has_text(err, q->want) &&
                  !strchr(err, '\n'),
              "%s: rc %d, error '%s' lacks '%s'", q->what, rc, err, q->want);
        if (rc == 0)
            tfl_close(&m);
        free(b);
    }

    /* what is accepted: per tensor with any dimension, a table with no
     * scales, a custom details type (recorded for the importer to refuse) */
    static tfb_model tm;
    memset(&tm, 0, sizeof tm);
    static const float one = 1.0f;
    static const int64_t z = 0;
    int a = tfb_add_tensor(&tm, TFL_TYPE_INT8, 2, (int[]){5, 7}, "per tensor, dim 9", NULL, 0);
    tfb_set_quant(&tm, a, &one, &z, 1, 9);
    int e = tfb_add_tensor(&tm, TFL_TYPE_INT8, 1, (int[]){2}, "zero points only", NULL, 0);
    tm.tensors[e].zero_points = &z, tm.tensors[e].n_zero_points = 1;
    int d = tfb_add_qtensor(&tm, TFL_TYPE_UINT8, 1, (int[]){2}, "custom", NULL, 0, 0.5f, 3);
    tm.tensors[d].quant_details = 1;
    tm.inputs[0] = a, tm.n_inputs = 1;
    tm.outputs[0] = d, tm.n_outputs = 1;
    size_t n;
    uint8_t *b = tfb_build(&tm, &n);
    tfl_model m;
    char err[512] = "";
    int rc = b ? tfl_parse(&m, b, n, err, sizeof err) : -1;
    CHECK(rc == 0, "accepted quantization: %s", err);
    if (rc == 0) {
        CHECK(m.tensors[a].n_quant == 1 && m.tensors[a].scale[0] == 1.0f && m.tensors[a].zero_point[0] == 0,
              "per tensor");
        CHECK(m.tensors[e].n_quant == 0 && !m.tensors[e].scale && !m.tensors[e].zero_point, "zero points only");
        CHECK(m.tensors[d].n_quant == 1 && m.tensors[d].quant_details == 1 && m.tensors[d].zero_point[0] == 3,
              "custom details");
        tfl_close(&m);
    }
    free(b);
}

/* ---- targeted corruption ---- */

/* A copy of b with the 4 bytes at `at` replaced; parsing it must fail with
 * an error containing want, and leave the model zeroed. */
static void expect_corrupt(const uint8_t *b, size_t n, size_t at, uint32_t value, const char *want,
                           const char *what)
{
    uint8_t *c = malloc(n);
    if (!c || at + 4 > n) {
        CHECK(0, "%s: nothing to corrupt at %zu", what, at);
        free(c);
        return;
    }
    memcpy(c, b, n);
    memcpy(c + at, &value, 4);
    tfl_model m;
    char err[512] = "";
    int rc = tfl_parse(&m, c, n, err, sizeof err);
    CHECK(rc == MNV_EFORMAT && has_text(err, want) && is_zeroed(&m), "%s: rc %d, error '%s' lacks '%s'", what, rc,
          err, want);
    if (rc == 0)
        tfl_close(&m);
    free(c);
}

/* Position of the first occurrence of len bytes at or after from (n if none). */
static size_t find_bytes(const uint8_t *b, size_t n, size_t from, const void *what, size_t len)
{
    for (size_t i = from; i + len <= n; i++)
        if (memcmp(b + i, what, len) == 0)
            return i;
    return n;
}

/* Some word (width 1 or 4 bytes) equal to match, once set to value, makes
 * the reader report want: tries every such word (which one holds the field
 * is the writer's business) and says whether one was reported as expected. */
static int corruption_reported(const uint8_t *b, size_t n, size_t width, uint32_t match, uint32_t value,
                               const char *want)
{
    tfl_model m;
    char err[512];
    uint8_t *c = malloc(n);
    int found = 0;
    for (size_t at = 8; c && at + width <= n && !found; at++) {
        if (memcmp(b + at, &match, width) != 0) /* little-endian: the low bytes */
            continue;
        memcpy(c, b, n);
        memcpy(c + at, &value, width);
        if (tfl_parse(&m, c, n, err, sizeof err) == 0)
            tfl_close(&m);
        else
            found = has_text(err, want);
    }
    free(c);
    return found;
}

static uint8_t *corruption_base(size_t *n, int external)
{
    static const float w[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    tfb_model tm = {0};
    tm.external_data = external;
    int in = tfb_add_tensor(&tm, TFL_TYPE_FLOAT32, 4, (int[]){1, 2, 2, 5}, "x", NULL, 0);
    int wt = tfb_add_tensor(&tm, TFL_TYPE_FLOAT32, 4, (int[]){3, 1, 1, 5}, "weights_tensor", w, sizeof w);
    int out = tfb_add_tensor(&tm, TFL_TYPE_FLOAT32, 4, (int[]){1, 2, 2, 3}, "y", NULL, 0);
    tfb_add_op(&tm, TFL_OP_CONV_2D, (int[]){in, wt}, 2, (int[]){out}, 1);
    tm.inputs[0] = in, tm.n_inputs = 1, tm.outputs[0] = out, tm.n_outputs = 1;
    return tfb_build(&tm, n);
}

static void test_corruption(void)
{
    size_t n;
    char err[512];
    tfl_model m;
    uint8_t *b = corruption_base(&n, 0);
    CHECK(b && tfl_parse(&m, b, n, err, sizeof err) == 0, "base model: %s", err);
    if (!b)
        return;
    tfl_close(&m);

    /* the file header */
    expect_corrupt(b, n, 0, (uint32_t)n + 100, "points past the end", "root offset past the end");
    expect_corrupt(b, n, 0, 0, "offset at 0 is zero", "zero root offset");
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    memcpy(c + 4, "TFL2", 4);
    CHECK(tfl_parse(&m, c, n, err, sizeof err) == MNV_EFORMAT && has_text(err, "no TFL3 identifier"),
          "identifier: %s", err);
    free(c);

    /* the Model table's soffset: its vtable outside the file, behind and ahead */
    uint32_t root;
    memcpy(&root, b, 4);
    expect_corrupt(b, n, root, 0x7fffffffu, "vtable of the table at", "vtable before the file");
    expect_corrupt(b, n, root, (uint32_t)-(int32_t)(n * 2), "vtable of the table at", "vtable past the file");
    /* its vtable's entry for operator_codes pointing outside the table */
    int32_t soff;
    memcpy(&soff, b + root, 4);
    size_t vt = (size_t)((long long)root - soff);
    uint32_t entries;
    memcpy(&entries, b + vt + 4, 4); /* fields 0 and 1 */
    expect_corrupt(b, n, vt + 4, (entries & 0xffffu) | 0xfff00000u, "field 1 of the table", "field offset");

    /* the tensors vector's length (3) made huge */
    CHECK(corruption_reported(b, n, 4, 3, 0x7fffffffu, "claims 2147483647 elements, past the end"),
          "no huge vector length was reported as such");
    /* tensor 1's buffer index (1) made 900 */
    CHECK(corruption_reported(b, n, 4, 1, 900, "tensor 1 buffer index 900 out of range (2 buffers)"),
          "no corruption of a buffer index was reported as such");
    /* the operator's opcode index (0) made 5 */
    CHECK(corruption_reported(b, n, 4, 0, 5, "operator 0: opcode index 5 out of range (1 operator codes)"),
          "no corruption of the opcode index was reported as such");
    /* the graph's output (2) made -1: only optional operator inputs may be -1 */
    CHECK(corruption_reported(b, n, 4, 2, 0xffffffffu, "subgraph 0: output 0: tensor index -1 out of range"),
          "no negative graph output index was reported as such");
    /* the conv's union type (Conv2DOptions = 1) made AddOptions (11) */
    CHECK(corruption_reported(b, n, 1, 1, 11, "CONV_2D has options of union type 11, expected 1"),
          "no mismatched options type was reported as such");

    /* the operator's inputs {0, 1}: input 1 made 77 */
    uint32_t pair[3] = {2, 0, 1};
    size_t at = find_bytes(b, n, 8, pair, sizeof pair);
    CHECK(at < n, "operator inputs vector not found");
    if (at < n)
        expect_corrupt(b, n, at + 8, 77, "operator 0: input 1: tensor index 77 out of range (3 tensors)",
                       "operator input index");

    /* the weights' shape {3, 1, 1, 5} */
    int32_t shape[5] = {4, 3, 1, 1, 5};
    at = find_bytes(b, n, 8, shape, sizeof shape);
    CHECK(at < n, "weights shape not found");
    if (at < n) {
        expect_corrupt(b, n, at, 7, "tensor 1: rank 7 exceeds 6", "rank");
        expect_corrupt(b, n, at + 4, (uint32_t)-3, "tensor 1: dimension 0 is negative (-3)", "negative dimension");
        expect_corrupt(b, n, at + 4, 4, "'weights_tensor' holds 60 bytes of data, its shape needs 80",
                       "data size");
        /* 2^30 * 5 floats: 20 GiB, which a 32-bit size_t cannot even count */
        expect_corrupt(b, n, at + 4, 0x40000000u,
                       SIZE_MAX > 0xffffffffu ? "its shape needs 21474836480" : "tensor 1: shape too large",
                       "huge dimension");
    }

    /* the name's terminating NUL */
    at = find_bytes(b, n, 8, "weights_tensor", 15);
    CHECK(at < n, "tensor name not found");
    if (at < n) {
        uint32_t word;
        memcpy(&word, b + at + 12, 4); /* "or\0" and one more byte */
        expect_corrupt(b, n, at + 12, word | 0x00ff0000u, "tensor 1: string at", "unterminated name");
    }
    free(b);

    /* data outside the flatbuffer whose offset or size leaves the file */
    b = corruption_base(&n, 1);
    CHECK(b && tfl_parse(&m, b, n, err, sizeof err) == 0, "external base model: %s", err);
    if (!b)
        return;
    tfl_close(&m);
    static const float first[2] = {1, 2};
    size_t data = find_bytes(b, n, 8, first, sizeof first);
    uint64_t off64 = data;
    at = find_bytes(b, n, 8, &off64, 8);
    CHECK(data < n && at < n, "external data or its offset not found");
    if (at < n) {
        expect_corrupt(b, n, at, (uint32_t)n - 8, "buffer 1: data at offset", "external data past the end");
        expect_corrupt(b, n, at + 8, 61, "lies outside the file", "external size past the end");
    }
    free(b);
}

/* ---- files ---- */

static void test_files(const char *dir)
{
    char err[512], path[1024];
    tfl_model m;
    int rc = tfl_open(&m, "/nonexistent/model.tflite", err, sizeof err);
    CHECK(rc == MNV_EIO && has_text(err, "/nonexistent/model.tflite: No such file") && is_zeroed(&m),
          "missing file: %s", err);
    rc = tfl_open(&m, tmpdir, err, sizeof err);
    CHECK(rc == MNV_EIO && has_text(err, tmpdir) && has_text(err, "not a regular file"), "directory: %s", err);
    snprintf(path, sizeof path, "%s/empty.tflite", tmpdir);
    CHECK(tfb_write_file(path, "", 0) == 0, "write %s", path);
    rc = tfl_open(&m, path, err, sizeof err);
    CHECK(rc == MNV_EFORMAT && strncmp(err, path, strlen(path)) == 0 && has_text(err, "not a TFLite file"),
          "empty file: %s", err);
    snprintf(path, sizeof path, "%s/x.tflite", tmpdir);
    CHECK(tfb_write_file(path, "0123TFL2xxxxxxxx", 16) == 0, "write %s", path);
    rc = tfl_open(&m, path, err, sizeof err);
    CHECK(rc == MNV_EFORMAT && strncmp(err, path, strlen(path)) == 0 &&
              has_text(err, ": not a TFLite file (no TFL3 identifier)"),
          "wrong identifier: %s", err);

    /* the real model cut at several points, in memory and as files */
    snprintf(path, sizeof path, "%s/%s", dir, MODEL_NAME);
    size_t n;
    uint8_t *b = read_whole(path, &n);
    CHECK(b != NULL && n > 1000, "cannot read %s", path);
    if (!b)
        return;
    size_t cuts[] = {0, 3, 7, 8, 100, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        rc = tfl_parse(&m, b, cuts[i], err, sizeof err);
        CHECK(rc == MNV_EFORMAT && (has_text(err, "truncated") || has_text(err, "not a TFLite file")) &&
                  is_zeroed(&m),
              "cut at %zu: rc %d '%s'", cuts[i], rc, err);
        if (rc == 0)
            tfl_close(&m);
    }
    snprintf(path, sizeof path, "%s/cut.tflite", tmpdir);
    CHECK(tfb_write_file(path, b, n / 2) == 0, "write %s", path);
    rc = tfl_open(&m, path, err, sizeof err);
    CHECK(rc == MNV_EFORMAT && strncmp(err, path, strlen(path)) == 0 && has_text(err, ": truncated or corrupt: "),
          "cut file: %s", err);
    free(b);
}

/* ---- fp16 and names ---- */

static float fp16_reference(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
    float v;
    if (exp == 31)
        v = man ? NAN : INFINITY;
    else if (exp == 0)
        v = ldexpf((float)man, -24);
    else
        v = ldexpf((float)(man + 1024), exp - 25);
    return sign ? -v : v;
}

static void test_fp16(void)
{
    int bad = 0, nans = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float got = fp16_to_f32((uint16_t)h), want = fp16_reference((uint16_t)h);
        if (isnan(want)) {
            bad += !isnan(got) || !signbit(got) != !signbit(want);
            nans++;
        } else {
            bad += got != want || !signbit(got) != !signbit(want);
        }
    }
    CHECK(bad == 0 && nans == 2 * 1023, "%d of 65536 half values converted wrongly (%d NaN)", bad, nans);
    CHECK(fp16_to_f32(0x3c00) == 1.0f && fp16_to_f32(0xc000) == -2.0f && fp16_to_f32(0x7bff) == 65504.0f &&
              fp16_to_f32(0x3555) == 0x1.554p-2f,
          "named values");
    CHECK(fp16_to_f32(0x0001) == 0x1p-24f && fp16_to_f32(0x03ff) == 0x1.ff8p-15f &&
              fp16_to_f32(0x0400) == 0x1p-14f,
          "subnormals and the smallest normal");
    CHECK(signbit(fp16_to_f32(0x8000)) && fp16_to_f32(0x8000) == 0.0f && !signbit(fp16_to_f32(0)), "signed zeros");
    CHECK(isinf(fp16_to_f32(0x7c00)) && fp16_to_f32(0xfc00) < 0 && isnan(fp16_to_f32(0x7e00)), "inf and NaN");
}

static void test_names(void)
{
    char buf[32];
    static const struct { int code; const char *name; } ops[] = {
        {0, "ADD"}, {3, "CONV_2D"}, {4, "DEPTHWISE_CONV_2D"}, {6, "DEQUANTIZE"}, {18, "MUL"}, {22, "RESHAPE"},
        {32, "CUSTOM"}, {97, "RESIZE_NEAREST_NEIGHBOR"}, {117, "HARD_SWISH"},
        {127, "PLACEHOLDER_FOR_GREATER_OP_CODES"},
        {150, "GELU"}, {158, "SIGN"}, {161, "RIGHT_SHIFT"}, {162, "STABLEHLO_LOGISTIC"}, {195, "STABLEHLO_PAD"},
        {203, "DILATE"}, {205, "REDUCE_WINDOW"},
    };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        const char *got = tfl_op_name(ops[i].code, buf, sizeof buf);
        CHECK(strcmp(got, ops[i].name) == 0, "op %d is '%s', want '%s'", ops[i].code, got, ops[i].name);
    }
    CHECK(strcmp(tfl_op_name(99999, buf, sizeof buf), "op#99999") == 0 && strcmp(buf, "op#99999") == 0,
          "unknown op");
    CHECK(strcmp(tfl_op_name(-1, buf, sizeof buf), "op#-1") == 0, "negative op");
    CHECK(strcmp(tfl_type_name(TFL_TYPE_FLOAT16, buf, sizeof buf), "FLOAT16") == 0 &&
              strcmp(tfl_type_name(TFL_TYPE_UINT8, buf, sizeof buf), "UINT8") == 0 &&
              strcmp(tfl_type_name(TFL_TYPE_INT8, buf, sizeof buf), "INT8") == 0 &&
              strcmp(tfl_type_name(17, buf, sizeof buf), "INT4") == 0,
          "type names");
    CHECK(strcmp(tfl_type_name(-3, buf, sizeof buf), "type#-3") == 0 &&
              strcmp(tfl_type_name(18, buf, sizeof buf), "type#18") == 0,
          "unknown type");
}

int main(void)
{
    const char *dir = test_env("MNV2DET_MODEL_DIR");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mnv2det-tflite-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_real_model(dir);
    test_round_trips();
    test_corruption();
    test_quantization_errors();
    test_files(dir);
    test_fp16();
    test_names();
    tfl_model zero = {0};
    tfl_close(&zero);
    tfl_close(NULL);
    CHECK(is_zeroed(&zero), "tfl_close on a zeroed model");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_finish("tflite reader");
}
