/*
 * Every convolution variant in the table against the reference loops, on
 * awkward shapes (odd channel counts, maps smaller than a kernel, SAME and
 * VALID, both strides, every activation, with and without a residual) and on
 * the real layer shapes of the default model, at 1 and 2 OpenMP threads;
 * then the table itself: what each variant claims, what conv_kernel_choose
 * picks, and the MNV2DET_ISA cap of isa_select().
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"
#include "check.h"

/* xorshift64*: a fixed sequence on every platform. */
typedef struct rng { uint64_t s; } rng;

static float rng_uniform(rng *r) /* [-1, 1) */
{
    r->s ^= r->s >> 12, r->s ^= r->s << 25, r->s ^= r->s >> 27;
    uint32_t x = (uint32_t)((r->s * 2685821657736338717ull) >> 40); /* 24 bits */
    return (float)x / (float)(1u << 23) - 1.0f;
}

static void fill(rng *r, float *p, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        p[i] = rng_uniform(r) * scale;
}

/* Random exact float16 values of magnitude [2^-6, 2) times scale's power of
 * two, with zeros of both signs and float16 subnormals mixed in. */
static void fill_f16(rng *r, float *p, size_t n, int scale_exp)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)((rng_uniform(r) + 1.0f) * 8388608.0f);
        uint16_t sign = (uint16_t)((bits & 1) << 15), man = (uint16_t)((bits >> 1) & 0x3ff);
        int exp = 9 + (int)((bits >> 11) % 7) + scale_exp;
        if (exp < 1)
            exp = 1;
        if (i % 97 == 5)
            exp = 0; /* subnormal */
        else if (i % 101 == 7)
            exp = 0, man = 0;
        p[i] = fp16_to_f32((uint16_t)(sign | exp << 10 | man));
    }
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A layer to test: geometry plus whether it gets a residual. */
typedef struct layer_case {
    conv_desc d;
    int residual;
    /* 1: weights and bias exactly float16 values; 2: the same, and the layer
     * big enough that the GEMM variants must store them as float16 */
    int f16w;
} layer_case;

static conv_desc make_desc(int in_h, int in_w, int in_c, int out_c, int k, int stride,
                           int padding, int depthwise, act_kind act)
{
    conv_desc d = {0};
    d.in_h = in_h, d.in_w = in_w, d.in_c = in_c;
    d.k_h = d.k_w = k;
    d.stride_h = d.stride_w = stride;
    d.dil_h = d.dil_w = 1;
    d.out_h = conv_out_size(in_h, k, stride, 1, padding);
    d.out_w = conv_out_size(in_w, k, stride, 1, padding);
    d.pad_top = conv_pad_before(in_h, k, stride, 1, padding);
    d.pad_left = conv_pad_before(in_w, k, stride, 1, padding);
    d.depthwise = depthwise;
    d.depth_multiplier = 1;
    d.out_c = depthwise ? in_c : out_c;
    d.act = act;
    return d;
}

static void describe(const layer_case *c, char *buf, size_t len)
{
    const conv_desc *d = &c->d;
    snprintf(buf, len, "%s %dx%dx%d -> %dx%dx%d k%dx%d s%d pad %d,%d act %d%s",
             d->depthwise ? "dw" : "conv", d->in_h, d->in_w, d->in_c, d->out_h, d->out_w,
             d->out_c, d->k_h, d->k_w, d->stride_h, d->pad_top, d->pad_left, (int)d->act,
             c->residual ? " +res" : "");
}

/* The reference result, and per output element the bound its rounding error
 * is measured against: the same convolution over |input|, |weights|, |bias|
 * gives sum |a*b| + |bias| exactly. */
typedef struct expected {
    float *out, *mag;
    size_t n;
} expected;

