/*
 * Times every int8 convolution variant this CPU runs (the qconv_kernel
 * table, references included) on MobileNetV2's layer shapes, at one thread
 * and at the team's size. Each layer runs repeatedly on the same buffers
 * (warm caches): this measures the kernels. Not a test; each variant's
 * result is still compared with the reference's and a difference reported.
 *
 *   bench_q8 [--reps N] [--only TEXT] [--kernel TEXT] [--t1] [--narrow]
 *
 * --only keeps the layers whose name contains TEXT (e.g. "dw"), so that one
 * kind of kernel can be timed without waiting for the others. --kernel
 * times only the variants whose name contains TEXT (e.g. "avx512"; the
 * references still run once, untimed, for the comparison), --t1 only at
 * one thread: on a busy machine an old and a new build can then be run
 * alternately, a few seconds each. --narrow takes scales whose multipliers
 * have the 32-bit form (quant_narrow_form: power-of-two activation scales,
 * weight scales 1 to 3 times a power of two), as 54 of the int8 default
 * model's 72 layers do; the default scales give the 64-bit form.
 *
 * Prints per layer and variant the median and the best time, and GMAC/s at
 * the median (on a shared machine the best shows what the kernel can do when
 * no other process takes its CPU).
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backbone/backbone.h"

typedef struct q8_layer {
    const char *name;
    int h, w, cin, cout, k, stride, depthwise;
} q8_layer;

/* SSD MobileNetV2 at 300x300: the stem, the 1x1 layers from the widest
 * maps to the deepest, the SSD head's largest 3x3 convolution (1.2 MB of
 * weights), and depthwise layers of both strides */
