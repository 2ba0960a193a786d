#!/usr/bin/env bash
# The live program with its window on a real X server (Xvfb, evilwm), keys
# typed by xdotool as a user's arrive, on the sample clip:
#  1. --realtime --json: space pauses, s saves a screenshot (stderr names it
#     and the frame shown), space resumes; the run ends by itself with exit
#     0; the screenshot shows that frame's detections (tests/check_screenshot.py:
#     each box's left and bottom edges in its class's colour at the
#     letterboxed position, black bars, the clip off the boxes);
#  2. q two seconds in: exit 0, fewer frames than asked;
#  3. q while paused: the program still ends (exit 0);
#  4. space as soon as the window is up (likely before its first frame): the
#     window shows a frame all the same (s saves it), the run comes to its
#     end meanwhile and the window waits, saying so on stderr, until space.
# SKIP without Xvfb, evilwm, xdotool, python3 or the clip.
#   test_live_xvfb.sh MNV2DET TEST_DISPLAY
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
test_display=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
test_name="live window under Xvfb"
. "$(dirname "$0")/live_lib.sh"
need_python
need_clip
start_x
cd "$tmp"

# 1. pause, screenshot, resume, let it finish
"$bin" -i "$clip" --realtime --score 0.4 --json --frames 80 >1.jsonl 2>1.err &
pid=$!
bg_pids+=($pid)
shot_line() { grep -q '^mnv2det: screenshot ' 1.err; }
# A second of the clip detected: the window has frames to show (paused
# before the first one, it would have nothing to save).
some_frames() { [ "$(wc -l <1.jsonl)" -ge 10 ]; }
if wait_for 30 some_frames && press space && sleep 0.5 && press s && wait_for 10 shot_line && press space; then ok; else
  fail "1: could not pause, take a screenshot and resume: $(cat 1.err "$tmp/xdotool.err")"; fi
wait_pid 60 $pid
rc=$?
[ $rc -eq 0 ] && ok || fail "1: exit $rc: $(tail -n 3 1.err)"
[ "$(wc -l <1.jsonl)" -eq 80 ] && ok || fail "1: $(wc -l <1.jsonl) JSON lines for --frames 80"
line=$(grep '^mnv2det: screenshot ' 1.err)
name=$(sed -n 's/^mnv2det: screenshot \(mnv2det-[^ ]*\.png\) (frame \([0-9]*\))$/\1/p' <<<"$line")
frame=$(sed -n 's/^mnv2det: screenshot \(mnv2det-[^ ]*\.png\) (frame \([0-9]*\))$/\2/p' <<<"$line")
if [ -z "$name" ] || [ -z "$frame" ] || [ "$(grep -c . <<<"$line")" -ne 1 ]; then
  fail "1: screenshot line '$line'"
elif [ ! -s "$name" ]; then
  fail "1: the screenshot $name is not in the current folder: $(ls)"
else
  if python3 "$here/check_screenshot.py" "$name" 1.jsonl "$frame" "$test_display" >1.check 2>&1; then
    ok; cat 1.check
  else
    fail "1: $(cat 1.check)"
  fi
  # MNV2DET_KEEP_SHOT=FILE: keep the screenshot and the frames to look at
  if [ -n "${MNV2DET_KEEP_SHOT:-}" ]; then
    cp "$name" "$MNV2DET_KEEP_SHOT" && cp 1.jsonl "$MNV2DET_KEEP_SHOT.jsonl"
  fi
fi
s=$(sanitizer_report 1.err) && fail "1: $s" || ok

# 2. q quits before the end
"$bin" -i "$clip" --realtime --score 0.4 --json --frames 300 >2.jsonl 2>2.err &
pid=$!
bg_pids+=($pid)
# the window is up once xdotool finds it; then two seconds of frames
if timeout 30 xdotool search --sync --name '^mnv2det' >/dev/null 2>&1 && sleep 2 && press q; then ok; else
  fail "2: no window to press q in: $(cat 2.err "$tmp/xdotool.err")"; fi
wait_pid 20 $pid
rc=$?
n=$(wc -l <2.jsonl)
[ $rc -eq 0 ] && ok || fail "2: exit $rc after q: $(tail -n 3 2.err)"
[ "$n" -ge 1 ] && [ "$n" -lt 300 ] && ok || fail "2: $n frames after q, want some and fewer than 300"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' 2.jsonl && ok || fail "2: stdout not JSON lines"

# 3. q while paused: the program ends all the same
"$bin" -i "$clip" --realtime --score 0.4 --json --frames 300 >3.jsonl 2>3.err &
pid=$!
bg_pids+=($pid)
if press space && sleep 1 && press q; then ok; else fail "3: could not press space and q: $(cat 3.err "$tmp/xdotool.err")"; fi
wait_pid 20 $pid
rc=$?
[ $rc -eq 0 ] && ok || fail "3: q while paused: exit $rc (124: still running 20 s later)"

# 4. paused at once; the input ends while paused
"$bin" -i "$clip" --realtime --score 0.4 --json --frames 20 >4.jsonl 2>4.err &
pid=$!
bg_pids+=($pid)
ended() { grep -q '^mnv2det: the input has ended while paused' 4.err; }
if press space && wait_for 60 ended; then ok; else fail "4: no word of the input's end while paused: $(cat 4.err)"; fi
[ "$(wc -l <4.jsonl)" -eq 20 ] && ok || fail "4: $(wc -l <4.jsonl) JSON lines for --frames 20"
running $pid && ok || fail "4: the program did not wait, paused, at the end of its input"
shot4() { grep -q '^mnv2det: screenshot mnv2det-.*\.png (frame [0-9]*)$' 4.err; }
if press s && wait_for 10 shot4; then ok; else fail "4: no screenshot of the paused window: $(cat 4.err)"; fi
press space || fail "4: could not press space"
wait_pid 20 $pid
rc=$?
[ $rc -eq 0 ] && ok || fail "4: exit $rc after space at the end (124: still running 20 s later)"

finish "$test_name"
