#!/bin/busybox sh
# /init of the vivid test VM: mounts the kernel's file systems, loads vivid
# and the modules it needs (order in /etc/modules.order), runs the steps of
# /guest.sh and reports on the serial console in lines the host parses:
#   MNV2DET-GUEST-START uptime=S     init reached
#   MNV2DET-STEP-PASS|FAIL|SKIP NAME  after each step
#   MNV2DET-GUEST-ERROR REASON        the harness itself failed
#   MNV2DET-GUEST-DONE pass=N fail=N skip=N uptime=S
# then powers the VM off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
# Programs from a sanitizer build report leaks too (no effect on others).
export ASAN_OPTIONS=detect_leaks=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
# The kernel's default here is "always": khugepaged merges the pages of any
# 2 MB range of anonymous memory into one huge page when it gets to it, and
# a program's resident size then steps up by up to 2 MB at a random moment,
# which the steps that judge RSS took for growth (once after 22 of 50
# reconnects; AnonHugePages went from 0 to 2048 kB with it). With "madvise"
# only ranges that ask for huge pages get them; mnv2det asks for none.
echo madvise >/sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || true
echo "MNV2DET-GUEST-START uptime=$(cut -d' ' -f1 /proc/uptime)"

finish() {
  echo "MNV2DET-GUEST-DONE pass=$passed fail=$failed skip=$skipped uptime=$(cut -d' ' -f1 /proc/uptime)"
  sync
  poweroff -f
  sleep 5
  reboot -f
}

passed=0 failed=0 skipped=0
step_timeout=$(sed -n 's/.*mnv2det\.step_timeout=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$step_timeout" ] || step_timeout=120

for m in $(cat /etc/modules.order); do
  if ! out=$(insmod "/lib/modules/$m.ko" 2>&1); then
    echo "MNV2DET-GUEST-ERROR insmod $m: $out"
    failed=$((failed + 1))
    finish
  fi
done
i=0
while [ ! -e /dev/video0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
echo "vivid loaded: $(ls /dev | grep -E '^(video|vbi|radio|swradio|v4l-)' | tr '\n' ' ')"

# step NAME COMMAND...: runs one check; its output goes to the console; exit
# status 0 passes, 77 skips, anything else (or the time limit) fails.
step() {
  name=$1
  shift
  echo "=== step: $name: $*"
  t0=$(cut -d' ' -f1 /proc/uptime)
  timeout "$step_timeout" "$@" 2>&1
  rc=$?
  t1=$(cut -d' ' -f1 /proc/uptime)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  if [ $rc -eq 0 ]; then
    echo "MNV2DET-STEP-PASS $name (${secs} s)"; passed=$((passed + 1))
  elif [ $rc -eq 77 ]; then
    echo "MNV2DET-STEP-SKIP $name (${secs} s)"; skipped=$((skipped + 1))
  else
    echo "MNV2DET-STEP-FAIL $name (exit $rc, ${secs} s)"; failed=$((failed + 1))
  fi
}

cd /data
. /guest.sh
finish
