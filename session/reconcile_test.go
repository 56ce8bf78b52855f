package session

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReconcileRaceWithRemove: a session removed while Reconcile waits for
// the engine's list (which still shows its container) stays removed, and
// its proxy credential stays dead.
func TestReconcileRaceWithRemove(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.m.Create(ctx, Options{Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	h.be.afterList = func() {
		if err := h.m.Remove(ctx, "gone", true, false); err != nil {
			t.Error(err)
		}
	}
	if err := h.m.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if s, err := h.m.Get("gone"); err == nil {
		t.Errorf("a removed session came back: %+v", s)
	}
	if _, ok := h.auth.get("gone"); ok {
		t.Error("a removed session's proxy credential works again")
	}
	// The next reconcile, with nothing in between, agrees.
	if err := h.m.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Get("gone"); err == nil {
		t.Error("a removed session came back at the next reconcile")
	}
}

// TestReconcileRaceWithCreate: a session created while Reconcile waits for
// the engine's list (which lacks its container) is not marked failed.
func TestReconcileRaceWithCreate(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.be.afterList = func() {
		if _, err := h.m.Create(ctx, Options{Name: "new"}); err != nil {
			t.Error(err)
		}
	}
	if err := h.m.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if s, err := h.m.Get("new"); err != nil || s.Status != StatusRunning {
		t.Errorf("a session created during reconcile: %+v %v", s, err)
	}
}

// TestReconcileAdoptsContainerID: a daemon killed between creating the
// container and saving its ID leaves a session without one; reconcile
// records the container it finds, so events and logs find it again.
func TestReconcileAdoptsContainerID(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	s, err := h.m.Create(ctx, Options{Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(h.home, "sessions", "k", stateFile)
	b, _ := os.ReadFile(p)
	b = []byte(strings.Replace(string(b), `"container_id": "`+s.ContainerID+`",`, "", 1))
	b = []byte(strings.Replace(string(b), `"status": "running"`, `"status": "creating"`, 1))
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	h.open(t)
	got, err := h.m.Get("k")
	if err != nil || got.ContainerID != s.ContainerID || got.Status != StatusRunning {
		t.Fatalf("after restart: %+v %v; want container %s, running", got, err, s.ContainerID)
	}
	if _, err := h.m.Logs(ctx, "k", false); err != nil {
		t.Errorf("logs: %v", err)
	}
}

// TestRemoveWithoutIDSparesOtherHomes: a session that never learned its
// container's ID must not remove another home's container of the same name.
func TestRemoveWithoutIDSparesOtherHomes(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	r := record{Nonce: "n1"}
	r.Session = Session{Name: "x", Status: StatusCreating, Mode: ModeInteractive, Image: DefaultImage, Container: ContainerName("x")}
	if err := h.m.st.save(r); err != nil {
		t.Fatal(err)
	}
	h.open(t) // no container of ours: x is marked failed
	spec := backendSpec(ContainerName("x"))
	spec.Labels = map[string]string{LabelManaged: "1", LabelHome: "another-home", LabelSession: "x"}
	foreign, _ := h.be.Create(ctx, spec)
	if err := h.m.Remove(ctx, "x", true, false); err != nil {
		t.Fatal(err)
	}
	if _, err := h.be.find(foreign); err != nil {
		t.Error("rm removed another home's container")
	}
	if _, err := h.m.Get("x"); err == nil {
		t.Error("x is still listed")
	}

	// Our own container under the name is removed.
	if err := h.m.st.save(r); err != nil {
		t.Fatal(err)
	}
	h.be.Remove(ctx, foreign, true)
	h.open(t)
	spec.Labels[LabelHome] = HomeID(h.home)
	spec.Labels[LabelNonce], spec.Labels[LabelMode] = "n1", string(ModeInteractive)
	ours, _ := h.be.Create(ctx, spec)
	if err := h.m.Remove(ctx, "x", true, false); err != nil {
		t.Fatal(err)
	}
	if _, err := h.be.find(ours); err == nil {
		t.Error("rm left this home's container")
	}
}

// TestProxyPortRecorded: a session records the proxy port its container
// names, in its state and its labels, so a daemon restarted on another port
// knows which ports to keep serving, and warns when it cannot.
func TestProxyPortRecorded(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	s, err := h.m.Create(ctx, Options{Name: "pp"})
	if err != nil || s.ProxyPort != 18080 {
		t.Fatalf("create: %+v %v", s, err)
	}
	if got := h.be.specs[s.ContainerID].Labels[LabelProxyPort]; got != "18080" {
		t.Errorf("label %s = %q", LabelProxyPort, got)
	}
	os.Remove(filepath.Join(h.home, "sessions", "pp", stateFile))
	h.open(t)
	if got, _ := h.m.Get("pp"); !got.Rebuilt || got.ProxyPort != 18080 || got.Warning != "" {
		t.Errorf("rebuilt from labels: %+v", got)
	}
	if got := h.m.ProxyPorts(); len(got) != 1 || got[0] != 18080 {
		t.Errorf("ProxyPorts = %v", got)
	}
	h.m.cfg.ProxyServes = func(port int) bool { return port != 18080 }
	if l := h.m.List(); len(l) != 1 || !strings.Contains(l[0].Warning, "does not listen on port 18080") {
		t.Errorf("list with the port unserved: %+v", l)
	}
	h.be.Stop(ctx, s.ContainerID, 0)
	h.m.Reconcile(ctx)
	if l := h.m.List(); l[0].Warning != "" || len(h.m.ProxyPorts()) != 0 {
		t.Errorf("an exited session still wants its port: %+v %v", l[0], h.m.ProxyPorts())
	}
}
