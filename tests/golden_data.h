/* Readers for the golden reference files in tests/data (see
 * ../shared/golden/README.md): raw float32 outputs and detection lists. */
#ifndef MNV2DET_TESTS_GOLDEN_DATA_H
#define MNV2DET_TESTS_GOLDEN_DATA_H

#include <stddef.h>

#define GOLDEN_MAX_DETS 128

typedef struct golden_det {
    int class_id;
    float score, ymin, xmin, ymax, xmax;
} golden_det;

/* Read a whole little-endian float32 file; *n gets the number of floats.
 * Returns a malloc'd array, NULL on failure. */
float *golden_read_f32(const char *path, size_t *n);

/* Parse NAME.detections.json (the layout make_golden.py writes). Returns
 * the number of detections, or -1 when the file cannot be read or parsed. */
int golden_read_detections(const char *path, golden_det *out, int max);

#endif
