package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

// Resource subscriptions: a client subscribes to clauderon://sessions/NAME
// and gets notifications/resources/updated {uri} whenever that session is
// created, changes, is removed, or reports activity or usage.
//
// mcp-go v1.2.1 routes both ways of subscribing but keeps no subscription
// itself (none of its sessions implements SessionWithResourceSubscriptions)
// and lets no handler refuse one; its hooks say who subscribed to what:
//
//   - resources/subscribe and resources/unsubscribe (protocol 2025-11-25 and
//     earlier): AfterSubscribe and AfterUnsubscribe, for a registered session
//     only. A session mcp-go never registers (stateless HTTP serves each
//     request with a session of its own) has no later stream to notify on
//     and no end anyone reports, so its subscription is not kept. Every
//     subscription of a session goes when it is unregistered (the client
//     disconnected, or DELETEd its HTTP session).
//   - subscriptions/listen (2026-07-28, where resources/subscribe is gone):
//     BeforeSubscriptionsListen, whose request context ends with the stream;
//     each notification carries the stream's subscription ID.
//
// What feeds them is one client.Watch of the daemon's events per server,
// made with the server's own client, which is also what resources/read and
// every tool use: the daemon serves that client only what its caller may
// see (a session's own MCP server sees its children alone, and the daemon
// filters their events the same way; a client refused GET /events gets no
// notification at all), so a subscriber hears of no session it could not
// read. The watch runs while someone subscribes (and a little after, so
// that a client reopening its stream does not restart it), and ends with
// Config.Context.

const (
	// maxSubscribed bounds the URIs one subscriber holds; more are ignored.
	maxSubscribed = 1024
	// watchLinger is how long the watch outlives its last subscription.
	watchLinger = 2 * time.Second
	// readyWait bounds how long a subscription is held back for the
	// watch's first snapshot, so that no change after its answer is missed.
	readyWait = 5 * time.Second
	// retryMin and retryMax bound the wait before watching again.
	retryMin = 100 * time.Millisecond
	retryMax = 10 * time.Second
	// healthyStream is how long a stream must have run for the next
	// wait to start again from retryMin.
	healthyStream = 2 * time.Second
)

// subscriptions is who subscribed to which session, and the watch that
// notifies them.
type subscriptions struct {
	c    *client.Client
	log  *slog.Logger
	life context.Context

	mu         sync.Mutex
	registered map[string]server.ClientSession // by session ID: those mcp-go reports the end of
	byID       map[string]*subscriber          // resources/subscribe, by session ID
	listens    map[*subscriber]struct{}        // subscriptions/listen streams
	w          *watcher                        // nil when no watch runs
}

// subscriber is one session's resources/subscribe subscriptions, or one
// subscriptions/listen stream's.
type subscriber struct {
	session server.ClientSession
	listen  any // the subscriptions/listen request's ID; nil for resources/subscribe
	names   map[string]struct{}
}

type watcher struct {
	stop      context.CancelFunc
	ready     chan struct{} // closed at the first snapshot, or when the watch ends
	readyOnce sync.Once
	idle      *time.Timer // set while nobody subscribes
}

func (w *watcher) markReady() { w.readyOnce.Do(func() { close(w.ready) }) }

func newSubscriptions(c *client.Client, log *slog.Logger, life context.Context) *subscriptions {
	if life == nil {
		life = context.Background()
	}
	return &subscriptions{c: c, log: log, life: life,
		registered: map[string]server.ClientSession{}, byID: map[string]*subscriber{}, listens: map[*subscriber]struct{}{}}
}

// hooks are what tells subscriptions of subscribers coming and going.
func (s *subscriptions) hooks() *server.Hooks {
	h := &server.Hooks{}
	h.AddOnRegisterSession(s.onRegister)
	h.AddOnUnregisterSession(s.onUnregister)
	h.AddAfterSubscribe(s.afterSubscribe)
	h.AddAfterUnsubscribe(s.afterUnsubscribe)
	h.AddBeforeSubscriptionsListen(s.beforeListen)
	return h
}

// sessionName is the session a URI names, if it is one of the session
// resources that resources/read would look up.
func sessionName(uri string) (string, bool) {
	name, ok := strings.CutPrefix(uri, sessionURIPrefix)
	if !ok || session.ValidateName(name) != nil {
		return "", false
	}
	return name, true
}

func (s *subscriptions) onRegister(_ context.Context, cs server.ClientSession) {
	if cs == nil || cs.SessionID() == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registered[cs.SessionID()] = cs
}

// onUnregister forgets every subscription of a session that ended: its own,
// and those of the listen streams it carried.
func (s *subscriptions) onUnregister(_ context.Context, cs server.ClientSession) {
	if cs == nil || cs.SessionID() == "" {
		return
	}
	id := cs.SessionID()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.registered[id] == cs {
		delete(s.registered, id)
	}
	delete(s.byID, id)
	for sub := range s.listens {
		if sub.session == cs {
			delete(s.listens, sub)
		}
	}
	s.releaseLocked()
}

