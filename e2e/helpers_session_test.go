package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clauderon/clauderon/backend/docker"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

// sessDaemon is a `clauderon daemon` process of one test.
type sessDaemon struct {
	t      testing.TB
	home   string
	port   int
	cmd    *exec.Cmd
	logs   *lockedBuffer
	exited chan struct{}
	err    error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePort returns a TCP port free on loopback right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// requireDocker fails or skips when no engine answers.
func requireDocker(t testing.TB) {
	t.Helper()
	b, err := docker.New()
	if err != nil {
		requireE2E(t, "docker client: %v", err)
		return
	}
	defer b.Close()
	if err := b.Ping(context.Background()); err != nil {
		requireE2E(t, "no Docker engine: %v", err)
	}
}

// startSessDaemon runs the daemon for home on port with the canary as its
// credential, waits until it serves, and stops it at cleanup. The engine's
// containers of home are removed at cleanup too.
func startSessDaemon(t testing.TB, home string, port int, extraEnv ...string) *sessDaemon {
	t.Helper()
	d := &sessDaemon{t: t, home: home, port: port, logs: &lockedBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(binary, "daemon", "--proxy-port", strconv.Itoa(port), "--log-level", "debug")
	d.cmd.Env = baseEnv(home, append([]string{"CLAUDE_CODE_OAUTH_TOKEN=" + Canary}, extraEnv...)...)
	pr, pw := io.Pipe()
	d.cmd.Stderr = pw
	d.cmd.Stdout = d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			d.logs.Write(append(sc.Bytes(), '\n'))
			if strings.Contains(sc.Text(), "clauderon daemon running") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() {
		d.err = d.cmd.Wait()
		pw.Close()
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.stop()
		t.Logf("daemon log (%s):\n%s", home, d.logs.String())
	})
	cleanupContainers(t, home)
	select {
	case <-ready:
	case <-d.exited:
		t.Fatalf("the daemon exited before serving: %v\n%s", d.err, d.logs.String())
	}
	return d
}

// stop sends SIGTERM and waits for the daemon to exit.
func (d *sessDaemon) stop() {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	<-d.exited
}

// kill SIGKILLs the daemon: no cleanup of any kind happens.
func (d *sessDaemon) kill() {
	_ = d.cmd.Process.Kill()
	<-d.exited
}

func (d *sessDaemon) client() *client.Client {
	return &client.Client{Socket: filepath.Join(d.home, client.SocketFile)}
}

// cl runs the clauderon CLI against home.
func cl(t testing.TB, home string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = baseEnv(home)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running clauderon %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// clOK runs the CLI and fails the test unless it succeeds.
func clOK(t testing.TB, home string, args ...string) string {
	t.Helper()
	out, errOut, code := cl(t, home, args...)
	if code != 0 {
		t.Fatalf("clauderon %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// workdir is a host directory the container user (uid 1000) can use.
func workdir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cleanupContainers removes, at cleanup, every container of home.
func cleanupContainers(t testing.TB, home string) {
	t.Cleanup(func() {
		b, err := docker.New()
		if err != nil {
			return
		}
		defer b.Close()
		ctx := context.Background()
		for _, labels := range []map[string]string{{session.LabelHome: session.HomeID(home)}} {
			cs, _ := b.List(ctx, labels)
			for _, c := range cs {
				_ = b.Remove(ctx, c.ID, true)
			}
		}
	})
}

// listSessions runs `clauderon list --json`.
func listSessions(t testing.TB, home string) client.SessionList {
	t.Helper()
	var l client.SessionList
	if err := json.Unmarshal([]byte(clOK(t, home, "list", "--json")), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func findSession(l client.SessionList, name string) (session.Session, bool) {
	for _, s := range l.Sessions {
		if s.Name == name {
			return s, true
		}
	}
	return session.Session{}, false
}

// sessAudit reads home's audit log.
func sessAudit(t testing.TB, home string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// dockerCLI runs the docker command line (installed with the engine).
func dockerCLI(t testing.TB, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	return string(out), err
}

// waitFor polls cond until it holds; the test's deadline bounds it.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok && dl.Before(deadline) {
			deadline = dl.Add(-5 * time.Second)
		}
	}
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
