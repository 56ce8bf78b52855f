package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/workspace"
)

// makeWorkspace copies o.Workdir into dir for session o.Name, whose
// container runs as u.
func (m *Manager) makeWorkspace(ctx context.Context, o Options, u User, dir string, progress func(string)) (api.Workspace, error) {
	if err := os.MkdirAll(m.wsRoot(), 0o700); err != nil {
		return api.Workspace{}, fmt.Errorf("cannot create the workspaces directory: %w", err)
	}
	co := workspace.CreateOptions{
		Source: o.Workdir, Dir: dir, Branch: "clauderon/" + o.Name, From: o.From, Includes: o.Includes,
		MaxBytes: m.cfg.MaxCopyBytes, Chown: -1, Progress: progress,
		// Called before git reads anything of the repository but its
		// location: a workdir inside a repository brings the whole
		// repository, which must pass the guard too (a dotfiles repository
		// at the home directory would copy the home); and no container may
		// be able to write any of it, or the copy would read what it swaps
		// in and git would obey the config it plants there.
		CheckRepo: func(repo workspace.Repo) error {
			if repo.Top != o.Workdir {
				if _, err := m.guard.checkAs("the repository around the workdir,", pickProject, repo.Top); err != nil {
					return err
				}
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			dirs := repoDirs(repo)
			for _, d := range dirs {
				if err := m.checkReachLocked(&record{Session: Session{Name: o.Name}}, d); err != nil {
					return err
				}
			}
			m.copying[o.Name] = dirs
			return nil
		},
	}
	// The container's user must write the copy. The workspaces directory is
	// 0700, so a workspace open to every uid is still closed to other users.
	// Owning the files is enough whatever the user's group (workspace gives
	// the uid as group too).
	switch uid := os.Geteuid(); {
	case uid == 0:
		co.Chown = u.UID
	case uid != u.UID:
		co.WorldWritable = true
	}
	info, err := workspace.Create(ctx, co)
	if err != nil {
		return api.Workspace{}, wsErr(err)
	}
	return api.Workspace(info), nil
}

// wsErr turns a workspace error into one of ours, keeping its message.
func wsErr(err error) error {
	kind := error(nil)
	switch {
	case errors.Is(err, workspace.ErrInvalid), errors.Is(err, workspace.ErrTooBig):
		kind = ErrInvalid
	case errors.Is(err, workspace.ErrConflict):
		kind = ErrConflict
	case errors.Is(err, workspace.ErrNotGit), errors.Is(err, workspace.ErrCorrupt):
		kind = ErrState
	case errors.Is(err, workspace.ErrNoGit):
		kind = ErrUnavailable
	default:
		return err
	}
	return &kindError{kind: kind, msg: err.Error()}
}

// workspaceOf returns a session's workspace, or why it has none.
func (m *Manager) workspaceOf(name string) (workspace.Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.sessions[name]
	if !ok {
		return workspace.Info{}, notFound(name)
	}
	if r.Workspace == nil {
		why := "it was created with --no-workdir"
		if MountsAt(r.Mounts, ContainerWorkdir) {
			why = "its /workspace is a direct mount of a host directory, where its changes already are"
		}
		return workspace.Info{}, Errorf(ErrState, "session %q has no workspace: %s", name, why)
	}
	if what, ok := m.busy[name]; ok {
		return workspace.Info{}, Errorf(ErrState, "session %q is being %s; try again", name, what)
	}
	return workspace.Info(*r.Workspace), nil
}

// Diff is the work in a session's workspace since it started.
func (m *Manager) Diff(ctx context.Context, name string, o workspace.DiffOptions) (workspace.Diff, error) {
	if err := m.syncBack(ctx, name); err != nil {
		return workspace.Diff{}, err
	}
	w, err := m.workspaceOf(name)
	if err != nil {
		return workspace.Diff{}, err
	}
	m.mu.Lock()
	o.Cache = m.cacheLocked(name)
	m.mu.Unlock()
	l := m.wsLock(name)
	l.RLock()
	d, err := w.Diff(ctx, o)
	l.RUnlock()
	if err != nil {
		m.dropCacheIfChanged(name, err)
		return workspace.Diff{}, wsErr(err)
	}
	return d, nil
}

// Land makes a session's work a branch of the user's repository. A running
// session's work can change at any moment: o.Tree, the tree the user
// reviewed, is required then.
func (m *Manager) Land(ctx context.Context, name string, o workspace.LandOptions) (workspace.Mark, error) {
	return m.bringBack(ctx, name, "land", o.Tree, func(w workspace.Info) (workspace.Mark, error) { return w.Land(ctx, o) },
		func(w *api.Workspace, mk workspace.Mark) { w.Landed = &mk })
}

// Apply writes a session's work into the user's working tree, uncommitted;
// o.Tree as for Land.
func (m *Manager) Apply(ctx context.Context, name string, o workspace.ApplyOptions) (workspace.Mark, error) {
	return m.bringBack(ctx, name, "apply", o.Tree, func(w workspace.Info) (workspace.Mark, error) { return w.Apply(ctx, o) },
		func(w *api.Workspace, mk workspace.Mark) { w.Applied = &mk })
}

// bringBack runs land or apply (one at a time per manager: both write into
// the user's repository) and records what it brought back. tree is the
// work's tree the user reviewed ("" for none).
func (m *Manager) bringBack(ctx context.Context, name, verb, tree string, do func(workspace.Info) (workspace.Mark, error), record func(*api.Workspace, workspace.Mark)) (workspace.Mark, error) {
	// Brought back before landMu: a slow cluster holds up only this session.
	if err := m.syncBack(ctx, name); err != nil {
		return workspace.Mark{}, err
	}
	m.landMu.Lock()
	defer m.landMu.Unlock()
	l := m.wsLock(name)
	l.RLock()
	defer l.RUnlock()
	w, err := m.workspaceOf(name)
	if err != nil {
		return workspace.Mark{}, err
	}
	m.mu.Lock()
	r, ok := m.sessions[name]
	if !ok {
		m.mu.Unlock()
		return workspace.Mark{}, notFound(name)
	}
	if what, busy := m.busy[name]; busy {
		m.mu.Unlock()
		return workspace.Mark{}, Errorf(ErrState, "session %q is being %s; try again", name, what)
	}
	running := r.Status == StatusRunning || r.Status == StatusCreating
	// rm must not delete the workspace while it is read and brought back.
	m.busy[name] = verb + "ed"
	defer func() {
		m.mu.Lock()
		delete(m.busy, name)
		m.mu.Unlock()
	}()
	var other, dir string
	exposed := false
	for _, d := range repoDirs(workspace.Repo{Top: w.Source, GitDir: w.GitDir, CommonDir: w.CommonDir, ObjectsDir: w.ObjectsDir}) {
		if other, dir, exposed = m.writerOfLocked(d); exposed {
			break
		}
	}
	m.mu.Unlock()
	if exposed {
		return workspace.Mark{}, Errorf(ErrState, "cannot %s into %s: it overlaps %s, which session %q's container can write (--mount), so what is there cannot be trusted; remove that session first, or bring the work back by hand from `clauderon diff %s`", verb, w.Source, dir, other, name)
	}
	if running && tree == "" {
		return workspace.Mark{}, Errorf(ErrState, "session %q is running, so its work can change between your review and the %s; pass the tree `clauderon diff %s` shows (--tree) to %s exactly what you reviewed, or stop the session first (`clauderon stop %s`)", name, verb, name, verb, name)
	}
	mk, err := do(w)
	if err != nil {
		return workspace.Mark{}, wsErr(err)
	}
	m.mu.Lock()
	if r, ok := m.sessions[name]; ok && r.Workspace != nil {
		record(r.Workspace, mk)
		m.saveLocked(r)
	}
	delete(m.summaries, name)
	m.mu.Unlock()
	m.log.Info("session work brought back", "session", name, "how", verb, "tree", mk.Tree, "branch", mk.Branch)
	return mk, nil
}

// summaryTTL is how long a running session's change summary is reused: its
// container may change the workspace at any moment.
const summaryTTL = 3 * time.Second

// summaryWait is how long `list` waits for the summaries it asked for; past
// it, a summary still being computed shows the last one known (or "?").
const summaryWait = 2 * time.Second

// summary is one workspace's change summary, and the computation under way.
type summary struct {
	changes Changes
	at      time.Time
	status  Status
	done    chan struct{} // closed when the computation under way ends; nil when none
}

// WithChanges fills in each session's Changes: what its workspace holds that
// was never landed or applied. The workspaces are read in the background,
// all at once, and list waits for them at most summaryWait: a huge or hostile
// workspace slows only its own line.
func (m *Manager) WithChanges(ctx context.Context, ss []Session) []Session {
	wctx, cancel := context.WithTimeout(ctx, summaryWait)
	defer cancel()
	var waits []chan struct{}
	for _, s := range ss {
		if ch := m.refreshSummary(s); ch != nil {
			waits = append(waits, ch)
		}
	}
	for _, ch := range waits {
		select {
		case <-ch:
		case <-wctx.Done():
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range ss {
		if c, ok := m.summaries[ss[i].Name]; ok && !c.at.IsZero() {
			ch := c.changes
			ss[i].Changes = &ch
		} else if ss[i].Workspace != nil && ss[i].ContainerID != "" {
			ss[i].Changes = &Changes{Pending: true}
		}
	}
	return ss
}

// refreshSummary starts reading s's workspace unless a recent enough summary
// or a reading under way exists, and returns what to wait for (nil: nothing).
func (m *Manager) refreshSummary(s Session) chan struct{} {
	if s.Workspace == nil || s.ContainerID == "" {
		return nil
	}
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.summaries[s.Name]
	if !ok {
		c = &summary{}
		m.summaries[s.Name] = c
	}
	if c.done != nil {
		return c.done
	}
	if !c.at.IsZero() && c.status == s.Status && (s.Status.Terminal() || now.Sub(c.at) < summaryTTL) {
		return nil
	}
	done := make(chan struct{})
	c.done = done
	w, cache := workspace.Info(*s.Workspace), m.cacheLocked(s.Name)
	go func() {
		defer close(done)
		// Not the request's context: the reading goes on for the next list.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var out Changes
		l := m.wsLock(s.Name)
		l.RLock()
		sum, err := w.Summarize(ctx, cache)
		l.RUnlock()
		if err != nil {
			m.dropCacheIfChanged(s.Name, err)
			out.Error = err.Error()
		} else {
			out.Files, out.Unlanded, out.OtherRefs = sum.Files, sum.Unlanded, sum.OtherRefs
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if cur, ok := m.summaries[s.Name]; ok && cur == c {
			c.changes, c.at, c.status, c.done = out, m.cfg.Now(), s.Status, nil
		}
	}()
	return done
}

// dropCacheIfChanged forgets a session's cached hashes when a read found a
// file whose content no longer matches them (a change its stamps did not
// show), so the next read hashes everything again instead of failing.
func (m *Manager) dropCacheIfChanged(name string, err error) {
	if errors.Is(err, workspace.ErrCorrupt) {
		m.mu.Lock()
		delete(m.caches, name)
		m.mu.Unlock()
	}
}

// cacheLocked returns the hash cache of a session's workspace. Call with mu held.
func (m *Manager) cacheLocked(name string) *workspace.HashCache {
	c, ok := m.caches[name]
	if !ok {
		c = workspace.NewHashCache()
		m.caches[name] = c
	}
	return c
}

// checkUnlanded refuses to delete work that was never landed or applied.
func (m *Manager) checkUnlanded(ctx context.Context, r Session) error {
	if r.Workspace == nil || r.ContainerID == "" {
		return nil // no container ever ran in it: nothing but the user's own files
	}
	if err := m.syncBack(ctx, r.Name); err != nil {
		return Errorf(ErrUnlanded, "cannot tell whether session %q's workspace holds work that was never landed (%v); delete it anyway with `clauderon rm --discard %s`", r.Name, err, r.Name)
	}
	// No hash cache here, nor in land and apply: writes through a shared
	// mapping can change a file without its ctime until the kernel writes
	// the page back, and what is deleted or brought back must be what is there.
	l := m.wsLock(r.Name)
	l.RLock()
	sum, err := workspace.Info(*r.Workspace).Summarize(ctx, nil)
	l.RUnlock()
	if err != nil {
		return Errorf(ErrUnlanded, "cannot tell whether session %q's workspace holds work that was never landed (%v); look at it in %s, or delete it anyway with `clauderon rm --discard %s`", r.Name, err, r.Workspace.Dir, r.Name)
	}
	if !sum.Unlanded {
		return nil
	}
	what := fmt.Sprintf("%d changed file(s)", sum.Files)
	if len(sum.OtherRefs) > 0 {
		what += fmt.Sprintf(", and commits on %d other branch(es) or the stash (%q), which land does not bring back: look at them in %s", len(sum.OtherRefs), sum.OtherRefs[0], r.Workspace.Dir)
	}
	return Errorf(ErrUnlanded, "session %q holds work that was never landed or applied (%s); keep it with `clauderon land %s` (a branch in %s) or `clauderon apply %s` (into your working tree), see it with `clauderon diff %s`, or delete it anyway with `clauderon rm --discard %s`",
		r.Name, what, r.Name, r.Workspace.Source, r.Name, r.Name, r.Name)
}

// repoDirs are the directories of a repository that clauderon reads or that
// git obeys (its config, attributes, objects): no container may write them.
func repoDirs(r workspace.Repo) []string {
	var out []string
	for _, d := range []string{r.Top, r.GitDir, r.CommonDir, r.ObjectsDir} {
		if d != "" {
			out = append(out, d)
		}
	}
	return out
}

// removeWorkspace deletes a session's workspace directory.
func removeWorkspace(w *api.Workspace) error { return workspace.Info(*w).Remove() }
