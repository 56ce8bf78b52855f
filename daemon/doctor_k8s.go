package daemon

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/version"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/backend/kubernetes"
)

// K8sCluster is what doctor asks of the Kubernetes backend; *kubernetes.Backend has it.
type K8sCluster interface {
	Namespace() string
	ServerVersion(ctx context.Context) (version.Info, error)
	CheckAccess(ctx context.Context) ([]kubernetes.AccessCheck, error)
	GatewayStatus(ctx context.Context) (kubernetes.GatewayStatus, error)
}

var _ K8sCluster = (*kubernetes.Backend)(nil)

// K8sTunnelState is the daemon's tunnel to the cluster's gateway, as doctor sees it.
type K8sTunnelState interface {
	State() (up bool, since time.Time, lastErr string)
}

// K8sTunnelStateFunc makes a function a K8sTunnelState (for a tunnel whose
// State returns a struct).
type K8sTunnelStateFunc func() (up bool, since time.Time, lastErr string)

// State calls f.
func (f K8sTunnelStateFunc) State() (bool, time.Time, string) { return f() }

const k8sSetupFix = "run clauderon k8s setup --apply as a cluster admin"

// K8sChecks are doctor's rows for the Kubernetes backend: the cluster
// answers, the daemon's identity has each right of the Role, the gateway
// is available, the tunnel is up, and a pod reaches the proxy. tun may be
// nil (the daemon runs no tunnel); reach, which the caller implements, may
// be nil (not checked). A later row that depends on a failed one says it
// was not checked instead of failing for the same reason.
func K8sChecks(ctx context.Context, c K8sCluster, tun K8sTunnelState, reach func(context.Context) error, now time.Time) []api.Check {
	ns := c.Namespace()
	v, err := c.ServerVersion(ctx)
	if err != nil {
		return []api.Check{
			{Name: "k8s", Detail: "the cluster does not answer: " + err.Error(),
				Fix: "check the kubeconfig and context in config.json's kubernetes section (kubectl version --context CTX tells the same); sessions on Docker are unaffected"},
			notChecked("k8s-rights", "the cluster does not answer"),
			notChecked("k8s-gateway", "the cluster does not answer"),
			tunnelCheck(tun, now),
			notChecked("k8s-reach", "the cluster does not answer"),
		}
	}
	checks := []api.Check{{Name: "k8s", OK: true, Detail: fmt.Sprintf("Kubernetes %s, namespace %s", v.GitVersion, ns)}}
	checks = append(checks, rightsChecks(ctx, c, ns)...)
	gw := gatewayK8sCheck(ctx, c, ns)
	checks = append(checks, gw)
	tc := tunnelCheck(tun, now)
	checks = append(checks, tc)
	switch {
	case reach == nil:
	case !gw.OK:
		checks = append(checks, notChecked("k8s-reach", "the gateway is not available"))
	case !tc.OK:
		checks = append(checks, notChecked("k8s-reach", "the tunnel is down"))
	default:
		if err := reach(ctx); err != nil {
			checks = append(checks, api.Check{Name: "k8s-reach", Detail: "a session pod did not reach the proxy through the gateway: " + err.Error(),
				Fix: "the NetworkPolicies must let session pods reach the gateway on 3128 (" + k8sSetupFix + "); the cluster must enforce them as written"})
		} else {
			checks = append(checks, api.Check{Name: "k8s-reach", OK: true, Detail: "a session pod reached the proxy through the gateway"})
		}
	}
	return checks
}

func notChecked(name, why string) api.Check {
	return api.Check{Name: name, Detail: "not checked: " + why}
}

// rightsChecks is one row per missing right, or one row when none is.
func rightsChecks(ctx context.Context, c K8sCluster, ns string) []api.Check {
	acc, err := c.CheckAccess(ctx)
	if err != nil {
		return []api.Check{{Name: "k8s-rights", Detail: "cannot review the daemon's rights: " + err.Error(), Fix: k8sSetupFix}}
	}
	var out []api.Check
	for _, a := range acc {
		if !a.Allowed {
			out = append(out, api.Check{Name: "k8s-rights", Detail: fmt.Sprintf("missing: %s in namespace %s", a, ns),
				Fix: k8sSetupFix + ", which binds the Role " + kubernetes.RoleName + " to the ServiceAccount " + kubernetes.DaemonServiceAccount +
					"; if the daemon uses your own identity, add --bind-user YOUR-USER"})
		}
	}
	if len(out) == 0 {
		out = append(out, api.Check{Name: "k8s-rights", OK: true, Detail: fmt.Sprintf("all %d rights of the Role %s in %s", len(acc), kubernetes.RoleName, ns)})
	}
	return out
}

func gatewayK8sCheck(ctx context.Context, c K8sCluster, ns string) api.Check {
	st, err := c.GatewayStatus(ctx)
	name := ns + "/" + kubernetes.GatewayName
	switch {
	case err != nil:
		return api.Check{Name: "k8s-gateway", Detail: "cannot look at the gateway: " + err.Error(), Fix: k8sSetupFix}
	case !st.DeploymentFound:
		return api.Check{Name: "k8s-gateway", Detail: "no Deployment " + name, Fix: k8sSetupFix}
	case !st.Available:
		return api.Check{Name: "k8s-gateway", Detail: fmt.Sprintf("Deployment %s is not available (%d/%d ready): %s", name, st.Ready, st.Desired, st.Reason),
			Fix: "kubectl -n " + ns + " describe pods -l " + kubernetes.AppLabel + "=" + kubernetes.GatewayName +
				" says why; if its image is missing, build and load one (scripts/k8s/gateway-image.sh) and run clauderon k8s setup --gateway-image REF --apply"}
	case !st.ServiceFound || st.ClusterIP == "":
		return api.Check{Name: "k8s-gateway", Detail: "no Service " + name + " with a ClusterIP", Fix: k8sSetupFix}
	}
	return api.Check{Name: "k8s-gateway", OK: true, Detail: fmt.Sprintf("Deployment %s available (%d/%d), Service %s:%d", name, st.Ready, st.Desired, st.ClusterIP, kubernetes.GatewayPort)}
}

func tunnelCheck(tun K8sTunnelState, now time.Time) api.Check {
	if tun == nil {
		return api.Check{Name: "k8s-tunnel", Detail: "the daemon runs no tunnel to the gateway", Fix: "start the daemon (clauderon daemon) with the Kubernetes backend configured"}
	}
	up, since, lastErr := tun.State()
	for_ := ""
	if !since.IsZero() {
		for_ = fmt.Sprintf(" since %s (%s)", since.Format(time.TimeOnly), now.Sub(since).Round(time.Second))
	}
	if up {
		return api.Check{Name: "k8s-tunnel", OK: true, Detail: "up" + for_}
	}
	d := "down" + for_
	if lastErr != "" {
		d += ": " + lastErr
	}
	return api.Check{Name: "k8s-tunnel", Detail: d,
		Fix: "the daemon reconnects by itself; if it stays down, fix the k8s-gateway row, and check that the daemon's identity may create pods/portforward"}
}