static void reference(const layer_case *c, const float *in, const float *w, const float *bias,
                      const float *res, expected *e)
{
    const conv_desc *d = &c->d;
    size_t nin = (size_t)d->in_h * d->in_w * d->in_c;
    size_t nw = d->depthwise ? (size_t)d->k_h * d->k_w * d->out_c
                             : (size_t)d->out_c * d->k_h * d->k_w * d->in_c;
    e->n = (size_t)d->out_h * d->out_w * d->out_c;
    e->out = xmalloc(e->n * sizeof(float));
    e->mag = xmalloc(e->n * sizeof(float));
    float *ain = xmalloc(nin * sizeof(float)), *aw = xmalloc(nw * sizeof(float));
    float *ab = xmalloc((size_t)d->out_c * sizeof(float));
    for (size_t i = 0; i < nin; i++)
        ain[i] = fabsf(in[i]);
    for (size_t i = 0; i < nw; i++)
        aw[i] = fabsf(w[i]);
    for (int i = 0; i < d->out_c; i++)
        ab[i] = fabsf(bias[i]);
    conv_desc linear = *d;
    linear.act = ACT_NONE;
    if (d->depthwise) {
        dwconv2d_f32_nhwc_ref(d, in, w, bias, e->out);
        if (res)
            add_f32_ref(e->out, res, e->out, e->n, ACT_NONE);
        dwconv2d_f32_nhwc_ref(&linear, ain, aw, ab, e->mag);
    } else {
        conv2d_f32_nhwc_ref(d, in, w, bias, res, e->out);
        conv2d_f32_nhwc_ref(&linear, ain, aw, ab, NULL, e->mag);
    }
    if (res)
        for (size_t i = 0; i < e->n; i++)
            e->mag[i] += fabsf(res[i]);
    free(ain), free(aw), free(ab);
}

#define GUARD 64             /* floats after the output that must stay untouched */
#define GUARD_VALUE 12345.0f

/* Pack and run k on the case; returns how many outputs are off (or the
 * guard was written), reporting the first few. */
/* Packs, runs and compares; *f16 (may be NULL) tells whether the variant
 * stored the weights as float16. */
static int run_variant(const conv_kernel *k, const layer_case *c, const float *in,
                       const float *w, const float *bias, const float *res,
                       const expected *e, int threads, const work_split *ws, int report, int *f16)
{
    conv_desc d = c->d;
    d.split = ws;
    size_t psize = k->packed_size(&c->d);
    void *packed = aligned_alloc(64, (psize + 63) / 64 * 64 + 64);
    float *out = xmalloc((e->n + GUARD) * sizeof(float));
    if (!packed) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < e->n + GUARD; i++)
        out[i] = GUARD_VALUE;
    k->pack(&c->d, w, bias, packed);
    if (f16)
        *f16 = k->weights_f16 ? k->weights_f16(&c->d, packed) : 0;
    omp_set_num_threads(threads);
    k->run(&d, packed, in, res, out);

    int bad = 0;
    for (size_t i = 0; i < e->n; i++) {
        float tol = 1e-5f * (1.0f + e->mag[i]);
        if (!(fabsf(out[i] - e->out[i]) <= tol)) {
            if (report && bad < 3) {
                char what[160];
                describe(c, what, sizeof what);
                fprintf(stderr, "%s at %d threads, %s: out[%zu] = %g, reference %g (tol %g)\n",
                        k->name, threads, what, i, out[i], e->out[i], tol);
            }
            bad++;
        }
    }
    for (size_t i = e->n; i < e->n + GUARD; i++)
        if (out[i] != GUARD_VALUE) {
            if (report) {
                char what[160];
                describe(c, what, sizeof what);
                fprintf(stderr, "%s at %d threads, %s: wrote past the output (float %zu)\n",
                        k->name, threads, what, i - e->n);
            }
            bad++;
            break;
        }
    free(packed);
    free(out);
    return bad;
}

typedef struct variant_stats {
    const conv_kernel *k;
    int cases;
} variant_stats;

/* The ways each case runs: 1 thread, 2 sharing evenly, 2 with the shares
 * the executor gives threads of different speeds (thread 0 slower, then
 * faster): every part of a kernel must be covered whatever the cut. */
typedef struct run_mode {
    int threads;
    double share0;            /* thread 0's share; 0: no split given */
} run_mode;
static const run_mode run_modes[] = {{1, 0}, {2, 0}, {2, 0.27}, {2, 0.74}};
#define N_RUN_MODES (int)(sizeof run_modes / sizeof run_modes[0])

static void mode_split(const run_mode *m, work_split *ws)
{
    const double share[2] = {m->share0, 1.0 - m->share0};
    work_split_set(ws, share, 2);
}

