# The steps the vivid VM runs, one line each: `step NAME COMMAND [ARGS...]`.
# A step passes when COMMAND exits 0, is skipped on 77, fails otherwise; its
# output is printed on the console. Programs given with run.sh --bin are in
# /bin, files given with --data in /data (the current folder: models/ is
# there, so mnv2det finds its default model). vivid's capture node is
# /dev/video0. For example:
#   step "mnv2det lists vivid" mnv2det --list-devices

# The driver's own view, when v4l2-ctl (v4l-utils) was on the host.
if command -v v4l2-ctl >/dev/null; then
  step "vivid as v4l2-ctl sees it" v4l2-ctl -d /dev/video0 --info --get-input --get-fmt-video --get-parm
fi
step "v4l2 source against vivid" test_v4l2

# The program itself on the live driver. Inference under software emulation
# takes seconds a frame: few frames, generous waits; and the mailbox must
# have dropped the frames vivid made meanwhile (newest wins), counting them.
step "mnv2det --list-devices shows vivid" sh -c 'mnv2det --list-devices | tee /tmp/list && grep -q vivid /tmp/list && grep -qi yuyv /tmp/list'
step "mnv2det --list-devices --json" sh -c 'mnv2det --list-devices --json | tee /tmp/list.json && grep -q "vivid" /tmp/list.json'
step "mnv2det --device /dev/video0 --json detects" sh -c '
  mnv2det --device /dev/video0 --json --frames 3 >/tmp/det.json 2>/tmp/det.err; rc=$?
  cat /tmp/det.err; cut -c1-400 /tmp/det.json
  [ $rc -eq 0 ] && [ "$(wc -l </tmp/det.json)" -eq 3 ] &&
  [ "$(grep -c "\"source\":\"/dev/video0\",\"frame\":[0-9]*,\"timestamp\":" /tmp/det.json)" -eq 3 ] &&
  grep -q "camera /dev/video0" /tmp/det.err &&
  tail -1 /tmp/det.json | grep -q "\"dropped\":[1-9]"'
# Wait (up to 90 s) for mnv2det to print its first frame, then pull the camera.
# Each step writes files of its own, removed first: one left by an earlier
# step would end the wait before mnv2det had even opened the camera.
step "camera vanishing: one line, exit 1" sh -c '
  rm -f /tmp/v1.out /tmp/v1.err
  mnv2det --device /dev/video0 --json >/tmp/v1.out 2>/tmp/v1.err & p=$!
  i=0; while [ ! -s /tmp/v1.out ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
  test_v4l2 disconnect /dev/video0
  wait $p; rc=$?; cat /tmp/v1.err
  [ $rc -eq 1 ] && grep -q "^mnv2det: /dev/video0: disconnected" /tmp/v1.err && [ "$(grep -c . /tmp/v1.err)" -eq 2 ]'
step "camera vanishing with --reconnect: waits, comes back, goes on" sh -c '
  rm -f /tmp/v2.out /tmp/v2.err
  mnv2det --device /dev/video0 --json --reconnect --frames 4 >/tmp/v2.out 2>/tmp/v2.err & p=$!
  i=0; while [ ! -s /tmp/v2.out ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
  test_v4l2 disconnect /dev/video0
  wait $p; rc=$?; echo "exit $rc"; cat /tmp/v2.err; cut -c1-120 /tmp/v2.out
  [ $rc -eq 0 ] && [ "$(wc -l </tmp/v2.out)" -eq 4 ] &&
  grep -q "disconnected; waiting for it to come back" /tmp/v2.err && grep -q "^mnv2det: back: /dev/video0" /tmp/v2.err'
step "SIGTERM stops a live run cleanly" sh -c '
  rm -f /tmp/v3.out /tmp/v3.err
  mnv2det --device /dev/video0 --json >/tmp/v3.out 2>/tmp/v3.err & p=$!
  i=0; while [ ! -s /tmp/v3.out ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
  kill -TERM $p; wait $p; rc=$?; echo "exit $rc"; cat /tmp/v3.err
  [ $rc -eq 0 ] && mnv2det --device /dev/video0 --json --frames 1 >/dev/null'
