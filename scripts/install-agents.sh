#!/usr/bin/env bash
# Installs the coding agents that tests/agents/ drive through the gateway, pinned, from the npm registry,
# into .cache/agents/ (ignored by git). Quick when they are there already: a stamp names the pins.
#   scripts/install-agents.sh          install unless the stamp matches the pins
#   scripts/install-agents.sh --check  no network: exit 0 if installed, else print why not and exit 1
# When the registry cannot be reached the reason is kept in .cache/agents/install-error.txt, which the
# tests print when they skip; with CI=true a failed install fails instead, so CI never skips them.
set -u

CLAUDE_CODE_VERSION=2.1.330   # runs non-interactively with -p here
OPENCODE_VERSION=1.18.33      # its plugin package is pinned alike: opencode installs it into its config dir
CODEX_VERSION=0.171.0         # its native binary comes as the optional dependency @openai/codex-<os>-<cpu>
PINS="@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION opencode-ai@$OPENCODE_VERSION"
PINS="$PINS @opencode-ai/plugin@$OPENCODE_VERSION @openai/codex@$CODEX_VERSION"

cd "$(dirname "$0")/.."
DIR=.cache/agents
STAMP=$DIR/.installed
ERROR=$DIR/install-error.txt

installed() { [ "$(cat "$STAMP" 2>/dev/null)" = "$PINS" ]; }

if [ "${1:-}" = "--check" ]; then
  installed && exit 0
  if [ -s "$ERROR" ]; then cat "$ERROR"; else echo "agents not installed ($PINS): run scripts/install-agents.sh"; fi
  exit 1
fi
installed && exit 0

fail() {
  mkdir -p "$DIR"
  printf 'could not install %s from the npm registry: %s\n' "$PINS" "$1" > "$ERROR"
  echo "WARNING: $(cat "$ERROR")" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "WARNING: the agent tests (tests/agents, -m agents) will skip" >&2
  exit 0
}

command -v npm >/dev/null || fail "npm is not installed"
echo "installing coding agents into $DIR: $PINS"
mkdir -p "$DIR"
rm -f "$STAMP" "$ERROR"
deps=$(for pin in $PINS; do printf '"%s": "%s",' "${pin%@*}" "${pin##*@}"; done)
printf '{"private": true, "dependencies": {%s}}\n' "${deps%,}" > "$DIR/package.json"
log=$DIR/npm-install.log
if ! timeout 900 npm install --prefix "$DIR" --no-audit --no-fund --no-update-notifier --loglevel=error \
     --fetch-retries=1 > "$log" 2>&1; then
  fail "$(grep -m3 -E 'npm (error|ERR)' "$log" | tr '\n' ' ' || true) (log: $log)"
fi

# Each binary must report its pin on stdout (Codex warns on stderr about a home under /tmp); run it with a
# throwaway HOME so nothing of the developer's is touched.
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
check() {
  local got
  got=$(HOME=$home CODEX_HOME=$home DISABLE_AUTOUPDATER=1 OPENCODE_DISABLE_AUTOUPDATE=1 timeout 60 "$DIR/node_modules/.bin/$1" \
        --version 2>"$home/stderr" | head -n1)
  case "$got" in "$2"*) ;; *) fail "$1 --version printed '$got' ($(head -c 300 "$home/stderr")), expected $2" ;; esac
}
check claude "$CLAUDE_CODE_VERSION"
check opencode "$OPENCODE_VERSION"
check codex "codex-cli $CODEX_VERSION"
echo "$PINS" > "$STAMP"
echo "coding agents installed: $PINS"
