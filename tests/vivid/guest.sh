# The steps the vivid VM runs, one line each: `step NAME COMMAND [ARGS...]`.
# A step passes when COMMAND exits 0, is skipped on 77, fails otherwise; its
# output is printed on the console. Programs given with run.sh --bin are in
# /bin, files given with --data in /data (the current folder: models/ is
# there, so mnv2det finds its default model). vivid's capture node is
# /dev/video0. For example:
#   step "mnv2det lists vivid" mnv2det --list-devices

# Most steps that run mnv2det use a model of microseconds (small_ssd, written
# by test_ssd_shapes; --max 1 keeps the output lines short): under software
# emulation the default model takes seconds a frame, and a reconnect waits
# for the frame in the detector. Helpers shared by the steps:
cat >/tmp/lib.sh <<'LIB'
small="--model /data/small_ssd.tflite --max 1"
# wait_for SECONDS COMMAND...: until COMMAND succeeds, polling every 0.1 s;
# the status of its last try.
wait_for() {
  _wait_n=$(($1 * 10)); shift; _wait_i=0
  while ! "$@" && [ $_wait_i -lt $_wait_n ]; do sleep 0.1; _wait_i=$((_wait_i + 1)); done
  "$@"
}
nonempty() { [ -s "$1" ]; }
has_line() { grep -q "$1" "$2"; }
more_lines_than() { [ "$(wc -l <"$2")" -gt "$1" ]; }
now() { cut -d" " -f1 /proc/uptime; }
LIB

# The driver's own view, when v4l2-ctl (v4l-utils) was on the host.
if command -v v4l2-ctl >/dev/null; then
  step "vivid as v4l2-ctl sees it" v4l2-ctl -d /dev/video0 --info --get-input --get-fmt-video --get-parm
fi
step "v4l2 source against vivid" test_v4l2

# The program itself on the live driver. With the default model (detection,
# and a reconnect while the detector is busy) inference under software
# emulation takes seconds a frame: few frames, generous waits; and the
# mailbox must have dropped the frames vivid made meanwhile (newest wins),
# counting them.
step "mnv2det --list-devices shows vivid" sh -c 'mnv2det --list-devices | tee /tmp/list && grep -q vivid /tmp/list && grep -qi yuyv /tmp/list'
step "mnv2det --list-devices --json" sh -c 'mnv2det --list-devices --json | tee /tmp/list.json && grep -q "vivid" /tmp/list.json'
step "mnv2det --device /dev/video0 --json --no-display detects" sh -c '
  mnv2det --device /dev/video0 --json --no-display --frames 3 >/tmp/det.json 2>/tmp/det.err; rc=$?
  cat /tmp/det.err; cut -c1-400 /tmp/det.json
  [ $rc -eq 0 ] && [ "$(wc -l </tmp/det.json)" -eq 3 ] &&
  [ "$(grep -c "\"source\":\"/dev/video0\",\"frame\":[0-9]*,\"timestamp\":" /tmp/det.json)" -eq 3 ] &&
  grep -q "camera /dev/video0" /tmp/det.err &&
  tail -1 /tmp/det.json | grep -q "\"dropped\":[1-9]"'
