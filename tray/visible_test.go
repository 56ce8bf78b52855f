//go:build !nosystray && linux

package tray

import (
	"os"
	"testing"

	"github.com/godbus/dbus/v5"
)

// TestVisible: the tray counts as shown exactly while a watcher owns its
// name, so the app hides its window on close only when it can come back.
func TestVisible(t *testing.T) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		if os.Getenv("CLAUDERON_REQUIRE_E2E") == "1" {
			t.Fatal("no D-Bus session bus")
		}
		t.Skip("no D-Bus session bus")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reply, err := conn.RequestName(watcherName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Skipf("another watcher owns %s here (%v %v)", watcherName, reply, err)
	}
	if !Visible() {
		t.Error("a watcher owns its name, but Visible says no")
	}
	if _, err := conn.ReleaseName(watcherName); err != nil {
		t.Fatal(err)
	}
	if Visible() {
		t.Error("no watcher, but Visible says yes")
	}
}
