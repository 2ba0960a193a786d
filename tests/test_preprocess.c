/*
 * Pre-processing of frames in their own pixel format (preprocess_image)
 * against convert-then-resize (mnv_image_to_rgb24 + preprocess_rgb24), on
 * real picture content: tests/data/messi5.jpg scaled to each frame size and
 * turned into YUV by mnv_image_from_rgb24 (common.h), the inverse BT.601
 * formula.
 *
 * Tolerance, derived: the reference rounds each converted pixel to 8 bits
 * (an error of at most 0.5 level), the fused path filters the unrounded
 * value. The triangle weights are >= 0 and sum to 1, so before the final
 * rounding to 8 bits the two differ by at most 0.5 level (plus float
 * summation noise, about 1e-4 level); after it, by 0 or 1 level. In tensor
 * units that is 1 / std (1 / 127.5 = 0.0078), checked here with 1e-6 slack
 * for the division. At the same size the fused path rounds as the reference
 * does: equal bit for bit. RGB24 frames: equal to preprocess_rgb24 bit for bit.
 *
 * usage: test_preprocess                 the unit checks above
 *        test_preprocess detections NAME...  (suite 'model') each golden
 *        image NAME.300.png as YUYV, NV12 and I420 through the detector gives
 *        the RGB24 run's detections; SKIP (77) without the model.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "check.h"

#define MEAN 127.5f
#define STD 127.5f
#define NET 300

static const mnv_pixfmt yuv_formats[] = {MNV_PIX_YUYV, MNV_PIX_NV12, MNV_PIX_I420};

/* A frame built by the test: each plane its own allocation of exactly
 * (rows - 1) * stride + row bytes, so that ASan sees any read past the last
 * pixel; padding bytes hold 0xA5 so that reading them shows in the output. */
typedef struct test_frame {
    mnv_image img;
    uint8_t *plane[3];
} test_frame;

static void test_frame_free(test_frame *t)
{
    for (int p = 0; p < 3; p++)
        free(t->plane[p]);
    memset(t, 0, sizeof *t);
}

/* rgb (w x h, tightly packed) as a frame of format f with pad bytes of
 * padding after every row. 0 on success. */
static int make_frame(test_frame *t, mnv_pixfmt f, const uint8_t *rgb, int w, int h, size_t pad)
{
    memset(t, 0, sizeof *t);
    t->img.format = f, t->img.width = w, t->img.height = h;
    for (int p = 0; p < mnv_pixfmt_planes(f); p++) {
        size_t row = 0, size = mnv_plane_size(f, w, h, p, &row), rows = size / row;
        t->img.stride[p] = row + pad;
        t->plane[p] = malloc((rows - 1) * t->img.stride[p] + row);
        if (!t->plane[p]) {
            test_frame_free(t);
            return -1;
        }
        memset(t->plane[p], 0xA5, (rows - 1) * t->img.stride[p] + row);
        t->img.plane[p] = t->plane[p];
    }
    mnv_image src;
    mnv_image_pack(&src, MNV_PIX_RGB24, w, h, rgb);
    if (mnv_image_from_rgb24(&src, &t->img) != 0) {
        test_frame_free(t);
        return -1;
    }
    /* The padding luma of an odd width's last YUYV pair: extreme, so that a
     * read of it shows. */
    if (f == MNV_PIX_YUYV && (w & 1))
        for (int y = 0; y < h; y++)
            t->plane[0][(size_t)y * t->img.stride[0] + (size_t)(w / 2) * 4 + 2] = 255;
    return 0;
}

/* src (RGB24 frame) resized to w x h by preprocess_rgb24 itself: mean 0 and
 * std 1 leave its 8-bit results, which come out rounded. */
static uint8_t *picture_at(const frame *src, int w, int h)
{
    const mnv_image *im = &src->img;
    uint8_t *rgb = malloc((size_t)w * h * 3);
    float *f = malloc((size_t)w * h * 3 * sizeof *f);
    resize_plan *plan = NULL;
    char err[256];
    int same = im->width == w && im->height == h;
    if (!rgb || !f || (!same && resize_plan_create(&plan, im->width, im->height, w, h, err, sizeof err))) {
        free(rgb), free(f);
        return NULL;
    }
    preprocess_rgb24(plan, im->plane[0], im->width, im->height, im->stride[0], w, h, 0.0f, 1.0f, f);
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        rgb[i] = (uint8_t)f[i];
    resize_plan_free(plan);
    free(f);
    return rgb;
}

