/*
 * mnv2det bench: latency of the network alone on a fixed input, the way
 * ../shared/tools/ort-bench measures ONNX Runtime (same noise input, same
 * warm-up-then-median method), so that the two can be compared in one run.
 */
#include <errno.h>
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "app/app.h"

/* What the network's convolutions (nearly all of its work) compute in:
 * "float32", "int8" (a quantized model, whose float input, outputs and
 * head reshapes may still take float layers), or "mixed". */
static const char *precision_name(int int8_convs, int convs)
{
    return int8_convs == 0 ? "float32" : int8_convs == convs ? "int8" : "mixed";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void bench_usage(FILE *out)
{
    fprintf(out,
        "usage: mnv2det bench [options]\n"
        "Times the network on a fixed noise input (ort-bench's) after warm-up, then\n"
        "pre-processing of YUYV and NV12 frames (640x480, 1280x720), fused and not.\n"
        "  -m, --model PATH     TFLite model (default %s)\n"
        "      --int8           the int8 default model instead (not with --model;\n"
        "                       scripts/fetch-model makes it):\n"
        "                       %s\n"
        "  -n, --iters N        timed runs (default 100)\n"
        "  -w, --warmup N       untimed runs first (default 10)\n"
        "  -t, --threads N      threads (default: all cores)\n"
        "      --isa NAME       kernels up to this ISA: ref, avx2, avx512, neon\n"
        "                       (default: MNV2DET_ISA if set, else the best this CPU has)\n"
        "  -l, --layers         also print every layer's time\n"
        "      --even-split     threads share every layer evenly (default: shares\n"
        "                       follow how fast each thread's CPU has been running)\n"
        "  -j, --json           one JSON object\n"
        "  -h, --help\n"
        "Exit status: 0 on success; 2 on bad usage or a bad model; 1 when the output\n"
        "cannot be written or memory runs out.\n",
        default_model_path(), default_int8_model_path());
}

static int bench_error(const char *fmt, const char *arg)
{
    fputs("mnv2det bench: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 2;
}

int bench_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"iters", required_argument, NULL, 'n'},
        {"warmup", required_argument, NULL, 'w'}, {"threads", required_argument, NULL, 't'},
        {"isa", required_argument, NULL, 'I'}, {"json", no_argument, NULL, 'j'},
        {"layers", no_argument, NULL, 'l'}, {"even-split", no_argument, NULL, 'E'},
        {"int8", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *isa = NULL;
    int iters = 100, warmup = 10, threads = 0, json = 0, layers = 0, even = 0, int8 = 0, ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":m:n:w:t:jlh", opts, NULL)) != -1) {
        switch (ch) {
        case 'm': model = optarg; break;
        case 'n':
            if (arg_int(optarg, 1, 1000000, &iters))
                return bench_error("--iters wants a positive whole number, not '%s'", optarg);
            break;
        case 'w':
            if (arg_int(optarg, 0, 1000000, &warmup))
                return bench_error("--warmup wants a whole number, not '%s'", optarg);
            break;
        case 't':
            if (arg_int(optarg, 1, 1024, &threads))
                return bench_error("--threads wants a whole number from 1 to 1024, not '%s'", optarg);
            break;
        case 'I': isa = optarg; break;
        case 'j': json = 1; break;
        case 'l': layers = 1; break;
        case 'E': even = 1; break;
        case 'q': int8 = 1; break;
        case 'h': bench_usage(stdout); return output_finish(stdout, "mnv2det bench");
        case ':': return bench_error("option '%s' needs a value", argv[optind - 1]);
        default: return bench_error("unknown option '%s' (see mnv2det bench --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bench_error("unexpected argument '%s'", argv[optind]);
    if (int8 && model)
        return bench_error("%s", "--int8 runs the int8 default model: give --int8 or --model, not both");
    if (threads > 0)
        omp_set_num_threads(threads);
    threads = omp_get_max_threads();

    char err[APP_ERR_MAX];
    net *n;
    net_options opt = {0};
    if (isa_choose(isa, &opt.max_isa, err, sizeof err) != 0 ||
        memory_limit_from_env(&opt.max_memory, err, sizeof err) != 0)
        return bench_error("%s", err);
    if (int8 && int8_model_find(&model, err, sizeof err) != 0)
        return bench_error("%s", err);
    if (!model)
        model = default_model_path();
    if (net_load(&n, model, &opt, err, sizeof err) != 0)
        return bench_error("%s", err);

    net_set_balance(n, !even);
    int h, w, c;
    net_input_shape(n, &h, &w, &c);
    float *in = net_input_buffer(n);
    unsigned seed = 1234;
    for (size_t i = 0; i < (size_t)h * w * c; i++) {
        seed = seed * 1103515245u + 12345u;
        in[i] = (float)(seed >> 8) / 8388608.0f - 1.0f;
    }

    int nl = net_layer_count(n);
    double *t = malloc((size_t)iters * sizeof *t);
    double *layer_s = calloc((size_t)nl + 1, sizeof *layer_s);
    if (!t || !layer_s) {
        free(t), free(layer_s), net_free(n);
        fputs("mnv2det bench: out of memory\n", stderr);
        return 1;
    }
    for (int i = 0; i < warmup; i++)
        net_run(n, NULL);
    for (int i = 0; i < iters; i++) {
        double t0 = omp_get_wtime();
        net_run(n, NULL);
        t[i] = (omp_get_wtime() - t0) * 1e3;
    }
    float shares[8];
    const int nshares = net_thread_shares(n, shares, 8);
    /* The per-layer breakdown comes from separate timed runs so that the
     * timer calls do not disturb the latency figures above. */
    int breakdown_runs = iters < 20 ? iters : 20;
    for (int i = 0; i < breakdown_runs; i++)
        net_run_timed(n, NULL, layer_s);

    double role_ms[ROLE_COUNT] = {0}, macs = 0, total_layer = 0;
    int int8_layers = 0, convs = 0, int8_convs = 0;
    for (int i = 0; i < nl; i++) {
        net_layer_info li;
        net_layer_get(n, i, &li);
        int8_layers += li.int8;
        convs += li.macs > 0;
        int8_convs += li.macs > 0 && li.int8;
        role_ms[li.role] += layer_s[i] * 1e3 / breakdown_runs;
        total_layer += layer_s[i] * 1e3 / breakdown_runs;
        macs += li.macs;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_double);
    double median = t[iters / 2], p90 = t[(int)(iters * 0.9) < iters ? (int)(iters * 0.9) : iters - 1];
    double min = t[0], gflops = 2.0 * macs / (median * 1e-3) / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = ru.ru_maxrss / 1024.0;

    preprocess_timing pre[8];
    const char *picture = "none";
    int npre = bench_preprocess(w, h, iters, warmup, pre, 8, &picture);
    if (npre < 0) {
        free(t), free(layer_s), net_free(n);
        return bench_error("%s", "out of memory for the pre-processing frames");
    }

    /* which kernels ran: the first conv layer's variant names the ISA */
    mnv_isa used = opt.max_isa;
    if (json) {
        fputs("{\"model\":", stdout);
        json_string(stdout, model);
        printf(",\"threads\":%d,\"isa\":\"%s\",\"iters\":%d,\"median_ms\":%.3f,"
               "\"p90_ms\":%.3f,\"min_ms\":%.3f,\"gmacs\":%.4f,\"gflops\":%.2f,"
               "\"arena_bytes\":%zu,\"weight_bytes\":%zu,\"band_bytes\":%zu,\"fused_blocks\":%d,"
               "\"peak_rss_mb\":%.1f,\"precision\":\"%s\",\"int8_layers\":%d,\"layers_ms\":{",
               threads, isa_name(used), iters, median, p90, min, macs / 1e9, gflops,
               net_arena_bytes(n), net_weight_bytes(n), net_band_bytes(n), net_fused_blocks(n), rss_mb,
               precision_name(int8_convs, convs), int8_layers);
        for (int r = 0; r < ROLE_COUNT; r++)
            printf("%s\"%s\":%.3f", r ? "," : "", layer_role_name((layer_role)r), role_ms[r]);
        printf("},\"even_split\":%s,\"shares\":[", even ? "true" : "false");
        for (int i = 0; i < nshares && i < 8; i++)
            printf("%s%.3f", i ? "," : "", shares[i]);
        printf("],\"preprocess\":{\"picture\":\"%s\",\"input_width\":%d,\"input_height\":%d,\"frames\":[",
               picture, w, h);
        for (int i = 0; i < npre; i++)
            printf("%s{\"format\":\"%s\",\"width\":%d,\"height\":%d,\"fused_ms\":%.3f,"
                   "\"convert_then_resize_ms\":%.3f,\"fused_min_ms\":%.3f,\"convert_then_resize_min_ms\":%.3f}",
                   i ? "," : "", mnv_pixfmt_name(pre[i].format), pre[i].width, pre[i].height, pre[i].fused_ms,
                   pre[i].separate_ms, pre[i].fused_min_ms, pre[i].separate_min_ms);
        printf("]}}\n");
    } else {
        printf("model    %s (%s: %d of %d layers int8)\n", model, precision_name(int8_convs, convs), int8_layers,
               nl);
        printf("threads  %d, kernels up to %s, %d runs after %d warm-up\n", threads,
               isa_name(used), iters, warmup);
        printf("latency  median %.3f ms, p90 %.3f ms, min %.3f ms\n", median, p90, min);
        if (nshares > 1) {
            printf("shares  ");
            for (int i = 0; i < nshares && i < 8; i++)
                printf(" %.3f", shares[i]);
            printf(" of each layer's rows per thread after the last run (%s)\n",
                   even ? "--even-split" : "following each thread's pace");
        }
        printf("compute  %.3f G multiply-adds per run, %.1f GFLOP/s at the median\n", macs / 1e9, gflops);
        printf("memory   arena %.1f MB, packed weights %.1f MB, band buffers %.1f MB, peak RSS %.1f MB\n",
               net_arena_bytes(n) / 1048576.0, net_weight_bytes(n) / 1048576.0,
               net_band_bytes(n) / 1048576.0, rss_mb);
        printf("layers   (mean of %d timed runs, %.3f ms in all; run one by one, so the %d fused\n"
               "         blocks, computed band by band in the timed runs above, run unfused here)\n",
               breakdown_runs, total_layer, net_fused_blocks(n));
        for (int r = 0; r < ROLE_COUNT; r++)
            printf("  %-10s %8.3f ms  %5.1f%%\n", layer_role_name((layer_role)r), role_ms[r],
                   total_layer > 0 ? 100.0 * role_ms[r] / total_layer : 0.0);
        for (int i = 0; layers && i < nl; i++) {
            net_layer_info li;
            net_layer_get(n, i, &li);
            double ms = layer_s[i] * 1e3 / breakdown_runs;
            printf("  %3d %-9s %-28s %-4s %7.3f ms %7.1f GFLOP/s  %s\n", i, layer_role_name(li.role),
                   li.kernel, li.weights_f16 ? "f16w" : "", ms,
                   ms > 0 ? 2.0 * li.macs / (ms * 1e-3) / 1e9 : 0.0, li.name);
        }
        printf("preprocess  a frame to the %dx%d input, median (min) of %d runs, frames made from %s:\n"
               "            fused convert+resize vs convert to RGB24, then resize\n", w, h, iters, picture);
        for (int i = 0; i < npre; i++)
            printf("  %-5s %4dx%-4d fused %7.3f (%.3f) ms   convert-then-resize %7.3f (%.3f) ms   %.2fx\n",
                   mnv_pixfmt_name(pre[i].format), pre[i].width, pre[i].height, pre[i].fused_ms,
                   pre[i].fused_min_ms, pre[i].separate_ms, pre[i].separate_min_ms,
                   pre[i].fused_ms > 0 ? pre[i].separate_ms / pre[i].fused_ms : 0.0);
    }
    free(t);
    free(layer_s);
    net_free(n);
    return output_finish(stdout, "mnv2det bench");
}
