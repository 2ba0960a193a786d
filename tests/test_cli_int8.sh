#!/usr/bin/env bash
# --int8: the detector and the benchmark run the int8 default model
# (models/object_detection_ssd_mobilenetv2_oidv4_int8.tflite, which
# scripts/fetch-model makes) instead of the float one. When that file is
# there, both run on it and say so (the model they name; the benchmark's
# precision is int8, unless the file is a byte copy of the float model, a
# stand-in); when it is not, both fail with exit status 2 and one line that
# names the file and scripts/fetch-model. Either way --int8 with --model is a
# usage error. Usage: test_cli_int8.sh MNV2DET
set -u
bin=$1
data=$MNV2DET_TEST_DATA
model_dir=$MNV2DET_MODEL_DIR
name=object_detection_ssd_mobilenetv2_oidv4_int8.tflite
int8=$model_dir/$name
float=$model_dir/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# From the source tree, where the default models are found as models/NAME.
cd "$model_dir/.." || exit 1

# stderr is exactly one line naming the missing file and how to make it
missing_message() {
  [ "$(wc -l <"$1")" -eq 1 ] && grep -q -- "--int8: the int8 model .*/$name is missing; run scripts/fetch-model" "$1"
}

run_detector() { "$bin" --int8 -i "$data/messi5.jpg" --no-display --json >"$tmp/out" 2>"$tmp/err"; }
run_bench()    { "$bin" bench --int8 --iters 2 --warmup 1 --json >"$tmp/out" 2>"$tmp/err"; }

if [ -f "$int8" ]; then
  echo "int8 model present: $int8"
  if run_detector; then
    if python3 - "$tmp/out" "$name" >"$tmp/why" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["model"].endswith("/" + sys.argv[2]), r["model"]
assert r["width"] == 548 and r["height"] == 342, (r["width"], r["height"])
assert isinstance(r["detections"], list)
PY
    then ok; else fail "mnv2det --int8: $(cat "$tmp/why")"; fi
  else
    fail "mnv2det --int8 -i messi5.jpg: status $?: $(cat "$tmp/err")"
  fi
  if run_bench; then
    want=int8
    cmp -s "$int8" "$float" && want=float32   # a stand-in: the float model under the int8 name
    if python3 - "$tmp/out" "$name" "$want" >"$tmp/why" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["model"].endswith("/" + sys.argv[2]), r["model"]
assert r["iters"] == 2 and r["median_ms"] > 0, r
assert r["precision"] == sys.argv[3], (r["precision"], "want", sys.argv[3])
PY
    then ok; else fail "mnv2det bench --int8: $(cat "$tmp/why")"; fi
  else
    fail "mnv2det bench --int8 --iters 2: status $?: $(cat "$tmp/err")"
  fi
else
  echo "int8 model absent ($int8): expecting the error that says how to make it"
  run_detector; rc=$?
  if [ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] && missing_message "$tmp/err"; then ok
  else fail "mnv2det --int8 without the model: status $rc, stderr: $(cat "$tmp/err")"; fi
  run_bench; rc=$?
  if [ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] && missing_message "$tmp/err"; then ok
  else fail "mnv2det bench --int8 without the model: status $rc, stderr: $(cat "$tmp/err")"; fi
fi

# --int8 with --model: one line, status 2, whether or not the model is there
both_error() {
  if [ "$1" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- "give --int8 or --model, not both" "$tmp/err"
  then ok; else fail "$2 --int8 --model: status $1, stderr: $(cat "$tmp/err")"; fi
}
"$bin" --int8 --model "$float" -i "$data/messi5.jpg" --no-display >"$tmp/out" 2>"$tmp/err"
both_error $? mnv2det
"$bin" bench --int8 --model "$float" --iters 2 >"$tmp/out" 2>"$tmp/err"
both_error $? "mnv2det bench"

echo "--int8 on the command line: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
