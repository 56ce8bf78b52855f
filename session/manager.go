package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/workspace"
)

// Authorizer is the proxy's table of per-session credentials.
type Authorizer interface {
	Set(name string, s Secret)
	Delete(name string)
}

// Config wires a Manager. Logger and Now default to slog.Default and time.Now.
type Config struct {
	Home      string
	Backend   backend.Backend
	Auth      Authorizer
	Container ContainerConfig
	Logger    *slog.Logger
	Now       func() time.Time
	// StopTimeout is how long Stop lets Claude Code exit before killing it.
	StopTimeout time.Duration
	// UserHome is the user's home directory, which a workdir may neither be
	// nor contain; os.UserHomeDir() when empty.
	UserHome string
	// EngineSockets are the engine's unix sockets, which a workdir may not
	// contain; DefaultEngineSockets() when nil.
	EngineSockets []string
	// ProxyServes reports whether the proxy listens on a port, so a live
	// session whose container names a port it does not gets a Warning; nil
	// means it listens on every one.
	ProxyServes func(port int) bool
	// MaxCopyBytes bounds the copy of a workdir that is not a git repository;
	// workspace.DefaultMaxBytes when 0.
	MaxCopyBytes int64
	// Egress is config.json's egress section.
	Egress EgressConfig
	// MaxDepth is how deep sessions may nest (DefaultMaxDepth when 0,
	// none when negative).
	MaxDepth int
	// Prices override and add to DefaultPrices (config.json's prices).
	Prices Prices
	// DailyBudgetUSD caps a day's cost across sessions; 0 for none.
	DailyBudgetUSD float64
	// Kubernetes, when set, runs the sessions created with backend
	// kubernetes on a cluster; DefaultBackend is a create's backend when it
	// names none ("" or docker: Backend).
	Kubernetes     *KubeConfig
	DefaultBackend string
}

// Manager owns every session of one CLAUDERON_HOME.
type Manager struct {
	cfg    Config
	st     store
	key    []byte
	homeID string
	guard  mountGuard
	log    *slog.Logger

	mu       sync.Mutex
	sessions map[string]*record
	busy     map[string]string   // name → what is in progress ("creating", "removing")
	copying  map[string][]string // name → the directories its workspace is being copied from (workdir, repository, git directory)
	// summaries are the workspaces' change summaries last computed for list;
	// caches their hashes of unchanged files, so a summary reads only what
	// changed.
	summaries map[string]*summary
	caches    map[string]*workspace.HashCache
	// landMu lets one land or apply write into users' repositories at a time.
	landMu sync.Mutex
	// wsLocks are each workspace's: bringing a cluster session's back
	// (kubews.go) writes it, reading it (diff, land, apply, summaries) reads.
	wsLocks map[string]*sync.RWMutex
	// tombMu orders writes of removedFile (backends.go).
	tombMu sync.Mutex
	// denials are each session's latest tunnels refused by its egress policy.
	denials map[string][]Denial
	// usage is every session's Messages usage and budget (usage.go).
	usage   *ledger
	orphans map[string][]Orphan // by backend
	// pending counts each parent's children being created.
	pending map[string]int
	changed chan struct{} // closed and replaced on every change
	// activity is what each running session's hooks reported (activity.go).
	activity map[string]*activity
	acts     *activityWriter
	// usagePub orders usage events (usageChanged).
	usagePub sync.Mutex
	// events is the stream of changes (events.go); announced holds the
	// sessions a created event was published for.
	events    feed
	announced map[string]bool

	// Reconcile lists the engine's containers without the lock, so what
	// Create and Remove finish meanwhile must not be undone by what that
	// list shows. epoch counts those events; a record created at epoch e
	// has born = e, and a name removed while a Reconcile is in flight gets
	// a tombstone tombs[name] = e. Reconcile ignores both when e is later
	// than its list.
	epoch       uint64
	reconciling int
	tombs       map[string]uint64
	// reach is which backends the last reconcile could not reach.
	reach reach
}

