#!/usr/bin/env bash
# Installs and starts what `make test` needs on Debian/Ubuntu. Safe to run twice.
# As non-root, prints the exact command to run instead.
set -euo pipefail

PKGS=(ca-certificates curl git debootstrap docker.io gnome-keyring dbus dbus-x11 libsecret-tools
      mitmproxy iproute2 procps xvfb chromium fonts-dejavu-core
      # The desktop app: its build (cgo: GTK 3, WebKitGTK 4.1) and its window
      # test (a screenshot with ImageMagick's import, typing with xdotool).
      build-essential pkg-config libgtk-3-dev libwebkit2gtk-4.1-dev imagemagick xdotool)
# shellcheck source=scripts/services.sh
. "$(dirname "$0")/services.sh"
set_tools_dir
CLAUDE_DIR=$CLAUDERON_TEST_TOOLS

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm may come from elsewhere (NodeSource ships npm inside nodejs).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "missing packages: ${missing[*]}" >&2
    echo "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "==> installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The real Claude Code, from npm, for the end-to-end tests.
if [ ! -x "$CLAUDE_DIR/node_modules/.bin/claude" ]; then
  echo "==> installing @anthropic-ai/claude-code into $CLAUDE_DIR"
  mkdir -p "$CLAUDE_DIR"
  npm install --prefix "$CLAUDE_DIR" --no-audit --no-fund --loglevel=error @anthropic-ai/claude-code >/dev/null
fi
