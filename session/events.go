package session

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clauderon/clauderon/api"
)

// The event stream's model is the LocalAPI's (package api).
type (
	Event     = api.Event
	EventKind = api.EventKind
)

const (
	EventSnapshot = api.EventSnapshot
	EventCreated  = api.EventCreated
	EventChanged  = api.EventChanged
	EventRemoved  = api.EventRemoved
	EventActivity = api.EventActivity
	EventUsage    = api.EventUsage
	EventAudit    = api.EventAudit
	EventResync   = api.EventResync
)

// DefaultEventBuffer is how many events a subscriber may fall behind before
// it is dropped with a resync.
const DefaultEventBuffer = 256

// ErrResync ends a Subscription that fell too far behind; its last event
// was a resync.
var ErrResync = errors.New("session: the subscriber fell behind; subscribe again for a fresh snapshot")

// feed fans events out to subscribers without ever blocking its publisher:
// each subscriber has a bounded buffer, and one whose buffer is full gets a
// last resync event (a slot kept free for it) and is dropped. Publishing
// takes only the feed's own lock, so it may be called with the manager's
// held (where state changes) or without (the proxy's audit tap).
type feed struct {
	mu   sync.Mutex
	seq  uint64
	subs map[*Subscription]struct{}
	now  func() time.Time
	// audits counts the subscribers that asked for audit lines, so the
	// proxy's tap costs nothing when there are none.
	audits atomic.Int32
}

// Subscription is one subscriber's events: a snapshot first, then each
// change. Read it with Next; Close it when done.
type Subscription struct {
	f        *feed
	c        chan Event
	audit    bool
	annotate func(Session) Session
}

func (f *feed) publish(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	e.Seq = f.seq
	if e.Time.IsZero() {
		e.Time = f.now()
	}
	for s := range f.subs {
		if e.Kind == EventAudit && !s.audit {
			continue
		}
		// Only publish sends, under f.mu: a buffer with two free slots
		// takes e, and the last slot is the resync's.
		if len(s.c) < cap(s.c)-1 {
			s.c <- e
			continue
		}
		s.c <- Event{Seq: e.Seq, Kind: EventResync, Time: e.Time, Reason: "the subscriber fell behind"}
		f.dropLocked(s)
	}
}

func (f *feed) dropLocked(s *Subscription) {
	if _, ok := f.subs[s]; !ok {
		return
	}
	delete(f.subs, s)
	close(s.c)
	if s.audit {
		f.audits.Add(-1)
	}
}

// SubscribeOptions say what a subscriber gets.
type SubscribeOptions struct {
	// Audit adds the proxy's audit lines.
	Audit bool
	// Buffer is how many events it may fall behind (DefaultEventBuffer
	// when 0).
	Buffer int
}

// Subscribe starts a stream of events: first a snapshot of every session,
// then every change from the moment of the snapshot on, none missed and
// none repeated (the snapshot is taken under the lock every change is
// published under).
func (m *Manager) Subscribe(o SubscribeOptions) *Subscription {
	if o.Buffer <= 0 {
		o.Buffer = DefaultEventBuffer
	}
	s := &Subscription{f: &m.events, c: make(chan Event, o.Buffer+2), audit: o.Audit, annotate: m.annotate}
	m.mu.Lock()
	defer m.mu.Unlock()
	snap := make([]Session, 0, len(m.sessions))
	for _, r := range m.sessions {
		s := r.Session
		s.Activity = m.activityLocked(r)
		snap = append(snap, s)
	}
	sort.Slice(snap, func(i, j int) bool { return snap[i].Name < snap[j].Name })
	f := &m.events
	f.mu.Lock()
	defer f.mu.Unlock()
	s.c <- Event{Seq: f.seq, Kind: EventSnapshot, Time: f.now(), Sessions: snap}
	f.subs[s] = struct{}{}
	if o.Audit {
		f.audits.Add(1)
	}
	return s
}

// Next returns the next event, waiting for one until ctx ends. After a
// resync event it returns ErrResync.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	select {
	case e, ok := <-s.c:
		if !ok {
			return Event{}, ErrResync
		}
		// The warning is worked out here, without the manager's lock.
		for i := range e.Sessions {
			e.Sessions[i] = s.annotate(e.Sessions[i])
		}
		if e.Session != nil {
			a := s.annotate(*e.Session)
			e.Session = &a
		}
		return e, nil
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

// Close ends the subscription; Next then drains what was sent before.
func (s *Subscription) Close() {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.dropLocked(s)
}

// Publish sends e to every subscriber, giving it the next sequence number
// (and the time, when it has none). It never blocks: this is how activity,
// usage and audit lines join the stream. It may be called with or without
// the manager's lock.
func (m *Manager) Publish(e Event) { m.events.publish(e) }

// WantsAudit reports whether a subscriber asked for audit lines.
func (m *Manager) WantsAudit() bool { return m.events.audits.Load() > 0 }

// publishSessionLocked reports r's new state: created the first time it
// is saved, changed after. Call with mu held, where the change is made, so
// that events are in the order of the changes.
func (m *Manager) publishSessionLocked(r *record) {
	if m.sessions[r.Name] != r {
		return // a record already forgotten
	}
	kind := EventChanged
	if !m.announced[r.Name] {
		m.announced[r.Name] = true
		kind = EventCreated
	}
	s := r.Session
	s.Activity = m.activityLocked(r)
	m.events.publish(Event{Kind: kind, Name: r.Name, Session: &s})
}

// publishRemovedLocked reports that a session was forgotten, with its
// last state. Call with mu held.
func (m *Manager) publishRemovedLocked(name string, last *record) {
	if !m.announced[name] {
		return
	}
	delete(m.announced, name)
	e := Event{Kind: EventRemoved, Name: name}
	if last != nil {
		s := last.Session
		s.Status = StatusDeleted
		e.Session = &s
	}
	m.events.publish(e)
}
