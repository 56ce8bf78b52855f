package docker_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/internal/testenv"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/backend/docker"
	"github.com/clauderon/clauderon/internal/testimage"
)

// env is one test's engine, image and unique label.
type env struct {
	b     *docker.Backend
	image string
	label map[string]string
	ctx   context.Context
}

func setup(t *testing.T) env {
	t.Helper()
	b, err := docker.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	if err := b.Ping(ctx); err != nil {
		testenv.Unavailable(t, "%v", err)
	}
	e := env{b: b, image: testimage.Ensure(t), label: map[string]string{"clauderon.test": randomName()}, ctx: ctx}
	t.Cleanup(func() {
		cs, _ := b.List(context.Background(), e.label)
		for _, c := range cs {
			_ = b.Remove(context.Background(), c.ID, true)
		}
	})
	return e
}

func randomName() string {
	var b [6]byte
	rand.Read(b[:])
	return "clauderon-test-" + hex.EncodeToString(b[:])
}

// create makes a container from the test image with the test's label.
func (e env) create(t *testing.T, spec backend.Spec) string {
	t.Helper()
	spec.Image = e.image
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	for k, v := range e.label {
		spec.Labels[k] = v
	}
	id, err := e.b.Create(e.ctx, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return id
}

// output starts id and returns all it prints until it exits.
func (e env) output(t *testing.T, id string) string {
	t.Helper()
	if err := e.b.Start(e.ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	rc, err := e.b.Logs(e.ctx, id, true)
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading logs: %v", err)
	}
	return string(out)
}

func TestLifecycle(t *testing.T) {
	e := setup(t)
	name := randomName()
	id := e.create(t, backend.Spec{
		Name:   name,
		Cmd:    []string{"sh", "-c", "echo out; echo err >&2; exit 3"},
		Labels: map[string]string{"clauderon.session": "s1"},
	})
	c, err := e.b.Inspect(e.ctx, name)
	if err != nil || c.Status != "created" || c.ID != id {
		t.Fatalf("Inspect before start = %+v, %v; want created %s", c, err, id)
	}
	// The engine keeps each stream's order but not the order between them.
	lines := strings.SplitAfter(e.output(t, id), "\n")
	slices.Sort(lines)
	if got, want := strings.Join(lines, ""), "err\nout\n"; got != want {
		t.Errorf("logs (sorted) = %q, want %q", got, want)
	}
	c, err = e.b.Inspect(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != name || c.Image != e.image || c.Status != "exited" || c.ExitCode != 3 || c.Labels["clauderon.session"] != "s1" {
		t.Errorf("Inspect = %+v; want %s running %s exited with 3", c, name, e.image)
	}
	if c.StartedAt.IsZero() || c.FinishedAt.IsZero() {
		t.Errorf("StartedAt %v, FinishedAt %v", c.StartedAt, c.FinishedAt)
	}

	other := e.create(t, backend.Spec{Cmd: []string{"true"}})
	list, err := e.b.List(e.ctx, map[string]string{"clauderon.session": "s1", "clauderon.test": e.label["clauderon.test"]})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].Name != name || list[0].Status != "exited" {
		t.Errorf("List by label = %+v, want only %s exited with 3", list, id)
	}
	if list, _ := e.b.List(e.ctx, e.label); len(list) != 2 {
		t.Errorf("List(test label) has %d containers, want 2 (%s and %s)", len(list), id, other)
	}

	if err := e.b.Remove(e.ctx, id, false); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Inspect": func() error { _, err := e.b.Inspect(e.ctx, id); return err }(),
		"Start":   e.b.Start(e.ctx, id),
		"Remove":  e.b.Remove(e.ctx, id, true),
		"Logs":    func() error { _, err := e.b.Logs(e.ctx, id, false); return err }(),
	} {
		if !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("%s of a removed container = %v, want ErrNotFound", name, err)
		}
	}
}

