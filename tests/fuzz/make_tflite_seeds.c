/*
 * Writes the tflite fuzz target's seed models into a folder (the corpus
 * tests/fuzz/corpus_tflite/ was made by it): small graphs of every
 * operator the importer takes, in each layout the reader meets in real
 * files, the detection operator with its FlexBuffer options, and a few
 * the importer refuses. Usage: make_tflite_seeds DIR FLEXBUF_OPTIONS_FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"
#include "tests/tflite_builder.h"

static const char *dir;
static int failures;

static void save(const tfb_model *m, const char *name)
{
    char path[1024];
    size_t n;
    uint8_t *b = tfb_build(m, &n);
    snprintf(path, sizeof path, "%s/%s.tflite", dir, name);
    if (!b || tfb_write_file(path, b, n) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        failures++;
    }
    free(b);
}

static void fill(float *v, size_t n, unsigned s)
{
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        v[i] = (float)(s >> 8) / 8388608.0f - 1.0f;
    }
}

/* input 1x4x4x3 -> CONV_2D 3x3 (4 channels, bias, RELU6) */
static void tiny_conv(const char *name, int layout)
{
    static float w[4 * 3 * 3 * 3], b[4];
    fill(w, 108, 1), fill(b, 4, 2);
    tfb_model m = {0};
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 3}, "in", NULL, 0);
    int tw = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){4, 3, 3, 3}, "w", w, sizeof w);
    int tb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, (int[]){4}, "b", b, sizeof b);
    int y = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 4}, "out", NULL, 0);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, tw, tb}, 3, (int[]){y}, 1)->activation = TFL_ACT_RELU6;
    m.inputs[0] = x, m.n_inputs = 1, m.outputs[0] = y, m.n_outputs = 1;
    m.vtables_after = layout == 1, m.external_data = layout == 2, m.legacy_opcodes = layout == 3;
    m.omit_defaults = layout == 4;
    save(&m, name);
}

/* An inverted residual: 1x1 expand (RELU6), 3x3 depthwise (RELU6), 1x1
 * project, ADD of the input (fused into the projection). */
static void residual(void)
{
    static float we[8 * 4], be[8], wd[9 * 8], bd[8], wp[4 * 8], bp[4];
    fill(we, 32, 3), fill(be, 8, 4), fill(wd, 72, 5), fill(bd, 8, 6), fill(wp, 32, 7), fill(bp, 4, 8);
    tfb_model m = {0};
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 4}, "in", NULL, 0);
    int twe = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){8, 1, 1, 4}, "we", we, sizeof we);
    int tbe = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, (int[]){8}, "be", be, sizeof be);
    int twd = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 3, 3, 8}, "wd", wd, sizeof wd);
    int tbd = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, (int[]){8}, "bd", bd, sizeof bd);
    int twp = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){4, 1, 1, 8}, "wp", wp, sizeof wp);
    int tbp = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, (int[]){4}, "bp", bp, sizeof bp);
    int e = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 8}, "e", NULL, 0);
    int d = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 8}, "d", NULL, 0);
    int p = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 4}, "p", NULL, 0);
    int y = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 4}, "out", NULL, 0);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, twe, tbe}, 3, (int[]){e}, 1)->activation = TFL_ACT_RELU6;
    tfb_add_op(&m, TFL_OP_DEPTHWISE_CONV_2D, (int[]){e, twd, tbd}, 3, (int[]){d}, 1)->activation = TFL_ACT_RELU6;
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){d, twp, tbp}, 3, (int[]){p}, 1);
    tfb_add_op(&m, TFL_OP_ADD, (int[]){p, x}, 2, (int[]){y}, 1);
    m.inputs[0] = x, m.n_inputs = 1, m.outputs[0] = y, m.n_outputs = 1;
    save(&m, "residual");
}

/* Two strided heads, reshaped and concatenated, then LOGISTIC; a RELU and
 * an unfused ADD on the way; float16 weights through DEQUANTIZE. */
