package daemon

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/secret"
	"github.com/clauderon/clauderon/session"
	"github.com/clauderon/clauderon/workspace"
)

// route is one LocalAPI endpoint. Every route lives in routes().
type route struct {
	method  string
	pattern string // below api.APIPrefix
	handler func(w http.ResponseWriter, r *http.Request) error
}

func (d *Daemon) routes() []route {
	return []route{
		{"GET", "/status", d.getStatus},
		{"GET", "/sessions", d.listSessions},
		{"POST", "/sessions", d.createSession},
		{"GET", "/sessions/{name}", d.getSession},
		{"DELETE", "/sessions/{name}", d.removeSession},
		{"POST", "/sessions/{name}/stop", d.stopSession},
		{"POST", "/sessions/{name}/continue", d.continueSession},
		{"POST", "/sessions/{name}/start", d.startSession},
		{"POST", "/sessions/{name}/restart", d.restartSession},
		{"GET", "/sessions/{name}/wait", d.waitSession},
		{"GET", "/sessions/{name}/logs", d.sessionLogs},
		{"POST", "/sessions/{name}/attach", d.attachSession},
		{"POST", "/sessions/{name}/resize", d.resizeSession},
		{"GET", "/sessions/{name}/diff", d.diffSession},
		{"POST", "/sessions/{name}/land", d.landSession},
		{"POST", "/sessions/{name}/apply", d.applySession},
		{"GET", "/sessions/{name}/egress", d.getEgress},
		{"POST", "/sessions/{name}/egress", d.changeEgress},
		{"POST", "/sessions/{name}/budget", d.setBudget},
		{"GET", "/sessions/{name}/audit", d.sessionAudit},
		{"GET", "/budget", d.getDailyBudget},
		{"PUT", "/budget", d.putDailyBudget},
		{"GET", "/events", d.events},
		{"GET", "/doctor", d.doctor},
		{"POST", "/images/build", d.buildImage},
		{"POST", "/images/pull", d.pullImage},
		{"GET", "/tokens/{name}", d.getToken},
		{"PUT", "/tokens/{name}", d.putToken},
		{"DELETE", "/tokens/{name}", d.deleteToken},
		{"GET", "/images", d.listImages},
		{"GET", "/audit", d.recentAudit},
		{"GET", "/mcp", d.getMCP},
		{"POST", "/ui/login", d.uiLogin},
	}
}

// agentRoutes are the routes an agent may reach through the MCP server
// (and, later, a session through its spawn cap): sessions and their work,
// never the credential, image builds from host paths, attach, or writes into
// the user's working tree.
var agentRoutes = map[string]bool{
	"GET /status":                    true,
	"GET /sessions":                  true,
	"POST /sessions":                 true,
	"GET /sessions/{name}":           true,
	"DELETE /sessions/{name}":        true,
	"POST /sessions/{name}/stop":     true,
	"POST /sessions/{name}/continue": true,
	"GET /sessions/{name}/wait":      true,
	"GET /sessions/{name}/logs":      true,
	"GET /sessions/{name}/diff":      true,
	"POST /sessions/{name}/land":     true,
	"GET /sessions/{name}/egress":    true,
	"GET /sessions/{name}/audit":     true,
	"GET /events":                    true,
}

// handler serves the whole route table: the LocalAPI socket's, which only
// the user can reach.
func (d *Daemon) handler() http.Handler { return d.handlerFor(nil, "") }

// agentHandler serves agentRoutes only: what the MCP server's in-process
// client is given.
func (d *Daemon) agentHandler() http.Handler {
	return d.handlerFor(func(rt route) bool { return agentRoutes[rt.method+" "+rt.pattern] }, "")
}

