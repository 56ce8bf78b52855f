package daemon

import (
	"encoding/json"
	"net/http"
	"os"
	"sync"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/build/agent"
	"github.com/clauderon/clauderon/session"
)

// progressWriter streams NDJSON progress lines, flushed one by one.
type progressWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
}

func newProgress(w http.ResponseWriter, code int) *progressWriter {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(code)
	return &progressWriter{w: w}
}

func (p *progressWriter) send(v api.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, _ := json.Marshal(v)
	_, _ = p.w.Write(append(b, '\n'))
	if f, ok := p.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (p *progressWriter) end(err error) {
	if err != nil {
		p.send(api.Progress{Error: err.Error()})
		return
	}
	p.send(api.Progress{Done: true})
}

func (d *Daemon) buildImage(w http.ResponseWriter, r *http.Request) error {
	var b api.BuildImage
	if err := readJSON(r, &b); err != nil {
		return err
	}
	if b.Tag == "" {
		b.Tag = session.DefaultImage
	}
	if !session.ValidImageRef(b.Tag) {
		return session.Errorf(session.ErrInvalid, "tag %q is not a valid image reference", b.Tag)
	}
	dir, err := os.MkdirTemp("", "clauderon-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	err = agent.WriteContext(dir, agent.Options{BaseImage: b.BaseImage, ClaudeVersion: b.ClaudeVersion, ClaudeBinary: b.ClaudeBinary})
	if err != nil {
		return session.Errorf(session.ErrInvalid, "%v", err)
	}
	if err := d.cfg.Backend.Ping(r.Context()); err != nil {
		return session.Errorf(session.ErrEngine, "%v", err)
	}
	p := newProgress(w, http.StatusOK)
	d.log.Info("building image", "tag", b.Tag)
	p.end(d.cfg.Backend.BuildImage(r.Context(), dir, "", b.Tag, func(line string) { p.send(api.Progress{Line: line}) }))
	return nil
}

func (d *Daemon) pullImage(w http.ResponseWriter, r *http.Request) error {
	var b api.PullImage
	if err := readJSON(r, &b); err != nil {
		return err
	}
	if !session.ValidImageRef(b.Ref) {
		return session.Errorf(session.ErrInvalid, "%q is not a valid image reference", b.Ref)
	}
	if err := d.cfg.Backend.Ping(r.Context()); err != nil {
		return session.Errorf(session.ErrEngine, "%v", err)
	}
	p := newProgress(w, http.StatusOK)
	p.end(d.cfg.Backend.PullImage(r.Context(), b.Ref, func(line string) { p.send(api.Progress{Line: line}) }))
	return nil
}
