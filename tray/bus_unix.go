//go:build !nosystray && (linux || freebsd || openbsd || netbsd)

package tray

import (
	"fmt"
	"log/slog"

	"github.com/godbus/dbus/v5"
)

// watcherName is who shows StatusNotifierItems: the panel's watcher.
const watcherName = "org.kde.StatusNotifierWatcher"

// checkBus makes a missing session bus an error rather than a tray that
// fyne only logs about (and whose end would then crash on its nil
// connection), and says when no panel will show the tray. fyne uses the
// shared dbus.SessionBus connection; so does this.
func checkBus(log *slog.Logger) error {
	conn, err := dbus.SessionBus()
	if err != nil {
		return fmt.Errorf("tray: no D-Bus session bus (%w): the tray needs one; run the app in a desktop session, or build with -tags nosystray", err)
	}
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, watcherName).Store(&has); err == nil && !has {
		log.Warn("tray: no StatusNotifierWatcher on the session bus, so no panel shows the tray (on GNOME, install the AppIndicator extension); it registers when one appears")
	}
	return nil
}

// Visible reports whether a panel shows trays now (a StatusNotifierWatcher
// owns its name on the session bus). The app hides its window on close
// only then: without a visible tray a hidden window could not be reopened
// or quit.
func Visible() bool {
	conn, err := dbus.SessionBus()
	if err != nil {
		return false
	}
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, watcherName).Store(&has); err != nil {
		return false
	}
	return has
}