// handlerFor serves the routes allow lets through (all when nil); any
// other is a JSON 404, as an unknown one. Methods are dispatched here
// rather than by the mux so that every answer, 404 and 405 included, is
// JSON. With a parent, every request acts for that session: it reaches
// only its children (any other name is not found), and what it creates is
// its child.
func (d *Daemon) handlerFor(allow func(route) bool, parent string) http.Handler {
	byPattern := map[string]map[string]func(http.ResponseWriter, *http.Request) error{}
	var order []string
	for _, rt := range d.routes() {
		if allow != nil && !allow(rt) {
			continue
		}
		if byPattern[rt.pattern] == nil {
			byPattern[rt.pattern] = map[string]func(http.ResponseWriter, *http.Request) error{}
			order = append(order, rt.pattern)
		}
		byPattern[rt.pattern][rt.method] = rt.handler
	}
	mux := http.NewServeMux()
	for _, p := range order {
		methods := byPattern[p]
		mux.HandleFunc(api.APIPrefix+p, func(w http.ResponseWriter, r *http.Request) {
			h, ok := methods[r.Method]
			if !ok {
				writeError(w, session.Errorf(errMethod, "method %s is not allowed on %s", r.Method, r.URL.Path))
				return
			}
			if n := r.PathValue("name"); parent != "" && n != "" && !d.sessions.IsChild(parent, n) {
				writeError(w, session.Errorf(session.ErrNotFound, "session %s started no session named %q", parent, n))
				return
			}
			if err := h(w, r); err != nil {
				d.log.Debug("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
				writeError(w, err)
			}
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, session.Errorf(errNoRoute, "no such route %s (this daemon speaks %s)", r.URL.Path, api.APIPrefix))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A browser page must never drive the daemon (CSRF, DNS rebinding).
		if r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "" {
			writeError(w, errBrowser)
			return
		}
		r.Header.Del(parentHeader)
		if parent != "" {
			r.Header.Set(parentHeader, parent)
		}
		mux.ServeHTTP(w, r)
	})
}

var (
	errMethod  = errors.New("method not allowed")
	errNoRoute = errors.New("no such route")
	errBrowser = errors.New("requests from a browser (with Origin or Referer) are refused")
	errBody    = errors.New("bad request body")
)

// status maps an error to its HTTP status: the one place that does.
func status(err error) int {
	switch {
	case errors.Is(err, errBrowser), errors.Is(err, session.ErrCap), errors.Is(err, errNoSpawn):
		return http.StatusForbidden
	case errors.Is(err, session.ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed
	case errors.Is(err, errNoRoute), errors.Is(err, session.ErrNotFound),
		errors.Is(err, secret.ErrUnknownName), errors.Is(err, secret.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, errBody), errors.Is(err, session.ErrInvalid),
		errors.Is(err, secret.ErrBadToken), errors.Is(err, secret.ErrTooBig):
		return http.StatusBadRequest
	case errors.Is(err, session.ErrExists), errors.Is(err, session.ErrState),
		errors.Is(err, session.ErrConflict), errors.Is(err, session.ErrUnlanded):
		return http.StatusConflict
	case errors.Is(err, session.ErrImage):
		return http.StatusUnprocessableEntity
	case errors.Is(err, session.ErrEngine):
		return http.StatusBadGateway
	case errors.Is(err, session.ErrClosed), errors.Is(err, session.ErrUnavailable),
		errors.Is(err, secret.ErrKeychainUnavailable), errors.Is(err, errFixedSource):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// code names an error's kind on the wire ({"error": …, "code": …}), so
// that errors sharing a status (a name taken and a session in the wrong
// state are both 409) are still told apart: the one place that does.
func code(err error) string {
	for _, k := range []struct {
		err  error
		code string
	}{
		{errBrowser, api.CodeBrowser}, {errMethod, api.CodeMethod}, {errNoRoute, api.CodeNoRoute},
		{session.ErrNotFound, api.CodeNotFound}, {secret.ErrUnknownName, api.CodeNotFound}, {secret.ErrNotFound, api.CodeNoCredential},
		{errBody, api.CodeInvalid}, {session.ErrInvalid, api.CodeInvalid}, {secret.ErrBadToken, api.CodeInvalid}, {secret.ErrTooBig, api.CodeInvalid},
		{session.ErrExists, api.CodeExists}, {session.ErrState, api.CodeState},
		{session.ErrConflict, api.CodeConflict}, {session.ErrUnlanded, api.CodeUnlanded},
		{session.ErrImage, api.CodeImage}, {session.ErrEngine, api.CodeEngine}, {session.ErrCap, api.CodeCap}, {errNoSpawn, api.CodeCap},
		{session.ErrRateLimited, api.CodeUnavailable},
		{session.ErrClosed, api.CodeUnavailable}, {session.ErrUnavailable, api.CodeUnavailable},
		{secret.ErrKeychainUnavailable, api.CodeKeychain}, {errFixedSource, api.CodeUnavailable},
	} {
		if errors.Is(err, k.err) {
			return k.code
		}
	}
	return api.CodeInternal
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, status(err), map[string]string{"error": err.Error(), "code": code(err)})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return session.Errorf(errBody, "bad request body: %v", err)
	}
	if !atEOF(dec) {
		return session.Errorf(errBody, "bad request body: data after the JSON object")
	}
	return nil
}

// atEOF reports whether a decoder has nothing left but white space: one
// request, one JSON value.
func atEOF(dec *json.Decoder) bool {
	_, err := dec.Token()
	return err == io.EOF
}

func (d *Daemon) getStatus(w http.ResponseWriter, r *http.Request) error {
	st := api.DaemonStatus{
		Version: Version, PID: os.Getpid(), Home: d.cfg.Home, ProxyPort: d.proxyPort, ProxyAddrs: d.ProxyAddrs(),
	}
	if d.mcpLn != nil {
		st.MCPURL = "http://127.0.0.1:" + strconv.Itoa(d.mcpPort) + "/mcp"
	}
	if d.mcpErr != nil {
		st.MCPError = d.mcpErr.Error()
	}
	if d.ui != nil {
		st.UIURL = d.ui.Origin()
	}
	if d.uiErr != nil {
		st.UIError = d.uiErr.Error()
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (d *Daemon) listSessions(w http.ResponseWriter, r *http.Request) error {
	ss := d.sessions.List()
	orphans := d.sessions.Orphans()
	if p := callerParent(r); p != "" {
		ss = slices.DeleteFunc(ss, func(s session.Session) bool { return s.Parent != p })
		orphans = nil // the user's containers are no child's business
	}
	ss = d.sessions.WithChanges(r.Context(), ss)
	writeJSON(w, http.StatusOK, api.SessionList{Sessions: ss, Orphans: orphans})
	return nil
}

func (d *Daemon) createSession(w http.ResponseWriter, r *http.Request) error {
	var o session.Options
	if err := readJSON(r, &o); err != nil {
		return err
	}
	o.Parent = callerParent(r)
	// A container made now could not reach the proxy.
	if !d.newWithGateway {
		if err := d.gatewayError(r.Context()); err != nil {
			return err
		}
	}
	if !queryFlag(r, "progress") {
		s, err := d.sessions.Create(r.Context(), o)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, s)
		return nil
	}
	// Progress lines are NDJSON; until the first one, an error is an
	// ordinary answer with its status.
	var ps *progressWriter
	s, err := d.sessions.CreateWithProgress(r.Context(), o, func(line string) {
		if ps == nil {
			ps = newProgress(w, http.StatusCreated)
		}
		ps.send(api.Progress{Line: line})
	})
	if ps == nil {
		if err != nil {
			return err
		}
		ps = newProgress(w, http.StatusCreated)
	}
	if err != nil {
		ps.send(api.Progress{Error: err.Error(), Status: status(err)})
		return nil
	}
	ps.send(api.Progress{Done: true, Session: &s})
	return nil
}

func (d *Daemon) getSession(w http.ResponseWriter, r *http.Request) error {
	s, err := d.sessions.Get(r.PathValue("name"))
	if err != nil {
		return err
	}
	if queryFlag(r, "changes") {
		s = d.sessions.WithChanges(r.Context(), []session.Session{s})[0]
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (d *Daemon) removeSession(w http.ResponseWriter, r *http.Request) error {
	remove := d.sessions.Remove
	if queryFlag(r, "recursive") {
		remove = d.sessions.RemoveTree
	}
	if err := remove(r.Context(), r.PathValue("name"), queryFlag(r, "force"), queryFlag(r, "discard")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// maxDiffBytes bounds the patch text one diff answer holds, whatever the
// caller asks: the daemon builds it in memory.
const maxDiffBytes = 64 << 20

func (d *Daemon) diffSession(w http.ResponseWriter, r *http.Request) error {
	o := workspace.DiffOptions{Patches: queryFlag(r, "patch")}
	if v := r.URL.Query().Get("max_bytes"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > maxDiffBytes {
			return session.Errorf(session.ErrInvalid, "max_bytes %q is not a number from 1 to %d", v, maxDiffBytes)
		}
		o.MaxPatchBytes = n
	}
	diff, err := d.sessions.Diff(r.Context(), r.PathValue("name"), o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, diff)
	return nil
}

func (d *Daemon) landSession(w http.ResponseWriter, r *http.Request) error {
	var l api.Land
	if err := readJSON(r, &l); err != nil {
		return err
	}
	name := r.PathValue("name")
	mk, err := d.sessions.Land(r.Context(), name, workspace.LandOptions{Branch: l.Branch, Force: l.Force, Tree: l.Tree})
	if err != nil {
		return err
	}
	return d.writeBroughtBack(w, name, mk)
}

func (d *Daemon) getEgress(w http.ResponseWriter, r *http.Request) error {
	rep, err := d.sessions.EgressOf(r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (d *Daemon) changeEgress(w http.ResponseWriter, r *http.Request) error {
	var c api.EgressChange
	if err := readJSON(r, &c); err != nil {
		return err
	}
	rep, err := d.sessions.AllowEgress(r.PathValue("name"), session.EgressMode(c.Mode), c.Allow)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (d *Daemon) applySession(w http.ResponseWriter, r *http.Request) error {
	var a api.Apply
	if r.ContentLength != 0 {
		if err := readJSON(r, &a); err != nil {
			return err
		}
	}
	name := r.PathValue("name")
	mk, err := d.sessions.Apply(r.Context(), name, workspace.ApplyOptions{Tree: a.Tree})
	if err != nil {
		return err
	}
	return d.writeBroughtBack(w, name, mk)
}

func (d *Daemon) writeBroughtBack(w http.ResponseWriter, name string, mk workspace.Mark) error {
	s, err := d.sessions.Get(name)
	if err != nil {
		return err
	}
	out := api.BroughtBack{Session: name, Mark: mk}
	if s.Workspace != nil {
		out.Repository = s.Workspace.Source
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// queryFlag reads a boolean query parameter: 1 or true.
func queryFlag(r *http.Request, name string) bool {
	v := r.URL.Query().Get(name)
	return v == "1" || v == "true"
}

func (d *Daemon) stopSession(w http.ResponseWriter, r *http.Request) error {
	s, err := d.sessions.Stop(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (d *Daemon) continueSession(w http.ResponseWriter, r *http.Request) error {
	var c api.Continue
	if err := readJSON(r, &c); err != nil {
		return err
	}
	s, err := d.sessions.Continue(r.Context(), r.PathValue("name"), c.Prompt)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (d *Daemon) startSession(w http.ResponseWriter, r *http.Request) error {
	s, err := d.sessions.Start(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (d *Daemon) restartSession(w http.ResponseWriter, r *http.Request) error {
	s, err := d.sessions.Restart(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (d *Daemon) waitSession(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := d.streamContext(r)
	defer cancel()
	s, err := d.sessions.Wait(ctx, r.PathValue("name"))
	if err != nil {
		if d.draining() {
			return session.Errorf(session.ErrClosed, "the daemon is shutting down")
		}
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (d *Daemon) sessionLogs(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := d.streamContext(r)
	defer cancel()
	follow := r.URL.Query().Get("follow")
	rc, err := d.sessions.Logs(ctx, r.PathValue("name"), follow == "1" || follow == "true")
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(flushWriter{w}, rc)
	return nil
}

func (d *Daemon) resizeSession(w http.ResponseWriter, r *http.Request) error {
	var rs api.Resize
	if err := readJSON(r, &rs); err != nil {
		return err
	}
	if err := d.sessions.Resize(r.Context(), r.PathValue("name"), rs.Rows, rs.Cols); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// flushWriter sends every write at once: logs -f must not sit in a buffer.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

func validUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), api.UpgradeProto) &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}
