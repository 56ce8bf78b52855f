package kubernetes

import (
	"context"
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GatewayAddr is host:port of the gateway's Service, which session pods'
// HTTPS_PROXY names: its ClusterIP, since a cluster may run no DNS.
func (b *Backend) GatewayAddr(ctx context.Context) (string, error) {
	svc, err := b.cs.CoreV1().Services(b.ns).Get(ctx, GatewayName, metav1.GetOptions{})
	if err != nil {
		return "", b.wrap(err, "gateway service")
	}
	ip := svc.Spec.ClusterIP
	if ip == "" || ip == corev1.ClusterIPNone || net.ParseIP(ip) == nil {
		return "", fmt.Errorf("backend/kubernetes: the gateway service %s/%s has no cluster IP", b.ns, GatewayName)
	}
	return net.JoinHostPort(ip, strconv.Itoa(GatewayPort)), nil
}
