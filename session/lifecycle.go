package session

import (
	"context"
	"errors"
	"fmt"
	"github.com/clauderon/clauderon/api"
	"os"
	"path/filepath"
	"strings"

	"github.com/clauderon/clauderon/backend"
)

// Create validates o, makes its workspace, starts the session's container
// and returns the session. On any error nothing is left behind: no
// container, no workspace, no state.
func (m *Manager) Create(ctx context.Context, o Options) (Session, error) {
	return m.CreateWithProgress(ctx, o, nil)
}

// CreateWithProgress is Create, telling progress (when not nil) what it does
// on the way: long work such as copying a large project shows.
func (m *Manager) CreateWithProgress(ctx context.Context, o Options, progress func(string)) (Session, error) {
	if progress == nil {
		progress = func(string) {}
	}
	if o.Parent == "" {
		if err := m.checkSpawnOptions(o, 0); err != nil {
			return Session{}, err
		}
		return m.create(ctx, o, progress, 0, Limits{})
	}
	// A child: its parent's caps are checked, and one of its spawns
	// reserved, before anything is made.
	m.mu.Lock()
	o, pl, err := m.childLocked(o.Parent, o)
	depth := 0
	if err == nil {
		depth = m.sessions[o.Parent].Depth + 1
	}
	m.mu.Unlock()
	if err != nil {
		return Session{}, err
	}
	s, err := m.create(ctx, o, progress, depth, pl)
	m.mu.Lock()
	if err != nil {
		m.unspawnLocked(o.Parent)
	} else if m.pending[o.Parent]--; m.pending[o.Parent] <= 0 {
		delete(m.pending, o.Parent)
	}
	m.mu.Unlock()
	return s, err
}

