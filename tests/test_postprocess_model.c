/*
 * A model ending in TFLite_Detection_PostProcess, built here: its anchors and
 * options (a FlexBuffer written by the reference implementation,
 * tests/data/flexbuf_small_model.bin) must drive decoding, with no config
 * file. The detector's result is compared with ssd_postprocess run by hand
 * on the raw outputs with the settings spelled out below.
 *
 * Graph: input 1x4x4x3 -> conv 1x1 (4 ch) -> reshape [1,16,4] = boxes
 *                      -> conv 1x1 (4 ch) -> reshape [1,16,4] -> LOGISTIC = scores
 *        TFLite_Detection_PostProcess(boxes, scores, anchors [16,4])
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "check.h"
#include "tflite_builder.h"

enum { G = 4, N = G * G, C = 4 };

typedef struct model_parts {
    float wb[4 * 3], bb[4], wc[C * 3], bc[C], anchors[N * 4];
} model_parts;

static void make_parts(model_parts *p)
{
    unsigned s = 99;
    for (int i = 0; i < 12; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        p->wb[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 0.4f;
        p->wc[i] = ((float)(s >> 4 & 0xffff) / 65536.0f - 0.5f) * 4.0f;
    }
    for (int i = 0; i < 4; i++)
        p->bb[i] = 0.0f, p->bc[i] = i == 0 ? -1.0f : 0.5f * (float)i;
    for (int y = 0; y < G; y++)
        for (int x = 0; x < G; x++) {
            float *a = p->anchors + 4 * (y * G + x);
            a[0] = (y + 0.5f) / G, a[1] = (x + 0.5f) / G, a[2] = 0.3f + 0.05f * x, a[3] = 0.3f + 0.05f * y;
        }
}

static const char *write_model(const char *dir, const model_parts *p, const uint8_t *opts, size_t opts_size,
                               int anchor_rows)
{
    static char path[512];
    tfb_model m = {0};
    int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, G, G, 3}, "image", NULL, 0);
    int wb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){4, 1, 1, 3}, "wb", p->wb, sizeof p->wb);
    int bb = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, (int[]){4}, "bb", p->bb, sizeof p->bb);
    int wc = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){C, 1, 1, 3}, "wc", p->wc, sizeof p->wc);
    int bc = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, (int[]){C}, "bc", p->bc, sizeof p->bc);
    int braw = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, G, G, 4}, "braw", NULL, 0);
    int craw = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, G, G, C}, "craw", NULL, 0);
    int boxes = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, N, 4}, "boxes", NULL, 0);
    int logits = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, N, C}, "logits", NULL, 0);
    int scores = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, N, C}, "scores", NULL, 0);
    int anchors = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 2, (int[]){anchor_rows, 4}, "anchors", p->anchors,
                                 (size_t)anchor_rows * 4 * sizeof(float));
    int o1 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 3, (int[]){1, 5, 4}, "detection_boxes", NULL, 0);
    int o2 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 2, (int[]){1, 5}, "detection_classes", NULL, 0);
    int o3 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 2, (int[]){1, 5}, "detection_scores", NULL, 0);
    int o4 = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 1, (int[]){1}, "num_detections", NULL, 0);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, wb, bb}, 3, (int[]){braw}, 1);
    tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, wc, bc}, 3, (int[]){craw}, 1);
    tfb_add_op(&m, TFL_OP_RESHAPE, (int[]){braw}, 1, (int[]){boxes}, 1)->with_options = 0;
    tfb_add_op(&m, TFL_OP_RESHAPE, (int[]){craw}, 1, (int[]){logits}, 1)->with_options = 0;
    tfb_add_op(&m, TFL_OP_LOGISTIC, (int[]){logits}, 1, (int[]){scores}, 1)->with_options = 0;
    tfb_op *op = tfb_add_op(&m, TFL_OP_CUSTOM, (int[]){boxes, scores, anchors}, 3, (int[]){o1, o2, o3, o4}, 4);
    op->with_options = 0;
    op->custom_code = "TFLite_Detection_PostProcess";
    op->custom_options = opts;
    op->custom_options_size = opts_size;
    m.inputs[0] = x, m.n_inputs = 1;
    m.outputs[0] = o1, m.outputs[1] = o2, m.outputs[2] = o3, m.outputs[3] = o4, m.n_outputs = 4;
    size_t n;
    uint8_t *b = tfb_build(&m, &n);
    snprintf(path, sizeof path, "%s/postprocess.tflite", dir);
    if (!b || tfb_write_file(path, b, n) != 0)
        fprintf(stderr, "cannot write %s\n", path);
    free(b);
    return path;
}

int main(void)
{
    const char *data = test_env("MNV2DET_TEST_DATA");
    char dir[] = "/tmp/mnv2det-pp-XXXXXX";
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    char path[1024];
    snprintf(path, sizeof path, "%s/flexbuf_small_model.bin", data);
    uint8_t opts[1024];
    FILE *f = fopen(path, "rb");
    size_t opts_size = f ? fread(opts, 1, sizeof opts, f) : 0;
    if (f)
        fclose(f);
    CHECK(opts_size > 0, "cannot read %s", path);

    model_parts p;
    make_parts(&p);
    const char *model = write_model(dir, &p, opts, opts_size, N);
    detector d;
    char err[512];
    detector_paths paths = {model, NULL, NULL};
    int rc = detector_open(&d, &paths, NULL, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        /* settings from the operator, not from any config */
        CHECK(d.n_anchors == N, "%d anchors", d.n_anchors);
        int same = 1;
        for (int i = 0; i < N; i++)
            same &= d.anchors[i].cy == p.anchors[4 * i] && d.anchors[i].cx == p.anchors[4 * i + 1] &&
                    d.anchors[i].h == p.anchors[4 * i + 2] && d.anchors[i].w == p.anchors[4 * i + 3];
        CHECK(same, "anchors differ from the model's");
        CHECK(d.cfg.box_scales[0] == 10 && d.cfg.box_scales[2] == 5, "box scales from the options");
        CHECK(fabsf(d.cfg.nms_iou - 0.45f) < 1e-6f && d.cfg.max_detections == 5, "NMS settings from the options");
        CHECK(d.cfg.score == SCORE_IDENTITY, "the model's LOGISTIC already made scores");
        CHECK(d.cfg.background_class == 1 && d.n_classes == C, "background: 4 scores for 3 classes");
        d.cfg.score_threshold = 0.3f;

        /* an image whose pixels vary, so that boxes and scores differ */
        uint8_t rgb[G * G * 3];
        for (int i = 0; i < G * G * 3; i++)
            rgb[i] = (uint8_t)(i * 37 % 256);
        frame fr = {0};
        mnv_image_pack(&fr.img, MNV_PIX_RGB24, G, G, rgb);
        detection got[16], want[16], scratch[N];
        int n = detector_run(&d, &fr, got, 16, NULL);

        /* by hand: the same raw outputs, settings written out explicitly */
        ssd_config c;
        ssd_config_defaults(&c);
        c.score = SCORE_IDENTITY;
        c.box_scales[0] = 10, c.box_scales[1] = 10, c.box_scales[2] = 5, c.box_scales[3] = 5;
        c.nms_iou = 0.45f, c.max_detections = 5, c.score_threshold = 0.3f;
        anchor an[N];
        for (int i = 0; i < N; i++)
            an[i] = (anchor){p.anchors[4 * i], p.anchors[4 * i + 1], p.anchors[4 * i + 2], p.anchors[4 * i + 3]};
        int nw = ssd_postprocess(&c, an, N, net_output_data(d.net, d.box_output),
                                 net_output_data(d.net, d.class_output), C, scratch, want, 16);
        CHECK(n == nw && n > 0, "%d detections, by hand %d", n, nw);
        for (int i = 0; i < n && i < nw; i++)
            CHECK(got[i].class_id == want[i].class_id && got[i].score == want[i].score &&
                  got[i].bbox.ymin == want[i].bbox.ymin && got[i].bbox.xmax == want[i].bbox.xmax,
                  "detection %d differs", i);
        /* the scores are probabilities: the graph's own sigmoid of the logits */
        for (int i = 0; i < n; i++)
            CHECK(got[i].score > 0.3f && got[i].score < 1.0f, "score %g", got[i].score);
        detector_close(&d);
    }

    /* no options, or anchors of the wrong shape: clear errors */
    model = write_model(dir, &p, NULL, 0, N);
    rc = detector_open(&d, &paths, NULL, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "TFLite_Detection_PostProcess") && strstr(err, "max_detections"),
          "no options: rc %d '%s'", rc, err);
    model = write_model(dir, &p, opts, opts_size, N - 1);
    rc = detector_open(&d, &paths, NULL, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "anchors"), "wrong anchors: rc %d '%s'", rc, err);

    /* a model of another shape: one plain convolution output */
    {
        tfb_model m = {0};
        int x = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, G, G, 3}, "image", NULL, 0);
        int w = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){4, 1, 1, 3}, "w", p.wb, sizeof p.wb);
        int y = tfb_add_tensor(&m, TFL_TYPE_FLOAT32, 4, (int[]){1, G, G, 4}, "y", NULL, 0);
        tfb_add_op(&m, TFL_OP_CONV_2D, (int[]){x, w}, 2, (int[]){y}, 1);
        m.inputs[0] = x, m.n_inputs = 1, m.outputs[0] = y, m.n_outputs = 1;
        size_t n;
        uint8_t *b = tfb_build(&m, &n);
        CHECK(b && tfb_write_file(model, b, n) == 0, "write");
        free(b);
        rc = detector_open(&d, &paths, NULL, err, sizeof err);
        CHECK(rc == MNV_EUNSUPPORTED && strstr(err, "not an SSD model"), "plain conv model: rc %d '%s'", rc, err);
    }

    unlink(model);
    rmdir(dir);
    return check_finish("detection post-process model");
}
