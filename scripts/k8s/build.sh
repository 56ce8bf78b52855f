#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
# kube-proxy from k8s.io/kubernetes (through the Go module proxy, via the
# nested module internal/k8stools) into $CLAUDERON_TEST_TOOLS/k8s-$VERSION/bin,
# and does nothing when they are already there. Prints that bin dir.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../services.sh
. "$ROOT/scripts/services.sh"
set_tools_dir

MOD=$ROOT/internal/k8stools
VERSION=$(awk '$1=="k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit} $1=="require" && $2=="k8s.io/kubernetes" {print $3; exit}' "$MOD/go.mod")
[ -n "$VERSION" ] || { echo "k8s.io/kubernetes version not found in $MOD/go.mod" >&2; exit 1; }
BIN=$CLAUDERON_TEST_TOOLS/k8s-$VERSION/bin
CMDS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy"

have_all() {
  for c in $CMDS; do [ -x "$BIN/$c" ] || return 1; done
  [ "$(cat "$BIN/.stamp" 2>/dev/null)" = "$VERSION" ]
}
if have_all; then echo "$BIN"; exit 0; fi

echo "==> building Kubernetes $VERSION binaries into $BIN (cold: several minutes)" >&2
mkdir -p "$BIN"
minor=${VERSION#v}; major=${minor%%.*}; minor=${minor#*.}; minor=${minor%%.*}
V=k8s.io/component-base/version
LDFLAGS="-s -w -X $V.gitVersion=$VERSION -X $V.gitMajor=$major -X $V.gitMinor=$minor -X $V.gitTreeState=clean -X $V.buildDate=1970-01-01T00:00:00Z"
pkgs=""
for c in $CMDS; do pkgs="$pkgs k8s.io/kubernetes/cmd/$c"; done
start=$(date +%s)
# shellcheck disable=SC2086
(cd "$MOD" && CGO_ENABLED=0 GOWORK=off go build -trimpath -ldflags "$LDFLAGS" -o "$BIN/" $pkgs)
echo "$VERSION" > "$BIN/.stamp"
echo "==> built in $(( $(date +%s) - start ))s" >&2
echo "$BIN"
