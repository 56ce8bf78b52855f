package notify

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/clauderon/clauderon/api"
)

// note is one notification to show: what happened to which session. Its
// texts are plain; the bus escapes them for the daemon.
type note struct {
	Name    string
	Kind    Kind
	Summary string
	Body    string
}

// key is what coalescing counts by: one session and one kind.
type key struct {
	name string
	kind Kind
}

// seen is what the tracker last knew of a session: only what a
// notification is decided on.
type seen struct {
	mode   api.Mode
	status api.SessionStatus
	act    api.ActivityState
	spent  bool // its budget was spent when last seen
	prompt string
}

// tracker turns the daemon's events into notifications. It is pure (the
// caller passes the time), so which sequences notify, and how flapping is
// coalesced, are tested without a bus or a clock.
type tracker struct {
	enabled map[Kind]bool // a kind not in it is on
	window  time.Duration
	primed  bool // the first snapshot was read
	known   map[string]*seen
	// last is when a notification of each key was last shown; pending
	// holds the newest one held back because it came within the window.
	last    map[key]time.Time
	pending map[key]note
}

func newTracker(enabled map[Kind]bool, window time.Duration) *tracker {
	return &tracker{enabled: enabled, window: window, known: map[string]*seen{},
		last: map[key]time.Time{}, pending: map[key]note{}}
}

// event reads one of the daemon's events and returns the notifications to
// show now.
func (t *tracker) event(ev api.Event, now time.Time) []note {
	var out []note
	emit := func(n note) {
		if n, ok := t.coalesce(n, now); ok {
			out = append(out, n)
		}
	}
	switch ev.Kind {
	case api.EventSnapshot:
		// The first snapshot is how things were before the app started:
		// nothing in it is news. A later one (the stream was lost and
		// watched again) tells what changed meanwhile.
		names := map[string]bool{}
		for i := range ev.Sessions {
			names[ev.Sessions[i].Name] = true
			t.observe(&ev.Sessions[i], t.primed, emit)
		}
		for name := range t.known {
			if !names[name] {
				t.forget(name)
			}
		}
		t.primed = true
	case api.EventCreated, api.EventChanged:
		if ev.Session != nil {
			t.observe(ev.Session, true, emit)
		}
	case api.EventRemoved:
		t.forget(ev.Name)
	case api.EventActivity:
		var a api.Activity
		if s := t.known[ev.Name]; s != nil && json.Unmarshal(ev.Activity, &a) == nil {
			t.activity(ev.Name, s, a.State, true, emit)
		}
	case api.EventUsage:
		var u api.Usage
		if s := t.known[ev.Name]; s != nil && json.Unmarshal(ev.Usage, &u) == nil {
			t.usage(ev.Name, s, &u, true, emit)
		}
	}
	return out
}

// forget drops a removed session: nothing can open it any more.
func (t *tracker) forget(name string) {
	delete(t.known, name)
	for k := range t.pending {
		if k.name == name {
			delete(t.pending, k)
		}
	}
}

// observe compares a session's state with what was known of it; with
// news false it only records it.
func (t *tracker) observe(s *api.Session, news bool, emit func(note)) {
	k := t.known[s.Name]
	if k == nil {
		k = &seen{}
		t.known[s.Name] = k
	}
	k.mode, k.prompt = s.Mode, s.Prompt
	if s.Usage != nil {
		t.usage(s.Name, k, s.Usage, news, emit)
	}
	if s.Status != k.status {
		k.status = s.Status
		if news {
			t.ended(s, k, emit)
		}
	}
	if s.Activity != nil {
		t.activity(s.Name, k, s.Activity.State, news, emit)
	}
}

// ended notifies a session that just failed, or a print run that just
// finished (well, badly, or out of budget).
func (t *tracker) ended(s *api.Session, k *seen, emit func(note)) {
	switch {
	case s.Status == api.StatusFailed:
		emit(failedNote(s))
	case s.Status != api.StatusExited || s.Mode != api.ModePrint:
		// An interactive session's exit is the user's own doing.
	case namesBudget(s.Result):
		// Once is enough: the usage may have told it already.
		if !k.spent {
			k.spent = true
			emit(budgetNote(s.Name, nil, s.Result.Text))
		}
	case (s.Result != nil && s.Result.IsError) || (s.ExitCode != nil && *s.ExitCode != 0):
		emit(failedNote(s))
	default:
		emit(finishedNote(s))
	}
}

// activity notifies an agent that started waiting for the user. A print
// run's agent never waits for anyone: its end is "finished".
func (t *tracker) activity(name string, k *seen, state api.ActivityState, news bool, emit func(note)) {
	if state == k.act {
		return
	}
	k.act = state
	if !waiting(state) {
		// Back at work: a notification held back is no longer true.
		delete(t.pending, key{name, KindWaiting})
		return
	}
	if news && k.mode != api.ModePrint && !k.status.Terminal() {
		emit(waitingNote(name, state, k.prompt))
	}
}

func waiting(s api.ActivityState) bool {
	return s == api.ActivityWaitingInput || s == api.ActivityWaitingPerm
}

// usage notifies a budget that just became spent. Raising the budget
// makes it unspent, so spending it again notifies again.
func (t *tracker) usage(name string, k *seen, u *api.Usage, news bool, emit func(note)) {
	spent := (u.Budget.USD > 0 && u.TreeCostUSD >= u.Budget.USD) ||
		(u.Budget.Tokens > 0 && u.TreeTokens >= u.Budget.Tokens)
	if spent && !k.spent && news {
		emit(budgetNote(name, u, ""))
	}
	k.spent = spent
}

// namesBudget reports whether a print run's result is the proxy refusing
// a request because a budget was spent (session.ErrBudgetSpent's message,
// which Claude Code quotes).
func namesBudget(r *api.Result) bool {
	return r != nil && r.IsError && strings.Contains(r.Text, "clauderon:") &&
		strings.Contains(r.Text, "budget") && strings.Contains(r.Text, "is spent")
}

// coalesce decides whether n shows now: a disabled kind never does, and
// a session and kind shown less than a window ago waits until the window
// ends, replaced by anything newer meanwhile.
func (t *tracker) coalesce(n note, now time.Time) (note, bool) {
	if on, set := t.enabled[n.Kind]; set && !on {
		return note{}, false
	}
	k := key{n.Name, n.Kind}
	if last, ok := t.last[k]; ok && now.Before(last.Add(t.window)) {
		t.pending[k] = n
		return note{}, false
	}
	t.last[k] = now
	return n, true
}

// due returns the held-back notifications whose window ended by now.
func (t *tracker) due(now time.Time) []note {
	var out []note
	for k, n := range t.pending {
		if !now.Before(t.last[k].Add(t.window)) {
			delete(t.pending, k)
			t.last[k] = now
			out = append(out, n)
		}
	}
	for k, at := range t.last {
		if _, held := t.pending[k]; !held && !now.Before(at.Add(t.window)) {
			delete(t.last, k) // nothing to coalesce with any more
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// next is when the first held-back notification is due; ok is false when
// none is held back.
func (t *tracker) next() (at time.Time, ok bool) {
	for k := range t.pending {
		if d := t.last[k].Add(t.window); !ok || d.Before(at) {
			at, ok = d, true
		}
	}
	return at, ok
}
