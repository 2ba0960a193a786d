/*
 * mnv2det bench, pre-processing section: a camera-sized YUV frame to the
 * network's input, fused (preprocess_image: converted inside the resize) and
 * in two passes (mnv_image_to_rgb24, then preprocess_rgb24), with the same
 * plan, threads and warm-up-then-median method as the network's timing.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"

#define PICTURE MNV2DET_SOURCE_DIR "/tests/data/messi5.jpg"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The packed w x h RGB picture as a tightly packed frame of format f in
 * data (mnv_image_size bytes). */
static void make_frame(mnv_image *img, mnv_pixfmt f, const uint8_t *rgb, int w, int h, uint8_t *data)
{
    mnv_image src;
    mnv_image_pack(&src, MNV_PIX_RGB24, w, h, rgb);
    mnv_image_pack(img, f, w, h, data);
    mnv_image_from_rgb24(&src, img); /* cannot fail: same size, planes laid out by mnv_image_pack */
}

/* The bench picture at w x h: PICTURE resized (by preprocess_rgb24 itself,
 * mean 0 and std 1 giving back 8-bit values), else noise. */
static int picture_at(uint8_t *rgb, int w, int h, const char **name)
{
    frame pic;
    char err[256];
    if (image_load(&pic, PICTURE, err, sizeof err) != 0) {
        unsigned seed = 1234;
        for (size_t i = 0; i < (size_t)w * h * 3; i++) {
            seed = seed * 1103515245u + 12345u;
            rgb[i] = (uint8_t)(seed >> 16);
        }
        *name = "noise";
        return 0;
    }
    const mnv_image *im = &pic.img;
    resize_plan *plan = NULL;
    float *f = malloc((size_t)w * h * 3 * sizeof *f);
    if (!f || resize_plan_create(&plan, im->width, im->height, w, h, err, sizeof err) != 0) {
        free(f);
        frame_free(&pic);
        return MNV_ENOMEM;
    }
    preprocess_rgb24(plan, im->plane[0], im->width, im->height, im->stride[0], w, h, 0.0f, 1.0f, f);
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        rgb[i] = (uint8_t)f[i];
    resize_plan_free(plan);
    free(f);
    frame_free(&pic);
    *name = "messi5.jpg";
    return 0;
}

/* Median and fastest milliseconds of runs of one way (fused or not) after
 * warmup. */
static void time_one(int fused, resize_plan *plan, const mnv_image *img, uint8_t *rgb, int out_w, int out_h,
                     float *out, double *t, int iters, int warmup, double *median, double *min)
{
    const int w = img->width, h = img->height;
    for (int i = -warmup; i < iters; i++) {
        double t0 = omp_get_wtime();
        if (fused) {
            preprocess_image(plan, img, out_w, out_h, 127.5f, 127.5f, out);
        } else {
            mnv_image_to_rgb24(img, rgb, (size_t)w * 3);
            preprocess_rgb24(plan, rgb, w, h, (size_t)w * 3, out_w, out_h, 127.5f, 127.5f, out);
        }
        if (i >= 0)
            t[i] = (omp_get_wtime() - t0) * 1e3;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_double);
    *median = t[iters / 2];
    *min = t[0];
}

int bench_preprocess(int out_w, int out_h, int iters, int warmup, preprocess_timing *res, int max_res,
                     const char **picture)
{
    static const struct { mnv_pixfmt f; int w, h; } cases[] = {
        {MNV_PIX_YUYV, 640, 480}, {MNV_PIX_NV12, 640, 480},
        {MNV_PIX_YUYV, 1280, 720}, {MNV_PIX_NV12, 1280, 720},
    };
    int n = 0, rc = 0;
    *picture = "none";
    for (size_t c = 0; c < sizeof cases / sizeof *cases && n < max_res && rc == 0; c++) {
        const int w = cases[c].w, h = cases[c].h;
        uint8_t *rgb = malloc((size_t)w * h * 3), *data = malloc(mnv_image_size(cases[c].f, w, h));
        float *out = malloc((size_t)out_w * out_h * 3 * sizeof *out);
        double *t = malloc((size_t)iters * sizeof *t);
        resize_plan *plan = NULL;
        char err[256];
        if (!rgb || !data || !out || !t || resize_plan_create(&plan, w, h, out_w, out_h, err, sizeof err) != 0 ||
            (rc = picture_at(rgb, w, h, picture)) != 0) {
            rc = MNV_ENOMEM;
        } else {
            mnv_image img;
            make_frame(&img, cases[c].f, rgb, w, h, data);
            preprocess_timing *r = &res[n];
            *r = (preprocess_timing){.format = cases[c].f, .width = w, .height = h};
            time_one(1, plan, &img, rgb, out_w, out_h, out, t, iters, warmup, &r->fused_ms, &r->fused_min_ms);
            time_one(0, plan, &img, rgb, out_w, out_h, out, t, iters, warmup, &r->separate_ms,
                     &r->separate_min_ms);
            n++;
        }
        resize_plan_free(plan);
        free(rgb), free(data), free(out), free(t);
    }
    return rc ? rc : n;
}
