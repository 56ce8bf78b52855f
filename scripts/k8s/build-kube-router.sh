#!/usr/bin/env bash
# Builds kube-router (only its NetworkPolicy controller is run: iptables +
# ipset, which this host's kernel has; nftables' queue expression, which
# kube-network-policies needs, it lacks) through the Go module proxy into
# $CLAUDERON_TEST_TOOLS/kube-router-$VERSION/bin, once. Prints that bin dir.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../services.sh
. "$ROOT/scripts/services.sh"
set_tools_dir
VERSION=v2.1.0
BIN=$CLAUDERON_TEST_TOOLS/kube-router-$VERSION/bin
if [ -x "$BIN/kube-router" ]; then echo "$BIN"; exit 0; fi
echo "==> building kube-router $VERSION into $BIN (cold: about 3 minutes)" >&2
mkdir -p "$BIN"
(cd /tmp && CGO_ENABLED=0 GOWORK=off GOFLAGS= GOBIN="$BIN" \
  go install -trimpath -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$VERSION" \
  "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$VERSION")
echo "$BIN"
