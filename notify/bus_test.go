package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/internal/testenv"
	"github.com/clauderon/clauderon/notify/notifytest"
)

// fakeDaemon serves GET /events on a unix socket: each stream gets the
// snapshot, then whatever the test sends.
type fakeDaemon struct {
	mu       sync.Mutex
	snapshot api.Event
	events   chan api.Event
	watches  int
}

// setSnapshot is what the next stream starts with.
func (f *fakeDaemon) setSnapshot(ev api.Event) {
	f.mu.Lock()
	f.snapshot = ev
	f.mu.Unlock()
}

func startFakeDaemon(t *testing.T, snap api.Event) (*fakeDaemon, *client.Client) {
	t.Helper()
	f := &fakeDaemon{snapshot: snap, events: make(chan api.Event)}
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != api.APIPrefix+"/events" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		send := func(ev api.Event) bool {
			if enc.Encode(ev) != nil {
				return false
			}
			w.(http.Flusher).Flush()
			return true
		}
		f.mu.Lock()
		snap := f.snapshot
		f.watches++
		f.mu.Unlock()
		if !send(snap) {
			return
		}
		for {
			select {
			case ev := <-f.events:
				// A resync is a stream's last event, as the daemon's.
				if !send(ev) || ev.Kind == api.EventResync {
					return
				}
			case <-r.Context().Done():
				return
			}
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return f, &client.Client{Socket: sock}
}

func (f *fakeDaemon) send(t *testing.T, evs ...api.Event) {
	t.Helper()
	for _, ev := range evs {
		select {
		case f.events <- ev:
		case <-time.After(time.Minute):
			t.Fatalf("nobody reads the event stream (sending %s)", ev.Kind)
		}
	}
}

func requireBus(t *testing.T) {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		testenv.Unavailable(t, "no D-Bus session bus: run the tests under dbus-run-session")
	}
}

// runNotify runs Run until the test ends; opened receives what a click opened.
func runNotify(t *testing.T, cfg Config) (opened chan string, logs *syncbuf.Buffer) {
	t.Helper()
	opened = make(chan string, 16)
	logs = &syncbuf.Buffer{}
	cfg.Open = func(name string) { opened <- name }
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		t.Logf("notify's log:\n%s", logs)
	})
	return opened, logs
}

func next(t *testing.T, r *notifytest.Recorder) notifytest.Notification {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("notification %d (replaces %d): %q / %q", n.ID, n.ReplacesID, n.Summary, n.Body)
	return n
}

func nextOpened(t *testing.T, opened chan string) string {
	t.Helper()
	select {
	case name := <-opened:
		return name
	case <-time.After(time.Minute):
		t.Fatal("a click opened nothing")
		return ""
	}
}

// TestRunRecorder: Run, fed by an event stream, sends Notify to the
// notification daemon on the bus: escaped, with the default action, the
// next one of a session and kind replacing the last; a click on one opens
// its session, a click on another application's does nothing, and a
// closed one is not replaced.
func TestRunRecorder(t *testing.T) {
	requireBus(t)
	rec := notifytest.Start(t)
	f, c := startFakeDaemon(t, snapshot(sess("i", api.ModeInteractive, api.StatusRunning), sess("p", api.ModePrint, api.StatusRunning)))
	opened, _ := runNotify(t, Config{Client: c, Coalesce: 50 * time.Millisecond})

	f.send(t, activity("i", api.ActivityWorking), activity("i", api.ActivityWaitingInput))
	first := next(t, rec)
	if first.Summary != "i is waiting for input" || first.ReplacesID != 0 || first.AppName != AppName ||
		!slices.Contains(first.Actions, ActionDefault) || first.DesktopEntry != AppName || first.ExpireTimeout != -1 {
		t.Errorf("first notification: %+v", first)
	}

	f.send(t, changed(exited("p", 0, &api.Result{Text: "<b>bold</b> & \x1b[31mred"})))
	fin := next(t, rec)
	if want := "&lt;b&gt;bold&lt;/b&gt; &amp; \\x1b[31mred"; fin.Summary != "p finished" || fin.Body != want {
		t.Errorf("finished: %q / %q, want body %q", fin.Summary, fin.Body, want)
	}

	// The agent waits again: after the window at the latest, the new one
	// replaces the first in place.
	f.send(t, activity("i", api.ActivityWorking), activity("i", api.ActivityWaitingInput))
	again := next(t, rec)
	if again.ReplacesID != first.ID || !again.Updated || again.Summary != first.Summary {
		t.Errorf("the second waiting: %+v, want it to replace %d", again, first.ID)
	}

	// Another application's notification (an id not ours) opens nothing:
	// the first session opened is the one clicked after it.
	if err := rec.Click(9999); err != nil {
		t.Fatal(err)
	}
	if err := rec.Click(fin.ID); err != nil {
		t.Fatal(err)
	}
	if got := nextOpened(t, opened); got != "p" {
		t.Errorf("clicking p's notification opened %q", got)
	}
	if err := rec.Click(again.ID); err != nil {
		t.Fatal(err)
	}
	if got := nextOpened(t, opened); got != "i" {
		t.Errorf("clicking i's notification opened %q", got)
	}

	// Dismissed, it is forgotten: the next one is new, not a replacement.
	if err := rec.Dismiss(again.ID); err != nil {
		t.Fatal(err)
	}
	if err := rec.Click(again.ID); err != nil { // late: ignored
		t.Fatal(err)
	}
	if err := rec.Click(fin.ID); err != nil {
		t.Fatal(err)
	}
	if got := nextOpened(t, opened); got != "p" {
		t.Errorf("after the dismissal a click opened %q, want p", got)
	}
	f.send(t, activity("i", api.ActivityWorking), activity("i", api.ActivityWaitingInput))
	if n := next(t, rec); n.ReplacesID != 0 || n.ID == again.ID {
		t.Errorf("after the dismissal: %+v, want a new notification", n)
	}
}

