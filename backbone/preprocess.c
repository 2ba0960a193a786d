/*
 * Image to network input: separable triangle-filter resize, then (px - mean)
 * / std. The filter's support grows with the downscale factor, as in PIL's
 * BILINEAR resize that made the golden inputs, so a 1920-wide frame is
 * averaged over its pixels instead of sampled at 300 points (plain bilinear
 * sampling would alias fine texture into the network's input).
 *
 * YUV frames are converted to RGB inside the horizontal pass, one input row
 * at a time into a small per-thread buffer, so the frame is read once and no
 * full-size RGB copy is ever written.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"
#include "backbone/yuv_internal.h"

typedef struct taps {
    int *first;               /* per output index: first input index */
    int *count;               /* per output index: number of inputs */
    float *w;                 /* per output index: max_taps weights */
    int max_taps;
} taps;

static void taps_free(taps *t)
{
    free(t->first), free(t->count), free(t->w);
    t->first = t->count = NULL, t->w = NULL; /* a failed taps_make is freed again with its plan */
}

static int taps_make(taps *t, int in, int out)
{
    double scale = (double)in / out;
    double fscale = scale > 1.0 ? scale : 1.0;
    double support = fscale; /* the triangle's radius is 1 input pixel, widened */
    t->max_taps = (int)ceil(support) * 2 + 1;
    t->first = malloc((size_t)out * sizeof *t->first);
    t->count = malloc((size_t)out * sizeof *t->count);
    t->w = calloc((size_t)out * t->max_taps, sizeof *t->w);
    if (!t->first || !t->count || !t->w) {
        taps_free(t);
        return -1;
    }
    for (int o = 0; o < out; o++) {
        double centre = (o + 0.5) * scale;
        int lo = (int)(centre - support + 0.5);
        int hi = (int)(centre + support + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > in)
            hi = in;
        if (hi - lo > t->max_taps)
            hi = lo + t->max_taps;
        double sum = 0.0;
        float *dst = t->w + (size_t)o * t->max_taps;
        for (int i = lo; i < hi; i++) {
            double v = 1.0 - fabs((i + 0.5 - centre) / fscale);
            dst[i - lo] = (float)(v > 0.0 ? v : 0.0);
            sum += dst[i - lo];
        }
        for (int i = lo; i < hi && sum > 0.0; i++)
            dst[i - lo] = (float)(dst[i - lo] / sum);
        t->first[o] = lo;
        t->count[o] = hi - lo;
    }
    return 0;
}

struct resize_plan {
    int in_w, in_h, out_w, out_h;
    taps x, y;
    float *rows;              /* in_h x out_w x 3: the horizontal pass */
    int x_lo, x_hi, y_lo, y_hi; /* the input columns and rows any tap reads */
    float *conv;              /* conv_threads x 3 x in_w: a YUV row converted, as R, G, B planes */
    int conv_threads;         /* omp_get_max_threads() when the plan was made */
};

void resize_plan_free(resize_plan *p)
{
    if (!p)
        return;
    taps_free(&p->x);
    taps_free(&p->y);
    free(p->rows);
    free(p->conv);
    free(p);
}

/* [lo, hi): the inputs that some output's taps read. */
static void taps_span(const taps *t, int out, int *lo, int *hi)
{
    *lo = t->first[0], *hi = t->first[0] + t->count[0];
    for (int o = 1; o < out; o++) {
        if (t->first[o] < *lo)
            *lo = t->first[o];
        if (t->first[o] + t->count[o] > *hi)
            *hi = t->first[o] + t->count[o];
    }
}

int resize_plan_create(resize_plan **out, int in_w, int in_h, int out_w, int out_h,
                       char *err, size_t errlen)
{
    *out = NULL;
    if (in_w < 1 || in_h < 1 || out_w < 1 || out_h < 1)
        return mnv_error(err, errlen, MNV_EINVAL, "cannot resize %dx%d to %dx%d", in_w, in_h, out_w, out_h);
    resize_plan *p = calloc(1, sizeof *p);
    if (!p)
        return mnv_error(err, errlen, MNV_ENOMEM, "out of memory");
    p->in_w = in_w, p->in_h = in_h, p->out_w = out_w, p->out_h = out_h;
    p->rows = malloc((size_t)in_h * out_w * 3 * sizeof *p->rows);
    p->conv_threads = omp_get_max_threads();
    p->conv = malloc((size_t)p->conv_threads * 3 * in_w * sizeof *p->conv);
    if (!p->rows || !p->conv || taps_make(&p->x, in_w, out_w) || taps_make(&p->y, in_h, out_h)) {
        resize_plan_free(p);
        return mnv_error(err, errlen, MNV_ENOMEM, "out of memory for a %dx%d resize", in_w, in_h);
    }
    taps_span(&p->x, out_w, &p->x_lo, &p->x_hi);
    taps_span(&p->y, out_h, &p->y_lo, &p->y_hi);
    *out = p;
    return 0;
}