// Open loads the persisted sessions and registers their proxy credentials.
// Call Reconcile next, so the first answers already reflect the engine, then
// Run, which reconciles again once subscribed to events to catch what
// changed in between.
func Open(cfg Config) (*Manager, error) {
	if cfg.Home == "" || cfg.Backend == nil || cfg.Auth == nil {
		return nil, errors.New("session: Config needs Home, Backend and Auth")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.UserHome == "" {
		cfg.UserHome, _ = os.UserHomeDir()
	}
	if cfg.EngineSockets == nil {
		cfg.EngineSockets = DefaultEngineSockets()
	}
	key, err := loadOrCreateKey(cfg.Home)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg: cfg, st: store{dir: filepath.Join(cfg.Home, "sessions")}, key: key,
		homeID: HomeID(cfg.Home), log: cfg.Logger, guard: newMountGuard(cfg.Home, cfg.UserHome, cfg.EngineSockets),
		sessions: map[string]*record{}, busy: map[string]string{}, copying: map[string][]string{}, caches: map[string]*workspace.HashCache{}, summaries: map[string]*summary{}, changed: make(chan struct{}),
		tombs: map[string]uint64{}, pending: map[string]int{}, orphans: map[string][]Orphan{}, wsLocks: map[string]*sync.RWMutex{},
		events: feed{subs: map[*Subscription]struct{}{}, now: cfg.Now}, announced: map[string]bool{},
	}
	prices := Prices{}
	for k, v := range DefaultPrices {
		prices[k] = v
	}
	for k, v := range cfg.Prices {
		prices[k] = v
	}
	m.acts = newActivityWriter(m.st, func(name string, err error) { m.log.Warn("cannot save activity", "session", name, "err", err) })
	m.usage = newLedger(m.st.sessionDir, cfg.Home, prices, cfg.DailyBudgetUSD, cfg.Now,
		func(err error) { m.log.Error("cannot save usage", "err", err) })
	recs, errs := m.st.load()
	for _, err := range errs {
		m.log.Warn("session state not loaded", "err", err)
	}
	for i := range recs {
		r := recs[i]
		m.sessions[r.Name] = &r
		m.announced[r.Name] = true // in every snapshot from the start
		m.authorizeLocked(&r)
		m.loadActivityLocked(&r)
	}
	return m, nil
}

// HomeLabels selects the containers of this manager's home.
func (m *Manager) HomeLabels() map[string]string {
	return map[string]string{LabelManaged: "1", LabelHome: m.homeID}
}

func (m *Manager) secret(r *record) Secret { return deriveSecret(m.key, r.Name, r.Nonce) }

// notify wakes every Wait. Call with mu held.
func (m *Manager) notify() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// forgetLocked drops a session from memory once its container is gone,
// leaving a tombstone for the reconciles in flight. Call with mu held.
func (m *Manager) forgetLocked(name string) {
	m.publishRemovedLocked(name, m.sessions[name])
	delete(m.sessions, name)
	delete(m.activity, name)
	m.epoch++
	if m.reconciling > 0 {
		m.tombs[name] = m.epoch
	}
	m.notify()
}

// saveLocked persists r, and makes its proxy credential follow its status.
// Call with mu held.
func (m *Manager) saveLocked(r *record) {
	r.UpdatedAt = m.cfg.Now()
	if err := m.st.save(*r); err != nil {
		m.log.Error("cannot save session state", "session", r.Name, "err", err)
	}
	m.resetActivityLocked(r)
	m.authorizeLocked(r)
	m.publishSessionLocked(r)
	m.notify()
}

// reauthorize gives a session whose removal failed back the credential its
// status allows.
func (m *Manager) reauthorize(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.sessions[name]; ok {
		m.authorizeLocked(r)
	}
}

// authorizeLocked accepts a session's proxy credential only while its
// container may run: a stopped, exited or vanished container's credential
// is suspended (its open tunnels cut), and back once the container runs
// again. Call with mu held; the proxy's table has its own lock and never
// calls back.
func (m *Manager) authorizeLocked(r *record) {
	if gw := m.cfg.Container.Gateway; r.Gateway && gw != nil {
		// Idempotent: the socket is listened on from the first save on,
		// and again after a daemon restart.
		if _, err := gw.Open(r.Name); err != nil {
			m.log.Error("the session's container cannot reach the proxy", "session", r.Name, "err", err)
		}
	}
	if r.Status == StatusCreating || r.Status == StatusRunning {
		m.cfg.Auth.Set(r.Name, m.secret(r))
	} else {
		m.cfg.Auth.Delete(r.Name)
	}
}

