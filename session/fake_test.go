package session

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/clauderon/clauderon/backend"
)

// fakeBackend is an in-memory engine for the manager's unit tests; the real
// engine is exercised end to end in e2e/.
type fakeBackend struct {
	mu       sync.Mutex
	n        int
	cs       map[string]*backend.Container
	specs    map[string]backend.Spec
	logs     map[string]string
	runStart map[string]int // where each container's current run's output starts in logs
	// startHook and logsHook, if set, run at the start of Start and
	// LogsSince, outside the fake's lock: what happens meanwhile.
	startHook, logsHook func()
	// inspectHook, if set, runs once in the next Inspect, after it read
	// the container's state and before it returns it.
	inspectHook func()
	images      map[string]bool
	users       map[string]backend.ImageUser // an image's user; fakeUser when absent
	userErrs    map[string]error             // what ImageUser fails with, by image
	down        bool
	failStart   bool
	events      chan backend.Event
	subscribed  chan struct{}
	// afterList, if set, runs once after List has read the containers and
	// before it returns: what happens in the engine meanwhile.
	afterList func()
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{cs: map[string]*backend.Container{}, specs: map[string]backend.Spec{}, logs: map[string]string{}, runStart: map[string]int{},
		images: map[string]bool{DefaultImage: true}, events: make(chan backend.Event, 64), subscribed: make(chan struct{}, 64)}
}

var _ backend.Backend = (*fakeBackend)(nil)

func (f *fakeBackend) err() error {
	if f.down {
		return fmt.Errorf("%w: fake engine down", backend.ErrEngineUnreachable)
	}
	return nil
}

func (f *fakeBackend) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err()
}

func (f *fakeBackend) ImageExists(_ context.Context, ref string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.images[ref], f.err()
}

func (f *fakeBackend) Create(_ context.Context, s backend.Spec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
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

func (f *fakeBackend) find(id string) (*backend.Container, error) {
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

func (f *fakeBackend) Start(_ context.Context, id string) error {
	f.mu.Lock()
	hook := f.startHook
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.find(id)
	if err != nil {
		return err
	}
	if f.failStart {
		return fmt.Errorf("fake start failure")
	}
	c.Status = "running"
	c.StartedAt = time.Now()
	f.runStart[c.ID] = len(f.logs[c.ID])
	f.events <- backend.Event{ID: c.ID, Action: "start", Labels: c.Labels}
	return nil
}

// exit makes a container exit with code, as the engine would report it.
func (f *fakeBackend) exit(id string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.cs[id]
	c.Status = "exited"
	c.ExitCode = code
	c.FinishedAt = time.Now()
	f.events <- backend.Event{ID: id, Action: "die", Labels: c.Labels}
}

func (f *fakeBackend) Stop(_ context.Context, id string, _ time.Duration) error {
	f.mu.Lock()
	c, err := f.find(id)
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if c.Status == "running" {
		f.exit(c.ID, 143)
	}
	return nil
}

func (f *fakeBackend) Remove(_ context.Context, id string, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.find(id)
	if err != nil {
		return err
	}
	delete(f.cs, c.ID)
	return nil
}

func (f *fakeBackend) Inspect(_ context.Context, id string) (backend.Container, error) {
	f.mu.Lock()
	if err := f.err(); err != nil {
		f.mu.Unlock()
		return backend.Container{}, err
	}
	c, err := f.find(id)
	if err != nil {
		f.mu.Unlock()
		return backend.Container{}, err
	}
	out, hook := *c, f.inspectHook
	f.inspectHook = nil
	f.mu.Unlock()
	if hook != nil {
		hook() // once, after the answer was read: it may be stale by the time it arrives
	}
	return out, nil
}

func (f *fakeBackend) List(ctx context.Context, labels map[string]string) ([]backend.Container, error) {
	out, err := f.list(labels)
	f.mu.Lock()
	hook := f.afterList
	f.afterList = nil
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	return out, err
}

func (f *fakeBackend) list(labels map[string]string) ([]backend.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.err(); err != nil {
		return nil, err
	}
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

func (f *fakeBackend) Events(ctx context.Context, _ map[string]string) (<-chan backend.Event, <-chan error) {
	f.subscribed <- struct{}{}
	return f.events, make(chan error)
}

func (f *fakeBackend) Logs(_ context.Context, id string, _ bool) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return io.NopCloser(strings.NewReader(f.logs[id])), nil
}

func (f *fakeBackend) LogsSince(_ context.Context, id string, _ time.Time) (io.ReadCloser, error) {
	f.mu.Lock()
	hook := f.logsHook
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return io.NopCloser(strings.NewReader(f.logs[id][min(f.runStart[id], len(f.logs[id])):])), nil
}

func (f *fakeBackend) Attach(context.Context, string) (backend.Stream, error) {
	return nil, fmt.Errorf("not in the fake")
}
func (f *fakeBackend) Resize(context.Context, string, uint, uint) error { return nil }
func (f *fakeBackend) Gateway(context.Context) (string, error)          { return "", nil }
func (f *fakeBackend) BuildImage(context.Context, string, string, string, func(string)) error {
	return nil
}
func (f *fakeBackend) PullImage(context.Context, string, func(string)) error { return nil }

// fakeUser is the images' user unless users says otherwise: not uid 1000,
// so that nothing can pass by assuming it.
var fakeUser = backend.ImageUser{Config: "agent", Name: "agent", UID: 1234, GID: 1235, Home: "/home/agent", HomeWritable: true}

func (f *fakeBackend) ImageUser(_ context.Context, ref string) (backend.ImageUser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.err(); err != nil {
		return backend.ImageUser{}, err
	}
	if !f.images[ref] {
		return backend.ImageUser{}, fmt.Errorf("%w: %s", backend.ErrImageNotFound, ref)
	}
	if err, ok := f.userErrs[ref]; ok {
		return backend.ImageUser{}, err
	}
	if u, ok := f.users[ref]; ok {
		return u, nil
	}
	return fakeUser, nil
}

// fakeAuth records the proxy credentials the manager registers.
type fakeAuth struct {
	mu sync.Mutex
	m  map[string]Secret
}

func (a *fakeAuth) Set(name string, s Secret) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.m[name] = s
}

func (a *fakeAuth) Delete(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, name)
}

func (a *fakeAuth) get(name string) (Secret, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.m[name]
	return s, ok
}

func backendSpec(name string) backend.Spec {
	return backend.Spec{Name: name, Image: DefaultImage, Labels: map[string]string{}}
}
