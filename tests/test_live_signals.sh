#!/usr/bin/env bash
# SIGTERM and SIGINT in the middle of a live run on the sample clip: the
# program stops cleanly with exit 0; stdout's JSON lines are whole lines;
# the JSON report is stderr's last line and the only one; the latency CSV is
# complete (tests/check_latency.py: one row per processed frame and per JSON
# line, ending with a newline, counts that add up); no sanitizer report (the
# ASan+UBSan and TSan builds run this too, where a leak or race fails it).
#   headless: --realtime (the detector mostly waiting for frames) with
#             SIGTERM and with SIGINT; as fast as it goes (the detector
#             busy, the capture thread waiting for it) with SIGTERM.
#   window:   the same with the window under Xvfb (SKIP without Xvfb,
#             evilwm, xdotool); and SIGTERM while paused, the detector then
#             waiting for the window.
#   test_live_signals.sh MNV2DET headless|window
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mode=${2:-headless}
test_name="live signals ($mode)"
. "$(dirname "$0")/live_lib.sh"
need_python
need_clip
display_args=(--no-display)
if [ "$mode" = window ]; then
  start_x
  display_args=()
fi
cd "$tmp"

# stop_run NAME SIGNAL PAUSE ARGS...: start mnv2det, let it detect a few
# frames, (PAUSE=pause: press space first), send SIGNAL, check everything.
stop_run() {
  local name=$1 sig=$2 pause=$3
  shift 3
  "$bin" -i "$clip" --json --stats=json --latency-log "$name.csv" "${display_args[@]}" "$@" \
    >"$name.jsonl" 2>"$name.err" &
  local pid=$!
  bg_pids+=($pid)
  # Started and detecting (slow in a sanitizer build): then two seconds more.
  if ! wait_for 60 eval "[ \$(wc -l <$name.jsonl) -ge 3 ]"; then
    fail "$name: no frames within 60 s: $(tail -n 3 "$name.err")"
    wait_pid 1 $pid
    return
  fi
  if [ "$pause" = pause ]; then
    press space || fail "$name: could not press space: $(cat "$tmp/xdotool.err")"
  fi
  sleep 2
  kill -s "$sig" $pid
  wait_pid 30 $pid
  local rc=$?
  if [ $rc -ne 0 ]; then
    fail "$name: exit $rc after SIG$sig (124: still running 30 s later): $(tail -n 5 "$name.err")"
    return
  fi
  ok
  local s
  if s=$(sanitizer_report "$name.err"); then fail "$name: $s"; else ok; fi
  # The report is stderr's last line; before it at most the window's line.
  tail -n 1 "$name.err" >"$name.summary.json"
  local others
  others=$(head -n -1 "$name.err" | grep -v '^mnv2det: window: ')
  [ -z "$others" ] && ok || fail "$name: unexpected lines on stderr: $others"
  local headless=yes
  [ "$mode" = window ] && headless=no
  if python3 "$here/check_latency.py" --summary "$name.summary.json" --csv "$name.csv" \
       --frames "$name.jsonl" --headless $headless >"$name.check" 2>&1; then ok; else
    fail "$name: $(cat "$name.check")"; fi
  # Stopped early: the clip has 795 frames.
  if python3 - "$name.summary.json" <<'EOF'
import json, sys
run, = json.load(open(sys.argv[1]))["runs"]
assert 3 <= run["frames"]["processed"] < 795, run["frames"]
EOF
  then ok; else fail "$name: $(cat "$name.summary.json")"; fi
}

stop_run term TERM run --realtime
stop_run int INT run --realtime
stop_run busy TERM run
if [ "$mode" = window ]; then
  # Paused, a file read at full speed waits for the window: the signal must
  # still get through to the detector waiting there.
  stop_run paused TERM pause
  # Paused in realtime, the detector goes on and the window holds frames.
  stop_run paused_rt INT pause --realtime
fi
finish "$test_name"
