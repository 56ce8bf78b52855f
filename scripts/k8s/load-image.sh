#!/usr/bin/env bash
# Loads local Docker images into the test cluster's containerd (no registry
# is reachable): scripts/k8s/load-image.sh IMAGE...
# A pod then names the image as Docker does ("clauderon-test:TAG", which
# containerd keeps as docker.io/library/clauderon-test:TAG), with
# imagePullPolicy Never or IfNotPresent.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/scripts/k8s/lib.sh"
[ $# -gt 0 ] || { echo "usage: $0 IMAGE..." >&2; exit 2; }
docker save "$@" | ctr --address "$CRI_SOCK" -n k8s.io images import - >/dev/null
