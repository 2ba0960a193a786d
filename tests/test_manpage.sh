#!/usr/bin/env bash
# The man page (docs/mnv2det.1) describes every long option that
# "mnv2det --help", "mnv2det bench --help" and "mnv2det quantize --help" list,
# so they cannot drift.
#   test_manpage.sh PROGRAM MANPAGE
set -u
bin=$1 page=$2
# troff escapes the dashes (\-\-input): compare without backslashes
text=$(tr -d '\\' <"$page")
missing=() count=0
for opt in $( { "$bin" --help; "$bin" bench --help; "$bin" quantize --help; } 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
  count=$((count + 1))
  grep -qE -- "(^|[^a-z-])$opt([^a-z0-9-]|$)" <<<"$text" || missing+=("$opt")
done
if [ "$count" -lt 10 ]; then
  echo "FAIL: only $count options found in the --help texts" >&2
  exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "FAIL: $page does not describe ${missing[*]}" >&2
  exit 1
fi
grep -q '^\.TH MNV2DET 1' "$page" || { echo "FAIL: $page has no .TH MNV2DET 1 header" >&2; exit 1; }
echo "man page: all $count options described"
