//go:build desktop

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/clauderon/clauderon/cli"
	"github.com/clauderon/clauderon/desktop"
)

func init() {
	// GTK (and Cocoa) must run on the process's main thread: keep the
	// main goroutine on it until wails.Run takes it over.
	runtime.LockOSThread()
	desktopMain = func() int {
		if runtime.GOOS == "linux" && os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			// No display (a server, an ssh login): the CLI's help, not a
			// daemon started and a GTK panic.
			fmt.Fprintln(os.Stderr, "clauderon: no display for the desktop app (DISPLAY and WAYLAND_DISPLAY are unset); without one, run `clauderon daemon` and open the web UI with `clauderon ui --print`")
			return cli.Main([]string{"--help"})
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		if err := desktop.Run(ctx, log); err != nil {
			fmt.Fprintln(os.Stderr, "clauderon:", err)
			return 1
		}
		return 0
	}
}
