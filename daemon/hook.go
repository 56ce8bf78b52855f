package daemon

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/session"
)

// A gateway session's Claude Code reports its activity at
// http://clauderon.internal/hook (`clauderon hook`, run by its hooks): the
// proxy authenticated the session, so the report is that session's and
// can be about nothing else. The body is the container's, so it is small,
// strict JSON, and everything in it is checked by session.ReportHook.

const hookPath = "/hook"

// errNoSpawn: a session that may not spawn asked for its MCP endpoint.
var errNoSpawn = errors.New("only a session created with --spawn may use http://clauderon.internal/mcp")

func (d *Daemon) serveHook(name string, w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, errMethod)
		return
	}
	var rep api.HookReport
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, api.MaxHookBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		writeError(w, session.Errorf(errBody, "bad hook report"))
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, session.Errorf(errBody, "bad hook report: more than one value"))
		return
	}
	if err := d.sessions.ReportHook(name, rep); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
