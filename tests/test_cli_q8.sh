#!/usr/bin/env bash
# Quantized models through the mnv2det command line: the small uint8 model
# with TFLite_Detection_PostProcess that test_net_q8 writes detects on a
# golden picture (scores are its LOGISTIC's uint8 steps, 1/256 apart), and
# the benchmark names the precision it ran in (int8; float32 for the
# default model). Usage: test_cli_q8.sh MNV2DET TEST_NET_Q8
set -u
bin=$1
writer=$2
data=$MNV2DET_TEST_DATA
model_dir=$MNV2DET_MODEL_DIR
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

if ! "$writer" write "$tmp" >"$tmp/err" 2>&1 || [ ! -f "$tmp/small_ssd_postprocess.uint8.tflite" ]; then
  echo "FAIL: test_net_q8 write: $(cat "$tmp/err")" >&2
  exit 1
fi
model=$tmp/small_ssd_postprocess.uint8.tflite

# detections on a picture: 1 to 5 (the operator's max_detections), scores
# in steps of 1/256, boxes inside the picture
if "$bin" --model "$model" --input "$data/chelsea.300.png" --json --score 0.3 >"$tmp/out.json" 2>"$tmp/err"; then
  if python3 - "$tmp/out.json" "$model" >"$tmp/why" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d = r["detections"]
assert r["model"] == sys.argv[2], r["model"]
assert 1 <= len(d) <= 5, f"{len(d)} detections"
for x in d:
    assert x["score"] >= 0.3 and abs(x["score"] * 256 - round(x["score"] * 256)) < 1e-3, x
    b = x["box"] if "box" in x else x["bbox"]
    vals = list(b.values()) if isinstance(b, dict) else b
    assert all(-1e-3 <= v <= 300.001 for v in vals), b
PY
  then ok; else fail "detections: $(cat "$tmp/why")"; fi
else
  fail "mnv2det on the uint8 model: $(cat "$tmp/err")"
fi

# the benchmark says what it ran
for case in "$model int8" "$model_dir/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite float32"; do
  set -- $case
  if "$bin" bench --model "$1" --iters 2 --json >"$tmp/bench.json" 2>"$tmp/err"; then
    got=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["precision"], r["int8_layers"] > 0)' "$tmp/bench.json")
    want="$2 $([ "$2" = int8 ] && echo True || echo False)"
    if [ "$got" = "$want" ]; then ok; else fail "bench $(basename "$1"): '$got', want '$want'"; fi
  else
    fail "bench $(basename "$1"): $(cat "$tmp/err")"
  fi
  if "$bin" bench --model "$1" --iters 2 >"$tmp/bench.txt" 2>"$tmp/err" &&
     grep -q "^model .*($2: [0-9]* of [0-9]* layers int8)" "$tmp/bench.txt"; then ok
  else fail "bench $(basename "$1") text: $(head -1 "$tmp/bench.txt") $(cat "$tmp/err")"; fi
done

echo "quantized models on the command line: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
