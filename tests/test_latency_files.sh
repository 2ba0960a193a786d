#!/usr/bin/env bash
# The latency benchmark's files read by real parsers: test_latency writes a
# simulated two- and three-run benchmark and some awkward runs (one frame, no
# runs, a title that is not UTF-8); Python's json, csv and XML readers must
# take them, and the JSON's statistics must be those that the CSV's
# timestamps give when recomputed from the CSV (tests/check_latency.py's stage rule and nearest rank).
#   test_latency_files.sh TEST_LATENCY_BINARY
set -u
bin=$1
if ! command -v python3 >/dev/null 2>&1; then
  echo "SKIP: python3 is needed to parse the files (scripts/setup installs it)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$bin" write "$tmp"; then
  echo "FAIL: $bin write $tmp"
  exit 1
fi
exec python3 - "$tmp" "$(dirname "$0")" <<'EOF'
import csv, json, math, os, sys
import xml.etree.ElementTree as ET

d = sys.argv[1]
# The stage rule and nearest rank as the live tests recompute them.
sys.path.insert(0, sys.argv[2])
from check_latency import nearest_rank, stage_values
failed = 0
checks = 0

def check(cond, msg):
    global failed, checks
    checks += 1
    if not cond:
        failed += 1
        print("FAIL:", msg, file=sys.stderr)

def check_reports(name):
    with open(os.path.join(d, name + ".json")) as f:
        text = f.read()
    check(text.count("\n") == 1 and text.endswith("\n"), f"{name}.json: one line")
    report = json.loads(text)
    with open(os.path.join(d, name + ".csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    runs = report["runs"]
    check(len(rows) == sum(r["frames"]["processed"] for r in runs),
          f"{name}.csv: {len(rows)} rows, JSON says {sum(r['frames']['processed'] for r in runs)} frames")
    at = 0
    for r in runs:
        mine = rows[at:at + r["frames"]["processed"]]
        at += len(mine)
        check(all(int(x["threads"]) == r["threads"] for x in mine), f"{name}: threads column of run {r['threads']}")
        check(r["frames"]["processed"] > 10, f"{name}: a simulated run has frames")
        for key in ("seconds", "capture_fps", "detection_fps"):
            check(isinstance(r[key], (int, float)) and r[key] > 0, f"{name}: {key} {r[key]}")
        check(abs(r["detection_fps"] * r["seconds"] - r["frames"]["processed"]) < 1e-6 * r["frames"]["processed"],
              f"{name}: detection rate {r['detection_fps']} over {r['seconds']} s")
        values = {}
        for x in mine:
            for k, v in stage_values(x, r["headless"]).items():
                values.setdefault(k, []).append(v)
        check(set(r["stages"]) == {"capture_to_dequeue", "mailbox_wait", "preprocess", "inference",
                                   "postprocess", "display", "end_to_end"}, f"{name}: stage keys {list(r['stages'])}")
        for stage, st in r["stages"].items():
            v = sorted(values.get(stage, []))
            check(st["n"] == len(v), f"{name} {r['threads']}t {stage}: n {st['n']}, CSV gives {len(v)}")
            if not v:
                continue
            want = {"median": nearest_rank(v, 50), "p90": nearest_rank(v, 90), "p99": nearest_rank(v, 99),
                    "max": v[-1]}
            for k, w in want.items():
                # CSV figures carry 3 decimals: a difference of two is within 0.001
                check(abs(st[k] - w) <= 0.0011, f"{name} {r['threads']}t {stage} {k}: JSON {st[k]}, CSV {w}")

check_reports("two")
check_reports("three")
three = json.load(open(os.path.join(d, "three.json")))
check([r["headless"] for r in three["runs"]] == [False, False, True], "three: headless flags")
check(three["runs"][2]["stages"]["display"]["n"] == 0, "headless run: no display stage")
check(json.load(open(os.path.join(d, "none.json"))) == {"runs": []}, "no runs: empty list")

SVG = "{http://www.w3.org/2000/svg}"
NUMERIC = ("x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height")

def check_svg(name, polylines, title):
    path = os.path.join(d, name + ".svg")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        check(False, f"{name}.svg does not parse: {e}")
        return
    check(root.tag == SVG + "svg", f"{name}.svg: root {root.tag}")
    check(not list(root.iter(SVG + "script")), f"{name}.svg: no script")
    bad = []
    for el in root.iter():
        for a in NUMERIC:
            if a in el.attrib and not el.attrib[a].endswith("%"):
                if not math.isfinite(float(el.attrib[a])):
                    bad.append((el.tag, a, el.attrib[a]))
        if "points" in el.attrib:
            for pair in el.attrib["points"].split():
                x, y = pair.split(",")
                if not (math.isfinite(float(x)) and math.isfinite(float(y))):
                    bad.append((el.tag, "points", pair))
    check(not bad, f"{name}.svg: numbers not finite: {bad[:3]}")
    n = len(list(root.iter(SVG + "polyline")))
    check(n == polylines, f"{name}.svg: {n} lines, want {polylines}")
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    check(title in texts, f"{name}.svg: title {title!r} not among {texts[:3]}")

check_svg("two", 4, "mnv2det latency (simulated): 29.97 fps camera, 60 Hz screen, 1 and 2 threads")
check_svg("three", 6, "three runs")
check_svg("single", 2, "one frame <&> \ufffd")
check_svg("none", 0, "mnv2det latency")
check_svg("outliers", 2, "outliers")
none_texts = "".join(ET.parse(os.path.join(d, "none.svg")).getroot().itertext())
check("no frames recorded" in none_texts, "none.svg: says there are no frames")

print(f"latency files: {checks} checks, {failed} failed")
sys.exit(1 if failed else 0)
EOF
