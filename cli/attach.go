package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/termsafe"
)

// Detach keys, as in docker: ctrl-p then ctrl-q.
const (
	keyCtrlP = 0x10
	keyCtrlQ = 0x11
)

func newAttachCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "attach NAME",
		Short: "Attach the terminal to an interactive session (detach: ctrl-p ctrl-q)",
		Long: `Connects your terminal to an interactive session's: what you type goes to
Claude Code, and its screen is drawn again as you attach. Detach with ctrl-p
ctrl-q; the session keeps running. However attach ends, it puts your terminal
back as it was (the cursor shown, mouse and focus reporting, bracketed paste
and application keys off, the main screen), so your shell is not left in the
modes Claude Code set. Standard input must be a terminal; to watch a session
from a script, use clauderon logs -f NAME.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAttach(cmd.Context(), args[0])
		},
	}
}

// errNotTTY is docker's answer to the same request.
func errNotTTY(name string) error {
	return fmt.Errorf("the input device is not a TTY: attach connects a terminal to the session's; run it from a terminal, or read the session's output with `clauderon logs -f %s`", name)
}

func runAttach(ctx context.Context, name string) error {
	var c client.Client
	conn, err := c.Attach(ctx, name)
	if err != nil {
		return err
	}
	defer conn.Close()

	in, out, msg := os.Stdin, os.Stdout, os.Stderr
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		// A TUI reads keys and answers from a terminal: bytes from a pipe
		// would be typed into it, and its queries answered by nobody.
		return errNotTTY(name)
	}
	fmt.Fprintf(msg, "attached to %s; detach with ctrl-p ctrl-q (the session keeps running)\r\n", name)
	old, err := term.MakeRaw(fd)
	if err != nil {
		return fmt.Errorf("cannot put the terminal in raw mode: %w", err)
	}
	defer term.Restore(fd, old)

	// What the session's program does to the terminal is followed, so that
	// however attach ends the terminal is given back as it was.
	modes := termsafe.NewModes()
	screen := &watchedWriter{w: out, modes: modes, wrote: make(chan struct{}, 1)}
	_, _ = screen.Write([]byte(termsafe.PushTitle))
	// restore runs before term.Restore (deferred earlier), with the
	// terminal still raw: the message's \r\n are exact.
	restore := func(text string) {
		_, _ = out.Write(modes.Restore())
		fmt.Fprintf(msg, "\r\n%s%s\r\n", clearBelow(msg), text)
	}

	size := func() (uint, uint, bool) {
		for _, f := range []*os.File{out, in} {
			if w, h, err := term.GetSize(int(f.Fd())); err == nil && w > 0 && h > 0 {
				return uint(h), uint(w), true
			}
		}
		return 0, 0, false
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	defer func() { signal.Stop(winch); close(done) }()
	go func() {
		// A TUI draws its screen again when its terminal's size changes,
		// and only then: the kernel sends no SIGWINCH for a size that did
		// not change, so the size goes one column off and back (as tmux
		// redraws a client that attaches).
		if rows, cols, ok := size(); ok {
			resize := func(r, w uint) { _ = c.Resize(ctx, name, r, w) }
			redraw(ctx, screen.wrote, done, resize, rows, cols, size)
		}
		for {
			select {
			case <-winch:
				if rows, cols, ok := size(); ok {
					_ = c.Resize(ctx, name, rows, cols)
				}
			case <-done:
				return
			}
		}
	}()

	detached := make(chan struct{})
	go func() {
		if copyDetach(conn, in) {
			close(detached)
			conn.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	_, err = io.Copy(screen, conn)
	select {
	case <-detached:
		restore(fmt.Sprintf("detached from %s; it keeps running (clauderon attach %s to return)", name, name))
		return nil
	default:
	}
	if ctx.Err() != nil {
		restore(fmt.Sprintf("stopped watching %s; it keeps running (clauderon attach %s to return)", name, name))
		return nil
	}
	if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrClosed) {
		restore(fmt.Sprintf("lost the connection to %s: %s", name, termsafe.Line(err.Error())))
		return exitError{code: 1}
	}
	restore(fmt.Sprintf("session %s ended", name))
	return nil
}

// clearBelow erases the rest of the screen before a message on a terminal,
// so that it starts on a clean line, not over what the TUI drew below its
// cursor.
func clearBelow(w io.Writer) string {
	if isTerminal(w) {
		return "\x1b[J"
	}
	return ""
}

// redraw makes the session's program draw its screen again: it sets the
// session's terminal one column narrower (wider on a one-column terminal),
// waits for the program to draw (or a moment), then gives it the size
// that size reads now.
func redraw(ctx context.Context, wrote <-chan struct{}, done <-chan struct{}, resize func(rows, cols uint), rows, cols uint, size func() (uint, uint, bool)) {
	other := cols - 1
	if cols <= 1 {
		other = cols + 1
	}
	drain(wrote)
	resize(rows, other)
	// The program reads the size when it handles the signal: given back
	// too soon, the size it reads is the one it had, and it draws nothing.
	t := time.NewTimer(redrawWait)
	defer t.Stop()
	select {
	case <-wrote:
		time.Sleep(20 * time.Millisecond)
	case <-t.C:
	case <-done:
		return
	case <-ctx.Done():
		return
	}
	if r, c, ok := size(); ok {
		rows, cols = r, c
	}
	resize(rows, cols)
}

// redrawWait bounds the wait for a redraw at the other size.
var redrawWait = time.Second

func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// watchedWriter writes the session's output to the terminal, notes what it
// does to it, and signals each write.
type watchedWriter struct {
	w     io.Writer
	modes *termsafe.Modes
	wrote chan struct{}
}

func (s *watchedWriter) Write(p []byte) (int, error) {
	_, _ = s.modes.Write(p)
	n, err := s.w.Write(p)
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return n, err
}

// copyDetach copies in to w until EOF or the detach sequence ctrl-p ctrl-q,
// and reports whether it stopped on the sequence. A ctrl-p not followed by
// ctrl-q is passed through.
func copyDetach(w io.Writer, in io.Reader) bool {
	buf := make([]byte, 4096)
	held := false
	for {
		n, err := in.Read(buf)
		out := make([]byte, 0, n+1)
		for _, b := range buf[:n] {
			switch {
			case held && b == keyCtrlQ:
				if len(out) > 0 {
					_, _ = w.Write(out)
				}
				return true
			case held:
				out = append(out, keyCtrlP)
				held = false
				if b == keyCtrlP {
					held = true
					continue
				}
				out = append(out, b)
			case b == keyCtrlP:
				held = true
			default:
				out = append(out, b)
			}
		}
		if len(out) > 0 {
			if _, werr := w.Write(out); werr != nil {
				return false
			}
		}
		if err != nil {
			return false
		}
	}
}
