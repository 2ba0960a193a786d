/*
 * The TFLite reader: the real default model, a round trip through the test
 * writer, and damaged files (every truncation of a small model, cuts of the
 * real one, targeted corruptions, random mutations) that must be rejected
 * with a message naming the problem and never read outside the buffer (the
 * robustness suite runs this under ASan and UBSan). Also fp16 conversion.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"
#include "check.h"
#include "tflite_builder.h"

#define MODEL_NAME "object_detection_ssd_mobilenetv2_oidv4_fp16.tflite"

static int has_text(const char *s, const char *needle) { return strstr(s, needle) != NULL; }

static void test_real_model(const char *dir)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, MODEL_NAME);
    tfl_model m;
    int rc = tfl_open(&m, path, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc)
        return;
    CHECK(m.n_tensors == 389, "%d tensors", m.n_tensors);
    CHECK(m.n_ops == 241, "%d operators", m.n_ops);
    int count[256] = {0};
    for (int i = 0; i < m.n_ops; i++)
        if (m.ops[i].builtin >= 0 && m.ops[i].builtin < 256)
            count[m.ops[i].builtin]++;
    CHECK(count[TFL_OP_CONV_2D] == 55, "%d CONV_2D", count[TFL_OP_CONV_2D]);
    CHECK(count[TFL_OP_DEPTHWISE_CONV_2D] == 17, "%d DEPTHWISE_CONV_2D", count[TFL_OP_DEPTHWISE_CONV_2D]);
    CHECK(count[TFL_OP_ADD] == 10, "%d ADD", count[TFL_OP_ADD]);
    CHECK(count[TFL_OP_RESHAPE] == 13, "%d RESHAPE", count[TFL_OP_RESHAPE]);
    CHECK(count[TFL_OP_CONCATENATION] == 2, "%d CONCATENATION", count[TFL_OP_CONCATENATION]);
    CHECK(count[TFL_OP_DEQUANTIZE] == 241 - 55 - 17 - 10 - 13 - 2, "%d DEQUANTIZE", count[TFL_OP_DEQUANTIZE]);

    CHECK(m.n_inputs == 1 && m.n_outputs == 2, "%d inputs, %d outputs", m.n_inputs, m.n_outputs);
    const tfl_tensor *in = &m.tensors[m.inputs[0]];
    CHECK(in->type == TFL_TYPE_FLOAT32 && in->rank == 4 && in->shape[0] == 1 && in->shape[1] == 300 &&
          in->shape[2] == 300 && in->shape[3] == 3, "input shape");
    CHECK(strcmp(in->name, "normalized_input_image_tensor") == 0, "input name '%s'", in->name);
    const tfl_tensor *o0 = &m.tensors[m.outputs[0]], *o1 = &m.tensors[m.outputs[1]];
    CHECK(o0->rank == 3 && o0->shape[1] == 1917 && o0->shape[2] == 4, "box output shape");
    CHECK(o1->rank == 3 && o1->shape[1] == 1917 && o1->shape[2] == 24, "class output shape");

    /* the stem: the first convolution */
    const tfl_op *stem = NULL;
    for (int i = 0; i < m.n_ops && !stem; i++)
        if (m.ops[i].builtin == TFL_OP_CONV_2D)
            stem = &m.ops[i];
    CHECK(stem && stem->padding == TFL_PAD_SAME && stem->stride_w == 2 && stem->stride_h == 2 &&
          stem->activation == TFL_ACT_RELU6 && stem->dilation_w == 1, "stem options");

    /* float16 constants hold 2 bytes per element, DEQUANTIZE outputs none */
    int f16 = 0, bad = 0;
    for (int i = 0; i < m.n_ops; i++) {
        if (m.ops[i].builtin != TFL_OP_DEQUANTIZE)
            continue;
        const tfl_tensor *t = &m.tensors[m.ops[i].inputs[0]];
        size_t e = 1;
        for (int d = 0; d < t->rank; d++)
            e *= (size_t)t->shape[d];
        f16++;
        bad += t->type != TFL_TYPE_FLOAT16 || !t->data || t->size != 2 * e ||
               m.tensors[m.ops[i].outputs[0]].data != NULL;
    }
    CHECK(f16 > 100 && bad == 0, "%d float16 constants, %d wrong", f16, bad);
    tfl_close(&m);
    tfl_close(&m); /* idempotent */
}

