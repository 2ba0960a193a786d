#!/usr/bin/env bash
# The command line on the data in ../shared (outside the repository; SKIP
# when it is absent): the original, full-size golden pictures, which the
# program must resize itself, and the SSDLite test model.
set -u
bin=$1
shared=$MNV2DET_SHARED
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$shared/golden" ] || [ ! -f "$shared/models/ssdlite_mobilenet_v2_test.tflite" ]; then
  echo "SKIP: $shared is absent"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

check() { # NAME MODE OUTPUT GOLDEN -- ARGS...
  local name=$1 mode=$2 golden=$3; shift 4
  if "$bin" "$@" --json --score 0.3 >"$tmp/out.json" 2>"$tmp/err" &&
     python3 "$here/compare_detections.py" "$tmp/out.json" "$golden" "$mode" >"$tmp/cmp" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name: $(cat "$tmp/err" "$tmp/cmp")" >&2
  fi
}

for img in "$shared"/golden/*.png "$shared"/golden/*.jpg; do
  case $img in *.300.png) continue ;; esac
  name=$(basename "${img%.*}")
  check "$name (original size)" resized "$shared/golden/$name.detections.json" -- --input "$img"
done

for golden in "$shared"/golden-ssdlite/*.detections.json; do
  name=$(basename "$golden" .detections.json)
  check "$name (SSDLite)" exact "$golden" -- \
    --model "$shared/models/ssdlite_mobilenet_v2_test.tflite" --input "$shared/golden/$name.300.png"
done

# A settings file naming the SSDLite model and its labels (relative to the
# file's folder): both are used, with no --model (the default model would
# find no class_81 and name its classes otherwise).
mkdir -p "$tmp/cfg"
ln -s "$shared/models/ssdlite_mobilenet_v2_test.tflite" "$tmp/cfg/ssdlite.tflite"
ln -s "$shared/models/ssdlite_mobilenet_v2_test.labels.txt" "$tmp/cfg/coco.txt"
printf 'model = ssdlite.tflite\nlabels = coco.txt\nnms_iou = 0.5\n' >"$tmp/cfg/ssdlite.cfg"
check "chelsea (SSDLite named by a config)" exact "$shared/golden-ssdlite/chelsea.detections.json" -- \
  --config "$tmp/cfg/ssdlite.cfg" --input "$shared/golden/chelsea.300.png"
if grep -q '"model":"'"$tmp/cfg/ssdlite.tflite"'"' "$tmp/out.json"; then passed=$((passed + 1))
else failed=$((failed + 1)); echo "FAIL: the config's model is not the one reported: $(head -c 300 "$tmp/out.json")" >&2; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