// Get returns one session.
func (m *Manager) Get(name string) (Session, error) {
	m.mu.Lock()
	r, ok := m.sessions[name]
	var s Session
	if ok {
		s = r.Session
		s.Activity = m.activityLocked(r)
	}
	m.mu.Unlock()
	if !ok {
		return Session{}, notFound(name)
	}
	return m.annotate(s), nil
}

// List returns every session, by name.
func (m *Manager) List() []Session {
	m.mu.Lock()
	out := make([]Session, 0, len(m.sessions))
	for _, r := range m.sessions {
		s := r.Session
		s.Activity = m.activityLocked(r)
		out = append(out, s)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := range out {
		out[i] = m.annotate(out[i])
	}
	return out
}

// annotate sets s.Warning. Call without mu: ProxyServes may take its own lock.
func (m *Manager) annotate(s Session) Session {
	s.Usage = m.usage.usage(s.Name)
	live := s.Status == StatusRunning || s.Status == StatusCreating
	if why := m.reach.get(s.Backend); why != "" && live {
		s.Status = api.StatusUnknown
		s.Warning = "its engine cannot be reached, so its state is unknown (the session is kept): " + why
		return s
	}
	if live && s.ProxyPort != 0 && m.cfg.ProxyServes != nil && !m.cfg.ProxyServes(s.ProxyPort) {
		s.Warning = fmt.Sprintf("the proxy does not listen on port %d, which this container uses (is another program on it?); free the port (the daemon retries), or remove and recreate the session", s.ProxyPort)
	}
	return s
}

// ProxyPorts are the ports live sessions' containers reach the proxy on,
// which the daemon keeps listening on even when it was restarted on another.
func (m *Manager) ProxyPorts() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[int]bool{}
	var out []int
	for _, r := range m.sessions {
		if (r.Status == StatusRunning || r.Status == StatusCreating) && r.ProxyPort != 0 && !seen[r.ProxyPort] {
			seen[r.ProxyPort] = true
			out = append(out, r.ProxyPort)
		}
	}
	sort.Ints(out)
	return out
}

// Changed is closed at the next change of any session.
func (m *Manager) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// Orphans returns the containers found at the last reconcile that could not
// be rebuilt into sessions.
func (m *Manager) Orphans() []Orphan {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Orphan
	for _, kind := range backendNames(m.engines()) {
		out = append(out, m.orphans[kind]...)
	}
	return out
}

