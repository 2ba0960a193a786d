/*
 * The model's own shapes decide the head: a small SSD built here with a
 * non-square input (40x56), two feature maps (20x28 and 10x14), 3 anchors per
 * cell, 5 classes scored with softmax, and a config file that says only what
 * a TFLite file cannot (2 layers, aspect ratios 1 and 2, softmax). The
 * detector must find the feature maps from the graph, lay the anchors over
 * them, and give exactly what the post-processing gives with the same
 * anchors generated from hand-written sizes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "check.h"
#include "tflite_builder.h"

enum { IH = 40, IW = 56, C0 = 8, A = 3, NC = 5 };
enum { H0 = 20, W0 = 28, H1 = 10, W1 = 14, N = (H0 * W0 + H1 * W1) * A };

static float frand(unsigned *s)
{
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return (float)(*s >> 8) / 8388608.0f - 1.0f;
}

typedef struct weights {
    float s1[C0 * 9 * 3], s2[C0 * 9 * C0], b0[A * 4 * C0], b1[A * 4 * C0], c0[A * NC * C0], c1[A * NC * C0];
} weights;

static void build(const char *path, weights *w)
{
    unsigned s = 5;
    float *all = (float *)w;
    for (size_t i = 0; i < sizeof *w / sizeof(float); i++)
        all[i] = frand(&s) * 0.5f;
    tfb_model m = {0};
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, IH, IW, 3}, "image", NULL, 0);
    int ws1 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){C0, 3, 3, 3}, "s1", w->s1, sizeof w->s1);
    int f0 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, H0, W0, C0}, "fm0", NULL, 0);
    int ws2 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){C0, 3, 3, C0}, "s2", w->s2, sizeof w->s2);
    int f1 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, H1, W1, C0}, "fm1", NULL, 0);
    tfb_op *op = tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, ws1}, 2, (int[]){f0}, 1);
    op->stride_w = op->stride_h = 2, op->activation = TFL_ACT_RELU6;
    op = tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){f0, ws2}, 2, (int[]){f1}, 1);
    op->stride_w = op->stride_h = 2, op->activation = TFL_ACT_RELU6;

    int fm[2] = {f0, f1}, hh[2] = {H0, H1}, ww[2] = {W0, W1};
    const float *bw[2] = {w->b0, w->b1}, *cw[2] = {w->c0, w->c1};
    int box_parts[2], cls_parts[2];
    for (int k = 0; k < 2; k++) {
        static char name_store[2][6][16]; /* must live until tfb_build copies them */
        char (*names)[16] = name_store[k];
        for (int i = 0; i < 6; i++)
            snprintf(names[i], sizeof names[i], "p%d_%d", k, i);
        int tb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){A * 4, 1, 1, C0}, names[0], bw[k], sizeof w->b0);
        int ob = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, hh[k], ww[k], A * 4}, names[1], NULL, 0);
        int rb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, hh[k] * ww[k] * A, 4}, names[2], NULL, 0);
        int tc = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){A * NC, 1, 1, C0}, names[3], cw[k], sizeof w->c0);
        int oc = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, hh[k], ww[k], A * NC}, names[4], NULL, 0);
        int rc = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, hh[k] * ww[k] * A, NC}, names[5], NULL, 0);
        tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){fm[k], tb}, 2, (int[]){ob}, 1);
        tfb_add_op(&m, TFL_OP_RESHAPE, (int[]){ob}, 1, (int[]){rb}, 1)->with_options = 0;
        tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){fm[k], tc}, 2, (int[]){oc}, 1);
        tfb_add_op(&m, TFL_OP_RESHAPE, (int[]){oc}, 1, (int[]){rc}, 1)->with_options = 0;
        box_parts[k] = rb, cls_parts[k] = rc;
    }
    int boxes = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, N, 4}, "boxes", NULL, 0);
    int classes = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, N, NC}, "classes", NULL, 0);
    tfb_add_op(&m, TFL_OP_CONCATENATION, box_parts, 2, (int[]){boxes}, 1)->axis = 1;
    tfb_add_op(&m, TFL_OP_CONCATENATION, cls_parts, 2, (int[]){classes}, 1)->axis = 1;
    m.inputs[0] = x, m.n_inputs = 1;
    m.outputs[0] = boxes, m.outputs[1] = classes, m.n_outputs = 2;
    size_t n;
    uint8_t *b = tfb_build(&m, &n);
    if (!b || tfb_write_file(path, b, n) != 0)
        fprintf(stderr, "cannot write %s\n", path);
    free(b);
}

