package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/session"
)

// runEngine is stubEngine that also runs containers: each is running from
// Start until removed.
type runEngine struct {
	stubEngine
	mu     sync.Mutex
	n      int
	orphan map[string]string // labels of a container that is no session
}

func (e *runEngine) List(_ context.Context, labels map[string]string) ([]backend.Container, error) {
	if e.orphan == nil || labels[session.LabelHome] != e.orphan[session.LabelHome] {
		return nil, nil
	}
	return []backend.Container{{ID: "orphan1", Name: "clauderon-users-own", Status: "running", Labels: e.orphan}}, nil
}

func (*runEngine) ImageExists(context.Context, string) (bool, error) { return true, nil }
func (*runEngine) ImageUser(context.Context, string) (backend.ImageUser, error) {
	return backend.ImageUser{Config: "agent", Name: "agent", UID: 1234, GID: 1234, Home: "/home/agent", HomeWritable: true}, nil
}
func (e *runEngine) Create(context.Context, backend.Spec) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	return fmt.Sprintf("c%d", e.n), nil
}
func (*runEngine) Start(context.Context, string) error               { return nil }
func (*runEngine) Remove(context.Context, string, bool) error        { return nil }
func (*runEngine) Stop(context.Context, string, time.Duration) error { return nil }

// TestChildSeesOnlyItsOwn: through a parent's routes, a child's audit
// holds no line of an earlier session of the same name (which the parent
// could create to read them), and the list carries none of the user's
// orphans.
func TestChildSeesOnlyItsOwn(t *testing.T) {
	home := t.TempDir()
	cfg := testConfig(t, home)
	cfg.Backend = &runEngine{orphan: map[string]string{session.LabelManaged: "1", session.LabelHome: session.HomeID(home), session.LabelSession: "Not A Name"}}
	d := startDaemonWith(t, cfg)
	// An earlier session named x left its history.
	old := proxy.AuditEntry{Time: time.Now().Add(-time.Hour).UTC(), Session: "x", Host: "private.example:443", Method: "CONNECT", Status: 200}
	if err := d.audit.Record(old); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := d.sessions.Create(ctx, session.Options{Name: "p", Prompt: "lead", Mode: session.ModeInteractive, Spawn: 1, Image: "img:1"}); err != nil {
		t.Fatal(err)
	}
	h := d.handlerFor(func(rt route) bool { return childRoutes[rt.method+" "+rt.pattern] }, "p")
	do := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, api.APIPrefix+path, strings.NewReader(body)))
		return rec
	}
	if rec := do("POST", "/sessions", `{"name":"x","prompt":"hi","mode":"print"}`); rec.Code != http.StatusCreated {
		t.Fatalf("the child's create: %d %s", rec.Code, rec.Body)
	}
	rec := do("GET", "/sessions/x/audit", "")
	if rec.Code != http.StatusOK && rec.Code != http.StatusNotFound {
		t.Fatalf("the child's audit: %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "private.example") {
		t.Errorf("the parent read an earlier session's history: %s", rec.Body)
	}
	var l api.SessionList
	rec = do("GET", "/sessions", "")
	if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil || len(l.Sessions) != 1 || len(l.Orphans) != 0 {
		t.Errorf("the parent's list: %s %v", rec.Body, err)
	}
	if len(d.sessions.Orphans()) == 0 {
		t.Error("the test's orphan was not found: the check above proves nothing")
	}
	// Straight through the daemon's own handler, the user still sees it.
	if recs, _, err := readAudit(d.audit.Path(), "x", 10); err != nil || len(recs) == 0 {
		t.Errorf("the user's view of x's history: %v %v", recs, err)
	}
}