// Wait blocks until the session is exited, failed or deleted, or ctx ends.
func (m *Manager) Wait(ctx context.Context, name string) (Session, error) {
	for {
		m.mu.Lock()
		r, ok := m.sessions[name]
		ch := m.changed
		var s Session
		if ok {
			s = r.Session
			s.Activity = m.activityLocked(r)
		}
		m.mu.Unlock()
		if !ok {
			return Session{Name: name, Status: StatusDeleted}, nil
		}
		if s.Status.Terminal() {
			return s, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}
}

func notFound(name string) error {
	return Errorf(ErrNotFound, "no session named %q (see `clauderon list`)", name)
}

// engineErr turns a backend error into one of ours, keeping the detail.
func engineErr(what string, err error) error {
	switch {
	case errors.Is(err, backend.ErrEngineUnreachable):
		return Errorf(ErrEngine, "%s: %v", what, err)
	case errors.Is(err, backend.ErrImageNotFound):
		return Errorf(ErrImage, "%s: %v", what, err)
	case errors.Is(err, backend.ErrNotFound):
		return Errorf(ErrNotFound, "%s: %v", what, err)
	case errors.Is(err, backend.ErrConflict):
		return Errorf(ErrExists, "%s: %v", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Logs returns the container's output; with follow, until it exits or ctx ends.
func (m *Manager) Logs(ctx context.Context, name string, follow bool) (io.ReadCloser, error) {
	id, s, err := m.container(name)
	if err != nil {
		return nil, err
	}
	rc, err := m.beOf(s).Logs(ctx, id, follow)
	if err != nil {
		return nil, engineErr("reading logs", err)
	}
	return rc, nil
}

// Attach connects to an interactive session's TTY.
func (m *Manager) Attach(ctx context.Context, name string) (backend.Stream, error) {
	id, s, err := m.container(name)
	if err != nil {
		return nil, err
	}
	if s.Mode != ModeInteractive {
		return nil, Errorf(ErrState, "session %q runs in print mode; read its output with `clauderon logs %s`", name, name)
	}
	if s.Status != StatusRunning {
		return nil, Errorf(ErrState, "session %q is %s, not running", name, s.Status)
	}
	st, err := m.beOf(s).Attach(ctx, id)
	if err != nil {
		return nil, engineErr("attaching", err)
	}
	return st, nil
}

// Resize sets an interactive session's terminal size.
func (m *Manager) Resize(ctx context.Context, name string, rows, cols uint) error {
	if rows == 0 || cols == 0 || rows > 10000 || cols > 10000 {
		return Errorf(ErrInvalid, "terminal size %dx%d is not valid", cols, rows)
	}
	id, s, err := m.container(name)
	if err != nil {
		return err
	}
	if s.Mode != ModeInteractive {
		return Errorf(ErrState, "session %q has no terminal (print mode)", name)
	}
	if err := m.beOf(s).Resize(ctx, id, rows, cols); err != nil {
		return engineErr("resizing", err)
	}
	return nil
}

func (m *Manager) container(name string) (string, Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.sessions[name]
	if !ok {
		return "", Session{}, notFound(name)
	}
	if r.ContainerID == "" {
		return "", r.Session, Errorf(ErrState, "session %q has no container (%s)", name, r.Status)
	}
	return r.ContainerID, r.Session, nil
}

// claudeJSON is a new session's Claude Code configuration. The container is
// the sandbox the user chose, so the first-run questions a person would
// click through — onboarding, trusting the workdir, accepting
// --dangerously-skip-permissions — are answered, and a session (or an agent
// that started it over MCP) gets straight to its prompt.
//
// A session that may spawn children is given clauderon's MCP server at the
// proxy's reserved name: no token, since the proxy knows the caller by its
// socket and credential.
func claudeJSON(workdir string, spawn bool) []byte {
	trusted := map[string]any{"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true}
	projects := map[string]any{ContainerWorkdir: trusted, workdir: trusted}
	cfg := map[string]any{
		"hasCompletedOnboarding":        true,
		"bypassPermissionsModeAccepted": true,
		"projects":                      projects,
	}
	if spawn {
		cfg["mcpServers"] = map[string]any{
			"clauderon": map[string]any{"type": "http", "url": InternalMCPURL},
		}
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	return append(b, '\n')
}

// writeClaudeJSON gives a session its own writable Claude Code settings file.
// The container's user u must be able to write it; the directory around it
// is 0700, so the file's own mode does not expose it.
func writeClaudeJSON(dir, workdir string, u User, spawn bool) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	p := filepath.Join(dir, "claude.json")
	if err := os.WriteFile(p, claudeJSON(workdir, spawn), 0o600); err != nil {
		return "", err
	}
	mode := os.FileMode(0o666)
	if os.Chown(p, u.UID, u.GID) == nil {
		mode = 0o644
	}
	return p, os.Chmod(p, mode)
}

// wsRoot is the directory of this home's workspaces.
func (m *Manager) wsRoot() string { return filepath.Join(m.cfg.Home, "workspaces") }

// ProxyClass is the class of proxy listener session name is served on
// (proxy.Config.Class): "kubernetes" for a session on the cluster, whose
// credential is good only through the cluster's tunnel; "" otherwise.
func (m *Manager) ProxyClass(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.sessions[name]; ok && r.Backend == api.BackendKubernetes {
		return api.BackendKubernetes
	}
	return ""
}

// GatewayOnly reports whether session name's container reaches the proxy
// only through its gateway socket, so its credential is good nowhere else.
func (m *Manager) GatewayOnly(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.sessions[name]
	return ok && r.Gateway
}
