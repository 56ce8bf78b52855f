package session

import (
	"encoding/json"
	"errors"
	"regexp"
	"sync"
	"time"

	"github.com/clauderon/clauderon/api"
)

// A session's activity is what its agent is doing. Claude Code's hooks in
// the container report it (hooks.go configures them; `clauderon hook`
// sends each event to http://clauderon.internal/hook through the session's
// own proxy credential), and the manager keeps the latest, in memory and in
// the session's activity file, so a daemon that restarts still shows who
// waits for input. It is dropped whenever the session's status changes,
// and a session whose hooks never reported shows what the engine says, as
// unknown.

// ErrRateLimited: a session reports its hooks faster than it may.
var ErrRateLimited = errors.New("too many requests")

// Hook reports are counted in a bucket per session: hookBurst at once, and
// hookRate a second after that. Claude Code sends two per tool call.
const (
	hookBurst = 64
	hookRate  = 32
)

var (
	toolNameRE     = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)
	notificationRE = regexp.MustCompile(`^[a-z_]{1,64}$`)
)

// activity is one session's reported state, and its rate bucket.
type activity struct {
	state  api.ActivityState
	tool   string
	since  time.Time
	known  bool // some hook reported
	tokens float64
	filled time.Time
}

// ReportHook records a hook event from session name's container. The
// container is hostile: every field is checked, and nothing but the state,
// a checked tool name and the time is kept.
func (m *Manager) ReportHook(name string, h api.HookReport) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.sessions[name]
	if !ok {
		return notFound(name)
	}
	if r.Status != StatusRunning {
		return Errorf(ErrState, "session %s is not running", name)
	}
	if m.activity == nil {
		m.activity = map[string]*activity{}
	}
	a := m.activity[name]
	now := m.cfg.Now()
	if a == nil {
		a = &activity{tokens: hookBurst, filled: now}
		m.activity[name] = a
	}
	a.tokens = min(hookBurst, a.tokens+now.Sub(a.filled).Seconds()*hookRate)
	a.filled = now
	if a.tokens < 1 {
		return ErrRateLimited
	}
	a.tokens--
	state, tool, err := hookState(h)
	if err != nil {
		return err
	}
	if state == "" {
		return nil // an event that changes nothing
	}
	if a.known && a.state == state && a.tool == tool {
		return nil
	}
	a.state, a.tool, a.since, a.known = state, tool, now, true
	m.acts.queue(name, &savedActivity{State: state, Tool: tool, Since: now, Run: r.StartedAt})
	m.publishActivityLocked(r)
	m.notify()
	return nil
}

// hookState checks a report and returns the state it puts the agent in
// ("" for none).
func hookState(h api.HookReport) (api.ActivityState, string, error) {
	if h.Tool != "" && !toolNameRE.MatchString(h.Tool) {
		return "", "", Errorf(ErrInvalid, "a tool name is 1 to %d characters of A-Z a-z 0-9 _ . : -", api.MaxToolName)
	}
	if h.Notification != "" && !notificationRE.MatchString(h.Notification) {
		return "", "", Errorf(ErrInvalid, "a notification type is 1 to 64 characters of a-z _")
	}
	switch h.Event {
	case api.HookSessionStart:
		return api.ActivityIdle, "", nil
	case api.HookUserPromptSubmit, api.HookPostToolUse:
		return api.ActivityWorking, "", nil
	case api.HookPreToolUse:
		return api.ActivityWorking, h.Tool, nil
	case api.HookStop:
		return api.ActivityWaitingInput, "", nil
	case api.HookNotification:
		switch h.Notification {
		case "permission_prompt":
			return api.ActivityWaitingPerm, "", nil
		case "idle_prompt":
			return api.ActivityIdle, "", nil
		}
		return "", "", nil
	}
	return "", "", Errorf(ErrInvalid, "unknown hook event")
}

