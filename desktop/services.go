//go:build desktop

package desktop

import (
	"context"
	"errors"
	"net/url"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/launch"
	"github.com/clauderon/clauderon/notify"
	"github.com/clauderon/clauderon/tray"
)

// The tray and the notifications run beside the window, each from one
// client.Watch of its own, and end with the app.
func init() {
	services = append(services, runTray, runNotify)
}

// sessionRoute is the frontend's route of one session.
func sessionRoute(name string) string { return "#/sessions/" + url.PathEscape(name) }

// attach is the tray's click on an interactive session: the user's
// terminal emulator running `clauderon attach NAME`, or the window's own
// terminal when desktop.terminal is "window" in config.json. With no
// terminal emulator found, the window shows the command to copy.
func (w *Window) attach(name string) error {
	if w.Config.Terminal == config.TerminalWindow {
		w.Open(sessionRoute(name))
		return nil
	}
	argv := launch.AttachCommand(name)
	err := launch.InTerminal(argv)
	if errors.Is(err, launch.ErrNoTerminal) {
		w.Show()
		w.App.emit.Emit(EventNoTerminal, NoTerminal{Session: name, Command: launch.CommandLine(argv), Error: err.Error()})
	}
	return err
}

func runTray(ctx context.Context, w *Window) error {
	start, end := tray.RunExternal(ctx, tray.Config{
		Client:      w.App.c,
		Attach:      w.attach,
		OpenWindow:  w.Show,
		OpenSession: func(name string) { w.Open(sessionRoute(name)) },
		NewSession:  func() { w.Open("#/new") },
		Quit:        w.Quit,
		Logger:      w.Logger,
	})
	start()
	<-ctx.Done()
	end()
	return nil
}

func runNotify(ctx context.Context, w *Window) error {
	enabled := map[notify.Kind]bool{}
	for k, on := range w.Config.Notifications {
		enabled[notify.Kind(k)] = on
	}
	return notify.Run(ctx, notify.Config{
		Client:  w.App.c,
		Enabled: enabled,
		// A click shows the session in the window, where an interactive
		// one's terminal is a click away and a print run's result shows.
		Open:   func(name string) { w.Open(sessionRoute(name)) },
		Logger: w.Logger,
	})
}
