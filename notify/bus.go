package notify

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"
)

// The freedesktop.org Desktop Notifications Specification's names.
const (
	busName  = "org.freedesktop.Notifications"
	busPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	busIface = "org.freedesktop.Notifications"

	// ActionDefault is the action a click on the notification invokes.
	ActionDefault = "default"
	// AppName is the application name notifications carry; it is also the
	// desktop entry (clauderon.desktop) daemons take the icon from.
	AppName = "clauderon"
)

// errNoDaemon: nothing owns org.freedesktop.Notifications and the bus
// cannot start anything that would.
var errNoDaemon = errors.New("no notification daemon on the D-Bus session bus (nothing owns " + busName +
	"); desktop notifications stay off until one runs, such as the desktop's own, dunst or mako")

// bus shows notifications through the session bus's notification daemon
// and maps its signals back to sessions.
type bus struct {
	conn *dbus.Conn
	log  *slog.Logger
	// caps is what the daemon said it can do; nil until it answered.
	caps []string
	// ids is each notification shown and not yet closed, by the daemon's
	// id; byKey the last one of each session and kind, which the next one
	// replaces.
	ids   map[uint32]string
	byKey map[key]uint32
	// down is set while the daemon cannot be reached, so that is logged
	// once, not for every notification.
	down bool
}

func newBus(conn *dbus.Conn, log *slog.Logger) *bus {
	return &bus{conn: conn, log: log, ids: map[uint32]string{}, byKey: map[key]uint32{}}
}

// subscribe routes the daemon's ActionInvoked and NotificationClosed
// signals to ch. Matching on the well-known name makes the bus deliver
// only the daemon's own, not another client's forgeries.
func (b *bus) subscribe(ch chan *dbus.Signal) (unsubscribe func(), err error) {
	var opts [][]dbus.MatchOption
	for _, member := range []string{"ActionInvoked", "NotificationClosed"} {
		o := []dbus.MatchOption{dbus.WithMatchSender(busName), dbus.WithMatchObjectPath(busPath),
			dbus.WithMatchInterface(busIface), dbus.WithMatchMember(member)}
		if err := b.conn.AddMatchSignal(o...); err != nil {
			return nil, err
		}
		opts = append(opts, o)
	}
	b.conn.Signal(ch)
	return func() {
		b.conn.RemoveSignal(ch)
		for _, o := range opts {
			_ = b.conn.RemoveMatchSignal(o...)
		}
	}, nil
}

// probe asks the daemon what it can do, and logs a clear line when there
// is none.
func (b *bus) probe(ctx context.Context) {
	var caps []string
	err := b.conn.Object(busName, busPath).CallWithContext(ctx, busIface+".GetCapabilities", 0).Store(&caps)
	if err != nil {
		b.unreachable(err)
		return
	}
	b.caps = caps
	if b.down {
		b.log.Info("desktop notifications: a notification daemon is on the bus now")
	}
	b.down = false
}

func (b *bus) unreachable(err error) {
	if b.down {
		return
	}
	b.down = true
	var de dbus.Error
	if errors.As(err, &de) {
		switch {
		case de.Name == "org.freedesktop.DBus.Error.ServiceUnknown" || de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner":
			b.log.Warn("desktop notifications: " + errNoDaemon.Error())
			return
		case strings.HasPrefix(de.Name, "org.freedesktop.DBus.Error.Spawn."):
			// A daemon is installed for activation but could not start
			// (dunst without a display, say).
			b.log.Warn("desktop notifications: "+errNoDaemon.Error()+"; the bus tried to start one and it failed", "err", err)
			return
		}
	}
	b.log.Warn("desktop notifications: the notification daemon does not answer", "err", err)
}

// markup reports whether bodies must be escaped: the daemon said it reads
// them as markup, or said nothing (escaped text is the safe guess).
func (b *bus) markup() bool { return b.caps == nil || slices.Contains(b.caps, "body-markup") }

// show sends n, replacing the session's last notification of that kind
// while the daemon still shows it.
func (b *bus) show(ctx context.Context, n note) {
	if b.caps == nil && !b.down {
		b.probe(ctx)
	}
	summary, body := plain(n.Summary), plain(n.Body)
	if b.markup() {
		summary, body = escapeMarkup(n.Summary), escapeMarkup(n.Body)
	}
	k := key{n.Name, n.Kind}
	replaces := b.byKey[k]
	hints := map[string]dbus.Variant{
		"desktop-entry": dbus.MakeVariant(AppName),
		"urgency":       dbus.MakeVariant(byte(1)), // normal
	}
	var id uint32
	err := b.conn.Object(busName, busPath).CallWithContext(ctx, busIface+".Notify", 0,
		AppName, replaces, AppName, summary, body, []string{ActionDefault, "Open"}, hints, int32(-1)).Store(&id)
	if err != nil {
		if ctx.Err() == nil {
			b.unreachable(err)
		}
		return
	}
	if b.down {
		b.down = false
		b.log.Info("desktop notifications: the notification daemon answers again")
	}
	if replaces != 0 && replaces != id {
		delete(b.ids, replaces)
	}
	b.ids[id] = n.Name
	b.byKey[k] = id
	b.log.Debug("desktop notification", "session", n.Name, "kind", n.Kind, "id", id)
}

// signal reads one of the daemon's signals; it returns the session to
// open when one of ours was clicked.
func (b *bus) signal(s *dbus.Signal) (name string, open bool) {
	if s.Path != busPath || len(s.Body) < 2 {
		return "", false
	}
	id, ok := s.Body[0].(uint32)
	if !ok {
		return "", false
	}
	switch s.Name {
	case busIface + ".ActionInvoked":
		action, _ := s.Body[1].(string)
		name, ok := b.ids[id]
		return name, ok && action == ActionDefault
	case busIface + ".NotificationClosed":
		if name, ok := b.ids[id]; ok {
			delete(b.ids, id)
			for k, v := range b.byKey {
				if v == id && k.name == name {
					delete(b.byKey, k)
				}
			}
		}
	}
	return "", false
}
