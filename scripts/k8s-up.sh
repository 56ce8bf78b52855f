#!/usr/bin/env bash
# Starts a real single-node Kubernetes cluster on this machine for the
# Kubernetes backend's tests, and prints its admin kubeconfig's path:
#   etcd (Debian) -> kube-apiserver -> controller-manager, scheduler
#   a second containerd with CRI on -> kubelet (bridge CNI) -> kube-proxy
# The Kubernetes binaries are built from k8s.io/kubernetes through the Go
# module proxy (scripts/k8s/build.sh) and cached under the test tools dir.
# Everything else lives under $CLAUDERON_K8S_DIR (default /tmp/clauderon-k8s);
# scripts/k8s-down.sh removes it. Idempotent: when the cluster is already up
# it only prints the kubeconfig path. Needs root.
#
# NetworkPolicy is enforced by kube-router's policy controller (iptables and
# ipset; built once like the rest), unless CLAUDERON_K8S_NETPOL=0.
#
# Env: CLAUDERON_K8S_DIR, CLAUDERON_K8S_API_PORT (16443), CLAUDERON_K8S_SMOKE=1
# to run the smoke check (a pod from a local image Ready, exec into it),
# CLAUDERON_K8S_SMOKE_IMAGE (default: the newest clauderon-test:* image).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=k8s/lib.sh
. "$ROOT/scripts/k8s/lib.sh"
T0=$(date +%s.%N)
log() { printf '==> [%5.1fs] %s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$*" >&2; }
die() { echo "k8s-up: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (it runs a kubelet, containerd and iptables)"

# ---------------------------------------------------------------- host deps
need_apt=""
command -v etcd >/dev/null || need_apt="$need_apt etcd-server"
[ -x /usr/lib/cni/bridge ] || need_apt="$need_apt containernetworking-plugins"
[ "$K8S_NETPOL" != 1 ] || command -v ipset >/dev/null || need_apt="$need_apt ipset"
if [ -n "$need_apt" ]; then
  log "installing$need_apt from Debian"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_apt >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_apt >/dev/null; }
fi
for c in etcd containerd containerd-shim-runc-v2 runc ctr openssl curl iptables docker bc; do
  command -v "$c" >/dev/null || die "$c not found"
done

# ------------------------------------------------------- already running?
all_up() {
  local c
  for c in $K8S_COMPONENTS; do k8s_pid "$c" >/dev/null || return 1; done
}
if all_up && [ -f "$K8S_KUBECONFIG" ] && [ -x "$K8S_DIR/bin/k8sctl" ] \
   && "$K8S_DIR/bin/k8sctl" wait -kubeconfig "$K8S_KUBECONFIG" -node "$K8S_NODE" -timeout 10s; then
  log "cluster already up"
  echo "$K8S_KUBECONFIG"
  exit 0
fi
if [ -d "$K8S_DIR" ]; then
  log "a partial cluster is in $K8S_DIR: tearing it down first"
  "$ROOT/scripts/k8s-down.sh" >&2
fi

# ------------------------------------------------------------- binaries
BIN=$("$ROOT/scripts/k8s/build.sh")
log "Kubernetes binaries in $BIN"
if [ "$K8S_NETPOL" = 1 ]; then
  KR_BIN=$("$ROOT/scripts/k8s/build-kube-router.sh")
  log "kube-router in $KR_BIN"
fi
mkdir -p "$K8S_DIR"/{bin,run,log,pki,etcd,kubelet,containerd,cni/net.d,cni/ipam,pause}
(cd "$ROOT/internal/k8stools" && CGO_ENABLED=0 GOWORK=off go build -trimpath -o "$K8S_DIR/bin/" ./k8sctl ./pause)
log "k8sctl and pause built"

HOST_IP=${CLAUDERON_K8S_NODE_IP:-$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')}
[ -n "$HOST_IP" ] || die "cannot find the host's IP (set CLAUDERON_K8S_NODE_IP)"
API=https://127.0.0.1:$K8S_API_PORT

# ---------------------------------------------------------- certificates
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$1.key" 2>/dev/null; }
# cert NAME SUBJECT EKU [SAN]: a leaf signed by the cluster CA.
cert() {
  local name=$1 subj=$2 eku=$3 san=${4:-}
  newkey "$name"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } > "$PKI/$name.ext"
  openssl req -new -key "$PKI/$name.key" -subj "$subj" 2>/dev/null \
    | openssl x509 -req -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
        -days 30 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.ext"
}
newkey ca
openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=clauderon-k8s-ca" -days 30 -sha256 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
  -out "$PKI/ca.crt" 2>/dev/null
cert etcd "/CN=etcd" serverAuth,clientAuth "IP:127.0.0.1,DNS:localhost"
cert etcd-client "/CN=kube-apiserver-etcd-client" clientAuth
cert apiserver "/CN=kube-apiserver" serverAuth \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$K8S_SVC_API_IP,IP:$HOST_IP"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert admin "/O=system:masters/CN=clauderon-admin" clientAuth
cert controller-manager "/CN=system:kube-controller-manager" clientAuth
cert scheduler "/CN=system:kube-scheduler" clientAuth
cert kube-proxy "/CN=system:kube-proxy" clientAuth
cert kubelet-client "/O=system:nodes/CN=system:node:$K8S_NODE" clientAuth
cert kubelet "/CN=$K8S_NODE" serverAuth "DNS:$K8S_NODE,IP:$HOST_IP,IP:127.0.0.1"
cert kube-router "/CN=system:kube-router" clientAuth
newkey sa
openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
chmod 600 "$PKI"/*.key
log "certificates made"

# kubeconfig FILE USER: a kubeconfig with that user's cert, embedded.
kubeconfig() {
  local b64="base64 -w0"
  cat > "$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: clauderon-k8s
  cluster:
    server: $API
    certificate-authority-data: $($b64 < "$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b64 < "$PKI/$2.crt")
    client-key-data: $($b64 < "$PKI/$2.key")
contexts:
- name: clauderon-k8s
  context: {cluster: clauderon-k8s, user: $2}
current-context: clauderon-k8s
KC
  chmod 600 "$1"
}
kubeconfig "$K8S_KUBECONFIG" admin
for u in controller-manager scheduler kube-proxy kubelet-client kube-router; do kubeconfig "$K8S_DIR/$u.kubeconfig" "$u"; done

# start NAME CMD...: runs a component in its own session, logging to log/NAME.log.
start() {
  local name=$1; shift
  setsid "$@" >"$K8S_DIR/log/$name.log" 2>&1 < /dev/null &
  echo $! > "$K8S_DIR/run/$name.pid"
}
# wait_for WHAT SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
  local what=$1 secs=$2; shift 2
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$end" ]; then
      echo "k8s-up: $what did not come up in ${secs}s; see $K8S_DIR/log/" >&2
      tail -n 15 "$K8S_DIR/log/$what.log" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.2
  done
}
acurl() { curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$API$1"; }

# ------------------------------------------------------------------ etcd
E=https://127.0.0.1:$K8S_ETCD_PORT P=https://127.0.0.1:$((K8S_ETCD_PORT + 1))
start etcd etcd --name clauderon --data-dir "$K8S_DIR/etcd" \
  --listen-client-urls "$E" --advertise-client-urls "$E" \
  --listen-peer-urls "$P" --initial-advertise-peer-urls "$P" --initial-cluster "clauderon=$P" \
  --listen-metrics-urls "" \
  --cert-file "$PKI/etcd.crt" --key-file "$PKI/etcd.key" --trusted-ca-file "$PKI/ca.crt" --client-cert-auth \
  --peer-cert-file "$PKI/etcd.crt" --peer-key-file "$PKI/etcd.key" --peer-trusted-ca-file "$PKI/ca.crt" --peer-client-cert-auth \
  --logger zap --log-outputs stderr
wait_for etcd 30 curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/etcd-client.crt" --key "$PKI/etcd-client.key" "$E/health"
log "etcd up"

# ------------------------------------------------------------ apiserver
start kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers "$E" --etcd-cafile "$PKI/ca.crt" --etcd-certfile "$PKI/etcd-client.crt" --etcd-keyfile "$PKI/etcd-client.key" \
  --secure-port "$K8S_API_PORT" --advertise-address "$HOST_IP" \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" --client-ca-file "$PKI/ca.crt" \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range "$K8S_SVC_CIDR" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
  --anonymous-auth=false --profiling=false
wait_for kube-apiserver 60 acurl /readyz
log "kube-apiserver up on $API"

# --------------------------------------------- controller-manager, scheduler
start kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig "$K8S_DIR/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$K8S_DIR/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$K8S_DIR/controller-manager.kubeconfig" \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --use-service-account-credentials \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
  --service-cluster-ip-range "$K8S_SVC_CIDR" \
  --leader-elect=false --secure-port 0 --profiling=false
start kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig "$K8S_DIR/scheduler.kubeconfig" \
  --authentication-kubeconfig "$K8S_DIR/scheduler.kubeconfig" \
  --authorization-kubeconfig "$K8S_DIR/scheduler.kubeconfig" \
  --leader-elect=false --secure-port 0 --profiling=false
log "controller-manager and scheduler started"

# ------------------------------------------------------- containerd (CRI)
CNI_CONF=$K8S_DIR/cni/net.d
cat > "$K8S_DIR/containerd/config.toml" <<TOML
version = 2
root = "$K8S_DIR/containerd/root"
state = "$K8S_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CRI_SOCK"
[ttrpc]
  address = "$CRI_SOCK.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$K8S_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$K8S_PAUSE_IMAGE"
  # root here lacks CAP_SYS_RESOURCE, so it may not lower oom_score_adj.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CNI_CONF"
TOML
cat > "$CNI_CONF/10-clauderon.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "clauderon-k8s",
  "plugins": [
    {
      "type": "bridge", "bridge": "$K8S_BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {"type": "host-local", "dataDir": "$K8S_DIR/cni/ipam",
               "ranges": [[{"subnet": "$K8S_POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
start containerd containerd --config "$K8S_DIR/containerd/config.toml"
CTR="ctr --address $CRI_SOCK -n k8s.io"
wait_for containerd 30 $CTR version
log "containerd (CRI) up on $CRI_SOCK"

# The pause image: the static binary above in a scratch image.
if ! docker image inspect "$K8S_PAUSE_IMAGE" >/dev/null 2>&1; then
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' > "$K8S_DIR/pause/Dockerfile"
  cp "$K8S_DIR/bin/pause" "$K8S_DIR/pause/pause"
  DOCKER_BUILDKIT=0 docker build -q -t "$K8S_PAUSE_IMAGE" "$K8S_DIR/pause" >/dev/null 2>&1 \
    || docker build -q -t "$K8S_PAUSE_IMAGE" "$K8S_DIR/pause" >/dev/null
fi
docker save "$K8S_PAUSE_IMAGE" | $CTR images import - >/dev/null
log "pause image $K8S_PAUSE_IMAGE loaded"

# ------------------------------------- Docker's FORWARD policy is DROP
while read -r rule; do
  # shellcheck disable=SC2086
  iptables -C FORWARD $rule 2>/dev/null || iptables -I FORWARD 1 $rule
done < <(k8s_forward_rules)

# ---------------------------------------------------------------- kubelet
cat > "$K8S_DIR/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $HOST_IP
port: $K8S_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
containerRuntimeEndpoint: unix://$CRI_SOCK
imageServiceEndpoint: unix://$CRI_SOCK
cgroupDriver: cgroupfs
# This host has cgroup v1, which the kubelet refuses from 1.35 on.
failCgroupV1: false
failSwapOn: false
clusterDomain: cluster.local
# Images are loaded locally and can never be pulled again: no image GC.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
serializeImagePulls: false
maxPods: 110
YAML
start kubelet "$BIN/kubelet" --config "$K8S_DIR/kubelet/config.yaml" \
  --kubeconfig "$K8S_DIR/kubelet-client.kubeconfig" --root-dir "$K8S_DIR/kubelet/root" \
  --cert-dir "$K8S_DIR/kubelet/pki" --hostname-override "$K8S_NODE" --node-ip "$HOST_IP"
log "kubelet started"

# ------------------------------------------------------------- kube-proxy
cat > "$K8S_DIR/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $K8S_DIR/kube-proxy.kubeconfig}
hostnameOverride: $K8S_NODE
mode: iptables
clusterCIDR: $K8S_POD_CIDR
metricsBindAddress: 127.0.0.1:${CLAUDERON_K8S_PROXY_METRICS_PORT:-10249}
healthzBindAddress: 127.0.0.1:${CLAUDERON_K8S_PROXY_HEALTHZ_PORT:-10256}
iptables: {localhostNodePorts: false}
# Leave the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
start kube-proxy "$BIN/kube-proxy" --config "$K8S_DIR/kube-proxy.yaml"

"$K8S_DIR/bin/k8sctl" wait -kubeconfig "$K8S_KUBECONFIG" -node "$K8S_NODE" -timeout 90s \
  || { tail -n 20 "$K8S_DIR/log/kubelet.log" >&2; exit 1; }
log "node $K8S_NODE Ready"

# ------------------------------------- NetworkPolicy: kube-router's firewall
if [ "$K8S_NETPOL" = 1 ]; then
  # Least rights for its policy controller (it only watches). It starts
  # once the node is registered: without its node it exits.
  apost() {
    curl -sS -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
      -H 'Content-Type: application/json' -X POST "$API$1" -d "$2" | grep -qE '^(201|409)$' \
      || die "POST $1 failed"
  }
  apost /apis/rbac.authorization.k8s.io/v1/clusterroles '{"metadata":{"name":"clauderon:kube-router"},"rules":[
    {"apiGroups":[""],"resources":["namespaces","pods","services","nodes","endpoints"],"verbs":["get","list","watch"]},
    {"apiGroups":["networking.k8s.io"],"resources":["networkpolicies"],"verbs":["get","list","watch"]},
    {"apiGroups":["discovery.k8s.io"],"resources":["endpointslices"],"verbs":["get","list","watch"]},
    {"apiGroups":["","events.k8s.io"],"resources":["events"],"verbs":["create","patch","update"]}]}'
  apost /apis/rbac.authorization.k8s.io/v1/clusterrolebindings '{"metadata":{"name":"clauderon:kube-router"},
    "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"clauderon:kube-router"},
    "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"system:kube-router"}]}'
  start kube-router "$KR_BIN/kube-router" --kubeconfig "$K8S_DIR/kube-router.kubeconfig" \
    --hostname-override "$K8S_NODE" --run-firewall=true --run-router=false --run-service-proxy=false \
    --service-cluster-ip-range "$K8S_SVC_CIDR" --metrics-port 0 --health-port 0
  log "kube-router (NetworkPolicy) started"
fi

if [ "${CLAUDERON_K8S_SMOKE:-0}" = 1 ]; then
  IMG=${CLAUDERON_K8S_SMOKE_IMAGE:-$(docker images --format '{{.Repository}}:{{.Tag}}' clauderon-test | head -1)}
  [ -n "$IMG" ] || die "no clauderon-test:* image; set CLAUDERON_K8S_SMOKE_IMAGE"
  "$ROOT/scripts/k8s/load-image.sh" "$IMG"
  log "image $IMG loaded"
  "$K8S_DIR/bin/k8sctl" smoke -kubeconfig "$K8S_KUBECONFIG" -image "$IMG" -timeout 120s -netpol="$([ "$K8S_NETPOL" = 1 ] && echo true || echo false)"
  log "smoke check passed"
fi

rss=0
for c in $K8S_COMPONENTS; do
  pid=$(k8s_pid "$c") || die "$c died; see $K8S_DIR/log/$c.log"
  rss=$(( rss + $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status") ))
done
log "cluster up: components' RSS $(( rss / 1024 )) MB"
echo "$K8S_KUBECONFIG"