/* Run every variant that takes the case in every run mode. */
static void test_case(const layer_case *c, rng *r, variant_stats *stats, int nvariants)
{
    const conv_desc *d = &c->d;
    if (d->out_h <= 0 || d->out_w <= 0)
        return;
    size_t nin = (size_t)d->in_h * d->in_w * d->in_c;
    size_t kred = (size_t)d->k_h * d->k_w * (d->depthwise ? 1 : (size_t)d->in_c);
    size_t nw = kred * d->out_c;
    size_t nout = (size_t)d->out_h * d->out_w * d->out_c;
    float *in = xmalloc(nin * sizeof(float)), *w = xmalloc(nw * sizeof(float));
    float *bias = xmalloc((size_t)d->out_c * sizeof(float));
    float *res = c->residual ? xmalloc(nout * sizeof(float)) : NULL;
    fill(r, in, nin, 1.0f);
    /* weights ~ 1/sqrt(fan-in) keep sums near the ReLU6 range */
    fill(r, w, nw, 2.0f / sqrtf((float)kred));
    fill(r, bias, (size_t)d->out_c, 1.0f);
    if (c->f16w) {
        int e = 0; /* 2^e near 2 / sqrt(fan-in), as above */
        while (e > -8 && (float)kred > 4.0f * (1 << (-2 * e)))
            e--;
        fill_f16(r, w, nw, e);
        fill_f16(r, bias, (size_t)d->out_c, 0);
    }
    if (res)
        fill(r, res, nout, 1.0f);

    expected e;
    reference(c, in, w, bias, res, &e);
    for (int v = 0; v < nvariants; v++) {
        const conv_kernel *k = stats[v].k;
        if (!cpu_supports(k->isa) || !k->supports(d))
            continue;
        for (int mi = 0; mi < N_RUN_MODES; mi++) {
            const run_mode *m = &run_modes[mi];
            work_split ws;
            mode_split(m, &ws);
            int f16 = 0;
            int bad = run_variant(k, c, in, w, bias, res, &e, m->threads, m->share0 > 0 ? &ws : NULL,
                                  1, &f16);
            char what[160];
            describe(c, what, sizeof what);
            CHECK(bad == 0, "%s at %d threads (thread 0's share %.2f): %d outputs differ on %s",
                  k->name, m->threads, m->share0 > 0 ? m->share0 : 1.0 / m->threads, bad, what);
            /* float16 storage only for exact values, and always for big
             * exact GEMM weights */
            CHECK(!f16 || c->f16w, "%s stored inexact weights as float16 on %s", k->name, what);
            CHECK(f16 || c->f16w != 2 || !k->weights_f16, "%s kept float32 for big float16 weights on %s",
                  k->name, what);
        }
        stats[v].cases++;
    }
    free(e.out), free(e.mag);
    free(in), free(w), free(bias), free(res);
}

static const int channels[] = {1, 3, 7, 15, 16, 17, 33, 100};
#define N_CHANNELS (int)(sizeof channels / sizeof channels[0])
static const int spatial[][2] = {{1, 1}, {2, 2}, {3, 3}, {5, 7}, {19, 19}};
#define N_SPATIAL (int)(sizeof spatial / sizeof spatial[0])
static const act_kind acts[] = {ACT_NONE, ACT_RELU, ACT_RELU6};

/* Awkward shapes. The channel and spatial lists are crossed in full; the
 * other parameters rotate with a counter so that each value meets many
 * shapes without multiplying the run time. */
