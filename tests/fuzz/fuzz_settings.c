/*
 * libFuzzer target: the model settings file (ssd_config_load on a file
 * holding the input). A file is taken whole or refused with one line naming
 * it; refused, it leaves the settings as they were; taken, every value is
 * one the rest of the program accepts.
 */
#include "fuzz_input.h"

#include <math.h>

#include "ssdlite/ssdlite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "settings: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_input_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    ssd_config c, before;
    ssd_config_defaults(&c);
    before = c;
    char err[512] = "";
    int rc = ssd_config_load(&c, path, err, sizeof err);
    close(fd);
    fuzz_check_message(rc, err, path);
    if (rc != 0 && memcmp(&c, &before, sizeof c) != 0)
        fail("a refused file changed the settings");
    if (rc == 0) {
        if (!(c.input_std > 0) || !isfinite(c.input_mean) || c.num_layers < 1 || c.num_layers > SSD_MAX_LAYERS ||
            c.n_aspect_ratios < 0 || c.n_aspect_ratios > SSD_MAX_ASPECT || !(c.min_scale > 0) ||
            !(c.min_scale <= c.max_scale) || c.max_detections < 1 || c.max_detections > SSD_MAX_DETECTIONS ||
            !(c.nms_iou >= 0 && c.nms_iou <= 1) || !(c.score_threshold >= 0 && c.score_threshold <= 1))
            fail("a value out of range was taken");
        for (int i = 0; i < c.n_aspect_ratios; i++)
            if (!(c.aspect_ratios[i] > 0))
                fail("an aspect ratio <= 0 was taken");
        /* the anchors these settings make for a small pyramid */
        int fm[SSD_MAX_LAYERS] = {4, 2, 1, 1, 1, 1, 1, 1};
        anchor out[1024];
        char aerr[256];
        anchors_generate(&c, fm, fm, c.num_layers, out, 1024, aerr, sizeof aerr);
        volatile size_t sink = (c.model ? strlen(c.model) : 0) + (c.labels ? strlen(c.labels) : 0);
        (void)sink;
    }
    ssd_config_free(&c);
    return 0;
}
