# Sourced by scripts/k8s-up.sh and scripts/k8s-down.sh: the layout of the
# single-node test cluster. Every path lives under $CLAUDERON_K8S_DIR.
K8S_DIR=${CLAUDERON_K8S_DIR:-/tmp/clauderon-k8s}
K8S_NODE=${CLAUDERON_K8S_NODE:-clauderon-node}
K8S_API_PORT=${CLAUDERON_K8S_API_PORT:-16443}
K8S_ETCD_PORT=${CLAUDERON_K8S_ETCD_PORT:-12379}       # and +1 for peers
K8S_KUBELET_PORT=${CLAUDERON_K8S_KUBELET_PORT:-10250}
K8S_POD_CIDR=${CLAUDERON_K8S_POD_CIDR:-10.244.0.0/24}
K8S_SVC_CIDR=${CLAUDERON_K8S_SERVICE_CIDR:-10.96.0.0/16}
K8S_SVC_API_IP=${CLAUDERON_K8S_SERVICE_API_IP:-10.96.0.1}   # first address of the service range
K8S_BRIDGE=${CLAUDERON_K8S_BRIDGE:-clk8s0}
K8S_PAUSE_IMAGE=localhost/clauderon-pause:v1
K8S_IPT_COMMENT=clauderon-k8s
PKI=$K8S_DIR/pki
CRI_SOCK=$K8S_DIR/containerd/containerd.sock
K8S_KUBECONFIG=$K8S_DIR/admin.kubeconfig
# CLAUDERON_K8S_NETPOL=0 skips kube-router's NetworkPolicy controller.
K8S_NETPOL=${CLAUDERON_K8S_NETPOL:-1}
# The order components are started; k8s-down.sh stops them in reverse.
K8S_COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy"
[ "$K8S_NETPOL" != 1 ] || K8S_COMPONENTS="$K8S_COMPONENTS kube-router"
K8S_ALL_COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy kube-router"

# k8s_pid NAME prints the pid of a component started by k8s-up.sh if alive.
k8s_pid() {
  local f=$K8S_DIR/run/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# k8s_forward_rules prints the FORWARD rules (as -A specs) that let pod
# traffic through Docker's DROP policy.
k8s_forward_rules() {
  echo "-i $K8S_BRIDGE -m comment --comment $K8S_IPT_COMMENT -j ACCEPT"
  echo "-o $K8S_BRIDGE -m comment --comment $K8S_IPT_COMMENT -j ACCEPT"
}
