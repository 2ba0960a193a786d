# Shared by the tests of the live program (test_live_*.sh), sourced: the
# sample clip, a temporary folder, an X server with a window manager, keys
# typed into the window, sanitizer reports, the pass/fail tally.
#   After sourcing: $here (tests/), $root, $tmp (removed at exit); ok, fail,
#   skip, finish; need_python, need_clip ($clip), start_x, press, wait_for,
#   wait_pid, sanitizer_report. Background processes go into bg_pids, so
#   that an early exit ends them (and only them).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
tmp=$(mktemp -d)
passed=0 failed=0
bg_pids=()

cleanup() {
  local p
  # Only what this script started, by pid, newest first.
  for ((i = ${#bg_pids[@]} - 1; i >= 0; i--)); do
    p=${bg_pids[i]}
    kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
skip() { echo "SKIP: $*"; exit 77; }

# The closing line, and the exit status: 1 on any failure; a run that
# checked nothing is a failure too.
finish() {
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
  exit $?
}

need_python() {
  command -v python3 >/dev/null 2>&1 || skip "python3 is needed to read the program's output (scripts/setup installs it)"
}

# clip=the sample clip (scripts/sample-clip), or SKIP saying why.
need_clip() {
  local why
  if ! clip=$("$root/scripts/sample-clip" 2>"$tmp/clip.err") || [ -z "$clip" ]; then
    why=$(head -1 "$tmp/clip.err")
    skip "no sample clip: ${why:-scripts/sample-clip printed nothing}"
  fi
}

# Start Xvfb on a display number of its own choosing (-displayfd) and evilwm
# on it (SDL asks the window manager for focus and fullscreen; xdotool's
# windowfocus works with evilwm). Sets DISPLAY for what follows; SKIP
# without the programs.
start_x() {
  local p
  for p in Xvfb evilwm xdotool; do
    command -v "$p" >/dev/null 2>&1 || skip "$p is not installed (scripts/setup installs xvfb, evilwm and xdotool)"
  done
  : >"$tmp/displayno"
  Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp -noreset 3>"$tmp/displayno" >/dev/null 2>&1 &
  bg_pids+=($!)
  local waited=0
  until grep -q . "$tmp/displayno" 2>/dev/null; do
    sleep 0.1
    waited=$((waited + 1))
    [ $waited -lt 200 ] || { fail "Xvfb did not say its display number within 20 s"; finish "${test_name:-live}"; }
  done
  export DISPLAY=":$(head -1 "$tmp/displayno")"
  unset WAYLAND_DISPLAY
  export SDL_VIDEODRIVER=x11
  evilwm >/dev/null 2>&1 &
  bg_pids+=($!)
}

# press KEY: focus the program's window (waiting for it to appear, at most
# 20 s) and type KEY through XTEST, as a user's key press arrives.
# A window just created may not take the focus yet (xdotool then fails
# before typing): try again for a while. The key is typed by a second
# xdotool with no window: chained after the search, `key` would send it to
# the window found with XSendEvent, and a key that ends the program (q)
# then lost its window before the key's release was sent: xdotool died of
# BadWindow, the retries waited for a window that was gone, and the press
# that had worked counted as failed (2 runs in 11 on a 2-vCPU VM). xdotool's
# complaints go to $tmp/xdotool.err.
press() {
  local i
  for i in 1 2 3 4 5 6; do
    if timeout 20 xdotool search --sync --name '^mnv2det' windowfocus --sync >/dev/null 2>>"$tmp/xdotool.err"; then
      timeout 10 xdotool key "$1" 2>>"$tmp/xdotool.err" && return 0
    fi
    sleep 0.5
  done
  return 1
}

# wait_for SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds; 1
# if it never did in time.
wait_for() {
  local tenths=$(($1 * 10)) i=0
  shift
  until "$@"; do
    i=$((i + 1))
    [ $i -lt $tenths ] || return 1
    sleep 0.1
  done
}

# wait_pid SECONDS PID: the process's exit status, or 124 after killing it
# when it did not end in time.
running() {
  # an ended child stays a zombie (state Z) until waited for
  [ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}
# (Waited for, it leaves bg_pids: its number may be reused.)
wait_pid() {
  local secs=$1 pid=$2 rc
  if ! wait_for "$secs" eval "! running $pid"; then
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=124
  else
    wait "$pid"
    rc=$?
  fi
  local kept=() p
  for p in "${bg_pids[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  bg_pids=("${kept[@]}")
  return $rc
}

# The sanitizers' reports (ASan, LSan, UBSan, TSan) in FILE, if any.
sanitizer_report() {
  grep -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer' "$1"
}
