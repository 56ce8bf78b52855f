package desktop

import (
	"context"
	"errors"
	"io"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
)

// forward runs one client.Watch; subscribed, when set, is called with the
// subscription's error (nil once the stream is open).
func (a *App) forward(ctx context.Context, o client.WatchOptions, subscribed func(error)) error {
	evs, err := a.c.Watch(ctx, o)
	if subscribed != nil {
		subscribed(err)
	}
	if err != nil {
		return err
	}
	defer evs.Close()
	for {
		ev, err := evs.Next()
		if err != nil {
			return err
		}
		a.emit.Emit(EventDaemon, ev)
	}
}

// WatchEvents starts forwarding the daemon's events (with the proxy's
// audit lines when audit), replacing an earlier stream, and answers once
// the stream is open. When it ends for any reason but StopEvents the
// frontend gets a resync event, its cue to call WatchEvents again for a
// fresh snapshot: a stream the daemon dropped must not leave the window
// showing stale states as if live.
func (a *App) WatchEvents(audit bool) error {
	ctx, cancel := context.WithCancel(a.ctx())
	a.mu.Lock()
	if a.watch != nil {
		a.watch()
	}
	a.watch = cancel
	a.mu.Unlock()
	subscribed := make(chan error, 1)
	go func() {
		opened := false
		err := a.forward(ctx, client.WatchOptions{Audit: audit}, func(err error) {
			opened = err == nil
			subscribed <- err
		})
		// A failed subscription rejected the promise already; StopEvents,
		// a newer WatchEvents or the window's end want no resync.
		if !opened || ctx.Err() != nil {
			return
		}
		cancel()
		if !errors.Is(err, io.EOF) {
			a.emit.Emit(EventDaemon, api.Event{Kind: api.EventResync, Reason: "the event stream ended: " + err.Error()})
			return
		}
		a.emit.Emit(EventDaemon, api.Event{Kind: api.EventResync, Reason: "the daemon ended the event stream"})
	}()
	if err := <-subscribed; err != nil {
		cancel()
		return err
	}
	return nil
}

// StopEvents ends the stream WatchEvents started.
func (a *App) StopEvents() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.watch != nil {
		a.watch()
		a.watch = nil
	}
}
