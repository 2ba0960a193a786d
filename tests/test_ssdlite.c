/*
 * ssdlite/: anchors against the committed golden anchors, the box coder,
 * IoU and NMS on hand-worked boxes, scores on hand-made logits, the whole
 * post-processing against the reference detections of the golden images,
 * the config file and the label map.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ssdlite/ssdlite.h"

#define N_ANCHORS 1917
#define N_CLASSES 24

static const int fm_default[6] = {19, 10, 5, 3, 2, 1};

/* A whole file into memory, NUL-terminated; NULL if it cannot be read. */
static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1)
            break;
        char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *size = n;
    }
    return buf;
}

/* count little-endian float32 values from path into out; 0 on success. */
static int read_f32(const char *path, float *out, size_t count)
{
    size_t size = 0;
    char *raw = slurp(path, &size);
    if (!raw || size != count * 4) {
        free(raw);
        return -1;
    }
    const unsigned char *b = (const unsigned char *)raw;
    for (size_t i = 0; i < count; i++) {
        uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
                     (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
        memcpy(&out[i], &u, 4);
    }
    free(raw);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* ------------------------------------------------------------------------ */
/* Anchors                                                                   */
/* ------------------------------------------------------------------------ */

static void test_anchors_golden(const char *data)
{
    ssd_config c;
    ssd_config_defaults(&c);
    static anchor got[N_ANCHORS + 10];
    static float want[N_ANCHORS * 4];
    char err[256] = "", path[1024];
    int n = anchors_generate(&c, fm_default, fm_default, 6, got, N_ANCHORS + 10, err, sizeof err);
    CHECK(n == N_ANCHORS, "default anchors: got %d (%s)", n, err);

    snprintf(path, sizeof path, "%s/anchors.f32", data);
    if (read_f32(path, want, N_ANCHORS * 4) != 0) {
        CHECK(0, "cannot read %s as %d float32", path, N_ANCHORS * 4);
        return;
    }
    int bad = 0, first_bad = -1;
    for (int i = 0; i < N_ANCHORS && n == N_ANCHORS; i++) {
        const float *w = &want[4 * i];
        if (fabsf(got[i].cy - w[0]) > 1e-6f || fabsf(got[i].cx - w[1]) > 1e-6f ||
            fabsf(got[i].h - w[2]) > 1e-6f || fabsf(got[i].w - w[3]) > 1e-6f) {
            if (first_bad < 0)
                first_bad = i;
            bad++;
        }
    }
    CHECK(bad == 0, "%d anchors differ from anchors.f32 by more than 1e-6, first #%d", bad, first_bad);

    /* exactly enough room is enough */
    n = anchors_generate(&c, fm_default, fm_default, 6, got, N_ANCHORS, err, sizeof err);
    CHECK(n == N_ANCHORS, "room for exactly 1917: got %d (%s)", n, err);
}

static void test_anchors_layout(void)
{
    ssd_config c;
    ssd_config_defaults(&c);
    /* lowest layer reduced to 3; others 5 ratios + 1 interpolated */
    CHECK(anchors_per_cell(&c, 0) == 3, "layer 0: %d", anchors_per_cell(&c, 0));
    CHECK(anchors_per_cell(&c, 1) == 6, "layer 1: %d", anchors_per_cell(&c, 1));
    CHECK(anchors_per_cell(&c, 5) == 6, "layer 5: %d", anchors_per_cell(&c, 5));
    CHECK(anchors_per_cell(&c, 6) == 0, "layer past the last: %d", anchors_per_cell(&c, 6));
    c.reduce_boxes_in_lowest_layer = 0;
    CHECK(anchors_per_cell(&c, 0) == 6, "layer 0 not reduced: %d", anchors_per_cell(&c, 0));
    c.interpolated_scale_aspect_ratio = 0;
    CHECK(anchors_per_cell(&c, 2) == 5, "no interpolated anchor: %d", anchors_per_cell(&c, 2));

    /* Two layers, min 0.2, max 0.8: s0 = 0.2, s1 = 0.8, s2 = 1.0. Ratios 1
     * and 4 plus an interpolated one: 3 per cell. Layer 0 is 2 high and 3
     * wide (6 cells, 18 anchors), layer 1 is 1x1 (3 anchors): 21. */
    ssd_config_defaults(&c);
    c.num_layers = 2;
    c.min_scale = 0.2f;
    c.max_scale = 0.8f;
    c.n_aspect_ratios = 2;
    c.aspect_ratios[0] = 1.0f;
    c.aspect_ratios[1] = 4.0f;
    c.reduce_boxes_in_lowest_layer = 0;
    int fh[2] = {2, 1}, fw[2] = {3, 1};
    anchor a[32];
    char err[256] = "";
    int n = anchors_generate(&c, fh, fw, 2, a, 32, err, sizeof err);
    CHECK(n == 21, "2 layers: %d anchors (%s)", n, err);
    if (n == 21) {
        /* cell y=1, x=2 of layer 0 is cell 5: anchors 15..17, centre
         * (1.5/2, 2.5/3) = (0.75, 0.8333). Ratio 1: 0.2 x 0.2; ratio 4:
         * h = 0.2/2 = 0.1, w = 0.2*2 = 0.4; interpolated sqrt(0.2*0.8) = 0.4. */
        CHECK(fabsf(a[15].cy - 0.75f) < 1e-6f && fabsf(a[15].cx - 2.5f / 3) < 1e-6f,
              "centre of cell (1,2): %g %g", a[15].cy, a[15].cx);
        CHECK(fabsf(a[15].h - 0.2f) < 1e-6f && fabsf(a[15].w - 0.2f) < 1e-6f, "ratio 1");
        CHECK(fabsf(a[16].h - 0.1f) < 1e-6f && fabsf(a[16].w - 0.4f) < 1e-6f, "ratio 4: %g %g",
              a[16].h, a[16].w);
        CHECK(fabsf(a[17].h - 0.4f) < 1e-6f && fabsf(a[17].w - 0.4f) < 1e-6f, "interpolated: %g",
              a[17].h);
        /* cell (0,1) of layer 0: anchor 3, centre (0.25, 0.5): x moves fastest */
        CHECK(fabsf(a[3].cy - 0.25f) < 1e-6f && fabsf(a[3].cx - 0.5f) < 1e-6f, "order y, x, anchor");
        /* layer 1 (anchors 18..20): centre 0.5; 0.8; h 0.4 w 1.6; the
         * interpolated partner of the last layer is 1.0: sqrt(0.8) */
        CHECK(fabsf(a[18].cy - 0.5f) < 1e-6f && fabsf(a[18].h - 0.8f) < 1e-6f, "layer 1 ratio 1");
        CHECK(fabsf(a[19].h - 0.4f) < 1e-6f && fabsf(a[19].w - 1.6f) < 1e-6f, "layer 1 ratio 4");
        CHECK(fabsf(a[20].h - sqrtf(0.8f)) < 1e-6f, "layer 1 interpolated: %g", a[20].h);
    }
    err[0] = '\0';
    n = anchors_generate(&c, fh, fw, 2, a, 20, err, sizeof err);
    CHECK(n < 0 && err[0], "room for 20 of 21 anchors: %d", n);
    err[0] = '\0';
    n = anchors_generate(&c, fh, fw, 1, a, 32, err, sizeof err);
    CHECK(n == MNV_EINVAL && strstr(err, "num_layers"), "1 map for 2 layers: %d '%s'", n, err);
    err[0] = '\0';
    fh[1] = 0;
    n = anchors_generate(&c, fh, fw, 2, a, 32, err, sizeof err);
    CHECK(n < 0 && err[0], "empty feature map: %d", n);

    /* One layer: TF has no formula; the midpoint of 0.2 and 0.6 is 0.4. */
    ssd_config_defaults(&c);
    c.num_layers = 1;
    c.min_scale = 0.2f;
    c.max_scale = 0.6f;
    c.n_aspect_ratios = 1;
    c.aspect_ratios[0] = 1.0f;
    c.interpolated_scale_aspect_ratio = 0;
    c.reduce_boxes_in_lowest_layer = 0;
    int one = 2;
    n = anchors_generate(&c, &one, &one, 1, a, 32, err, sizeof err);
    CHECK(n == 4 && fabsf(a[0].h - 0.4f) < 1e-6f && fabsf(a[3].cx - 0.75f) < 1e-6f,
          "one layer: %d anchors, h %g", n, n > 0 ? a[0].h : 0);
}

/* ------------------------------------------------------------------------ */
/* Box coder, IoU, NMS                                                       */
/* ------------------------------------------------------------------------ */

static int box_near(box b, float ymin, float xmin, float ymax, float xmax, float tol)
{
    return fabsf(b.ymin - ymin) <= tol && fabsf(b.xmin - xmin) <= tol &&
           fabsf(b.ymax - ymax) <= tol && fabsf(b.xmax - xmax) <= tol;
}

static void test_box_decode(void)
{
    const float scales[4] = {10, 10, 5, 5};
    const anchor a = {0.5f, 0.5f, 0.2f, 0.4f};
    box b;
    /* zero encoding: the anchor itself, 0.5 -/+ 0.1 and 0.5 -/+ 0.2 */
    b = box_decode((const float[4]){0, 0, 0, 0}, &a, scales);
    CHECK(box_near(b, 0.4f, 0.3f, 0.6f, 0.7f, 1e-6f), "zero: %g %g %g %g", b.ymin, b.xmin, b.ymax, b.xmax);
    /* ty = 10: 10/10 = 1 anchor height (0.2) down: centre 0.7 */
    b = box_decode((const float[4]){10, 0, 0, 0}, &a, scales);
    CHECK(box_near(b, 0.6f, 0.3f, 0.8f, 0.7f, 1e-6f), "ty=10: %g %g %g %g", b.ymin, b.xmin, b.ymax, b.xmax);
    /* tx = -10: one anchor width (0.4) left: centre 0.1, xmin -0.1 (no clipping) */
    b = box_decode((const float[4]){0, -10, 0, 0}, &a, scales);
    CHECK(box_near(b, 0.4f, -0.1f, 0.6f, 0.3f, 1e-6f), "tx=-10: %g %g %g %g", b.ymin, b.xmin, b.ymax, b.xmax);
    /* th = 5 ln 2: height doubles to 0.4; tw = -5 ln 2: width halves to 0.2 */
    float l2 = 5 * logf(2);
    b = box_decode((const float[4]){0, 0, l2, -l2}, &a, scales);
    CHECK(box_near(b, 0.3f, 0.4f, 0.7f, 0.6f, 1e-6f), "th, tw: %g %g %g %g", b.ymin, b.xmin, b.ymax, b.xmax);
    /* each scale divides its own encoding, scales (1, 2, 4, 8):
     * ty 1/1 = 1 height down: cy 0.7; tx 2/2 = 1 width right: cx 0.9;
     * th (4 ln 2)/4: h 0.4; tw (-8 ln 2)/8: w 0.2 */
    b = box_decode((const float[4]){1, 2, 4 * logf(2), -8 * logf(2)}, &a, (const float[4]){1, 2, 4, 8});
    CHECK(box_near(b, 0.5f, 0.8f, 0.9f, 1.0f, 1e-6f), "scales 1 2 4 8: %g %g %g %g", b.ymin, b.xmin,
          b.ymax, b.xmax);
}

static void test_box_iou(void)
{
    box unit = {0, 0, 1, 1};
    box far = {2, 2, 3, 3}, touching = {0, 1, 1, 2};
    box wide1 = {0, 0, 1, 2}, wide2 = {0, 1, 1, 3};
    box quarter = {0, 0, 0.5f, 0.5f}, empty = {0.5f, 0.5f, 0.5f, 0.5f}, inverted = {1, 1, 0, 0};
    CHECK(box_iou(&unit, &far) == 0.0f, "disjoint: %g", box_iou(&unit, &far));
    CHECK(box_iou(&unit, &touching) == 0.0f, "sharing an edge: %g", box_iou(&unit, &touching));
    CHECK(box_iou(&unit, &unit) == 1.0f, "identical: %g", box_iou(&unit, &unit));
    /* inter 1x1 = 1, union 2 + 2 - 1 = 3 */
    CHECK(fabsf(box_iou(&wide1, &wide2) - 1.0f / 3) < 1e-7f, "half overlap: %g", box_iou(&wide1, &wide2));
    CHECK(box_iou(&wide1, &wide2) == box_iou(&wide2, &wide1), "symmetric");
    /* contained: 0.25 / 1 */
    CHECK(box_iou(&unit, &quarter) == 0.25f, "contained: %g", box_iou(&unit, &quarter));
    CHECK(box_iou(&empty, &empty) == 0.0f, "empty union: %g", box_iou(&empty, &empty));
    CHECK(box_iou(&unit, &empty) == 0.0f, "empty box: %g", box_iou(&unit, &empty));
    CHECK(box_iou(&unit, &inverted) == 0.0f, "inverted box: %g", box_iou(&unit, &inverted));
}

static detection det(int class_id, float score, float ymin, float xmin, float ymax, float xmax)
{
    return (detection){class_id, score, {ymin, xmin, ymax, xmax}};
}

static void test_nms(void)
{
    detection d[6];
    /* B overlaps A by 0.9 (inter 0.9, union 1): suppressed; C is elsewhere */
    d[0] = det(1, 0.9f, 0, 0, 1, 1);
    d[1] = det(1, 0.8f, 0, 0, 1, 0.9f);
    d[2] = det(1, 0.7f, 2, 2, 3, 3);
    int n = nms_greedy(d, 3, 0.5f, 0, 10);
    CHECK(n == 2 && d[0].score == 0.9f && d[1].score == 0.7f, "overlapping pair: %d kept", n);

    /* IoU exactly 0.5 (inter 0.5, union 1) is not "more than" 0.5: kept */
    d[0] = det(1, 0.9f, 0, 0, 1, 1);
    d[1] = det(1, 0.8f, 0, 0, 1, 0.5f);
    n = nms_greedy(d, 2, 0.5f, 0, 10);
    CHECK(n == 2, "IoU at the threshold: %d kept", n);
    n = nms_greedy(d, 2, 0.49f, 0, 10);
    CHECK(n == 1, "IoU above the threshold: %d kept", n);

    /* A chain: B overlaps A and C, A and C are disjoint. B goes, so C has
     * nothing kept to overlap and stays. */
    d[0] = det(1, 0.9f, 0, 0, 1, 1);
    d[1] = det(1, 0.8f, 0, 0.2f, 1, 1.2f);
    d[2] = det(1, 0.7f, 0, 1.1f, 1, 2.1f);
    n = nms_greedy(d, 3, 0.5f, 0, 10);
    CHECK(n == 2 && d[1].score == 0.7f, "chain: %d kept", n);

    /* different classes: class-agnostic suppresses, per-class keeps;
     * per-class still suppresses within a class */
    d[0] = det(1, 0.9f, 0, 0, 1, 1);
    d[1] = det(2, 0.8f, 0, 0, 1, 1);
    d[2] = det(1, 0.7f, 0, 0, 1, 1);
    n = nms_greedy(d, 3, 0.5f, 0, 10);
    CHECK(n == 1 && d[0].class_id == 1, "class-agnostic: %d kept", n);
    d[0] = det(1, 0.9f, 0, 0, 1, 1);
    d[1] = det(2, 0.8f, 0, 0, 1, 1);
    d[2] = det(1, 0.7f, 0, 0, 1, 1);
    n = nms_greedy(d, 3, 0.5f, 1, 10);
    CHECK(n == 2 && d[0].class_id == 1 && d[1].class_id == 2, "per-class: %d kept", n);

    /* max_keep caps: five disjoint boxes, keep the first three */
    for (int i = 0; i < 5; i++)
        d[i] = det(i, 1.0f - 0.1f * (float)i, 2.0f * (float)i, 0, 2.0f * (float)i + 1, 1);
    n = nms_greedy(d, 5, 0.5f, 0, 3);
    CHECK(n == 3 && d[0].class_id == 0 && d[2].class_id == 2, "max_keep 3: %d kept", n);
    CHECK(nms_greedy(d, 5, 0.5f, 0, 0) == 0, "max_keep 0");
    CHECK(nms_greedy(d, 0, 0.5f, 0, 10) == 0, "no input");
}

/* ------------------------------------------------------------------------ */
/* Scores and the whole post-processing on hand-made inputs                  */
/* ------------------------------------------------------------------------ */

/* Three anchors far apart (0.1 x 0.1 boxes centred at y = 0.1, 0.5, 0.9),
 * zero encodings, so each detection's box is its anchor's and tells which
 * anchor it came from. */
static const anchor three[3] = {
    {0.1f, 0.5f, 0.1f, 0.1f}, {0.5f, 0.5f, 0.1f, 0.1f}, {0.9f, 0.5f, 0.1f, 0.1f}};
static const float zero_enc[3 * 4] = {0};

static int from_anchor(const detection *d, int a)
{
    return fabsf((d->bbox.ymin + d->bbox.ymax) / 2 - three[a].cy) < 1e-6f;
}

static void test_scores_sigmoid(void)
{
    ssd_config c;
    ssd_config_defaults(&c);
    detection scratch[3], out[3];
    /* anchor 0: background 5, class 2 has ln 3: sigmoid(ln 3) = 3/4.
     * anchor 1: sigmoid(-10) < 0.5: dropped.
     * anchor 2: class 1 has logit 0, sigmoid exactly 0.5, kept because the
     * threshold test is ">=". */
    const float logits[3 * 3] = {5, 0, logf(3), 0, -10, -10, 0, 0, -1};
    int n = ssd_postprocess(&c, three, 3, zero_enc, logits, 3, scratch, out, 3);
    CHECK(n == 2, "sigmoid with background: %d detections", n);
    if (n == 2) {
        CHECK(out[0].class_id == 2 && fabsf(out[0].score - 0.75f) < 1e-6f && from_anchor(&out[0], 0),
              "first: class %d score %g", out[0].class_id, out[0].score);
        CHECK(out[1].class_id == 1 && out[1].score == 0.5f && from_anchor(&out[1], 2),
              "second: class %d score %g", out[1].class_id, out[1].score);
        CHECK(box_near(out[0].bbox, 0.05f, 0.45f, 0.15f, 0.55f, 1e-6f), "decoded box of anchor 0");
    }

    /* Without a background class, class 0 competes: anchor 0 sigmoid(5)
     * = 0.99331, anchors 1 and 2 both exactly 0.5 from class 0, so the tie
     * keeps anchor order. */
    c.background_class = 0;
    n = ssd_postprocess(&c, three, 3, zero_enc, logits, 3, scratch, out, 3);
    CHECK(n == 3, "sigmoid, no background: %d detections", n);
    if (n == 3) {
        CHECK(out[0].class_id == 0 && fabsf(out[0].score - 0.9933071f) < 1e-6f, "class 0 reported");
        CHECK(from_anchor(&out[0], 0) && from_anchor(&out[1], 1) && from_anchor(&out[2], 2),
              "equal scores keep anchor order");
    }
    /* caps: max_out and max_detections */
    n = ssd_postprocess(&c, three, 3, zero_enc, logits, 3, scratch, out, 2);
    CHECK(n == 2, "max_out 2: %d", n);
    c.max_detections = 1;
    n = ssd_postprocess(&c, three, 3, zero_enc, logits, 3, scratch, out, 3);
    CHECK(n == 1 && from_anchor(&out[0], 0), "max_detections 1: %d", n);

    /* Logits one float step apart: their sigmoids differ by about 2e-8,
     * less than half a float step near 0.73, yet the larger must still come
     * first, as it does with the reference's double scores. */
    c.background_class = 1;
    c.max_detections = 100;
    const float close[3 * 3] = {0, 1.0f, -5, 0, nextafterf(1.0f, 2.0f), -5, 0, -5, -5};
    n = ssd_postprocess(&c, three, 3, zero_enc, close, 3, scratch, out, 3);
    CHECK(n == 2 && from_anchor(&out[0], 1) && from_anchor(&out[1], 0),
          "scores equal as floats sort by their double values: %d", n);

    /* a background-only model has nothing to report */
    c.background_class = 1;
    n = ssd_postprocess(&c, three, 3, zero_enc, logits, 1, scratch, out, 3);
    CHECK(n == 0, "one class that is background: %d", n);
}

static void test_scores_softmax(void)
{
    ssd_config c;
    ssd_config_defaults(&c);
    c.score = SCORE_SOFTMAX;
    c.score_threshold = 0.05f;
    detection scratch[3], out[3];
    /* anchor 0: exp = 1, 6, 3 over 10: class 1 at 0.6.
     * anchor 1: exp = 1, 8, 1 over 10 but shifted by 1000, which overflows
     *   exp unless the largest logit is subtracted first: class 1 at 0.8.
     * anchor 2: exp = 8, 1, 1: the background wins but is not reported; class 1
     *   (the first of the tie) at 0.1 = 1/10, as the denominator includes the
     *   background (over the other classes only it would be 1/2). */
    const float logits[3 * 3] = {0, logf(6), logf(3), 1000, 1000 + logf(8), 1000,
                                 logf(8), 0, 0};
    int n = ssd_postprocess(&c, three, 3, zero_enc, logits, 3, scratch, out, 3);
    CHECK(n == 3, "softmax: %d detections", n);
    if (n == 3) {
        CHECK(from_anchor(&out[0], 1) && out[0].class_id == 1 && fabsf(out[0].score - 0.8f) < 1e-4f,
              "shifted logits: class %d score %g", out[0].class_id, out[0].score);
        CHECK(from_anchor(&out[1], 0) && out[1].class_id == 1 && fabsf(out[1].score - 0.6f) < 1e-6f,
              "class %d score %g", out[1].class_id, out[1].score);
        CHECK(from_anchor(&out[2], 2) && out[2].class_id == 1 && fabsf(out[2].score - 0.1f) < 1e-6f,
              "background in the denominator: class %d score %g", out[2].class_id, out[2].score);
    }
}

static void test_scores_identity(void)
{
    ssd_config c;
    ssd_config_defaults(&c);
    c.score = SCORE_IDENTITY;
    detection scratch[3], out[3];
    /* probabilities as given: anchor 0's best foreground is 0.05 (dropped),
     * anchor 1 class 2 at 0.7, anchor 2 class 2 at 0.6 */
    const float probs[3 * 3] = {0.9f, 0.05f, 0.05f, 0.1f, 0.2f, 0.7f, 0.0f, 0.4f, 0.6f};
    int n = ssd_postprocess(&c, three, 3, zero_enc, probs, 3, scratch, out, 3);
    CHECK(n == 2, "identity: %d detections", n);
    if (n == 2) {
        CHECK(out[0].class_id == 2 && out[0].score == 0.7f && from_anchor(&out[0], 1), "first");
        CHECK(out[1].class_id == 2 && out[1].score == 0.6f && from_anchor(&out[1], 2), "second");
    }
}

static void test_postprocess_nms(void)
{
    /* two anchors on the same spot: the better one suppresses the other
     * unless they differ in class and NMS is per class */
    const anchor same[2] = {{0.5f, 0.5f, 0.2f, 0.2f}, {0.5f, 0.5f, 0.2f, 0.2f}};
    const float enc[8] = {0};
    const float logits[2 * 3] = {0, 3, 0, 0, 0, 2};
    ssd_config c;
    ssd_config_defaults(&c);
    detection scratch[2], out[2];
    int n = ssd_postprocess(&c, same, 2, enc, logits, 3, scratch, out, 2);
    CHECK(n == 1 && out[0].class_id == 1, "class-agnostic: %d", n);
    c.per_class_nms = 1;
    n = ssd_postprocess(&c, same, 2, enc, logits, 3, scratch, out, 2);
    CHECK(n == 2 && out[0].class_id == 1 && out[1].class_id == 2, "per class: %d", n);
}

/* ------------------------------------------------------------------------ */
/* Golden images                                                             */
/* ------------------------------------------------------------------------ */

typedef struct ref_det { int class_id; double score, ymin, xmin, ymax, xmax; } ref_det;

/* The number that follows "key": after *pos; advances *pos. */
static int json_number(const char **pos, const char *key, double *out)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(*pos, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    char *end;
    *out = strtod(p, &end);
    if (end == p)
        return -1;
    *pos = end;
    return 0;
}

/* The detections of a NAME.detections.json as make_golden.py writes it: one
 * object per detection with class_id, label, score, ymin, xmin, ymax, xmax
 * in that order. Returns the count, or -1. */
static int read_detections_json(const char *path, ref_det *out, int max)
{
    size_t size;
    char *text = slurp(path, &size);
    if (!text)
        return -1;
    const char *p = strstr(text, "\"detections\":");
    int n = 0;
    while (p && strstr(p, "\"class_id\":")) {
        double cls;
        ref_det *d = &out[n];
        if (n == max || json_number(&p, "class_id", &cls) || json_number(&p, "score", &d->score) ||
            json_number(&p, "ymin", &d->ymin) || json_number(&p, "xmin", &d->xmin) ||
            json_number(&p, "ymax", &d->ymax) || json_number(&p, "xmax", &d->xmax)) {
            n = -1;
            break;
        }
        d->class_id = (int)cls;
        n++;
    }
    if (!p)
        n = -1;
    free(text);
    return n;
}

static void test_golden(const char *data)
{
    static const char *const names[] = {"astronaut", "basketball1", "chelsea", "coffee",
                                        "messi5", "motorcycle_left", "noise"};
    static float boxes[N_ANCHORS * 4], logits[N_ANCHORS * N_CLASSES];
    static anchor anchors[N_ANCHORS];
    static detection scratch[N_ANCHORS], out[100];
    ref_det want[100];
    char err[256] = "", path[1024];

    ssd_config c;
    ssd_config_defaults(&c);
    c.score_threshold = 0.3f;
    c.nms_iou = 0.5f;
    int na = anchors_generate(&c, fm_default, fm_default, 6, anchors, N_ANCHORS, err, sizeof err);
    CHECK(na == N_ANCHORS, "anchors: %d (%s)", na, err);
    if (na != N_ANCHORS)
        return;

    int total = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *name = names[i];
        snprintf(path, sizeof path, "%s/%s.boxes.f32", data, name);
        int ok = read_f32(path, boxes, N_ANCHORS * 4) == 0;
        snprintf(path, sizeof path, "%s/%s.scores.f32", data, name);
        ok = ok && read_f32(path, logits, N_ANCHORS * N_CLASSES) == 0;
        snprintf(path, sizeof path, "%s/%s.detections.json", data, name);
        int nw = read_detections_json(path, want, 100);
        CHECK(ok && nw >= 0, "%s: cannot read the golden files", name);
        if (!ok || nw < 0)
            continue;

        int n = ssd_postprocess(&c, anchors, N_ANCHORS, boxes, logits, N_CLASSES, scratch, out, 100);
        CHECK(n == nw, "%s: %d detections, reference %d", name, n, nw);
        for (int k = 0; k < n && k < nw; k++) {
            const detection *d = &out[k];
            const ref_det *w = &want[k];
            CHECK(d->class_id == w->class_id, "%s #%d: class %d, reference %d", name, k, d->class_id,
                  w->class_id);
            CHECK(fabs(d->score - w->score) <= 1e-3, "%s #%d: score %g, reference %g", name, k,
                  d->score, w->score);
            CHECK(fabs(d->bbox.ymin - w->ymin) <= 1e-3 && fabs(d->bbox.xmin - w->xmin) <= 1e-3 &&
                      fabs(d->bbox.ymax - w->ymax) <= 1e-3 && fabs(d->bbox.xmax - w->xmax) <= 1e-3,
                  "%s #%d: box %g %g %g %g, reference %g %g %g %g", name, k, d->bbox.ymin,
                  d->bbox.xmin, d->bbox.ymax, d->bbox.xmax, w->ymin, w->xmin, w->ymax, w->xmax);
        }
        total += nw;
    }
    /* guards against a parser that finds nothing anywhere */
    CHECK(total >= 7, "only %d reference detections over all images", total);
}

/* ------------------------------------------------------------------------ */
/* Config file                                                               */
/* ------------------------------------------------------------------------ */

/* Every field but the paths. */
static int same_settings(const ssd_config *a, const ssd_config *b)
{
    if (a->n_aspect_ratios != b->n_aspect_ratios)
        return 0;
    for (int i = 0; i < a->n_aspect_ratios; i++)
        if (a->aspect_ratios[i] != b->aspect_ratios[i])
            return 0;
    for (int i = 0; i < 4; i++)
        if (a->box_scales[i] != b->box_scales[i])
            return 0;
    return a->input_mean == b->input_mean && a->input_std == b->input_std &&
           a->num_layers == b->num_layers && a->min_scale == b->min_scale &&
           a->max_scale == b->max_scale &&
           a->interpolated_scale_aspect_ratio == b->interpolated_scale_aspect_ratio &&
           a->reduce_boxes_in_lowest_layer == b->reduce_boxes_in_lowest_layer &&
           a->anchor_offset == b->anchor_offset && a->score == b->score &&
           a->background_class == b->background_class && a->score_threshold == b->score_threshold &&
           a->nms_iou == b->nms_iou && a->max_detections == b->max_detections &&
           a->per_class_nms == b->per_class_nms;
}

static void test_config_defaults(void)
{
    ssd_config c;
    memset(&c, 0x55, sizeof c);
    ssd_config_defaults(&c);
    CHECK(c.model == NULL && c.labels == NULL && c.model_line == 0 && c.labels_line == 0,
          "no paths by default");
    CHECK(c.input_mean == 127.5f && c.input_std == 127.5f, "input scaling");
    CHECK(c.num_layers == 6 && c.min_scale == 0.2f && c.max_scale == 0.95f, "scales");
    CHECK(c.n_aspect_ratios == 5 && c.aspect_ratios[0] == 1.0f && c.aspect_ratios[1] == 2.0f &&
              c.aspect_ratios[2] == 0.5f && c.aspect_ratios[3] == 3.0f &&
              c.aspect_ratios[4] == 0.3333f,
          "aspect ratios");
    CHECK(c.interpolated_scale_aspect_ratio == 1.0f && c.reduce_boxes_in_lowest_layer == 1 &&
              c.anchor_offset == 0.5f,
          "anchor options");
    CHECK(c.box_scales[0] == 10 && c.box_scales[1] == 10 && c.box_scales[2] == 5 &&
              c.box_scales[3] == 5,
          "box coder");
    CHECK(c.score == SCORE_SIGMOID && c.background_class == 1 && c.score_threshold == 0.5f &&
              c.nms_iou == 0.5f && c.max_detections == 100 && c.per_class_nms == 0,
          "scores");
}

static void test_config_committed(const char *models)
{
    char path[1024], want[1200], err[256] = "";
    snprintf(path, sizeof path, "%s/object_detection_ssd_mobilenetv2_oidv4_fp16.cfg", models);
    ssd_config def, c;
    ssd_config_defaults(&def);
    ssd_config_defaults(&c);
    int rc = ssd_config_load(&c, path, err, sizeof err);
    CHECK(rc == 0, "%s: %s", path, err);
    CHECK(same_settings(&c, &def), "the committed config differs from the defaults");
    snprintf(want, sizeof want, "%s/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite", models);
    CHECK(c.model && strcmp(c.model, want) == 0, "model '%s', expected '%s'", c.model, want);
    snprintf(want, sizeof want, "%s/object_detection_oidv4_labelmap.txt", models);
    CHECK(c.labels && strcmp(c.labels, want) == 0, "labels '%s', expected '%s'", c.labels, want);
    CHECK(c.model_line == 5 && c.labels_line == 6, "path lines %d %d", c.model_line, c.labels_line);
    if (!c.labels) {
        ssd_config_free(&c);
        return;
    }

    /* the label map, when it has been fetched: 24 lines, background first */
    if (access(c.labels, R_OK) == 0) {
        labels l;
        rc = labels_load(&l, c.labels, err, sizeof err);
        CHECK(rc == 0 && l.count == 24, "%s: %d labels (%s)", c.labels, l.count, err);
        CHECK(labels_get(&l, 0) && strcmp(labels_get(&l, 0), "???") == 0, "background label");
        labels_free(&l);
    }
    ssd_config_free(&c);
    CHECK(c.model == NULL && c.labels == NULL, "freed paths");
}

static void test_config_values(const char *dir)
{
    char path[1024], want[1200], err[256] = "";
    snprintf(path, sizeof path, "%s/all.cfg", dir);
    /* every key away from its default; CRLF, comments, blanks, spacing */
    write_file(path,
               "# a comment\r\n"
               "\r\n"
               "model = m#1.tflite\r\n"
               "labels=/abs/labels.txt   # trailing comment\n"
               "  input_mean = 0\n"
               "input_std\t=\t255\n"
               "num_layers = 4\n"
               "min_scale = 0.15\n"
               "max_scale = 0.9\n"
               "aspect_ratios = 1 2 0.5 4 0.25 3 0.33 5\n"
               "interpolated_scale_aspect_ratio = 0\n"
               "reduce_boxes_in_lowest_layer = false\n"
               "anchor_offset = 0\n"
               "box_coder_scales = 1 2 3 4\n"
               "score_function = softmax\n"
               "background_class = false\n"
               "score_threshold = 0.25\n"
               "nms_iou = 0.6\n"
               "max_detections = 7\n"
               "per_class_nms = true");
    ssd_config c;
    ssd_config_defaults(&c);
    int rc = ssd_config_load(&c, path, err, sizeof err);
    CHECK(rc == 0, "all keys: %s", err);
    snprintf(want, sizeof want, "%s/m#1.tflite", dir);
    CHECK(c.model && strcmp(c.model, want) == 0, "relative model '%s', expected '%s'", c.model, want);
    CHECK(c.labels && strcmp(c.labels, "/abs/labels.txt") == 0, "absolute labels '%s'", c.labels);
    CHECK(c.model_line == 3 && c.labels_line == 4, "path lines %d %d", c.model_line, c.labels_line);
    CHECK(c.input_mean == 0 && c.input_std == 255, "input %g %g", c.input_mean, c.input_std);
    CHECK(c.num_layers == 4 && c.min_scale == 0.15f && c.max_scale == 0.9f, "scales");
    CHECK(c.n_aspect_ratios == 8 && c.aspect_ratios[3] == 4.0f && c.aspect_ratios[7] == 5.0f,
          "aspect ratios: %d", c.n_aspect_ratios);
    CHECK(c.interpolated_scale_aspect_ratio == 0 && c.reduce_boxes_in_lowest_layer == 0 &&
              c.anchor_offset == 0,
          "anchor options");
    CHECK(c.box_scales[0] == 1 && c.box_scales[1] == 2 && c.box_scales[2] == 3 &&
              c.box_scales[3] == 4,
          "box coder");
    CHECK(c.score == SCORE_SOFTMAX && c.background_class == 0 && c.score_threshold == 0.25f &&
              c.nms_iou == 0.6f && c.max_detections == 7 && c.per_class_nms == 1,
          "scores");

    /* identity; and a config given without a folder keeps relative paths */
    snprintf(path, sizeof path, "%s/identity.cfg", dir);
    write_file(path, "score_function = identity\nlabels = sub/l.txt\n");
    rc = ssd_config_load(&c, path, err, sizeof err);
    snprintf(want, sizeof want, "%s/sub/l.txt", dir);
    CHECK(rc == 0 && c.score == SCORE_IDENTITY && c.labels && strcmp(c.labels, want) == 0,
          "identity, labels '%s' (%s)", c.labels, err);
    CHECK(c.num_layers == 4, "keys not in the file keep their value");
    snprintf(want, sizeof want, "%s/m#1.tflite", dir);
    CHECK(c.model && strcmp(c.model, want) == 0 && c.model_line == 3 && c.labels_line == 2,
          "the model of the file before stays: '%s' line %d", c.model, c.model_line);
    char cwd[1024];
    if (getcwd(cwd, sizeof cwd) && chdir(dir) == 0) {
        rc = ssd_config_load(&c, "identity.cfg", err, sizeof err);
        CHECK(rc == 0 && c.labels && strcmp(c.labels, "sub/l.txt") == 0, "no folder: '%s' (%s)",
              c.labels, err);
        CHECK(chdir(cwd) == 0, "back to %s", cwd);
    }
    /* a failed load keeps the paths it had */
    snprintf(path, sizeof path, "%s/bad.cfg", dir);
    write_file(path, "labels = other.txt\nnms_iou = 2\n");
    rc = ssd_config_load(&c, path, err, sizeof err);
    CHECK(rc != 0 && c.labels && strcmp(c.labels, "sub/l.txt") == 0, "failed load: labels '%s'",
          c.labels);
    ssd_config_free(&c);
}

/* A UTF-8 byte-order mark opens the file: skipped, not part of the first key.
 * Paths of any length are kept whole; lines have a clear limit. */
static void test_config_text(const char *dir)
{
    char path[1024], err[256] = "";
    snprintf(path, sizeof path, "%s/bom.cfg", dir);
    write_file(path, "\xEF\xBB\xBFscore_threshold = 0.3\nnms_iou = 0.4\n");
    ssd_config c;
    ssd_config_defaults(&c);
    int rc = ssd_config_load(&c, path, err, sizeof err);
    CHECK(rc == 0 && c.score_threshold == 0.3f && c.nms_iou == 0.4f, "byte-order mark: %s", err);
    /* only at the very start: elsewhere it is part of a key */
    write_file(path, "nms_iou = 0.4\n\xEF\xBB\xBFscore_threshold = 0.3\n");
    rc = ssd_config_load(&c, path, err, sizeof err);
    CHECK(rc == MNV_EFORMAT && strstr(err, ":2: unknown key"), "mark on line 2: %s", err);

    /* a 3000-byte model path (longer than the 1024-byte buffers there were) */
    size_t n = 3000;
    char *text = malloc(n + 64), *want = malloc(strlen(dir) + n + 8);
    if (!text || !want) {
        CHECK(0, "out of memory");
        free(text), free(want);
        return;
    }
    int at = sprintf(text, "model = ");
    for (size_t i = 0; i < n; i++)
        text[at + i] = i % 100 == 99 ? '/' : 'm';
    strcpy(text + at + n, "\n");
    sprintf(want, "%s/%s", dir, text + at);
    want[strlen(want) - 1] = '\0';
    write_file(path, text);
    rc = ssd_config_load(&c, path, err, sizeof err);
    CHECK(rc == 0 && c.model && strcmp(c.model, want) == 0, "long path: %s", err);
    ssd_config_free(&c);

    /* a line over the limit is refused, not cut */
    char *line = malloc(20000);
    if (line) {
        memset(line, 'x', 19999);
        memcpy(line, "model = ", 8);
        line[19999] = '\0';
        write_file(path, line);
        rc = ssd_config_load(&c, path, err, sizeof err);
        CHECK(rc == MNV_EFORMAT && strstr(err, ":1: line longer than 16384 bytes") && !c.model,
              "long line: %d %s", rc, err);
        free(line);
    }
    free(text);
    free(want);
}

static void test_config_errors(const char *dir)
{
    static const struct {
        const char *text;
        int line;
        const char *word; /* must appear in the message */
    } cases[] = {
        {"nms_iou = 0.4\n\n# comment\nscore_treshold = 0.5\n", 4, "score_treshold"},
        {"min_scale = 0.2x\n", 1, "min_scale"},
        {"min_scale = \n", 1, "min_scale"},
        {"nms_iou = 1.5\n", 1, "nms_iou"},
        {"score_threshold = -0.1\n", 1, "score_threshold"},
        {"score_threshold = nan\n", 1, "score_threshold"},
        {"aspect_ratios = 1 2 3 4 5 6 7 8 9\n", 1, "aspect_ratios"},
        {"aspect_ratios = 1 -2\n", 1, "aspect_ratios"},
        {"box_coder_scales = 10 10 5\n", 1, "box_coder_scales"},
        {"box_coder_scales = 10 10 5 5 1\n", 1, "box_coder_scales"},
        {"min_scale = 0.9\nmax_scale = 0.5\n", 2, "max_scale"},
        {"max_scale = 0.1\n", 1, "min_scale"},
        {"score_function = relu\n", 1, "score_function"},
        {"background_class = yes\n", 1, "background_class"},
        {"num_layers = 9\n", 1, "num_layers"},
        {"num_layers = 2.5\n", 1, "num_layers"},
        {"max_detections = 0\n", 1, "max_detections"},
        {"max_detections = 5000\n", 1, "max_detections: 5000 is outside [1, 1000], the most detections per image"},
        {"max_detections = 99999999999999999999\n", 1, "max_detections"},
        {"interpolated_scale_aspect_ratio = -1\n", 1, "interpolated_scale_aspect_ratio: -1 must be 0"},
        {"input_std = 0\n", 1, "input_std"},
        {"anchor_offset = 2\n", 1, "anchor_offset"},
        {"\nno equals sign here\n", 2, "key = value"},
        {"nms_iou = 0.3\nnms_iou = 0.4\n", 2, "line 1"},
    };
    char path[1024], prefix[1100], err[256];
    snprintf(path, sizeof path, "%s/bad.cfg", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(path, cases[i].text);
        ssd_config c;
        ssd_config_defaults(&c);
        err[0] = '\0';
        int rc = ssd_config_load(&c, path, err, sizeof err);
        snprintf(prefix, sizeof prefix, "%s:%d: ", path, cases[i].line);
        CHECK(rc == MNV_EFORMAT, "case %zu: rc %d", i, rc);
        CHECK(strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, cases[i].word),
              "case %zu: message '%s' should start with '%s' and name '%s'", i, err, prefix,
              cases[i].word);
        CHECK(c.nms_iou == 0.5f && c.min_scale == 0.2f, "case %zu: a failed load changed the config", i);
    }

    snprintf(path, sizeof path, "%s/missing.cfg", dir);
    ssd_config c;
    ssd_config_defaults(&c);
    int rc = ssd_config_load(&c, path, err, sizeof err);
    snprintf(prefix, sizeof prefix, "%s: %s", path, strerror(ENOENT));
    CHECK(rc == MNV_EIO && strcmp(err, prefix) == 0, "missing file: %d '%s'", rc, err);
}

