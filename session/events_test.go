package session

import (
	"context"
	"errors"
	"testing"
)

// nextEvent reads one event; the test's deadline bounds the wait.
func nextEvent(t *testing.T, sub *Subscription) Event {
	t.Helper()
	e, err := sub.Next(t.Context())
	if err != nil {
		t.Fatalf("next event: %v", err)
	}
	return e
}

// untilEvent reads events up to the first of kind for name, and returns them all.
func untilEvent(t *testing.T, sub *Subscription, kind EventKind, name string) []Event {
	t.Helper()
	var out []Event
	for {
		e := nextEvent(t, sub)
		out = append(out, e)
		if e.Kind == kind && e.Name == name {
			return out
		}
	}
}

func TestEventsCreateChangeRemoveInOrder(t *testing.T) {
	h := newHarness(t)
	h.run(t)
	ctx := context.Background()
	sub := h.m.Subscribe(SubscribeOptions{})
	defer sub.Close()
	if e := nextEvent(t, sub); e.Kind != EventSnapshot || len(e.Sessions) != 0 {
		t.Fatalf("first event: %+v, want an empty snapshot", e)
	}
	s, err := h.m.Create(ctx, Options{Name: "p", Prompt: "hi", Mode: ModePrint})
	if err != nil {
		t.Fatal(err)
	}
	h.be.exit(s.ContainerID, 0)
	if _, err := h.m.Wait(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Remove(ctx, "p", false, false); err != nil {
		t.Fatal(err)
	}
	evs := untilEvent(t, sub, EventRemoved, "p")
	if evs[0].Kind != EventCreated || evs[0].Session == nil || evs[0].Session.Status != StatusCreating {
		t.Errorf("first change: %+v, want created while creating", evs[0])
	}
	var statuses []Status
	var seq uint64
	for i, e := range evs {
		if e.Seq <= seq {
			t.Errorf("event %d has seq %d after %d", i, e.Seq, seq)
		}
		seq = e.Seq
		if i > 0 && i < len(evs)-1 && e.Kind != EventChanged {
			t.Errorf("event %d is %s, want changed", i, e.Kind)
		}
		if e.Name != "p" || e.Session == nil || e.Session.Name != "p" {
			t.Errorf("event %d: %+v, want session p", i, e)
			continue
		}
		if n := len(statuses); n == 0 || statuses[n-1] != e.Session.Status {
			statuses = append(statuses, e.Session.Status)
		}
	}
	want := []Status{StatusCreating, StatusRunning, StatusExited, StatusDeleted}
	if len(statuses) != len(want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("statuses %v, want %v", statuses, want)
		}
	}
}

func TestEventsReconnectStartsWithSnapshot(t *testing.T) {
	h := newHarness(t)
	h.run(t)
	ctx := context.Background()
	first := h.m.Subscribe(SubscribeOptions{})
	for _, n := range []string{"a", "b", "c"} {
		if _, err := h.m.Create(ctx, Options{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.m.Remove(ctx, "b", true, false); err != nil {
		t.Fatal(err)
	}
	last := untilEvent(t, first, EventRemoved, "b")
	first.Close()

	sub := h.m.Subscribe(SubscribeOptions{})
	defer sub.Close()
	e := nextEvent(t, sub)
	if e.Kind != EventSnapshot {
		t.Fatalf("first event after reconnect: %s, want snapshot", e.Kind)
	}
	if e.Seq != last[len(last)-1].Seq {
		t.Errorf("snapshot seq %d, want the last change's, %d", e.Seq, last[len(last)-1].Seq)
	}
	want := h.m.List()
	if len(e.Sessions) != len(want) {
		t.Fatalf("snapshot holds %d sessions, want %d (%v)", len(e.Sessions), len(want), want)
	}
	for i := range want {
		got := e.Sessions[i]
		if got.Name != want[i].Name || got.Status != want[i].Status || got.ContainerID != want[i].ContainerID {
			t.Errorf("snapshot[%d] = %s %s %s, want %s %s %s", i, got.Name, got.Status, got.ContainerID, want[i].Name, want[i].Status, want[i].ContainerID)
		}
	}
	// The stream goes on from the snapshot: the next change follows it.
	if err := h.m.Remove(ctx, "a", true, false); err != nil {
		t.Fatal(err)
	}
	evs := untilEvent(t, sub, EventRemoved, "a")
	if evs[0].Seq != e.Seq+1 {
		t.Errorf("first event after the snapshot has seq %d, want %d", evs[0].Seq, e.Seq+1)
	}
}

func TestEventsSlowSubscriberDoesNotBlockCreate(t *testing.T) {
	h := newHarness(t)
	h.run(t)
	ctx := context.Background()
	// A buffer of one: the snapshot fills it, and nobody reads.
	slow := h.m.Subscribe(SubscribeOptions{Buffer: 1})
	defer slow.Close()
	fast := h.m.Subscribe(SubscribeOptions{})
	defer fast.Close()
	nextEvent(t, fast)
	// Create saves several times; each save publishes. It must return
	// although slow reads nothing.
	if _, err := h.m.Create(ctx, Options{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Create(ctx, Options{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	untilEvent(t, fast, EventCreated, "b") // the others were not held up
	var kinds []EventKind
	for {
		e, err := slow.Next(ctx)
		if errors.Is(err, ErrResync) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, e.Kind)
	}
	if len(kinds) < 2 || kinds[0] != EventSnapshot || kinds[len(kinds)-1] != EventResync {
		t.Fatalf("slow subscriber got %v, want a snapshot, what fit, and a resync last", kinds)
	}
}

func TestEventsPublishAuditOnlyToAuditSubscribers(t *testing.T) {
	h := newHarness(t)
	plain := h.m.Subscribe(SubscribeOptions{})
	defer plain.Close()
	withAudit := h.m.Subscribe(SubscribeOptions{Audit: true})
	nextEvent(t, plain)
	nextEvent(t, withAudit)
	if !h.m.WantsAudit() {
		t.Fatal("WantsAudit false with an audit subscriber")
	}
	h.m.Publish(Event{Kind: EventAudit, Name: "a"})
	h.m.Publish(Event{Kind: EventActivity, Name: "a", Activity: []byte(`{"state":"working"}`)})
	if e := nextEvent(t, withAudit); e.Kind != EventAudit {
		t.Errorf("audit subscriber got %s first, want audit", e.Kind)
	}
	if e := nextEvent(t, plain); e.Kind != EventActivity || string(e.Activity) != `{"state":"working"}` {
		t.Errorf("plain subscriber got %+v, want the activity (no audit)", e)
	}
	withAudit.Close()
	if h.m.WantsAudit() {
		t.Error("WantsAudit true once the audit subscriber closed")
	}
}
