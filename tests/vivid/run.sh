#!/usr/bin/env bash
# Runs the capture tests against the kernel's real vivid driver: boots Debian
# 12's own kernel in qemu with an initramfs holding busybox, vivid and the
# modules it needs, the given programs (with their shared libraries) and data,
# runs tests/vivid/guest.sh inside, and reads the verdict off the serial
# console.
#
#   run.sh --work DIR [--bin FILE]... [--data PATH]... [--timeout SECONDS]
#
#   --work DIR      scratch folder for the initramfs and the console log
#   --bin FILE      a program for the guest's /bin (its libraries come along)
#   --data PATH     a file or folder copied to the guest's /data/
#   --guest FILE    the guest's steps (default: guest.sh beside this script)
#   --timeout S     the VM must have booted and reported by then (default 240)
#   --skip REASON   report SKIP with this reason and do nothing (for builds
#                   that cannot run the tests)
#
# Exit status: 0 when every guest step passed, 1 when one failed or the VM did
# not boot or report in time, 77 (SKIP) when the kernel cannot be fetched.
# The whole guest log is printed, so the test log shows every step's output.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work= timeout_s=240 guest="$here/guest.sh"
bins=() datas=()
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --bin) bins+=("$2"); shift 2 ;;
    --data) datas+=("$2"); shift 2 ;;
    --guest) guest=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --skip) echo "SKIP: $2"; exit 77 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; exit 1 ;;
  esac
done
[ -n "$work" ] || { echo "run.sh: --work DIR is required" >&2; exit 1; }

for tool in qemu-system-x86_64 cpio ldd modinfo; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool is not installed (scripts/setup installs it)"; exit 77; }
done
# busybox-static's busybox: the initramfs has no libraries for a dynamic one.
busybox=
for b in /bin/busybox /usr/bin/busybox "$(command -v busybox || true)"; do
  [ -n "$b" ] && [ -x "$b" ] || continue
  case "$(ldd "$b" 2>&1 || true)" in *"not a dynamic executable"*) busybox=$b; break ;; esac
done
[ -n "$busybox" ] || { echo "SKIP: no statically linked busybox (Debian package busybox-static)"; exit 77; }

t_start=$(date +%s.%N)
set +e
kdir=$("$here/fetch-kernel.sh")
rc=$?
set -e
if [ $rc -eq 77 ]; then echo "SKIP: cannot get Debian's kernel package (see above)"; exit 77; fi
[ $rc -eq 0 ] || { echo "run.sh: fetch-kernel.sh failed ($rc)"; exit 1; }
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -n 1)
moddir=$(ls -d "$kdir"/lib/modules/*/kernel | head -n 1)

# --- the initramfs -----------------------------------------------------------
root="$work/root"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,data,lib/modules}
cp "$busybox" "$root/bin/busybox"

# Modules in dependency order, from modinfo: vivid last, each after what it
# needs. Compressed modules (.ko.xz, .ko.zst) are unpacked, as busybox's
# insmod reads plain ELF only.
declare -A mod_path=() mod_done=()
while IFS= read -r f; do
  n=${f##*/}; n=${n%%.ko*}
  mod_path[$n]=$f
  mod_path[${n//-/_}]=$f
done < <(find "$moddir" -name '*.ko*')
order=()
add_module() {
  local name=$1 dep
  [ -n "${mod_done[$name]:-}" ] && return 0
  [ -n "${mod_path[$name]:-}" ] || { echo "run.sh: module $name not found under $moddir" >&2; exit 1; }
  mod_done[$name]=1
  for dep in $(modinfo -F depends "${mod_path[$name]}" | tr ',' ' '); do add_module "$dep"; done
  order+=("$name")
}
add_module vivid
for n in "${order[@]}"; do
  src=${mod_path[$n]}
  case "$src" in
    *.ko) cp "$src" "$root/lib/modules/$n.ko" ;;
    *.ko.xz) xz -dc "$src" >"$root/lib/modules/$n.ko" ;;
    *.ko.zst) zstd -qdc "$src" >"$root/lib/modules/$n.ko" ;;
    *.ko.gz) gzip -dc "$src" >"$root/lib/modules/$n.ko" ;;
    *) echo "run.sh: cannot read module $src" >&2; exit 1 ;;
  esac
done
printf '%s\n' "${order[@]}" >"$root/etc/modules.order"

# Programs and the shared libraries ldd finds for them, at the same paths,
# with the loader.
copy_lib() {
  local lib=$1
  [ -e "$root$lib" ] && return 0
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
}
for b in "${bins[@]}"; do
  [ -x "$b" ] || { echo "run.sh: --bin $b is not an executable" >&2; exit 1; }
  cp -L "$b" "$root/bin/"
  while IFS= read -r lib; do copy_lib "$lib"; done < <(ldd "$b" | grep -o '/[^ ]*' | sort -u)
done
for d in "${datas[@]}"; do
  [ -e "$d" ] || { echo "run.sh: --data $d does not exist" >&2; exit 1; }
  cp -rL "$d" "$root/data/"
done
cp "$here/init.sh" "$root/init"
cp "$guest" "$root/guest.sh"
chmod +x "$root/init"

initrd="$work/initramfs.cpio"
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$initrd"
t_built=$(date +%s.%N)

