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

# The Kubernetes backend's tests run on a real single-node cluster on this
# machine (scripts/k8s/README.md). One started here is torn down at exit; one
# that was up already is left as it was.
. ./scripts/k8s/lib.sh
k8s_started=
if [ ! -f "$K8S_KUBECONFIG" ]; then k8s_started=1; fi
cleanup() { if [ -n "$k8s_started" ]; then ./scripts/k8s-down.sh >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
export CLAUDERON_TEST_KUBECONFIG
CLAUDERON_TEST_KUBECONFIG=$(./scripts/k8s-up.sh)
export CLAUDERON_REQUIRE_K8S=1
# The cluster's tests and the Docker e2e tests share one test image build;
# the node has no registry, so the image is loaded into its containerd.
CLAUDERON_TEST_K8S_IMAGE=$(go run ./internal/cmd/testimage)
export CLAUDERON_TEST_K8S_IMAGE
if ! ctr --address "$CRI_SOCK" -n k8s.io images ls -q | grep -qx "docker.io/library/$CLAUDERON_TEST_K8S_IMAGE"; then
  ./scripts/k8s/load-image.sh "$CLAUDERON_TEST_K8S_IMAGE"
fi
# The gateway's image, of this tree, which session pods' init container runs too.
CLAUDERON_TEST_K8S_GATEWAY_IMAGE=$(./scripts/k8s/gateway-image.sh)
export CLAUDERON_TEST_K8S_GATEWAY_IMAGE

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
dbus-run-session -- ./scripts/with-keyring.sh go test -race -count=1 -timeout 10m -tags "$tags" ./desktop/...
