#!/usr/bin/env bash
# `make run`: set up what a session needs, then run clauderon: the desktop
# app where a display exists and make build built it, else the daemon in
# the foreground with the web UI's login URL.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/clauderon}
# The static CLI beside a desktop build (make build-desktop): the headless
# daemon runs it, as session containers run the daemon's own binary as
# their gateway and the desktop one needs GTK.
cli=$bin
[ -x bin/clauderon-cli ] && cli=bin/clauderon-cli
desktop=
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "$cli" != "$bin" ]; then
  desktop=1
fi

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
if "$cli" list >/dev/null 2>&1; then
  if [ -n "$desktop" ]; then
    echo "==> a clauderon daemon already runs for $home; opening the desktop app as its client"
    exec "$bin"
  fi
  echo "A clauderon daemon already runs for $home; use it:"
  "$cli" list
  "$cli" ui --print 2>/dev/null || true
  exit 0
fi

"$cli" daemon &
daemon=$!
# ctrl-c reaches the daemon from the terminal (SIGINT) and through this trap
# (SIGTERM); the daemon counts the two, arriving together, as one: it drains.
# A second ctrl-c forces.
trap 'kill -TERM $daemon 2>/dev/null || true' INT TERM
for _ in $(seq 1 100); do
  "$cli" list >/dev/null 2>&1 && break
  kill -0 $daemon 2>/dev/null || { wait $daemon; exit 1; }
  sleep 0.1
done

# The agent image, built once with `clauderon image build` (README: make
# run). A Claude Code already on this machine is used instead of a download;
# where debian:bookworm-slim is missing, the tests' local Debian base is used
# when present.
image=clauderon-agent:latest
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "==> the agent image $image is present (rebuild it with: $cli image build)"
else
  args=()
  notes=()
  if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1 &&
     docker image inspect clauderon-test-base:bookworm >/dev/null 2>&1; then
    args+=(--base-image clauderon-test-base:bookworm)
    notes+=("base: the local clauderon-test-base:bookworm, as debian:bookworm-slim is not here")
  fi
  for c in "${CLAUDERON_CLAUDE_BINARY:-}" /opt/clauderon-test/node_modules/.bin/claude "$(command -v claude || true)"; do
    if [ -n "$c" ] && [ -x "$c" ]; then
      args+=(--claude-binary "$(readlink -f "$c")")
      notes+=("Claude Code: this machine's $c, nothing downloaded")
      break
    fi
  done
  case "${args[*]}" in *--base-image*) ;; *) notes+=("base: debian:bookworm-slim, pulled if not here") ;; esac
  case "${args[*]}" in *--claude-binary*) ;; *) notes+=("Claude Code: the latest from npm") ;; esac
  echo "==> building the agent image $image: $cli image build ${args[*]}"
  for n in "${notes[@]}"; do echo "    $n"; done
  if ! "$cli" image build "${args[@]}"; then
    echo "==> the agent image was not built; sessions need it. Fix the error above, then run: $cli image build ${args[*]}" >&2
  fi
fi

if [ -n "$desktop" ]; then
  # The app is the daemon's client; quitting it stops the daemon (drained,
  # sessions keep running), as quitting an app that runs one in-process does.
  echo "==> opening the desktop app ($bin); the daemon (pid $daemon) stops when you quit it"
  app_status=0
  "$bin" || app_status=$?
  kill -TERM "$daemon" 2>/dev/null || true
  while kill -0 "$daemon" 2>/dev/null; do wait "$daemon" || true; done
  exit "$app_status"
fi

login=$("$cli" ui --print 2>&1 || true)
cat <<MSG

clauderon daemon is running (pid $daemon), LocalAPI at $sock.
Open the web UI (the link works once, for 2 minutes; \`$cli ui\` makes another):
  $login
Or use the CLI in another terminal:
  $cli token set                      # store your token (from 'claude setup-token') in the keychain
  $cli doctor                         # check the engine, credential, CA, image and proxy
  $cli create --name demo --prompt "hello"
  $cli attach demo
Stop with ctrl-c (once drains, twice forces); running sessions keep running.
MSG
# wait returns as soon as the trap runs; the daemon is still draining.
status=0
while kill -0 "$daemon" 2>/dev/null; do
  if wait "$daemon"; then status=0; else status=$?; fi
done
exit "$status"
