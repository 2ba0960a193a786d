/*
 * Times the convolution kernels on every conv layer of the default model
 * (SSD MobileNetV2, 300x300) at 1 and 2 threads, with the variant that
 * conv_kernel_choose picks for each ISA this CPU runs. Each layer is run
 * repeatedly on the same buffers, so caches are warm: this measures the
 * kernels, not the network's memory traffic between layers.
 *
 *   bench_kernels [--ref] [--only SUBSTRING] [--reps N] [--net]
 *
 * --ref adds the reference kernels (slow). Prints per layer the median time
 * and GFLOP/s (2 flops per multiply-add), then totals per kernel kind.
 *
 * --net instead runs the 67 layers one after another, each instance with its
 * own weights and the previous layer's buffer as input, as the network
 * executor does: weights then come from L3 or memory and activations from
 * wherever the last layer left them. Prints the median frame time and, per
 * layer, the median of its share.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backbone/backbone.h"

typedef struct bench_layer {
    const char *name;
    int count;                /* how many layers of the model have this shape */
    int h, w, cin, cout, k, stride, depthwise, residual;
} bench_layer;

/* The default model's conv layers, in order, identical shapes merged. */
static const bench_layer layers[] = {
    {"stem 3x3s2 3->32", 1, 300, 300, 3, 32, 3, 2, 0, 0},
    {"b0 dw 150 s1 32", 1, 150, 150, 32, 32, 3, 1, 1, 0},
    {"b0 project 150 32->16", 1, 150, 150, 32, 16, 1, 1, 0, 0},
    {"b1 expand 150 16->96", 1, 150, 150, 16, 96, 1, 1, 0, 0},
    {"b1 dw 150 s2 96", 1, 150, 150, 96, 96, 3, 2, 1, 0},
    {"b1 project 75 96->24", 1, 75, 75, 96, 24, 1, 1, 0, 0},
    {"b2-3 expand 75 24->144", 2, 75, 75, 24, 144, 1, 1, 0, 0},
    {"b2 dw 75 s1 144", 1, 75, 75, 144, 144, 3, 1, 1, 0},
    {"b2 project 75 144->24 +res", 1, 75, 75, 144, 24, 1, 1, 0, 1},
    {"b3 dw 75 s2 144", 1, 75, 75, 144, 144, 3, 2, 1, 0},
    {"b3 project 38 144->32", 1, 38, 38, 144, 32, 1, 1, 0, 0},
    {"b4-6 expand 38 32->192", 3, 38, 38, 32, 192, 1, 1, 0, 0},
    {"b4-5 dw 38 s1 192", 2, 38, 38, 192, 192, 3, 1, 1, 0},
    {"b4-5 project 38 192->32 +res", 2, 38, 38, 192, 32, 1, 1, 0, 1},
    {"b6 dw 38 s2 192", 1, 38, 38, 192, 192, 3, 2, 1, 0},
    {"b6 project 19 192->64", 1, 19, 19, 192, 64, 1, 1, 0, 0},
    {"b7-10 expand 19 64->384", 4, 19, 19, 64, 384, 1, 1, 0, 0},
    {"b7-10 dw 19 s1 384", 4, 19, 19, 384, 384, 3, 1, 1, 0},
    {"b7-9 project 19 384->64 +res", 3, 19, 19, 384, 64, 1, 1, 0, 1},
    {"b10 project 19 384->96", 1, 19, 19, 384, 96, 1, 1, 0, 0},
    {"b11-13 expand 19 96->576", 3, 19, 19, 96, 576, 1, 1, 0, 0},
    {"b11-12 dw 19 s1 576", 2, 19, 19, 576, 576, 3, 1, 1, 0},
    {"b11-12 project 19 576->96 +res", 2, 19, 19, 576, 96, 1, 1, 0, 1},
    {"b13 dw 19 s2 576", 1, 19, 19, 576, 576, 3, 2, 1, 0},
    {"b13 project 10 576->160", 1, 10, 10, 576, 160, 1, 1, 0, 0},
    {"b14-16 expand 10 160->960", 3, 10, 10, 160, 960, 1, 1, 0, 0},
    {"b14-16 dw 10 s1 960", 3, 10, 10, 960, 960, 3, 1, 1, 0},
    {"b14-15 project 10 960->160 +res", 2, 10, 10, 960, 160, 1, 1, 0, 1},
    {"b16 project 10 960->320", 1, 10, 10, 960, 320, 1, 1, 0, 0},
    {"Conv_1 10 320->1280", 1, 10, 10, 320, 1280, 1, 1, 0, 0},
    {"head 10 1280->256", 1, 10, 10, 1280, 256, 1, 1, 0, 0},
    {"head 3x3s2 10 256->512", 1, 10, 10, 256, 512, 3, 2, 0, 0},
    {"head 5 512->128", 1, 5, 5, 512, 128, 1, 1, 0, 0},
    {"head 3x3s2 5 128->256", 1, 5, 5, 128, 256, 3, 2, 0, 0},
    {"head 3 256->128", 1, 3, 3, 256, 128, 1, 1, 0, 0},
    {"head 3x3s2 3 128->256", 1, 3, 3, 128, 256, 3, 2, 0, 0},
    {"head 2 256->64", 1, 2, 2, 256, 64, 1, 1, 0, 0},
    {"head 3x3s2 2 64->128", 1, 2, 2, 64, 128, 3, 2, 0, 0},
    {"pred 19 576->12 box", 1, 19, 19, 576, 12, 1, 1, 0, 0},
    {"pred 19 576->72 class", 1, 19, 19, 576, 72, 1, 1, 0, 0},
    {"pred 10 1280->24 box", 1, 10, 10, 1280, 24, 1, 1, 0, 0},
    {"pred 10 1280->144 class", 1, 10, 10, 1280, 144, 1, 1, 0, 0},
    {"pred 5 512->24 box", 1, 5, 5, 512, 24, 1, 1, 0, 0},
    {"pred 5 512->144 class", 1, 5, 5, 512, 144, 1, 1, 0, 0},
    {"pred 3 256->24 box", 1, 3, 3, 256, 24, 1, 1, 0, 0},
    {"pred 3 256->144 class", 1, 3, 3, 256, 144, 1, 1, 0, 0},
    {"pred 2 256->24 box", 1, 2, 2, 256, 24, 1, 1, 0, 0},
    {"pred 2 256->144 class", 1, 2, 2, 256, 144, 1, 1, 0, 0},
    {"pred 1 128->24 box", 1, 1, 1, 128, 24, 1, 1, 0, 0},
    {"pred 1 128->144 class", 1, 1, 1, 128, 144, 1, 1, 0, 0},
};
#define N_LAYERS (int)(sizeof layers / sizeof layers[0])

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static conv_desc desc_of(const bench_layer *l)
{
    conv_desc d = {0};
    d.in_h = l->h, d.in_w = l->w, d.in_c = l->cin;
    d.k_h = d.k_w = l->k;
    d.stride_h = d.stride_w = l->stride;
    d.dil_h = d.dil_w = 1;
    d.out_h = conv_out_size(l->h, l->k, l->stride, 1, TFL_PAD_SAME);
    d.out_w = conv_out_size(l->w, l->k, l->stride, 1, TFL_PAD_SAME);
    d.pad_top = conv_pad_before(l->h, l->k, l->stride, 1, TFL_PAD_SAME);
    d.pad_left = conv_pad_before(l->w, l->k, l->stride, 1, TFL_PAD_SAME);
    d.depthwise = l->depthwise;
    d.depth_multiplier = 1;
    d.out_c = l->depthwise ? l->cin : l->cout;
    d.act = l->residual ? ACT_NONE : ACT_RELU6;
    return d;
}