static void write_config(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fprintf(f, "# found beside the model\nnum_layers = 2\naspect_ratios = 1.0 2.0\nscore_function = softmax\n");
    fclose(f);
}

int main(int argc, char **argv)
{
    /* `test_ssd_shapes write DIR`: the small model and its settings as
     * files, small_ssd.tflite and small_ssd.cfg, for the tests that need a
     * model that runs in microseconds (the vivid VM's repeated camera
     * faults, under software emulation), not one that detects anything. */
    if (argc == 3 && strcmp(argv[1], "write") == 0) {
        char model[4096], cfg[4096];
        snprintf(model, sizeof model, "%s/small_ssd.tflite", argv[2]);
        snprintf(cfg, sizeof cfg, "%s/small_ssd.cfg", argv[2]);
        weights *w = malloc(sizeof *w);
        if (!w)
            return 1;
        build(model, w);
        free(w);
        write_config(cfg);
        return access(model, R_OK) == 0 && access(cfg, R_OK) == 0 ? 0 : 1;
    }
    char dir[] = "/tmp/mnv2det-shapes-XXXXXX";
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    char model[256], cfg[256], bad[256];
    snprintf(model, sizeof model, "%s/small_ssd.tflite", dir);
    snprintf(cfg, sizeof cfg, "%s/small_ssd.cfg", dir);
    snprintf(bad, sizeof bad, "%s/bad.cfg", dir);
    weights *w = malloc(sizeof *w);
    build(model, w);
    write_config(cfg);
    FILE *f = fopen(bad, "w");
    fprintf(f, "num_layers = 2\naspect_ratios = 1 2 0.5 3 0.3333\n");
    fclose(f);

    detector d;
    char err[512];
    detector_paths p = {model, NULL, NULL};
    int rc = detector_open(&d, &p, NULL, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(d.in_h == IH && d.in_w == IW, "input %dx%d", d.in_w, d.in_h);
        CHECK(d.n_anchors == N && d.n_classes == NC, "%d anchors, %d classes", d.n_anchors, d.n_classes);
        CHECK(d.cfg.score == SCORE_SOFTMAX && d.cfg.num_layers == 2, "config beside the model not used");
        /* anchor 0 of cell (y 3, x 5) of the second map: centre (3.5/10, 5.5/14) */
        const anchor *a = &d.anchors[H0 * W0 * A + (3 * W1 + 5) * A];
        CHECK(fabsf(a->cy - 3.5f / H1) < 1e-6f && fabsf(a->cx - 5.5f / W1) < 1e-6f, "anchor centre %g %g",
              a->cy, a->cx);

        /* the same anchors from hand-written feature map sizes */
        static anchor want_anchors[N];
        int got = anchors_generate(&d.cfg, (int[]){H0, H1}, (int[]){W0, W1}, 2, want_anchors, N, err, sizeof err);
        CHECK(got == N && memcmp(want_anchors, d.anchors, sizeof want_anchors) == 0, "anchors differ (%d)", got);

        uint8_t *rgb = malloc(IW * IH * 3);
        for (int i = 0; i < IW * IH * 3; i++)
            rgb[i] = (uint8_t)(i * 131 % 251);
        frame fr = {0};
        mnv_image_pack(&fr.img, MNV_PIX_RGB24, IW, IH, rgb);
        d.cfg.score_threshold = 0.3f;
        detection dets[SSD_MAX_DETECTIONS], want[SSD_MAX_DETECTIONS];
        static detection scratch[N];
        int n = detector_run(&d, &fr, dets, SSD_MAX_DETECTIONS, NULL);
        int nw = ssd_postprocess(&d.cfg, want_anchors, N, net_output_data(d.net, d.box_output),
                                 net_output_data(d.net, d.class_output), NC, scratch, want, SSD_MAX_DETECTIONS);
        CHECK(n == nw && n > 0, "%d detections, by hand %d", n, nw);
        CHECK(memcmp(dets, want, (size_t)(n < nw ? n : nw) * sizeof *dets) == 0, "detections differ");
        free(rgb);
        detector_close(&d);
    }

    /* a config whose anchors per cell do not fit the predictors */
    p.config = bad;
    rc = detector_open(&d, &p, NULL, err, sizeof err);
    char want[1200];
    snprintf(want, sizeof want, "feature map 1 has 3 anchors per cell but %s gives 6", bad);
    CHECK(rc != 0 && strstr(err, want), "mismatch: rc %d '%s'", rc, err);

    free(w);
    unlink(model), unlink(cfg), unlink(bad), rmdir(dir);
    return check_finish("ssd shapes");
}
