package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
)

func sess(name string, mode api.Mode, st api.SessionStatus) *api.Session {
	return &api.Session{Name: name, Mode: mode, Status: st, Prompt: "fix the tests"}
}

func snapshot(ss ...*api.Session) api.Event {
	ev := api.Event{Kind: api.EventSnapshot}
	for _, s := range ss {
		ev.Sessions = append(ev.Sessions, *s)
	}
	return ev
}

func created(s *api.Session) api.Event {
	return api.Event{Kind: api.EventCreated, Name: s.Name, Session: s}
}
func changed(s *api.Session) api.Event {
	return api.Event{Kind: api.EventChanged, Name: s.Name, Session: s}
}

func activity(name string, st api.ActivityState) api.Event {
	b, _ := json.Marshal(api.Activity{State: st, Known: true, Source: api.ActivityFromHooks})
	return api.Event{Kind: api.EventActivity, Name: name, Activity: b}
}

func usage(name string, cost, budget float64) api.Event {
	b, _ := json.Marshal(api.Usage{Budget: api.Budget{USD: budget}, TreeCostUSD: cost})
	return api.Event{Kind: api.EventUsage, Name: name, Usage: b}
}

func exited(name string, code int, r *api.Result) *api.Session {
	s := sess(name, api.ModePrint, api.StatusExited)
	s.ExitCode, s.Result = &code, r
	return s
}

// describe is the notes as "name kind: summary", for got/want messages.
func describe(ns []note) string {
	var l []string
	for _, n := range ns {
		l = append(l, fmt.Sprintf("%s %s", n.Name, n.Kind))
	}
	return strings.Join(l, ", ")
}

