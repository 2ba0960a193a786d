/*
 * libFuzzer target: the FlexBuffers reader (a custom operator's options) on
 * any bytes, asked for every key TFLite_Detection_PostProcess has and for a
 * key taken from the input itself (its first byte says how long), so that
 * lookups that match reach the value decoding too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {
        "max_detections", "max_classes_per_detection", "num_classes", "nms_score_threshold",
        "nms_iou_threshold", "y_scale", "x_scale", "h_scale", "w_scale", "detections_per_class",
        "use_regular_nms", "", "a",
    };
    volatile double sink = 0;
    double v;
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        if (flexbuf_map_number(data, size, keys[k], &v) == 0)
            sink += v;
    if (size > 1) {
        char key[64];
        size_t len = data[0] % sizeof key;
        if (len > size - 1)
            len = size - 1;
        memcpy(key, data + 1, len);
        key[len] = 0;
        /* the rest of the input is the buffer; the key is its own copy */
        if (flexbuf_map_number(data + 1, size - 1, key, &v) == 0)
            sink += v;
    }
    (void)sink;
    return 0;
}
