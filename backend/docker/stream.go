package docker

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/clauderon/clauderon/backend"
)

// Logs returns the container's stdout and stderr. A TTY container's output
// is one raw stream; otherwise the engine's multiplexed frames are merged back
// into one stream in order.
func (b *Backend) Logs(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	return b.logs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow})
}

// LogsSince returns what the container wrote since since, by the engine's
// own timestamps.
func (b *Backend) LogsSince(ctx context.Context, id string, since time.Time) (io.ReadCloser, error) {
	return b.logs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true,
		Since: fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())})
}

func (b *Backend) logs(ctx context.Context, id string, o container.LogsOptions) (io.ReadCloser, error) {
	info, err := b.cli.ContainerInspect(ctx, id)
	if err != nil {
		return nil, b.wrapContainer(err, "logs", id)
	}
	rc, err := b.cli.ContainerLogs(ctx, id, o)
	if err != nil {
		return nil, b.wrapContainer(err, "logs", id)
	}
	if info.Config != nil && info.Config.Tty {
		return rc, nil
	}
	return demux(rc), nil
}

// demux merges a multiplexed stdout/stderr stream into one.
func demux(rc io.ReadCloser) io.ReadCloser {
	return &demuxed{PipeReader: merge(rc), src: rc}
}

// merge reads the engine's multiplexed frames from r and gives their
// payloads, stdout and stderr alike, in order.
func merge(r io.Reader) *io.PipeReader {
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, r)
		pw.CloseWithError(err)
	}()
	return pr
}

type demuxed struct {
	*io.PipeReader
	src io.Closer
}

func (d *demuxed) Close() error {
	d.PipeReader.Close()
	return d.src.Close()
}

// Attach connects to the container's stdin, stdout and stderr. Attach before
// Start to see the first output; attaching to a running container shows only
// what it prints from then on.
func (b *Backend) Attach(ctx context.Context, id string) (backend.Stream, error) {
	info, err := b.cli.ContainerInspect(ctx, id)
	if err != nil {
		return nil, b.wrapContainer(err, "attach", id)
	}
	resp, err := b.cli.ContainerAttach(ctx, id, container.AttachOptions{
		Stream: true,
		Stdin:  info.Config != nil && info.Config.OpenStdin,
		Stdout: true,
		Stderr: true,
	})
	if err != nil {
		return nil, b.wrapContainer(err, "attach", id)
	}
	s := &stream{resp: resp, r: resp.Reader}
	if info.Config == nil || !info.Config.Tty {
		s.r = merge(resp.Reader)
	}
	return s, nil
}

// stream is a hijacked attach connection.
type stream struct {
	resp types.HijackedResponse
	r    io.Reader
	once sync.Once
}

func (s *stream) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *stream) Write(p []byte) (int, error) { return s.resp.Conn.Write(p) }

// CloseWrite closes our side of stdin. Containers are created with
// StdinOnce=false so that a session outlives its attaches: the engine then
// keeps the container's stdin open and ends this attachment's output instead.
func (s *stream) CloseWrite() error { return s.resp.CloseWrite() }

func (s *stream) Close() error {
	var err error
	s.once.Do(func() {
		err = s.resp.Conn.Close()
		if pr, ok := s.r.(*io.PipeReader); ok {
			pr.Close()
		}
	})
	return err
}

// Resize sets the container's TTY size.
func (b *Backend) Resize(ctx context.Context, id string, rows, cols uint) error {
	err := b.cli.ContainerResize(ctx, id, container.ResizeOptions{Height: rows, Width: cols})
	return b.wrapContainer(err, "resize", id)
}
