package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"io"
)

// maxExecStderr bounds the stderr ExecWithInput and ExecWithOutput keep:
// it is the pod's (the agent's) and only a message.
const maxExecStderr = 8 << 10

// ExecResult is how a command run by ExecWithInput or ExecWithOutput ended.
type ExecResult struct {
	ExitCode int
	// Stderr is the command's stderr, at most 8 KiB, raw: it comes from
	// the pod, so escape it before printing.
	Stderr string
}

// ExecWithInput runs argv in the pod with produce writing its stdin (for
// example workspace.WriteTar into `tar -x -C DIR`). The stdin is closed
// when produce returns, so the command sees its end. A produce error is
// returned (and ends the exec); else the command's exit code is in the
// result and err is only for not reaching it, as with Exec.
//
// A command that exits without reading its whole stdin (tar -x failing
// early) while produce still writes can stall the WebSocket stream: the
// server stops reading, so client-go's heartbeat gets no answer, and the
// exec ends after its deadline (61 s) with an error instead of the exit
// code. Give ctx a deadline; the stderr kept so far is in the result.
func (b *Backend) ExecWithInput(ctx context.Context, pod, container string, argv []string, produce func(w io.Writer) error) (ExecResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	perr := make(chan error, 1)
	go func() {
		err := produce(pw)
		pw.CloseWithError(err) // nil: EOF for the command
		if err != nil {
			cancel()
		}
		perr <- err
	}()
	stderr := &capped{max: maxExecStderr}
	code, err := b.Exec(ctx, pod, container, argv, pr, nil, stderr)
	// Unblock produce if the exec ended first (the command exited without
	// reading everything, or the stream broke).
	pr.CloseWithError(io.ErrClosedPipe)
	if e := <-perr; e != nil && !errors.Is(e, io.ErrClosedPipe) {
		return ExecResult{ExitCode: code, Stderr: stderr.String()}, e
	}
	return ExecResult{ExitCode: code, Stderr: stderr.String()}, err
}

// ExecWithOutput runs argv in the pod with consume reading its stdout (for
// example `tar -c -C DIR .` into workspace.ReadTar). When consume returns,
// its reader is closed, which ends a command that writes on, and the exec
// is cancelled. A consume error is returned first; else err is only for
// not reaching the command, and its exit code is in the result. consume
// must not keep the reader.
func (b *Backend) ExecWithOutput(ctx context.Context, pod, container string, argv []string, consume func(r io.Reader) error) (ExecResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	stderr := &capped{max: maxExecStderr}
	type done struct {
		code int
		err  error
	}
	ch := make(chan done, 1)
	go func() {
		code, err := b.Exec(ctx, pod, container, argv, nil, pw, stderr)
		// The end of the stream for consume: EOF after the command ended,
		// the error after a broken stream (so a tar cut short by it is
		// not taken for whole).
		pw.CloseWithError(err)
		ch <- done{code, err}
	}()
	cerr := consume(pr)
	pr.CloseWithError(io.ErrClosedPipe)
	if cerr != nil {
		cancel()
	}
	d := <-ch
	res := ExecResult{ExitCode: d.code, Stderr: stderr.String()}
	if cerr != nil {
		return res, cerr
	}
	return res, d.err
}

// capped keeps the first max bytes written to it and takes the rest
// without keeping it (a writer that failed would break the exec).
type capped struct {
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string { return c.buf.String() }