/* A small valid model: conv -> depthwise -> add -> reshape -> concat. */
static uint8_t *small_model(size_t *size)
{
    static const float w[4 * 3 * 3 * 3] = {0.5f, -1.0f, 0.25f};
    static const float bias[4] = {1, 2, 3, 4};
    static const float dw[1 * 3 * 3 * 4] = {1, 0, 0, 1};
    tfb_model m = {0};
    int in = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 5, 5, 3}, "input", NULL, 0);
    int wt = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){4, 3, 3, 3}, "weights", w, sizeof w);
    int bt = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, (int[]){4}, "bias", bias, sizeof bias);
    int c = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 3, 3, 4}, "conv", NULL, 0);
    int dwt = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 3, 3, 4}, "dw_weights", dw, sizeof dw);
    int d = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 3, 3, 4}, "dw", NULL, 0);
    int a = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 3, 3, 4}, "sum", NULL, 0);
    int r = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, 9, 4}, "flat", NULL, 0);
    int o = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, 18, 4}, "out", NULL, 0);
    tfb_op *op = tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){in, wt, bt}, 3, (int[]){c}, 1);
    op->stride_w = op->stride_h = 2;
    op->activation = TFL_ACT_RELU6;
    op = tfb_add_op(&m, TFL_OP_DEPTHWISE_CONV_2D, (int[]){c, dwt, -1}, 3, (int[]){d}, 1);
    op->activation = TFL_ACT_RELU;
    tfb_add_op(&m, TFL_OP_ADD, (int[]){d, c}, 2, (int[]){a}, 1);
    tfb_add_op(&m, TFL_OP_RESHAPE, (int[]){a}, 1, (int[]){r}, 1)->with_options = 0;
    op = tfb_add_op(&m, TFL_OP_CONCATENATION, (int[]){r, r}, 2, (int[]){o}, 1);
    op->axis = 1;
    m.inputs[0] = in, m.n_inputs = 1;
    m.outputs[0] = o, m.n_outputs = 1;
    return tfb_build(&m, size);
}

static void test_round_trip(void)
{
    size_t n;
    uint8_t *b = small_model(&n);
    CHECK(b != NULL, "build failed");
    if (!b)
        return;
    tfl_model m;
    char err[512];
    int rc = tfl_parse(&m, b, n, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(m.n_tensors == 9 && m.n_ops == 5, "%d tensors, %d ops", m.n_tensors, m.n_ops);
        CHECK(strcmp(m.tensors[1].name, "weights") == 0 && m.tensors[1].size == 108 * 4, "weights");
        float w0;
        memcpy(&w0, m.tensors[1].data, 4);
        CHECK(w0 == 0.5f, "weights data %g", w0);
        CHECK(m.tensors[0].data == NULL && m.tensors[7].rank == 3 && m.tensors[7].shape[1] == 9, "shapes");
        const tfl_op *c = &m.ops[0], *dw = &m.ops[1], *cat = &m.ops[4];
        CHECK(c->builtin == TFL_OP_CONV_2D && c->stride_w == 2 && c->stride_h == 2 &&
              c->activation == TFL_ACT_RELU6 && c->padding == TFL_PAD_SAME && c->n_inputs == 3, "conv op");
        CHECK(dw->builtin == TFL_OP_DEPTHWISE_CONV_2D && dw->inputs[2] == -1 && dw->activation == TFL_ACT_RELU &&
              dw->depth_multiplier == 1, "depthwise op");
        CHECK(cat->axis == 1 && cat->n_inputs == 2 && cat->outputs[0] == 8, "concat op");
        CHECK(m.ops[3].builtin == TFL_OP_RESHAPE, "reshape op");
        CHECK(m.n_inputs == 1 && m.inputs[0] == 0 && m.outputs[0] == 8, "graph io");
        tfl_close(&m);
    }

    /* every truncation fails cleanly */
    int accepted = 0;
    for (size_t cut = 0; cut < n; cut++) {
        rc = tfl_parse(&m, b, cut, err, sizeof err);
        if (rc == 0) {
            accepted++;
            tfl_close(&m);
        }
    }
    CHECK(accepted == 0, "%d truncated copies accepted", accepted);

    /* random mutations: any outcome but a crash (ASan checks the reads) */
    uint8_t *copy = malloc(n);
    unsigned seed = 12345;
    int parsed = 0;
    for (int round = 0; copy && round < 4000; round++) {
        memcpy(copy, b, n);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5; /* xorshift32 */
            copy[(seed >> 8) % n] = (uint8_t)seed;
        }
        if (tfl_parse(&m, copy, n, err, sizeof err) == 0) {
            parsed++;
            tfl_close(&m);
        }
    }
    printf("random mutations: %d of 4000 still parse\n", parsed);
    free(copy);
    free(b);
}

