//go:build !nosystray && !(linux || freebsd || openbsd || netbsd)

package tray

import "log/slog"

// checkBus: macOS and Windows trays need no bus.
func checkBus(*slog.Logger) error { return nil }

// Visible: macOS and Windows always show the tray.
func Visible() bool { return true }
