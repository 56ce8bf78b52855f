#!/usr/bin/env bash
# `make bench`: side-by-side measurements; prints tables, asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh
# shellcheck source=scripts/services.sh
. ./scripts/services.sh
set_tools_dir
start_dockerd
go build -o bin/clauderon .
go build -o bin/proxybench ./internal/cmd/proxybench
go build -o bin/sessionbench ./internal/cmd/sessionbench
go build -o bin/webbench ./internal/cmd/webbench
go build -o bin/k8sbench ./internal/cmd/k8sbench
echo "== proxy: direct vs clauderon vs mitmproxy, and usage accounting on vs off (loopback, local TLS upstream)"
./bin/proxybench -clauderon bin/clauderon
echo
echo "== sessions, events, daemon memory and workspaces: clauderon vs plain docker run and git, on the real engine with the real Claude Code"
./bin/sessionbench -clauderon bin/clauderon
echo
echo "== Kubernetes: create against a plain pod, print against Docker, the proxy's latency through the cluster gateway and tunnel, daemon memory with 100 sessions; on the test cluster (scripts/k8s-up.sh)"
./bin/k8sbench -clauderon bin/clauderon
echo
echo "== web UI: cold load and engine event to DOM in headless chromium, against a real daemon with 20 sessions"
./bin/webbench -clauderon bin/clauderon
echo
echo "== desktop app: cold start to the first painted window, memory with its WebKit processes, state change to the window; under Xvfb against a real daemon with 20 sessions"
desktop_tags=desktop,production
if pkg-config --exists webkit2gtk-4.1; then desktop_tags=$desktop_tags,webkit2_41; fi
if pkg-config --exists webkit2gtk-4.1 || pkg-config --exists webkit2gtk-4.0; then
  CGO_ENABLED=1 go build -tags "$desktop_tags" -o bin/clauderon-desktop .
  go build -o bin/desktopbench ./internal/cmd/desktopbench
  # A session bus of its own, for the app's tray and notifications, with a
  # throwaway keyring: the setup's token check would otherwise start
  # gnome-keyring on the user's own keyrings.
  dbus-run-session -- ./scripts/with-keyring.sh ./bin/desktopbench -clauderon bin/clauderon -app bin/clauderon-desktop
else
  echo "skipped: WebKitGTK is not installed (libwebkit2gtk-4.1-dev)"
fi
