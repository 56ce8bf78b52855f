//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package secret

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
)

// unlockHint is the way to a usable keychain. `gnome-keyring-daemon
// --start` alone is no way: without a session bus it has nowhere to serve.
const unlockHint = "unlock the keyring, or run clauderon inside a D-Bus session that has an unlocked Secret Service " +
	"(without a desktop: `dbus-run-session`, in it `gnome-keyring-daemon --unlock --components=secrets` with the keyring's password on stdin, then clauderon; " +
	"see \"A keychain without a desktop\" in the README)"

var errNoBus = errors.New("DBUS_SESSION_BUS_ADDRESS is not set")

// preflight refuses to go on without a session bus address. Without one,
// godbus runs dbus-launch, which starts a stray bus that outlives clauderon
// and holds no keyring.
func preflight() error {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return nil
	}
	dir := filepath.Join("/run/user", strconv.Itoa(os.Getuid()))
	for _, f := range []string{"bus", "dbus-session"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%w and %s does not exist", errNoBus, filepath.Join(dir, "bus"))
}

// cause explains a Secret Service failure in words.
func cause(err error) string {
	var de dbus.Error
	var ne *net.OpError
	isDBus := errors.As(err, &de)
	switch {
	case errors.Is(err, errNoBus):
		return "no D-Bus session bus"
	case errors.As(err, &ne), strings.HasPrefix(err.Error(), "dbus: "):
		return "cannot connect to the D-Bus session bus"
	case isDBus && (de.Name == "org.freedesktop.DBus.Error.ServiceUnknown" || de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner"):
		return "no Secret Service (such as gnome-keyring) runs on the D-Bus session bus"
	case strings.Contains(err.Error(), "failed to unlock"):
		return "the default keyring is locked or missing and could not be unlocked"
	case isDBus && (de.Name == "org.freedesktop.DBus.Error.UnknownObject" || de.Name == "org.freedesktop.Secret.Error.NoSuchObject"):
		return "the Secret Service has no default keyring"
	}
	return "the Secret Service failed"
}
