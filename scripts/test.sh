#!/usr/bin/env bash
# `make test`: install what is missing, start the services, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/test-deps.sh
# shellcheck source=scripts/services.sh
. ./scripts/services.sh
set_tools_dir
start_dockerd

# Tests that need the real thing fail instead of skipping when it is missing.
export CLAUDERON_REQUIRE_E2E=1

# A real Secret Service: gnome-keyring inside a private D-Bus session.
exec dbus-run-session -- ./scripts/with-keyring.sh go test -race -count=1 -timeout 20m ./...
