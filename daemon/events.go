package daemon

import (
	"encoding/json"
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/session"
)

// events serves GET /events: the session manager's event stream as
// newline-delimited JSON, each line flushed as it is written. The stream
// ends when the client goes, the daemon drains, or the subscriber fell
// behind (its last line a resync).
func (d *Daemon) events(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := d.streamContext(r)
	defer cancel()
	sub := d.sessions.Subscribe(session.SubscribeOptions{Audit: queryFlag(r, "audit")})
	defer sub.Close()
	parent := callerParent(r)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			if errors.Is(err, session.ErrResync) {
				return nil
			}
			return nil // the client went, or the daemon drains
		}
		if parent != "" && !forChildOf(&e, parent, d.sessions) {
			continue
		}
		if err := enc.Encode(e); err != nil {
			return nil
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

// forChildOf keeps what a session may see of e: its own children's
// events, and a snapshot of them alone.
func forChildOf(e *api.Event, parent string, m *session.Manager) bool {
	switch e.Kind {
	case api.EventSnapshot:
		kept := e.Sessions[:0:0]
		for _, s := range e.Sessions {
			if s.Parent == parent {
				kept = append(kept, s)
			}
		}
		e.Sessions = kept
		return true
	case api.EventResync:
		return true
	case api.EventCreated, api.EventChanged, api.EventRemoved:
		return e.Session != nil && e.Session.Parent == parent
	}
	return e.Name != "" && m.IsChild(parent, e.Name)
}

// auditTap passes each audit entry to the log, and to the event stream
// when someone subscribed to audit lines. Publishing never blocks, so the
// proxy is not slowed.
type auditTap struct {
	sink    proxy.AuditSink
	wants   func() bool
	publish func(api.Event)
}

// auditTap wraps the audit log. d.sessions is made after the proxy, before
// it serves anything.
func (d *Daemon) auditTap() auditTap {
	return auditTap{sink: d.audit, wants: func() bool { return d.sessions.WantsAudit() }, publish: func(e api.Event) { d.sessions.Publish(e) }}
}

func (t auditTap) Record(e proxy.AuditEntry) error {
	err := t.sink.Record(e)
	if e.Refused || !t.wants() {
		return err
	}
	t.publish(api.Event{Kind: api.EventAudit, Name: e.Session, Time: e.Time, Audit: &api.AuditEntry{
		Time: e.Time, Session: cutAudit(e.Session, 64), Host: cutAudit(e.Host, 300), Method: cutAudit(e.Method, 64),
		Path: cutAudit(e.Path, 1024), Status: e.Status, DurationMS: e.DurationMS, BytesIn: e.BytesIn, BytesOut: e.BytesOut,
		AuthInjected: e.AuthInjected, Intercepted: e.Intercepted, Error: cutAudit(e.Error, 16<<10),
	}})
	return err
}

// cutAudit bounds a field as the audit log does, at a rune boundary.
func cutAudit(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
