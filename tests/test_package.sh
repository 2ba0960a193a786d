#!/usr/bin/env bash
# The Debian packages (scripts/package), end to end, as root on this
# machine: the amd64 one installs with apt-get (which pulls its
# dependencies), detects the cat in a picture from an empty folder with no
# flag but --input, and removes with nothing of it left; the arm64 and armhf
# ones, unpacked into a folder, find their own model and detect the same
# under QEMU. Suite 'package' (scripts/test runs it; it changes the system).
#   test_package.sh SOURCE_ROOT
set -u
src=$1
data=$src/tests/data
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: installs a Debian package: needs root"; exit 77
fi
if dpkg-query -W -f='${Status}' mnv2det 2>/dev/null | grep -q 'installed'; then
  echo "SKIP: a mnv2det package is installed on this machine already; this test would replace and remove it"
  exit 77
fi
tmp=$(mktemp -d)
cleanup() {
  dpkg-query -W -f='${Status}' mnv2det 2>/dev/null | grep -q 'installed' &&
    apt-get remove --purge -y -qq mnv2det >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

archs=(amd64)
command -v qemu-aarch64-static >/dev/null && [ -f "$src/build-aarch64/build.ninja" ] && archs+=(arm64)
command -v qemu-arm-static >/dev/null && [ -f "$src/build-armhf/build.ninja" ] && archs+=(armhf)
if ! "$src/scripts/package" "${archs[@]}" >"$tmp/package.log" 2>&1; then
  echo "FAIL: scripts/package ${archs[*]}: $(tail -n 5 "$tmp/package.log")" >&2; exit 1
fi
cat "$tmp/package.log"
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -n 1)

# check_detect WHAT MODEL_DIR COMMAND...: from an empty folder, with no flag
# but --input, the detections of chelsea (a cat) are the golden ones, made
# with the model in MODEL_DIR
check_detect() {
  local what=$1 model_dir=$2; shift 2
  mkdir -p "$tmp/empty" && rm -rf "$tmp/empty"/*
  if (cd "$tmp/empty" && "$@" --input "$data/chelsea.300.png" --json) >"$tmp/out.json" 2>"$tmp/err"; then
    if python3 "$src/tests/compare_detections.py" "$tmp/out.json" "$data/chelsea.detections.json" exact >"$tmp/cmp" 2>&1 &&
       grep -qF "\"model\":\"$model_dir/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite\"" "$tmp/out.json"
    then ok; echo "$what: $(cat "$tmp/cmp") with $(grep -o '"model":"[^"]*"' "$tmp/out.json")"
    else fail "$what: $(cat "$tmp/cmp") $(head -c 300 "$tmp/out.json")"; fi
  else
    fail "$what: exit status $?: $(cat "$tmp/err")"
  fi
}

# 1. amd64: install, run, remove
deb=$src/dist/mnv2det_${version}_amd64.deb
if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "$deb" >"$tmp/apt.log" 2>&1; then
  ok
  dpkg -L mnv2det >"$tmp/files"
  # (a minimal image may tell dpkg not to unpack man pages: dpkg.cfg.d path-exclude)
  grep -qx /usr/share/man/man1/mnv2det.1.gz "$tmp/files" && ok || fail "the package lacks its man page"
  for f in /usr/bin/mnv2det \
           /usr/share/mnv2det/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite \
           /usr/share/mnv2det/object_detection_ssd_mobilenetv2_oidv4_fp16.cfg \
           /usr/share/mnv2det/object_detection_oidv4_labelmap.txt; do
    grep -qx "$f" "$tmp/files" && [ -f "$f" ] && ok || fail "installed package lacks $f"
  done
  [ "$(command -v mnv2det)" = /usr/bin/mnv2det ] && ok || fail "mnv2det on PATH is '$(command -v mnv2det)'"
  check_detect "installed amd64 package" /usr/share/mnv2det /usr/bin/mnv2det
  if DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -qq mnv2det >"$tmp/apt.log" 2>&1; then ok
  else fail "apt-get remove --purge mnv2det: $(tail -n 3 "$tmp/apt.log")"; fi
  left=()
  while read -r f; do
    # the folders every system has stay; anything of ours must be gone
    case "$f" in /. | /usr | /usr/bin | /usr/share | /usr/share/doc | /usr/share/man | /usr/share/man/man1) continue ;; esac
    [ -e "$f" ] || [ -L "$f" ] && left+=("$f")
  done <"$tmp/files"
  [ ${#left[@]} -eq 0 ] && ok || fail "left after purge: ${left[*]}"
  dpkg-query -W -f='${Status}' mnv2det 2>/dev/null | grep -q 'installed' && fail "dpkg still lists mnv2det" || ok
else
  fail "apt-get install $deb: $(tail -n 5 "$tmp/apt.log")"
fi

# 2. the Arm packages: unpacked anywhere, under QEMU
for arch in arm64 armhf; do
  [[ " ${archs[*]} " == *" $arch "* ]] || { echo "$arch: no cross build or QEMU here, not checked"; continue; }
  qemu=qemu-aarch64-static; [ "$arch" = armhf ] && qemu=qemu-arm-static
  rm -rf "$tmp/root" && mkdir "$tmp/root"
  dpkg-deb -x "$src/dist/mnv2det_${version}_$arch.deb" "$tmp/root"
  [ "$(dpkg-deb -f "$src/dist/mnv2det_${version}_$arch.deb" Architecture)" = "$arch" ] && ok ||
    fail "$arch package says Architecture $(dpkg-deb -f "$src/dist/mnv2det_${version}_$arch.deb" Architecture)"
  check_detect "unpacked $arch package under QEMU" "$(realpath "$tmp/root/usr/share/mnv2det")" \
    "$qemu" "$tmp/root/usr/bin/mnv2det"
done

echo "package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
