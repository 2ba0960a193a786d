"""Compare mnv2det's JSON output for one image with a golden detection list.

usage: compare_detections.py OUTPUT.json GOLDEN.detections.json exact|resized
exact:   the network input was the golden input itself: same detections in the
         same order, scores and corners within 1e-3 (the golden README's bar).
resized: mnv2det resized the original image itself, as the reference did with
         PIL; tiny input differences may swap near-equal scores, so detections
         are paired greedily by class and overlap, scores within 0.01 and
         corners within 0.01.
"""
import json, sys

got = json.loads(open(sys.argv[1]).read())
want = json.load(open(sys.argv[2]))["detections"]
mode = sys.argv[3]
dets = got["detections"]
if len(dets) != len(want):
    sys.exit(f"{len(dets)} detections, golden {len(want)}: {dets} vs {want}")
corners = ("ymin", "xmin", "ymax", "xmax")
if mode == "exact":
    for d, w in zip(dets, want):
        assert d["class_id"] == w["class_id"] and d["label"] == w["label"], (d, w)
        assert abs(d["score"] - w["score"]) <= 1e-3, (d, w)
        for k in corners:
            assert abs(d["box_normalized"][k] - w[k]) <= 1e-3, (k, d, w)
        # pixel corners are the normalized ones scaled and clipped to the image
        for k, size in (("xmin", got["width"]), ("ymax", got["height"])):
            assert abs(d["box"][k] - min(max(w[k] * size, 0), size)) <= 0.01 * size, (k, d, w)
else:
    left = list(want)
    for d in dets:
        best = None
        for w in left:
            err = max(abs(d["box_normalized"][k] - w[k]) for k in corners)
            if w["class_id"] == d["class_id"] and err <= 0.01 and abs(d["score"] - w["score"]) <= 0.01:
                best = w
                break
        assert best is not None, f"no golden match for {d}"
        left.remove(best)
print("ok", len(dets), "detections")
