"""The int8 model's detections against the float32 model's, frame by frame.

usage: int8_accuracy.py FLOAT.jsonl INT8.jsonl [MIN_SCORE] [IOU] [SCORE_DIFF]

Each file holds mnv2det --json lines (one per picture or video frame, in the
same order), run with a score threshold below MIN_SCORE - SCORE_DIFF so that
a partner just under MIN_SCORE is still listed. Criterion (issue 15): every
float32 detection scoring at least MIN_SCORE (0.4) has an int8 detection of
the same class with IoU >= IOU (0.8) and a score within SCORE_DIFF (0.06),
and every int8 detection scoring at least MIN_SCORE has such a float32
partner. Partners are paired greedily, best overlap first, each used once.
Prints the count, the worst IoU and the largest score change; exits 1 with
the failing detections listed when the criterion does not hold.
"""
import json, sys


def iou(a, b):
    ya, xa = max(a["ymin"], b["ymin"]), max(a["xmin"], b["xmin"])
    yb, xb = min(a["ymax"], b["ymax"]), min(a["xmax"], b["xmax"])
    inter = max(0.0, yb - ya) * max(0.0, xb - xa)
    area = lambda r: max(0.0, r["ymax"] - r["ymin"]) * max(0.0, r["xmax"] - r["xmin"])
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def pair(ref, other, min_score, min_iou, max_diff):
    """For each detection of ref scoring >= min_score, its partner in other
    (same class, IoU >= min_iou, score within max_diff), greedy by IoU."""
    wanted = [d for d in ref if d["score"] >= min_score]
    cand = []
    for i, d in enumerate(wanted):
        for j, e in enumerate(other):
            if e["class_id"] != d["class_id"]:
                continue
            o = iou(d["box_normalized"], e["box_normalized"])
            if o >= min_iou and abs(d["score"] - e["score"]) <= max_diff:
                cand.append((o, i, j))
    cand.sort(reverse=True)
    got, used = {}, set()
    for o, i, j in cand:
        if i in got or j in used:
            continue
        got[i] = (o, abs(wanted[i]["score"] - other[j]["score"]))
        used.add(j)
    missing = [d for i, d in enumerate(wanted) if i not in got]
    return list(got.values()), missing


def main():
    fa, fb = sys.argv[1], sys.argv[2]
    min_score = float(sys.argv[3]) if len(sys.argv) > 3 else 0.4
    min_iou = float(sys.argv[4]) if len(sys.argv) > 4 else 0.8
    max_diff = float(sys.argv[5]) if len(sys.argv) > 5 else 0.06
    la = [json.loads(x) for x in open(fa) if x.strip()]
    lb = [json.loads(x) for x in open(fb) if x.strip()]
    if len(la) != len(lb) or not la:
        sys.exit(f"{fa} has {len(la)} frames, {fb} {len(lb)}: they must be the same, and not none")
    count, worst_iou, worst_diff, failures = 0, 1.0, 0.0, []
    for k, (a, b) in enumerate(zip(la, lb)):
        name = a.get("image", str(k))
        for ref, other, way in ((a["detections"], b["detections"], "float32->int8"),
                                (b["detections"], a["detections"], "int8->float32")):
            pairs, missing = pair(ref, other, min_score, min_iou, max_diff)
            count += len(pairs) + len(missing)
            for o, d in pairs:
                worst_iou, worst_diff = min(worst_iou, o), max(worst_diff, d)
            failures += [f"{name} frame {a.get('frame', k)} {way}: no partner for {d['label']} "
                         f"{d['score']:.3f} {d['box_normalized']}" for d in missing]
    print(f"{len(la)} frames: {count} detections scoring >= {min_score} (both ways), "
          f"{count - len(failures)} with a partner; worst IoU {worst_iou:.3f}, "
          f"largest score change {worst_diff:.3f}")
    if count == 0:
        sys.exit("no detection scored high enough: the comparison says nothing")
    if failures:
        print("\n".join(failures))
        sys.exit(1)


main()