/* ---- the formula on hand-worked pixels ---------------------------------- */

typedef struct yuv_case {
    uint8_t y, u, v, r, g, b;
    const char *what;
} yuv_case;

/* c = Y - 16, d = U - 128, e = V - 128; R = (19077c + 26149e) / 16384,
 * G = (19077c - 6419d - 13320e) / 16384, B = (19077c + 33050d) / 16384,
 * clamped, rounded half up. */
static const yuv_case hand_cases[] = {
    {16, 128, 128, 0, 0, 0, "black: c = d = e = 0"},
    {235, 128, 128, 255, 255, 255, "white: 19077 * 219 / 16384 = 4177863 / 16384 = 254.997"},
    {126, 128, 128, 128, 128, 128, "grey: 19077 * 110 / 16384 = 128.08"},
    /* BT.601 red (255, 0, 0) -> Y 81.48, U 90.20, V 240 */
    {81, 90, 240, 254, 0, 0, "red: R (1240005 + 2928688) / 16384 = 254.43, G -7913 / 16384, B -15895 / 16384"},
    /* green (0, 255, 0) -> Y 144.55, U 53.80, V 34.21 */
    {145, 54, 34, 0, 255, 1, "green: R 2927 / 16384 = 0.18, G 4188019 / 16384 = 255.6 -> 255, B 15233 / 16384 = 0.93"},
    /* blue (0, 0, 255) -> Y 40.97, U 240, V 109.79 */
    {41, 240, 110, 0, 0, 255, "blue: R 6243 / 16384 = 0.38, G -2243 / 16384, B 4178525 / 16384 = 255.04"},
    {0, 0, 0, 0, 136, 0, "Y = U = V = 0: G (-305232 + 821632 + 1704960) / 16384 = 135.58"},
    {255, 255, 255, 255, 125, 255, "Y = U = V = 255: G 2052550 / 16384 = 125.28, R and B clamped"},
};

static void fill_uniform(test_frame *t, uint8_t y, uint8_t u, uint8_t v)
{
    const mnv_image *im = &t->img;
    const int cw = (im->width + 1) / 2, ch = (im->height + 1) / 2;
    for (int r = 0; r < im->height; r++) {
        uint8_t *p0 = t->plane[0] + (size_t)r * im->stride[0];
        if (im->format == MNV_PIX_YUYV) {
            for (int j = 0; j < cw; j++)
                p0[4 * j] = p0[4 * j + 2] = y, p0[4 * j + 1] = u, p0[4 * j + 3] = v;
        } else {
            memset(p0, y, (size_t)im->width);
        }
    }
    for (int r = 0; im->format >= MNV_PIX_NV12 && r < ch; r++)
        for (int j = 0; j < cw; j++) {
            if (im->format == MNV_PIX_NV12) {
                t->plane[1][(size_t)r * im->stride[1] + 2 * j] = u;
                t->plane[1][(size_t)r * im->stride[1] + 2 * j + 1] = v;
            } else {
                t->plane[1][(size_t)r * im->stride[1] + j] = u;
                t->plane[2][(size_t)r * im->stride[2] + j] = v;
            }
        }
}