static double macs_of(const conv_desc *d)
{
    double px = (double)d->out_h * d->out_w;
    return d->depthwise ? px * d->out_c * d->k_h * d->k_w
                        : px * d->out_c * d->k_h * d->k_w * d->in_c;
}

static float *random_floats(size_t n, uint32_t *seed)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = (float)(*seed >> 8) / (float)(1u << 24) - 0.5f;
    }
    return p;
}

/* Median seconds of one run over reps runs (at least 20 ms of work). */
static double time_kernel(const conv_kernel *k, const conv_desc *d, const void *packed,
                          const float *in, const float *res, float *out, int reps)
{
    k->run(d, packed, in, res, out); /* warm up caches and the thread team */
    double t0 = now();
    k->run(d, packed, in, res, out);
    double once = now() - t0;
    int n = reps;
    if (once * n < 0.02)
        n = (int)(0.02 / (once > 1e-7 ? once : 1e-7)) + 1;
    if (n > 2000)
        n = 2000;
    double *t = malloc((size_t)n * sizeof *t);
    if (!t)
        exit(1);
    for (int i = 0; i < n; i++) {
        t0 = now();
        k->run(d, packed, in, res, out);
        t[i] = now() - t0;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    double med = t[n / 2];
    free(t);
    return med;
}

enum { KIND_PW, KIND_DW, KIND_CONV, N_KINDS };
static const char *const kind_names[N_KINDS] = {"1x1 conv", "depthwise", "other conv"};

/* One layer instance of the --net mode. */
typedef struct net_layer {
    const bench_layer *l;
    conv_desc d;
    const conv_kernel *k;
    void *packed;
} net_layer;

static void bench_net(mnv_isa isa, int frames)
{
    int n = 0;
    for (int li = 0; li < N_LAYERS; li++)
        n += layers[li].count;
    net_layer *nl = calloc((size_t)n, sizeof *nl);
    double *t = malloc((size_t)frames * (size_t)(n + 1) * sizeof *t);
    if (!nl || !t)
        exit(1);
    size_t max_act = 0;
    uint32_t seed = 7;
    int i = 0;
    for (int li = 0; li < N_LAYERS; li++)
        for (int c = 0; c < layers[li].count; c++, i++) {
            net_layer *x = &nl[i];
            x->l = &layers[li];
            x->d = desc_of(x->l);
            x->k = conv_kernel_choose(&x->d, isa);
            size_t kred = x->d.depthwise ? 9 : (size_t)9 * x->d.in_c;
            if (x->d.k_h == 1)
                kred = (size_t)x->d.in_c;
            size_t nw = kred * x->d.out_c;
            float *w = random_floats(nw, &seed), *b = random_floats((size_t)x->d.out_c, &seed);
            for (size_t j = 0; j < nw; j++)
                w[j] *= 2.0f / sqrtf((float)kred);
            x->packed = aligned_alloc(64, (x->k->packed_size(&x->d) + 63) / 64 * 64 + 64);
            if (!x->packed)
                exit(1);
            x->k->pack(&x->d, w, b, x->packed);
            free(w), free(b);
            size_t a = (size_t)x->d.in_h * x->d.in_w * x->d.in_c;
            size_t o = (size_t)x->d.out_h * x->d.out_w * x->d.out_c;
            max_act = a > max_act ? a : max_act;
            max_act = o > max_act ? o : max_act;
        }
    /* three rotating buffers: input, output, and the residual (two back) */
    float *buf[3];
    for (int j = 0; j < 3; j++)
        buf[j] = random_floats(max_act, &seed);

    for (int thr = 1; thr <= 2; thr++) {
        omp_set_num_threads(thr);
        for (int f = -3; f < frames; f++) {
            double frame0 = now();
            for (int j = 0; j < n; j++) {
                const net_layer *x = &nl[j];
                double t0 = now();
                x->k->run(&x->d, x->packed, buf[j % 3], x->l->residual ? buf[(j + 2) % 3] : NULL,
                          buf[(j + 1) % 3]);
                if (f >= 0)
                    t[(size_t)(n + 1) * f + j] = now() - t0;
            }
            if (f >= 0)
                t[(size_t)(n + 1) * f + n] = now() - frame0;
        }
        double *col = malloc((size_t)frames * sizeof *col);
        if (!col)
            exit(1);
        printf("\n%s, %d thread%s, %d frames: median per layer (us, GFLOP/s in the network)\n",
               isa_name(isa), thr, thr > 1 ? "s" : "", frames);
        double kind_s[N_KINDS] = {0}, kind_macs[N_KINDS] = {0};
        for (int j = 0; j <= n; j++) {
            for (int f = 0; f < frames; f++)
                col[f] = t[(size_t)(n + 1) * f + j];
            qsort(col, (size_t)frames, sizeof *col, cmp_double);
            double med = col[frames / 2];
            if (j == n) {
                printf("frame: median %.3f ms, best %.3f ms\n", med * 1e3, col[0] * 1e3);
                break;
            }
            const net_layer *x = &nl[j];
            int kind = x->d.depthwise ? KIND_DW : x->d.k_h == 1 ? KIND_PW : KIND_CONV;
            kind_s[kind] += med, kind_macs[kind] += macs_of(&x->d);
            if (j == 0 || nl[j - 1].l != x->l)
                printf("  %-34s %-28s %8.1f %6.1f\n", x->l->name, x->k->name, med * 1e6,
                       2.0 * macs_of(&x->d) / med / 1e9);
        }
        for (int kd = 0; kd < N_KINDS; kd++)
            printf("  %-12s %.0f MMAC %.3f ms %.1f GFLOP/s\n", kind_names[kd], kind_macs[kd] / 1e6,
                   kind_s[kd] * 1e3, 2.0 * kind_macs[kd] / kind_s[kd] / 1e9);
        free(col);
    }
    for (int j = 0; j < n; j++)
        free(nl[j].packed);
    for (int j = 0; j < 3; j++)
        free(buf[j]);
    free(nl), free(t);
}

int main(int argc, char **argv)
{
    int with_ref = 0, reps = 21, net = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ref") == 0)
            with_ref = 1;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--net") == 0)
            net = 1;
        else {
            fprintf(stderr, "usage: %s [--ref] [--only SUBSTRING] [--reps N] [--net]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;

    mnv_isa isas[MNV_ISA_COUNT];
    int nisa = 0;
    for (int i = MNV_ISA_COUNT - 1; i >= 0; i--)
        if (cpu_supports((mnv_isa)i) && (i > 0 || with_ref))
            isas[nisa++] = (mnv_isa)i;
    if (net) {
        for (int i = 0; i < nisa; i++)
            bench_net(isas[i], isas[i] ? 5 * reps : 3);
        return 0;
    }

    /* seconds[isa][threads-1][kind], times the layer counts */
    double total[MNV_ISA_COUNT][2][N_KINDS] = {{{0}}}, macs_kind[N_KINDS] = {0};
    printf("%-32s %8s", "layer (x count)", "MMAC");
    for (int i = 0; i < nisa; i++)
        printf(" | %-28s", isa_name(isas[i]));
    printf("\n%-32s %8s", "", "");
    for (int i = 0; i < nisa; i++)
        printf(" | %13s %13s ", "1 thr us GF/s", "2 thr us GF/s");
    printf("\n");

    uint32_t seed = 1;
    for (int li = 0; li < N_LAYERS; li++) {
        const bench_layer *l = &layers[li];
        if (only && !strstr(l->name, only))
            continue;
        conv_desc d = desc_of(l);
        int kind = d.depthwise ? KIND_DW : d.k_h == 1 && d.k_w == 1 ? KIND_PW : KIND_CONV;
        double macs = macs_of(&d);
        macs_kind[kind] += macs * l->count;
        size_t nin = (size_t)d.in_h * d.in_w * d.in_c, nout = (size_t)d.out_h * d.out_w * d.out_c;
        size_t nw = d.depthwise ? (size_t)9 * d.out_c : (size_t)d.out_c * d.k_h * d.k_w * d.in_c;
        float *in = random_floats(nin, &seed), *w = random_floats(nw, &seed);
        float *bias = random_floats((size_t)d.out_c, &seed);
        float *res = l->residual ? random_floats(nout, &seed) : NULL;
        float *out = random_floats(nout, &seed);
        char label[48];
        snprintf(label, sizeof label, "%s x%d", l->name, l->count);
        printf("%-32s %8.2f", label, macs / 1e6);
        for (int i = 0; i < nisa; i++) {
            const conv_kernel *k = conv_kernel_choose(&d, isas[i]);
            void *packed = aligned_alloc(64, (k->packed_size(&d) + 63) / 64 * 64 + 64);
            if (!packed)
                return 1;
            k->pack(&d, w, bias, packed);
            printf(" |");
            for (int thr = 1; thr <= 2; thr++) {
                omp_set_num_threads(thr);
                double s = time_kernel(k, &d, packed, in, res, out, isas[i] ? reps : 3);
                total[isas[i]][thr - 1][kind] += s * l->count;
                printf(" %7.1f %5.1f", s * 1e6, 2.0 * macs / s / 1e9);
            }
            free(packed);
        }
        printf("\n");
        fflush(stdout);
        free(in), free(w), free(bias), free(res), free(out);
    }

    printf("\ntotals (layer counts applied)\n");
    double all_macs = macs_kind[0] + macs_kind[1] + macs_kind[2];
    for (int i = 0; i < nisa; i++)
        for (int thr = 1; thr <= 2; thr++) {
            double sum = 0;
            printf("%-7s %d thr:", isa_name(isas[i]), thr);
            for (int kd = 0; kd < N_KINDS; kd++) {
                double s = total[isas[i]][thr - 1][kd];
                sum += s;
                printf("  %s %.0f MMAC %.3f ms %.1f GF/s;", kind_names[kd], macs_kind[kd] / 1e6,
                       s * 1e3, s > 0 ? 2.0 * macs_kind[kd] / s / 1e9 : 0.0);
            }
            printf("  all %.0f MMAC %.3f ms %.1f GF/s\n", all_macs / 1e6, sum * 1e3,
                   sum > 0 ? 2.0 * all_macs / sum / 1e9 : 0.0);
        }
    return 0;
}
