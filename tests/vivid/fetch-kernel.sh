#!/usr/bin/env bash
# Fetches the Debian 12 kernel that the vivid tests boot, without installing
# it: `apt-get download` of the linux-image-6.1.0-NN-amd64 package that
# linux-image-amd64 depends on, unpacked with dpkg-deb into a cache folder
# outside the checkout (re-used by later runs and by other checkouts).
#
#   tests/vivid/fetch-kernel.sh     prints the unpacked package's folder
#
# The cache is $MNV2DET_VIVID_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/mnv2det-vivid.
# Exit status 77 (and the reason on stderr) when apt cannot get the package,
# so that a test calling this reports SKIP rather than failure.
set -euo pipefail

cache="${MNV2DET_VIVID_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mnv2det-vivid}"

# Already unpacked: nothing to fetch (also when apt is not available).
for d in "$cache"/linux-image-*/; do
  if [ -d "$d/boot" ] && ls "$d"/boot/vmlinuz-* >/dev/null 2>&1; then
    echo "${d%/}"
    exit 0
  fi
done

skip() { echo "fetch-kernel: $*" >&2; exit 77; }

command -v apt-cache >/dev/null 2>&1 || skip "no apt-cache: not a Debian system, cannot fetch linux-image-amd64"
command -v dpkg-deb >/dev/null 2>&1 || skip "no dpkg-deb: cannot unpack the kernel package"

# linux-image-amd64 is a metapackage; the real one carries the ABI number.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
      sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
[ -n "$pkg" ] || skip "apt-cache knows no linux-image-amd64 (run apt-get update, or add Debian's main archive to the sources)"

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes into the current folder; as root its sandbox user
# _apt may not write there, which only costs a warning.
if ! (cd "$tmp" && apt-get download -q "$pkg" >"$tmp/apt.log" 2>&1); then
  skip "apt-get download $pkg failed: $(grep -E '^(E|Err):' "$tmp/apt.log" | head -n 1)"
fi
deb=$(ls "$tmp"/*.deb)
dpkg-deb -x "$deb" "$tmp/$pkg" || skip "dpkg-deb could not unpack $deb"
ls "$tmp/$pkg"/boot/vmlinuz-* >/dev/null 2>&1 || skip "$pkg holds no boot/vmlinuz-*"
# Keep the kernel and the media drivers (vivid and what it needs): 20 MB
# instead of 400.
for m in "$tmp/$pkg"/lib/modules/*/kernel; do
  find "$m" -mindepth 1 -maxdepth 1 ! -name drivers -exec rm -rf {} +
  find "$m/drivers" -mindepth 1 -maxdepth 1 ! -name media -exec rm -rf {} +
done
rm -f "$deb"
rm -rf "${cache:?}/$pkg"
mv "$tmp/$pkg" "$cache/$pkg"
echo "fetch-kernel: unpacked $(basename "$deb") into $cache/$pkg" >&2
echo "$cache/$pkg"
