#!/usr/bin/env bash
# Installs Debian's `chromium`, the browser the admin panel's end-to-end tests (tests/ui) drive through
# Playwright (Playwright's own browser download is never used). Quick when it is there already.
#   scripts/install-browser.sh          install unless /usr/bin/chromium runs
#   scripts/install-browser.sh --check  no install: exit 0 if it runs, else print why not and exit 1
# When it cannot be installed the reason is kept in .cache/browser/install-error.txt, which the tests print
# when they skip; with CI=true a failed install fails instead, so CI never skips them.
set -u

cd "$(dirname "$0")/.."
BROWSER=/usr/bin/chromium
DIR=.cache/browser
ERROR=$DIR/install-error.txt

runs() { [ -x "$BROWSER" ] && timeout 60 "$BROWSER" --headless --no-sandbox --version >/dev/null 2>&1; }

if [ "${1:-}" = "--check" ]; then
  runs && exit 0
  if [ -s "$ERROR" ]; then cat "$ERROR"; else echo "$BROWSER is not installed: run scripts/install-browser.sh"; fi
  exit 1
fi
if runs; then rm -f "$ERROR"; exit 0; fi

fail() {
  mkdir -p "$DIR"
  printf 'could not install Debian'"'"'s chromium: %s\n' "$1" > "$ERROR"
  echo "WARNING: $(cat "$ERROR")" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "WARNING: the admin panel's browser tests (tests/ui) will skip" >&2
  exit 0
}

command -v apt-get >/dev/null || fail "apt-get is not available"
[ "$(id -u)" = 0 ] || fail "installing needs root (apt-get install -y chromium)"
echo "installing Debian's chromium for the browser tests"
mkdir -p "$DIR"
log=$DIR/apt.log
export DEBIAN_FRONTEND=noninteractive
if ! { timeout 600 apt-get update -q && timeout 900 apt-get install -y -q --no-install-recommends chromium \
       fonts-dejavu-core; } > "$log" 2>&1; then
  fail "apt-get failed: $(grep -m3 -E '^(E|W):' "$log" | tr '\n' ' ' || true) (log: $log)"
fi
runs || fail "$BROWSER --version does not run after the install (log: $log)"
rm -f "$ERROR"
echo "chromium installed: $("$BROWSER" --headless --no-sandbox --version 2>/dev/null)"