# Wait (up to 90 s) for mnv2det to print its first frame, then pull the camera.
# Each step writes files of its own, removed first: one left by an earlier
# step would end the wait before mnv2det had even opened the camera.
step "camera vanishing: one line, exit 1" sh -c '
  . /tmp/lib.sh
  rm -f /tmp/v1.out /tmp/v1.err
  mnv2det --device /dev/video0 --json --no-display $small >/tmp/v1.out 2>/tmp/v1.err & p=$!
  i=0; while [ ! -s /tmp/v1.out ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
  test_v4l2 disconnect /dev/video0
  wait $p; rc=$?; cat /tmp/v1.err
  [ $rc -eq 1 ] && grep -q "^mnv2det: /dev/video0: disconnected" /tmp/v1.err && [ "$(grep -c . /tmp/v1.err)" -eq 2 ]'
step "camera vanishing with --reconnect: waits, comes back, goes on" sh -c '
  rm -f /tmp/v2.out /tmp/v2.err
  mnv2det --device /dev/video0 --json --no-display --reconnect --frames 4 >/tmp/v2.out 2>/tmp/v2.err & p=$!
  i=0; while [ ! -s /tmp/v2.out ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
  test_v4l2 disconnect /dev/video0
  wait $p; rc=$?; echo "exit $rc"; cat /tmp/v2.err; cut -c1-120 /tmp/v2.out
  [ $rc -eq 0 ] && [ "$(wc -l </tmp/v2.out)" -eq 4 ] &&
  grep -q "disconnected; waiting for it to come back" /tmp/v2.err && grep -q "^mnv2det: back: /dev/video0" /tmp/v2.err'
step "SIGTERM stops a live run cleanly" sh -c '
  . /tmp/lib.sh
  rm -f /tmp/v3.out /tmp/v3.err
  mnv2det --device /dev/video0 --json --no-display $small >/tmp/v3.out 2>/tmp/v3.err & p=$!
  i=0; while [ ! -s /tmp/v3.out ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
  kill -TERM $p; wait $p; rc=$?; echo "exit $rc"; cat /tmp/v3.err
  [ $rc -eq 0 ] && mnv2det --device /dev/video0 --json --no-display --frames 1 $small >/dev/null'

# ---- Camera faults on repeat, and bad devices --------------------------------
# With the small model (see the top).

# --device at things that are not cameras: one line naming it, exit 2, and
# nothing on stdout. vivid's output node is a V4L2 device that does not
# capture.
step "mnv2det --device at a file, a folder, /dev/null, an output node: one line, exit 2" sh -c '
  . /tmp/lib.sh
  out=
  for n in /sys/class/video4linux/video*; do grep -q "vid-out" "$n/name" && out=/dev/${n##*/} && break; done
  [ -n "$out" ] || { echo "vivid made no video output node"; exit 1; }
  fail=0
  for d in /init /dev /dev/null "$out"; do
    case "$d" in
      /init) want="mnv2det: /init: not a V4L2 device (a regular file)" ;;
      /dev) want="mnv2det: /dev: not a V4L2 device (a directory)" ;;
      /dev/null) want="mnv2det: /dev/null: not a V4L2 device" ;;
      *) want="mnv2det: $d: not a video capture device (it is a video output device)" ;;
    esac
    mnv2det --device "$d" --json --no-display $small >/tmp/bad.out 2>/tmp/bad.err; rc=$?
    echo "--device $d: exit $rc: $(cat /tmp/bad.err)"
    if [ $rc -ne 2 ] || [ -s /tmp/bad.out ] || [ "$(cat /tmp/bad.err)" != "$want" ]; then
      echo "  expected exit 2 and the one line: $want"; fail=1
    fi
  done
  exit $fail'

# vivid dropping every buffer is a camera that stops delivering frames.
step "camera stalling: one line after 2 s, exit 1" sh -c '
  . /tmp/lib.sh
  rm -f /tmp/s1.out /tmp/s1.err
  mnv2det --device /dev/video0 --json --no-display $small >/tmp/s1.out 2>/tmp/s1.err & p=$!
  wait_for 90 nonempty /tmp/s1.out
  test_v4l2 control /dev/video0 dropped 100; t0=$(now)
  wait $p; rc=$?; t1=$(now)
  test_v4l2 control /dev/video0 dropped 0
  cat /tmp/s1.err; echo "exit $rc, $(awk -v a=$t0 -v b=$t1 "BEGIN { print b - a }") s after vivid stopped delivering"
  [ $rc -eq 1 ] && [ "$(grep -c . /tmp/s1.err)" -eq 2 ] &&
  [ "$(tail -n 1 /tmp/s1.err)" = "mnv2det: /dev/video0: no frame in 2000 ms (stalled)" ] &&
  awk -v a=$t0 -v b=$t1 "BEGIN { exit !(b - a >= 1.9 && b - a < 10) }"'