static void test_formula(void)
{
    enum { W = 7, H = 5, OW = 3, OH = 2 };
    uint8_t black[W * H * 3] = {0};
    resize_plan *plan;
    char err[256];
    CHECK(resize_plan_create(&plan, W, H, OW, OH, err, sizeof err) == 0, "%s", err);
    for (size_t fi = 0; fi < sizeof yuv_formats / sizeof *yuv_formats; fi++) {
        mnv_pixfmt f = yuv_formats[fi];
        test_frame t;
        CHECK(make_frame(&t, f, black, W, H, 3) == 0, "out of memory");
        for (size_t c = 0; c < sizeof hand_cases / sizeof *hand_cases; c++) {
            const yuv_case *k = &hand_cases[c];
            fill_uniform(&t, k->y, k->u, k->v);
            uint8_t rgb[W * H * 3];
            CHECK(mnv_image_to_rgb24(&t.img, rgb, W * 3) == 0, "%s: conversion refused", mnv_pixfmt_name(f));
            int bad = 0;
            for (int i = 0; i < W * H; i++)
                bad += rgb[3 * i] != k->r || rgb[3 * i + 1] != k->g || rgb[3 * i + 2] != k->b;
            CHECK(bad == 0, "%s %s: YUV %d %d %d gave RGB %d %d %d, want %d %d %d", mnv_pixfmt_name(f), k->what,
                  k->y, k->u, k->v, rgb[0], rgb[1], rgb[2], k->r, k->g, k->b);

            /* the fused path, same size and resized: a flat picture stays
             * flat, and its one value rounds to the same 8 bits (no case
             * above is within 0.02 of a half) */
            float same[W * H * 3], small[OW * OH * 3];
            preprocess_image(NULL, &t.img, W, H, MEAN, STD, same);
            preprocess_image(plan, &t.img, OW, OH, MEAN, STD, small);
            const uint8_t want[3] = {k->r, k->g, k->b};
            int bad_same = 0, bad_small = 0;
            for (int i = 0; i < W * H * 3; i++)
                bad_same += same[i] != ((float)want[i % 3] - MEAN) / STD;
            for (int i = 0; i < OW * OH * 3; i++)
                bad_small += small[i] != ((float)want[i % 3] - MEAN) / STD;
            CHECK(bad_same == 0, "%s %s: same-size pre-processing: %d values off", mnv_pixfmt_name(f), k->what,
                  bad_same);
            CHECK(bad_small == 0, "%s %s: resizing pre-processing: %d values off", mnv_pixfmt_name(f), k->what,
                  bad_small);
        }
        test_frame_free(&t);
    }
    resize_plan_free(plan);
}

/* The chroma rule on an odd-sized 5x3 frame: every pixel takes the chroma
 * sample of its 2x1 (YUYV) or 2x2 (NV12, I420) block, the last column's and
 * row's blocks being cut in half. Y = 126, V = 128; U from {128, 160, 96,
 * 200} gives B = (2098470 + 33050 (U - 128)) / 16384 = 128.08, 192.63,
 * 63.53, 273.3 -> 128, 193, 64, 255. */
static void test_chroma_rule(void)
{
    enum { W = 5, H = 3 };
    static const uint8_t u_of[4] = {128, 160, 96, 200}, b_of[4] = {128, 193, 64, 255};
    uint8_t zero[W * H * 3] = {0};
    for (size_t fi = 0; fi < sizeof yuv_formats / sizeof *yuv_formats; fi++) {
        mnv_pixfmt f = yuv_formats[fi];
        test_frame t;
        CHECK(make_frame(&t, f, zero, W, H, 0) == 0, "out of memory");
        fill_uniform(&t, 126, 128, 128);
        /* block (j, r): the r-th chroma row (a pixel row for YUYV), pair j */
        int crows = f == MNV_PIX_YUYV ? H : (H + 1) / 2, idx[H][3];
        for (int r = 0; r < crows; r++)
            for (int j = 0; j < 3; j++) {
                idx[r][j] = (r * 3 + j) % 4;
                uint8_t u = u_of[idx[r][j]];
                if (f == MNV_PIX_YUYV)
                    t.plane[0][(size_t)r * t.img.stride[0] + 4 * j + 1] = u;
                else if (f == MNV_PIX_NV12)
                    t.plane[1][(size_t)r * t.img.stride[1] + 2 * j] = u;
                else
                    t.plane[1][(size_t)r * t.img.stride[1] + j] = u;
            }
        uint8_t rgb[W * H * 3];
        float same[W * H * 3];
        CHECK(mnv_image_to_rgb24(&t.img, rgb, W * 3) == 0, "%s: conversion refused", mnv_pixfmt_name(f));
        preprocess_image(NULL, &t.img, W, H, MEAN, STD, same);
        int bad = 0, bad_fused = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int r = f == MNV_PIX_YUYV ? y : y / 2;
                uint8_t want = b_of[idx[r][x / 2]];
                bad += rgb[(y * W + x) * 3 + 2] != want;
                bad_fused += same[(y * W + x) * 3 + 2] != ((float)want - MEAN) / STD;
            }
        CHECK(bad == 0, "%s: %d pixels took the wrong chroma sample", mnv_pixfmt_name(f), bad);
        CHECK(bad_fused == 0, "%s: same-size pre-processing: %d pixels took the wrong chroma sample",
              mnv_pixfmt_name(f), bad_fused);
        test_frame_free(&t);
    }
}

