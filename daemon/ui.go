package daemon

import (
	"context"
	"io"
	"net"
	"net/http"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/frontend"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/session"
	"github.com/clauderon/clauderon/webui"
)

// The daemon serves the web UI at http://127.0.0.1:<ui.port> (webui): the
// frontend, and the LocalAPI's routes in uiRoutes for a browser logged in
// with a one-time token that only the LocalAPI socket hands out
// (POST /ui/login, `clauderon ui`).

// AnyUIPort as Config.UIPort serves the web UI on a free port the kernel
// picks (tests).
const AnyUIPort = -1

// uiConns bounds the web UI's open connections: anyone on the host can
// connect before the cookie is checked.
const uiConns = 64

// uiExcluded are the user routes the web UI does not reach: its WebSocket
// replaces attach and resize, and a logged-in page has no use for minting
// more logins.
var uiExcluded = map[string]bool{
	"POST /sessions/{name}/attach": true,
	"POST /sessions/{name}/resize": true,
	"POST /ui/login":               true,
}

// uiHandler serves the LocalAPI routes the web UI may reach.
func (d *Daemon) uiHandler() http.Handler {
	return d.handlerFor(func(rt route) bool { return !uiExcluded[rt.method+" "+rt.pattern] }, "")
}

// listenUI binds the web UI unless config.json turns it off. A port
// another program holds is a warning kept for /ui/login to report, not a
// failure: the rest of the daemon works without it.
func (d *Daemon) listenUI() {
	port, on := d.conf.UIPort(), d.conf.UIPort() != 0
	switch {
	case d.cfg.UIPort == AnyUIPort:
		port, on = 0, true
	case d.cfg.UIPort > 0:
		port, on = d.cfg.UIPort, true
	}
	if !on {
		return
	}
	s, err := webui.New(webui.Config{
		Port: port,
		API:  d.uiHandler(),
		Attach: func(ctx context.Context, name string) (io.ReadWriteCloser, error) {
			return d.sessions.Attach(ctx, name)
		},
		Resize:     d.sessions.Resize,
		WriteError: writeError,
		Files:      frontend.FS,
		Limit: func(l net.Listener) net.Listener {
			return proxy.Limit(l, proxy.NewConnPool(uiConns), d.global)
		},
		Logger: d.log.With("part", "ui"),
		Now:    d.cfg.Now,
	})
	if err != nil {
		d.uiErr = err
		d.log.Warn("the web UI is off", "err", err)
		return
	}
	d.ui = s
	d.log.Info("web UI listening", "url", s.Origin())
}

// serveUI serves the web UI until ctx ends.
func (d *Daemon) serveUI(ctx context.Context) {
	if d.ui == nil {
		return
	}
	go func() {
		if err := d.ui.Run(ctx); err != nil {
			d.log.Error("the web UI stopped", "err", err)
		}
	}()
}

// UILogin mints a one-time URL that logs a browser in to the web UI.
func (d *Daemon) UILogin() (api.UILogin, error) {
	if d.ui == nil {
		if d.uiErr != nil {
			return api.UILogin{}, session.Errorf(session.ErrUnavailable, "%v", d.uiErr)
		}
		return api.UILogin{}, session.Errorf(session.ErrUnavailable, "the web UI is off: config.json sets ui.port to -1; remove it (or set a port) and restart the daemon")
	}
	u, exp, err := d.ui.Login()
	if err != nil {
		return api.UILogin{}, err
	}
	return api.UILogin{URL: u, ExpiresAt: exp.UTC()}, nil
}

// uiLogin serves POST /ui/login.
func (d *Daemon) uiLogin(w http.ResponseWriter, r *http.Request) error {
	l, err := d.UILogin()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}
