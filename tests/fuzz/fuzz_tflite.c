/*
 * libFuzzer target: a model file through the TFLite reader and the network
 * import (net_load, as the program loads a model), then, when it loads, one
 * frame through it on one thread with the reference kernels, every output
 * value read. A mutated model either loads and runs cleanly or is refused
 * with one line naming the file.
 *
 * The memory cap is set low (FUZZ_MAX_MEMORY) so that no input can make
 * the target allocate and clear gigabytes; a model that loads with more
 * multiply-adds than FUZZ_MAX_MACS is not run (its sizes already passed the
 * cap; running it would only take time).
 */
#include "fuzz_input.h"

#include <math.h>
#include <omp.h>

#include "backbone/backbone.h"

#define FUZZ_MAX_MEMORY ((size_t)16 << 20)
#define FUZZ_MAX_MACS 4e6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_once(net *n)
{
    double macs = 0;
    for (int i = 0; i < net_layer_count(n); i++) {
        net_layer_info info;
        net_layer_get(n, i, &info);
        macs += info.macs;
    }
    if (macs > FUZZ_MAX_MACS)
        return;
    int h, w, c;
    net_input_shape(n, &h, &w, &c);
    float *in = net_input_buffer(n);
    for (size_t i = 0; i < (size_t)h * w * c; i++)
        in[i] = (float)(i % 13) / 6.5f - 1.0f;
    net_run(n, NULL);
    volatile float sink = 0;
    for (int o = 0; o < net_output_count(n); o++) {
        const net_output_info *info = net_output(n, o);
        const float *out = net_output_data(n, o);
        size_t elems = 1;
        for (int d = 0; d < info->rank; d++)
            elems *= (size_t)info->shape[d];
        for (size_t i = 0; i < elems; i++)
            sink += out[i];
        for (int s = 0; s < info->n_segments; s++)
            sink += (float)(info->segments[s].rows + info->segments[s].fm_h);
    }
    const net_postprocess *p = net_detection_postprocess(n);
    if (p)
        for (int i = 0; i < p->n_anchors * 4; i++)
            sink += p->anchors[i];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    omp_set_num_threads(1);
    char path[64];
    int fd = fuzz_input_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    net *n = NULL;
    char err[512] = "";
    net_options opt = {.max_isa = MNV_ISA_REF, .max_memory = FUZZ_MAX_MEMORY};
    int rc = net_load(&n, path, &opt, err, sizeof err);
    close(fd);
    fuzz_check_message(rc, err, path);
    if (getenv("FUZZ_VERBOSE")) /* what each input did, when replaying a corpus by hand */
        fprintf(stderr, "%s\n", rc ? err : "loaded");
    if ((rc == 0) != (n != NULL)) {
        fprintf(stderr, "net_load returned %d with net %p\n", rc, (void *)n);
        abort();
    }
    if (n) {
        run_once(n);
        net_free(n);
    }
    return 0;
}
