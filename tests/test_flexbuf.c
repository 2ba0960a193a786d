/*
 * The FlexBuffers map reader against byte strings written by the reference
 * implementation (tests/data/make_flexbuf.py), and against every truncation
 * and single-byte corruption of them (which must fail cleanly or read some
 * number, never read outside the buffer: run under ASan in the robustness
 * suite).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"
#include "check.h"

static uint8_t *read_file(const char *dir, const char *name, size_t *n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *b = malloc(4096);
    *n = b ? fread(b, 1, 4096, f) : 0;
    fclose(f);
    return b;
}

static void expect(const uint8_t *b, size_t n, const char *key, double want)
{
    double v = NAN;
    int rc = flexbuf_map_number(b, n, key, &v);
    CHECK(rc == 0 && fabs(v - want) <= 1e-12 * fabs(want), "%s: rc %d value %.17g, want %.17g", key, rc, v, want);
}

int main(void)
{
    const char *data = test_env("MNV2DET_TEST_DATA");
    size_t n;
    uint8_t *pp = read_file(data, "flexbuf_postprocess.bin", &n);
    CHECK(pp != NULL, "cannot read flexbuf_postprocess.bin");
    if (pp) {
        expect(pp, n, "max_detections", 10);
        expect(pp, n, "max_classes_per_detection", 1);
        expect(pp, n, "detections_per_class", 100);
        expect(pp, n, "use_regular_nms", 0);
        expect(pp, n, "nms_score_threshold", 1e-8);
        expect(pp, n, "nms_iou_threshold", 0.6);
        expect(pp, n, "num_classes", 90);
        expect(pp, n, "y_scale", 10);
        expect(pp, n, "x_scale", 10);
        expect(pp, n, "h_scale", 5);
        expect(pp, n, "w_scale", 5);
        double v;
        CHECK(flexbuf_map_number(pp, n, "absent", &v) == -1, "absent key found");
        CHECK(flexbuf_map_number(pp, n, "y_scal", &v) == -1, "key prefix matched");

        /* every truncation fails (the root is read from the end, so a cut
         * buffer has a different root byte and must not be trusted) */
        int crashes_or_wrong = 0;
        for (size_t cut = 0; cut < n; cut++)
            crashes_or_wrong += flexbuf_map_number(pp, cut, "num_classes", &v) == 0 && v == 90 && cut < n - 2;
        CHECK(crashes_or_wrong == 0, "%d truncated buffers still gave the right value", crashes_or_wrong);
        /* every single-byte corruption is handled without reading out of bounds */
        uint8_t *copy = malloc(n);
        for (size_t i = 0; copy && i < n; i++)
            for (int bit = 0; bit < 8; bit++) {
                memcpy(copy, pp, n);
                copy[i] ^= (uint8_t)(1u << bit);
                (void)flexbuf_map_number(copy, n, "w_scale", &v);
            }
        free(copy);
    }
    free(pp);

    uint8_t *sm = read_file(data, "flexbuf_small.bin", &n);
    CHECK(sm != NULL, "cannot read flexbuf_small.bin");
    if (sm) {
        expect(sm, n, "a", 1);
        expect(sm, n, "b", -2);
        expect(sm, n, "c", 1);
        expect(sm, n, "z", 300);
        double v;
        CHECK(flexbuf_map_number(sm, n, "name", &v) == -1, "a string read as a number");
    }
    free(sm);

    uint8_t *vec = read_file(data, "flexbuf_vector.bin", &n);
    CHECK(vec != NULL, "cannot read flexbuf_vector.bin");
    if (vec) {
        double v;
        CHECK(flexbuf_map_number(vec, n, "a", &v) == -1, "a vector root read as a map");
    }
    free(vec);
    double v;
    CHECK(flexbuf_map_number(NULL, 0, "a", &v) == -1, "NULL buffer");
    return check_finish("flexbuf");
}
