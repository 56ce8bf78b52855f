// Package notify shows a desktop notification when a session needs the
// user: its agent waits for input, its print run finished or failed, or
// its budget is spent. It reads the daemon's one event stream and speaks
// org.freedesktop.Notifications over D-Bus, in pure Go.
package notify

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/godbus/dbus/v5"
)

// Kind is what a notification tells; each can be turned off.
type Kind string

const (
	// KindWaiting: an interactive session's agent ended its turn and
	// waits for input (or for a permission).
	KindWaiting Kind = "waiting_for_input"
	// KindFinished: a print run finished.
	KindFinished Kind = "finished"
	// KindFailed: a session failed, or a print run ended in an error.
	KindFailed Kind = "failed"
	// KindBudget: a session's budget (with its children's spending) is spent.
	KindBudget Kind = "budget_spent"
)

// Kinds are every kind, in the settings' order.
var Kinds = []Kind{KindWaiting, KindFinished, KindFailed, KindBudget}

// DefaultCoalesce is Config.Coalesce's default.
const DefaultCoalesce = 10 * time.Second

// Config is what Run needs.
type Config struct {
	// Client reads the daemon's events.
	Client *client.Client
	// Enabled turns kinds off (false) or on; a kind not in it, and every
	// kind when it is nil, is on, as in config.json's
	// desktop.notifications.
	Enabled map[Kind]bool
	// Open is called, in its own goroutine, with the session whose
	// notification the user clicked.
	Open func(name string)
	// Logger gets what went wrong (no bus, no notification daemon, the
	// stream lost); nil is slog.Default().
	Logger *slog.Logger
	// Coalesce is the shortest time between two notifications of one
	// session and kind: a flapping agent's later ones wait for the window
	// to end and replace the one shown. 0 is DefaultCoalesce.
	Coalesce time.Duration
	// Conn is the session bus; nil connects to it (and closes that
	// connection when Run returns).
	Conn *dbus.Conn
}

// Run shows notifications until ctx ends, then returns nil. Without a
// session bus or a notification daemon it logs why and shows nothing;
// that is not an error, since the rest of the app works without.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Client == nil {
		return errors.New("notify: Config.Client is nil")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	window := cfg.Coalesce
	if window <= 0 {
		window = DefaultCoalesce
	}
	conn := cfg.Conn
	if conn == nil {
		c, err := dbus.ConnectSessionBus()
		if err != nil {
			log.Warn("desktop notifications are off: cannot connect to the D-Bus session bus", "err", err)
			return nil
		}
		defer c.Close()
		conn = c
	}
	b := newBus(conn, log)
	sigs := make(chan *dbus.Signal, 16)
	unsubscribe, err := b.subscribe(sigs)
	if err != nil {
		log.Warn("desktop notifications: cannot subscribe to the notification daemon's signals; clicks will do nothing", "err", err)
	} else {
		defer unsubscribe()
	}
	b.probe(ctx)

	events := make(chan api.Event)
	go watch(ctx, cfg.Client, events, log)
	tr := newTracker(cfg.Enabled, window)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var notes []note
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			notes = tr.event(ev, time.Now())
		case <-timer.C:
			notes = tr.due(time.Now())
		case s, ok := <-sigs:
			if !ok { // the connection closed
				if ctx.Err() == nil {
					log.Warn("desktop notifications are off: the D-Bus session bus connection closed")
				}
				return nil
			}
			if name, open := b.signal(s); open && cfg.Open != nil {
				go cfg.Open(name)
			}
		}
		for _, n := range notes {
			b.show(ctx, n)
		}
		timer.Stop()
		if at, ok := tr.next(); ok {
			timer.Reset(time.Until(at))
		}
	}
}

// watch sends the daemon's events until ctx ends, watching again (a fresh
// snapshot) whenever the stream ends: at once after a resync or a drain,
// and after a growing wait while the daemon cannot be reached.
func watch(ctx context.Context, c *client.Client, out chan<- api.Event, log *slog.Logger) {
	const maxWait = 30 * time.Second
	wait, lost := time.Second, false
	for {
		evs, err := c.Watch(ctx, client.WatchOptions{})
		start := time.Now()
		if err == nil {
			if lost {
				log.Info("desktop notifications: watching the daemon's events again")
			}
			log.Debug("desktop notifications: watching the daemon's events")
			wait, lost = time.Second, false
			err = forward(ctx, evs, out)
			evs.Close()
			// A stream that lasted is watched again at once; one that ended
			// as it began (a daemon going away) waits like a failure.
			if errors.Is(err, io.EOF) && time.Since(start) > time.Second {
				continue
			}
		}
		if ctx.Err() != nil {
			return
		}
		if !lost {
			log.Warn("desktop notifications: lost the daemon's events; trying again", "err", err)
			lost = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxWait)
	}
}

func forward(ctx context.Context, evs *client.Events, out chan<- api.Event) error {
	for {
		ev, err := evs.Next()
		if err != nil {
			return err
		}
		select {
		case out <- ev:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
