package session

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/clauderon/clauderon/api"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/internal/atomicfile"
)

// busyContinuing marks a session whose container is being started for a
// further turn: its last turn's exit must not be recorded again meanwhile.
const busyContinuing = "started again"

// Continue runs a further turn of a print session that finished its last
// one: the same container starts again, with the same workspace and the
// same home, where Claude Code resumes its conversation with prompt
// (`claude --print --resume ID`). It returns the running session; Wait
// gives the turn's result.
//
// The engine keeps a container's command, so the new one reaches the
// container through its gateway: the argv file in the session's socket
// directory, which the container mounts read-only (gateway.ArgvFile).
func (m *Manager) Continue(ctx context.Context, name, prompt string) (Session, error) {
	if strings.TrimSpace(prompt) == "" {
		return Session{}, Errorf(ErrInvalid, "a further turn needs a prompt: what Claude Code should do next")
	}
	if len(prompt) > MaxPromptBytes {
		return Session{}, Errorf(ErrInvalid, "the prompt is %d KiB; at most %d KiB fits on a command line — put the long text in a file in the workspace and ask Claude to read it", len(prompt)>>10, MaxPromptBytes>>10)
	}
	if err := checkPrompt(prompt); err != nil {
		return Session{}, err
	}
	return m.startAgain(ctx, name, func(r *record) (gateway.Argv, error) {
		if r.Mode != ModePrint {
			return gateway.Argv{}, Errorf(ErrState, "session %q is interactive: attach to it (`clauderon attach %s`) to go on with its conversation, or start it again with `clauderon start %s`", r.Name, r.Name, r.Name)
		}
		resume := ""
		if r.Result != nil {
			resume = r.Result.ClaudeSessID
		}
		r.Turns = max(r.Turns, 1) + 1
		// Fresh: a session stopped before Claude Code kept anything has no
		// conversation to resume, and the prompt starts one.
		return gateway.Argv{Argv: ResumeArgv(prompt, resume), Fresh: ClaudeArgv(ModePrint, prompt)}, nil
	})
}

// Start starts a stopped or exited interactive session's container again,
// where Claude Code continues its latest conversation (`claude --continue`,
// or a new one when it had none), with the same workspace and home.
func (m *Manager) Start(ctx context.Context, name string) (Session, error) {
	return m.startAgain(ctx, name, func(r *record) (gateway.Argv, error) {
		if r.Mode != ModeInteractive {
			return gateway.Argv{}, Errorf(ErrState, "session %q is a print session: give it a further turn with `clauderon continue %s PROMPT`", r.Name, r.Name)
		}
		fresh := ClaudeArgv(ModeInteractive, "")
		return gateway.Argv{Argv: append(slices.Clone(fresh), "--continue"), Fresh: fresh}, nil
	})
}

// Restart stops a running interactive session and starts it again, its
// conversation kept; one that is not running is started.
func (m *Manager) Restart(ctx context.Context, name string) (Session, error) {
	s, err := m.Get(name)
	if err != nil {
		return Session{}, err
	}
	if s.Mode != ModeInteractive {
		return Session{}, Errorf(ErrState, "session %q is a print session, which runs its turn and ends: give it a further turn with `clauderon continue %s PROMPT`", name, name)
	}
	if s.Status == StatusRunning {
		if _, err := m.Stop(ctx, name); err != nil {
			return Session{}, err
		}
	}
	return m.Start(ctx, name)
}

