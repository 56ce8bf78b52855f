package session

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/clauderon/clauderon/gateway"
)

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Example.COM.", "example.com", true},
		{"*.example.com", "*.example.com", true},
		{"10.0.0.7", "10.0.0.7", true},
		{"[::1]", "::1", true},
		{"::ffff:10.0.0.7", "10.0.0.7", true},
		{"a_b.internal", "a_b.internal", true},
		{"", "", false},
		{"*", "", false},
		{"*.com", "", false},
		{"https://example.com", "", false},
		{"example.com:443", "", false},
		{"example.com/x", "", false},
		{"ex ample.com", "", false},
		{"a.*.com", "", false},
		{"-a.com", "", false},
		{"exa\x1b[2Jmple.com", "", false},
		{strings.Repeat("a", 64) + ".com", "", false},
		{"fe80::1%eth0", "", false},
		{"[fe80::1%x;touch pwned;]", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeHost(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && strings.ContainsRune(err.Error(), 0x1b) {
			t.Errorf("NormalizeHost(%q)'s error carries an escape: %q", tt.in, err)
		}
	}
}

func TestEgressAllows(t *testing.T) {
	balanced := []string{"github.com", "*.githubusercontent.com"}
	tests := []struct {
		name string
		e    Egress
		host string
		want bool
	}{
		{"open allows all", Egress{Mode: EgressOpen}, "evil.example", true},
		{"old sessions are open", Egress{}, "evil.example", true},
		{"balanced: a listed host", Egress{Mode: EgressBalanced}, "GitHub.com.", true},
		{"balanced: below a wildcard", Egress{Mode: EgressBalanced}, "raw.githubusercontent.com", true},
		{"balanced: not the wildcard's apex", Egress{Mode: EgressBalanced}, "githubusercontent.com", false},
		{"balanced: a suffix is not a subdomain", Egress{Mode: EgressBalanced}, "evilgithub.com", false},
		{"balanced: others", Egress{Mode: EgressBalanced}, "evil.example", false},
		{"balanced: the allow list", Egress{Mode: EgressBalanced, Allow: []string{"evil.example"}}, "evil.example", true},
		{"locked: not the balanced hosts", Egress{Mode: EgressLocked}, "github.com", false},
		{"locked: the allow list", Egress{Mode: EgressLocked, Allow: []string{"*.corp.example", "10.1.2.3"}}, "git.corp.example", true},
		{"locked: an address", Egress{Mode: EgressLocked, Allow: []string{"10.1.2.3"}}, "10.1.2.3", true},
		{"locked: a bracketed address", Egress{Mode: EgressLocked, Allow: []string{"::1"}}, "[::1]", true},
		{"locked: another address", Egress{Mode: EgressLocked, Allow: []string{"10.1.2.3"}}, "10.1.2.4", false},
	}
	for _, tt := range tests {
		if got := egressAllows(tt.e, tt.host, balanced); got != tt.want {
			t.Errorf("%s: allows(%q) = %v, want %v", tt.name, tt.host, got, tt.want)
		}
	}
}