static void heads(void)
{
    static float wa[4 * 3], wb[4 * 3 * 3 * 3];
    static uint16_t wa16[4 * 3];
    fill(wa, 12, 9), fill(wb, 108, 10);
    for (int i = 0; i < 12; i++)
        wa16[i] = (uint16_t)(0x3800 + (i * 97) % 0x800); /* 0.5 .. 1, exact in float16 */
    tfb_model m = {0};
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 3}, "in", NULL, 0);
    int r = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 3}, "relu", NULL, 0);
    int s = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 3}, "sum", NULL, 0);
    int t16 = tfb_add_tensor(&m, TFL_TYPE_FLOAT16, 4, (int[]){4, 1, 1, 3}, "wa16", wa16, sizeof wa16);
    int twa = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){4, 1, 1, 3}, "wa", NULL, 0);
    int twb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){4, 3, 3, 3}, "wb", wb, sizeof wb);
    int a = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 4}, "a", NULL, 0);
    int b = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 2, 2, 4}, "b", NULL, 0);
    int ra = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, 16, 4}, "ra", NULL, 0);
    int rb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, 4, 4}, "rb", NULL, 0);
    int c = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, 20, 4}, "cat", NULL, 0);
    int y = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, 20, 4}, "out", NULL, 0);
    tfb_add_op(&m, TFL_OP_RELU, (int[]){x}, 1, (int[]){r}, 1);
    tfb_add_op(&m, TFL_OP_ADD, (int[]){x, r}, 2, (int[]){s}, 1)->activation = TFL_ACT_RELU;
    tfb_add_op(&m, TFL_OP_DEQUANTIZE, (int[]){t16}, 1, (int[]){twa}, 1);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){s, twa, -1}, 3, (int[]){a}, 1);
    tfb_op *op = tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){s, twb}, 2, (int[]){b}, 1);
    op->stride_w = op->stride_h = 2;
    tfb_add_op(&m, TFL_OP_RESHAPE, (int[]){a}, 1, (int[]){ra}, 1);
    tfb_add_op(&m, TFL_OP_RESHAPE, (int[]){b}, 1, (int[]){rb}, 1);
    tfb_add_op(&m, TFL_OP_CONCATENATION, (int[]){ra, rb}, 2, (int[]){c}, 1)->axis = 1;
    tfb_add_op(&m, TFL_OP_LOGISTIC, (int[]){c}, 1, (int[]){y}, 1);
    m.inputs[0] = x, m.n_inputs = 1, m.outputs[0] = y, m.n_outputs = 1;
    save(&m, "heads");
}

/* TFLite_Detection_PostProcess over two 1x1 heads (what test_postprocess_model runs). */
static void postprocess(const uint8_t *opts, size_t opts_size)
{
    enum { G = 4, N = G * G, C = 4 };
    static float wb[12], bb[4], wc[12], bc[4], anchors[N * 4];
    fill(wb, 12, 11), fill(bb, 4, 12), fill(wc, 12, 13), fill(bc, 4, 14);
    for (int i = 0; i < N; i++)
        anchors[4 * i] = (i / G + 0.5f) / G, anchors[4 * i + 1] = (i % G + 0.5f) / G,
        anchors[4 * i + 2] = anchors[4 * i + 3] = 0.3f;
    tfb_model m = {0};
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, G, G, 3}, "image", NULL, 0);
    int twb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){4, 1, 1, 3}, "wb", wb, sizeof wb);
    int tbb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, (int[]){4}, "bb", bb, sizeof bb);
    int twc = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){C, 1, 1, 3}, "wc", wc, sizeof wc);
    int tbc = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, (int[]){C}, "bc", bc, sizeof bc);
    int braw = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, G, G, 4}, "braw", NULL, 0);
    int craw = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, G, G, C}, "craw", NULL, 0);
    int boxes = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, N, 4}, "boxes", NULL, 0);
    int logits = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, N, C}, "logits", NULL, 0);
    int scores = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, N, C}, "scores", NULL, 0);
    int ta = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 2, (int[]){N, 4}, "anchors", anchors, sizeof anchors);
    int o1 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, 5, 4}, "detection_boxes", NULL, 0);
    int o2 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 2, (int[]){1, 5}, "detection_classes", NULL, 0);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, twb, tbb}, 3, (int[]){braw}, 1);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, twc, tbc}, 3, (int[]){craw}, 1);
    tfb_add_op(&m, TFL_OP_RESHAPE, (int[]){braw}, 1, (int[]){boxes}, 1)->with_options = 0;
    tfb_add_op(&m, TFL_OP_RESHAPE, (int[]){craw}, 1, (int[]){logits}, 1)->with_options = 0;
    tfb_add_op(&m, TFL_OP_LOGISTIC, (int[]){logits}, 1, (int[]){scores}, 1)->with_options = 0;
    tfb_op *op = tfb_add_op(&m, TFL_OP_CUSTOM, (int[]){boxes, scores, ta}, 3, (int[]){o1, o2}, 2);
    op->with_options = 0;
    op->custom_code = "TFLite_Detection_PostProcess";
    op->custom_options = opts;
    op->custom_options_size = opts_size;
    m.inputs[0] = x, m.n_inputs = 1;
    m.outputs[0] = o1, m.outputs[1] = o2, m.n_outputs = 2;
    save(&m, "postprocess");
}

