#!/usr/bin/env bash
# mnv2det quantize on the command line: a picture folder and a list give the
# same model; the settings file follows the output; bias correction is on
# unless --no-bias-correction (and leaves no file behind); bad input gets one line
# naming it and the reason, exit status 2 (1 for a file that cannot be
# written), and leaves no output behind; an output over the model or its
# settings is refused. Usage: test_cli_quantize.sh MNV2DET
set -u
bin=$1
data=$MNV2DET_TEST_DATA
float=$MNV2DET_MODEL_DIR/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# a folder of two pictures against the same two as a list (without bias
# correction, which is checked below on one picture: it runs both models
# once per convolution and picture, slow under the sanitizers)
mkdir "$tmp/pics"
cp "$data/chelsea.300.png" "$data/coffee.300.png" "$tmp/pics/"
echo "not a picture" >"$tmp/pics/notes.txt"   # skipped: not a picture's name
if "$bin" quantize -m "$float" --calibrate "$tmp/pics" --no-bias-correction -o "$tmp/a.tflite" >"$tmp/out" 2>"$tmp/err" &&
   "$bin" quantize -m "$float" --calibrate "$tmp/pics/chelsea.300.png" "$tmp/pics/coffee.300.png" \
     --no-bias-correction -o "$tmp/b.tflite" >/dev/null 2>&1 &&
   cmp -s "$tmp/a.tflite" "$tmp/b.tflite" && grep -q "from 2 pictures" "$tmp/out"; then ok
else fail "folder vs list: $(cat "$tmp/out" "$tmp/err")"; fi
# the settings beside it name it, and it runs with them as an int8 model
if grep -q '^model = a.tflite$' "$tmp/a.cfg" &&
   "$bin" -m "$tmp/a.tflite" -s 0.3 -i "$data/messi5.jpg" --json --no-display >"$tmp/out" 2>"$tmp/err" &&
   grep -q '"label":"Person"' "$tmp/out"; then ok
else fail "settings beside the output: $(cat "$tmp/a.cfg" "$tmp/err")"; fi
# the percentile method writes another model
if "$bin" quantize -m "$float" --calibrate "$tmp/pics" --method percentile --percentile 99.9 \
     --no-bias-correction -o "$tmp/p.tflite" >"$tmp/out" 2>&1 && ! cmp -s "$tmp/a.tflite" "$tmp/p.tflite" &&
   grep -q "percentile 99.9" "$tmp/out"; then ok
else fail "percentile: $(cat "$tmp/out")"; fi
# bias correction by default (the line says so), not with --no-bias-correction:
# another model, with the same weights, only the biases differ
one=$tmp/pics/chelsea.300.png
if grep -q "biases corrected" <("$bin" quantize -m "$float" --calibrate "$one" -o "$tmp/c.tflite" 2>&1) &&
   "$bin" quantize -m "$float" --calibrate "$one" --no-bias-correction -o "$tmp/n.tflite" >"$tmp/out" 2>&1 &&
   ! grep -q "biases corrected" "$tmp/out" && ! cmp -s "$tmp/c.tflite" "$tmp/n.tflite" &&
   [ "$(stat -c %s "$tmp/c.tflite")" = "$(stat -c %s "$tmp/n.tflite")" ] &&
   [ -z "$(ls "$tmp" | grep probe)" ]; then ok
else fail "--no-bias-correction: $(cat "$tmp/out")"; fi

# one line, the status, and no output file
expect() { # status pattern output args...
  local want=$1 pattern=$2 out=$3
  shift 3
  "$bin" quantize "$@" >/dev/null 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- "$pattern" "$tmp/err" &&
     [ ! -e "$out" ]; then ok
  else fail "quantize $*: status $rc (want $want), stderr: $(cat "$tmp/err")"; fi
}
echo "garbage" >"$tmp/bad.png"
expect 2 "bad.png" "$tmp/x.tflite" -m "$float" --calibrate "$tmp/bad.png" -o "$tmp/x.tflite"
expect 2 "missing.png: No such file" "$tmp/x.tflite" -m "$float" --calibrate "$tmp/missing.png" -o "$tmp/x.tflite"
mkdir "$tmp/empty"
expect 2 "holds no .png" "$tmp/x.tflite" -m "$float" --calibrate "$tmp/empty" -o "$tmp/x.tflite"
expect 2 "--output wants" "$tmp/x.tflite" -m "$float" --calibrate "$tmp/pics"
expect 2 "--calibrate wants pictures" "$tmp/x.tflite" -m "$float" -o "$tmp/x.tflite"
expect 2 "--method wants minmax or percentile" "$tmp/x.tflite" --method median -o "$tmp/x.tflite"
expect 2 "--percentile wants" "$tmp/x.tflite" --method percentile --percentile 30 -o "$tmp/x.tflite"
expect 2 "--percentile is for --method percentile" "$tmp/x.tflite" -m "$float" --calibrate "$tmp/pics" \
  --percentile 99 -o "$tmp/x.tflite"
expect 2 "unknown option '--bogus'" "$tmp/x.tflite" --bogus
expect 2 "absent.tflite" "$tmp/x.tflite" -m "$tmp/absent.tflite" --calibrate "$tmp/pics" -o "$tmp/x.tflite"
# an int8 model is no float model to quantize
expect 2 "a.tflite is already quantized (.* layers int8): give the float model" "$tmp/y.tflite" \
  -m "$tmp/a.tflite" --calibrate "$tmp/pics" -o "$tmp/y.tflite"
# a folder that is not there: at once, before the calibration, naming --output
expect 1 "--output $tmp/no/dir/x.tflite: cannot write there: No such file" "$tmp/no/dir/x.tflite" \
  -m "$float" --calibrate "$tmp/pics" -o "$tmp/no/dir/x.tflite"

# the output must not replace the model or its settings: refused, both left as they were
cp "$float" "$tmp/m.tflite"
cp "${float%.tflite}.cfg" "$tmp/z.cfg"
# with the labels file the settings name (beside them)
cp "$(dirname "$float")/$(sed -n 's/^labels *= *\([^ #]*\).*/\1/p' "$tmp/z.cfg")" "$tmp/"
"$bin" quantize -m "$tmp/m.tflite" --calibrate "$one" -o "$tmp/../$(basename "$tmp")/m.tflite" >/dev/null 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "m.tflite is the model itself" "$tmp/err" &&
   cmp -s "$float" "$tmp/m.tflite"; then ok
else fail "output over the model: status $rc, stderr: $(cat "$tmp/err")"; fi
"$bin" quantize -m "$tmp/m.tflite" -c "$tmp/z.cfg" --calibrate "$one" -o "$tmp/z.tflite" >/dev/null 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "would write its settings over .*z.cfg" "$tmp/err" &&
   cmp -s "${float%.tflite}.cfg" "$tmp/z.cfg" && [ ! -e "$tmp/z.tflite" ]; then ok
else fail "settings over the model's: status $rc, stderr: $(cat "$tmp/err")"; fi

echo "quantize on the command line: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
