package tray

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
)

// proxyEvery is how often the tray asks the daemon whether its proxy is
// up: the event stream says nothing of it, and the daemon binds the bridge
// address only once the engine answers, so it can change after the start.
const proxyEvery = 15 * time.Second

// retryMax bounds the wait before watching again once the daemon is gone.
const retryMax = 10 * time.Second

// watch follows the daemon through one client.Watch at a time, and calls
// show with the menu after every change, until ctx ends. A lost stream
// (the daemon restarted, or we read too slowly) is watched again for a
// fresh snapshot.
func watch(ctx context.Context, c *client.Client, log *slog.Logger, show func(menu)) {
	wait := time.Second
	for ctx.Err() == nil {
		err := watchOnce(ctx, c, show, func() { wait = time.Second })
		if ctx.Err() != nil {
			return
		}
		log.Info("tray: the daemon's event stream ended; watching again", "err", err, "in", wait)
		msg := "the event stream ended"
		if err != nil {
			msg = err.Error()
		}
		show(build(link{err: msg}, nil))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, retryMax)
	}
}

// watchOnce follows one stream; connected is called once it delivered its
// snapshot.
func watchOnce(ctx context.Context, c *client.Client, show func(menu), connected func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l := link{connected: true, proxyUp: proxyUp(ctx, c)}
	evs, err := c.Watch(ctx, client.WatchOptions{})
	if err != nil {
		return err
	}
	defer evs.Close()

	type next struct {
		ev  api.Event
		err error
	}
	ch := make(chan next)
	go func() {
		for {
			ev, err := evs.Next()
			select {
			case ch <- next{ev, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	var known map[string]api.Session // nil until the snapshot
	tick := time.NewTicker(proxyEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if up := proxyUp(ctx, c); up != l.proxyUp && known != nil {
				l.proxyUp = up
				show(build(l, known))
			}
		case n := <-ch:
			if n.err != nil {
				if errors.Is(n.err, io.EOF) {
					return errors.New("the daemon ended the event stream")
				}
				return n.err
			}
			if !track(&known, n.ev) {
				continue
			}
			if n.ev.Kind == api.EventSnapshot {
				connected()
			}
			show(build(l, known))
		}
	}
}

func proxyUp(ctx context.Context, c *client.Client) bool {
	st, err := c.Status(ctx)
	return err == nil && st.ProxyPort > 0 && len(st.ProxyAddrs) > 0
}

// track applies ev to the sessions known, and reports whether the menu may
// have changed. Events before the snapshot are ignored.
func track(known *map[string]api.Session, ev api.Event) bool {
	if ev.Kind == api.EventSnapshot {
		*known = make(map[string]api.Session, len(ev.Sessions))
		for _, s := range ev.Sessions {
			(*known)[s.Name] = s
		}
		return true
	}
	if *known == nil || ev.Name == "" {
		return false
	}
	switch ev.Kind {
	case api.EventCreated, api.EventChanged:
		if ev.Session == nil {
			return false
		}
		(*known)[ev.Name] = *ev.Session
	case api.EventRemoved:
		delete(*known, ev.Name)
	case api.EventActivity:
		s, ok := (*known)[ev.Name]
		var a api.Activity
		if !ok || json.Unmarshal(ev.Activity, &a) != nil {
			return false
		}
		s.Activity = &a
		(*known)[ev.Name] = s
	default:
		// Usage, audit lines (never asked for), kinds of a newer daemon:
		// nothing the menu shows.
		return false
	}
	return true
}