/* A quantized graph: (float input and QUANTIZE | a uint8 input) -> conv
 * 3x3 RELU6 -> depthwise 3x3 -> ADD -> two reshaped heads, concatenated
 * with requantization -> LOGISTIC -> (DEQUANTIZE | TFLite_Detection_PostProcess
 * with uint8 anchors). int8 weights per channel, or uint8 per tensor. */
static void quantized(int uint8, const uint8_t *opts, size_t opts_size)
{
    enum { N = 16 + 4 };
    static int8_t w[2][8 * 9 * 3], wd[2][9 * 8];
    static int32_t b[8];
    static uint8_t anchors[N * 4];
    static const float ws[8] = {0.01f, 0.02f, 0.005f, 0.01f, 0.03f, 0.01f, 0.02f, 0.01f};
    static const int64_t wz[8] = {0};
    for (int i = 0; i < 8 * 9 * 3; i++)
        w[uint8][i] = (int8_t)((i * 37) % 255 - 127);
    for (int i = 0; i < 9 * 8; i++)
        wd[uint8][i] = (int8_t)((i * 53) % 255 - 127);
    for (int i = 0; i < 8; i++)
        b[i] = i * 100 - 300;
    for (int i = 0; i < N * 4; i++)
        anchors[i] = (uint8_t)(i * 11 % 256);
    const int t8 = uint8 ? TFL_TYPE_UINT8 : TFL_TYPE_INT8, z = uint8 ? 128 : 0;
    tfb_model m = {0};
    int img, x;
    if (uint8) {
        img = x = tfb_add_qtensor(&m, t8, 4, (int[]){1, 4, 4, 3}, "image", NULL, 0, 1.0f / 128, z);
    } else {
        img = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 3}, "image", NULL, 0);
        x = tfb_add_qtensor(&m, t8, 4, (int[]){1, 4, 4, 3}, "image_q", NULL, 0, 1.0f / 128, z);
        tfb_add_op(&m, TFL_OP_QUANTIZE, &img, 1, &x, 1);
    }
    int tw = tfb_add_tensor(&m, t8, 4, (int[]){8, 3, 3, 3}, "w", w[uint8], sizeof w[uint8]);
    int twd = tfb_add_tensor(&m, t8, 4, (int[]){1, 3, 3, 8}, "wd", wd[uint8], sizeof wd[uint8]);
    if (uint8) {
        static const int64_t wzp = 120, wdzp = 131; /* asymmetric, as uint8 weights are */
        tfb_set_quant(&m, tw, ws, &wzp, 1, 0);
        tfb_set_quant(&m, twd, ws + 1, &wdzp, 1, 0);
    } else {
        tfb_set_quant(&m, tw, ws, wz, 8, 0);
        tfb_set_quant(&m, twd, ws, wz, 8, 3);
    }
    int tb = tfb_add_qtensor(&m, TFL_TYPE_INT32, 1, (int[]){8}, "b", b, sizeof b, 1e-4f, 0);
    int c = tfb_add_qtensor(&m, t8, 4, (int[]){1, 4, 4, 8}, "c", NULL, 0, 0.05f, z - 128);
    int d = tfb_add_qtensor(&m, t8, 4, (int[]){1, 4, 4, 8}, "d", NULL, 0, 0.04f, z + 5);
    int s = tfb_add_qtensor(&m, t8, 4, (int[]){1, 4, 4, 8}, "s", NULL, 0, 0.07f, z - 3);
    int ra = tfb_add_qtensor(&m, t8, 3, (int[]){1, 16, 8}, "ra", NULL, 0, 0.07f, z - 3);
    int rb = tfb_add_qtensor(&m, t8, 3, (int[]){1, 4, 8}, "rb", NULL, 0, 0.04f, z + 5);
    int cat = tfb_add_qtensor(&m, t8, 3, (int[]){1, 20, 8}, "cat", NULL, 0, 0.06f, z);
    int rb_src = tfb_add_qtensor(&m, t8, 4, (int[]){1, 2, 2, 8}, "pool", NULL, 0, 0.04f, z + 5);
    int sc = tfb_add_qtensor(&m, t8, 3, (int[]){1, 20, 8}, "scores", NULL, 0, 1.0f / 256, z - 128);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, tw, tb}, 3, &c, 1)->activation = TFL_ACT_RELU6;
    tfb_add_op(&m, TFL_OP_DEPTHWISE_CONV_2D, (int[]){c, twd, -1}, 3, &d, 1);
    tfb_add_op(&m, TFL_OP_ADD, (int[]){c, d}, 2, &s, 1);
    tfb_add_op(&m, TFL_OP_RESHAPE, &s, 1, &ra, 1);
    tfb_op *op = tfb_add_op(&m, TFL_OP_DEPTHWISE_CONV_2D, (int[]){d, twd, tb}, 3, &rb_src, 1);
    op->stride_w = op->stride_h = 2;
    tfb_add_op(&m, TFL_OP_RESHAPE, &rb_src, 1, &rb, 1);
    tfb_add_op(&m, TFL_OP_CONCATENATION, (int[]){ra, rb}, 2, &cat, 1)->axis = 1;
    tfb_add_op(&m, TFL_OP_LOGISTIC, &cat, 1, &sc, 1);
    m.inputs[0] = img, m.n_inputs = 1;
    if (uint8) {
        /* boxes: a 1x1 conv of 5 channels on the 4x4 input, 80 values as 20 boxes */
        static uint8_t wb[5 * 3];
        for (int i = 0; i < 15; i++)
            wb[i] = (uint8_t)(i * 17);
        int twb = tfb_add_qtensor(&m, t8, 4, (int[]){5, 1, 1, 3}, "wb", wb, sizeof wb, 0.01f, 128);
        int braw = tfb_add_qtensor(&m, t8, 4, (int[]){1, 4, 4, 5}, "braw", NULL, 0, 0.05f, z);
        int boxes = tfb_add_qtensor(&m, t8, 3, (int[]){1, N, 4}, "boxes", NULL, 0, 0.05f, z);
        int anc = tfb_add_qtensor(&m, t8, 2, (int[]){N, 4}, "anchors", anchors, sizeof anchors, 0.004f, 0);
        int o1 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, 5, 4}, "detection_boxes", NULL, 0);
        tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, twb}, 2, &braw, 1);
        tfb_add_op(&m, TFL_OP_RESHAPE, &braw, 1, &boxes, 1);
        op = tfb_add_op(&m, TFL_OP_CUSTOM, (int[]){boxes, sc, anc}, 3, &o1, 1);
        op->custom_code = "TFLite_Detection_PostProcess";
        op->custom_options = opts;
        op->custom_options_size = opts_size;
        m.outputs[0] = o1, m.n_outputs = 1;
        save(&m, "quantized_uint8_postprocess");
    } else {
        int y = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, 20, 8}, "out", NULL, 0);
        tfb_add_op(&m, TFL_OP_DEQUANTIZE, &sc, 1, &y, 1);
        m.outputs[0] = y, m.outputs[1] = cat, m.n_outputs = 2;
        save(&m, "quantized_int8");
    }
}