static void test_bad_images(void)
{
    uint8_t px[16 * 3] = {0}, rgb[16 * 3];
    test_frame t;
    CHECK(make_frame(&t, MNV_PIX_NV12, px, 4, 4, 0) == 0, "out of memory");
    mnv_image im = t.img;
    CHECK(mnv_image_to_rgb24(&im, rgb, 4 * 3) == 0, "a good NV12 frame refused");
    CHECK(mnv_image_to_rgb24(&im, rgb, 4 * 3 - 1) == MNV_EINVAL, "an RGB stride below 3 w accepted");
    im.format = MNV_PIX_COUNT;
    CHECK(mnv_image_to_rgb24(&im, rgb, 4 * 3) == MNV_EINVAL, "an unknown format accepted");
    im = t.img, im.width = 0;
    CHECK(mnv_image_to_rgb24(&im, rgb, 4 * 3) == MNV_EINVAL, "an empty frame accepted");
    im = t.img, im.plane[1] = NULL;
    CHECK(mnv_image_to_rgb24(&im, rgb, 4 * 3) == MNV_EINVAL, "a missing chroma plane accepted");
    im = t.img, im.stride[1] = 3;
    CHECK(mnv_image_to_rgb24(&im, rgb, 4 * 3) == MNV_EINVAL, "a chroma stride below its row accepted");
    CHECK(mnv_image_to_rgb24(NULL, rgb, 4 * 3) == MNV_EINVAL, "no image accepted");
    test_frame_free(&t);
}

/* ---- fused against convert-then-resize on a real picture ----------------- */

static void compare_sizes(const frame *picture)
{
    static const int sizes[][2] = {{640, 480}, {1280, 720}, {301, 199}, {300, 300}, {100, 80}};
    const float tol = 1.0f / STD + 1e-6f;
    float *fused = malloc(NET * NET * 3 * sizeof *fused), *ref = malloc(NET * NET * 3 * sizeof *ref);
    CHECK(fused && ref, "out of memory");
    for (size_t s = 0; fused && ref && s < sizeof sizes / sizeof *sizes; s++) {
        int w = sizes[s][0], h = sizes[s][1], same = w == NET && h == NET;
        uint8_t *rgb = picture_at(picture, w, h), *conv = malloc((size_t)w * h * 3);
        resize_plan *plan = NULL;
        char err[256];
        CHECK(rgb && conv, "out of memory");
        CHECK(same || resize_plan_create(&plan, w, h, NET, NET, err, sizeof err) == 0, "%s", err);
        for (int f = 0; rgb && conv && f < MNV_PIX_COUNT; f++) {
            test_frame t;
            /* odd padding on every other size: strides are honoured */
            CHECK(make_frame(&t, (mnv_pixfmt)f, rgb, w, h, s % 2 ? 13 : 0) == 0, "out of memory");
            preprocess_image(plan, &t.img, NET, NET, MEAN, STD, fused);
            if (f == MNV_PIX_RGB24) {
                preprocess_rgb24(plan, t.img.plane[0], w, h, t.img.stride[0], NET, NET, MEAN, STD, ref);
                CHECK(memcmp(fused, ref, NET * NET * 3 * sizeof *ref) == 0,
                      "rgb24 %dx%d: preprocess_image differs from preprocess_rgb24", w, h);
                printf("rgb24 %4dx%-4d bit-identical to preprocess_rgb24\n", w, h);
                test_frame_free(&t);
                continue;
            }
            CHECK(mnv_image_to_rgb24(&t.img, conv, (size_t)w * 3) == 0, "conversion refused");
            preprocess_rgb24(plan, conv, w, h, (size_t)w * 3, NET, NET, MEAN, STD, ref);
            float max = 0;
            long differ = 0;
            for (int i = 0; i < NET * NET * 3; i++) {
                float d = fabsf(fused[i] - ref[i]);
                differ += d > 0;
                if (!(d <= max))
                    max = isnan(d) ? INFINITY : d;
            }
            if (same)
                CHECK(max == 0, "%s %dx%d: same-size conversion differs by %g", mnv_pixfmt_name(f), w, h, max);
            else
                CHECK(max <= tol, "%s %dx%d: fused differs from convert-then-resize by %g > %g",
                      mnv_pixfmt_name(f), w, h, max, tol);
            printf("%-5s %4dx%-4d max diff %.5f (%.2f levels), %.3f%% of values differ (bound %s)\n",
                   mnv_pixfmt_name(f), w, h, max, max * STD, 100.0 * differ / (NET * NET * 3),
                   same ? "0" : "1 level");
            test_frame_free(&t);
        }
        resize_plan_free(plan);
        free(rgb), free(conv);
    }
    free(fused), free(ref);
}

