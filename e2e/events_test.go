package e2e

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/session"
)

// TestEventsStream: `clauderon events --json`, against the real daemon
// and engine, starts with a snapshot and sees a real session created, its
// container stopped outside clauderon (an engine event), and removed, in
// that order, with growing sequence numbers.
func TestEventsStream(t *testing.T) {
	e := newSessionEnv(t)
	name := sname("events")
	cmd := exec.Command(binary, "events", "--json")
	cmd.Env = baseEnv(e.home)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	events := make(chan api.Event, 1024)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var ev api.Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("events --json printed %q: %v", sc.Text(), err)
				return
			}
			events <- ev
		}
	}()
	var seq uint64
	// await reads events until one of name matches ok; the test's deadline
	// bounds it.
	await := func(what string, ok func(api.Event) bool) api.Event {
		t.Helper()
		for ev := range events {
			if ev.Seq < seq || (ev.Seq == seq && ev.Kind != api.EventSnapshot) {
				t.Errorf("event %s #%d after #%d", ev.Kind, ev.Seq, seq)
			}
			seq = ev.Seq
			if ev.Kind == api.EventResync {
				t.Fatalf("resync while waiting for %s", what)
			}
			if ok(ev) {
				return ev
			}
		}
		t.Fatalf("events ended before %s", what)
		return api.Event{}
	}
	status := func(kind api.EventKind, st api.SessionStatus) func(api.Event) bool {
		return func(ev api.Event) bool {
			return ev.Kind == kind && ev.Name == name && ev.Session != nil && ev.Session.Status == st
		}
	}
	snap := await("the snapshot", func(ev api.Event) bool { return ev.Kind == api.EventSnapshot })
	if len(snap.Sessions) != 0 {
		t.Errorf("snapshot of a new home: %d sessions", len(snap.Sessions))
	}

	clOK(t, e.home, "create", "--name", name, "--image", e.image, "--no-workdir")
	await("created", status(api.EventCreated, api.StatusCreating))
	await("running", status(api.EventChanged, api.StatusRunning))
	if out, err := dockerCLI(t, "kill", session.ContainerName(name)); err != nil {
		t.Fatalf("docker kill: %v\n%s", err, out)
	}
	await("exited after docker kill", status(api.EventChanged, api.StatusExited))
	clOK(t, e.home, "rm", "--force", name)
	await("removed", status(api.EventRemoved, api.StatusDeleted))
}