/* The second pass, over the plan's rows of horizontally filtered pixels. */
static void vertical_pass(const resize_plan *p, int out_w, int out_h, float mean, float std, float *out)
{
    const float *rows = p->rows;
    const taps *ty = &p->y;
    const int n = out_w * 3;
    #pragma omp parallel for schedule(static)
    for (int y = 0; y < out_h; y++) {
        const float *wt = ty->w + (size_t)y * ty->max_taps;
        const float *src = rows + (size_t)ty->first[y] * n;
        float *dst = out + (size_t)y * n;
        /* tap by tap over the whole row, so that the loops run on vectors;
         * each value still sums its taps from 0 in tap order, as one loop
         * per value would */
        for (int x = 0; x < n; x++)
            dst[x] = 0.0f;
        for (int k = 0; k < ty->count[y]; k++) {
            const float w = wt[k], *s = src + (size_t)k * n;
            for (int x = 0; x < n; x++)
                dst[x] += w * s[x];
        }
        for (int x = 0; x < n; x++) {
            /* PIL rounds each pass to 8 bits; rounding the result keeps the
             * network input on the same grid of values. Adding and taking
             * away 1.5 * 2^23 rounds v in [0, 255] to the nearest integer,
             * ties to even, as nearbyintf does (and, unlike the call,
             * vectorizes). */
            float v = dst[x] < 0.0f ? 0.0f : (dst[x] > 255.0f ? 255.0f : dst[x]);
            v = (v + 0x1.8p23f) - 0x1.8p23f;
            dst[x] = (v - mean) / std;
        }
    }
}

void preprocess_rgb24(resize_plan *p, const uint8_t *rgb, int w, int h, size_t stride,
                      int out_w, int out_h, float mean, float std, float *out)
{
    if (w == out_w && h == out_h) {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w * 3; x++)
                out[(size_t)y * w * 3 + x] = ((float)rgb[(size_t)y * stride + x] - mean) / std;
        return;
    }
    float *rows = p->rows;
    const taps *tx = &p->x;
    #pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++) {
        const uint8_t *src = rgb + (size_t)y * stride;
        float *dst = rows + (size_t)y * out_w * 3;
        for (int x = 0; x < out_w; x++) {
            const float *wt = tx->w + (size_t)x * tx->max_taps;
            const uint8_t *px = src + (size_t)tx->first[x] * 3;
            float r = 0, g = 0, b = 0;
            for (int k = 0; k < tx->count[x]; k++) {
                r += wt[k] * px[3 * k];
                g += wt[k] * px[3 * k + 1];
                b += wt[k] * px[3 * k + 2];
            }
            dst[3 * x] = r, dst[3 * x + 1] = g, dst[3 * x + 2] = b;
        }
    }
    vertical_pass(p, out_w, out_h, mean, std, out);
}

#define SAME_CHUNK 256 /* pixels converted at a time at the same size (even) */

/* The horizontal taps over one converted row, into out_w interleaved RGB. */
static void filter_row(const taps *tx, int out_w, const float *r, const float *g, const float *b,
                       float *dst)
{
    for (int x = 0; x < out_w; x++) {
        const float *wt = tx->w + (size_t)x * tx->max_taps;
        const int f = tx->first[x];
        float sr = 0, sg = 0, sb = 0;
        for (int k = 0; k < tx->count[x]; k++) {
            sr += wt[k] * r[f + k];
            sg += wt[k] * g[f + k];
            sb += wt[k] * b[f + k];
        }
        dst[3 * x] = sr, dst[3 * x + 1] = sg, dst[3 * x + 2] = sb;
    }
}

void preprocess_image(resize_plan *p, const mnv_image *img, int out_w, int out_h, float mean,
                      float std, float *out)
{
    const int w = img->width, h = img->height;
    if (img->format == MNV_PIX_RGB24) {
        preprocess_rgb24(p, img->plane[0], w, h, img->stride[0], out_w, out_h, mean, std, out);
        return;
    }
    if ((unsigned)img->format >= MNV_PIX_COUNT)
        return;
    if (w == out_w && h == out_h) {
        /* Rounded as mnv_image_to_rgb24 rounds: exactly its result, copied
         * as preprocess_rgb24 copies. */
        #pragma omp parallel for schedule(static)
        for (int y = 0; y < h; y++) {
            float *dst = out + (size_t)y * w * 3;
            for (int x0 = 0; x0 < w; x0 += SAME_CHUNK) {
                int n = w - x0 < SAME_CHUNK ? w - x0 : SAME_CHUNK;
                float r[SAME_CHUNK], g[SAME_CHUNK], b[SAME_CHUNK];
                yuv_row(img, y, x0, x0 + n, r, g, b);
                for (int i = 0; i < n; i++) {
                    dst[3 * (x0 + i)] = ((float)yuv_round8(r[i]) - mean) / std;
                    dst[3 * (x0 + i) + 1] = ((float)yuv_round8(g[i]) - mean) / std;
                    dst[3 * (x0 + i) + 2] = ((float)yuv_round8(b[i]) - mean) / std;
                }
            }
        }
        return;
    }
    /* The plan's conversion rows serve the threads it was made for; a team
     * grown since then runs with that many. */
    int threads = omp_get_max_threads();
    if (threads > p->conv_threads)
        threads = p->conv_threads;
    #pragma omp parallel num_threads(threads)
    {
        float *r = p->conv + (size_t)omp_get_thread_num() * 3 * w, *g = r + w, *b = g + w;
        #pragma omp for schedule(static)
        for (int y = p->y_lo; y < p->y_hi; y++) {
            /* yuv_row starts at an even pixel: r[x] is pixel x */
            int base = p->x_lo & ~1;
            yuv_row(img, y, p->x_lo, p->x_hi, r + base, g + base, b + base);
            filter_row(&p->x, out_w, r, g, b, p->rows + (size_t)y * out_w * 3);
        }
    }
    vertical_pass(p, out_w, out_h, mean, std, out);
}
