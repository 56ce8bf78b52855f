package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/version"

	"github.com/clauderon/clauderon/backend/kubernetes"
)

type fakeCluster struct {
	verErr  error
	access  []kubernetes.AccessCheck
	accErr  error
	gateway kubernetes.GatewayStatus
	gwErr   error
}

func (f fakeCluster) Namespace() string { return "clauderon" }
func (f fakeCluster) ServerVersion(context.Context) (version.Info, error) {
	return version.Info{GitVersion: "v1.34.4"}, f.verErr
}
func (f fakeCluster) CheckAccess(context.Context) ([]kubernetes.AccessCheck, error) {
	return f.access, f.accErr
}
func (f fakeCluster) GatewayStatus(context.Context) (kubernetes.GatewayStatus, error) {
	return f.gateway, f.gwErr
}

type fakeTunnel struct {
	up    bool
	since time.Time
	err   string
}

func (f fakeTunnel) State() (bool, time.Time, string) { return f.up, f.since, f.err }

func allRights() []kubernetes.AccessCheck {
	var out []kubernetes.AccessCheck
	for _, r := range kubernetes.RequiredRules() {
		for _, res := range r.Resources {
			res, sub, _ := strings.Cut(res, "/")
			for _, v := range r.Verbs {
				out = append(out, kubernetes.AccessCheck{Group: r.APIGroups[0], Resource: res, Subresource: sub, Verb: v, Allowed: true})
			}
		}
	}
	return out
}

func TestK8sChecks(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	goodGW := kubernetes.GatewayStatus{DeploymentFound: true, Available: true, Ready: 1, Desired: 1, ServiceFound: true, ClusterIP: "10.96.7.7"}
	noExec := allRights()
	for i := range noExec {
		if noExec[i].Subresource == "exec" {
			noExec[i].Allowed = false
		}
	}
	reachOK := func(context.Context) error { return nil }
	reachErr := func(context.Context) error { return errors.New("connect: connection refused") }
	type row struct {
		name string
		ok   bool
		has  string // in Detail
		fix  string // in Fix
	}
	tests := []struct {
		name  string
		c     fakeCluster
		tun   K8sTunnelState
		reach func(context.Context) error
		want  []row
	}{
		{"all good", fakeCluster{access: allRights(), gateway: goodGW}, fakeTunnel{up: true, since: now.Add(-90 * time.Second)}, reachOK, []row{
			{"k8s", true, "v1.34.4", ""}, {"k8s-rights", true, "all 24 rights", ""}, {"k8s-gateway", true, "10.96.7.7:3128", ""},
			{"k8s-tunnel", true, "up since 15:02:35 (1m30s)", ""}, {"k8s-reach", true, "reached", ""},
		}},
		{"unreachable", fakeCluster{verErr: errors.New("dial tcp 127.0.0.1:16443: connection refused")}, fakeTunnel{since: now, err: "no route"}, reachOK, []row{
			{"k8s", false, "connection refused", "context"}, {"k8s-rights", false, "not checked", ""}, {"k8s-gateway", false, "not checked", ""},
			{"k8s-tunnel", false, "down since 15:04:05 (0s): no route", "reconnects"}, {"k8s-reach", false, "not checked", ""},
		}},
		{"exec missing, gateway absent", fakeCluster{access: noExec}, nil, reachOK, []row{
			{"k8s", true, "", ""}, {"k8s-rights", false, "missing: create pods/exec in namespace clauderon", "k8s setup --apply"},
			{"k8s-rights", false, "missing: get pods/exec", "--bind-user"}, {"k8s-gateway", false, "no Deployment clauderon/clauderon-gateway", "k8s setup --apply"},
			{"k8s-tunnel", false, "runs no tunnel", "clauderon daemon"}, {"k8s-reach", false, "not checked: the gateway", ""},
		}},
		{"gateway not available", fakeCluster{access: allRights(), gateway: kubernetes.GatewayStatus{DeploymentFound: true, Desired: 1, Reason: "0 of 1 replicas ready"}},
			fakeTunnel{up: true}, reachOK, []row{
				{"k8s", true, "", ""}, {"k8s-rights", true, "", ""}, {"k8s-gateway", false, "not available (0/1 ready): 0 of 1 replicas ready", "gateway-image.sh"},
				{"k8s-tunnel", true, "up", ""}, {"k8s-reach", false, "not checked", ""},
			}},
		{"no cluster IP", fakeCluster{access: allRights(), gateway: kubernetes.GatewayStatus{DeploymentFound: true, Available: true, Ready: 1, Desired: 1}},
			fakeTunnel{up: true}, nil, []row{
				{"k8s", true, "", ""}, {"k8s-rights", true, "", ""}, {"k8s-gateway", false, "no Service", "k8s setup --apply"}, {"k8s-tunnel", true, "", ""},
			}},
		{"tunnel down", fakeCluster{access: allRights(), gateway: goodGW}, K8sTunnelStateFunc(func() (bool, time.Time, string) { return false, time.Time{}, "portforward: forbidden" }), reachOK, []row{
			{"k8s", true, "", ""}, {"k8s-rights", true, "", ""}, {"k8s-gateway", true, "", ""},
			{"k8s-tunnel", false, "down: portforward: forbidden", "pods/portforward"}, {"k8s-reach", false, "not checked: the tunnel", ""},
		}},
		{"reach fails", fakeCluster{access: allRights(), gateway: goodGW}, fakeTunnel{up: true}, reachErr, []row{
			{"k8s", true, "", ""}, {"k8s-rights", true, "", ""}, {"k8s-gateway", true, "", ""}, {"k8s-tunnel", true, "", ""},
			{"k8s-reach", false, "connection refused", "NetworkPolicies"},
		}},
		{"access review fails", fakeCluster{accErr: errors.New("boom"), gateway: goodGW}, fakeTunnel{up: true}, nil, []row{
			{"k8s", true, "", ""}, {"k8s-rights", false, "cannot review the daemon's rights: boom", "k8s setup"}, {"k8s-gateway", true, "", ""}, {"k8s-tunnel", true, "", ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := K8sChecks(context.Background(), tc.c, tc.tun, tc.reach, now)
			if len(got) != len(tc.want) {
				t.Fatalf("%d rows, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Name != w.name || g.OK != w.ok || !strings.Contains(g.Detail, w.has) || !strings.Contains(g.Fix, w.fix) {
					t.Errorf("row %d = %+v, want name %s ok %v detail ~%q fix ~%q", i, g, w.name, w.ok, w.has, w.fix)
				}
				if !g.OK && g.Fix == "" && !strings.HasPrefix(g.Detail, "not checked") {
					t.Errorf("row %d fails without a fix: %+v", i, g)
				}
			}
		})
	}
}
