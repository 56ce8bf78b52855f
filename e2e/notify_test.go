//go:build linux

package e2e

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/internal/testenv"
	"github.com/clauderon/clauderon/notify"
	"github.com/clauderon/clauderon/notify/notifytest"
)

// TestNotifyWaiting: the desktop app's notifications, from the real
// thing: the real Claude Code in a real container ends its first turn,
// its hooks tell the daemon it waits for input, and notify.Run, watching
// the daemon's events, sends a notification naming the session to the
// notification daemon on the test's D-Bus session bus (a recorder owning
// org.freedesktop.Notifications); clicking it opens that session.
func TestNotifyWaiting(t *testing.T) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		testenv.Unavailable(t, "no D-Bus session bus: run the tests under dbus-run-session")
	}
	e := newSessionEnv(t)
	rec := notifytest.Start(t)

	logs := &syncbuf.Buffer{}
	opened := make(chan string, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- notify.Run(ctx, notify.Config{
			Client: e.d.client(),
			Open:   func(name string) { opened <- name },
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("notify.Run: %v", err)
		}
		t.Logf("notify's log:\n%s", logs)
	})
	// Watching before the session exists, so its waiting is news.
	waitFor(t, "notify watching the daemon's events", func() bool {
		return strings.Contains(logs.String(), "watching the daemon's events")
	})

	name := sname("act-notify")
	const prompt = "say hello & <wave>"
	clOK(t, e.home, "create", "--name", name, "--prompt", prompt, "--image", e.image, "--no-workdir")
	t.Cleanup(func() { cl(t, e.home, "rm", "--force", name) })

	nctx, ncancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer ncancel()
	n, err := rec.Next(nctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s, gerr := e.d.client().Get(context.Background(), name)
		t.Fatalf("no notification in 3 minutes; the session: %+v %v", s, gerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("notification %d: %q / %q", n.ID, n.Summary, n.Body)
	if want := name + " is waiting for input"; n.Summary != want {
		t.Errorf("summary %q, want %q", n.Summary, want)
	}
	if want := "Prompt: say hello &amp; &lt;wave&gt;\n"; !strings.HasPrefix(n.Body, want) {
		t.Errorf("body %q does not start with the escaped prompt %q", n.Body, want)
	}
	if n.AppName != notify.AppName || len(n.Actions) < 2 || n.Actions[0] != notify.ActionDefault {
		t.Errorf("app %q, actions %q: want %q with the default action", n.AppName, n.Actions, notify.AppName)
	}
	// It told the truth: the daemon says the agent waits.
	if s, err := e.d.client().Get(context.Background(), name); err != nil || s.Activity == nil || s.Activity.State != api.ActivityWaitingInput {
		t.Errorf("GET after the notification: %+v %v", s.Activity, err)
	}

	if err := rec.Click(n.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-opened:
		if got != name {
			t.Errorf("the click opened %q, want %q", got, name)
		}
	case <-time.After(time.Minute):
		t.Fatal("the click opened nothing")
	}
}
