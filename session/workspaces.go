package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/clauderon/clauderon/workspace"
)

// ContainerUID is the uid a session's container runs as (the agent image's
// user `claude`), which must be able to write its workspace.
const ContainerUID = 1000

// makeWorkspace copies o.Workdir into dir for session o.Name.
func (m *Manager) makeWorkspace(ctx context.Context, o Options, dir string, progress func(string)) (workspace.Info, error) {
	if err := os.MkdirAll(m.wsRoot(), 0o700); err != nil {
		return workspace.Info{}, fmt.Errorf("cannot create the workspaces directory: %w", err)
	}
	co := workspace.CreateOptions{
		Source: o.Workdir, Dir: dir, Branch: "clauderon/" + o.Name, From: o.From, Includes: o.Includes,
		MaxBytes: m.cfg.MaxCopyBytes, Chown: -1, Progress: progress,
		// A workdir inside a repository brings the whole repository: that
		// top must pass the same guard (a dotfiles repository at the home
		// directory would copy the home).
		CheckTop: func(top string) error {
			if _, err := m.guard.checkAs("the repository around the workdir,", pickProject, top); err != nil {
				return err
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.checkReachLocked(&record{Session: Session{Name: o.Name}}, top)
		},
	}
	// The container's user must write the copy. The workspaces directory is
	// 0700, so a workspace open to every uid is still closed to other users.
	switch uid := os.Geteuid(); {
	case uid == 0:
		co.Chown = ContainerUID
	case uid != ContainerUID:
		co.WorldWritable = true
	}
	info, err := workspace.Create(ctx, co)
	if err != nil {
		return workspace.Info{}, wsErr(err)
	}
	return info, nil
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
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	default:
		return err
	}
	// The workspace's messages start with its sentinel ("conflict: …");
	// ours are only the text.
	msg := err.Error()
	for _, e := range []error{workspace.ErrInvalid, workspace.ErrTooBig, workspace.ErrConflict, workspace.ErrNotGit, workspace.ErrCorrupt} {
		msg = strings.TrimPrefix(msg, e.Error()+": ")
	}
	return &kindError{kind: kind, msg: msg}
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
		if mountsAt(r.Mounts, ContainerWorkdir) {
			why = "its /workspace is a direct mount of a host directory, where its changes already are"
		}
		return workspace.Info{}, Errorf(ErrState, "session %q has no workspace: %s", name, why)
	}
	if what, ok := m.busy[name]; ok {
		return workspace.Info{}, Errorf(ErrState, "session %q is being %s; try again", name, what)
	}
	return *r.Workspace, nil
}

// Diff is the work in a session's workspace since it started.
func (m *Manager) Diff(ctx context.Context, name string, o workspace.DiffOptions) (workspace.Diff, error) {
	w, err := m.workspaceOf(name)
	if err != nil {
		return workspace.Diff{}, err
	}
	d, err := w.Diff(ctx, o)
	if err != nil {
		return workspace.Diff{}, wsErr(err)
	}
	return d, nil
}

// Land makes a session's work a branch of the user's repository.
func (m *Manager) Land(ctx context.Context, name string, o workspace.LandOptions) (workspace.Mark, error) {
	return m.bringBack(ctx, name, "land", func(w workspace.Info) (workspace.Mark, error) { return w.Land(ctx, o) },
		func(w *workspace.Info, mk workspace.Mark) { w.Landed = &mk })
}

// Apply writes a session's work into the user's working tree, uncommitted.
func (m *Manager) Apply(ctx context.Context, name string) (workspace.Mark, error) {
	return m.bringBack(ctx, name, "apply", func(w workspace.Info) (workspace.Mark, error) { return w.Apply(ctx) },
		func(w *workspace.Info, mk workspace.Mark) { w.Applied = &mk })
}

// bringBack runs land or apply (one at a time per manager: both write into
// the user's repository) and records what it brought back.
func (m *Manager) bringBack(ctx context.Context, name, verb string, do func(workspace.Info) (workspace.Mark, error), record func(*workspace.Info, workspace.Mark)) (workspace.Mark, error) {
	m.landMu.Lock()
	defer m.landMu.Unlock()
	w, err := m.workspaceOf(name)
	if err != nil {
		return workspace.Mark{}, err
	}
	m.mu.Lock()
	other, dir, exposed := m.writerOfLocked(w.Source)
	m.mu.Unlock()
	if exposed {
		return workspace.Mark{}, Errorf(ErrState, "cannot %s into %s: it overlaps %s, which session %q's container can write (--mount), so what is there cannot be trusted; remove that session first, or bring the work back by hand from `clauderon diff %s`", verb, w.Source, dir, other, name)
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
// container may change the workspace at any moment, and reading a large one
// costs a scan of every file.
const summaryTTL = 3 * time.Second

type summary struct {
	changes Changes
	at      time.Time
	status  Status
}

// changes returns the change summary of a session's workspace for `list`,
// reusing a recent one. A stopped session's workspace changes only through
// clauderon, so its summary is kept until then.
func (m *Manager) changes(ctx context.Context, s Session) *Changes {
	if s.Workspace == nil || s.ContainerID == "" {
		return nil
	}
	now := m.cfg.Now()
	m.mu.Lock()
	c, ok := m.summaries[s.Name]
	m.mu.Unlock()
	if ok && c.status == s.Status && (s.Status.Terminal() || now.Sub(c.at) < summaryTTL) {
		return &c.changes
	}
	var out Changes
	sum, err := s.Workspace.Summarize(ctx)
	if err != nil {
		out.Error = err.Error()
	} else {
		out.Files, out.Unlanded = sum.Files, sum.Unlanded
	}
	m.mu.Lock()
	m.summaries[s.Name] = summary{changes: out, at: now, status: s.Status}
	m.mu.Unlock()
	return &out
}

// checkUnlanded refuses to delete work that was never landed or applied.
func (m *Manager) checkUnlanded(ctx context.Context, r Session) error {
	if r.Workspace == nil || r.ContainerID == "" {
		return nil // no container ever ran in it: nothing but the user's own files
	}
	sum, err := r.Workspace.Summarize(ctx)
	if err != nil {
		return Errorf(ErrUnlanded, "cannot tell whether session %q's workspace holds work that was never landed (%v); look at it in %s, or delete it anyway with `clauderon rm --discard %s`", r.Name, err, r.Workspace.Dir, r.Name)
	}
	if sum.Unlanded {
		return Errorf(ErrUnlanded, "session %q holds work that was never landed or applied (%d changed file(s)); keep it with `clauderon land %s` (a branch in %s) or `clauderon apply %s` (into your working tree), see it with `clauderon diff %s`, or delete it anyway with `clauderon rm --discard %s`",
			r.Name, sum.Files, r.Name, r.Workspace.Source, r.Name, r.Name, r.Name)
	}
	return nil
}
