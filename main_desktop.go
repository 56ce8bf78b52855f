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

	"github.com/clauderon/clauderon/desktop"
)

func init() {
	// GTK (and Cocoa) must run on the process's main thread: keep the
	// main goroutine on it until wails.Run takes it over.
	runtime.LockOSThread()
	desktopMain = func() int {
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