// activityLocked is r's activity as shown: the hooks' latest while it runs,
// or its lifecycle's. Call with mu held.
func (m *Manager) activityLocked(r *record) *api.Activity {
	switch r.Status {
	case StatusCreating:
		return &api.Activity{State: api.ActivityStarting, Since: r.CreatedAt, Known: true, Source: api.ActivityFromEngine}
	case StatusRunning:
		if a := m.activity[r.Name]; a != nil && a.known {
			return &api.Activity{State: a.state, Tool: a.tool, Since: a.since, Known: true, Source: api.ActivityFromHooks}
		}
		return &api.Activity{State: api.ActivityRunning, Since: r.StartedAt, Source: api.ActivityFromEngine}
	}
	since := r.FinishedAt
	if since.IsZero() {
		since = r.UpdatedAt
	}
	return &api.Activity{State: api.ActivityState(r.Status), Since: since, Known: true, Source: api.ActivityFromEngine}
}

// resetActivityLocked forgets what name's hooks reported, once its
// status changed: a new run reports afresh. Call with mu held.
func (m *Manager) resetActivityLocked(r *record) {
	if r.Status != StatusRunning {
		delete(m.activity, r.Name)
		m.acts.queue(r.Name, nil)
	}
}

// savedActivity is the activity file: the hooks' latest state, and the
// start of the run that reported it, so a file left from an earlier run
// (the container restarted while the daemon was down) is not believed.
type savedActivity struct {
	State api.ActivityState `json:"state"`
	Tool  string            `json:"tool,omitempty"`
	Since time.Time         `json:"since"`
	Run   time.Time         `json:"run_started_at"`
}

// loadActivityLocked restores what r's hooks reported before the daemon
// restarted, if it is of r's current run. Call with mu held.
func (m *Manager) loadActivityLocked(r *record) {
	a, ok := m.st.loadActivity(r.Name)
	if !ok || r.Status != StatusRunning || !a.Run.Equal(r.StartedAt) {
		return
	}
	if a.Tool != "" && !toolNameRE.MatchString(a.Tool) {
		return // this daemon wrote it checked: one that fails is damaged
	}
	switch a.State {
	case api.ActivityIdle, api.ActivityWorking, api.ActivityWaitingInput, api.ActivityWaitingPerm:
	default:
		return
	}
	if m.activity == nil {
		m.activity = map[string]*activity{}
	}
	now := m.cfg.Now()
	m.activity[r.Name] = &activity{state: a.State, tool: a.Tool, since: a.Since, known: true, tokens: hookBurst, filled: now}
}

// publishActivityLocked sends r's activity to the event stream, as the
// status changes go (saveLocked). Call with mu held.
func (m *Manager) publishActivityLocked(r *record) {
	b, err := json.Marshal(m.activityLocked(r))
	if err != nil {
		return
	}
	m.events.publish(Event{Kind: EventActivity, Name: r.Name, Activity: b})
}

// activityWriter saves activity files behind ReportHook, never under the
// manager's lock (which every proxy request's budget check takes): the
// latest state of each session is written, or its file removed (nil), and
// states that pile up while it writes are written once.
type activityWriter struct {
	st      store
	log     func(name string, err error)
	mu      sync.Mutex
	pending map[string]*savedActivity
	writing bool
	idle    *sync.Cond
}

func newActivityWriter(st store, log func(string, error)) *activityWriter {
	w := &activityWriter{st: st, log: log, pending: map[string]*savedActivity{}}
	w.idle = sync.NewCond(&w.mu)
	return w
}

func (w *activityWriter) queue(name string, a *savedActivity) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending[name] = a
	if !w.writing {
		w.writing = true
		go w.run()
	}
}

func (w *activityWriter) run() {
	w.mu.Lock()
	for len(w.pending) > 0 {
		batch := w.pending
		w.pending = map[string]*savedActivity{}
		w.mu.Unlock()
		for name, a := range batch {
			if a == nil {
				w.st.removeActivity(name)
			} else if err := w.st.saveActivity(name, *a); err != nil {
				w.log(name, err)
			}
		}
		w.mu.Lock()
	}
	w.writing = false
	w.idle.Broadcast()
	w.mu.Unlock()
}

// forget drops what is queued for name and waits for a write under way,
// so that its directory can be removed.
func (w *activityWriter) forget(name string) {
	w.mu.Lock()
	delete(w.pending, name)
	w.mu.Unlock()
	w.flush()
}

// flush waits until every state queued so far is written.
func (w *activityWriter) flush() {
	w.mu.Lock()
	for w.writing {
		w.idle.Wait()
	}
	w.mu.Unlock()
}
