#!/usr/bin/env bash
# A short soak (scripts/soak): mnv2det on a looping clip for a few thousand
# frames, its RSS, open descriptors and threads sampled every second, none
# of them allowed to grow after warm-up. First, the soak's own verdict is
# shown to fail: a stand-in program that leaks a descriptor, or memory, as it
# goes must be caught.
#   test_soak.sh MNV2DET SOAK_SCRIPT [FRAMES]
set -u
bin=$1 soak=$2 frames=${3:-2500}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# The stand-in prints one line per "frame" (--frames N), 20 every 0.1 s, and
# leaks as it goes: LEAK=fds opens a descriptor every 20 lines, LEAK=rss
# keeps 64 kB more of memory. mnv2det's other options it ignores.
cat >"$tmp/leaky" <<'EOF'
#!/usr/bin/env bash
n=0
while [ $# -gt 0 ]; do [ "$1" = --frames ] && n=$2; shift; done
keep=
block=$(head -c 65536 /dev/zero | tr '\0' x)
for ((i = 0; i < n; i += 20)); do
  for ((j = 0; j < 20; j++)); do echo '{}'; done
  case "$LEAK" in
    fds) exec {fd}</dev/null ;;
    rss) keep+=$block ;;
  esac
  sleep 0.1
done
EOF
chmod +x "$tmp/leaky"
# 1200 lines in 60 steps of 0.1 s: some 8 s, 60 leaks.
for leak in fds rss; do
  out=$(LEAK=$leak "$soak" 1200 --mnv2det "$tmp/leaky" --clip /dev/null --interval 0.3 --warmup 2 \
        --rss-margin 512 --quiet 2>&1)
  rc=$?
  echo "stand-in leaking $leak: exit $rc: $out"
  case "$leak:$out" in
    fds:*"soak: FAIL"*"open descriptors grew"*) ;;
    rss:*"soak: FAIL"*"RSS grew"*) ;;
    *) echo "FAIL: the soak did not catch the stand-in leaking $leak"; fail=1 ;;
  esac
  [ $rc -eq 1 ] || { echo "FAIL: exit $rc, expected 1"; fail=1; }
done

# The real program. Warm-up: 5 s and 10% of the frames (its RSS is flat
# after the first second), a sample every 0.5 s: the verdict needs 6 samples
# after warm-up, and 2500 frames took only 16 s once the network got faster.
"$soak" "$frames" --mnv2det "$bin" --interval 0.5 --warmup 5 --samples "$tmp/samples.csv" --quiet >"$tmp/summary" 2>"$tmp/err"
rc=$?
cat "$tmp/summary"
[ $rc -eq 77 ] && exit 77
if [ $rc -ne 0 ]; then
  echo "FAIL: soak exited $rc"; cat "$tmp/err"; echo "samples:"; cat "$tmp/samples.csv"; fail=1
fi
grep -q "^soak: PASS: $frames frames in " "$tmp/summary" || { echo "FAIL: no PASS summary for $frames frames"; fail=1; }
[ $fail -eq 0 ] && echo "soak test: all checks passed"
exit $fail