/* The test's own RGB -> YUV -> RGB round trip stays near the picture: it
 * checks the inverse formula above against the one under test (4:2:0 loses
 * chroma detail at edges, hence a mean bound, not a maximum). */
static void check_round_trip(const frame *picture)
{
    const int w = picture->img.width, h = picture->img.height;
    uint8_t *rgb = picture_at(picture, w, h), *back = malloc((size_t)w * h * 3);
    CHECK(rgb && back, "out of memory");
    for (size_t fi = 0; rgb && back && fi < sizeof yuv_formats / sizeof *yuv_formats; fi++) {
        test_frame t;
        CHECK(make_frame(&t, yuv_formats[fi], rgb, w, h, 0) == 0, "out of memory");
        CHECK(mnv_image_to_rgb24(&t.img, back, (size_t)w * 3) == 0, "conversion refused");
        double sum = 0;
        for (size_t i = 0; i < (size_t)w * h * 3; i++)
            sum += abs((int)back[i] - (int)rgb[i]);
        double mean = sum / ((double)w * h * 3);
        CHECK(mean < 2.0, "%s: RGB -> YUV -> RGB mean error %.2f levels", mnv_pixfmt_name(yuv_formats[fi]), mean);
        printf("%-5s RGB -> YUV -> RGB mean abs error %.3f levels\n", mnv_pixfmt_name(yuv_formats[fi]), mean);
        test_frame_free(&t);
    }
    free(rgb), free(back);
}

/* A plan made for fewer threads than later run it (its conversion rows are
 * per thread): the same result as a plan made for the team. */
static void check_plan_threads(const frame *picture)
{
    const int w = 640, h = 480, team = omp_get_max_threads() > 1 ? omp_get_max_threads() : 2;
    uint8_t *rgb = picture_at(picture, w, h);
    float *a = malloc(NET * NET * 3 * sizeof *a), *b = malloc(NET * NET * 3 * sizeof *b);
    resize_plan *one = NULL, *all = NULL;
    char err[256];
    test_frame t = {0};
    CHECK(rgb && a && b && make_frame(&t, MNV_PIX_NV12, rgb, w, h, 0) == 0, "out of memory");
    omp_set_num_threads(1);
    CHECK(resize_plan_create(&one, w, h, NET, NET, err, sizeof err) == 0, "%s", err);
    omp_set_num_threads(team);
    CHECK(resize_plan_create(&all, w, h, NET, NET, err, sizeof err) == 0, "%s", err);
    if (one && all && t.plane[0]) {
        preprocess_image(one, &t.img, NET, NET, MEAN, STD, a);
        preprocess_image(all, &t.img, NET, NET, MEAN, STD, b);
        CHECK(memcmp(a, b, NET * NET * 3 * sizeof *a) == 0,
              "a plan made for 1 thread and run by %d gives another result", team);
    }
    resize_plan_free(one), resize_plan_free(all);
    test_frame_free(&t);
    free(rgb), free(a), free(b);
}

/* ---- detections from YUV frames (suite 'model') -------------------------- */

/* Tolerances between a golden image's RGB24 run and its YUV runs. The YUV
 * frames carry the picture with 4:2:2 / 4:2:0 chroma and 8-bit YUV rounding:
 * a slightly different input (mean error about 1 level), so the network's
 * output moves by more than float noise. Measured on the 7 golden images:
 * scores change by at most 0.017, box corners by at most 0.0031 (of the
 * image size); the tolerances are three times that. */
#define SCORE_TOL 0.05f
#define CORNER_TOL 0.01f

static float corner_change(const detection *a, const detection *b)
{
    return fmaxf(fmaxf(fabsf(a->bbox.ymin - b->bbox.ymin), fabsf(a->bbox.xmin - b->bbox.xmin)),
                 fmaxf(fabsf(a->bbox.ymax - b->bbox.ymax), fabsf(a->bbox.xmax - b->bbox.xmax)));
}

static int same_detection(const detection *a, const detection *b)
{
    return a->class_id == b->class_id && fabsf(a->score - b->score) <= SCORE_TOL &&
           corner_change(a, b) <= CORNER_TOL;
}