// create makes a session at depth; a child's limits are clamped to its
// parent's, pl.
func (m *Manager) create(ctx context.Context, o Options, progress func(string), depth int, pl Limits) (Session, error) {
	o, err := normalize(o, m.guard)
	if err != nil {
		return Session{}, err
	}
	if o.Egress, err = normalizeEgress(o.Egress, m.cfg.Egress.Default); err != nil {
		return Session{}, err
	}
	m.mu.Lock()
	if _, ok := m.sessions[o.Name]; ok {
		m.mu.Unlock()
		return Session{}, Errorf(ErrExists, "a session named %q already exists; pick another name or remove it with `clauderon rm %s`", o.Name, o.Name)
	}
	if what, ok := m.busy[o.Name]; ok {
		m.mu.Unlock()
		return Session{}, Errorf(ErrExists, "session %q is already being %s", o.Name, what)
	}
	if err := m.checkReachLocked(&record{Session: Session{Name: o.Name, Mounts: o.Mounts}}, o.Workdir); err != nil {
		m.mu.Unlock()
		return Session{}, err
	}
	m.busy[o.Name] = "created"
	if o.Workdir != "" {
		m.copying[o.Name] = []string{o.Workdir}
	}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.busy, o.Name)
		delete(m.copying, o.Name)
		m.mu.Unlock()
	}()

	kind, be, err := m.chooseBackend(o.Backend)
	if err != nil {
		return Session{}, err
	}
	if kind == api.BackendKubernetes {
		if err := kubeRefuses(o); err != nil {
			return Session{}, err
		}
	}
	progress("checking the image " + o.Image)
	if err := be.Ping(ctx); err != nil {
		return Session{}, engineErr("cannot reach the container engine", err)
	}
	ok, err := be.ImageExists(ctx, o.Image)
	if err != nil {
		return Session{}, engineErr("checking the image", err)
	}
	if !ok {
		return Session{}, Errorf(ErrImage, "image %s is not present in the engine; build it with `clauderon image build` (or pull it with `clauderon image pull %s`)", o.Image, o.Image)
	}
	u, err := m.runAs(ctx, be, o)
	if err != nil {
		return Session{}, err
	}
	cname := ContainerName(o.Name)
	if c, err := be.Inspect(ctx, cname); err == nil {
		return Session{}, Errorf(ErrExists, "a container named %s already exists (id %.12s) and is not a session of this clauderon home; remove it with `docker rm -f %s` or pick another name", cname, c.ID, cname)
	} else if !errors.Is(err, backend.ErrNotFound) {
		return Session{}, engineErr("checking the container name", err)
	}

	now := m.cfg.Now()
	r := &record{Nonce: newNonce()}
	r.Session = Session{
		Name: o.Name, Status: StatusCreating, Mode: o.Mode, Prompt: o.Prompt, PromptSHA256: promptHash(o.Prompt),
		Image: o.Image, Workdir: o.Workdir, CreatedAt: now, Container: cname, ProxyPort: m.cfg.Container.ProxyPort,
		Mounts: o.Mounts, Limits: m.cfg.Container.limitsFor(o), Egress: o.Egress,
		Parent: o.Parent, Depth: depth, Spawn: o.Spawn, SpawnImages: o.SpawnImages,
		Backend: kind,
	}
	if o.Mode == ModePrint {
		r.Turns = 1
	}
	if kind == api.BackendKubernetes {
		// A pod's processes are bounded by the kubelet's podPidsLimit, not per pod.
		r.Limits.Pids = 0
		if l := m.cfg.Kubernetes.Limits; l.CPUs != 0 && o.CPUs == 0 {
			r.Limits.CPUs = l.CPUs
		}
		if l := m.cfg.Kubernetes.Limits; l.MemoryBytes != 0 && o.MemoryBytes == 0 {
			r.Limits.MemoryBytes = l.MemoryBytes
		}
	}
	if pl.Pids > 0 && r.Limits.Pids > pl.Pids {
		r.Limits.Pids = pl.Pids
	}
	var sockDir string
	var proxyAddr string
	if kind == api.BackendKubernetes {
		r.ProxyPort = 0
		progress("finding the cluster's gateway")
		if proxyAddr, err = m.cfg.Kubernetes.ProxyAddr(ctx); err != nil {
			return Session{}, Errorf(ErrUnavailable, "the cluster's clauderon gateway cannot be found (%v); set it up with `clauderon k8s setup --apply`, and see `clauderon doctor`", err)
		}
	} else if gw := m.cfg.Container.Gateway; gw != nil && !m.cfg.Container.Bridge {
		r.Gateway, r.ProxyPort, r.Turnable = true, 0, true
		if sockDir, err = gw.Open(o.Name); err != nil {
			return Session{}, Errorf(ErrUnavailable, "%v", err)
		}
	}
	wsDir := filepath.Join(m.wsRoot(), o.Name)
	removeAll := func() {
		if gw := m.cfg.Container.Gateway; gw != nil && r.Gateway {
			gw.Close(o.Name)
		}
		m.usage.forget(o.Name)
		m.acts.forget(o.Name)
		if err := m.st.remove(o.Name); err != nil {
			m.log.Warn("cannot remove session state", "session", o.Name, "err", err)
		}
		if o.Workdir != "" {
			if err := os.RemoveAll(wsDir); err != nil {
				m.log.Warn("cannot remove a workspace", "session", o.Name, "dir", wsDir, "err", err)
			}
		}
	}
	r.User = u
	if o.Workdir != "" {
		info, err := m.makeWorkspace(ctx, o, u, wsDir, progress)
		if err != nil {
			removeAll()
			return Session{}, err
		}
		r.Workspace = &info
	}
	claudeJSON, err := writeClaudeJSON(m.st.sessionDir(o.Name), r.containerWorkdir(), u, r.Spawn > 0)
	if err != nil {
		removeAll()
		return Session{}, fmt.Errorf("cannot write the session's claude.json: %w", err)
	}
	if r.Gateway {
		if err := writeHookSettings(m.st.sessionDir(o.Name)); err != nil {
			removeAll()
			return Session{}, fmt.Errorf("cannot write the session's hook settings: %w", err)
		}
	}
	if err := m.usage.start(o.Name, o.Budget); err != nil {
		removeAll()
		return Session{}, fmt.Errorf("cannot write the session's budget: %w", err)
	}
	sec := m.secret(r)
	m.mu.Lock()
	// Checked again where the session is registered: a session created
	// meanwhile may have a writable mount above this one's paths.
	if err := m.checkReachLocked(r, ""); err != nil {
		m.mu.Unlock()
		removeAll()
		return Session{}, err
	}
	m.sessions[o.Name] = r
	m.saveLocked(r) // which registers its proxy credential
	m.mu.Unlock()

	undo := func() {
		m.cfg.Auth.Delete(o.Name)
		m.mu.Lock()
		m.forgetLocked(o.Name)
		m.mu.Unlock()
		removeAll()
	}
	progress("starting the container")
	// Engine calls below must finish even if the client goes away, or a
	// container could be left half made.
	ectx := context.WithoutCancel(ctx)
	spec := m.cfg.Container.spec(*r, sec, m.homeID, claudeJSON, sockDir)
	if kind == api.BackendKubernetes {
		if spec, err = m.cfg.Container.kubeSpecFor(*r, sec, m.homeID, proxyAddr); err != nil {
			undo()
			return Session{}, err
		}
		spec.Labels[LabelSig] = signLabels(m.key, spec.Name, spec.Labels)
	}
	id, err := be.Create(ectx, spec)
	if err != nil {
		undo()
		return Session{}, engineErr("creating the container", err)
	}
	m.mu.Lock()
	r.ContainerID = id
	m.epoch++
	r.born = m.epoch
	m.saveLocked(r)
	m.mu.Unlock()
	if err := m.startSeeded(ectx, be, *r, id, progress); err != nil {
		if rerr := be.Remove(ectx, id, true); rerr != nil && !errors.Is(rerr, backend.ErrNotFound) {
			m.log.Error("cannot remove a container that failed to start", "session", o.Name, "id", id, "err", rerr)
		}
		undo()
		return Session{}, engineErr("starting the container", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.Status == StatusCreating {
		r.Status = StatusRunning
		r.StartedAt = m.cfg.Now()
		m.saveLocked(r)
	}
	m.log.Info("session created", "session", o.Name, "mode", o.Mode, "image", o.Image, "container", id)
	s := r.Session
	s.Activity = m.activityLocked(r)
	return s, nil
}

// Stop stops a session's container; the session becomes exited.
func (m *Manager) Stop(ctx context.Context, name string) (Session, error) {
	m.mu.Lock()
	r, ok := m.sessions[name]
	creating := ok && (m.busy[name] == "created" || r.Status == StatusCreating)
	starting := ok && m.busy[name] == busyContinuing
	m.mu.Unlock()
	if starting {
		return Session{}, Errorf(ErrState, "session %q is being started again; try again in a moment", name)
	}
	if creating {
		// Its container may not exist or run yet: stopping now would
		// report success and leave it running.
		return Session{}, Errorf(ErrState, "session %q is being created; try again in a moment", name)
	}
	id, s, err := m.container(name)
	if err != nil {
		return Session{}, err
	}
	if s.Status != StatusRunning {
		return s, nil
	}
	m.setStopping(name, id, true)
	// The engine stops it even if the client goes away: so must this.
	if err := m.beOf(s).Stop(context.WithoutCancel(ctx), id, m.cfg.StopTimeout); err != nil && !errors.Is(err, backend.ErrNotFound) {
		m.setStopping(name, id, false)
		return Session{}, engineErr("stopping the container", err)
	}
	// finish gives way to a die event handled meanwhile (see
	// record.events), whose own finish may not have recorded the exit yet:
	// asking again records it, so stop answers with the stopped session.
	for range 3 {
		m.finish(ctx, name, id)
		if s, err := m.Get(name); err != nil || s.Status != StatusRunning {
			break
		}
	}
	return m.Get(name)
}

// setStopping records that the user stops (or no longer stops) session
// name's container id, before its exit can be recorded.
func (m *Manager) setStopping(name, id string, on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.sessions[name]; ok && r.ContainerID == id && r.Stopping != on {
		r.Stopping = on
		m.saveLocked(r)
	}
}

// ownContainer returns the ID of the container named cname if it is
// session name's of this home, or "" when there is none.
func (m *Manager) ownContainer(ctx context.Context, be backend.Backend, name, cname string) (string, error) {
	c, err := be.Inspect(ctx, cname)
	switch {
	case errors.Is(err, backend.ErrNotFound):
		return "", nil
	case err != nil:
		return "", engineErr("looking for the session's container", err)
	case c.Labels[LabelHome] != m.homeID || c.Labels[LabelSession] != name:
		m.log.Warn("a container has the session's name but is not this home's; leaving it", "session", name, "container", c.ID)
		return "", nil
	}
	return c.ID, nil
}

// Remove deletes a session: its proxy credential stops working at once, then
// its container, workspace and state are removed. A running session needs
// force; a workspace holding work never landed or applied needs discard.
func (m *Manager) Remove(ctx context.Context, name string, force, discard bool) error {
	m.mu.Lock()
	r, ok := m.sessions[name]
	if !ok {
		m.mu.Unlock()
		return notFound(name)
	}
	if what, ok := m.busy[name]; ok {
		m.mu.Unlock()
		return Errorf(ErrState, "session %q is being %s; try again", name, what)
	}
	if (r.Status == StatusRunning || r.Status == StatusCreating) && !force {
		m.mu.Unlock()
		return Errorf(ErrState, "session %q is %s; stop it first (`clauderon stop %s`) or use --force", name, r.Status, name)
	}
	if kids := m.childrenLocked(name); len(kids) > 0 || m.pending[name] > 0 {
		m.mu.Unlock()
		if len(kids) == 0 {
			return Errorf(ErrState, "session %q is starting a child; try again in a moment", name)
		}
		return Errorf(ErrState, "session %q has children (%s); remove them first, or remove them with it: `clauderon rm --recursive %s`", name, strings.Join(kids, ", "), name)
	}
	m.busy[name] = "removed"
	id, cname := r.ContainerID, r.Container
	snap := r.Session
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.busy, name)
		m.mu.Unlock()
	}()
	if !discard {
		if err := m.checkUnlanded(ctx, snap); err != nil {
			return err
		}
	}

	m.cfg.Auth.Delete(name)
	ectx := context.WithoutCancel(ctx)
	if id == "" {
		// The daemon stopped before it learned the ID. The name is global
		// on the engine: remove the container only if it is this home's.
		var err error
		if id, err = m.ownContainer(ectx, m.beOf(snap), name, cname); err != nil {
			m.reauthorize(name)
			return err
		}
	}
	if id != "" {
		if err := m.beOf(snap).Remove(ectx, id, true); err != nil && !errors.Is(err, backend.ErrNotFound) {
			m.reauthorize(name)
			return engineErr("removing the container", err)
		}
	}
	if gw := m.cfg.Container.Gateway; gw != nil {
		gw.Close(name)
	}
	if snap.Backend == api.BackendKubernetes {
		if err := m.tombstone(r.Nonce); err != nil {
			m.log.Warn("cannot record a removed session's credential as spent", "session", name, "err", err)
		}
	}
	m.mu.Lock()
	m.forgetLocked(name)
	delete(m.denials, name)
	delete(m.summaries, name)
	delete(m.caches, name)
	m.mu.Unlock()
	if w := snap.Workspace; w != nil {
		// Not while its workspace is being brought back, or that would
		// put it back after the removal.
		l := m.wsLock(name)
		l.Lock()
		err := removeWorkspace(w)
		l.Unlock()
		if err != nil {
			m.log.Warn("cannot remove a workspace", "session", name, "err", err)
		}
	}
	m.usage.forget(name)
	m.acts.forget(name)
	if err := m.st.remove(name); err != nil {
		m.log.Warn("cannot remove session state", "session", name, "err", err)
	}
	m.log.Info("session removed", "session", name)
	return nil
}

// RemoveTree removes a session and every session below it, the deepest
// first, with Remove's force and discard; it stops at the first that fails.
func (m *Manager) RemoveTree(ctx context.Context, name string, force, discard bool) error {
	for _, c := range m.Children(name) {
		if err := m.RemoveTree(ctx, c, force, discard); err != nil {
			return err
		}
	}
	return m.Remove(ctx, name, force, discard)
}
