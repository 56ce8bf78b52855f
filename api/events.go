package api

import (
	"encoding/json"
	"time"
)

// EventKind says what an Event reports.
type EventKind string

const (
	// EventSnapshot is the first event of every stream: every session as
	// it is, in Sessions. Seq is that of the last change it includes.
	EventSnapshot EventKind = "snapshot"
	// EventCreated, EventChanged and EventRemoved carry one session: the
	// first state of a new one, a later state, or its last state before
	// it was forgotten.
	EventCreated EventKind = "created"
	EventChanged EventKind = "changed"
	EventRemoved EventKind = "removed"
	// EventActivity reports what a session's agent is doing (Activity).
	EventActivity EventKind = "activity"
	// EventUsage reports a session's token usage and cost (Usage).
	EventUsage EventKind = "usage"
	// EventAudit is one line of the proxy's audit log (Audit); sent only
	// to streams that asked for them (?audit=1).
	EventAudit EventKind = "audit"
	// EventResync is a stream's last event when the subscriber read too
	// slowly and events were lost: reconnect for a fresh snapshot.
	EventResync EventKind = "resync"
)

// Event is one line of GET /events (newline-delimited JSON). Seq grows by
// one with every event the daemon publishes, so a stream shows gaps where
// it was sent only some kinds (audit lines not asked for).
type Event struct {
	Seq  uint64    `json:"seq"`
	Kind EventKind `json:"kind"`
	Time time.Time `json:"time"`
	// Name is the session the event is about (every kind but snapshot
	// and resync; audit's is its entry's session).
	Name string `json:"name,omitempty"`
	// Sessions is the snapshot's every session, by name.
	Sessions []Session `json:"sessions,omitempty"`
	// Session is the session's state, for created, changed and removed.
	Session  *Session        `json:"session,omitempty"`
	Activity json.RawMessage `json:"activity,omitempty"`
	Usage    json.RawMessage `json:"usage,omitempty"`
	Audit    *AuditEntry     `json:"audit,omitempty"`
	// Reason says why a resync was sent.
	Reason string `json:"reason,omitempty"`
}