func TestCreateSpec(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rw := t.TempDir()
	if err := os.Chmod(rw, 0o777); err != nil {
		t.Fatal(err)
	}
	// Cmd is argv: the $ and ; below reach sh -c as one argument, and the
	// last argument is never interpreted.
	id := e.create(t, backend.Spec{
		Cmd: []string{"sh", "-c", `id -un; pwd; echo "$FOO"; cat /mnt/ro/f; touch /mnt/ro/x 2>/dev/null || echo ro; touch /mnt/rw/x && echo rw; getent hosts example.internal; echo "$0"`,
			"$(echo not expanded); true"},
		Env:        []string{"FOO=bar baz"},
		User:       "claude",
		WorkingDir: "/tmp",
		Mounts: []backend.Mount{
			{Source: dir, Target: "/mnt/ro", ReadOnly: true},
			{Source: rw, Target: "/mnt/rw"},
		},
		ExtraHosts: []string{"example.internal:10.1.2.3"},
	})
	got := strings.Split(e.output(t, id), "\n")
	want := []string{"claude", "/tmp", "bar baz", "from host", "ro", "rw", "10.1.2.3        example.internal", "$(echo not expanded); true"}
	if len(got) < len(want) {
		t.Fatalf("output %q, want %q", got, want)
	}
	for i := range want {
		if strings.TrimSpace(got[i]) != strings.TrimSpace(want[i]) {
			t.Errorf("line %d = %q, want %q", i, got[i], want[i])
		}
	}
	if _, err := os.Stat(filepath.Join(rw, "x")); err != nil {
		t.Errorf("file written to the rw mount: %v", err)
	}
	// What the container prints is bounded on the host's disk.
	out, err := exec.Command("docker", "inspect", "--format", "{{json .HostConfig.LogConfig}}", id).Output()
	if err != nil {
		t.Fatal(err)
	}
	var lc struct {
		Type   string
		Config map[string]string
	}
	if err := json.Unmarshal(out, &lc); err != nil || lc.Type != "json-file" || lc.Config["max-size"] != docker.LogMaxSize || lc.Config["max-file"] != "2" {
		t.Errorf("log config %s (%v), want json-file with max-size %s and 2 files", out, err, docker.LogMaxSize)
	}
}

// readUntil reads r until its output contains want.
func readUntil(t *testing.T, r *bufio.Reader, want string) string {
	t.Helper()
	var seen []byte
	for !bytes.Contains(seen, []byte(want)) {
		b, err := r.ReadByte()
		if err != nil {
			t.Fatalf("waiting for %q: %v; got %q", want, err, seen)
		}
		seen = append(seen, b)
	}
	return string(seen)
}

