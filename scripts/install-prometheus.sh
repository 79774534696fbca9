#!/usr/bin/env bash
# Installs Debian's `prometheus`, the server tests/e2e/test_prometheus.py runs to scrape the gateway's
# /metrics and query a rate through its HTTP API. Quick when it is there already. Its service is never
# started here (the test runs its own server, on free loopback ports, with a throwaway storage).
#   scripts/install-prometheus.sh          install unless /usr/bin/prometheus runs
#   scripts/install-prometheus.sh --check  no install: exit 0 if it runs, else print why not and exit 1
# When it cannot be installed the reason is kept in .cache/prometheus/install-error.txt, which the test
# prints when it skips; with CI=true a failed install fails instead, so CI never skips it.
set -u

cd "$(dirname "$0")/.."
PROMETHEUS=/usr/bin/prometheus
DIR=.cache/prometheus
ERROR=$DIR/install-error.txt

runs() { [ -x "$PROMETHEUS" ] && timeout 60 "$PROMETHEUS" --version >/dev/null 2>&1; }

if [ "${1:-}" = "--check" ]; then
  runs && exit 0
  if [ -s "$ERROR" ]; then cat "$ERROR"; else echo "$PROMETHEUS is not installed: run scripts/install-prometheus.sh"; fi
  exit 1
fi
if runs; then rm -f "$ERROR"; exit 0; fi

fail() {
  mkdir -p "$DIR"
  printf 'could not install Debian'"'"'s prometheus: %s\n' "$1" > "$ERROR"
  echo "WARNING: $(cat "$ERROR")" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "WARNING: the test that has a real Prometheus scrape /metrics (tests/e2e/test_prometheus.py) will skip" >&2
  exit 0
}

command -v apt-get >/dev/null || fail "apt-get is not available"
[ "$(id -u)" = 0 ] || fail "installing needs root (apt-get install -y prometheus)"
echo "installing Debian's prometheus for the metrics test"
mkdir -p "$DIR"
log=$DIR/apt.log
export DEBIAN_FRONTEND=noninteractive
if ! { timeout 600 apt-get update -q && timeout 900 apt-get install -y -q --no-install-recommends prometheus; } \
       > "$log" 2>&1; then
  fail "apt-get failed: $(grep -m3 -E '^(E|W):' "$log" | tr '\n' ' ' || true) (log: $log)"
fi
runs || fail "$PROMETHEUS --version does not run after the install (log: $log)"
rm -f "$ERROR"
echo "prometheus installed: $("$PROMETHEUS" --version 2>&1 | head -1)"
