package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/clauderon/clauderon/backend"
)

// Reconcile brings the sessions in line with the engine: a session whose
// container exists is never lost (it is rebuilt from labels if its state
// file is gone), and a session whose container vanished is marked failed.
// Each backend is reconciled on its own: one that cannot be reached leaves
// its sessions as they were (read as unknown) and the others' as they are.
func (m *Manager) Reconcile(ctx context.Context) error {
	var errs []error
	es := m.engines()
	for _, kind := range backendNames(es) {
		if err := m.reconcileOn(ctx, kind, es[kind]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// reconcileOn reconciles the sessions of backend kind ("" for Docker).
func (m *Manager) reconcileOn(ctx context.Context, kind string, be backend.Backend) error {
	m.mu.Lock()
	listed := m.epoch
	m.reconciling++
	m.mu.Unlock()
	cs, err := be.List(ctx, m.HomeLabels())
	if kind != "" {
		// Docker's sessions were never shown as unknown: a stopped
		// engine is what doctor reports.
		m.reach.set(kind, err)
	}
	m.mu.Lock()
	defer func() {
		m.reconciling--
		if m.reconciling == 0 {
			clear(m.tombs)
		}
		m.mu.Unlock()
	}()
	if err != nil {
		return engineErr("listing containers", err)
	}
	seen := map[string]bool{}
	var orphans []Orphan
	var finish []string
	var removed map[string]bool
	if kind != "" {
		removed = m.removedNonces()
	}
	for _, c := range cs {
		name := c.Labels[LabelSession]
		// Anyone who may create pods in the namespace can copy a session's
		// labels: only a pod this home signed, under its session's name,
		// of a session not removed, is taken for one.
		if kind != "" && !signedLabels(m.key, c) {
			orphans = append(orphans, Orphan{ID: c.ID, Name: c.Name, Status: c.Status,
				Reason: "its labels are not signed by this clauderon home for this pod (a pod made outside clauderon?); not taken for a session"})
			continue
		}
		if kind != "" && removed[c.Labels[LabelNonce]] {
			orphans = append(orphans, Orphan{ID: c.ID, Name: c.Name, Status: c.Status,
				Reason: "it carries the labels of a session that was removed; not taken for it"})
			continue
		}
		if m.tombs[name] > listed {
			continue // removed since the list: its container is gone
		}
		if r, ok := m.sessions[name]; ok {
			if r.Backend != kind {
				// The same name on the other engine: not this session's.
				orphans = append(orphans, Orphan{ID: c.ID, Name: c.Name, Status: c.Status,
					Reason: fmt.Sprintf("session %q runs on %s", name, r.BackendName())})
				continue
			}
			if r.born > listed {
				seen[name] = true // created since the list
				continue
			}
			if r.ContainerID == "" && m.busy[name] == "" {
				// The daemon stopped between creating the container and
				// saving its ID.
				r.ContainerID = c.ID
				m.saveLocked(r)
				m.log.Info("session's container found", "session", name, "container", c.ID)
			}
			if r.ContainerID != "" && r.ContainerID != c.ID {
				orphans = append(orphans, Orphan{ID: c.ID, Name: c.Name, Status: c.Status,
					Reason: fmt.Sprintf("session %q runs in another container (%.12s)", name, r.ContainerID)})
				continue
			}
			seen[name] = true
			if _, busy := m.busy[name]; busy {
				continue
			}
			if m.applyLocked(r, c) {
				finish = append(finish, name)
			}
			continue
		}
		r, ok := recordFromLabels(c.Labels, m.wsRoot())
		if !ok {
			orphans = append(orphans, Orphan{ID: c.ID, Name: c.Name, Status: c.Status,
				Reason: "its labels are not enough to rebuild a session"})
			continue
		}
		r.ContainerID = c.ID
		r.Backend = kind
		r.Status = StatusCreating
		seen[name] = true
		m.sessions[name] = &r
		m.authorizeLocked(&r)
		m.log.Warn("session rebuilt from its container's labels", "session", name, "container", c.ID)
		if m.applyLocked(&r, c) {
			finish = append(finish, name)
		}
	}
	for name, r := range m.sessions {
		if seen[name] || m.busy[name] != "" || r.born > listed || r.Backend != kind {
			continue
		}
		if r.Status == StatusCreating || r.Status == StatusRunning {
			r.Status = StatusFailed
			r.Reason = "its container no longer exists"
			r.FinishedAt = m.cfg.Now()
			m.saveLocked(r)
		}
	}
	m.orphans[kind] = orphans
	if len(finish) > 0 {
		m.mu.Unlock()
		for _, name := range finish {
			m.finish(ctx, name, "")
		}
		m.mu.Lock()
	}
	return nil
}

// applyLocked sets r's status from c. It reports whether the container has
// finished and finish must collect its exit (outside the lock).
func (m *Manager) applyLocked(r *record, c backend.Container) bool {
	switch c.Status {
	case "running", "restarting", "paused":
		if r.Status == StatusRunning && r.Stopping {
			// A stop that did not happen (the daemon died meanwhile).
			r.Stopping = false
			m.saveLocked(r)
		}
		if r.Status != StatusRunning {
			r.Status = StatusRunning
			r.Reason = ""
			r.Stopping = false
			switch {
			case !c.StartedAt.IsZero():
				r.StartedAt = c.StartedAt
			case r.StartedAt.IsZero(): // List does not tell; a rebuilt session
				r.StartedAt = m.cfg.Now()
			}
			m.saveLocked(r)
		}
		return false
	case "created":
		if r.Status != StatusFailed {
			r.Status = StatusFailed
			r.Reason = "the container was created but never started (the daemon stopped during create)"
			m.saveLocked(r)
		}
		return false
	case "exited", "dead":
		return !r.Status.Ended() || (r.Mode == ModePrint && r.Result == nil)
	}
	return false
}

// started records that a session's container runs, when a start event
// says so and the engine agrees: an event can come after the exit that
// followed it (a stale start must not make a stopped session running), and
// a container can be started outside clauderon.
func (m *Manager) started(ctx context.Context, name, id string) {
	m.mu.Lock()
	r, ok := m.sessions[name]
	if !ok || r.ContainerID != id || r.Status == StatusRunning || m.busy[name] != "" {
		m.mu.Unlock()
		return
	}
	run, events, be := r.run, r.events, m.backendOf(r)
	m.mu.Unlock()
	c, err := be.Inspect(ctx, id)
	if err != nil || (c.Status != "running" && c.Status != "restarting" && c.Status != "paused") {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok = m.sessions[name]; ok && r.ContainerID == id && r.Status != StatusRunning && m.busy[name] == "" && r.run == run && r.events == events {
		m.applyLocked(r, c)
	}
}

// finish records that a session's container has stopped: exit code, end
// time and, for a print session, the result parsed from its output.
func (m *Manager) finish(ctx context.Context, name, id string) {
	m.mu.Lock()
	r, ok := m.sessions[name]
	if !ok || (id != "" && r.ContainerID != id) || m.busy[name] == busyContinuing {
		// A container being started for a further turn: what it says now
		// is its last turn's exit, recorded already (Continue looks again).
		m.mu.Unlock()
		return
	}
	id = r.ContainerID
	mode, run, events, be := r.Mode, r.run, r.events, m.backendOf(r)
	m.mu.Unlock()

	c, err := be.Inspect(ctx, id)
	if err != nil {
		if !errors.Is(err, backend.ErrNotFound) {
			m.log.Warn("cannot inspect a finished container", "session", name, "err", err)
		}
		return
	}
	if c.Status == "running" || c.Status == "restarting" {
		return // a stale event
	}
	var res *Result
	if mode == ModePrint {
		// This run's output only: a container started again (continue)
		// keeps its earlier runs', and a run that died before its first
		// line has no result, not the last run's.
		if rc, err := be.LogsSince(ctx, id, c.StartedAt); err == nil {
			res, _ = ParseResult(rc)
			rc.Close()
		} else {
			m.log.Warn("cannot read a print session's output", "session", name, "err", err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok = m.sessions[name]
	if !ok || r.ContainerID != id || m.busy[name] == busyContinuing || r.run != run || r.events != events {
		// Started again meanwhile: this was the last run's exit; or a
		// later event came, whose handler asks the engine again.
		return
	}
	code := c.ExitCode
	r.Status = StatusExited
	if r.Stopping {
		r.Status = StatusStopped
	}
	r.ExitCode = &code
	r.Reason = c.Error
	r.FinishedAt = c.FinishedAt
	if r.FinishedAt.IsZero() {
		r.FinishedAt = m.cfg.Now()
	}
	if res != nil {
		r.Result = res
	}
	m.saveLocked(r)
	m.log.Info("session exited", "session", name, "exit_code", code)
}

// Run follows the engine's events until ctx ends, keeping every session's
// status current. After a lost event stream it reconciles, so no exit is missed.
func (m *Manager) Run(ctx context.Context) error {
	es := m.engines()
	var wg sync.WaitGroup
	for kind, be := range es {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.runOn(ctx, kind, be)
		}()
	}
	wg.Wait()
	return nil
}

// runOn follows one backend's events.
func (m *Manager) runOn(ctx context.Context, kind string, be backend.Backend) error {
	backoff := 250 * time.Millisecond
	for {
		ectx, cancel := context.WithCancel(ctx)
		evs, errs := be.Events(ectx, m.HomeLabels())
		// Events that happened before the subscription are caught here.
		if err := m.reconcileOn(ctx, kind, be); err != nil && ctx.Err() == nil {
			m.log.Warn("reconcile failed", "backend", kind, "err", err)
		} else if err == nil {
			backoff = 250 * time.Millisecond
		}
		err := m.follow(ctx, evs, errs)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		m.log.Warn("engine event stream ended; reconnecting", "backend", kind, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (m *Manager) follow(ctx context.Context, evs <-chan backend.Event, errs <-chan error) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			return err
		case ev, ok := <-evs:
			if !ok {
				return errors.New("event stream closed")
			}
			m.handle(ctx, ev)
		}
	}
}

func (m *Manager) handle(ctx context.Context, ev backend.Event) {
	name := ev.Labels[LabelSession]
	switch ev.Action {
	case "start", "die":
		// Handled apart, each after asking the engine; what one learned
		// is not applied once a later event came (see record.events).
		m.mu.Lock()
		if r, ok := m.sessions[name]; ok && r.ContainerID == ev.ID {
			r.events++
		}
		m.mu.Unlock()
		if ev.Action == "start" {
			go m.started(ctx, name, ev.ID)
		} else {
			go m.finish(ctx, name, ev.ID)
		}
	case "destroy":
		m.mu.Lock()
		if r, ok := m.sessions[name]; ok && r.ContainerID == ev.ID && m.busy[name] == "" {
			if !r.Status.Ended() {
				r.Status = StatusFailed
			}
			r.Reason = "its container was removed outside clauderon"
			m.saveLocked(r)
		}
		m.mu.Unlock()
	}
}
