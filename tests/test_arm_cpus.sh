#!/usr/bin/env bash
# The 32-bit Arm build under QEMU with chosen CPU models (QEMU_CPU), whose
# HWCAP tells the program what the CPU has: the NEON kernels need NEON,
# VFPv4 and float16 conversion, so a Cortex-A9 (NEON, VFPv3) and a
# Cortex-R5F (VFPv3-D16, no NEON: Debian armhf's baseline) must refuse
# --isa neon and run the reference kernels with the golden detections, and
# a Cortex-A7 (Raspberry Pi 2) must run NEON with the golden detections.
# Executing a NEON or VFPv4 instruction on the smaller models would stop
# the program with SIGILL.
#   test_arm_cpus.sh PROGRAM (a script that runs the Arm program under QEMU)
set -u
bin=$1
data=$MNV2DET_TEST_DATA
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# detect CPU ARGS...: golden detections of chelsea on that CPU model
detect() {
  local cpu=$1; shift
  if QEMU_CPU=$cpu "$bin" "$@" --input "$data/chelsea.300.png" --json --score 0.3 >"$tmp/out.json" 2>"$tmp/err"; then
    if python3 "$here/compare_detections.py" "$tmp/out.json" "$data/chelsea.detections.json" exact >"$tmp/cmp" 2>&1
    then ok; else fail "$cpu $*: $(cat "$tmp/cmp")"; fi
  else
    fail "$cpu $*: exit $?: $(cat "$tmp/err")"
  fi
}

# refuse CPU: --isa neon is a usage error naming neon, before any work
refuse() {
  local cpu=$1
  QEMU_CPU=$cpu "$bin" --isa neon --input "$data/chelsea.300.png" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq 2 ] && grep -q 'neon' "$tmp/err" && [ ! -s "$tmp/out" ]; then ok
  else fail "$cpu --isa neon: exit $got, stderr '$(cat "$tmp/err")'"; fi
}

refuse cortex-r5f
refuse cortex-a9
detect cortex-r5f
detect cortex-a7 --isa neon

echo "arm cpus: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