// TestDecide: which event sequences notify, and of what. Events are a
// second apart, more than the window, so coalescing plays no part.
func TestDecide(t *testing.T) {
	const spentMsg = `API Error: 429 {"error":{"message":"clauderon: session p's budget of $1.00 is spent ($1.02 used)"}}`
	failed := sess("f", api.ModeInteractive, api.StatusFailed)
	failed.Reason = "the image is gone"
	tokens := func(name string, used, budget int64) api.Event {
		b, _ := json.Marshal(api.Usage{Budget: api.Budget{Tokens: budget}, TreeTokens: used})
		return api.Event{Kind: api.EventUsage, Name: name, Usage: b}
	}
	for _, tc := range []struct {
		name    string
		enabled map[Kind]bool
		events  []api.Event
		want    string
	}{
		{"an interactive turn ends", nil, []api.Event{
			snapshot(), created(sess("i", api.ModeInteractive, api.StatusCreating)),
			changed(sess("i", api.ModeInteractive, api.StatusRunning)),
			activity("i", api.ActivityStarting), activity("i", api.ActivityWorking), activity("i", api.ActivityWaitingInput),
		}, "i waiting_for_input"},
		{"the same state twice notifies once", nil, []api.Event{
			snapshot(sess("i", api.ModeInteractive, api.StatusRunning)),
			activity("i", api.ActivityWaitingInput), activity("i", api.ActivityWaitingInput),
		}, "i waiting_for_input"},
		{"a permission prompt", nil, []api.Event{
			snapshot(sess("i", api.ModeInteractive, api.StatusRunning)), activity("i", api.ActivityWaitingPerm),
		}, "i waiting_for_input"},
		{"waiting before the app started is not news", nil, []api.Event{
			func() api.Event {
				s := sess("i", api.ModeInteractive, api.StatusRunning)
				s.Activity = &api.Activity{State: api.ActivityWaitingInput}
				return snapshot(s)
			}(),
			activity("i", api.ActivityWaitingInput),
		}, ""},
		{"a later snapshot tells what changed meanwhile", nil, []api.Event{
			snapshot(sess("i", api.ModeInteractive, api.StatusRunning), sess("p", api.ModePrint, api.StatusRunning)),
			snapshot(exited("p", 0, &api.Result{Text: "done"}), func() *api.Session {
				s := sess("i", api.ModeInteractive, api.StatusRunning)
				s.Activity = &api.Activity{State: api.ActivityWaitingInput}
				return s
			}()),
		}, "p finished, i waiting_for_input"},
		{"a print run finishes", nil, []api.Event{
			snapshot(), created(sess("p", api.ModePrint, api.StatusCreating)), changed(sess("p", api.ModePrint, api.StatusRunning)),
			activity("p", api.ActivityWorking), activity("p", api.ActivityWaitingInput), // its Stop hook
			changed(exited("p", 0, &api.Result{Text: "all green"})), changed(exited("p", 0, &api.Result{Text: "all green"})),
		}, "p finished"},
		{"a print run ends in an error", nil, []api.Event{
			snapshot(sess("p", api.ModePrint, api.StatusRunning)), changed(exited("p", 0, &api.Result{Text: "overloaded", IsError: true})),
		}, "p failed"},
		{"a print run exits non-zero", nil, []api.Event{
			snapshot(sess("p", api.ModePrint, api.StatusRunning)), changed(exited("p", 1, nil)),
		}, "p failed"},
		{"a session fails", nil, []api.Event{
			snapshot(sess("f", api.ModeInteractive, api.StatusCreating)), changed(failed),
		}, "f failed"},
		{"an interactive session exits", nil, []api.Event{
			snapshot(sess("i", api.ModeInteractive, api.StatusRunning)),
			changed(sess("i", api.ModeInteractive, api.StatusExited)), activity("i", api.ActivityWaitingInput),
		}, ""},
		{"the user stops a print run", nil, []api.Event{
			snapshot(sess("p", api.ModePrint, api.StatusRunning)), changed(sess("p", api.ModePrint, api.StatusStopped)),
		}, ""},
		{"a budget is spent once, then raised and spent again", nil, []api.Event{
			snapshot(sess("p", api.ModePrint, api.StatusRunning)),
			usage("p", 0.5, 1), usage("p", 1.02, 1), usage("p", 1.03, 1), usage("p", 1.03, 2), usage("p", 2.5, 2),
		}, "p budget_spent, p budget_spent"},
		{"a token budget", nil, []api.Event{
			snapshot(sess("p", api.ModeInteractive, api.StatusRunning)), tokens("p", 10, 100), tokens("p", 100, 100),
		}, "p budget_spent"},
		{"no budget is never spent", nil, []api.Event{
			snapshot(sess("p", api.ModeInteractive, api.StatusRunning)), usage("p", 50, 0),
		}, ""},
		{"a budget spent, then the run ends on the refusal", nil, []api.Event{
			snapshot(sess("p", api.ModePrint, api.StatusRunning)), usage("p", 1.02, 1),
			changed(exited("p", 1, &api.Result{Text: spentMsg, IsError: true})),
		}, "p budget_spent"},
		{"a run ends on the refusal of a budget its usage did not show (the day's)", nil, []api.Event{
			snapshot(sess("p", api.ModePrint, api.StatusRunning)),
			changed(exited("p", 1, &api.Result{Text: spentMsg, IsError: true})),
		}, "p budget_spent"},
		{"events of a session never seen", nil, []api.Event{
			snapshot(), activity("ghost", api.ActivityWaitingInput), usage("ghost", 5, 1),
		}, ""},
		{"disabled kinds; one not listed is on", map[Kind]bool{KindWaiting: false, KindBudget: false, KindFailed: true}, []api.Event{
			snapshot(sess("i", api.ModeInteractive, api.StatusRunning), sess("p", api.ModePrint, api.StatusRunning)),
			activity("i", api.ActivityWaitingInput), usage("i", 2, 1), changed(exited("p", 0, nil)),
		}, "p finished"},
		{"every kind off", map[Kind]bool{KindWaiting: false, KindFinished: false, KindFailed: false, KindBudget: false}, []api.Event{
			snapshot(sess("i", api.ModeInteractive, api.StatusRunning), sess("p", api.ModePrint, api.StatusRunning), sess("q", api.ModePrint, api.StatusRunning)),
			activity("i", api.ActivityWaitingInput), usage("i", 2, 1), changed(exited("p", 0, nil)), changed(exited("q", 1, nil)),
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(tc.enabled, 500*time.Millisecond)
			now := time.Unix(1e9, 0)
			var got []note
			for _, ev := range tc.events {
				now = now.Add(time.Second)
				got = append(got, tr.event(ev, now)...)
			}
			if d := describe(got); d != tc.want {
				t.Errorf("notified %q, want %q", d, tc.want)
			}
			for _, n := range got {
				if !strings.HasPrefix(n.Summary, n.Name+" ") && !strings.HasPrefix(n.Summary, n.Name+"'s ") {
					t.Errorf("summary %q does not start with the session's name", n.Summary)
				}
			}
		})
	}
}

