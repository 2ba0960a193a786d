/*
 * The whole pipeline (image file -> pre-processing -> network -> decoding ->
 * NMS) against golden reference data, once per kernel ISA this CPU can run:
 * raw outputs within 1e-3 absolute, detection lists equal (classes, scores
 * and corners within 1e-3), as ../shared/golden/README.md asks of a float32
 * engine.
 *
 * usage: test_golden MODEL GOLDEN_DIR INPUT_DIR NAME...
 * reads INPUT_DIR/NAME.300.png and GOLDEN_DIR/NAME.{boxes,scores}.f32 and
 * NAME.detections.json. Exit 77 (meson's SKIP) when MODEL does not exist:
 * the 'shared' suite's data lives outside the repository.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "app/app.h"
#include "check.h"
#include "golden_data.h"

static float max_abs_diff(const float *a, const float *b, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) /* also catches NaN */
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

static void check_image(detector *d, const char *data, const char *inputs, const char *name,
                        const char *isa)
{
    char path[1024];
    char err[512];
    frame f;
    snprintf(path, sizeof path, "%s/%s.300.png", inputs, name);
    int rc = image_load(&f, path, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc)
        return;
    detection dets[SSD_MAX_DETECTIONS];
    int n = detector_run(d, &f, dets, SSD_MAX_DETECTIONS, NULL);
    frame_free(&f);

    const char *kinds[2] = {"boxes", "scores"};
    int outs[2] = {d->box_output, d->class_output};
    for (int k = 0; k < 2; k++) {
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s.%s.f32", data, name, kinds[k]);
        float *ref = golden_read_f32(path, &len);
        CHECK(ref != NULL, "cannot read %s", path);
        if (!ref)
            continue;
        const net_output_info *o = net_output(d->net, outs[k]);
        size_t want = (size_t)o->shape[1] * o->shape[2];
        CHECK(len == want, "%s: %zu values, model gives %zu", path, len, want);
        if (len == want) {
            float diff = max_abs_diff(net_output_data(d->net, outs[k]), ref, len);
            CHECK(diff <= 1e-3f, "[%s] %s %s: max abs diff %g > 1e-3", isa, name, kinds[k], diff);
            printf("[%s] %-16s %-6s max abs diff %.2e\n", isa, name, kinds[k], diff);
        }
        free(ref);
    }

    golden_det g[GOLDEN_MAX_DETS];
    snprintf(path, sizeof path, "%s/%s.detections.json", data, name);
    int ng = golden_read_detections(path, g, GOLDEN_MAX_DETS);
    CHECK(ng >= 0, "cannot parse %s", path);
    CHECK(n == ng, "[%s] %s: %d detections, golden has %d", isa, name, n, ng);
    for (int i = 0; i < n && i < ng; i++) {
        CHECK(dets[i].class_id == g[i].class_id, "[%s] %s det %d: class %d, golden %d", isa, name, i,
              dets[i].class_id, g[i].class_id);
        CHECK(fabsf(dets[i].score - g[i].score) <= 1e-3f, "[%s] %s det %d: score %f, golden %f", isa,
              name, i, dets[i].score, g[i].score);
        float dc = fmaxf(fmaxf(fabsf(dets[i].bbox.ymin - g[i].ymin), fabsf(dets[i].bbox.xmin - g[i].xmin)),
                         fmaxf(fabsf(dets[i].bbox.ymax - g[i].ymax), fabsf(dets[i].bbox.xmax - g[i].xmax)));
        CHECK(dc <= 1e-3f, "[%s] %s det %d: corners differ by %g", isa, name, i, dc);
    }
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: test_golden MODEL GOLDEN_DIR INPUT_DIR NAME...\n");
        return 1;
    }
    const char *model = argv[1], *data = argv[2], *inputs = argv[3];
    if (access(model, F_OK) != 0) {
        printf("SKIP: %s is absent\n", model);
        return 77;
    }
    for (int isa = 0; isa < MNV_ISA_COUNT; isa++) {
        if (!cpu_supports((mnv_isa)isa)) {
            printf("[%s] not supported by this CPU or build: not tested here\n", isa_name((mnv_isa)isa));
            continue;
        }
        detector d;
        char err[512];
        detector_paths p = {model, NULL, NULL};
        net_options opt = {.max_isa = (mnv_isa)isa};
        int rc = detector_open(&d, &p, &opt, err, sizeof err);
        CHECK(rc == 0, "%s", err);
        if (rc)
            continue;
        d.cfg.score_threshold = 0.3f; /* the golden lists' threshold */
        for (int i = 4; i < argc; i++)
            check_image(&d, data, inputs, argv[i], isa_name((mnv_isa)isa));
        detector_close(&d);
    }
    return check_finish("golden outputs");
}
