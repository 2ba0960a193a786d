#!/usr/bin/env bash
# scripts/run as a new user runs it with no arguments: it sets up (a no-op
# here: the packages, the model and the build are there), says on its first
# line what it chose and why, and does it. Two of its three cases, the two
# that need no camera (this machine has none outside the vivid VM):
#  - no display: the sample clip headless, a JSON line per frame on stdout,
#    the latency table on stderr at the end;
#  - a display (Xvfb): the sample clip in a window, in real time.
# MNV2DET_RUN_FRAMES keeps the runs short. SKIP (77) when the sample clip, or
# for the second case Xvfb, is missing.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
xvfb=
cleanup() { [ -n "$xvfb" ] && kill "$xvfb" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
failed=0 passed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

if ! "$root/scripts/sample-clip" >/dev/null 2>&1; then
  echo "SKIP: no sample clip (scripts/setup installs opencv-doc)"; exit 77
fi
if [ -n "$(ls /dev/video* 2>/dev/null)" ]; then
  echo "SKIP: this machine has a camera: scripts/run would choose it"; exit 77
fi

# 1. no display
env -u DISPLAY -u WAYLAND_DISPLAY SSH_CONNECTION=test MNV2DET_RUN_FRAMES=25 \
  "$root/scripts/run" >"$tmp/out" 2>"$tmp/err"
rc=$?
first=$(grep -m1 '^run: ' "$tmp/err")
[ $rc -eq 0 ] && ok || fail "headless: exit $rc: $(tail -5 "$tmp/err")"
case $first in
  "run: no camera, so the sample clip vtest.avi (opencv-doc) in real time; no display"*headless*) ok ;;
  *) fail "headless: first line '$first'" ;;
esac
# nothing of mnv2det's before scripts/run's own line
awk '/^run: /{exit} /^mnv2det/{bad=1} END{exit bad}' "$tmp/err" && ok || fail "headless: mnv2det spoke before run's line"
python3 - "$tmp/out" "$tmp/err" <<'PY' && ok || fail "headless output"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 25, len(lines)
frames = [json.loads(l) for l in lines]
assert [f["frame"] for f in frames] == sorted(f["frame"] for f in frames)
assert all(f["source"].endswith("vtest.avi") for f in frames)
assert sum(len(f["detections"]) for f in frames) > 25, "hardly any detections"
err = open(sys.argv[2]).read()
# the latency table at the end, from the same run
assert "end_to_end" in err and "processed" in err, err[-500:]
assert "25 processed" in err, err[-500:]
PY

# 2. a display: Xvfb
if ! command -v Xvfb >/dev/null; then echo "SKIP: no Xvfb (scripts/setup installs xvfb)"; exit 77; fi
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$tmp/display" 2>/dev/null &
xvfb=$!
for _ in $(seq 100); do [ -s "$tmp/display" ] && break; sleep 0.1; done
[ -s "$tmp/display" ] || { fail "Xvfb did not start"; exit 1; }
DISPLAY=:$(head -1 "$tmp/display") MNV2DET_RUN_FRAMES=20 "$root/scripts/run" >"$tmp/out" 2>"$tmp/err"
rc=$?
first=$(grep -m1 '^run: ' "$tmp/err")
[ $rc -eq 0 ] && ok || fail "window: exit $rc: $(tail -5 "$tmp/err")"
case $first in
  "run: no camera, so the sample clip vtest.avi (opencv-doc) in real time, live in a window on X11"*) ok ;;
  *) fail "window: first line '$first'" ;;
esac
grep -q '^mnv2det: window: video x11' "$tmp/err" && ok || fail "window: no window opened: $(cat "$tmp/err")"
n=$(grep -c 'vtest.avi frame [0-9]* (' "$tmp/out")
[ "$n" -eq 20 ] && ok || fail "window: $n frames in the table, want 20"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