// TestNoteTexts: what each notification says.
func TestNoteTexts(t *testing.T) {
	tr := newTracker(nil, time.Second)
	now := time.Unix(1e9, 0)
	step := func(ev api.Event) []note { now = now.Add(time.Minute); return tr.event(ev, now) }
	f := sess("f", api.ModeInteractive, api.StatusFailed)
	f.Reason = "the engine is unreachable"
	step(snapshot(sess("i", api.ModeInteractive, api.StatusRunning), sess("p", api.ModePrint, api.StatusRunning),
		sess("f", api.ModeInteractive, api.StatusRunning)))
	for _, tc := range []struct {
		ev            api.Event
		summary, body string
	}{
		{activity("i", api.ActivityWaitingInput), "i is waiting for input", "Prompt: fix the tests\nClaude Code finished its turn. Click to attach."},
		{usage("i", 1.5, 1), "i's budget is spent", "$1.50 of its $1.00 budget used. Raise it with `clauderon budget i USD`."},
		{changed(exited("p", 0, &api.Result{Text: "the tests pass"})), "p finished", "the tests pass"},
		{changed(f), "f failed", "the engine is unreachable"},
	} {
		got := step(tc.ev)
		if len(got) != 1 || got[0].Summary != tc.summary || got[0].Body != tc.body {
			t.Errorf("after %s of %s: %+v, want summary %q body %q", tc.ev.Kind, tc.ev.Name, got, tc.summary, tc.body)
		}
	}
}

// TestCoalesce: a flapping agent gets at most one notification per
// window; the newest one held back shows when the window ends, only if it
// is still true, and different sessions or kinds do not hold each other.
func TestCoalesce(t *testing.T) {
	const window = 10 * time.Second
	t0 := time.Unix(1e9, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tr := newTracker(nil, window)
	tr.event(snapshot(sess("a", api.ModeInteractive, api.StatusRunning), sess("b", api.ModeInteractive, api.StatusRunning),
		sess("p", api.ModePrint, api.StatusRunning)), t0)
	var shown []string
	show := func(when float64, ns []note) {
		for _, n := range ns {
			shown = append(shown, fmt.Sprintf("%g:%s %s", when, n.Name, n.Kind))
		}
	}
	ev := func(when float64, e api.Event) { show(when, tr.event(e, at(when))) }
	due := func(when float64) { show(when, tr.due(at(when))) }

	ev(0, activity("a", api.ActivityWaitingInput)) // shown
	for i := 1; i <= 8; i++ {                      // flapping: held back
		ev(float64(i)-0.5, activity("a", api.ActivityWorking))
		ev(float64(i), activity("a", api.ActivityWaitingInput))
	}
	ev(8.5, activity("b", api.ActivityWaitingInput)) // another session: shown
	ev(8.6, usage("a", 2, 1))                        // another kind: shown
	if next, ok := tr.next(); !ok || !next.Equal(at(10)) {
		t.Errorf("next = %v %v, want the window's end, 10s", next.Sub(t0), ok)
	}
	due(9.9)
	due(10) // the held-back waiting shows
	due(11)
	ev(12, activity("a", api.ActivityWorking))
	ev(13, activity("a", api.ActivityWaitingInput)) // within 10s of the last: held
	ev(14, activity("a", api.ActivityWorking))      // no longer true: dropped
	if next, ok := tr.next(); ok {
		t.Errorf("next = %v after the held-back one stopped being true", next.Sub(t0))
	}
	due(30)
	ev(31, activity("a", api.ActivityWaitingInput)) // a window later: at once
	// A removed session's held-back notification is dropped.
	ev(32, activity("a", api.ActivityWorking))
	ev(33, activity("a", api.ActivityWaitingInput))
	ev(34, api.Event{Kind: api.EventRemoved, Name: "a"})
	due(60)

	want := "0:a waiting_for_input, 8.5:b waiting_for_input, 8.6:a budget_spent, 10:a waiting_for_input, 31:a waiting_for_input"
	if got := strings.Join(shown, ", "); got != want {
		t.Errorf("shown:\n%s\nwant:\n%s", got, want)
	}
}
