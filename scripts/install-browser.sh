#!/usr/bin/env bash
# Installs Debian's `chromium` and `firefox-esr`, the browsers the admin panel's end-to-end tests
# (tests/ui) drive through Playwright: chromium over CDP, Firefox over WebDriver BiDi (Playwright's own
# browser download is never used). Quick when they are there already.
#   scripts/install-browser.sh                   install whichever does not run
#   scripts/install-browser.sh --check BROWSER   no install: exit 0 if BROWSER (chromium, firefox) runs,
#                                                else print why not and exit 1
# When one cannot be installed the reason is kept in .cache/browser/install-error.txt, which the tests print
# when they skip; with CI=true a failed install fails instead, so CI never skips them.
set -u

cd "$(dirname "$0")/.."
DIR=.cache/browser
ERROR=$DIR/install-error.txt
declare -A EXECUTABLE=([chromium]=/usr/bin/chromium [firefox]=/usr/bin/firefox-esr)
declare -A PACKAGE=([chromium]=chromium [firefox]=firefox-esr)

runs() { [ -x "${EXECUTABLE[$1]}" ] && timeout 60 "${EXECUTABLE[$1]}" --headless --version >/dev/null 2>&1; }

if [ "${1:-}" = "--check" ]; then
  name=${2:-chromium}
  [ -n "${EXECUTABLE[$name]:-}" ] || { echo "no such browser: $name (chromium, firefox)"; exit 1; }
  runs "$name" && exit 0
  if [ -s "$ERROR" ]; then cat "$ERROR"; else echo "${EXECUTABLE[$name]} is not installed: run scripts/install-browser.sh"; fi
  exit 1
fi
missing=()
for name in chromium firefox; do runs "$name" || missing+=("${PACKAGE[$name]}"); done
if [ ${#missing[@]} -eq 0 ]; then rm -f "$ERROR"; exit 0; fi

fail() {
  mkdir -p "$DIR"
  printf 'could not install Debian'"'"'s %s: %s\n' "${missing[*]}" "$1" > "$ERROR"
  echo "WARNING: $(cat "$ERROR")" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "WARNING: the admin panel's browser tests (tests/ui) will skip in it" >&2
  exit 0
}

command -v apt-get >/dev/null || fail "apt-get is not available"
[ "$(id -u)" = 0 ] || fail "installing needs root (apt-get install -y ${missing[*]})"
echo "installing Debian's ${missing[*]} for the browser tests"
mkdir -p "$DIR"
log=$DIR/apt.log
export DEBIAN_FRONTEND=noninteractive
if ! { timeout 600 apt-get update -q && timeout 900 apt-get install -y -q --no-install-recommends "${missing[@]}" \
       fonts-dejavu-core; } > "$log" 2>&1; then
  fail "apt-get failed: $(grep -m3 -E '^(E|W):' "$log" | tr '\n' ' ' || true) (log: $log)"
fi
for name in chromium firefox; do
  runs "$name" || fail "${EXECUTABLE[$name]} --version does not run after the install (log: $log)"
done
rm -f "$ERROR"
echo "installed: $(/usr/bin/chromium --headless --version 2>/dev/null); $(/usr/bin/firefox-esr --headless --version 2>/dev/null)"
