package mcpserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/gateway"
)

// fakeEngine runs "containers" in memory. A print session answers
// "echo: PROMPT" at once, as Claude Code's stream-json; a prompt with
// "hang" runs until stopped; one with "write FILE" writes FILE into its
// workspace first; one with "escape" prints a terminal escape. The real
// engine and Claude Code are exercised end to end in e2e/.
type fakeEngine struct {
	mu     sync.Mutex
	n      int
	cs     map[string]*backend.Container
	specs  map[string]backend.Spec
	logs   map[string]string
	run    map[string]int // where each container's current run's output starts in logs
	down   bool
	events chan backend.Event
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{cs: map[string]*backend.Container{}, specs: map[string]backend.Spec{}, logs: map[string]string{}, run: map[string]int{},
		events: make(chan backend.Event, 256)}
}

var _ backend.Backend = (*fakeEngine)(nil)

const fakeImage = "clauderon-agent:latest"

func (f *fakeEngine) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *fakeEngine) err() error {
	if f.down {
		return fmt.Errorf("%w: the fake engine is down", backend.ErrEngineUnreachable)
	}
	return nil
}

func (f *fakeEngine) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err()
}

func (f *fakeEngine) ImageExists(_ context.Context, ref string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return ref == fakeImage, f.err()
}

func (f *fakeEngine) ImageUser(_ context.Context, ref string) (backend.ImageUser, error) {
	if ref != fakeImage {
		return backend.ImageUser{}, fmt.Errorf("%w: %s", backend.ErrImageNotFound, ref)
	}
	return backend.ImageUser{Config: "agent", Name: "agent", UID: os.Getuid(), GID: os.Getgid(), Home: "/home/agent", HomeWritable: true}, nil
}

func (f *fakeEngine) Create(_ context.Context, s backend.Spec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.err(); err != nil {
		return "", err
	}
	for _, c := range f.cs {
		if c.Name == s.Name {
			return "", backend.ErrConflict
		}
	}
	f.n++
	id := fmt.Sprintf("c%03d", f.n)
	f.cs[id] = &backend.Container{ID: id, Name: s.Name, Image: s.Image, Status: "created", Labels: s.Labels}
	f.specs[id] = s
	return id, nil
}

func (f *fakeEngine) find(id string) (*backend.Container, error) {
	if c, ok := f.cs[id]; ok {
		return c, nil
	}
	for _, c := range f.cs {
		if c.Name == id {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", id, backend.ErrNotFound)
}

// argv is what the container's gateway would become: its command, or the
// argv file's in its socket directory (a further turn): its fresh one when
// the container never ran Claude Code before (ran is false).
func argv(s backend.Spec, ran bool) []string {
	for _, m := range s.Mounts {
		if m.Target == gateway.SocketDir {
			b, err := os.ReadFile(filepath.Join(m.Source, gateway.ArgvName))
			var a gateway.Argv
			if err != nil || json.Unmarshal(b, &a) != nil {
				continue
			}
			if !ran && len(a.Fresh) > 0 {
				return a.Fresh
			}
			return a.Argv
		}
	}
	return s.Cmd
}

// prompt is the last argument of a print session's command.
func prompt(cmd []string) (string, bool) {
	if !slices.Contains(cmd, "--print") || len(cmd) == 0 {
		return "", false
	}
	return cmd[len(cmd)-1], true
}

func (f *fakeEngine) Start(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.find(id)
	if err != nil {
		return err
	}
	c.Status = "running"
	c.StartedAt = time.Now()
	f.run[c.ID] = len(f.logs[c.ID])
	f.events <- backend.Event{ID: c.ID, Action: "start", Labels: c.Labels}
	cmd := argv(f.specs[id], f.logs[c.ID] != "")
	p, print := prompt(cmd)
	if !print {
		return nil
	}
	if _, file, ok := strings.Cut(p, "write "); ok {
		for _, m := range f.specs[id].Mounts {
			if m.Target == "/workspace" {
				name := strings.Fields(file)[0]
				if err := os.WriteFile(filepath.Join(m.Source, name), []byte("made by the agent\n"), 0o644); err != nil {
					return err
				}
			}
		}
	}
	text := "echo: " + p
	if i := slices.Index(cmd, "--resume"); i >= 0 {
		text = "echo (resumed " + cmd[i+1] + "): " + p
	}
	if strings.Contains(p, "escape") {
		text += " \x1b[31mred\x1b[0m \u202e"
	}
	res, _ := json.Marshal(map[string]any{"type": "result", "subtype": "success", "is_error": false, "result": text,
		"total_cost_usd": 0.0123, "num_turns": 1, "duration_ms": 42, "session_id": "fake"})
	f.logs[id] += `{"type":"system","subtype":"init"}` + "\n" + string(res) + "\n"
	if !strings.Contains(p, "hang") {
		f.exitLocked(c, 0)
	}
	return nil
}

func (f *fakeEngine) exitLocked(c *backend.Container, code int) {
	c.Status = "exited"
	c.ExitCode = code
	c.FinishedAt = time.Now()
	f.events <- backend.Event{ID: c.ID, Action: "die", Labels: c.Labels}
}

func (f *fakeEngine) Stop(_ context.Context, id string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.find(id)
	if err != nil {
		return err
	}
	if c.Status == "running" {
		f.exitLocked(c, 143)
	}
	return nil
}

func (f *fakeEngine) Remove(_ context.Context, id string, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.find(id)
	if err != nil {
		return err
	}
	delete(f.cs, c.ID)
	return nil
}

func (f *fakeEngine) Inspect(_ context.Context, id string) (backend.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.err(); err != nil {
		return backend.Container{}, err
	}
	c, err := f.find(id)
	if err != nil {
		return backend.Container{}, err
	}
	return *c, nil
}

func (f *fakeEngine) List(_ context.Context, labels map[string]string) ([]backend.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []backend.Container
next:
	for _, c := range f.cs {
		for k, v := range labels {
			if c.Labels[k] != v {
				continue next
			}
		}
		out = append(out, *c)
	}
	return out, nil
}

func (f *fakeEngine) Events(ctx context.Context, _ map[string]string) (<-chan backend.Event, <-chan error) {
	return f.events, make(chan error)
}

func (f *fakeEngine) Logs(_ context.Context, id string, _ bool) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.find(id)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(strings.NewReader(f.logs[c.ID])), nil
}

func (f *fakeEngine) LogsSince(_ context.Context, id string, _ time.Time) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.find(id)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(strings.NewReader(f.logs[c.ID][min(f.run[c.ID], len(f.logs[c.ID])):])), nil
}

func (f *fakeEngine) Attach(context.Context, string) (backend.Stream, error) {
	return nil, fmt.Errorf("not in the fake")
}
func (f *fakeEngine) Resize(context.Context, string, uint, uint) error { return nil }

// Gateway is a Linux engine's (loopback, so the daemon can bind it): new
// sessions get no network but their gateway.
func (f *fakeEngine) Gateway(context.Context) (string, error) { return "127.0.0.2", nil }
func (f *fakeEngine) BuildImage(context.Context, string, string, string, func(string)) error {
	return nil
}
func (f *fakeEngine) PullImage(context.Context, string, func(string)) error { return nil }
