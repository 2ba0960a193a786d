/*
 * Greedy non-maximum suppression: walk the detections best first and keep
 * each one that no kept detection overlaps by more than the threshold.
 */
#include "ssdlite/ssdlite.h"

int nms_greedy(detection *dets, int n, float iou, int per_class, int max_keep)
{
    int kept = 0;
    for (int i = 0; i < n && kept < max_keep; i++) {
        int suppressed = 0;
        for (int j = 0; j < kept && !suppressed; j++) {
            if (per_class && dets[j].class_id != dets[i].class_id)
                continue;
            suppressed = box_iou(&dets[j].bbox, &dets[i].bbox) > iou;
        }
        /* kept <= i, so this never overwrites one not yet looked at */
        if (!suppressed)
            dets[kept++] = dets[i];
    }
    return kept;
}
