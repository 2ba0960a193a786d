/*
 * One model, every way the network can run it, on real pictures: each
 * kernel ISA this CPU runs, at 1 and 2 threads, fused (net_run: the
 * inverted-residual blocks band by band, the threads' shares) and layer by
 * layer (net_run_timed). For an int8 model every output must be the same
 * bytes as the reference kernels' layer-by-layer run at 1 thread: the int8
 * kernels are exact integer arithmetic, so any difference is a bug (a
 * block's rows, a band's halo, a thread's share, a SIMD kernel on a
 * sub-tensor). test_q8 holds each kernel to its reference on small shapes;
 * this holds the whole default model, with its block plan, to it.
 *
 * usage: test_model_runs MODEL INPUT_DIR NAME...
 * reads INPUT_DIR/NAME.300.png. Exit 77 (meson's SKIP) when MODEL does not
 * exist (scripts/fetch-model makes the int8 default model).
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "check.h"

/* Values of output o of n */
static size_t output_size(const net *n, int o)
{
    const net_output_info *info = net_output(n, o);
    size_t k = 1;
    for (int r = 0; r < info->rank; r++)
        k *= (size_t)info->shape[r];
    return k;
}

/* All outputs of n, one after the other */
static size_t outputs_size(const net *n)
{
    size_t total = 0;
    for (int o = 0; o < net_output_count(n); o++)
        total += output_size(n, o);
    return total;
}

static void outputs_copy(const net *n, float *dst)
{
    for (int o = 0; o < net_output_count(n); o++) {
        const size_t k = output_size(n, o);
        memcpy(dst, net_output_data(n, o), k * sizeof *dst);
        dst += k;
    }
}

/* The picture's network input, pre-processed as the detector does it */
static float *picture_input(const char *model, const char *path, size_t *count)
{
    char err[512];
    detector d;
    detector_paths p = {model, NULL, NULL};
    net_options opt = {.max_isa = MNV_ISA_REF};
    if (detector_open(&d, &p, &opt, err, sizeof err) != 0) {
        CHECK(0, "%s", err);
        return NULL;
    }
    frame f;
    float *in = NULL;
    int rc = image_load(&f, path, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        rc = detector_prepare(&d, &f);
        CHECK(rc == 0, "%s: pre-processing failed (%d)", path, rc);
        int h, w, c;
        net_input_shape(d.net, &h, &w, &c);
        *count = (size_t)h * w * c;
        in = rc == 0 ? malloc(*count * sizeof *in) : NULL;
        if (in)
            memcpy(in, net_input_buffer(d.net), *count * sizeof *in);
        frame_free(&f);
    }
    detector_close(&d);
    return in;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: test_model_runs MODEL INPUT_DIR NAME...\n");
        return 1;
    }
    const char *model = argv[1], *inputs = argv[2];
    if (access(model, F_OK) != 0) {
        printf("SKIP: %s is absent\n", model);
        return 77;
    }
    const int max_threads = omp_get_max_threads() < 2 ? omp_get_max_threads() : 2;
    for (int i = 3; i < argc; i++) {
        char path[1024], err[512];
        snprintf(path, sizeof path, "%s/%s.300.png", inputs, argv[i]);
        size_t n_in = 0;
        float *input = picture_input(model, path, &n_in);
        if (!input)
            continue;
        float *want = NULL, *got = NULL;
        size_t n_out = 0;
        int compared = 0;
        for (int isa = 0; isa < MNV_ISA_COUNT; isa++) {
            if (!cpu_supports((mnv_isa)isa))
                continue;
            net *n = NULL;
            net_options opt = {.max_isa = (mnv_isa)isa};
            if (net_load(&n, model, &opt, err, sizeof err) != 0) {
                CHECK(0, "[%s] %s", isa_name((mnv_isa)isa), err);
                continue;
            }
            if (!want) {
                n_out = outputs_size(n);
                want = malloc(n_out * sizeof *want);
                got = malloc(n_out * sizeof *got);
                CHECK(want && got, "out of memory");
                if (!want || !got) {
                    net_free(n);
                    break;
                }
            }
            double *secs = calloc((size_t)net_layer_count(n), sizeof *secs);
            for (int threads = 1; threads <= max_threads && secs; threads++) {
                omp_set_num_threads(threads);
                for (int fused = 0; fused <= 1; fused++) {
                    memset(got, 0xff, n_out * sizeof *got); /* NaN: nothing left from the run before */
                    if (fused)
                        net_run(n, input);
                    else
                        net_run_timed(n, input, secs);
                    outputs_copy(n, got);
                    if (!compared++) { /* the first: reference kernels, layer by layer, 1 thread */
                        memcpy(want, got, n_out * sizeof *want);
                        size_t distinct = 0;
                        for (size_t k = 1; k < n_out; k++)
                            distinct += memcmp(&want[k], &want[0], sizeof *want) != 0;
                        CHECK(distinct > n_out / 4, "%s: only %zu of %zu outputs differ from the first", argv[i],
                              distinct, n_out);
                        continue;
                    }
                    size_t diff = 0, first = 0;
                    for (size_t k = 0; k < n_out; k++)
                        if (memcmp(&got[k], &want[k], sizeof *got) != 0 && diff++ == 0)
                            first = k;
                    CHECK(diff == 0, "[%s] %s, %d threads, %s: %zu of %zu outputs differ from the reference "
                          "kernels' (first %zu: %g, want %g)", isa_name((mnv_isa)isa), argv[i], threads,
                          fused ? "fused" : "layer by layer", diff, n_out, first, (double)got[first],
                          (double)want[first]);
                }
            }
            printf("[%s] %s: %d fused blocks; fused and layer by layer, 1 to %d threads: %s\n",
                   isa_name((mnv_isa)isa), argv[i], net_fused_blocks(n), max_threads,
                   compared > 1 ? "compared" : "the reference");
            free(secs);
            net_free(n);
        }
        free(input);
        free(want);
        free(got);
    }
    omp_set_num_threads(max_threads);
    return check_finish("model runs");
}