// startAgain starts a session's ended container again with the command
// next gives (which may also change the record, under the lock).
func (m *Manager) startAgain(ctx context.Context, name string, next func(r *record) (gateway.Argv, error)) (Session, error) {
	gw := m.cfg.Container.Gateway
	m.mu.Lock()
	r, ok := m.sessions[name]
	if !ok {
		m.mu.Unlock()
		return Session{}, notFound(name)
	}
	if err := startable(&r.Session, r.Turnable, m.busy[name], gw != nil); err != nil {
		m.mu.Unlock()
		return Session{}, err
	}
	// What this changes, and gives back if the container does not start;
	// nothing else, which may change meanwhile (egress).
	type run struct {
		status            Status
		started, finished time.Time
		exit              *int
		reason            string
		result            *Result
		stopping          bool
		turns             int
	}
	prev := run{r.Status, r.StartedAt, r.FinishedAt, r.ExitCode, r.Reason, r.Result, r.Stopping, r.Turns}
	argv, err := next(r)
	if err != nil {
		r.Turns = prev.turns
		m.mu.Unlock()
		return Session{}, err
	}
	m.busy[name] = busyContinuing
	id := r.ContainerID
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.busy, name)
		m.mu.Unlock()
	}()
	restore := func() {
		m.mu.Lock()
		r.Status, r.StartedAt, r.FinishedAt, r.ExitCode, r.Reason, r.Result, r.Stopping, r.Turns =
			prev.status, prev.started, prev.finished, prev.exit, prev.reason, prev.result, prev.stopping, prev.turns
		m.saveLocked(r)
		m.mu.Unlock()
	}

	dir, err := gw.Open(name)
	if err != nil {
		restore()
		return Session{}, Errorf(ErrUnavailable, "%v", err)
	}
	argvFile := filepath.Join(dir, gateway.ArgvName)
	b, err := json.Marshal(argv)
	if err != nil {
		restore()
		return Session{}, err
	}
	// Readable by the container's user, whoever that is; the directory is
	// in the 0700 home.
	if err := atomicfile.Write(argvFile, b, 0o644); err != nil {
		restore()
		return Session{}, Errorf(ErrUnavailable, "cannot give the container its next command: %v", err)
	}

	// Running from here on, with its proxy credential back before the
	// container's first request; saved once the engine started it, so a
	// daemon killed in between finds the last run as it was.
	m.mu.Lock()
	r.Status = StatusRunning
	r.StartedAt, r.FinishedAt = m.cfg.Now(), time.Time{}
	r.ExitCode, r.Reason, r.Result, r.Stopping = nil, "", nil, false
	r.run++
	m.authorizeLocked(r)
	m.mu.Unlock()

	// Engine calls finish even if the client goes away.
	ectx := context.WithoutCancel(ctx)
	if err := m.backendOf(r).Start(ectx, id); err != nil {
		restore()
		if rerr := os.Remove(argvFile); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			m.log.Warn("cannot remove a session's argv file", "session", name, "err", rerr)
		}
		return Session{}, engineErr("starting the session's container again", err)
	}
	m.mu.Lock()
	delete(m.busy, name)
	turns := r.Turns
	m.saveLocked(r)
	m.mu.Unlock()
	// The turn may have ended before its exit could be recorded.
	m.finish(ectx, name, id)
	m.log.Info("session started again", "session", name, "turn", turns)
	return m.Get(name)
}

// startable says why r's container cannot start again, if it cannot.
func startable(r *Session, turnable bool, busy string, gateway bool) error {
	name := r.Name
	switch {
	case busy != "":
		return Errorf(ErrState, "session %q is being %s; try again in a moment", name, busy)
	case (r.Status == StatusRunning || r.Status == StatusCreating) && r.Mode == ModeInteractive:
		return Errorf(ErrState, "session %q is running; attach to it (`clauderon attach %s`), or restart it with `clauderon restart %s`", name, name, name)
	case r.Status == StatusRunning || r.Status == StatusCreating:
		return Errorf(ErrState, "session %q is still running its turn; wait for its result first (get_session, or `clauderon logs -f %s`)", name, name)
	case r.Status == StatusFailed:
		return Errorf(ErrState, "session %q failed (%s); it cannot start again — create a new session", name, r.Reason)
	case !r.Status.Ended() || r.ContainerID == "":
		return Errorf(ErrState, "session %q is %s; only a session whose container exited or was stopped can start again", name, r.Status)
	case r.Backend == api.BackendKubernetes:
		return Errorf(ErrState, "session %q ran on Kubernetes, where a pod that ended cannot start again; create a new session", name)
	case !r.Gateway || !gateway:
		return Errorf(ErrState, "session %q runs on the bridge network (an older clauderon's, or container.network \"bridge\"), whose container cannot be given a new command; create a new session", name)
	case !turnable:
		return Errorf(ErrState, "session %q was made by an older clauderon, whose container would run its first prompt again; create a new session", name)
	}
	return nil
}
