#!/usr/bin/env bash
# The int8 default model against float32 (issue 15's criterion): quantizes
# the float default model here, as scripts/fetch-model does (min/max ranges
# and bias correction from the six golden pictures), then runs both models
# on the golden pictures, the noise picture and messi5.jpg (resized by
# mnv2det) and checks
# with int8_accuracy.py that every detection scoring 0.4 or more has a
# partner of the same class in the other model's list with IoU >= 0.8 and a
# score within 0.06. With a clip's name (scripts/sample-clip), every frame of
# that clip instead of the pictures; SKIP when the clip is not there.
# Usage: test_int8_accuracy.sh MNV2DET [CLIP]
set -euo pipefail
bin=$1
clip_name=${2:-}
data=$MNV2DET_TEST_DATA
float=$MNV2DET_MODEL_DIR/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
calib=() inputs=()
for g in astronaut basketball1 chelsea coffee messi5 motorcycle_left; do
  calib+=("$data/$g.300.png")
done
if [ -n "$clip_name" ]; then
  if ! clip=$("$here/../scripts/sample-clip" "$clip_name" 2>"$tmp/clip.err"); then
    echo "SKIP: $(head -1 "$tmp/clip.err") (scripts/setup fetches it)"
    exit 77
  fi
  inputs=(-i "$clip")
else
  for p in "${calib[@]}" "$data/noise.300.png" "$data/messi5.jpg"; do inputs+=(-i "$p"); done
fi
if ! "$bin" quantize --model "$float" --output "$tmp/int8.tflite" --calibrate "${calib[@]}" >"$tmp/log" 2>&1; then
  cat "$tmp/log"
  exit 1
fi
cat "$tmp/log"
# both with the float model's settings, down to 0.3 so that a partner just
# under 0.4 is listed
"$bin" -m "$float" -s 0.3 --json --no-display "${inputs[@]}" >"$tmp/float.jsonl"
"$bin" -m "$tmp/int8.tflite" -s 0.3 --json --no-display "${inputs[@]}" >"$tmp/int8.jsonl"
# every line names the model that ran (a picture's and a clip frame's alike)
if grep -v -q '"model":"[^"]*/int8.tflite"' "$tmp/int8.jsonl" ||
   grep -q '"model":"[^"]*/int8.tflite"' "$tmp/float.jsonl"; then
  echo "a line of the int8 run does not name the int8 model, or one of the float32 run does"
  exit 1
fi
python3 "$here/int8_accuracy.py" "$tmp/float.jsonl" "$tmp/int8.jsonl"