static void test_awkward(rng *r, variant_stats *stats, int nvariants)
{
    int i = 0;
    /* regular convolutions: 1x1 and 3x3, stride 1 and 2 */
    for (int ci = 0; ci < N_CHANNELS; ci++)
        for (int co = 0; co < N_CHANNELS; co++)
            for (int s = 0; s < N_SPATIAL; s++)
                for (int k = 1; k <= 3; k += 2)
                    for (int stride = 1; stride <= 2; stride++, i++) {
                        layer_case c;
                        int padding = (i / 2) % 2 ? TFL_PAD_VALID : TFL_PAD_SAME;
                        c.d = make_desc(spatial[s][0], spatial[s][1], channels[ci],
                                        channels[co], k, stride, padding, 0, acts[i % 3]);
                        c.residual = (i / 5) % 2;
                        test_case(&c, r, stats, nvariants);
                    }
    /* depthwise 3x3: every channel count, map, stride, padding, act, residual */
    for (int ch = 0; ch < N_CHANNELS; ch++)
        for (int s = 0; s < N_SPATIAL; s++)
            for (int stride = 1; stride <= 2; stride++)
                for (int padding = 0; padding <= 1; padding++)
                    for (int a = 0; a < 3; a++, i++) {
                        layer_case c;
                        c.d = make_desc(spatial[s][0], spatial[s][1], channels[ch],
                                        channels[ch], 3, stride,
                                        padding ? TFL_PAD_VALID : TFL_PAD_SAME, 1, acts[a]);
                        c.residual = i % 2;
                        test_case(&c, r, stats, nvariants);
                    }
    /* a longer depthwise row, so that the interior blocks run with a remainder */
    for (int stride = 1; stride <= 2; stride++) {
        layer_case c = {make_desc(4, 29, 48, 48, 3, stride, TFL_PAD_SAME, 1, ACT_RELU6), 0, 0};
        test_case(&c, r, stats, nvariants);
    }
    /* depthwise maps tall enough for row pairs and several row blocks per
     * thread, wide ones with a channel tail, both paddings and residuals */
    {
        static const int dw[][3] = {{41, 6, 40}, {9, 70, 20}, {23, 23, 700}, {6, 45, 1}};
        for (size_t j = 0; j < sizeof dw / sizeof dw[0]; j++)
            for (int stride = 1; stride <= 2; stride++, i++) {
                layer_case c = {make_desc(dw[j][0], dw[j][1], dw[j][2], dw[j][2], 3, stride,
                                          i % 2 ? TFL_PAD_VALID : TFL_PAD_SAME, 1, acts[i % 3]),
                                (int)(j % 2), 0};
                test_case(&c, r, stats, nvariants);
            }
    }
    /* 3-channel 3x3 stride-2 convolutions (the stem kernels): rows of several
     * tiles with a remainder, odd and even sizes, both paddings, explicit
     * padding on both sides, residuals, output channels across panels */
    {
        static const int stem[][4] = { /* in_h, in_w, out_c, padding */
            {31, 29, 32, TFL_PAD_SAME}, {30, 37, 32, TFL_PAD_VALID}, {4, 50, 40, TFL_PAD_SAME},
            {9, 26, 5, TFL_PAD_VALID}, {2, 61, 64, TFL_PAD_SAME}, {17, 3, 32, TFL_PAD_SAME},
        };
        for (size_t j = 0; j < sizeof stem / sizeof stem[0]; j++, i++) {
            layer_case c = {make_desc(stem[j][0], stem[j][1], 3, stem[j][2], 3, 2, stem[j][3], 0,
                                      acts[i % 3]), (int)(j % 2), 0};
            test_case(&c, r, stats, nvariants);
            /* explicit padding of 1 all round (PyTorch style) */
            c.d.pad_top = c.d.pad_left = 1;
            c.d.out_h = (stem[j][0] + 2 - 3) / 2 + 1;
            c.d.out_w = (stem[j][1] + 2 - 3) / 2 + 1;
            c.residual = !c.residual;
            test_case(&c, r, stats, nvariants);
        }
    }
    /* 1x1 convolutions with the small K that run in strips of whole tiles
     * (a K-specialized loop, two tiles at once for a one-vector panel): out_c
     * around one and two vectors, pixel counts that leave short tiles and odd
     * tile counts, every activation, with and without a residual; the
     * largest map is split between threads */
    {
        static const int ks[] = {16, 24, 32};
        static const int outs[] = {1, 7, 8, 15, 16, 17, 24, 31, 33, 48};
        static const int maps[][2] = {{1, 1}, {4, 5}, {7, 11}, {9, 9}, {13, 13}, {5, 29}, {37, 41}};
        for (int ki = 0; ki < 3; ki++)
            for (int oi = 0; oi < (int)(sizeof outs / sizeof outs[0]); oi++)
                for (int mi = 0; mi < (int)(sizeof maps / sizeof maps[0]); mi++)
                    for (int a = 0; a < 3; a++) {
                        layer_case c;
                        c.d = make_desc(maps[mi][0], maps[mi][1], ks[ki], outs[oi], 1, 1,
                                        TFL_PAD_SAME, 0, acts[a]);
                        c.residual = (mi + a) % 2;
                        test_case(&c, r, stats, nvariants);
                    }
    }
    /* small maps with weights big enough for the small-map kernel (it
     * leaves smaller ones to the GEMM tiles): 1x1 and 3x3, both strides,
     * output channels that leave a partial vector and a narrow last panel */
    {
        static const int maps[][2] = {{1, 1}, {2, 2}, {3, 3}, {2, 3}, {4, 5}, {5, 5}};
        static const int pw_ch[][2] = {{400, 100}, {257, 131}};
        static const int k3_ch[][2] = {{33, 100}, {65, 67}};
        for (int mi = 0; mi < (int)(sizeof maps / sizeof maps[0]); mi++)
            for (int k = 1; k <= 3; k += 2)
                for (int stride = 1; stride <= 2; stride++)
                    for (int ci = 0; ci < 2; ci++, i++) {
                        const int *ch = k == 1 ? pw_ch[ci] : k3_ch[ci];
                        layer_case c;
                        c.d = make_desc(maps[mi][0], maps[mi][1], ch[0], ch[1], k, stride,
                                        i % 2 ? TFL_PAD_VALID : TFL_PAD_SAME, 0, acts[i % 3]);
                        c.residual = (i / 2) % 2;
                        test_case(&c, r, stats, nvariants);
                    }
    }
    /* a 5x5 kernel with dilation 2, for the general convolution */
    layer_case c = {make_desc(9, 11, 5, 20, 5, 1, TFL_PAD_SAME, 0, ACT_RELU), 1, 0};
    c.d.dil_h = c.d.dil_w = 2;
    c.d.pad_top = conv_pad_before(9, 5, 1, 2, TFL_PAD_SAME);
    c.d.pad_left = conv_pad_before(11, 5, 1, 2, TFL_PAD_SAME);
    test_case(&c, r, stats, nvariants);
}