# --- the VM ------------------------------------------------------------------
# KVM when the host offers it (qemu falls back to the next -accel when KVM
# cannot start), else software emulation of the most capable CPU (the whole
# run takes some 110 s that way on a Zen 5, the boot 10 s). Without
# arch-capabilities: on some nested KVM hosts (a Zen 5 guest, QEMU 7.2) the
# vCPU's IA32_ARCH_CAPABILITIES value is refused and qemu aborts. On such a
# host KVM may also hang in the firmware; so a KVM run that has not reached
# the guest's init within kvm_boot_s is stopped and the VM runs again under
# emulation, in the time left. MNV2DET_VIVID_ACCEL=tcg skips KVM.
cpu=max,-arch-capabilities
kvm_boot_s=60
tcg=(-accel tcg -cpu "$cpu")
kvm=0
[ -w /dev/kvm ] && [ "${MNV2DET_VIVID_ACCEL:-}" != tcg ] && kvm=1
if [ "$kvm" = 1 ]; then accel=(-accel kvm "${tcg[@]}"); accel_name="kvm (tcg if kvm fails)"
else accel=("${tcg[@]}"); accel_name="tcg (software emulation)"; fi
log="$work/console.log"
# run_vm SECONDS BOOT_SECONDS: the VM for at most SECONDS, stopped if the
# guest's init has not started after BOOT_SECONDS (0: no such limit). The
# console goes to the log line by line, so that the host can note when the
# guest's init started (the boot time, firmware and kernel included).
run_vm() {
  echo "vivid: booting $(basename "$vmlinuz") with $(du -h "$initrd" | cut -f1) of initramfs, $accel_name, timeout ${1}s"
  rm -f "$log" "$work/t_boot" "$work/qemu.rc"
  local watch=
  if [ "$2" -gt 0 ]; then
    # only qemu (and timeout, which passes the signal on) has the initramfs path on its command line
    ( sleep "$2"; [ -f "$work/t_boot" ] || pkill -TERM -f -- "$initrd" ) & watch=$!
  fi
  set +e
  { timeout --kill-after=10 "$1" qemu-system-x86_64 -nographic -no-reboot -nic none -m 1024 -smp 2 "${accel[@]}" \
      -kernel "$vmlinuz" -initrd "$initrd" \
      -append "console=ttyS0 quiet loglevel=4 panic=-1 mnv2det.step_timeout=$((timeout_s / 2))" \
      </dev/null 2>&1
    echo "$?" >"$work/qemu.rc"
  } | while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    case "$line" in *MNV2DET-GUEST-START*) date +%s.%N >"$work/t_boot" ;; esac
  done
  if [ -n "$watch" ]; then kill "$watch" 2>/dev/null; wait "$watch" 2>/dev/null; fi
  set -e
}
t_vm=$t_built # the start of the VM run whose boot and length are reported
if [ "$kvm" = 1 ]; then
  run_vm "$timeout_s" "$kvm_boot_s"
  left=$(awk -v a="$t_built" -v b="$(date +%s.%N)" -v t="$timeout_s" 'BEGIN { printf "%d", t - (b - a) }')
  if [ ! -f "$work/t_boot" ] && [ "$left" -gt 30 ]; then
    echo "vivid: under KVM the guest did not start (qemu exit $(cat "$work/qemu.rc" 2>/dev/null || echo '?')); its console ended:"
    tr -d '\r' <"$log" | tail -n 3
    accel=("${tcg[@]}"); accel_name="tcg (software emulation, after KVM)"
    t_vm=$(date +%s.%N)
    run_vm "$left" 0
  fi
else
  run_vm "$timeout_s" 0
fi
qemu_rc=$(cat "$work/qemu.rc" 2>/dev/null || echo '?')
t_end=$(date +%s.%N)
tr -d '\r' <"$log" >"$log.txt"

echo "----- guest console -----"
cat "$log.txt"
echo "----- end of guest console -----"

# Markers may follow other output on a line (the firmware's escape codes).
marker() { { grep -o "$1.*" "$log.txt" || true; } | head -n 1; }
count() { { grep -o "$1" "$log.txt" || true; } | wc -l; }
start_line=$(marker 'MNV2DET-GUEST-START')
done_line=$(marker 'MNV2DET-GUEST-DONE')
fails=$(count 'MNV2DET-STEP-FAIL')
passes=$(count 'MNV2DET-STEP-PASS')
skips=$(count 'MNV2DET-STEP-SKIP')
t_boot=$(cat "$work/t_boot" 2>/dev/null || echo "")
awk -v a="$t_start" -v b="$t_built" -v c="$t_end" -v v="$t_vm" -v t="$t_boot" -v s="$start_line" -v d="$done_line" 'BEGIN {
  split(s, S, "uptime="); split(d, D, "uptime=");
  printf "vivid: initramfs built in %.1f s; boot to the test init %s s (kernel uptime %s s); VM ran %.1f s in all (guest uptime at the end %s s); whole run %.1f s\n",
         b - a, (t == "" ? "?" : sprintf("%.1f", t - v)), (S[2] == "" ? "?" : S[2]), c - v, (D[2] == "" ? "?" : D[2]), c - a }'

if [ -z "$start_line" ]; then
  echo "FAIL: the VM did not boot to the test init within ${timeout_s}s (qemu exit $qemu_rc)"; exit 1
fi
if [ -z "$done_line" ]; then
  echo "FAIL: the guest did not report within ${timeout_s}s (qemu exit $qemu_rc; $passes steps passed, $fails failed so far)"; exit 1
fi
echo "vivid: $passes steps passed, $fails failed, $skips skipped"
if [ "$fails" -ne 0 ] || grep -q 'MNV2DET-GUEST-ERROR' "$log.txt"; then
  grep -oE 'MNV2DET-(STEP-FAIL|GUEST-ERROR).*' "$log.txt"; exit 1
fi
[ "$passes" -gt 0 ] || { echo "FAIL: no step ran"; exit 1; }
exit 0
