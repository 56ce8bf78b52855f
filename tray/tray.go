// Package tray is the desktop app's tray menu: the daemon's status, one
// item per session (attach, or open a print session's result), New
// session…, Open window and Quit. It follows the daemon through one
// client.Watch and draws with fyne.io/systray, which on Linux speaks
// StatusNotifierItem and com.canonical.dbusmenu over D-Bus in pure Go, with
// no GTK loop of its own to fight Wails's. The nosystray build tag leaves
// the tray out.
package tray

import (
	"errors"
	"log/slog"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/launch"
)

// Config is what the tray shows and what its entries do. Every func is
// called from a goroutine of the tray's, never from the GUI's loop.
type Config struct {
	Client *client.Client
	// Attach attaches to an interactive session; nil opens a terminal
	// emulator (launch.InTerminal) running `clauderon attach name`.
	Attach func(name string) error
	// OpenWindow shows the window; nil leaves the entry out.
	OpenWindow func()
	// OpenSession shows a print session's result in the window; nil is
	// OpenWindow.
	OpenSession func(name string)
	// NewSession opens the window's new-session form; nil leaves the
	// entry out.
	NewSession func()
	// Quit quits the app; nil leaves the entry out.
	Quit   func()
	Logger *slog.Logger
}

// ErrStarted is returned when a tray was started already in this process:
// fyne.io/systray keeps one tray in global state and cannot start a second
// after the first ended, so a process has one tray for its life (a test
// binary too: its tests share one).
var ErrStarted = errors.New("tray: a tray was started already in this process (fyne.io/systray allows one per process)")

func (c Config) withDefaults() Config {
	if c.Client == nil {
		c.Client = &client.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Attach == nil {
		c.Attach = func(name string) error { return launch.InTerminal(launch.AttachCommand(name)) }
	}
	if c.OpenSession == nil && c.OpenWindow != nil {
		open := c.OpenWindow
		c.OpenSession = func(string) { open() }
	}
	return c
}