func (s *subscriptions) afterSubscribe(ctx context.Context, _ any, req *mcp.SubscribeRequest, _ *mcp.EmptyResult) {
	cs := server.ClientSessionFromContext(ctx)
	name, ok := sessionName(req.Params.URI)
	if cs == nil || !ok {
		return
	}
	s.mu.Lock()
	id := cs.SessionID()
	if id == "" || s.registered[id] != cs {
		s.mu.Unlock()
		s.log.Debug("resources/subscribe on a session with no lasting stream is not kept; subscribe with subscriptions/listen", "uri", req.Params.URI)
		return
	}
	sub := s.byID[id]
	if sub == nil {
		sub = &subscriber{session: cs, names: map[string]struct{}{}}
		s.byID[id] = sub
	}
	if !sub.add(name) {
		s.mu.Unlock()
		s.log.Warn("too many subscriptions; this one is ignored", "session", id, "uri", req.Params.URI)
		return
	}
	ready := s.watchLocked()
	s.mu.Unlock()
	s.awaitReady(ctx, ready)
}

func (s *subscriptions) afterUnsubscribe(ctx context.Context, _ any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
	cs := server.ClientSessionFromContext(ctx)
	name, ok := sessionName(req.Params.URI)
	if cs == nil || !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := cs.SessionID()
	if sub := s.byID[id]; sub != nil && sub.session == cs {
		delete(sub.names, name)
		if len(sub.names) == 0 {
			delete(s.byID, id)
		}
	}
	s.releaseLocked()
}

// beforeListen keeps a subscriptions/listen stream's resource
// subscriptions for as long as its request runs. mcp-go establishes every
// URI asked for once resources.subscribe is declared.
func (s *subscriptions) beforeListen(ctx context.Context, id any, req *mcp.SubscriptionsListenRequest) {
	cs := server.ClientSessionFromContext(ctx)
	if cs == nil || id == nil {
		return
	}
	sub := &subscriber{session: cs, listen: id, names: map[string]struct{}{}}
	for _, uri := range req.Params.Notifications.ResourceSubscriptions {
		if name, ok := sessionName(uri); ok && !sub.add(name) {
			s.log.Warn("too many subscriptions on one stream; the rest are ignored", "uris", len(req.Params.Notifications.ResourceSubscriptions))
			break
		}
	}
	if len(sub.names) == 0 {
		return
	}
	s.mu.Lock()
	s.listens[sub] = struct{}{}
	ready := s.watchLocked()
	s.mu.Unlock()
	// HandleMessage cancels the request's context when the stream ends,
	// however it ends.
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.listens, sub)
		s.releaseLocked()
	})
	s.awaitReady(ctx, ready)
}

func (sub *subscriber) add(name string) bool {
	if _, ok := sub.names[name]; ok {
		return true
	}
	if len(sub.names) >= maxSubscribed {
		return false
	}
	sub.names[name] = struct{}{}
	return true
}

// awaitReady holds a subscription's answer back until the watch has its
// first snapshot: from then on, no change is missed.
func (s *subscriptions) awaitReady(ctx context.Context, ready <-chan struct{}) {
	t := time.NewTimer(readyWait)
	defer t.Stop()
	select {
	case <-ready:
	case <-t.C:
		s.log.Info("the daemon's event stream is not up yet; subscriptions are notified once it is")
	case <-ctx.Done():
	}
}

// watchLocked makes sure the watch runs, and returns what is closed once it
// has its first snapshot. Call with mu held.
func (s *subscriptions) watchLocked() <-chan struct{} {
	if w := s.w; w != nil {
		if w.idle != nil {
			w.idle.Stop()
			w.idle = nil
		}
		return w.ready
	}
	ctx, stop := context.WithCancel(s.life)
	w := &watcher{stop: stop, ready: make(chan struct{})}
	s.w = w
	go s.run(ctx, w)
	return w.ready
}

// releaseLocked stops the watch a little after its last subscription went.
// Call with mu held.
func (s *subscriptions) releaseLocked() {
	w := s.w
	if w == nil || w.idle != nil || len(s.byID) > 0 || len(s.listens) > 0 {
		return
	}
	w.idle = time.AfterFunc(watchLinger, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.w == w && len(s.byID) == 0 && len(s.listens) == 0 {
			w.stop()
			s.w = nil
		}
	})
}