// TestRunResync: after a resync ends the stream, Run watches again, and
// what the new snapshot shows changed meanwhile is notified.
func TestRunResync(t *testing.T) {
	requireBus(t)
	rec := notifytest.Start(t)
	f, c := startFakeDaemon(t, snapshot(sess("i", api.ModeInteractive, api.StatusRunning), sess("p", api.ModePrint, api.StatusRunning)))
	runNotify(t, Config{Client: c})
	f.send(t, activity("i", api.ActivityWaitingInput))
	if n := next(t, rec); n.Summary != "i is waiting for input" {
		t.Fatalf("before the resync: %q", n.Summary)
	}
	// Missed while the stream was lost: p finished.
	f.setSnapshot(snapshot(sess("i", api.ModeInteractive, api.StatusRunning), exited("p", 0, &api.Result{Text: "ok"})))
	f.send(t, api.Event{Kind: api.EventResync, Reason: "too slow"})
	if n := next(t, rec); n.Summary != "p finished" || n.Body != "ok" {
		t.Errorf("after the resync: %q / %q, want p finished", n.Summary, n.Body)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.watches != 2 {
		t.Errorf("%d watches, want 2", f.watches)
	}
}

// TestRunPlainDaemon: a daemon without body-markup gets plain text, not
// entities it would show as they are; control characters stay escaped.
func TestRunPlainDaemon(t *testing.T) {
	requireBus(t)
	rec := notifytest.Start(t, "actions", "body")
	f, c := startFakeDaemon(t, snapshot(sess("p", api.ModePrint, api.StatusRunning)))
	runNotify(t, Config{Client: c})
	f.send(t, changed(exited("p", 3, &api.Result{Text: "a < b & \x1b]0;title\x07", IsError: true})))
	n := next(t, rec)
	if want := `a < b & \x1b]0;title\x07`; n.Summary != "p failed" || n.Body != want {
		t.Errorf("failed: %q / %q, want body %q", n.Summary, n.Body, want)
	}
}

// TestRunNoDaemon: with nothing owning org.freedesktop.Notifications, Run
// says so in its log, keeps reading events and ends cleanly; without a
// session bus at all it says that and returns nil.
func TestRunNoDaemon(t *testing.T) {
	requireBus(t)
	f, c := startFakeDaemon(t, snapshot(sess("i", api.ModeInteractive, api.StatusRunning)))
	_, logs := runNotify(t, Config{Client: c})
	f.send(t, activity("i", api.ActivityWaitingInput), activity("i", api.ActivityWorking)) // read: Run is alive
	waitLog(t, logs, "no notification daemon on the D-Bus session bus")
	if n := strings.Count(logs.String(), "no notification daemon"); n != 1 {
		t.Errorf("the missing daemon was logged %d times, want once:\n%s", n, logs)
	}

	t.Run("no bus", func(t *testing.T) {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "nothing"))
		logs := &syncbuf.Buffer{}
		err := Run(context.Background(), Config{Client: c, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil || !strings.Contains(logs.String(), "cannot connect to the D-Bus session bus") {
			t.Errorf("Run without a bus: %v, logged:\n%s", err, logs)
		}
	})
}

func waitLog(t *testing.T, logs *syncbuf.Buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q:\n%s", want, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
