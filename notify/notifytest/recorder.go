// Package notifytest is a notification daemon for tests: it owns
// org.freedesktop.Notifications on the session bus, records what it is
// asked to show, and sends the signals a click or a dismissal would.
package notifytest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

const (
	name  = "org.freedesktop.Notifications"
	path  = dbus.ObjectPath("/org/freedesktop/Notifications")
	iface = "org.freedesktop.Notifications"
)

// Notification is one Notify call.
type Notification struct {
	ID, ReplacesID        uint32
	AppName, Icon         string
	Summary, Body         string
	Actions               []string
	Hints                 map[string]dbus.Variant
	ExpireTimeout         int32
	DesktopEntry, Urgency string
	// Updated: ReplacesID was still shown, and was updated in place.
	Updated bool
}

// Recorder is the notification daemon.
type Recorder struct {
	conn *dbus.Conn
	caps []string
	ch   chan Notification

	mu   sync.Mutex
	next uint32
	open map[uint32]bool
}

// Start connects to the session bus (that of the test: run it under
// dbus-run-session) and owns the notification daemon's name there until
// the test ends. caps are what GetCapabilities answers; none is
// "actions" and "body-markup".
func Start(t testing.TB, caps ...string) *Recorder {
	t.Helper()
	if len(caps) == 0 {
		caps = []string{"actions", "body", "body-markup"}
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("notifytest: the session bus: %v", err)
	}
	r := &Recorder{conn: conn, caps: caps, ch: make(chan Notification, 256), open: map[uint32]bool{}}
	if err := conn.Export(daemon{r}, path, iface); err != nil {
		conn.Close()
		t.Fatalf("notifytest: export: %v", err)
	}
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		conn.Close()
		t.Fatalf("notifytest: owning %s: reply %v, %v (another notification daemon on this bus?)", name, reply, err)
	}
	t.Cleanup(func() { conn.Close() })
	return r
}

// Next waits for the next notification.
func (r *Recorder) Next(ctx context.Context) (Notification, error) {
	select {
	case n := <-r.ch:
		return n, nil
	case <-ctx.Done():
		return Notification{}, fmt.Errorf("no notification: %w", ctx.Err())
	}
}

// Click sends what a click on notification id sends: ActionInvoked with
// the default action.
func (r *Recorder) Click(id uint32) error {
	return r.conn.Emit(path, iface+".ActionInvoked", id, "default")
}

// Dismiss closes notification id as the user would (reason 2).
func (r *Recorder) Dismiss(id uint32) error {
	r.mu.Lock()
	delete(r.open, id)
	r.mu.Unlock()
	return r.conn.Emit(path, iface+".NotificationClosed", id, uint32(2))
}

// daemon holds the exported methods, so that Recorder's own are not on
// the bus.
type daemon struct{ r *Recorder }

func (d daemon) Notify(app string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	r := d.r
	r.mu.Lock()
	n := Notification{ReplacesID: replaces, AppName: app, Icon: icon, Summary: summary, Body: body,
		Actions: actions, Hints: hints, ExpireTimeout: timeout}
	n.Updated = replaces != 0 && r.open[replaces]
	if n.Updated {
		n.ID = replaces // the specification: the same id, updated in place
	} else {
		r.next++
		n.ID = r.next
	}
	r.open[n.ID] = true
	r.mu.Unlock()
	if v, ok := hints["desktop-entry"]; ok {
		n.DesktopEntry, _ = v.Value().(string)
	}
	if v, ok := hints["urgency"]; ok {
		if b, ok := v.Value().(byte); ok {
			n.Urgency = fmt.Sprint(b)
		}
	}
	select {
	case r.ch <- n:
	default: // a test that stopped reading
	}
	return n.ID, nil
}

func (d daemon) GetCapabilities() ([]string, *dbus.Error) { return d.r.caps, nil }

func (d daemon) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "notifytest", "clauderon", "1", "1.2", nil
}

func (d daemon) CloseNotification(id uint32) *dbus.Error {
	d.r.mu.Lock()
	delete(d.r.open, id)
	d.r.mu.Unlock()
	if err := d.r.conn.Emit(path, iface+".NotificationClosed", id, uint32(3)); err != nil {
		return dbus.MakeFailedError(err)
	}
	return nil
}