// run is the watch: it follows the daemon's events until ctx ends, and
// after a stream ends (the daemon dropped it as fallen behind, or went
// away) watches again, waiting longer after each failure.
func (s *subscriptions) run(ctx context.Context, w *watcher) {
	defer func() {
		w.stop()
		w.markReady()
		s.mu.Lock()
		if s.w == w {
			s.w = nil
		}
		s.mu.Unlock()
	}()
	var known map[string]api.Session // every session as last seen; nil before the first snapshot
	var wait time.Duration
	for {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		ev, err := s.c.Watch(ctx, client.WatchOptions{})
		if ctx.Err() != nil {
			if err == nil {
				ev.Close()
			}
			return
		}
		if err != nil {
			if refused(err) {
				s.log.Warn("this MCP server's client may not watch the daemon's events: resource subscriptions get no notifications", "err", err)
				return
			}
			wait = min(max(2*wait, retryMin), retryMax)
			s.log.Info("cannot watch the daemon's events; trying again", "in", wait, "err", err)
			continue
		}
		began := time.Now()
		fresh := s.follow(ev, &known, w)
		ev.Close()
		if ctx.Err() != nil {
			return
		}
		// A stream that ran a while ended by chance (it fell behind, the
		// daemon restarted): watch again soon. One that ends as soon as
		// it began (a daemon draining) waits longer each time.
		if fresh && time.Since(began) >= healthyStream {
			wait = retryMin
		} else {
			wait = min(max(2*wait, retryMin), retryMax)
		}
		s.log.Info("the daemon's event stream ended; watching again", "in", wait)
	}
}

// refused is an answer that watching again will not change: this client
// may not reach GET /events at all.
func refused(err error) bool {
	var ae *client.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Status {
	case http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed:
		return true
	}
	return false
}

// follow reads one stream to its end, notifying each event's subscribers,
// and reports whether a snapshot came. A snapshot after an earlier one (the
// stream was watched again) notifies every session that differs from what
// was last seen, appeared, or went: what changed while nobody watched.
func (s *subscriptions) follow(ev *client.Events, known *map[string]api.Session, w *watcher) (fresh bool) {
	for {
		e, err := ev.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, context.Canceled) {
				s.log.Info("the daemon's event stream broke", "err", err)
			}
			return fresh
		}
		name := e.Name
		if name == "" && e.Session != nil {
			name = e.Session.Name
		}
		switch e.Kind {
		case api.EventSnapshot:
			now := make(map[string]api.Session, len(e.Sessions))
			for _, ss := range e.Sessions {
				now[ss.Name] = ss
			}
			if *known != nil {
				s.notify(differ(*known, now)...)
			}
			*known = now
			fresh = true
			w.markReady()
			continue
		case api.EventResync:
			s.log.Info("the daemon's event stream fell behind", "reason", e.Reason)
			continue
		}
		if name == "" {
			continue
		}
		if *known == nil {
			*known = map[string]api.Session{}
		}
		switch e.Kind {
		case api.EventCreated, api.EventChanged:
			if e.Session != nil {
				(*known)[name] = *e.Session
			}
		case api.EventRemoved:
			delete(*known, name)
		case api.EventActivity:
			if ss, ok := (*known)[name]; ok {
				var a api.Activity
				if json.Unmarshal(e.Activity, &a) == nil {
					ss.Activity = &a
					(*known)[name] = ss
				}
			}
		case api.EventUsage:
			if ss, ok := (*known)[name]; ok {
				var u api.Usage
				if json.Unmarshal(e.Usage, &u) == nil {
					ss.Usage = &u
					(*known)[name] = ss
				}
			}
		default:
			continue // audit lines, never asked for; kinds of a newer daemon
		}
		s.notify(name)
	}
}

// differ names the sessions of before and now whose states are not the same.
func differ(before, now map[string]api.Session) []string {
	var out []string
	for name, b := range before {
		n, ok := now[name]
		if !ok || !sameState(b, n) {
			out = append(out, name)
		}
	}
	for name := range now {
		if _, ok := before[name]; !ok {
			out = append(out, name)
		}
	}
	return out
}

func sameState(a, b api.Session) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// notify sends notifications/resources/updated to every subscriber of each
// of names. A send never blocks: a client that reads none of them loses
// them, not the others theirs. Sending under mu means none reaches a
// subscription once it is gone.
func (s *subscriptions) notify(names ...string) {
	if len(names) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range names {
		for _, sub := range s.byID {
			if _, ok := sub.names[name]; ok && sub.session.Initialized() {
				s.send(sub, name)
			}
		}
		for sub := range s.listens {
			if _, ok := sub.names[name]; ok {
				s.send(sub, name)
			}
		}
	}
}

func (s *subscriptions) send(sub *subscriber, name string) {
	uri := sessionURIPrefix + name
	n := mcp.JSONRPCNotification{JSONRPC: mcp.JSONRPC_VERSION, Notification: mcp.Notification{
		Method: mcp.MethodNotificationResourceUpdated,
		Params: mcp.NotificationParams{AdditionalFields: map[string]any{"uri": uri}},
	}}
	if sub.listen != nil {
		n.Params.Meta = map[string]any{mcp.MetaKeySubscriptionID: sub.listen}
	}
	if up, ok := sub.session.(server.SessionWithStreamableHTTPConfig); ok {
		up.UpgradeToSSEWhenReceiveNotification()
	}
	select {
	case sub.session.NotificationChannel() <- n:
	default:
		s.log.Debug("a client reads no notifications; one is dropped", "session", sub.session.SessionID(), "uri", uri)
	}
}
