package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
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
		var step string // the Dockerfile instruction the build is at
		err := d.cfg.Backend.BuildImage(ctx, dir, "", b.Tag, func(line string) {
			if rest, ok := strings.CutPrefix(line, "Step "); ok {
				if _, instr, ok := strings.Cut(rest, " : "); ok {
					step = instr
				}
			}
			progress(line)
		})
		if err != nil {
			return buildError(b, step, err)
		}
		return nil
	}, nil
}

// defaultBaseImage is build/agent/Dockerfile's BASE_IMAGE.
const defaultBaseImage = "debian:bookworm-slim"

// buildError says which part of the agent image's build failed and, where
// the cause is a download (a machine without a registry), how to build
// from what the machine has.
func buildError(b api.BuildImage, step string, err error) error {
	// The engine's message, without the backend's "build TAG: " the caller
	// repeats.
	if inner := errors.Unwrap(err); inner != nil && strings.HasPrefix(err.Error(), "build "+b.Tag+": ") {
		err = inner
	}
	base := b.BaseImage
	if base == "" {
		base = defaultBaseImage
	}
	instr := strings.ToUpper(strings.TrimSpace(step))
	switch {
	case strings.HasPrefix(instr, "FROM"):
		if b.BaseImage != "" {
			return fmt.Errorf("cannot get the base image %s: %w; give --base-image an image this engine has (`docker images`), or pull it first", base, err)
		}
		return fmt.Errorf("cannot get the base image %s: %w; on a machine without a registry, pass --base-image with a Debian-based image this engine already has (`docker images`), and --claude-binary with a Claude Code binary so nothing is downloaded", base, err)
	case strings.Contains(step, "apt-get"):
		return fmt.Errorf("installing packages in %s failed: %w; without a package mirror, pass --base-image with an image that already has ca-certificates, curl, git and ripgrep", base, err)
	case strings.Contains(step, "registry.npmjs.org") && b.ClaudeBinary == "":
		return fmt.Errorf("downloading Claude Code from npm failed: %w; without the npm registry, pass --claude-binary with a Claude Code binary (for example `$(command -v claude)`)", err)
	}
	return err
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