/* ------------------------------------------------------------------------ */
/* Labels                                                                    */
/* ------------------------------------------------------------------------ */

static void test_labels(const char *dir)
{
    char path[1024], err[256] = "";
    snprintf(path, sizeof path, "%s/labels.txt", dir);
    /* CRLF stripped, the empty line kept as an empty label, no final newline */
    write_file(path, "???\r\nPerson\n\nTraffic light");
    labels l;
    int rc = labels_load(&l, path, err, sizeof err);
    CHECK(rc == 0 && l.count == 4, "labels: rc %d count %d (%s)", rc, l.count, err);
    if (rc == 0 && l.count == 4) {
        CHECK(strcmp(labels_get(&l, 0), "???") == 0, "label 0 '%s'", labels_get(&l, 0));
        CHECK(strcmp(labels_get(&l, 1), "Person") == 0, "label 1 '%s'", labels_get(&l, 1));
        CHECK(strcmp(labels_get(&l, 2), "") == 0, "label 2 '%s'", labels_get(&l, 2));
        CHECK(strcmp(labels_get(&l, 3), "Traffic light") == 0, "label 3 '%s'", labels_get(&l, 3));
    }
    CHECK(labels_get(&l, -1) == NULL && labels_get(&l, 4) == NULL, "out of range is NULL");
    labels_free(&l);
    CHECK(l.count == 0 && l.names == NULL && labels_get(&l, 0) == NULL, "freed");
    labels_free(&l);

    /* a final newline adds no label */
    write_file(path, "a\nb\n");
    rc = labels_load(&l, path, err, sizeof err);
    CHECK(rc == 0 && l.count == 2, "final newline: %d labels", l.count);
    labels_free(&l);
    write_file(path, "");
    rc = labels_load(&l, path, err, sizeof err);
    CHECK(rc == 0 && l.count == 0, "empty file: %d labels", l.count);
    labels_free(&l);

    snprintf(path, sizeof path, "%s/no-such-labels.txt", dir);
    err[0] = '\0';
    rc = labels_load(&l, path, err, sizeof err);
    CHECK(rc == MNV_EIO && strstr(err, path) && l.count == 0 && l.names == NULL,
          "missing labels: %d '%s'", rc, err);
}

int main(void)
{
    const char *data = test_env("MNV2DET_TEST_DATA");
    const char *models = test_env("MNV2DET_MODEL_DIR");
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/test_ssdlite.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
        return 1;
    }

    test_anchors_golden(data);
    test_anchors_layout();
    test_box_decode();
    test_box_iou();
    test_nms();
    test_scores_sigmoid();
    test_scores_softmax();
    test_scores_identity();
    test_postprocess_nms();
    test_golden(data);
    test_config_defaults();
    test_config_committed(models);
    test_config_values(dir);
    test_config_errors(dir);
    test_config_text(dir);
    test_labels(dir);

    static const char *const files[] = {"all.cfg", "identity.cfg", "bad.cfg", "bom.cfg", "labels.txt"};
    char path[1200];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    rmdir(dir);
    return check_finish("ssdlite post-processing");
}