/* Every detection of one list scoring clearly above the threshold (by more
 * than the tolerance, so that it cannot fall below it) has its match in the
 * other list. Returns the number without one. */
static int unmatched(const detection *a, int na, const detection *b, int nb, float threshold, float *worst,
                     float *worst_corner)
{
    int missing = 0;
    for (int i = 0; i < na; i++) {
        int found = 0;
        for (int j = 0; j < nb && !found; j++)
            if (same_detection(&a[i], &b[j])) {
                found = 1;
                *worst = fmaxf(*worst, fabsf(a[i].score - b[j].score));
                *worst_corner = fmaxf(*worst_corner, corner_change(&a[i], &b[j]));
            }
        missing += !found && a[i].score >= threshold + SCORE_TOL;
    }
    return missing;
}

static int test_detections(int n_names, char **names)
{
    char model[1024], path[1024], err[512];
    snprintf(model, sizeof model, "%s/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite",
             test_env("MNV2DET_MODEL_DIR"));
    if (access(model, F_OK) != 0) {
        printf("SKIP: %s is absent\n", model);
        return 77;
    }
    detector d;
    detector_paths paths = {model, NULL, NULL};
    net_options opt = {.max_isa = isa_select()};
    int rc = detector_open(&d, &paths, &opt, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc)
        return check_finish("pre-processing: detections from YUV frames");
    d.cfg.score_threshold = 0.3f; /* the golden lists' threshold */
    static detection base[SSD_MAX_DETECTIONS], got[SSD_MAX_DETECTIONS];
    float worst = 0, worst_corner = 0;
    int compared = 0;
    for (int i = 0; i < n_names; i++) {
        frame f;
        snprintf(path, sizeof path, "%s/%s.300.png", test_env("MNV2DET_TEST_DATA"), names[i]);
        rc = image_load(&f, path, err, sizeof err);
        CHECK(rc == 0, "%s", err);
        if (rc)
            continue;
        int nb = detector_run(&d, &f, base, SSD_MAX_DETECTIONS, NULL);
        CHECK(nb >= 0, "%s: detector_run failed (%d)", names[i], nb);
        for (size_t fi = 0; nb >= 0 && fi < sizeof yuv_formats / sizeof *yuv_formats; fi++) {
            test_frame t;
            CHECK(make_frame(&t, yuv_formats[fi], f.img.plane[0], NET, NET, 0) == 0, "out of memory");
            frame yf = f;
            yf.img = t.img;
            int ng = detector_run(&d, &yf, got, SSD_MAX_DETECTIONS, NULL);
            const char *fmt = mnv_pixfmt_name(yuv_formats[fi]);
            CHECK(ng >= 0, "%s as %s: detector_run failed (%d)", names[i], fmt, ng);
            float ws = 0, wc = 0;
            int miss = unmatched(base, nb, got, ng, d.cfg.score_threshold, &ws, &wc);
            int extra = unmatched(got, ng, base, nb, d.cfg.score_threshold, &ws, &wc);
            CHECK(miss == 0, "%s as %s: %d of the RGB24 run's %d detections not found", names[i], fmt, miss, nb);
            CHECK(extra == 0, "%s as %s: %d detections the RGB24 run does not have", names[i], fmt, extra);
            printf("%-16s %-5s %2d detections (RGB24 %2d), largest change: score %.4f, corner %.4f\n",
                   names[i], fmt, ng, nb, ws, wc);
            worst = fmaxf(worst, ws);
            worst_corner = fmaxf(worst_corner, wc);
            compared += nb;
            test_frame_free(&t);
        }
        frame_free(&f);
    }
    CHECK(compared > 0, "no detections to compare");
    printf("largest change over all images and formats: score %.4f (tolerance %.2f), corner %.4f (tolerance %.2f)\n",
           worst, SCORE_TOL, worst_corner, CORNER_TOL);
    detector_close(&d);
    return check_finish("pre-processing: detections from YUV frames");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "detections") == 0)
        return test_detections(argc - 2, argv + 2);
    test_formula();
    test_chroma_rule();
    test_bad_images();
    char path[1024], err[512];
    frame picture;
    snprintf(path, sizeof path, "%s/messi5.jpg", test_env("MNV2DET_TEST_DATA"));
    int rc = image_load(&picture, path, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        check_round_trip(&picture);
        compare_sizes(&picture);
        check_plan_threads(&picture);
        frame_free(&picture);
    }
    return check_finish("pre-processing");
}
