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

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/clauderon/clauderon/client"
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
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAttach(cmd.Context(), args[0])
		},
	}
}

func runAttach(ctx context.Context, name string) error {
	var c client.Client
	conn, err := c.Attach(ctx, name)
	if err != nil {
		return err
	}
	defer conn.Close()

	in, out := os.Stdin, os.Stdout
	fd := int(in.Fd())
	isTTY := term.IsTerminal(fd)
	fmt.Fprintf(os.Stderr, "attached to %s; detach with ctrl-p ctrl-q (the session keeps running)\r\n", name)
	if isTTY {
		old, err := term.MakeRaw(fd)
		if err != nil {
			return fmt.Errorf("cannot put the terminal in raw mode: %w", err)
		}
		defer term.Restore(fd, old)
		resize := func() {
			if w, h, err := term.GetSize(int(out.Fd())); err == nil && w > 0 && h > 0 {
				_ = c.Resize(ctx, name, uint(h), uint(w))
			}
		}
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		done := make(chan struct{})
		defer func() { signal.Stop(winch); close(done) }()
		go func() {
			for {
				select {
				case <-winch:
					resize()
				case <-done:
					return
				}
			}
		}()
		// A size change makes the TUI redraw, so an attach sees a full screen.
		resize()
	}

	detached := make(chan struct{})
	go func() {
		if copyDetach(conn, in) {
			close(detached)
			conn.Close()
		}
		// At the end of a non-terminal stdin (attach </dev/null, a pipe)
		// nothing more is sent, and the output keeps coming until the
		// session ends or the command is interrupted.
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	_, err = io.Copy(out, conn)
	select {
	case <-detached:
		fmt.Fprintf(os.Stderr, "\r\ndetached from %s; it keeps running (clauderon attach %s to return)\r\n", name, name)
		return nil
	default:
	}
	if ctx.Err() != nil {
		fmt.Fprintf(os.Stderr, "\r\nstopped watching %s; it keeps running (clauderon attach %s to return)\r\n", name, name)
		return nil
	}
	if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrClosed) {
		return err
	}
	fmt.Fprintf(os.Stderr, "\r\nsession %s ended\r\n", name)
	return nil
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