/* Corrupt one 32-bit word of a fresh copy and expect an error containing want. */
static void expect_corrupt(const uint8_t *b, size_t n, size_t at, uint32_t value, const char *want, const char *what)
{
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    memcpy(c + at, &value, 4);
    tfl_model m;
    char err[512] = "";
    int rc = tfl_parse(&m, c, n, err, sizeof err);
    CHECK(rc != 0 && has_text(err, want), "%s: rc %d, error '%s' lacks '%s'", what, rc, err, want);
    if (rc == 0)
        tfl_close(&m);
    free(c);
}

/* Position of the first occurrence of a 4-byte little-endian value at or after from. */
static size_t find_u32(const uint8_t *b, size_t n, size_t from, uint32_t v)
{
    for (size_t i = from; i + 4 <= n; i++)
        if (memcmp(b + i, &v, 4) == 0)
            return i;
    return n;
}

/* Some 32-bit word equal to match, once set to value, makes the reader
 * report want: tries every such word (which one holds the field is the
 * writer's business) and says whether one was reported as expected. */
static int corruption_reported(const uint8_t *b, size_t n, uint32_t match, uint32_t value, const char *want)
{
    tfl_model m;
    char err[512];
    uint8_t *c = malloc(n);
    int found = 0;
    for (size_t at = find_u32(b, n, 8, match); c && at < n && !found; at = find_u32(b, n, at + 1, match)) {
        memcpy(c, b, n);
        memcpy(c + at, &value, 4);
        if (tfl_parse(&m, c, n, err, sizeof err) == 0)
            tfl_close(&m);
        else
            found = has_text(err, want);
    }
    free(c);
    return found;
}

static void test_corruption(void)
{
    size_t n;
    char err[512];
    tfl_model m;
    /* a model with one recognisable index per kind, to find and damage */
    static const float w[2] = {1, 2};
    tfb_model tm = {0};
    int in = tfb_add_tensor(&tm, TFL_TYPE_FLOAT32, 4, (int[]){1, 1, 1, 2}, "x", NULL, 0);
    int wt = tfb_add_tensor(&tm, TFL_TYPE_FLOAT32, 4, (int[]){1, 1, 1, 2}, "w", w, sizeof w);
    int out = tfb_add_tensor(&tm, TFL_TYPE_FLOAT32, 4, (int[]){1, 1, 1, 1}, "y", NULL, 0);
    tfb_add_op(&tm, TFL_OP_CONV_2D, (int[]){in, wt}, 2, (int[]){out}, 1);
    tm.inputs[0] = in, tm.n_inputs = 1, tm.outputs[0] = out, tm.n_outputs = 1;
    uint8_t *b = tfb_build(&tm, &n);
    CHECK(b && tfl_parse(&m, b, n, err, sizeof err) == 0, "base model: %s", err);
    if (!b)
        return;
    tfl_close(&m);

    expect_corrupt(b, n, 0, (uint32_t)n + 100, "points past the end", "root offset past the end");
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    memcpy(c + 4, "XXXX", 4);
    CHECK(tfl_parse(&m, c, n, err, sizeof err) != 0 && has_text(err, "no TFL3 identifier"), "identifier: %s", err);
    free(c);

    /* the Model table's soffset: make its vtable fall outside the file */
    uint32_t root;
    memcpy(&root, b, 4);
    expect_corrupt(b, n, root, 0x80000000u, "vtable", "vtable offset");
    expect_corrupt(b, n, root, (uint32_t)-(int32_t)(n * 2), "vtable", "vtable offset forward");

    /* the tensors vector's length (3) made huge; tensor 1's buffer index (1)
     * made 900 */
    CHECK(corruption_reported(b, n, 3, 0x7fffffffu, "claims 2147483647 elements, past the end"),
          "no huge vector length was reported as such");
    CHECK(corruption_reported(b, n, 1, 900, "buffer index 900 out of range"),
          "no corruption of a buffer index was reported as such");

    /* operator input index: the ints {0, 1} of the op's inputs vector */
    uint32_t pair[3] = {2, 0, 1};
    size_t at = n;
    for (size_t i = 0; i + 12 <= n; i++)
        if (memcmp(b + i, pair, 12) == 0)
            at = i;
    CHECK(at < n, "operator inputs vector not found");
    if (at < n)
        expect_corrupt(b, n, at + 8, 77, "tensor index 77 out of range", "operator input index");
    /* the operator's opcode index (0) made 5 */
    CHECK(corruption_reported(b, n, 0, 5, "opcode index 5 out of range"),
          "no corruption of the opcode index was reported as such");
    free(b);
}

