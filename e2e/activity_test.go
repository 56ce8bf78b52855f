//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

// TestActivity: the real Claude Code in a real container reports its
// activity through its hooks: the fake upstream answers first with a
// Bash tool_use (`true`) and then with text, and a subscriber to the
// daemon's events, there before the session is created, sees the
// session's activity go to working with tool Bash and then, later, to
// waiting_for_input once the turn ends, and no waiting_for_input before
// it. The same holds in an image without curl: the hook is clauderon's own
// static binary. The tool takes no time: the stream loses no state, however
// briefly it lasted. list and list --json show the last one.
func TestActivity(t *testing.T) {
	e := newSessionEnv(t)
	e.fake.SetRespond(func(body []byte) *fakeanthropic.Turn {
		m := fakeanthropic.ParseMessages(body)
		if !m.HasTool("Bash") || !strings.Contains(string(body), "run the command") {
			return nil // Claude Code's side requests
		}
		if len(m.ToolResults()) > 0 {
			return &fakeanthropic.Turn{Text: "the command ran"}
		}
		return &fakeanthropic.Turn{ToolUse: &fakeanthropic.ToolUse{Name: "Bash", Input: map[string]any{"command": "true", "description": "run it"}}}
	})
	t.Cleanup(func() { e.fake.SetRespond(nil) })
	noCurl := derivedImage(t, e.image, "USER root\nRUN rm -f /usr/bin/curl /usr/local/bin/curl && ! command -v curl\nUSER claude")
	for _, tc := range []struct{ name, image string }{{"image", e.image}, {"no curl", noCurl}} {
		t.Run(tc.name, func(t *testing.T) {
			name := sname("act-" + strings.ReplaceAll(tc.name, " ", ""))
			acts := watchActivity(t, e.d.client(), name)
			clOK(t, e.home, "create", "--name", name, "--prompt", "run the command", "--image", tc.image, "--no-workdir")
			t.Cleanup(func() { cl(t, e.home, "rm", "--force", name) })

			var seen []string
			var last api.Activity
			sawTool := false
			timeout := time.After(3 * time.Minute)
		events:
			for {
				var a api.Activity
				select {
				case got, ok := <-acts:
					if !ok {
						break events
					}
					a = got
				case <-timeout:
					t.Fatalf("no working: Bash, then waiting_for_input in 3 minutes: %s", strings.Join(seen, " → "))
				}
				seen = append(seen, a.String())
				t.Logf("activity event: %s (source %s, known %v)", a.String(), a.Source, a.Known)
				if a.State == api.ActivityWaitingInput && !sawTool {
					t.Fatalf("waiting_for_input before working: Bash: %s", strings.Join(seen, " → "))
				}
				if a.State == api.ActivityWorking && a.Tool == "Bash" {
					if a.Source != api.ActivityFromHooks || !a.Known {
						t.Errorf("working: Bash not from the hooks: %+v", a)
					}
					sawTool = true
				}
				last = a
				if sawTool && a.State == api.ActivityWaitingInput {
					break events
				}
			}
			if !sawTool || last.State != api.ActivityWaitingInput {
				t.Fatalf("the events ended before working: Bash, then waiting_for_input: %s", strings.Join(seen, " → "))
			}
			if !last.Known || last.Source != api.ActivityFromHooks {
				t.Errorf("the last activity %+v is not the hooks'", last)
			}
			// What GET, list and list --json show is the stream's last state.
			if s, err := e.d.client().Get(context.Background(), name); err != nil || s.Activity == nil ||
				s.Activity.State != api.ActivityWaitingInput || s.Activity.Source != api.ActivityFromHooks {
				t.Errorf("GET after waiting_for_input: %+v %v", s.Activity, err)
			}
			if out := clOK(t, e.home, "list"); !strings.Contains(out, "waiting for input") {
				t.Errorf("list shows no activity:\n%s", out)
			}
			if out := clOK(t, e.home, "list", "--json"); !strings.Contains(out, `"waiting_for_input"`) {
				t.Errorf("list --json carries no activity:\n%s", out)
			}
			t.Logf("states seen: %s", strings.Join(seen, " → "))
		})
	}
}

// watchActivity subscribes to the daemon's events now, before the caller
// creates session name, and sends each of name's activity events, in the
// stream's order, until the test ends. A resync or a gap in sequence
// numbers (events lost) fails the test; the channel closes when the
// stream ends.
func watchActivity(t *testing.T, c *client.Client, name string) <-chan api.Activity {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	evs, err := c.Watch(ctx, client.WatchOptions{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	first, err := evs.Next()
	if err != nil || first.Kind != api.EventSnapshot {
		cancel()
		t.Fatalf("the stream's first event: %+v %v", first, err)
	}
	for _, s := range first.Sessions {
		if s.Name == name {
			t.Errorf("%s is in the snapshot before it was created", name)
		}
	}
	out := make(chan api.Activity, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		seq := first.Seq
		for {
			ev, err := evs.Next()
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("the event stream ended: %v", err)
				}
				return
			}
			if ev.Kind == api.EventResync {
				t.Errorf("resync: %s", ev.Reason)
				return
			}
			// Without audit lines, seq has gaps where audit events were
			// published; it never goes back.
			if ev.Seq <= seq {
				t.Errorf("event %s #%d after #%d", ev.Kind, ev.Seq, seq)
			}
			seq = ev.Seq
			if ev.Kind != api.EventActivity || ev.Name != name {
				continue
			}
			var a api.Activity
			if err := json.Unmarshal(ev.Activity, &a); err != nil {
				t.Errorf("activity event %s: %v", ev.Activity, err)
				continue
			}
			select {
			case out <- a:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); evs.Close(); <-done })
	return out
}
