# Writes the FlexBuffers test vectors for tests/test_flexbuf.c with the
# reference implementation (Debian's python3-flatbuffers), so that our reader
# is checked against bytes it did not produce itself.
#   /usr/bin/python3 tests/data/make_flexbuf.py tests/data
import sys
from flatbuffers import flexbuffers

out = sys.argv[1]
# The options a TF Object Detection API export gives TFLite_Detection_PostProcess.
postprocess = {
    'max_detections': 10, 'max_classes_per_detection': 1, 'detections_per_class': 100,
    'use_regular_nms': False, 'nms_score_threshold': 1e-8, 'nms_iou_threshold': 0.6,
    'num_classes': 90, 'y_scale': 10.0, 'x_scale': 10.0, 'h_scale': 5.0, 'w_scale': 5.0,
}
open(out + '/flexbuf_postprocess.bin', 'wb').write(flexbuffers.Dumps(postprocess))
# Narrow widths, a negative int, a true bool, a string to skip over.
small = {'a': 1, 'b': -2, 'c': True, 'name': 'x', 'z': 300}
open(out + '/flexbuf_small.bin', 'wb').write(flexbuffers.Dumps(small))
# A root that is not a map.
open(out + '/flexbuf_vector.bin', 'wb').write(flexbuffers.Dumps([1, 2, 3]))
# The options of the small detection model tests/test_postprocess_model.c builds.
small_model = {
    'max_detections': 5, 'max_classes_per_detection': 1, 'detections_per_class': 100,
    'use_regular_nms': False, 'nms_score_threshold': 0.0, 'nms_iou_threshold': 0.45,
    'num_classes': 3, 'y_scale': 10.0, 'x_scale': 10.0, 'h_scale': 5.0, 'w_scale': 5.0,
}
open(out + '/flexbuf_small_model.bin', 'wb').write(flexbuffers.Dumps(small_model))
