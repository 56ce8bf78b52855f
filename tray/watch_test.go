package tray

import (
	"context"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
)

// TestWatch follows a (fake) daemon through the real client: the snapshot,
// then each change, reach the menu.
func TestWatch(t *testing.T) {
	d := newFakeDaemon(t, []api.Session{{Name: "a", Status: api.StatusRunning, Mode: api.ModeInteractive}})
	ctx, cancel := context.WithCancel(context.Background())
	menus := make(chan menu, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watch(ctx, d.client(), discard(), func(m menu) { menus <- m })
	}()
	t.Cleanup(func() { cancel(); <-done })

	next := func(want string) menu {
		t.Helper()
		select {
		case m := <-menus:
			if m.status != want {
				t.Fatalf("status %q, want %q", m.status, want)
			}
			return m
		case <-time.After(10 * time.Second):
			t.Fatalf("no menu; want status %q", want)
		}
		return menu{}
	}
	m := next("Proxy up, 1 running, 0 waiting for input")
	if len(m.items) != 1 || m.items[0].label != "a: running" {
		t.Fatalf("items %+v", m.items)
	}
	d.events <- api.Event{Kind: api.EventActivity, Name: "a", Activity: []byte(`{"state":"waiting_for_input","known":true}`)}
	m = next("Proxy up, 1 running, 1 waiting for input")
	if m.items[0].label != "a: waiting for input" || !m.attention {
		t.Fatalf("after the activity event: %+v", m)
	}
	// Usage says nothing the menu shows: no menu for it. The removal
	// after it is the next menu.
	d.events <- api.Event{Kind: api.EventUsage, Name: "a", Usage: []byte(`{"cost_usd":1}`)}
	d.events <- api.Event{Kind: api.EventRemoved, Name: "a"}
	if m = next("Proxy up, 0 running, 0 waiting for input"); len(m.items) != 0 {
		t.Fatalf("after the removal: %+v", m.items)
	}
	// The daemon going away is said, and the tray watches again.
	d.srv.CloseClientConnections()
	next("Daemon not reachable")
}

func TestTrack(t *testing.T) {
	var known map[string]api.Session
	if track(&known, api.Event{Kind: api.EventCreated, Name: "a", Session: &api.Session{Name: "a"}}) {
		t.Fatal("an event before the snapshot changed the menu")
	}
	if !track(&known, api.Event{Kind: api.EventSnapshot, Sessions: []api.Session{{Name: "b"}}}) || len(known) != 1 {
		t.Fatalf("snapshot: %v", known)
	}
	if track(&known, api.Event{Kind: api.EventActivity, Name: "b", Activity: []byte(`not json`)}) {
		t.Fatal("a bad activity changed the menu")
	}
	if track(&known, api.Event{Kind: api.EventActivity, Name: "nobody", Activity: []byte(`{"state":"working"}`)}) {
		t.Fatal("an unknown session's activity changed the menu")
	}
}
