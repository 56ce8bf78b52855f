package session

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// startGate is an engine whose Start waits until the test lets it go: a
// session caught between its container's creation and start.
type startGate struct {
	*fakeBackend
	starting chan struct{}
	release  chan struct{}
}

func (g *startGate) Start(ctx context.Context, id string) error {
	g.starting <- struct{}{}
	<-g.release
	return g.fakeBackend.Start(ctx, id)
}

// TestStopWhileCreating: stopping a session that is still being created is
// refused (it would report success and leave the container to start), and
// works once the create is done.
func TestStopWhileCreating(t *testing.T) {
	be := &startGate{fakeBackend: newFakeBackend(), starting: make(chan struct{}), release: make(chan struct{})}
	m, err := Open(Config{Home: t.TempDir(), Backend: be, Auth: &fakeAuth{m: map[string]Secret{}}, Logger: slog.New(slog.DiscardHandler),
		Container: ContainerConfig{ProxyPort: 18080, CAFile: "/ca.pem", BundleFile: "/bundle.pem"}})
	if err != nil {
		t.Fatal(err)
	}
	created := make(chan error, 1)
	go func() {
		_, err := m.Create(context.Background(), Options{Name: "a"})
		created <- err
	}()
	<-be.starting
	s, err := m.Stop(t.Context(), "a")
	if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "is being created") {
		t.Errorf("Stop during create = %+v, %v; want ErrState \"is being created\"", s, err)
	}
	close(be.release)
	if err := <-created; err != nil {
		t.Fatal(err)
	}
	s, err = m.Stop(t.Context(), "a")
	if err != nil || s.Status != StatusStopped {
		t.Errorf("Stop after create = %s, %v; want stopped", s.Status, err)
	}
}

// TestCredentialSuspendedWhileStopped: the proxy accepts a session's
// credential only while its container may run, including after a restart of
// the daemon (which loads a stopped session's state).
func TestCredentialSuspendedWhileStopped(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.m.Create(ctx, Options{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.auth.get("a"); !ok {
		t.Fatal("a running session has no credential")
	}
	if _, err := h.m.Stop(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.auth.get("a"); ok {
		t.Error("a stopped session's credential is still accepted")
	}
	h.auth = &fakeAuth{m: map[string]Secret{}}
	h.open(t)
	if _, ok := h.auth.get("a"); ok {
		t.Error("a restarted daemon accepts a stopped session's credential")
	}
}