/* Real layers of the default model (SSD MobileNetV2, 300x300). */
static void test_model_layers(rng *r, variant_stats *stats, int nvariants)
{
    const layer_case cases[] = {
        {make_desc(300, 300, 3, 32, 3, 2, TFL_PAD_SAME, 0, ACT_RELU6), 0, 0},    /* stem */
        {make_desc(150, 150, 96, 96, 3, 2, TFL_PAD_SAME, 1, ACT_RELU6), 0, 0},   /* dw s2 */
        {make_desc(75, 75, 144, 144, 3, 1, TFL_PAD_SAME, 1, ACT_RELU6), 0, 0},   /* dw s1 */
        {make_desc(75, 75, 24, 144, 1, 1, TFL_PAD_SAME, 0, ACT_RELU6), 0, 0},    /* expand */
        {make_desc(75, 75, 144, 24, 1, 1, TFL_PAD_SAME, 0, ACT_NONE), 1, 0},     /* project + add */
        {make_desc(10, 10, 960, 160, 1, 1, TFL_PAD_SAME, 0, ACT_NONE), 1, 0},
        {make_desc(10, 10, 320, 1280, 1, 1, TFL_PAD_SAME, 0, ACT_RELU6), 0, 0},  /* Conv_1 */
        {make_desc(10, 10, 256, 512, 3, 2, TFL_PAD_SAME, 0, ACT_RELU6), 0, 0},   /* head 3x3 s2 */
        {make_desc(19, 19, 576, 12, 1, 1, TFL_PAD_SAME, 0, ACT_NONE), 0, 0},     /* box predictor */
        {make_desc(3, 3, 256, 144, 1, 1, TFL_PAD_SAME, 0, ACT_NONE), 0, 0},      /* class predictor */
        {make_desc(1, 1, 128, 72, 1, 1, TFL_PAD_SAME, 0, ACT_NONE), 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        test_case(&cases[i], r, stats, nvariants);
}

/* Weights that are exactly float16 values (a float16 model's): big GEMM
 * layers store them as float16 and convert a block at a time, so these run
 * that path (odd channel counts, a narrow last panel, residual, a 3x3 conv
 * whose one panel nearly fills the conversion buffer); small layers, and K
 * too big for the buffer, keep float32. Either way the results must be the
 * reference's. */
static void test_f16_weights(rng *r, variant_stats *stats, int nvariants)
{
    const layer_case cases[] = {
        {make_desc(7, 9, 160, 300, 1, 1, TFL_PAD_SAME, 0, ACT_RELU6), 1, 2},
        {make_desc(10, 10, 960, 160, 1, 1, TFL_PAD_SAME, 0, ACT_NONE), 1, 2},
        {make_desc(5, 7, 64, 70, 3, 1, TFL_PAD_SAME, 0, ACT_RELU), 0, 2},
        {make_desc(10, 10, 256, 512, 3, 2, TFL_PAD_SAME, 0, ACT_RELU6), 0, 2},
        {make_desc(3, 5, 2600, 40, 1, 1, TFL_PAD_SAME, 0, ACT_NONE), 0, 1},  /* K over the buffer */
        {make_desc(9, 9, 24, 33, 1, 1, TFL_PAD_SAME, 0, ACT_NONE), 1, 1},    /* small */
        {make_desc(11, 11, 96, 96, 3, 2, TFL_PAD_SAME, 1, ACT_RELU6), 0, 1}, /* depthwise */
        /* small maps: the weights are read as float16 inside the tiles */
        {make_desc(3, 3, 480, 70, 1, 1, TFL_PAD_SAME, 0, ACT_NONE), 1, 2},
        {make_desc(5, 5, 128, 256, 3, 2, TFL_PAD_SAME, 0, ACT_RELU6), 0, 2},
        {make_desc(2, 3, 200, 180, 3, 1, TFL_PAD_SAME, 0, ACT_RELU), 1, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        test_case(&cases[i], r, stats, nvariants);
}

/* A variant whose pack ignored a weight, or whose run skipped a tap, must
 * be caught: run each variant once with one weight changed after the
 * reference was computed and expect mismatches. */
static void test_detects_errors(rng *r, variant_stats *stats, int nvariants)
{
    for (int v = 0; v < nvariants; v++) {
        const conv_kernel *k = stats[v].k;
        if (!cpu_supports(k->isa))
            continue;
        const layer_case tries[] = {
            {make_desc(5, 7, 17, 33, 1, 1, TFL_PAD_SAME, 0, ACT_NONE), 0, 0},
            {make_desc(5, 7, 17, 17, 3, 1, TFL_PAD_SAME, 1, ACT_NONE), 0, 0},
            {make_desc(5, 7, 17, 17, 3, 2, TFL_PAD_SAME, 1, ACT_NONE), 0, 0},
            {make_desc(5, 7, 17, 33, 3, 2, TFL_PAD_SAME, 0, ACT_NONE), 0, 0},
            {make_desc(5, 7, 3, 33, 3, 2, TFL_PAD_SAME, 0, ACT_NONE), 0, 0},
            {make_desc(3, 3, 400, 100, 1, 1, TFL_PAD_SAME, 0, ACT_NONE), 0, 0},
        };
        const layer_case *c = NULL;
        for (size_t i = 0; i < sizeof tries / sizeof tries[0] && !c; i++)
            if (k->supports(&tries[i].d))
                c = &tries[i];
        CHECK(c != NULL, "%s accepts none of the basic layer kinds", k->name);
        if (!c)
            continue;
        const conv_desc *d = &c->d;
        size_t nin = (size_t)d->in_h * d->in_w * d->in_c;
        size_t nw = (size_t)d->k_h * d->k_w * (d->depthwise ? 1 : (size_t)d->in_c) * d->out_c;
        float *in = xmalloc(nin * sizeof(float)), *w = xmalloc(nw * sizeof(float));
        float *bias = xmalloc((size_t)d->out_c * sizeof(float));
        fill(r, in, nin, 1.0f), fill(r, w, nw, 0.5f), fill(r, bias, (size_t)d->out_c, 1.0f);
        expected e;
        reference(c, in, w, bias, NULL, &e);
        w[nw - 1] += 1.0f; /* the last tap of the last output channel */
        int bad = run_variant(k, c, in, w, bias, NULL, &e, 1, NULL, 0, NULL);
        CHECK(bad > 0, "%s: a changed weight went unnoticed", k->name);
        free(e.out), free(e.mag), free(in), free(w), free(bias);
    }
}

/* The kinds of layer a variant claims by its name must be accepted, and
 * the other kinds refused. */
static void test_claims(void)
{
    const conv_desc pw = make_desc(19, 19, 96, 576, 1, 1, TFL_PAD_SAME, 0, ACT_RELU6);
    const conv_desc dw1 = make_desc(19, 19, 576, 576, 3, 1, TFL_PAD_SAME, 1, ACT_RELU6);
    const conv_desc dw2 = make_desc(19, 19, 576, 576, 3, 2, TFL_PAD_SAME, 1, ACT_RELU6);
    const conv_desc stem = make_desc(300, 300, 3, 32, 3, 2, TFL_PAD_SAME, 0, ACT_RELU6);
    const conv_desc head = make_desc(10, 10, 256, 512, 3, 2, TFL_PAD_SAME, 0, ACT_RELU6);
    int n = 0, refs = 0;
    for (const conv_kernel *const *kp = conv_kernels_all(); *kp; kp++, n++) {
        const conv_kernel *k = *kp;
        CHECK(k->name && k->supports && k->packed_size && k->pack && k->run,
              "variant %d has an empty field", n);
        int is_ref = k->isa == MNV_ISA_REF;
        refs += is_ref;
        CHECK(is_ref || refs == 0, "%s comes after a reference variant", k->name);
        if (!is_ref)
            CHECK(strstr(k->name, isa_name(k->isa)) != NULL, "%s: name does not say its ISA %s",
                  k->name, isa_name(k->isa));
        if (starts_with(k->name, "pwconv")) {
            CHECK(k->supports(&pw), "%s refuses a 1x1 conv", k->name);
            CHECK(!k->supports(&head) && !k->supports(&dw1), "%s accepts a non-1x1 layer", k->name);
        } else if (starts_with(k->name, "dwconv3x3s1")) {
            CHECK(k->supports(&dw1), "%s refuses a 3x3 s1 depthwise conv", k->name);
            CHECK(!k->supports(&dw2) && !k->supports(&pw), "%s accepts a layer it should not", k->name);
        } else if (starts_with(k->name, "dwconv3x3s2")) {
            CHECK(k->supports(&dw2), "%s refuses a 3x3 s2 depthwise conv", k->name);
            CHECK(!k->supports(&dw1) && !k->supports(&pw), "%s accepts a layer it should not", k->name);
        } else if (starts_with(k->name, "dwconv")) {
            CHECK(k->supports(&dw1) && k->supports(&dw2), "%s refuses a depthwise conv", k->name);
            CHECK(!k->supports(&pw), "%s accepts a regular conv", k->name);
        } else if (starts_with(k->name, "conv3x3s2_stem")) {
            CHECK(k->supports(&stem), "%s refuses the stem", k->name);
            CHECK(!k->supports(&head) && !k->supports(&pw) && !k->supports(&dw2),
                  "%s accepts a layer other than a 3-channel 3x3 s2 conv", k->name);
        } else if (starts_with(k->name, "conv_smallmap")) {
            const conv_desc pw3 = make_desc(3, 3, 960, 64, 1, 1, TFL_PAD_SAME, 0, ACT_NONE);
            const conv_desc tiny = make_desc(3, 3, 64, 24, 1, 1, TFL_PAD_SAME, 0, ACT_NONE);
            const conv_desc c2 = make_desc(3, 3, 256, 128, 3, 2, TFL_PAD_SAME, 0, ACT_RELU6);
            const conv_desc dw3 = make_desc(3, 3, 576, 576, 3, 1, TFL_PAD_SAME, 1, ACT_RELU6);
            CHECK(k->supports(&pw3) && k->supports(&c2), "%s refuses a small-map conv", k->name);
            CHECK(!k->supports(&pw) && !k->supports(&stem) && !k->supports(&dw3) &&
                      !k->supports(&tiny),
                  "%s accepts a big map, a depthwise conv or tiny weights", k->name);
        } else if (starts_with(k->name, "conv")) {
            CHECK(k->supports(&stem) && k->supports(&head) && k->supports(&pw),
                  "%s refuses a regular conv", k->name);
            CHECK(!k->supports(&dw1), "%s accepts a depthwise conv", k->name);
        } else {
            CHECK(0, "%s: unknown kind of variant", k->name);
        }
    }
    CHECK(refs == 2 && n >= 2, "table: %d variants, %d reference ones (want the 2 last)", n, refs);
}

static void test_choose(void)
{
    const conv_desc layers[] = {
        make_desc(19, 19, 96, 576, 1, 1, TFL_PAD_SAME, 0, ACT_RELU6),
        make_desc(19, 19, 576, 576, 3, 1, TFL_PAD_SAME, 1, ACT_RELU6),
        make_desc(19, 19, 576, 576, 3, 2, TFL_PAD_SAME, 1, ACT_RELU6),
        make_desc(300, 300, 3, 32, 3, 2, TFL_PAD_SAME, 0, ACT_RELU6),
        make_desc(10, 10, 256, 512, 3, 2, TFL_PAD_SAME, 0, ACT_RELU6),
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        const conv_desc *d = &layers[i];
        const conv_kernel *k = conv_kernel_choose(d, MNV_ISA_REF);
        CHECK(k && k->isa == MNV_ISA_REF, "layer %zu: max_isa ref chose %s", i, k ? k->name : "none");
        for (int isa = MNV_ISA_AVX2; isa < MNV_ISA_COUNT; isa++) {
            k = conv_kernel_choose(d, (mnv_isa)isa);
            CHECK(k && k->supports(d) && (int)k->isa <= isa && cpu_supports(k->isa),
                  "layer %zu, max_isa %s: chose %s", i, isa_name((mnv_isa)isa), k ? k->name : "none");
            /* a SIMD variant of the very ISA exists for every layer kind */
            if (k && cpu_supports((mnv_isa)isa))
                CHECK((int)k->isa == isa, "layer %zu: max_isa %s chose %s", i,
                      isa_name((mnv_isa)isa), k->name);
        }
    }
}

static void test_isa_select(void)
{
    const char *saved = getenv("MNV2DET_ISA");
    char *copy = saved ? strdup(saved) : NULL;
    unsetenv("MNV2DET_ISA");
    mnv_isa best = isa_select();
    CHECK(cpu_supports(best), "isa_select() gave %s, which this CPU cannot run", isa_name(best));
    for (int i = best + 1; i < MNV_ISA_COUNT; i++)
        if (i != MNV_ISA_NEON && best != MNV_ISA_NEON)
            CHECK(!cpu_supports((mnv_isa)i), "isa_select() gave %s but %s is supported",
                  isa_name(best), isa_name((mnv_isa)i));
    setenv("MNV2DET_ISA", "ref", 1);
    CHECK(isa_select() == MNV_ISA_REF, "MNV2DET_ISA=ref gave %s", isa_name(isa_select()));
    for (int i = 1; i < MNV_ISA_COUNT; i++) {
        setenv("MNV2DET_ISA", isa_name((mnv_isa)i), 1);
        mnv_isa got = isa_select();
        if (cpu_supports((mnv_isa)i))
            CHECK(got == (mnv_isa)i, "MNV2DET_ISA=%s gave %s", isa_name((mnv_isa)i), isa_name(got));
        else
            CHECK(got == best, "MNV2DET_ISA=%s (unsupported) gave %s", isa_name((mnv_isa)i),
                  isa_name(got));
    }
    setenv("MNV2DET_ISA", "no-such-isa", 1);
    CHECK(isa_select() == best, "an unknown MNV2DET_ISA changed the choice");
    if (copy)
        setenv("MNV2DET_ISA", copy, 1);
    else
        unsetenv("MNV2DET_ISA");
    free(copy);
}

int main(void)
{
    variant_stats stats[64];
    int nvariants = 0;
    for (const conv_kernel *const *k = conv_kernels_all(); *k && nvariants < 64; k++)
        stats[nvariants++] = (variant_stats){*k, 0};

    rng r = {0x9e3779b97f4a7c15ull};
    test_claims();
    test_choose();
    test_isa_select();
    test_detects_errors(&r, stats, nvariants);
    test_awkward(&r, stats, nvariants);
    test_model_layers(&r, stats, nvariants);
    test_f16_weights(&r, stats, nvariants);

    for (int v = 0; v < nvariants; v++) {
        if (cpu_supports(stats[v].k->isa))
            printf("ran     %-30s on %d cases\n", stats[v].k->name, stats[v].cases);
        else
            printf("skipped %-30s (this CPU has no %s)\n", stats[v].k->name,
                   isa_name(stats[v].k->isa));
        if (cpu_supports(stats[v].k->isa))
            CHECK(stats[v].cases > 0, "%s ran on no case", stats[v].k->name);
    }
    omp_set_num_threads(2);
    return check_finish("kernels");
}
