package daemon

import (
	"context"
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

// line sends one line of progress.
func (p *progressWriter) line(s string) { p.send(api.Progress{Line: s}) }

func (p *progressWriter) end(err error) {
	if err != nil {
		p.send(api.Progress{Error: err.Error()})
		return
	}
	p.send(api.Progress{Done: true})
}

// BuildImage builds the agent image b describes, sending each line of the
// engine's output to progress (which may be nil).
func (d *Daemon) BuildImage(ctx context.Context, b api.BuildImage, progress func(string)) error {
	run, err := d.startBuild(ctx, b)
	if err != nil {
		return err
	}
	return run(orDiscard(progress))
}

// PullImage pulls ref, sending each line of the engine's output to
// progress (which may be nil).
func (d *Daemon) PullImage(ctx context.Context, ref string, progress func(string)) error {
	run, err := d.startPull(ctx, ref)
	if err != nil {
		return err
	}
	return run(orDiscard(progress))
}

func orDiscard(progress func(string)) func(string) {
	if progress == nil {
		return func(string) {}
	}
	return progress
}

// startBuild checks b, writes the build context and asks the engine, then
// returns the build to run: an error before it is the request's (a status
// of its own), one from run is the build's (the stream's last line). run
// must be called, and only once: it removes the build context.
func (d *Daemon) startBuild(ctx context.Context, b api.BuildImage) (run func(progress func(string)) error, err error) {
	if b.Tag == "" {
		b.Tag = session.DefaultImage
	}
	if !session.ValidImageRef(b.Tag) {
		return nil, session.Errorf(session.ErrInvalid, "tag %q is not a valid image reference", b.Tag)
	}
	dir, err := os.MkdirTemp("", "clauderon-image-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	err = agent.WriteContext(dir, agent.Options{BaseImage: b.BaseImage, ClaudeVersion: b.ClaudeVersion, ClaudeBinary: b.ClaudeBinary})
	if err != nil {
		return nil, session.Errorf(session.ErrInvalid, "%v", err)
	}
	if err := d.cfg.Backend.Ping(ctx); err != nil {
		return nil, session.Errorf(session.ErrEngine, "%v", err)
	}
	return func(progress func(string)) error {
		defer os.RemoveAll(dir)
		d.log.Info("building image", "tag", b.Tag)
		return d.cfg.Backend.BuildImage(ctx, dir, "", b.Tag, progress)
	}, nil
}

// startPull checks ref and asks the engine, then returns the pull to run,
// as startBuild.
func (d *Daemon) startPull(ctx context.Context, ref string) (run func(progress func(string)) error, err error) {
	if !session.ValidImageRef(ref) {
		return nil, session.Errorf(session.ErrInvalid, "%q is not a valid image reference", ref)
	}
	if err := d.cfg.Backend.Ping(ctx); err != nil {
		return nil, session.Errorf(session.ErrEngine, "%v", err)
	}
	return func(progress func(string)) error {
		return d.cfg.Backend.PullImage(ctx, ref, progress)
	}, nil
}

// buildImage and pullImage answer with a status while the request can be
// refused, then stream the engine's progress.
func (d *Daemon) buildImage(w http.ResponseWriter, r *http.Request) error {
	var b api.BuildImage
	if err := readJSON(r, &b); err != nil {
		return err
	}
	run, err := d.startBuild(r.Context(), b)
	if err != nil {
		return err
	}
	p := newProgress(w, http.StatusOK)
	p.end(run(p.line))
	return nil
}

func (d *Daemon) pullImage(w http.ResponseWriter, r *http.Request) error {
	var b api.PullImage
	if err := readJSON(r, &b); err != nil {
		return err
	}
	run, err := d.startPull(r.Context(), b.Ref)
	if err != nil {
		return err
	}
	p := newProgress(w, http.StatusOK)
	p.end(run(p.line))
	return nil
}
