#!/usr/bin/env bash
# `make run`: set up what a session needs, then run clauderon.
# There is no desktop app yet, so with or without a display this runs the
# daemon in the foreground and says how to use it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/clauderon}

# The Docker engine: installed (as root on Debian/Ubuntu) and started.
if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing docker.io"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io ca-certificates >/dev/null
  else
    echo "Docker is not installed; run: sudo apt-get install -y docker.io" >&2
    exit 1
  fi
fi
# shellcheck source=scripts/services.sh
. ./scripts/services.sh
start_dockerd

home=${CLAUDERON_HOME:-$HOME/.clauderon}
sock="$home/clauderon.sock"
if "$bin" list >/dev/null 2>&1; then
  echo "A clauderon daemon already runs for $home; use it:"
  "$bin" list
  exit 0
fi

"$bin" daemon &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null || true' INT TERM
for _ in $(seq 1 100); do
  "$bin" list >/dev/null 2>&1 && break
  kill -0 $daemon 2>/dev/null || { wait $daemon; exit 1; }
  sleep 0.1
done

# The agent image, built once. Where no registry answers, a local Debian base
# and a local Claude Code binary are used when present.
if ! docker image inspect clauderon-agent:latest >/dev/null 2>&1; then
  args=()
  if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1 &&
     docker image inspect clauderon-test-base:bookworm >/dev/null 2>&1; then
    args+=(--base-image clauderon-test-base:bookworm)
  fi
  for c in "${CLAUDERON_CLAUDE_BINARY:-}" /opt/clauderon-test/node_modules/.bin/claude "$(command -v claude || true)"; do
    if [ -n "$c" ] && [ -x "$c" ]; then args+=(--claude-binary "$(readlink -f "$c")"); break; fi
  done
  echo "==> building the agent image clauderon-agent:latest"
  "$bin" image build "${args[@]}" || echo "(the image build failed; sessions need it: see 'clauderon image build --help')" >&2
fi

cat <<MSG

clauderon daemon is running (pid $daemon), LocalAPI at $sock.
There is no web UI or desktop app yet; use the CLI in another terminal:
  $bin token set                      # store your token (from 'claude setup-token') in the keychain
  $bin doctor                         # check the engine, credential, CA, image and proxy
  $bin create --name demo --prompt "hello"
  $bin attach demo
Stop with ctrl-c (once drains, twice forces); running sessions keep running.
MSG
wait $daemon