step "camera stalling with --reconnect: says so, goes on when frames come again" sh -c '
  . /tmp/lib.sh
  rm -f /tmp/s2.out /tmp/s2.err
  mnv2det --device /dev/video0 --json --no-display --reconnect $small >/tmp/s2.out 2>/tmp/s2.err & p=$!
  wait_for 90 nonempty /tmp/s2.out
  test_v4l2 control /dev/video0 dropped 100
  wait_for 30 has_line "stalled); waiting for it to come back" /tmp/s2.err; stalled=$?
  n=$(wc -l </tmp/s2.out)
  test_v4l2 control /dev/video0 dropped 0
  wait_for 30 more_lines_than $((n + 2)) /tmp/s2.out; flowing=$?
  kill -TERM $p; wait $p; rc=$?
  cat /tmp/s2.err; echo "exit $rc; $n result lines when frames came again, $(wc -l </tmp/s2.out) at the end"
  [ $stalled -eq 0 ] && [ $flowing -eq 0 ] && [ $rc -eq 0 ] &&
  grep -qx "mnv2det: /dev/video0: no frame in 2000 ms (stalled); waiting for it to come back (--reconnect)" /tmp/s2.err &&
  grep -q "^mnv2det: back: /dev/video0 (vivid" /tmp/s2.err'

# vivid reports a change of its Colorspace control (part of the format) as a
# V4L2 source change, as a capture card does when its input changes
# resolution: mnv2det opens the camera again, negotiating afresh, and goes
# on (without --reconnect too).
step "format change mid-stream: mnv2det says so, opens the camera again, goes on" sh -c '
  . /tmp/lib.sh
  rm -f /tmp/f.out /tmp/f.err
  mnv2det --device /dev/video0 --json --no-display $small >/tmp/f.out 2>/tmp/f.err & p=$!
  wait_for 90 nonempty /tmp/f.out
  test_v4l2 control /dev/video0 colorspace 1
  wait_for 30 has_line "^mnv2det: back: " /tmp/f.err; back=$?
  n=$(wc -l </tmp/f.out)
  wait_for 30 more_lines_than $((n + 2)) /tmp/f.out; flowing=$?
  kill -TERM $p; wait $p; rc=$?
  test_v4l2 control /dev/video0 colorspace 2
  cat /tmp/f.err; echo "exit $rc; $n result lines when it was back, $(wc -l </tmp/f.out) at the end"
  [ $back -eq 0 ] && [ $flowing -eq 0 ] && [ $rc -eq 0 ] &&
  grep -qx "mnv2det: /dev/video0: the camera changed its format mid-stream (a V4L2 source change); opening it again" /tmp/f.err &&
  grep -q "^mnv2det: back: /dev/video0 (vivid" /tmp/f.err'

# 50 times: the camera pulled and given back while mnv2det --reconnect runs
# (test_v4l2 cycles: tests/vivid/reconnect_cycles.c). Each resume within 1 s
# of the device's return; RSS, descriptors and threads flat (RSS is only
# reported, not judged, when mnv2det runs with AddressSanitizer, whose
# allocator keeps what is freed: the plain build's run judges it).
step "50 disconnects with --reconnect: each resumed within 1 s, RSS and descriptors flat" sh -c '
  . /tmp/lib.sh
  rm -f /tmp/c.out /tmp/c.err
  mnv2det --device /dev/video0 --json --no-display --reconnect $small >/tmp/c.out 2>/tmp/c.err & p=$!
  test_v4l2 cycles /dev/video0 50 $p /tmp/c.out; cycles=$?
  kill -TERM $p; wait $p; rc=$?
  gone=$(grep -cx "mnv2det: /dev/video0: disconnected; waiting for it to come back (--reconnect)" /tmp/c.err)
  back=$(grep -c "^mnv2det: back: /dev/video0 (vivid" /tmp/c.err)
  echo "exit $rc; stderr: $gone disconnected lines, $back back lines, $(grep -c . /tmp/c.err) lines in all; $(wc -l </tmp/c.out) result lines"
  [ $cycles -eq 0 ] && [ $rc -eq 0 ] && [ $gone -eq 50 ] && [ $back -eq 50 ]'

# scripts/soak on the live driver: a short soak at vivid's smallest size,
# RSS, descriptors and threads sampled every half second.
step "scripts/soak on vivid: RSS, descriptors and threads flat" \
  sh /data/soak 200 --device /dev/video0 --mnv2det /bin/mnv2det --interval 0.5 --warmup 5 --quiet -- \
  --size 320x180 --model /data/small_ssd.tflite --max 1