func TestAttachTTY(t *testing.T) {
	e := setup(t)
	id := e.create(t, backend.Spec{Cmd: []string{"sh"}, TTY: true, OpenStdin: true, Env: []string{"PS1=$ "}})
	s, err := e.b.Attach(e.ctx, id)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	defer s.Close()
	if err := e.b.Start(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(s)
	readUntil(t, r, "$ ")

	if _, err := io.WriteString(s, "echo hel''lo\n"); err != nil {
		t.Fatal(err)
	}
	// The TTY echoes the input (hel''lo); only the shell prints hello.
	readUntil(t, r, "hello\r\n")

	if err := e.b.Resize(e.ctx, id, 33, 111); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	io.WriteString(s, "stty size\n")
	readUntil(t, r, "33 111")

	io.WriteString(s, "exit 7\n")
	if _, err := io.ReadAll(r); err != nil {
		t.Fatalf("reading to the end: %v", err)
	}
	waitStatus(t, e, id, "exited")
	if c, _ := e.b.Inspect(e.ctx, id); c.ExitCode != 7 {
		t.Errorf("exit code %d, want 7", c.ExitCode)
	}
}

func TestAttachPlain(t *testing.T) {
	e := setup(t)
	id := e.create(t, backend.Spec{Cmd: []string{"sh", "-c", "read line; echo got $line; echo bye >&2"}, OpenStdin: true})
	s, err := e.b.Attach(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := e.b.Start(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	io.WriteString(s, "ping\n")
	// The output ends when the container exits.
	out, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(out), "\n")
	slices.Sort(lines)
	if got, want := strings.Join(lines, ""), "bye\ngot ping\n"; got != want {
		t.Errorf("attached output (sorted) = %q, want %q", got, want)
	}
}

// waitStatus waits (on the engine's events, not a clock) until id has status.
func waitStatus(t *testing.T, e env, id, status string) {
	t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	events, _ := e.b.Events(ctx, e.label)
	for {
		c, err := e.b.Inspect(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == status {
			return
		}
		if _, ok := <-events; !ok {
			t.Fatalf("events ended while %s is %s, want %s", id, c.Status, status)
		}
	}
}

func TestStop(t *testing.T) {
	e := setup(t)
	id := e.create(t, backend.Spec{Cmd: []string{"sleep", "600"}})
	if err := e.b.Start(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.b.Inspect(e.ctx, id); c.Status != "running" {
		t.Fatalf("status %q, want running", c.Status)
	}
	if err := e.b.Stop(e.ctx, id, 0); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if c, _ := e.b.Inspect(e.ctx, id); c.Status != "exited" {
		t.Fatalf("status after Stop %q, want exited", c.Status)
	}
	if err := e.b.Stop(e.ctx, id, 0); err != nil {
		t.Errorf("Stop of a stopped container: %v", err)
	}
}

func TestEvents(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithCancel(e.ctx)
	events, errc := e.b.Events(ctx, e.label)
	id := e.create(t, backend.Spec{Cmd: []string{"sh", "-c", "exit 5"}})
	if err := e.b.Start(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for ev := range events {
		if ev.ID != id {
			t.Fatalf("event for %s, want only %s", ev.ID, id)
		}
		if ev.Labels["clauderon.test"] != e.label["clauderon.test"] {
			t.Errorf("event labels %v lack the container's label", ev.Labels)
		}
		actions = append(actions, ev.Action)
		if ev.Action == "die" {
			break
		}
	}
	if strings.Join(actions, ",") != "create,start,die" {
		t.Errorf("actions %v, want create, start, die", actions)
	}
	cancel()
	for range events {
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("error after cancel = %v, want context.Canceled", err)
	}
}

func TestErrors(t *testing.T) {
	e := setup(t)
	_, err := e.b.Create(e.ctx, backend.Spec{Image: "clauderon-test-missing:nope", Cmd: []string{"true"}, Labels: e.label})
	if !errors.Is(err, backend.ErrImageNotFound) || !strings.Contains(err.Error(), "clauderon-test-missing:nope") {
		t.Errorf("Create with a missing image = %v, want ErrImageNotFound naming it", err)
	}
	if ok, err := e.b.ImageExists(e.ctx, "clauderon-test-missing:nope"); ok || err != nil {
		t.Errorf("ImageExists(missing) = %v, %v", ok, err)
	}
	if ok, err := e.b.ImageExists(e.ctx, e.image); !ok || err != nil {
		t.Errorf("ImageExists(%s) = %v, %v", e.image, ok, err)
	}

	name := randomName()
	e.create(t, backend.Spec{Name: name, Cmd: []string{"true"}})
	_, err = e.b.Create(e.ctx, backend.Spec{Name: name, Image: e.image, Cmd: []string{"true"}, Labels: e.label})
	if !errors.Is(err, backend.ErrConflict) {
		t.Errorf("Create with a taken name = %v, want ErrConflict", err)
	}
	if err := e.b.Resize(e.ctx, "clauderon-no-such-container", 10, 10); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Resize of a missing container = %v, want ErrNotFound", err)
	}
	if _, err := e.b.Attach(e.ctx, "clauderon-no-such-container"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Attach to a missing container = %v, want ErrNotFound", err)
	}
}

func TestUnreachable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
	b, err := docker.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	for name, err := range map[string]error{
		"Ping":    b.Ping(ctx),
		"Create":  func() error { _, err := b.Create(ctx, backend.Spec{Image: "x", Cmd: []string{"true"}}); return err }(),
		"Inspect": func() error { _, err := b.Inspect(ctx, "x"); return err }(),
		"Attach":  func() error { _, err := b.Attach(ctx, "x"); return err }(),
		"Gateway": func() error { _, err := b.Gateway(ctx); return err }(),
		"Exists":  func() error { _, err := b.ImageExists(ctx, "x"); return err }(),
		"Build":   b.BuildImage(ctx, t.TempDir(), "", "x:y", nil),
	} {
		if !errors.Is(err, backend.ErrEngineUnreachable) {
			t.Errorf("%s = %v, want ErrEngineUnreachable", name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "unix:///nonexistent.sock") || !strings.Contains(msg, "dockerd") {
			t.Errorf("%s error %q should name the address and how to start dockerd", name, msg)
		}
	}
	events, errc := b.Events(ctx, nil)
	for range events {
	}
	if err := <-errc; !errors.Is(err, backend.ErrEngineUnreachable) {
		t.Errorf("Events = %v, want ErrEngineUnreachable", err)
	}
}

// TestGateway compares Gateway with the default route a container sees.
func TestGateway(t *testing.T) {
	e := setup(t)
	gw, err := e.b.Gateway(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := e.create(t, backend.Spec{Cmd: []string{"cat", "/proc/net/route"}})
	var route string
	for _, line := range strings.Split(e.output(t, id), "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[1] == "00000000" {
			route = f[2]
		}
	}
	n, err := strconv.ParseUint(route, 16, 32)
	if err != nil {
		t.Fatalf("no default route in the container: %v", err)
	}
	var a [4]byte
	binary.LittleEndian.PutUint32(a[:], uint32(n))
	if want := netip.AddrFrom4(a).String(); gw != want {
		t.Errorf("Gateway = %q, container's default gateway %q", gw, want)
	}

	other, err := docker.New(docker.WithNetwork("clauderon-no-such-network"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Gateway(e.ctx); err == nil || !strings.Contains(err.Error(), "clauderon-no-such-network") {
		t.Errorf("Gateway of a missing network = %v, want an error naming it", err)
	}
}

func TestBuildImage(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	// Unique content: the build cache must not answer for the RUN step.
	hello := "hi from " + e.label["clauderon.test"]
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte(hello+"\n"), 0o644)
	os.Symlink("hello.txt", filepath.Join(dir, "link"))
	os.WriteFile(filepath.Join(dir, "Custom.dockerfile"), []byte("FROM "+testimage.BaseImage+"\nCOPY hello.txt link /ctx/\nRUN cat /ctx/link\n"), 0o644)
	tag := "clauderon-test-build:" + e.label["clauderon.test"][len("clauderon-test-"):]
	t.Cleanup(func() { e.b.RemoveImage(context.Background(), tag) })
	var lines []string
	if err := e.b.BuildImage(e.ctx, dir, "Custom.dockerfile", tag, func(l string) { lines = append(lines, l) }); err != nil {
		t.Fatalf("BuildImage: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if out := strings.Join(lines, "\n"); !strings.Contains(out, hello) || !strings.Contains(out, "Successfully tagged "+tag) {
		t.Errorf("progress lacks the RUN output or the tag:\n%s", out)
	}
	if ok, _ := e.b.ImageExists(e.ctx, tag); !ok {
		t.Errorf("built image %s not found", tag)
	}
	imgs, err := e.b.Images(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(imgs, func(im backend.Image) bool { return im.Ref == tag })
	if i < 0 || !strings.HasPrefix(imgs[i].ID, "sha256:") || imgs[i].Size <= 0 || time.Since(imgs[i].Created) > time.Hour {
		t.Errorf("Images lists the built %s as %+v (index %d of %d)", tag, imgs, i, len(imgs))
	}
	if !slices.IsSortedFunc(imgs, func(a, b backend.Image) int { return strings.Compare(a.Ref, b.Ref) }) {
		t.Errorf("Images is not sorted by tag")
	}
	if err := e.b.RemoveImage(e.ctx, tag); err != nil {
		t.Errorf("RemoveImage: %v", err)
	}
	if err := e.b.RemoveImage(e.ctx, tag); !errors.Is(err, backend.ErrImageNotFound) {
		t.Errorf("RemoveImage of a removed image = %v, want ErrImageNotFound", err)
	}

	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+testimage.BaseImage+"\nRUN echo failing && false\n"), 0o644)
	err = e.b.BuildImage(e.ctx, dir, "", tag+"-bad", nil)
	if err == nil || !strings.Contains(err.Error(), "returned a non-zero code") {
		t.Errorf("failing build = %v, want the engine's error", err)
	}
}

func TestPullImageError(t *testing.T) {
	e := setup(t)
	// No registry answers here: the engine's error comes back, not a hang or a panic.
	err := e.b.PullImage(e.ctx, "127.0.0.1:1/clauderon/nothing:latest", nil)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("PullImage from a closed port = %v, want an error naming the registry", err)
	}
}
