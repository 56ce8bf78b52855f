package proxy

import (
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// connectHead is the head a cluster gateway passes on for a pod's CONNECT.
func connectHead(target, auth string) *http.Request {
	r := &http.Request{Method: http.MethodConnect, Host: target, Header: http.Header{}}
	if auth != "" {
		r.Header.Set("Proxy-Authorization", auth)
	}
	return r
}

// TestAuthorizeTunnel: a blind CONNECT from the cluster is decided and
// audited as connect would, before its dial.
func TestAuthorizeTunnel(t *testing.T) {
	h := newHarness(t, canaryOAuth, func(c *Config) {
		c.Egress = func(s, host string) error {
			if host == "denied.example" {
				return errors.New("session sess-a may not reach denied.example; to allow it, run on the host: clauderon egress allow sess-a denied.example")
			}
			return nil
		}
	})
	good := "Basic " + basic(h.name, h.secret)
	for _, tc := range []struct {
		name, target, auth string
		ok                 bool
		status             int
		msg                string
	}{
		{"bad credential", "allowed.example:443", "Basic " + basic(h.name, "sk-ant-oat01-CANARY-wrong-secret"), false, http.StatusProxyAuthRequired, "proxy authentication required"},
		{"no credential", "allowed.example:443", "", false, http.StatusProxyAuthRequired, "proxy authentication required"},
		{"egress denied", "denied.example:443", good, false, http.StatusForbidden, "clauderon egress allow sess-a denied.example"},
		{"allowed", "allowed.example:443", good, true, http.StatusOK, ""},
		{"intercepted host", AnthropicHost + ":443", good, false, http.StatusBadRequest, "is intercepted by the proxy"},
		{"this proxy", h.addr, good, false, http.StatusLoopDetected, "is this proxy"},
		{"not host:port", "allowed.example", good, false, http.StatusBadRequest, "not host:port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := h.proxy.AuthorizeTunnel(connectHead(tc.target, tc.auth), "")
			if d.OK != tc.ok || d.Status != tc.status || !strings.Contains(d.Message, tc.msg) {
				t.Errorf("AuthorizeTunnel(%s) = %+v, want ok %v, %d, a message with %q", tc.target, d, tc.ok, tc.status, tc.msg)
			}
		})
	}
	h.stop()
	lines := auditLines(t, filepath.Join(h.home, AuditFile))
	got := map[string]float64{}
	for _, l := range lines {
		if l["method"] == "CONNECT" {
			got[l["host"].(string)+" "+l["session"].(string)] = l["status"].(float64)
		}
	}
	for key, want := range map[string]float64{
		"allowed.example:443 sess-a":   200,
		"denied.example:443 sess-a":    403,
		"api.anthropic.com:443 sess-a": 400,
	} {
		if got[key] != want {
			t.Errorf("audit.jsonl: %q has status %v, want %v (all: %v)", key, got[key], want, got)
		}
	}
	refused := auditLines(t, filepath.Join(h.home, RefusedFile))
	n := 0
	for _, l := range refused {
		if l["status"] == float64(http.StatusProxyAuthRequired) && l["addr"] == gatewayPeer {
			n++
		}
	}
	if n == 0 {
		t.Errorf("the bad credentials were not audited as refused: %v", refused)
	}
}

func TestInterceptedHosts(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	if got := h.proxy.InterceptedHosts(); len(got) != 1 || got[0] != AnthropicHost {
		t.Errorf("InterceptedHosts() = %v, want [%s]", got, AnthropicHost)
	}
}

// TestAuthorizeTunnelRevoked: an allowed tunnel's Revoked closes when its
// session is removed, so the gateway can cut it.
func TestAuthorizeTunnelRevoked(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	d := h.proxy.AuthorizeTunnel(connectHead("allowed.example:443", "Basic "+basic(h.name, h.secret)), "")
	if !d.OK || d.Revoked == nil {
		t.Fatalf("AuthorizeTunnel = %+v, want OK with a Revoked channel", d)
	}
	select {
	case <-d.Revoked:
		t.Fatal("Revoked is closed before the session is removed")
	default:
	}
	h.sessions.Remove(h.name)
	select {
	case <-d.Revoked:
	case <-time.After(10 * time.Second):
		t.Error("Revoked did not close when the session was removed")
	}
}

// TestAuthorizeTunnelClass: a gateway's tunnel of a class authorizes only
// that class's sessions, and they nowhere else, as ServeClass serves.
func TestAuthorizeTunnelClass(t *testing.T) {
	h := newHarness(t, canaryOAuth, func(c *Config) {
		c.Class = func(name string) string {
			if name == "sess-k" {
				return "kubernetes"
			}
			return ""
		}
	})
	kube, _ := NewSecret()
	if err := h.sessions.Set("sess-k", kube); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what, user, pass, class string
		ok                      bool
	}{
		{"the class's session from its gateway", "sess-k", kube, "kubernetes", true},
		{"a host session from the gateway", h.name, h.secret, "kubernetes", false},
		{"the class's session without a class", "sess-k", kube, "", false},
		{"the class's session from another class", "sess-k", kube, "other", false},
	} {
		d := h.proxy.AuthorizeTunnel(connectHead("allowed.example:443", "Basic "+basic(tc.user, tc.pass)), tc.class)
		if d.OK != tc.ok || (!tc.ok && d.Status != http.StatusProxyAuthRequired) {
			t.Errorf("%s: %+v, want ok %v (else 407)", tc.what, d, tc.ok)
		}
	}
}
