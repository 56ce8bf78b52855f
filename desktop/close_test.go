//go:build desktop

package desktop

import (
	"os"
	"testing"

	"github.com/godbus/dbus/v5"
)

// TestHideOnClose: closing hides the window only while a panel shows the
// tray, and never once Quit was chosen (Wails asks OnBeforeClose on Quit
// too, so a tray's Quit would otherwise only hide the window).
func TestHideOnClose(t *testing.T) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("no D-Bus session bus")
	}
	w := &Window{}
	if w.hideOnClose() {
		t.Skip("a StatusNotifierWatcher already runs on this bus")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if reply, err := conn.RequestName("org.kde.StatusNotifierWatcher", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning the watcher's name: %v %v", reply, err)
	}
	if !w.hideOnClose() {
		t.Error("with a tray shown, closing quits instead of hiding")
	}
	w.Quit()
	if w.hideOnClose() {
		t.Error("after Quit, closing hides instead of quitting")
	}
}