// TestEgressPolicyLifecycle: a session gets the default policy, a denial
// names the host and the command that allows it and is listed, allow takes
// effect at once and survives a restart of the manager, and bad input is
// refused clearly.
func TestEgressPolicyLifecycle(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.m.Create(ctx, Options{Name: "eg", Egress: Egress{Allow: []string{"Corp.Example"}}}); err != nil {
		t.Fatal(err)
	}
	rep, err := h.m.EgressOf("eg")
	if err != nil || rep.Mode != "balanced" || !slices.Equal(rep.Allow, []string{"corp.example"}) || len(rep.Balanced) == 0 {
		t.Fatalf("EgressOf = %+v, %v; want balanced with corp.example", rep, err)
	}
	for _, ok := range []string{"github.com", "corp.example", "registry.npmjs.org"} {
		if err := h.m.CheckEgress("eg", ok); err != nil {
			t.Errorf("CheckEgress(%s) = %v", ok, err)
		}
	}
	err = h.m.CheckEgress("eg", "evil.example")
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "evil.example") || !strings.Contains(err.Error(), "clauderon egress allow eg evil.example") {
		t.Fatalf("CheckEgress(evil.example) = %v; want a denial naming the host and the command", err)
	}
	// A host that cannot be allowed gets no command to paste: a zone is
	// free text, shell syntax included.
	err = h.m.CheckEgress("eg", "fe80::1%x;touch pwned;")
	if !errors.Is(err, ErrDenied) || strings.Contains(err.Error(), "egress allow") || strings.Contains(err.Error(), "%x;touch pwned;\"") == false {
		t.Errorf("CheckEgress of a zoned address = %v; want a denial, quoted, with no command", err)
	}
	if err := h.m.CheckEgress("eg", "a\u202eb.example"); err == nil || strings.ContainsRune(err.Error(), 0x202e) {
		t.Errorf("CheckEgress of a host with a bidi override: %v; want it denied and escaped", err)
	}
	if err := h.m.CheckEgress("nobody", "github.com"); !errors.Is(err, ErrDenied) {
		t.Errorf("an unknown session's egress: %v", err)
	}
	if rep, _ := h.m.EgressOf("eg"); len(rep.Denials) != 3 || rep.Denials[0].Host != "evil.example" {
		t.Errorf("denials = %+v", rep.Denials)
	}
	for range 500 {
		h.m.CheckEgress("eg", "flood.example")
	}
	if rep, _ := h.m.EgressOf("eg"); len(rep.Denials) != 4 || rep.Denials[0].Host != "evil.example" || rep.Denials[3].Host != "flood.example" || rep.Denials[3].Count != 500 {
		t.Errorf("after a flood of one host, denials = %+v; want the earlier hosts kept and the flood counted", rep.Denials)
	}
	if _, err := h.m.AllowEgress("eg", "", []string{"evil.example"}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.CheckEgress("eg", "evil.example"); err != nil {
		t.Errorf("after allow: %v", err)
	}
	if _, err := h.m.AllowEgress("eg", EgressLocked, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.m.CheckEgress("eg", "github.com"); !errors.Is(err, ErrDenied) {
		t.Errorf("locked still allows github.com: %v", err)
	}
	h.open(t) // a restarted daemon keeps the policy
	if err := h.m.CheckEgress("eg", "evil.example"); err != nil {
		t.Errorf("after a restart the allow list is lost: %v", err)
	}
	if err := h.m.CheckEgress("eg", "github.com"); !errors.Is(err, ErrDenied) {
		t.Errorf("after a restart the mode is lost: %v", err)
	}
	for _, bad := range []struct {
		mode  EgressMode
		hosts []string
		want  string
	}{
		{"", nil, "at least one host"},
		{"wide-open", nil, "not one of"},
		{"", []string{"http://x.example"}, "is not a host"},
		{"", make([]string, MaxAllowHosts+1), "at most"},
	} {
		if _, err := h.m.AllowEgress("eg", bad.mode, bad.hosts); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("AllowEgress(%q, %v) = %v, want %q", bad.mode, len(bad.hosts), err, bad.want)
		}
	}
	if _, err := h.m.AllowEgress("none", "", []string{"x.example"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("AllowEgress on no session: %v", err)
	}
	if _, err := h.m.Create(ctx, Options{Name: "eg2", Egress: Egress{Mode: "everything"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("create with a bad mode: %v", err)
	}
}

// TestEgressFromLabels: a session rebuilt from its labels keeps its
// policy; a label that cannot be read gives the strictest one, and no label
// (an older clauderon's session) none.
func TestEgressFromLabels(t *testing.T) {
	base := map[string]string{LabelSession: "lb", LabelNonce: "n", LabelMode: string(ModePrint)}
	with := func(v string) map[string]string {
		l := maps.Clone(base)
		l[LabelEgress] = v
		return l
	}
	for _, tt := range []struct {
		labels map[string]string
		want   Egress
	}{
		{with(`{"mode":"locked","allow":["x.example"]}`), Egress{Mode: EgressLocked, Allow: []string{"x.example"}}},
		{with(`{"mode":"open"}`), Egress{Mode: EgressOpen}},
		{with(`{"mode":"open","allow":["NOT CANONICAL"]}`), Egress{Mode: EgressLocked}},
		{with(`garbage`), Egress{Mode: EgressLocked}},
		{base, Egress{}},
	} {
		r, ok := recordFromLabels(tt.labels, "/ws")
		if !ok || r.Egress.Mode != tt.want.Mode || !slices.Equal(r.Egress.Allow, tt.want.Allow) {
			t.Errorf("labels %v: egress %+v, %v; want %+v", tt.labels[LabelEgress], r.Egress, ok, tt.want)
		}
	}
}

// fakeGateway records what the manager asks of the daemon's sockets.
type fakeGateway struct {
	mu     sync.Mutex
	open   map[string]int
	closed []string
}

func (g *fakeGateway) Open(name string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open[name]++
	return "/sandbox/" + name, nil
}

func (g *fakeGateway) Close(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.open, name)
	g.closed = append(g.closed, name)
}

func (g *fakeGateway) Binary() string { return "/home/bin/clauderon-x" }

// TestGatewaySpec: with a gateway, a container gets no network, runs the
// gateway first with the image's command after it, mounts the binary and
// its socket read-only, and its HTTPS_PROXY is the gateway on loopback; a
// restarted manager listens again, and rm stops listening.
func TestGatewaySpec(t *testing.T) {
	h := &harness{home: t.TempDir(), be: newFakeBackend(), auth: &fakeAuth{m: map[string]Secret{}}}
	gw := &fakeGateway{open: map[string]int{}}
	open := func() {
		m, err := Open(Config{Home: h.home, Backend: h.be, Auth: h.auth, Logger: slog.New(slog.DiscardHandler),
			Container: ContainerConfig{Gateway: gw, ProxyPort: 18080, CAFile: "/ca.pem", BundleFile: "/bundle.pem"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		h.m = m
	}
	open()
	s, err := h.m.Create(context.Background(), Options{Name: "gw", Prompt: "hi", Mode: ModePrint})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Gateway || s.ProxyPort != 0 {
		t.Errorf("session gateway=%v proxy port %d", s.Gateway, s.ProxyPort)
	}
	spec := h.be.specs[s.ContainerID]
	if spec.Network != "none" || len(spec.ExtraHosts) != 0 {
		t.Errorf("network %q, extra hosts %v; want none and none", spec.Network, spec.ExtraHosts)
	}
	if !slices.Equal(spec.Entrypoint, []string{gateway.Binary, "gateway", "--"}) || spec.Cmd[0] != "claude" {
		t.Errorf("entrypoint %v cmd %v", spec.Entrypoint, spec.Cmd)
	}
	mounts := map[string]string{}
	for _, m := range spec.Mounts {
		if m.Target == gateway.Binary || m.Target == gateway.SocketDir {
			if !m.ReadOnly {
				t.Errorf("%s is mounted writable", m.Target)
			}
			mounts[m.Target] = m.Source
		}
	}
	if mounts[gateway.Binary] != gw.Binary() || mounts[gateway.SocketDir] != "/sandbox/gw" {
		t.Errorf("gateway mounts %v", mounts)
	}
	var proxyURL string
	for _, e := range spec.Env {
		if v, ok := strings.CutPrefix(e, "HTTPS_PROXY="); ok {
			proxyURL = v
		}
	}
	if !strings.HasSuffix(proxyURL, "@"+gateway.ListenAddr) || strings.Contains(proxyURL, ProxyHost) {
		t.Errorf("HTTPS_PROXY %q", proxyURL)
	}
	if spec.Labels[LabelGateway] != "1" {
		t.Errorf("labels %v", spec.Labels)
	}
	gw.open = map[string]int{}
	open()
	if gw.open["gw"] == 0 {
		t.Error("a restarted manager does not listen on the session's socket")
	}
	if err := h.m.Remove(context.Background(), "gw", true, true); err != nil {
		t.Fatal(err)
	}
	if _, ok := gw.open["gw"]; ok || !slices.Contains(gw.closed, "gw") {
		t.Errorf("after rm: open %v closed %v", gw.open, gw.closed)
	}
	for _, target := range []string{gateway.SocketDir, gateway.Binary, "/opt/clauderon"} {
		if _, err := h.m.Create(context.Background(), Options{Name: "sq", Mounts: []Mount{{Source: t.TempDir(), Target: target}}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("a mount at %s: %v", target, err)
		}
	}
}

// TestAllowsExactly: only an allow-list entry naming the address lets a
// session reach the host's own addresses; a name (whose DNS anyone may
// point here), a wildcard or another session's list does not.
func TestAllowsExactly(t *testing.T) {
	h := newHarness(t)
	if _, err := h.m.Create(context.Background(), Options{Name: "ax", Egress: Egress{Mode: EgressOpen, Allow: []string{"10.0.0.5", "dev.corp.example", "*.corp.example"}}}); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("10.0.0.5")
	for _, tt := range []struct {
		name, host string
		ip         netip.Addr
		want       bool
	}{
		{"ax", "10.0.0.5", ip, true},
		{"ax", "anything.example", ip, true},
		{"ax", "Dev.Corp.Example.", netip.MustParseAddr("10.9.9.9"), false},
		{"ax", "x.corp.example", netip.MustParseAddr("10.9.9.9"), false},
		{"ax", "github.com", netip.MustParseAddr("10.9.9.9"), false},
		{"nobody", "10.0.0.5", ip, false},
	} {
		if got := h.m.AllowsExactly(tt.name, tt.host, tt.ip); got != tt.want {
			t.Errorf("AllowsExactly(%s, %s, %s) = %v, want %v", tt.name, tt.host, tt.ip, got, tt.want)
		}
	}
}
