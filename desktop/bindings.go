// Package desktop is the desktop app: bound methods the frontend calls
// (this file, with no build tag, so they are tested without a window) and,
// under the desktop build tag, the Wails window that hosts the web UI's
// frontend (wails.go).
package desktop

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
)

// Emitter sends an event to the frontend: runtime.EventsEmit in the
// window, a recorder in tests.
type Emitter interface {
	Emit(event string, data any)
}

// Event names the frontend listens to (frontend/js/api.js).
const (
	EventDaemon   = "clauderon:event"    // one api.Event of the daemon's stream
	EventProgress = "clauderon:progress" // a create's progress line
	EventBuild    = "clauderon:build"    // an image build's progress line
)

// Dialogs are the native dialogs; the window provides them.
type Dialogs interface {
	ChooseDirectory(title string) (string, error)
}

// ErrNoWindow is answered by what needs a window when none runs.
var ErrNoWindow = errors.New("no window is open")

// maxLogBytes bounds what SessionLogs reads: the frontend shows it at once,
// and a print run's output can be large.
const maxLogBytes = 4 << 20

// App holds the methods the frontend calls through Wails: each is a thin
// adapter over client/ that returns (T, error), so a rejected promise
// carries the daemon's own message. The names are those of
// frontend/js/api.js's header.
type App struct {
	c    *client.Client
	emit Emitter

	mu      sync.Mutex
	base    context.Context
	dialogs Dialogs
	watch   context.CancelFunc
	attach  map[string]*attachment
	ready   func(Report)
}

// New answers an App that calls the daemon through c and sends events to
// emit.
func New(c *client.Client, emit Emitter) *App {
	return &App{c: c, emit: emit, base: context.Background(), attach: map[string]*attachment{}}
}

// setContext sets the context every call runs under (the window's, whose
// end cancels them). The setters are unexported: Wails binds every
// exported method for the page to call.
func (a *App) setContext(ctx context.Context) {
	a.mu.Lock()
	a.base = ctx
	a.mu.Unlock()
}

// setDialogs sets the native dialogs.
func (a *App) setDialogs(d Dialogs) {
	a.mu.Lock()
	a.dialogs = d
	a.mu.Unlock()
}

func (a *App) ctx() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.base
}

// ListSessions lists every session.
func (a *App) ListSessions() (api.SessionList, error) { return a.c.List(a.ctx()) }

// GetSession answers one session; with changes, what its workspace holds
// that was never landed (as the list shows it).
func (a *App) GetSession(name string, changes bool) (api.Session, error) {
	if !changes {
		return a.c.Get(a.ctx(), name)
	}
	// client/ has no Get with changes; the list carries them.
	l, err := a.c.List(a.ctx())
	if err != nil {
		return api.Session{}, err
	}
	for _, s := range l.Sessions {
		if s.Name == name {
			return s, nil
		}
	}
	return a.c.Get(a.ctx(), name) // the daemon's own "no such session"
}

// CreateSession creates and starts a session; each progress line goes to
// the frontend as EventProgress.
func (a *App) CreateSession(o api.CreateSession) (api.Session, error) {
	return a.c.CreateWithProgress(a.ctx(), o, func(l string) { a.emit.Emit(EventProgress, l) })
}

// StopSession stops a session's container.
func (a *App) StopSession(name string) (api.Session, error) { return a.c.Stop(a.ctx(), name) }

// StartSession starts a stopped interactive session again.
func (a *App) StartSession(name string) (api.Session, error) { return a.c.Start(a.ctx(), name) }

// RestartSession restarts an interactive session.
func (a *App) RestartSession(name string) (api.Session, error) { return a.c.Restart(a.ctx(), name) }

// DeleteSession deletes a session, with recursive the sessions it started.
func (a *App) DeleteSession(name string, force, discard, recursive bool) error {
	if recursive {
		return a.c.RemoveTree(a.ctx(), name, force, discard)
	}
	return a.c.Remove(a.ctx(), name, force, discard)
}

