package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	dockerclient "github.com/docker/docker/client"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

// The event rows kill the interactive session's container and start it
// again with the engine's API, outside clauderon, and time each engine
// event (the engine's own timestamp) to the page's DOM showing the new
// status (a MutationObserver's performance.timeOrigin + now()), and to a
// subscriber of the daemon's event stream on its socket for reference.
// Every clock is the host's CLOCK_REALTIME.

// eventRounds holds the latencies of rounds that wait 2 s before each
// event (settled: the daemon's handling of the last event, the page's
// list refresh 0.4 s after a change and Claude Code's start are over) and
// of rounds that act as soon as the page showed the last change
// (backToBack), where the new event meets the daemon still handling the
// previous one.
type eventRounds struct {
	settled, backToBack eventRows
}

type eventRows struct {
	dieDOM, startDOM, dieSub, startSub []time.Duration
}

// watchScript records when the session's status cell first reads other
// than it did, matching want.
const watchScript = `(() => {
	const cell = () => document.querySelector('#sessions tr[data-session="%s"] [data-field="status"]');
	window.__wbAt = 0;
	const want = %s;
	const check = () => {
		const c = cell();
		if (!window.__wbAt && c && want.test(c.textContent)) window.__wbAt = performance.timeOrigin + performance.now();
	};
	new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
	return true;
})()`

// stamped is something seen, and when.
type stamped[T any] struct {
	v  T
	at time.Time
}

// stream keeps what a watcher read with the time it read it.
type stream[T any] struct {
	mu  sync.Mutex
	got []stamped[T]
}

func (s *stream[T]) add(v T, at time.Time) {
	s.mu.Lock()
	s.got = append(s.got, stamped[T]{v, at})
	s.mu.Unlock()
}

// await returns the first item at or after from that ok accepts.
func (s *stream[T]) await(what string, from time.Time, ok func(T) bool) (stamped[T], error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, g := range s.got {
			if !g.at.Before(from) && ok(g.v) {
				s.mu.Unlock()
				return g, nil
			}
		}
		s.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
	return stamped[T]{}, fmt.Errorf("no %s within 60 s", what)
}

func (b *bench) eventRows(ctx context.Context) (eventRounds, error) {
	var r eventRounds
	cli, err := dockerclient.NewClientWithOpts(dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		return r, err
	}
	defer cli.Close()
	s, err := b.cl.Get(ctx, liveName)
	if err != nil {
		return r, err
	}
	id := s.ContainerID
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	engine := &stream[events.Message]{}
	msgs, errs := cli.Events(wctx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("container", id))})
	go func() {
		for {
			select {
			case m := <-msgs:
				// The engine's own time of the event, not when it was read.
				engine.add(m, time.Unix(0, m.TimeNano))
			case <-errs:
				return
			}
		}
	}()
	daemon := &stream[api.Event]{}
	evs, err := b.cl.Watch(wctx, client.WatchOptions{})
	if err != nil {
		return r, err
	}
	go func() {
		defer evs.Close()
		for {
			ev, err := evs.Next()
			if err != nil {
				return
			}
			daemon.add(ev, time.Now())
		}
	}()

	tab, cancel := chromedp.NewContext(b.browser, chromedp.WithNewBrowserContext())
	defer cancel()
	u, err := b.loginURL()
	if err != nil {
		return r, err
	}
	row := fmt.Sprintf(`document.querySelector('#sessions tr[data-session="%s"] [data-field="status"]')`, liveName)
	if err := chromedp.Do(tab, chromedp.Navigate(u), chromedp.Navigate(b.base+"/#/sessions")); err != nil {
		return r, err
	}
	logf("engine events: %d rounds of docker kill, then docker start, half of them on a settled page", b.rounds)
	for i := range b.rounds {
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](`/running/.test(`+row+`?.textContent)`, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			return r, fmt.Errorf("round %d: the session never showed running: %w", i, err)
		}
		rows, pause := &r.settled, 2*time.Second
		if i%2 == 1 {
			rows, pause = &r.backToBack, 0
		}
		time.Sleep(pause)
		dom, sub, err := b.oneEvent(tab, engine, daemon, id, "die", `/exited|stopped/`, session.StatusExited, func() error {
			return cli.ContainerKill(ctx, id, "KILL")
		})
		if err != nil {
			return r, fmt.Errorf("round %d, kill: %w", i, err)
		}
		rows.dieDOM, rows.dieSub = append(rows.dieDOM, dom), append(rows.dieSub, sub)
		time.Sleep(pause)
		dom, sub, err = b.oneEvent(tab, engine, daemon, id, "start", `/running/`, session.StatusRunning, func() error {
			return cli.ContainerStart(ctx, id, container.StartOptions{})
		})
		if err != nil {
			return r, fmt.Errorf("round %d, start: %w", i, err)
		}
		rows.startDOM, rows.startSub = append(rows.startDOM, dom), append(rows.startSub, sub)
	}
	return r, nil
}

// oneEvent arms the page's observer, acts, and answers how long after the
// engine's event the DOM and the daemon's subscriber saw the new status.
func (b *bench) oneEvent(tab context.Context, engine *stream[events.Message], daemon *stream[api.Event], id, action, want string, st api.SessionStatus, act func() error) (dom, sub time.Duration, err error) {
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](fmt.Sprintf(watchScript, liveName, want))); err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	if err := act(); err != nil {
		return 0, 0, err
	}
	ev, err := engine.await("engine "+action+" event", t0.Add(-time.Second), func(m events.Message) bool { return string(m.Action) == action })
	if err != nil {
		return 0, 0, err
	}
	got, err := daemon.await("the daemon's event", t0, func(e api.Event) bool {
		return e.Kind == api.EventChanged && e.Name == liveName && e.Session != nil && e.Session.Status == st
	})
	if err != nil {
		return 0, 0, err
	}
	wctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	at, err := chromedp.Run(wctx, chromedp.Poll[float64](`window.__wbAt`, chromedp.WithPollingTimeout(0)))
	if err != nil {
		return 0, 0, fmt.Errorf("the page never showed %s: %w", want, err)
	}
	domAt := time.UnixMicro(int64(at * 1000))
	return domAt.Sub(ev.at), got.at.Sub(ev.at), nil
}
