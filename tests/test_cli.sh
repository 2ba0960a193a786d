#!/usr/bin/env bash
# The mnv2det command line end to end: images in, JSON out matching the
# golden detections; bad flags, missing and broken files rejected with exit
# status 2 and one line on stderr.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
data=$MNV2DET_TEST_DATA
model_dir=$MNV2DET_MODEL_DIR
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# expect_error STATUS PATTERN -- ARGS...: exit status, exactly one stderr line
# matching PATTERN, nothing on stdout.
expect_error() {
  local want=$1 pattern=$2; shift 3
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  local lines; lines=$(wc -l <"$tmp/err")
  if [ "$got" -ne "$want" ]; then fail "mnv2det $*: exit $got, want $want"; return; fi
  if [ "$lines" -ne 1 ]; then fail "mnv2det $*: $lines stderr lines, want 1: $(cat "$tmp/err")"; return; fi
  if ! grep -qE -- "$pattern" "$tmp/err"; then fail "mnv2det $*: stderr '$(cat "$tmp/err")' lacks /$pattern/"; return; fi
  if [ -s "$tmp/out" ]; then fail "mnv2det $*: unexpected stdout"; return; fi
  ok
}

# 1. every golden image through the CLI matches its golden detection list
for img in "$data"/*.300.png; do
  name=$(basename "$img" .300.png)
  if "$bin" --input "$img" --json --score 0.3 >"$tmp/$name.json" 2>"$tmp/err"; then
    if python3 "$here/compare_detections.py" "$tmp/$name.json" "$data/$name.detections.json" exact >"$tmp/cmp" 2>&1
    then ok; else fail "$name: $(cat "$tmp/cmp")"; fi
  else
    fail "$name: mnv2det failed: $(cat "$tmp/err")"
  fi
done

# 2. a JPEG the program resizes itself (as the reference did with PIL)
if "$bin" --input "$data/messi5.jpg" --json --score 0.3 >"$tmp/messi5.json" 2>"$tmp/err" &&
   python3 "$here/compare_detections.py" "$tmp/messi5.json" "$data/messi5.detections.json" resized >"$tmp/cmp" 2>&1
then ok; else fail "messi5.jpg: $(cat "$tmp/err" "$tmp/cmp")"; fi

# 3. the human table names what it found
"$bin" "$data/chelsea.300.png" >"$tmp/table" 2>&1 && grep -q "Cat" "$tmp/table" && ok || fail "table output lacks the cat: $(cat "$tmp/table")"

# 4. several images in one run: one JSON object per line
"$bin" --json "$data/chelsea.300.png" "$data/noise.300.png" >"$tmp/two" 2>/dev/null
[ "$(wc -l <"$tmp/two")" -eq 2 ] && ok || fail "two inputs gave $(wc -l <"$tmp/two") JSON lines"

# 5. help and version
"$bin" --help | grep -q -- "--input" && ok || fail "--help lacks --input"
"$bin" --version | grep -qE '^mnv2det [0-9]+\.[0-9]+' && ok || fail "--version"

# 6. bad usage and bad input
printf 'not an image at all\n' >"$tmp/text.png"
head -c 3000 "$data/chelsea.300.png" >"$tmp/cut.png"
head -c 2000 "$data/messi5.jpg" >"$tmp/cut.jpg"
head -c 1000 "$model_dir/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite" >"$tmp/cut.tflite"
printf 'TFL3 junk' >"$tmp/foreign.tflite"
expect_error 2 "unknown option '--frobnicate'" -- --frobnicate --input "$data/chelsea.300.png"
expect_error 2 "needs a value" -- --input
expect_error 2 "--score wants a number" -- --score 1.5 --input "$data/chelsea.300.png"
expect_error 2 "--threads wants" -- --threads 0 --input "$data/chelsea.300.png"
expect_error 2 "no input given and no camera found" --
expect_error 2 "$tmp/missing.png: No such file" -- --input "$tmp/missing.png"
expect_error 2 "$tmp/text.png: cannot decode image" -- --input "$tmp/text.png"
expect_error 2 "$tmp/cut.png: cannot decode image" -- --input "$tmp/cut.png"
expect_error 2 "$tmp/nomodel.tflite: No such file" -- --model "$tmp/nomodel.tflite" --input "$data/chelsea.300.png"
expect_error 2 "$tmp/cut.tflite: .*(truncated|corrupt)" -- --model "$tmp/cut.tflite" --input "$data/chelsea.300.png"
expect_error 2 "$tmp/foreign.tflite: " -- --model "$tmp/foreign.tflite" --input "$data/chelsea.300.png"

# a truncated JPEG decodes to a partly grey picture (libjpeg's recovery) or
# fails; either way one clean outcome, never a crash
"$bin" --json "$tmp/cut.jpg" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] || { [ $rc -eq 2 ] && grep -q "cut.jpg: cannot decode" "$tmp/err"; }; then ok; else fail "truncated JPEG: exit $rc $(cat "$tmp/err")"; fi

# 7. scripts/setup says everything on stderr (scripts/run pipes mnv2det's
# stdout to tools), apt-get's and the build's output included: run the real
# script in a copy of the tree whose tools (dpkg-query, apt-get, meson, ninja,
# fetch-model) are stand-ins that print on stdout.
mkdir -p "$tmp/setup/scripts" "$tmp/setup/bin"
cp "$here/../scripts/setup" "$tmp/setup/scripts/setup"
stub() { printf '#!/bin/sh\n%s\n' "$2" >"$1"; chmod +x "$1"; }
stub "$tmp/setup/scripts/fetch-model" 'echo "fetch-model: stand-in"'
stub "$tmp/setup/bin/dpkg-query" 'exit 1'
stub "$tmp/setup/bin/id" 'echo 0'
stub "$tmp/setup/bin/npm" 'echo npm'
stub "$tmp/setup/bin/apt-get" 'echo "apt-get $*"'
stub "$tmp/setup/bin/meson" 'echo "meson $*"'
stub "$tmp/setup/bin/ninja" 'echo "ninja $*"'
PATH="$tmp/setup/bin:$PATH" "$tmp/setup/scripts/setup" >"$tmp/setup.out" 2>"$tmp/setup.err"
rc=$?
if [ $rc -eq 0 ] && [ ! -s "$tmp/setup.out" ] && grep -q "apt-get update" "$tmp/setup.err" &&
   grep -q "setup: built build/app/mnv2det" "$tmp/setup.err"; then ok
else fail "scripts/setup: exit $rc, stdout '$(cat "$tmp/setup.out")', stderr '$(cat "$tmp/setup.err")'"; fi

# 8. exit statuses: --help lists them; output that cannot be written
# (/dev/full) exits 1 with one line on stderr, in every mode
"$bin" --help >"$tmp/help" 2>&1
grep -q "Exit status: 0 " "$tmp/help" && grep -q "1 when the output cannot be written" "$tmp/help" && ok ||
  fail "--help does not document the exit statuses: $(cat "$tmp/help")"
expect_full() { # DESCRIPTION -- ARGS...
  local what=$1; shift 2
  "$bin" "$@" >/dev/full 2>"$tmp/err"
  local got=$? lines; lines=$(wc -l <"$tmp/err")
  if [ $got -eq 1 ] && [ "$lines" -eq 1 ] && grep -q "No space left on device" "$tmp/err"; then ok
  else fail "$what to /dev/full: exit $got, stderr '$(cat "$tmp/err")'"; fi
}
# (/dev/full is a standard Linux device: its absence is a failure, not a skip)
expect_full "a run" -- --json "$data/chelsea.300.png"
expect_full "the table" -- "$data/chelsea.300.png" "$data/noise.300.png"
expect_full "--help" -- --help
expect_full "--version" -- --version
expect_full "bench" -- bench --iters 1 --warmup 0
expect_full "bench --json" -- bench --iters 1 --warmup 0 --json
expect_full "bench --help" -- bench --help

# 9. MNV2DET_ISA is checked as --isa is, and named in the message
case $(uname -m) in aarch64) foreign=avx2 ;; *) foreign=neon ;; esac
MNV2DET_ISA=bogus expect_error 2 "^mnv2det: MNV2DET_ISA wants ref, avx2, avx512 or neon, not 'bogus'" -- "$data/chelsea.300.png"
MNV2DET_ISA=$foreign expect_error 2 "^mnv2det: MNV2DET_ISA=$foreign: this CPU or build cannot run it" -- "$data/chelsea.300.png"
MNV2DET_ISA=bogus expect_error 2 "^mnv2det bench: MNV2DET_ISA wants ref, avx2, avx512 or neon, not 'bogus'" -- bench --iters 1
expect_error 2 "^mnv2det: --isa wants ref, avx2, avx512 or neon, not 'bogus'" -- --isa bogus "$data/chelsea.300.png"
expect_error 2 "^mnv2det bench: --isa $foreign: this CPU or build cannot run it" -- bench --isa $foreign
MNV2DET_ISA=ref "$bin" --json "$data/chelsea.300.png" >"$tmp/ref.json" 2>"$tmp/err" &&
  python3 "$here/compare_detections.py" "$tmp/ref.json" "$data/chelsea.detections.json" exact >/dev/null 2>&1 &&
  ok || fail "MNV2DET_ISA=ref: $(cat "$tmp/err")"

# 9b. MNV2DET_MAX_MEMORY_MB: the memory cap on the model, a picture, a
# video frame; what would pass it is refused with the need and the cap.
MNV2DET_MAX_MEMORY_MB=lots expect_error 2 "^mnv2det: MNV2DET_MAX_MEMORY_MB wants a whole number of MiB from 1 to 1048576, not 'lots'" -- "$data/chelsea.300.png"
MNV2DET_MAX_MEMORY_MB=0 expect_error 2 "^mnv2det: MNV2DET_MAX_MEMORY_MB wants a whole number" -- "$data/chelsea.300.png"
MNV2DET_MAX_MEMORY_MB=lots expect_error 2 "^mnv2det bench: MNV2DET_MAX_MEMORY_MB wants a whole number" -- bench --iters 1
MNV2DET_MAX_MEMORY_MB=24 expect_error 2 "^mnv2det: .*\.tflite: the model needs [0-9]+ MiB \(activations [0-9]+ MiB, weights [0-9]+ MiB\), more than the memory limit of 24 MiB$" -- "$data/chelsea.300.png"
printf 'P6\n4000 4000\n255\n' >"$tmp/big.ppm"
MNV2DET_MAX_MEMORY_MB=64 expect_error 2 "^mnv2det: $tmp/big.ppm: decoding a 4000x4000 picture needs 138 MiB, more than the memory limit of 64 MiB$" -- "$tmp/big.ppm"
# a picture over the cap is one bad input: the others still run
MNV2DET_MAX_MEMORY_MB=64 "$bin" --json "$tmp/big.ppm" "$data/chelsea.300.png" >"$tmp/after_big" 2>"$tmp/err"
[ $? -eq 2 ] && [ "$(wc -l <"$tmp/after_big")" -eq 1 ] && grep -q '"Cat"' "$tmp/after_big" &&
  ok || fail "the picture after one over the cap: $(cat "$tmp/err" "$tmp/after_big")"
printf 'YUV4MPEG2 W4096 H4096 F25:1 C444\n' >"$tmp/big.y4m"
MNV2DET_MAX_MEMORY_MB=64 expect_error 2 "^mnv2det: $tmp/big.y4m: Y4M header: a 4096x4096 frame needs 72 MiB, more than the memory limit of 64 MiB$" -- "$tmp/big.y4m"
MNV2DET_MAX_MEMORY_MB=64 "$bin" --json "$data/chelsea.300.png" >"$tmp/capped.json" 2>"$tmp/err" &&
  python3 "$here/compare_detections.py" "$tmp/capped.json" "$data/chelsea.detections.json" exact >/dev/null 2>&1 &&
  ok || fail "MNV2DET_MAX_MEMORY_MB=64: $(cat "$tmp/err")"

# 10. images run in the command line's order, --input or not
"$bin" --json "$data/chelsea.300.png" --input "$data/noise.300.png" "$data/coffee.300.png" >"$tmp/order" 2>"$tmp/err"
python3 - "$tmp/order" <<'PY' && ok || fail "order of inputs: $(cat "$tmp/order" "$tmp/err")"
import json, os, sys
names = [os.path.basename(json.loads(l)["image"]) for l in open(sys.argv[1])]
sys.exit(names != ["chelsea.300.png", "noise.300.png", "coffee.300.png"])
PY

# 11. the settings file: its model is used when --model is not given
# (relative to its folder), a missing model or label file names the config
# line, and labels fall back to the model's own (MODEL.cfg's labels key,
# then MODEL.labels.txt beside it) when the config has none
default_model=object_detection_ssd_mobilenetv2_oidv4_fp16.tflite
mkdir -p "$tmp/cfg/sub" "$tmp/elsewhere"
ln -s "$model_dir" "$tmp/cfg/sub/models"
printf 'score_threshold = 0.3\nmodel = nothere.tflite\n' >"$tmp/cfg/missing.cfg"
expect_error 2 "^mnv2det: $tmp/cfg/missing.cfg:2: model: $tmp/cfg/nothere.tflite: No such file" -- --config "$tmp/cfg/missing.cfg" --json "$data/chelsea.300.png"
printf '# the default model, through a link\nmodel = sub/models/%s\nlabels = nolabels.txt\n' "$default_model" >"$tmp/cfg/nolabels.cfg"
expect_error 2 "^mnv2det: $tmp/cfg/nolabels.cfg:3: labels: $tmp/cfg/nolabels.txt: No such file" -- --config "$tmp/cfg/nolabels.cfg" "$data/chelsea.300.png"
printf 'score_threshold = 0.3\nmodel = sub/models/%s   # relative to this file\n' "$default_model" >"$tmp/cfg/relative.cfg"
(cd "$tmp/elsewhere" && "$bin" --config ../cfg/relative.cfg --json "$data/chelsea.300.png" >"$tmp/relative.json" 2>"$tmp/err")
python3 - "$tmp/relative.json" "../cfg/sub/models/$default_model" <<'PY' &&
import json, sys
sys.exit(json.load(open(sys.argv[1]))["model"] != sys.argv[2])
PY
  python3 "$here/compare_detections.py" "$tmp/relative.json" "$data/chelsea.detections.json" exact >"$tmp/cmp" 2>&1 &&
  ok || fail "config naming the model: $(cat "$tmp/relative.json" "$tmp/err" "$tmp/cmp")"
# --model wins over the config's model
"$bin" --config "$tmp/cfg/missing.cfg" --model "$model_dir/$default_model" --json "$data/chelsea.300.png" >"$tmp/over.json" 2>"$tmp/err" &&
  python3 "$here/compare_detections.py" "$tmp/over.json" "$data/chelsea.detections.json" exact >/dev/null 2>&1 &&
  ok || fail "--model over the config's model: $(cat "$tmp/err")"
# a config without labels, default model: the labels stay (Footwear is class 19)
printf 'score_threshold = 0.2\n' >"$tmp/cfg/nolabelkey.cfg"
"$bin" --config "$tmp/cfg/nolabelkey.cfg" --json "$data/astronaut.300.png" "$data/chelsea.300.png" >"$tmp/labels.json" 2>"$tmp/err"
python3 - "$tmp/labels.json" <<'PY' && ok || fail "labels lost under --config: $(cat "$tmp/labels.json" "$tmp/err")"
import json, sys
labels = {d["class_id"]: d["label"] for l in open(sys.argv[1]) for d in json.loads(l)["detections"]}
sys.exit(not labels or labels.get(8) != "Cat" or any(l.startswith("class ") for l in labels.values()))
PY

# 12. settings limits: a byte-order mark is skipped; one detection limit
# (1000) for the config and --max, in the same words; a num_layers mismatch
# names the model and the config
printf '\xef\xbb\xbfscore_threshold = 0.3\n' >"$tmp/cfg/bom.cfg"
"$bin" --config "$tmp/cfg/bom.cfg" --json "$data/chelsea.300.png" >"$tmp/bom.json" 2>"$tmp/err" &&
  python3 "$here/compare_detections.py" "$tmp/bom.json" "$data/chelsea.detections.json" exact >/dev/null 2>&1 &&
  ok || fail "config with a byte-order mark: $(cat "$tmp/err")"
printf 'max_detections = 5000\n' >"$tmp/cfg/max.cfg"
expect_error 2 "^mnv2det: $tmp/cfg/max.cfg:1: max_detections: 5000 is outside \[1, 1000\], the most detections per image" -- --config "$tmp/cfg/max.cfg" "$data/chelsea.300.png"
expect_error 2 "^mnv2det: --max: 1500 is outside \[1, 1000\], the most detections per image" -- --max 1500 "$data/chelsea.300.png"
# the live issue's options: bad values and combinations are usage errors
expect_error 2 "^mnv2det: --threads wants a whole number from 1 to 1024 \(or, with --bench, a list such as 1,2\), not '1,,2'" -- --bench 3 --threads 1,,2 "$data/chelsea.300.png"
expect_error 2 "^mnv2det: --threads wants .* not '1,2,'" -- --bench 3 --threads 1,2, "$data/chelsea.300.png"
expect_error 2 "^mnv2det: a list of thread counts is for --bench" -- --threads 1,2 "$data/chelsea.300.png"
expect_error 2 "^mnv2det: --bench wants a number of frames from 1, not '0'" -- --bench 0 "$data/chelsea.300.png"
expect_error 2 "^mnv2det: --bench N already says how many frames" -- --bench 3 --frames 2 "$data/chelsea.300.png"
expect_error 2 "^mnv2det: --record with a list of thread counts" -- --bench 3 --threads 1,2 --record "$tmp/x.y4m" "$data/chelsea.300.png"
expect_error 2 "^mnv2det: --classes: 'nosuch' is not a class of .*; its classes are: .*Person" -- --classes person,nosuch "$data/chelsea.300.png"
# --classes keeps exactly the named labels of the unfiltered run
"$bin" --json --score 0.3 "$data/basketball1.300.png" >"$tmp/all.json" 2>"$tmp/err" &&
  "$bin" --json --score 0.3 --classes ' PERSON ' "$data/basketball1.300.png" >"$tmp/person.json" 2>>"$tmp/err" &&
  python3 - "$tmp/all.json" "$tmp/person.json" <<'PY' && ok || fail "--classes person: $(cat "$tmp/err")"
import json, sys
a = json.load(open(sys.argv[1]))["detections"]
p = json.load(open(sys.argv[2]))["detections"]
want = [d for d in a if d["label"] == "Person"]
assert want and len(want) < len(a), (len(want), len(a))
assert p == want, (p, want)
PY
printf 'max_detections = 1000\n' >"$tmp/cfg/max.cfg"
"$bin" --config "$tmp/cfg/max.cfg" --max 1000 --score 0 --nms 1 --json "$data/noise.300.png" >"$tmp/max.json" 2>"$tmp/err"
python3 -c 'import json,sys; sys.exit(len(json.load(open(sys.argv[1]))["detections"]) != 1000)' "$tmp/max.json" &&
  ok || fail "1000 detections at score 0: $(head -c 300 "$tmp/max.json") $(cat "$tmp/err")"
printf 'num_layers = 5\n' >"$tmp/cfg/layers.cfg"
expect_error 2 "^mnv2det: $model_dir/$default_model has 6 feature maps but $tmp/cfg/layers.cfg sets num_layers 5" -- --model "$model_dir/$default_model" --config "$tmp/cfg/layers.cfg" "$data/chelsea.300.png"

# 13. long paths: no buffer cuts a path or its error's reason, and a model in
# a deep folder keeps its labels (MODEL.labels.txt beside it)
long=$tmp/long
for i in 1 2 3 4 5 6; do long=$long/$(printf 'd%.0s' $(seq 200)); done
mkdir -p "$long"
expect_error 2 "^mnv2det: $long/missing.png: No such file or directory" -- "$long/missing.png"
huge=$tmp/$(printf 'x%.0s' $(seq 12000)).png
expect_error 2 "^mnv2det: /.*xxx\.png: File name too long$|^mnv2det: $huge: File name too long$" -- "$huge"
ln -s "$model_dir/$default_model" "$long/deep.tflite"
ln -s "$model_dir/object_detection_oidv4_labelmap.txt" "$long/deep.labels.txt"
"$bin" --model "$long/deep.tflite" --json "$data/chelsea.300.png" >"$tmp/deep.json" 2>"$tmp/err"
python3 - "$tmp/deep.json" "$long/deep.tflite" <<'PY' && ok || fail "model in a deep folder: $(cat "$tmp/err")"
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(r["model"] != sys.argv[2] or [d["label"] for d in r["detections"]] != ["Cat"])
PY
printf 'model = deep.tflite\n' >"$long/deep.cfg"
"$bin" --config "$long/deep.cfg" --json "$data/chelsea.300.png" >"$tmp/deep.json" 2>"$tmp/err"
python3 - "$tmp/deep.json" "$long/deep.tflite" <<'PY' && ok || fail "config in a deep folder: $(cat "$tmp/err")"
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(r["model"] != sys.argv[2] or [d["label"] for d in r["detections"]] != ["Cat"])
PY

# 14. JSON stays valid UTF-8: every byte that is not part of a well-formed
# UTF-8 character becomes U+FFFD, in file names and labels alike; valid
# characters pass unchanged
bad_name=$(printf '%s/bad\377name.png' "$tmp")
ln -s "$data/chelsea.300.png" "$bad_name"
awk 'NR == 9 { printf "Ca\376t \303\251 \300\257 \355\240\200 \364\220\200\200 \342\202\n"; next } { print }' \
  "$model_dir/object_detection_oidv4_labelmap.txt" >"$tmp/bad_labels.txt"
"$bin" --labels "$tmp/bad_labels.txt" --json "$bad_name" >"$tmp/utf8.json" 2>"$tmp/err"
python3 - "$tmp/utf8.json" "$tmp" <<'PY' && ok || fail "invalid UTF-8 in JSON: $(cat "$tmp/err")"
import json, sys
raw = open(sys.argv[1], "rb").read()
r = json.loads(raw.decode("utf-8"))  # strict: raises on invalid UTF-8
want_label = "Ca\ufffdt \u00e9 " + "\ufffd" * 2 + " " + "\ufffd" * 3 + " " + "\ufffd" * 4 + " " + "\ufffd" * 2
ok = r["image"] == sys.argv[2] + "/bad\ufffdname.png" and [d["label"] for d in r["detections"]] == [want_label]
if not ok:
    print(r["image"], [d["label"] for d in r["detections"]], file=sys.stderr)
sys.exit(not ok)
PY

# 15. images from pipes: /dev/stdin, "-", a process substitution; a
# directory says so
for how in devstdin-file devstdin-pipe dash procsub; do
  case $how in
    devstdin-file) "$bin" --json /dev/stdin <"$data/chelsea.300.png" >"$tmp/pipe.json" 2>"$tmp/err" ;;
    devstdin-pipe) cat "$data/chelsea.300.png" | "$bin" --json /dev/stdin >"$tmp/pipe.json" 2>"$tmp/err" ;;
    dash) cat "$data/chelsea.300.png" | "$bin" --json - >"$tmp/pipe.json" 2>"$tmp/err" ;;
    procsub) "$bin" --json <(cat "$data/chelsea.300.png") >"$tmp/pipe.json" 2>"$tmp/err" ;;
  esac
  python3 "$here/compare_detections.py" "$tmp/pipe.json" "$data/chelsea.detections.json" exact >"$tmp/cmp" 2>&1 &&
    ok || fail "image from a pipe ($how): $(cat "$tmp/err" "$tmp/cmp")"
done
# A folder is its images, in name order; one that does not decode is named
# and skipped, the others run, and the status says something was wrong.
mkdir -p "$tmp/folder"
cp "$data/chelsea.300.png" "$tmp/folder/a.png"
cp "$tmp/cut.png" "$tmp/folder/b.png"
cp "$data/noise.300.png" "$tmp/folder/c.png"
"$bin" --json "$tmp/folder" >"$tmp/out" 2>"$tmp/err"; st=$?
if [ "$st" -eq 2 ] && [ "$(wc -l <"$tmp/out")" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
   grep -q "folder/b.png: cannot decode image" "$tmp/err" &&
   head -1 "$tmp/out" | grep -q '"image":"[^"]*folder/a.png"' && tail -1 "$tmp/out" | grep -q 'folder/c.png'
then ok; else fail "folder of images: exit $st, $(cat "$tmp/out" "$tmp/err")"; fi
mkdir -p "$tmp/empty"
expect_error 2 "$tmp/empty" -- "$tmp/empty"
: | expect_error 2 "^mnv2det: stdin: empty, not an image$" -- -

# 16. a JPEG's EXIF orientation is applied: messi5.jpg (548x342) marked
# "turn 90 degrees clockwise" (6) or "180 degrees" (3) is processed and
# reported at its upright size, its boxes inside that frame
exif_jpeg() { # ORIENTATION OUT: messi5.jpg with an APP1 Exif block after SOI
  python3 - "$data/messi5.jpg" "$1" "$2" <<'PY'
import struct, sys
jpeg = open(sys.argv[1], "rb").read()
tiff = b"MM" + struct.pack(">HIH", 42, 8, 1) + struct.pack(">HHIHH", 0x0112, 3, 1, int(sys.argv[2]), 0) + b"\0\0\0\0"
app1 = b"\xff\xe1" + struct.pack(">H", 2 + 6 + len(tiff)) + b"Exif\0\0" + tiff
open(sys.argv[3], "wb").write(jpeg[:2] + app1 + jpeg[2:])
PY
}
for o in 6 3; do
  exif_jpeg $o "$tmp/turned$o.jpg"
  "$bin" --json --score 0.3 "$tmp/turned$o.jpg" >"$tmp/turned.json" 2>"$tmp/err"
  python3 - "$tmp/turned.json" $o <<'PY' && ok || fail "EXIF orientation $o: $(cat "$tmp/turned.json" "$tmp/err")"
import json, sys
r = json.load(open(sys.argv[1]))
w, h = (342, 548) if sys.argv[2] == "6" else (548, 342)
inside = all(0 <= d["box"]["xmax"] <= w and 0 <= d["box"]["ymax"] <= h for d in r["detections"])
sys.exit(not (r["width"] == w and r["height"] == h and r["detections"] and inside))
PY
done

# 17. video: a Y4M clip made from a golden image gives one JSON line per frame
# (source, frame number, timestamp, detections), each frame the cat; --frames
# stops early; --loop goes on past the end; --realtime paces at the clip's
# rate; a malformed or truncated clip is one line and exit 2; camera flags on
# files are refused.
python3 - "$data/chelsea.300.png" "$tmp/clip.y4m" <<'PY'
import struct, sys, zlib
# Decode the 8-bit RGB PNG (no filters beyond the five standard ones) and
# write 5 frames of 4:2:0 Y4M with BT.601 limited-range conversion.
data = open(sys.argv[1], 'rb').read()
pos, idat, w = 8, b'', 0
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        assert depth == 8 and ctype in (2, 6)
        bpp = 3 if ctype == 2 else 4
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
rows, prev = [], bytearray(stride)
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line); prev = line
def px(x, y):
    r = rows[y]; return r[x * bpp], r[x * bpp + 1], r[x * bpp + 2]
Y = bytearray(w * h); U = bytearray((w // 2) * (h // 2)); V = bytearray((w // 2) * (h // 2))
for y in range(h):
    for x in range(w):
        r, g, b = px(x, y)
        Y[y * w + x] = max(0, min(255, round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255)))
for y in range(h // 2):
    for x in range(w // 2):
        rs = [px(2 * x + i, 2 * y + j) for i in (0, 1) for j in (0, 1)]
        r = sum(p[0] for p in rs) / 4; g = sum(p[1] for p in rs) / 4; b = sum(p[2] for p in rs) / 4
        U[y * (w // 2) + x] = max(0, min(255, round(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255)))
        V[y * (w // 2) + x] = max(0, min(255, round(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255)))
with open(sys.argv[2], 'wb') as out:
    out.write(b'YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n' % (w, h))
    for _ in range(5):
        out.write(b'FRAME\n' + Y + U + V)
PY
if "$bin" --json "$tmp/clip.y4m" >"$tmp/clip.json" 2>"$tmp/err" && python3 - "$tmp/clip.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 5, len(lines)
for i, o in enumerate(lines):
    assert o["frame"] == i and o["source"].endswith("clip.y4m") and o["format"] == "i420", o
    assert abs(o["pts"] - i / 10) < 1e-9 and o["timestamp"] > 0, o
    assert o["width"] == 300 and o["height"] == 300
    assert [d["label"] for d in o["detections"]][:1] == ["Cat"], o["detections"]
assert all(a["timestamp"] <= b["timestamp"] for a, b in zip(lines, lines[1:]))
PY
then ok; else fail "Y4M clip per-frame JSON: $(cat "$tmp/err")"; fi
n=$("$bin" --json --frames 2 "$tmp/clip.y4m" 2>/dev/null | wc -l)
[ "$n" -eq 2 ] && ok || fail "--frames 2 gave $n lines"
n=$("$bin" --json --loop --frames 12 "$tmp/clip.y4m" 2>/dev/null | python3 -c 'import json,sys; f=[json.loads(l)["frame"] for l in sys.stdin]; print(len(f) if f == list(range(12)) else -1)')
[ "$n" -eq 12 ] && ok || fail "--loop --frames 12 gave $n frames in order"
start=$(date +%s.%N)
"$bin" --json --realtime "$tmp/clip.y4m" >"$tmp/rt.json" 2>"$tmp/err"; st=$?
took=$(python3 -c "import sys; print(float('$(date +%s.%N)') - float('$start'))")
# 5 frames at 10 fps: the last is due 0.4 s after the first (plus model load).
python3 -c "import sys; sys.exit(0 if $st == 0 and $took >= 0.4 else 1)" && ok || fail "--realtime: exit $st in ${took}s"
head -c 200 "$tmp/clip.y4m" >"$tmp/cutclip.y4m"
# (--no-display: else the window's line, or the line saying there is no
# display, comes before the error)
expect_error 2 "cutclip.y4m: .*frame 0" -- --json --no-display "$tmp/cutclip.y4m"
printf 'YUV4MPEG2 W300 H300 F10:1 C420p10\nFRAME\n' >"$tmp/deep.y4m"
expect_error 2 "deep.y4m: .*C420p10" -- --json "$tmp/deep.y4m"
printf 'YUV4MPEG2 W-3 H300\n' >"$tmp/bad.y4m"
expect_error 2 "bad.y4m: " -- --json "$tmp/bad.y4m"
expect_error 2 "for cameras, not files" -- --size 640x480 "$tmp/clip.y4m"
expect_error 2 "--size wants" -- --size 640 --device /dev/video0
expect_error 2 "--format wants" -- --format "" --device /dev/video0
expect_error 2 "/dev/nonexistent-camera: " -- --device /dev/nonexistent-camera
# No camera in this test's world: the listing is empty but well-formed.
"$bin" --list-devices --json >"$tmp/dev.json" 2>"$tmp/err" &&
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d["devices"], list)' "$tmp/dev.json" &&
  ok || fail "--list-devices --json: $(cat "$tmp/dev.json" "$tmp/err")"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
