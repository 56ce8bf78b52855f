package daemon

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/proxy"
)

// TestEventsRoute: GET /events starts with a snapshot, and the proxy's
// audit lines reach the streams that asked for them (and only those), in
// the order recorded, with growing sequence numbers.
func TestEventsRoute(t *testing.T) {
	d := startDaemon(t, t.TempDir())
	c := &client.Client{Socket: d.Socket()}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	plain, err := c.Watch(ctx, client.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	audit, err := c.Watch(ctx, client.WatchOptions{Audit: true})
	if err != nil {
		t.Fatal(err)
	}
	defer audit.Close()
	for _, w := range []*client.Events{plain, audit} {
		e, err := w.Next()
		if err != nil || e.Kind != api.EventSnapshot || len(e.Sessions) != 0 {
			t.Fatalf("first event: %+v %v, want an empty snapshot", e, err)
		}
	}
	tap := d.auditTap()
	now := time.Now()
	for _, p := range []string{"/v1/messages", "/v1/models"} {
		if err := tap.Record(proxy.AuditEntry{Time: now, Session: "a", Host: "api.anthropic.com:443", Method: "POST", Path: p, Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	// Refused requests stay in refused.jsonl.
	tap.Record(proxy.AuditEntry{Time: now, Session: "x", Path: "/refused", Status: 407, Refused: true})
	d.sessions.Publish(api.Event{Kind: api.EventActivity, Name: "a", Activity: []byte(`{"state":"idle"}`)})

	var seq uint64
	for _, want := range []string{"/v1/messages", "/v1/models"} {
		e, err := audit.Next()
		if err != nil || e.Kind != api.EventAudit || e.Audit == nil || e.Audit.Path != want || e.Name != "a" {
			t.Fatalf("audit stream: %+v %v, want the audit line of %s", e, err, want)
		}
		if e.Seq <= seq {
			t.Errorf("seq %d after %d", e.Seq, seq)
		}
		seq = e.Seq
	}
	if e, err := audit.Next(); err != nil || e.Kind != api.EventActivity {
		t.Errorf("audit stream after the audit lines: %+v %v, want the activity (no refused line)", e, err)
	}
	if e, err := plain.Next(); err != nil || e.Kind != api.EventActivity || e.Seq <= seq {
		t.Errorf("plain stream: %+v %v, want the activity only, after seq %d", e, err, seq)
	}
	cancel()
	if _, err := plain.Next(); err == nil || err == io.EOF && ctx.Err() == nil {
		t.Errorf("after cancel: %v, want the context's error", err)
	}
}