// SessionLogs answers a session's output so far (its last maxLogBytes).
func (a *App) SessionLogs(name string) (string, error) {
	r, err := a.c.Logs(a.ctx(), name, false)
	if err != nil {
		return "", err
	}
	defer r.Close()
	// The container decides the log's size: read it through, keeping only
	// the tail, so a huge one never sits whole in the app's memory.
	buf := make([]byte, 0, 64<<10)
	chunk := make([]byte, 64<<10)
	for {
		n, rerr := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if len(buf) > 2*maxLogBytes {
			buf = append(buf[:0], buf[len(buf)-maxLogBytes:]...)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	if len(buf) > maxLogBytes {
		buf = buf[len(buf)-maxLogBytes:]
	}
	return string(buf), err
}

// SessionDiff answers the work in a session's workspace.
func (a *App) SessionDiff(name string, patch bool) (api.Diff, error) {
	return a.c.Diff(a.ctx(), name, patch, 0)
}

// LandSession makes a session's work a branch of the user's repository.
func (a *App) LandSession(name string, l api.Land) (api.BroughtBack, error) {
	return a.c.Land(a.ctx(), name, l)
}

// ApplySession applies a session's work to the user's work tree.
func (a *App) ApplySession(name string, ap api.Apply) (api.BroughtBack, error) {
	return a.c.Apply(a.ctx(), name, ap)
}

// GetEgress answers a session's egress report.
func (a *App) GetEgress(name string) (api.EgressReport, error) { return a.c.Egress(a.ctx(), name) }

// ChangeEgress changes a session's allow list.
func (a *App) ChangeEgress(name string, ch api.EgressChange) (api.EgressReport, error) {
	return a.c.ChangeEgress(a.ctx(), name, ch)
}

// SetBudget sets or removes a session's caps.
func (a *App) SetBudget(name string, b api.SetBudget) (api.Session, error) {
	return a.c.SetBudget(a.ctx(), name, b)
}

// Audit answers the proxy's latest audit lines, of one session or all.
func (a *App) Audit(limit int, session string) (api.AuditList, error) {
	return a.c.RecentAudit(a.ctx(), session, limit)
}

// Doctor runs the daemon's checks.
func (a *App) Doctor() (api.Doctor, error) { return a.c.Doctor(a.ctx(), "") }

// Images lists the local images.
func (a *App) Images() (api.ImageList, error) { return a.c.Images(a.ctx()) }

// GetToken says where the daemon finds the named credential.
func (a *App) GetToken(name string) (api.TokenStatus, error) { return a.c.TokenStatus(a.ctx(), name) }

// PutToken stores a credential in the keychain through the daemon.
func (a *App) PutToken(name string, v api.TokenValue) (api.TokenStatus, error) {
	return a.c.SetToken(a.ctx(), name, v.Token)
}

// DeleteToken removes a credential from the keychain.
func (a *App) DeleteToken(name string) (api.TokenStatus, error) {
	return a.c.DeleteToken(a.ctx(), name)
}

// MCP answers the MCP endpoint's URL and token.
func (a *App) MCP() (api.MCPInfo, error) { return a.c.MCPInfo(a.ctx()) }

// BuildImage builds the default agent image (the setup view's button);
// each progress line goes to the frontend as EventBuild.
func (a *App) BuildImage() error {
	return a.c.BuildImage(a.ctx(), api.BuildImage{}, func(l string) { a.emit.Emit(EventBuild, l) })
}

// ChooseDirectory opens the native directory dialog and answers the chosen
// directory, or "" when the user cancelled.
func (a *App) ChooseDirectory() (string, error) {
	a.mu.Lock()
	d := a.dialogs
	a.mu.Unlock()
	if d == nil {
		return "", ErrNoWindow
	}
	return d.ChooseDirectory("Workdir of the new session")
}

// EventNoTerminal tells the window that no terminal emulator could run an
// attach: it shows the command for the user to copy (a NoTerminal).
const EventNoTerminal = "clauderon:no-terminal"

// NoTerminal is EventNoTerminal's data.
type NoTerminal struct {
	Session string `json:"session"`
	Command string `json:"command"`
	Error   string `json:"error"`
}