static const q8_layer layers[] = {
    {"stem 3x3 s2 300x300 3->32", 300, 300, 3, 32, 3, 2, 0},
    {"1x1 150x150 32->16", 150, 150, 32, 16, 1, 1, 0},
    {"1x1 150x150 16->96", 150, 150, 16, 96, 1, 1, 0},
    {"1x1 150x150 96->24", 150, 150, 96, 24, 1, 1, 0},
    {"1x1 75x75 24->144", 75, 75, 24, 144, 1, 1, 0},
    {"1x1 75x75 144->24", 75, 75, 144, 24, 1, 1, 0},
    {"1x1 38x38 32->192", 38, 38, 32, 192, 1, 1, 0},
    {"1x1 38x38 192->32", 38, 38, 192, 32, 1, 1, 0},
    {"1x1 19x19 576->96", 19, 19, 576, 96, 1, 1, 0},
    {"1x1 10x10 960->320", 10, 10, 960, 320, 1, 1, 0},
    {"3x3 s2 10x10 256->512", 10, 10, 256, 512, 3, 2, 0},
    {"dw 150x150x32 s1", 150, 150, 32, 32, 3, 1, 1},
    {"dw 150x150x96 s2", 150, 150, 96, 96, 3, 2, 1},
    {"dw 75x75x144 s1", 75, 75, 144, 144, 3, 1, 1},
    {"dw 38x38x192 s1", 38, 38, 192, 192, 3, 1, 1},
    {"dw 19x19x576 s2", 19, 19, 576, 576, 3, 2, 1},
    /* the early layers' channel counts on small maps (whether a layer's
     * speed depends on its map's size), and 150x150 16 -> 64: 16 -> 96
     * without its 32-channel panel */
    {"dw 38x38x144 s1 small", 38, 38, 144, 144, 3, 1, 1},
    {"dw 40x40x32 s1 small", 40, 40, 32, 32, 3, 1, 1},
    {"1x1 38x38 24->144", 38, 38, 24, 144, 1, 1, 0},
    {"1x1 38x38 24->128", 38, 38, 24, 128, 1, 1, 0},
    {"1x1 40x40 16->96", 40, 40, 16, 96, 1, 1, 0},
    {"1x1 150x150 16->64", 150, 150, 16, 64, 1, 1, 0},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void *xalloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    int reps = 20;
    const char *only = NULL, *kname = NULL;
    int t1 = 0, narrow = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--kernel") == 0 && i + 1 < argc) {
            kname = argv[++i];
        } else if (strcmp(argv[i], "--t1") == 0) {
            t1 = 1;
        } else if (strcmp(argv[i], "--narrow") == 0) {
            narrow = 1;
        } else {
            fprintf(stderr, "usage: %s [--reps N] [--only TEXT] [--kernel TEXT] [--t1] [--narrow]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1 || reps > 10000)
        reps = 20;
    const int team = omp_get_max_threads();
    double *times = malloc((size_t)reps * sizeof(double));
    if (!times)
        return 1;
    printf("%-26s %-34s %7s %10s %8s %9s\n", "layer", "variant", "threads", "median ms", "best ms", "GMAC/s");
    uint64_t seed = 0x2545f4914f6cdd1dull;
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const q8_layer *L = &layers[l];
        if (only && !strstr(L->name, only))
            continue;
        conv_desc d = {0};
        d.in_h = L->h, d.in_w = L->w, d.in_c = L->cin;
        d.k_h = d.k_w = L->k;
        d.stride_h = d.stride_w = L->stride;
        d.dil_h = d.dil_w = 1;
        d.out_h = conv_out_size(L->h, d.k_h, L->stride, 1, TFL_PAD_SAME);
        d.out_w = conv_out_size(L->w, d.k_w, L->stride, 1, TFL_PAD_SAME);
        d.pad_top = conv_pad_before(L->h, d.k_h, L->stride, 1, TFL_PAD_SAME);
        d.pad_left = conv_pad_before(L->w, d.k_w, L->stride, 1, TFL_PAD_SAME);
        d.depthwise = L->depthwise;
        d.depth_multiplier = 1;
        d.out_c = L->cout;
        d.act = ACT_RELU6;
        const size_t n_in = (size_t)d.in_h * d.in_w * d.in_c;
        const size_t n_out = (size_t)d.out_h * d.out_w * d.out_c;
        const size_t taps = (size_t)L->k * L->k;
        const size_t n_w = L->depthwise ? taps * d.out_c : (size_t)d.out_c * taps * d.in_c;
        const double macs = (double)n_out * (double)(L->depthwise ? taps : taps * d.in_c);
        int8_t *in = xalloc(n_in), *w = xalloc(n_w), *ref = xalloc(n_out), *out = xalloc(n_out);
        int32_t *bias = xalloc((size_t)d.out_c * sizeof(int32_t));
        float *ws = xalloc((size_t)d.out_c * sizeof(float));
        qmultiplier *requant = xalloc((size_t)d.out_c * sizeof(qmultiplier));
        for (size_t i = 0; i < n_in; i++)
            in[i] = (int8_t)((seed = seed * 6364136223846793005ull + 1442695040888963407ull) >> 56);
        for (size_t i = 0; i < n_w; i++)
            w[i] = (int8_t)((seed = seed * 6364136223846793005ull + 1442695040888963407ull) >> 56 | 1);
        for (int c = 0; c < d.out_c; c++) {
            bias[c] = (int32_t)(c * 37 % 2001) - 1000;
            ws[c] = narrow ? (float)(1 + c % 3) / 512.0f : 0.002f + 0.0001f * (float)(c % 17);
        }
        const qparams in_q = {narrow ? 1.0f / 64.0f : 0.02f, -128};
        const qparams out_q = {narrow ? 1.0f / 32.0f : 6.0f / 255.0f, -128};
        qconv_params q;
        char err[200];
        if (qconv_params_init(&q, requant, &d, in_q, ws, d.out_c, 0, out_q, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", L->name, err);
            return 1;
        }
        int have_ref = 0;
        /* the references last in the table: run them first for the comparison */
        const qconv_kernel *const *all = qconv_kernels_all();
        size_t n_k = 0;
        while (all[n_k])
            n_k++;
        for (size_t j = n_k; j-- > 0;) {
            const qconv_kernel *k = all[j];
            if (!k->supports(&d, &q) || !qconv_kernel_runs_here(k))
                continue;
            const int untimed = kname && k->isa == MNV_ISA_REF;
            if (kname && !untimed && !strstr(k->name, kname))
                continue;
            void *packed = xalloc(k->packed_size(&d));
            k->pack(&d, &q, w, bias, packed);
            if (untimed)
                k->run(&d, &q, packed, in, out);
            for (int threads = 1; !untimed && threads <= team;
                 threads = threads == team || t1 ? team + 1 : team) {
                omp_set_num_threads(threads);
                k->run(&d, &q, packed, in, out); /* warm-up */
                for (int r = 0; r < reps; r++) {
                    const double t0 = now();
                    k->run(&d, &q, packed, in, out);
                    times[r] = now() - t0;
                }
                qsort(times, (size_t)reps, sizeof times[0], cmp_double);
                const double med = times[reps / 2];
                printf("%-26s %-34s %7d %10.3f %8.3f %9.2f\n", L->name, k->name, threads, med * 1e3,
                       times[0] * 1e3, macs / med * 1e-9);
            }
            if (k->isa == MNV_ISA_REF) {
                memcpy(ref, out, n_out);
                have_ref = 1;
            } else if (have_ref && memcmp(ref, out, n_out) != 0) {
                printf("%-26s %-34s DIFFERS from the reference\n", L->name, k->name);
            }
            free(packed);
        }
        omp_set_num_threads(team);
        free(in), free(w), free(ref), free(out), free(bias), free(ws), free(requant);
    }
    free(times);
    return 0;
}
