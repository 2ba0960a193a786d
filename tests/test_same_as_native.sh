#!/usr/bin/env bash
# A cross build's program under QEMU prints the same detections as the
# native (x86-64) build for the same pictures: same classes in the same
# order, scores and corners within 1e-3.
#   test_same_as_native.sh PROGRAM NATIVE_PROGRAM
# PROGRAM runs the cross-built program under QEMU; NATIVE_PROGRAM is the
# meson option native_mnv2det (scripts/cross passes build/app/mnv2det).
set -u
bin=$1 native=${2:-}
data=$MNV2DET_TEST_DATA
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "$native" ] || [ ! -x "$native" ]; then
  echo "SKIP: no native program to compare with (meson option native_mnv2det='$native')"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
# the golden 300x300 inputs, and a JPEG that the program resizes itself
for img in chelsea.300.png basketball1.300.png messi5.jpg; do
  if ! "$native" --input "$data/$img" --json --score 0.3 >"$tmp/native.json" 2>"$tmp/err"; then
    failed=$((failed + 1)); echo "FAIL: $img: native program: $(cat "$tmp/err")" >&2; continue
  fi
  if ! "$bin" --input "$data/$img" --json --score 0.3 >"$tmp/cross.json" 2>"$tmp/err"; then
    failed=$((failed + 1)); echo "FAIL: $img: cross program: $(cat "$tmp/err")" >&2; continue
  fi
  if python3 "$here/same_detections.py" "$tmp/cross.json" "$tmp/native.json" >"$tmp/cmp" 2>&1; then
    passed=$((passed + 1)); echo "$img: $(cat "$tmp/cmp")"
  else
    failed=$((failed + 1)); echo "FAIL: $img: $(cat "$tmp/cmp")" >&2
  fi
done
echo "same as native: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