static void test_files(const char *dir)
{
    char err[512], path[1024];
    tfl_model m;
    int rc = tfl_open(&m, "/nonexistent/model.tflite", err, sizeof err);
    CHECK(rc == MNV_EIO && has_text(err, "/nonexistent/model.tflite") && has_text(err, "No such file"),
          "missing file: %s", err);

    /* the real model cut at several points */
    snprintf(path, sizeof path, "%s/%s", dir, MODEL_NAME);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n);
    CHECK(b && fread(b, 1, n, f) == n, "read %s", path);
    fclose(f);
    size_t cuts[] = {0, 3, 7, 8, 100, n / 2, n - 1};
    for (size_t i = 0; b && i < sizeof cuts / sizeof *cuts; i++) {
        rc = tfl_parse(&m, b, cuts[i], err, sizeof err);
        CHECK(rc != 0 && (has_text(err, "truncated") || has_text(err, "not a TFLite file")),
              "cut at %zu: rc %d '%s'", cuts[i], rc, err);
        if (rc == 0)
            tfl_close(&m);
    }
    free(b);
}

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
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float got = fp16_to_f32((uint16_t)h), want = fp16_reference((uint16_t)h);
        if (isnan(want))
            bad += !isnan(got);
        else
            bad += got != want || signbit(got) != signbit(want);
    }
    CHECK(bad == 0, "%d of 65536 half values converted wrongly", bad);
    CHECK(fp16_to_f32(0x3c00) == 1.0f && fp16_to_f32(0xc000) == -2.0f && fp16_to_f32(0x7bff) == 65504.0f,
          "named values");
    CHECK(fp16_to_f32(0x0001) == ldexpf(1.0f, -24), "smallest subnormal");
}

static void test_names(void)
{
    char buf[32];
    CHECK(strcmp(tfl_op_name(TFL_OP_CONV_2D, buf, sizeof buf), "CONV_2D") == 0, "CONV_2D");
    CHECK(strcmp(tfl_op_name(18, buf, sizeof buf), "MUL") == 0, "MUL");
    CHECK(strcmp(tfl_op_name(99999, buf, sizeof buf), "op#99999") == 0, "unknown op");
    CHECK(strcmp(tfl_type_name(TFL_TYPE_UINT8, buf, sizeof buf), "UINT8") == 0, "UINT8");
    CHECK(strcmp(tfl_type_name(-3, buf, sizeof buf), "type#-3") == 0, "unknown type");
}

int main(void)
{
    const char *dir = test_env("MNV2DET_MODEL_DIR");
    test_real_model(dir);
    test_round_trip();
    test_corruption();
    test_files(dir);
    test_fp16();
    test_names();
    return check_finish("tflite reader");
}
