package session

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/gateway"
)

// dirGateway is a fakeGateway whose sockets' directories exist.
type dirGateway struct {
	fakeGateway
	root string
}

func (g *dirGateway) Open(name string) (string, error) {
	_, _ = g.fakeGateway.Open(name)
	dir := filepath.Join(g.root, name)
	return dir, os.MkdirAll(dir, 0o711)
}

func gatewayHarness(t *testing.T) (*harness, *dirGateway) {
	t.Helper()
	h := &harness{home: t.TempDir(), be: newFakeBackend(), auth: &fakeAuth{m: map[string]Secret{}}}
	gw := &dirGateway{fakeGateway: fakeGateway{open: map[string]int{}}, root: t.TempDir()}
	m, err := Open(Config{Home: h.home, Backend: h.be, Auth: h.auth, Logger: slog.New(slog.DiscardHandler),
		Container: ContainerConfig{Gateway: gw, ProxyPort: 18080, CAFile: "/ca.pem", BundleFile: "/bundle.pem"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.m = m
	return h, gw
}

// exitWith makes session name's container print out and exit, and waits
// until the manager recorded it.
func (h *harness) exitWith(t *testing.T, s Session, out string) Session {
	t.Helper()
	h.be.mu.Lock()
	h.be.logs[s.ContainerID] += out
	h.be.mu.Unlock()
	h.be.exit(s.ContainerID, 0)
	s, err := h.m.Wait(context.Background(), s.Name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestContinue: a finished print session starts again in the same
// container, with the command that resumes its conversation in its argv
// file and its credential back while it runs; the new turn's result
// replaces the last one's; what cannot be continued says why.
func TestContinue(t *testing.T) {
	ctx := context.Background()
	h, gw := gatewayHarness(t)
	h.run(t)
	s, err := h.m.Create(ctx, Options{Name: "c", Prompt: "first", Mode: ModePrint})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Continue(ctx, "c", "too soon"); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "still running") {
		t.Errorf("continue while running: %v", err)
	}
	s = h.exitWith(t, s, `{"type":"system","subtype":"init","session_id":"conv-1"}`+"\n"+`{"type":"result","result":"one","session_id":"conv-1","num_turns":1}`+"\n")
	if s.Result == nil || s.Result.Text != "one" || s.Turns != 1 {
		t.Fatalf("first turn: %+v", s)
	}
	if _, ok := h.auth.get("c"); ok {
		t.Fatal("an exited session's credential works")
	}
	for _, tt := range []struct {
		name, prompt string
		want         error
	}{
		{"c", "", ErrInvalid},
		{"c", "bell\a", ErrInvalid},
		{"c", strings.Repeat("x", MaxPromptBytes+1), ErrInvalid},
		{"nope", "x", ErrNotFound},
	} {
		if _, err := h.m.Continue(ctx, tt.name, tt.prompt); !errors.Is(err, tt.want) {
			t.Errorf("continue %q with %.10q: %v, want %v", tt.name, tt.prompt, err, tt.want)
		}
	}

	s2, err := h.m.Continue(ctx, "c", "second")
	if err != nil {
		t.Fatal(err)
	}
	if s2.Status != StatusRunning || s2.Turns != 2 || s2.Result != nil || s2.ExitCode != nil || s2.ContainerID != s.ContainerID {
		t.Fatalf("continued: %+v", s2)
	}
	if _, ok := h.auth.get("c"); !ok {
		t.Error("a continued session's credential does not work")
	}
	b, err := os.ReadFile(filepath.Join(gw.root, "c", gateway.ArgvName))
	if err != nil {
		t.Fatal(err)
	}
	var a gateway.Argv
	if err := json.Unmarshal(b, &a); err != nil || !slices.Equal(a.Argv, ResumeArgv("second", "conv-1")) {
		t.Fatalf("argv file %s, %v", b, err)
	}
	if !slices.Contains(a.Argv, "--resume") || a.Argv[len(a.Argv)-1] != "second" || a.Argv[len(a.Argv)-2] != "--" {
		t.Errorf("argv %q does not resume with the prompt as its last argument", a.Argv)
	}
	s2 = h.exitWith(t, s2, `{"type":"system","subtype":"init","session_id":"conv-1"}`+"\n"+`{"type":"result","result":"two","session_id":"conv-1","num_turns":1}`+"\n")
	if s2.Result == nil || s2.Result.Text != "two" || s2.Turns != 2 {
		t.Fatalf("second turn: %+v", s2.Result)
	}

	// The engine refuses to start it: the session is as it was.
	h.be.mu.Lock()
	h.be.failStart = true
	h.be.mu.Unlock()
	if _, err := h.m.Continue(ctx, "c", "third"); err == nil {
		t.Fatal("continue succeeded though the engine could not start the container")
	}
	if got, _ := h.m.Get("c"); got.Status != StatusExited || got.Result == nil || got.Result.Text != "two" || got.Turns != 2 {
		t.Errorf("after a failed start: %+v", got)
	}
	if _, ok := h.auth.get("c"); ok {
		t.Error("a failed continue left the credential working")
	}
	if _, err := os.Stat(filepath.Join(gw.root, "c", gateway.ArgvName)); !os.IsNotExist(err) {
		t.Errorf("a failed continue left its argv file: %v", err)
	}
	h.be.mu.Lock()
	h.be.failStart = false
	h.be.mu.Unlock()

	if _, err := h.m.Create(ctx, Options{Name: "i", Mode: ModeInteractive}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Continue(ctx, "i", "x"); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "attach") {
		t.Errorf("continue an interactive session: %v", err)
	}
}

// TestContinueNeedsANewGateway: the container of a session an older
// clauderon made would run its first prompt again, and says so.
func TestContinueNeedsANewGateway(t *testing.T) {
	ctx := context.Background()
	h, _ := gatewayHarness(t)
	h.run(t)
	s, err := h.m.Create(ctx, Options{Name: "old", Prompt: "first", Mode: ModePrint})
	if err != nil {
		t.Fatal(err)
	}
	s = h.exitWith(t, s, `{"type":"result","result":"one"}`+"\n")
	h.m.mu.Lock()
	h.m.sessions["old"].Turnable = false
	h.m.mu.Unlock()
	if _, err := h.m.Continue(ctx, "old", "x"); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "older clauderon") {
		t.Errorf("continue an older clauderon's session: %v", err)
	}
	h.be.mu.Lock()
	started := h.be.cs[s.ContainerID].Status
	h.be.mu.Unlock()
	if started != "exited" {
		t.Errorf("its container is %s", started)
	}
}

// TestContinueNeedsTheGateway: a bridge-network session's container cannot
// be given a new command, and says so.
func TestContinueNeedsTheGateway(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.run(t)
	s, err := h.m.Create(ctx, Options{Name: "b", Prompt: "first", Mode: ModePrint})
	if err != nil {
		t.Fatal(err)
	}
	h.exitWith(t, s, `{"type":"result","result":"one"}`+"\n")
	if _, err := h.m.Continue(ctx, "b", "x"); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "bridge") {
		t.Errorf("continue a bridge session: %v", err)
	}
}

// TestStartAndRestart: a session the user stopped shows as stopped (also
// after the daemon restarts); start runs its container again continuing
// its conversation (or a fresh one when it had none); restart stops and
// starts a running one; print sessions are pointed at continue.
func TestStartAndRestart(t *testing.T) {
	ctx := context.Background()
	h, gw := gatewayHarness(t)
	h.run(t)
	s, err := h.m.Create(ctx, Options{Name: "i", Prompt: "hello", Mode: ModeInteractive})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Start(ctx, "i"); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "restart") {
		t.Errorf("start a running session: %v", err)
	}
	if s, err = h.m.Stop(ctx, "i"); err != nil || s.Status != StatusStopped {
		t.Fatalf("stop: %s, %v; want stopped", s.Status, err)
	}
	if _, ok := h.auth.get("i"); ok {
		t.Error("a stopped session's credential works")
	}
	s, err = h.m.Start(ctx, "i")
	if err != nil || s.Status != StatusRunning || s.ExitCode != nil {
		t.Fatalf("start: %+v, %v", s, err)
	}
	if _, ok := h.auth.get("i"); !ok {
		t.Error("a started session's credential does not work")
	}
	b, err := os.ReadFile(filepath.Join(gw.root, "i", gateway.ArgvName))
	if err != nil {
		t.Fatal(err)
	}
	var a gateway.Argv
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	fresh := ClaudeArgv(ModeInteractive, "")
	if !slices.Equal(a.Argv, append(slices.Clone(fresh), "--continue")) || !slices.Equal(a.Fresh, fresh) {
		t.Errorf("argv file %s", b)
	}
	h.be.mu.Lock()
	starts := h.be.cs[s.ContainerID].StartedAt
	h.be.mu.Unlock()
	if s, err = h.m.Restart(ctx, "i"); err != nil || s.Status != StatusRunning {
		t.Fatalf("restart: %+v, %v", s, err)
	}
	h.be.mu.Lock()
	again := h.be.cs[s.ContainerID].StartedAt
	h.be.mu.Unlock()
	if !again.After(starts) {
		t.Error("restart did not start the container again")
	}
	// An exit the user did not ask for is an exit.
	h.be.exit(s.ContainerID, 3)
	if s, _ = h.m.Wait(ctx, "i"); s.Status != StatusExited || s.ExitCode == nil || *s.ExitCode != 3 {
		t.Errorf("after the program exited: %s %v", s.Status, s.ExitCode)
	}
	if _, err := h.m.Start(ctx, "i"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Stop(ctx, "i"); err != nil {
		t.Fatal(err)
	}
	m2, err := Open(Config{Home: h.home, Backend: h.be, Auth: h.auth, Logger: slog.New(slog.DiscardHandler),
		Container: ContainerConfig{Gateway: gw, ProxyPort: 18080, CAFile: "/ca.pem", BundleFile: "/bundle.pem"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := m2.Get("i"); s.Status != StatusStopped {
		t.Errorf("after a daemon restart: %s, want stopped", s.Status)
	}

	p, err := h.m.Create(ctx, Options{Name: "p", Prompt: "x", Mode: ModePrint})
	if err != nil {
		t.Fatal(err)
	}
	h.exitWith(t, p, `{"type":"result","result":"one"}`+"\n")
	for _, f := range []func(context.Context, string) (Session, error){h.m.Start, h.m.Restart} {
		if _, err := f(ctx, "p"); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "clauderon continue") {
			t.Errorf("start/restart a print session: %v", err)
		}
	}
}

// TestContinueRaces: an exit of the last turn read before a further turn
// started is not recorded after it (the new turn keeps running, with its
// credential); while the container is being started, stop is refused and
// the state file still holds the last turn, so a daemon killed then finds
// it as it was; a turn that dies before printing anything has no result,
// not the last turn's.
func TestContinueRaces(t *testing.T) {
	ctx := context.Background()
	h, gw := gatewayHarness(t)
	h.run(t)
	s, err := h.m.Create(ctx, Options{Name: "r", Prompt: "first", Mode: ModePrint})
	if err != nil {
		t.Fatal(err)
	}
	s = h.exitWith(t, s, `{"type":"system","subtype":"init"}`+"\n"+`{"type":"result","result":"one","session_id":"conv-1"}`+"\n")
	setHook := func(p *func(), f func()) {
		h.be.mu.Lock()
		*p = f
		h.be.mu.Unlock()
	}

	// A late finish of turn 1.
	inLogs, release := make(chan struct{}), make(chan struct{})
	setHook(&h.be.logsHook, func() { close(inLogs); <-release })
	late := make(chan struct{})
	go func() { h.m.finish(ctx, "r", s.ContainerID); close(late) }()
	<-inLogs
	setHook(&h.be.logsHook, nil)
	if _, err := h.m.Continue(ctx, "r", "second"); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-late
	if got, _ := h.m.Get("r"); got.Status != StatusRunning || got.Result != nil || got.Turns != 2 {
		t.Errorf("after a late finish of the last turn: %s, result %+v, turns %d; want turn 2 running", got.Status, got.Result, got.Turns)
	}
	if _, ok := h.auth.get("r"); !ok {
		t.Error("a late finish of the last turn took the running turn's credential")
	}
	// Turn 2 dies before printing a line.
	s = h.exitWith(t, s, "")
	if s.Result != nil || s.Status != StatusExited {
		t.Errorf("a turn without output: %s, result %+v; want exited without a result", s.Status, s.Result)
	}

	// While the container is being started.
	inStart, go3 := make(chan struct{}), make(chan struct{})
	setHook(&h.be.startHook, func() { close(inStart); <-go3 })
	done := make(chan error, 1)
	go func() { _, err := h.m.Continue(ctx, "r", "third"); done <- err }()
	<-inStart
	if _, err := h.m.Stop(ctx, "r"); !errors.Is(err, ErrState) {
		t.Errorf("stop while starting again: %v, want ErrState", err)
	}
	m2, err := Open(Config{Home: h.home, Backend: h.be, Auth: &fakeAuth{m: map[string]Secret{}}, Logger: slog.New(slog.DiscardHandler),
		Container: ContainerConfig{Gateway: gw, ProxyPort: 18080, CAFile: "/ca.pem", BundleFile: "/bundle.pem"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := m2.Get("r"); got.Status != StatusExited || got.Turns != 2 {
		t.Errorf("the state file while starting again: %s, turns %d; want turn 2, exited", got.Status, got.Turns)
	}
	setHook(&h.be.startHook, nil)
	close(go3)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := h.m.Get("r"); got.Status != StatusRunning || got.Turns != 3 {
		t.Errorf("after starting again: %s, turns %d", got.Status, got.Turns)
	}
}

// TestResumeArgvChecksTheID: the session ID comes from the container's
// output; one that is not an ID is not passed on.
func TestResumeArgvChecksTheID(t *testing.T) {
	if got := ResumeArgv("p", "0b1c2d3e-aaaa-bbbb-cccc-0123456789ab"); !slices.Contains(got, "--resume") {
		t.Errorf("a UUID: %q", got)
	}
	for _, id := range []string{"", "--mcp-config=/x", "-", "a b", strings.Repeat("a", 200), "x\n--y"} {
		got := ResumeArgv("p", id)
		if slices.Contains(got, "--resume") || !slices.Contains(got, "--continue") || got[len(got)-1] != "p" || got[len(got)-2] != "--" {
			t.Errorf("id %.20q: %q", id, got)
		}
	}
}

// TestStaleStartEvent: a container started outside clauderon that exits at
// once: the start's handler, whose engine answer (running) is stale by the
// time it is applied, does not make the exited session running again nor
// give its credential back.
func TestStaleStartEvent(t *testing.T) {
	ctx := context.Background()
	h, _ := gatewayHarness(t)
	h.run(t)
	s, err := h.m.Create(ctx, Options{Name: "x", Mode: ModeInteractive})
	if err != nil {
		t.Fatal(err)
	}
	h.be.exit(s.ContainerID, 0)
	if s, _ = h.m.Wait(ctx, "x"); s.Status != StatusExited {
		t.Fatalf("after exit: %s", s.Status)
	}
	read, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	h.be.mu.Lock()
	h.be.inspectHook = func() { close(read); <-release }
	h.be.cs[s.ContainerID].Status = "running" // docker start, outside clauderon
	h.be.mu.Unlock()
	// What the start event's handler does.
	h.m.mu.Lock()
	h.m.sessions["x"].events++
	h.m.mu.Unlock()
	go func() { h.m.started(ctx, "x", s.ContainerID); close(done) }()
	<-read // it saw the container running …
	h.be.exit(s.ContainerID, 1)
	until(t, "the exit to be recorded", func() bool {
		got, _ := h.m.Get("x")
		return got.ExitCode != nil && *got.ExitCode == 1
	})
	close(release) // … and applies what it saw
	<-done
	if got, _ := h.m.Get("x"); got.Status != StatusExited {
		t.Errorf("after a stale start: %s, want exited", got.Status)
	}
	if _, ok := h.auth.get("x"); ok {
		t.Error("a stale start gave an exited session's credential back")
	}
}

// until waits for cond, failing the test after 10 s.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
