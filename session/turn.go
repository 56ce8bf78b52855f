package session

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/internal/atomicfile"
)

// busyContinuing marks a session whose container is being started for a
// further turn: its last turn's exit must not be recorded again meanwhile.
const busyContinuing = "continued"

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
	if prompt == "" {
		return Session{}, Errorf(ErrInvalid, "a further turn needs a prompt")
	}
	if len(prompt) > MaxPromptBytes {
		return Session{}, Errorf(ErrInvalid, "the prompt is %d KiB; at most %d KiB fits on a command line — put the long text in a file in the workspace and ask Claude to read it", len(prompt)>>10, MaxPromptBytes>>10)
	}
	if err := checkPrompt(prompt); err != nil {
		return Session{}, err
	}
	gw := m.cfg.Container.Gateway
	m.mu.Lock()
	r, ok := m.sessions[name]
	if !ok {
		m.mu.Unlock()
		return Session{}, notFound(name)
	}
	if err := continuable(&r.Session, r.Turnable, m.busy[name], gw != nil); err != nil {
		m.mu.Unlock()
		return Session{}, err
	}
	m.busy[name] = busyContinuing
	prev, id := r.Session, r.ContainerID
	resume := ""
	if r.Result != nil {
		resume = r.Result.ClaudeSessID
	}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.busy, name)
		m.mu.Unlock()
	}()

	dir, err := gw.Open(name)
	if err != nil {
		return Session{}, Errorf(ErrUnavailable, "%v", err)
	}
	argvFile := filepath.Join(dir, gateway.ArgvName)
	b, err := json.Marshal(gateway.Argv{Argv: ResumeArgv(prompt, resume)})
	if err != nil {
		return Session{}, err
	}
	// Readable by the container's user, whoever that is; the directory is
	// in the 0700 home.
	if err := atomicfile.Write(argvFile, b, 0o644); err != nil {
		return Session{}, Errorf(ErrUnavailable, "cannot give the container its next command: %v", err)
	}

	m.mu.Lock()
	r = m.sessions[name] // busy: nobody removed it
	r.Status = StatusRunning
	r.StartedAt, r.FinishedAt = m.cfg.Now(), time.Time{}
	r.ExitCode, r.Reason, r.Result = nil, "", nil
	r.Turns = max(r.Turns, 1) + 1
	m.saveLocked(r) // which gives its proxy credential back
	m.mu.Unlock()

	// Engine calls finish even if the client goes away.
	ectx := context.WithoutCancel(ctx)
	if err := m.cfg.Backend.Start(ectx, id); err != nil {
		m.mu.Lock()
		r.Session = prev
		m.saveLocked(r)
		m.mu.Unlock()
		if rerr := os.Remove(argvFile); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			m.log.Warn("cannot remove a session's argv file", "session", name, "err", rerr)
		}
		return Session{}, engineErr("starting the session's container again", err)
	}
	m.mu.Lock()
	delete(m.busy, name)
	m.mu.Unlock()
	// The turn may have ended before its exit could be recorded.
	m.finish(ectx, name, id)
	m.log.Info("session continued", "session", name, "turn", r.Turns)
	return m.Get(name)
}

// continuable says why r cannot take a further turn, if it cannot.
func continuable(r *Session, turnable bool, busy string, gateway bool) error {
	name := r.Name
	switch {
	case busy != "":
		return Errorf(ErrState, "session %q is being %s; try again in a moment", name, busy)
	case r.Mode != ModePrint:
		return Errorf(ErrState, "session %q is interactive: attach to it (`clauderon attach %s`) to go on with its conversation", name, name)
	case r.Status == StatusRunning || r.Status == StatusCreating:
		return Errorf(ErrState, "session %q is still running its turn; wait for its result first (get_session, or `clauderon logs -f %s`)", name, name)
	case r.Status == StatusFailed:
		return Errorf(ErrState, "session %q failed (%s); it cannot be continued — create a new session", name, r.Reason)
	case r.Status != StatusExited || r.ContainerID == "":
		return Errorf(ErrState, "session %q is %s; only a print session that finished a turn can be continued", name, r.Status)
	case !r.Gateway || !gateway:
		return Errorf(ErrState, "session %q runs on the bridge network (an older clauderon's, or container.network \"bridge\"), whose container cannot be given a new command; create a new session", name)
	case !turnable:
		return Errorf(ErrState, "session %q was made by an older clauderon, whose container would run its first prompt again; create a new session", name)
	}
	return nil
}
