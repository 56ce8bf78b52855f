#!/usr/bin/env bash
# Builds the cluster gateway's image and loads it into the test cluster:
#   scripts/k8s/gateway-image.sh [--no-load]
# The image is FROM scratch with the static clauderon-pod binary (the
# gateway, pod-init and hook commands of clauderon, without client-go:
# cmd/clauderon-pod) at /clauderon, run as 65532:65532; the
# Deployment of `clauderon k8s setup` runs `/clauderon gateway --cluster`.
# The tag is the binary's content hash, so a re-run with the same code
# builds and loads nothing. Prints the image's ref on stdout (the only line
# there), for `clauderon k8s setup --gateway-image REF`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
load=1
case "${1:-}" in
  --no-load) load=0 ;;
  "") ;;
  *) echo "usage: $0 [--no-load]" >&2; exit 2 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Static: the image has no libc. -trimpath keeps the host's paths out of it.
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$work/clauderon" ./cmd/clauderon-pod)
tag=$(sha256sum "$work/clauderon" | cut -c1-16)
ref=clauderon-gateway:$tag

if ! docker image inspect "$ref" >/dev/null 2>&1; then
  cat >"$work/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY clauderon /clauderon
USER 65532:65532
ENTRYPOINT ["/clauderon"]
DOCKERFILE
  # FROM scratch: nothing is pulled, no network is needed.
  docker build -q -t "$ref" "$work" >&2
fi

if [ "$load" = 1 ]; then
  # shellcheck source=lib.sh
  . "$ROOT/scripts/k8s/lib.sh"
  if ! ctr --address "$CRI_SOCK" -n k8s.io images ls -q | grep -qxF "docker.io/library/$ref"; then
    "$ROOT/scripts/k8s/load-image.sh" "$ref"
  fi
fi
echo "$ref"
