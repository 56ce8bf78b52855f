#!/usr/bin/env bash
# `make test`: install what is missing, start the services, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/test-deps.sh
# shellcheck source=scripts/services.sh
. ./scripts/services.sh
set_tools_dir
start_dockerd

# gofmt, go vet and go mod tidy leave no diff, before anything runs.
make lint

# Tests that need the real thing fail instead of skipping when it is missing.
export CLAUDERON_REQUIRE_E2E=1

# A real Secret Service: gnome-keyring inside a private D-Bus session.
dbus-run-session -- ./scripts/with-keyring.sh go test -race -count=1 -timeout 20m ./...

# The desktop app's window tests need its build tags, and GTK and WebKitGTK
# to link them (test-deps.sh installs them; without them, fail like any
# other missing piece under CLAUDERON_REQUIRE_E2E=1).
tags=desktop,production
if pkg-config --exists webkit2gtk-4.1; then
  tags=$tags,webkit2_41
elif ! pkg-config --exists webkit2gtk-4.0; then
  echo "test.sh: WebKitGTK is not installed (libwebkit2gtk-4.1-dev); the desktop app's window tests cannot build" >&2
  exit 1
fi
exec dbus-run-session -- ./scripts/with-keyring.sh go test -race -count=1 -timeout 10m -tags "$tags" ./desktop/...