/* Refused: an operator the importer does not take (MUL). */
static void unsupported(void)
{
    tfb_model m = {0};
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 2, 2, 1}, "in", NULL, 0);
    int y = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 2, 2, 1}, "out", NULL, 0);
    tfb_add_op(&m, 18 /* MUL */, (int[]){x, x}, 2, (int[]){y}, 1);
    m.inputs[0] = x, m.n_inputs = 1, m.outputs[0] = y, m.n_outputs = 1;
    save(&m, "unsupported_mul");
}

/* Refused: a conv whose weights are an absent optional input (-1), which
 * the importer once read as tensor -1. */
static void absent_weights(void)
{
    static float b[4];
    tfb_model m = {0};
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 3}, "in", NULL, 0);
    int tb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, (int[]){4}, "b", b, sizeof b);
    int y = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, 4, 4, 4}, "out", NULL, 0);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, -1, tb}, 3, (int[]){y}, 1);
    m.inputs[0] = x, m.n_inputs = 1, m.outputs[0] = y, m.n_outputs = 1;
    save(&m, "regress_conv_absent_weights");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_tflite_seeds DIR FLEXBUF_OPTIONS_FILE\n");
        return 2;
    }
    dir = argv[1];
    uint8_t opts[1024];
    FILE *f = fopen(argv[2], "rb");
    size_t opts_size = f ? fread(opts, 1, sizeof opts, f) : 0;
    if (f)
        fclose(f);
    if (!opts_size) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }
    quantized(0, opts, opts_size);
    quantized(1, opts, opts_size);
    tiny_conv("conv", 0);
    tiny_conv("conv_vtables_after", 1);
    tiny_conv("conv_external_data", 2);
    tiny_conv("conv_legacy_opcodes", 3);
    tiny_conv("conv_omit_defaults", 4);
    residual();
    heads();
    postprocess(opts, opts_size);
    unsupported();
    absent_weights();
    return failures ? 1 : 0;
}
