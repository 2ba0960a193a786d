"""Compare two mnv2det --json outputs for the same image, e.g. an Arm build
under QEMU against the x86-64 build: the same detections in the same order
(class and label), scores and normalized corners within 1e-3.

usage: same_detections.py A.json B.json
"""
import json, sys

a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
da, db = a["detections"], b["detections"]
if len(da) != len(db):
    sys.exit(f"{len(da)} detections vs {len(db)}: {da} vs {db}")
if not da:
    sys.exit("no detections to compare: pick an image with objects")
for i, (x, y) in enumerate(zip(da, db)):
    if (x["class_id"], x["label"]) != (y["class_id"], y["label"]):
        sys.exit(f"detection {i}: {x['label']} vs {y['label']}")
    if abs(x["score"] - y["score"]) > 1e-3:
        sys.exit(f"detection {i} ({x['label']}): score {x['score']} vs {y['score']}")
    for k in ("ymin", "xmin", "ymax", "xmax"):
        if abs(x["box_normalized"][k] - y["box_normalized"][k]) > 1e-3:
            sys.exit(f"detection {i} ({x['label']}): {k} {x['box_normalized'][k]} vs {y['box_normalized'][k]}")
print("same", len(da), "detections")
