#!/usr/bin/env bash
# Stops the test cluster that scripts/k8s-up.sh started, removes its pods'
# networks, its iptables rules (FORWARD accepts, kube-proxy's and the bridge
# CNI's), the pod bridge and its state dir. Safe to run when nothing is up.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=k8s/lib.sh
. "$ROOT/scripts/k8s/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "k8s-down: needs root" >&2; exit 1; }

# alive PID: running and not a zombie (the reaper here may be slow).
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# stop NAME... [-SIG]: SIG (TERM) to each component's session, then
# SIGKILL to those still alive after 10 s.
stop() {
  local sig=TERM pids="" c pid i
  for c in "$@"; do case $c in -*) sig=${c#-} ;; esac; done
  for c in "$@"; do
    case $c in -*) continue ;; esac
    pid=$(k8s_pid "$c") || continue
    kill -"$sig" -- "-$pid" 2>/dev/null || kill -"$sig" "$pid" 2>/dev/null
    pids="$pids $pid"
    rm -f "$K8S_DIR/run/$c.pid"
  done
  for i in $(seq 1 100); do
    local left=""
    for pid in $pids; do alive "$pid" && left="$left $pid"; done
    pids=$left
    [ -n "$pids" ] || return 0
    sleep 0.1
  done
  for pid in $pids; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; done
}

# The kubelet first, so that it restarts nothing; then every pod sandbox
# through CRI while containerd still runs, which runs CNI DEL for each.
# (Its state is all in the API server and containerd: SIGKILL loses nothing.)
stop kubelet -KILL
if k8s_pid containerd >/dev/null && [ -x "$K8S_DIR/bin/k8sctl" ]; then
  "$K8S_DIR/bin/k8sctl" cri-cleanup -cri "unix://$CRI_SOCK" -timeout 60s || true
fi
# The rest at once; the state is thrown away, so the Kubernetes components
# get SIGKILL (the API server drains watches for many seconds on SIGTERM).
stop kube-apiserver kube-controller-manager kube-scheduler kube-proxy kube-router -KILL
# shellcheck disable=SC2086
stop $K8S_ALL_COMPONENTS

# containerd's shims outlive it, each in its own session: kill ours, whose
# -address is our socket.
for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $CRI_SOCK( |$)" 2>/dev/null); do
  kill -KILL "$p" 2>/dev/null
done

# kube-proxy's own cleanup of its iptables chains.
BIN=$(ls -d "${CLAUDERON_TEST_TOOLS:-/opt/clauderon-test}"/k8s-*/bin 2>/dev/null | tail -1)
[ -x "$BIN/kube-proxy" ] && "$BIN/kube-proxy" --cleanup >/dev/null 2>&1

# kube-router's chains (KUBE-ROUTER-*, KUBE-NWPLCY-*, KUBE-POD-FW-*) and
# ipsets (KUBE-SRC-*, KUBE-DST-*); its own --cleanup-config panics in v2.1.0.
KR_CHAINS='KUBE-ROUTER-[A-Z0-9-]*|KUBE-NWPLCY-[A-Z0-9-]*|KUBE-POD-FW-[A-Z0-9-]*'
for t in filter nat mangle; do
  iptables-save -t $t | grep -E -- "^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j ($KR_CHAINS)( |$)" \
    | sed 's/^-A /-D /' | while read -r rule; do eval "iptables -t $t $rule" 2>/dev/null; done
  chains=$(iptables-save -t $t | sed -n 's/^:\([^ ]*\) .*/\1/p' | grep -E "^($KR_CHAINS)$")
  for ch in $chains; do iptables -t $t -F "$ch" 2>/dev/null; done
  for ch in $chains; do iptables -t $t -X "$ch" 2>/dev/null; done
done
if command -v ipset >/dev/null; then
  for set in $(ipset list -n 2>/dev/null | grep -E '^(inet6:)?(KUBE-SRC-|KUBE-DST-|kube-router-)'); do
    ipset destroy "$set" 2>/dev/null
  done
fi

# The FORWARD accepts for the pod bridge.
while read -r rule; do
  # shellcheck disable=SC2086
  while iptables -D FORWARD $rule 2>/dev/null; do :; done
done < <(k8s_forward_rules)

# Masquerade chains the bridge CNI left for sandboxes that were not torn
# down (its comments name the network "clauderon-k8s").
iptables-save -t nat | grep -- '-A POSTROUTING' | grep 'name: \\"clauderon-k8s\\"' | sed 's/^-A /-D /' \
  | while read -r rule; do eval "iptables -t nat $rule" 2>/dev/null; done
for ch in $(iptables-save -t nat | sed -n 's/^:\(CNI-[0-9a-f]*\) .*/\1/p'); do
  if iptables -t nat -S "$ch" 2>/dev/null | grep -q 'clauderon-k8s'; then
    iptables -t nat -F "$ch" 2>/dev/null; iptables -t nat -X "$ch" 2>/dev/null
  fi
done

# The kubelet's own chains (its canary, the iptables hint, and the
# KUBE-FIREWALL that drops martian traffic to 127/8), IPv4 and IPv6.
for ipt in iptables ip6tables; do
  command -v $ipt >/dev/null || continue
  for chain in INPUT OUTPUT; do
    while $ipt -t filter -D $chain -j KUBE-FIREWALL 2>/dev/null; do :; done
  done
  for t in filter nat mangle; do
    for ch in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
      $ipt -t $t -F $ch 2>/dev/null && $ipt -t $t -X $ch 2>/dev/null
    done
  done
done

ip link del "$K8S_BRIDGE" 2>/dev/null

# Mounts under the state dir (pod volumes, containerd's rootfs and shm).
if [ -d "$K8S_DIR" ]; then
  grep -o " $K8S_DIR/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$K8S_DIR"
fi
# Network namespaces of sandboxes that were not torn down are bind mounts
# under /run/netns named cni-*; ours are gone with their sandboxes above.
echo "k8s-down: stopped; $K8S_DIR removed" >&2
