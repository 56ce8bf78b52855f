package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/internal/testenv"

	"github.com/clauderon/clauderon/backend/docker"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/session"
)

// sessDaemon is a `clauderon daemon` process of one test.
type sessDaemon struct {
	t      testing.TB
	home   string
	port   int
	cmd    *exec.Cmd
	logs   *syncbuf.Buffer
	exited chan struct{}
	err    error
}

// runID makes this test process's session names its own: container names
// are global on the engine, and a killed earlier run may have left some.
var runID = func() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// testSessionBases are the session names the tests use, before sname adds
// the run's suffix; stale containers are recognised by them.
var testSessionBases = []string{"p1", "iso-a", "iso-b", "live", "once", "lbl", "tui", `scale-[0-9]+`, "dup", "noimg",
	"nowd", "noprompt", "bigprompt", "drain", "x", "gw", "home", "kc-print", "kc-hot", "kc-env", "kc-none",
	"ws-hostile", "ws-work", "ws-plain", "ws-from", "ws-badref", "ws-mount", "race-a", "race-b", "race-c", "hard", "hard-bad", "cred",
	"iu-own", "iu-root", "iu-print", "iu-rprint", "iu-ghost", "nest-p", "nest-c1", "nest-c2",
	"web-print", "web-tui", "web-live", "mcpn-a", "mcpn-b", "cb-p", "cb-c", "act-[a-z]+", "du"}

// sname is the session name base of this run: base-<runID>.
func sname(base string) string { return base + "-" + runID }

var staleRE = regexp.MustCompile(`^/?clauderon-(` + strings.Join(testSessionBases, "|") + `)(-[0-9a-f]{6})?$`)

var staleOnce sync.Once

// removeStaleTestContainers removes, once per test process, the containers
// earlier runs of these tests left behind (killed before their cleanup):
// only those whose name is a test session's and whose CLAUDERON_HOME, a
// temporary directory, no longer exists.
func removeStaleTestContainers(t testing.TB) {
	staleOnce.Do(func() {
		out, err := dockerCLI(t, "ps", "-a", "--filter", "label="+session.LabelManaged+"=1", "--format", "{{.ID}} {{.Names}}")
		if err != nil {
			t.Logf("listing stale test containers: %v %s", err, out)
			return
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			id, name, ok := strings.Cut(line, " ")
			if !ok || !staleRE.MatchString(name) {
				continue
			}
			// The session's claude.json is mounted from <home>/sessions/<name>/
			// into its user's home, wherever the image puts that.
			out, err := dockerCLI(t, "inspect", "--format", `{{range .Mounts}}{{println .Source}}{{end}}`, id)
			if err != nil {
				continue
			}
			var src string
			for _, s := range strings.Split(out, "\n") {
				if strings.HasSuffix(s, "/claude.json") {
					src = s
				}
			}
			if src == "" {
				continue
			}
			home := filepath.Dir(filepath.Dir(filepath.Dir(src))) // <home>/sessions/<name>/claude.json
			if !strings.HasPrefix(home, os.TempDir()+"/") {
				continue
			}
			if _, err := os.Stat(home); !errors.Is(err, os.ErrNotExist) {
				continue // a live test's, or not ours to judge
			}
			if out, err := dockerCLI(t, "rm", "-f", id); err != nil {
				t.Logf("removing stale test container %s: %v %s", name, err, out)
			} else {
				t.Logf("removed %s, left by an earlier run of the tests", name)
			}
		}
	})
}

// requireDocker fails or skips when no engine answers.
func requireDocker(t testing.TB) {
	t.Helper()
	b, err := docker.New()
	if err != nil {
		testenv.Unavailable(t, "docker client: %v", err)
		return
	}
	defer b.Close()
	if err := b.Ping(context.Background()); err != nil {
		testenv.Unavailable(t, "no Docker engine: %v", err)
	}
}

// startSessDaemon runs the daemon for home with the canary as its
// credential; see startDaemonProc.
func startSessDaemon(t testing.TB, home string, port int, extraEnv ...string) *sessDaemon {
	t.Helper()
	return startDaemonProc(t, home, port, baseEnv(home, append([]string{"CLAUDE_CODE_OAUTH_TOKEN=" + Canary}, extraEnv...)...))
}

// startDaemonProc runs `clauderon daemon` for home on port (0: a free one,
// read back from /status) with exactly env, waits until it serves, and
// stops it at cleanup. The engine's containers of home are removed at
// cleanup too.
func startDaemonProc(t testing.TB, home string, port int, env []string) *sessDaemon {
	t.Helper()
	return startDaemonBinary(t, []string{binary}, home, port, env)
}

// startDaemonBinary is startDaemonProc with another build of clauderon,
// run as argv (its path, or a wrapper and its arguments before it).
func startDaemonBinary(t testing.TB, argv []string, home string, port int, env []string) *sessDaemon {
	t.Helper()
	removeStaleTestContainers(t)
	// No web UI unless the test asked for one (setUIPort): daemons of tests
	// running at once, or the user's own, would meet on its port.
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if f, err := os.OpenFile(filepath.Join(home, "config.json"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.WriteString(`{"ui":{"port":-1}}`)
		f.Close()
	}
	d := &sessDaemon{t: t, home: home, port: port, logs: &syncbuf.Buffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(argv[0], append(argv[1:], "daemon", "--proxy-port", strconv.Itoa(port), "--log-level", "debug")...)
	d.cmd.Env = env
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
	st, err := d.client().Status(context.Background())
	if err != nil {
		t.Fatalf("status of the new daemon: %v", err)
	}
	if port != 0 && st.ProxyPort != port {
		t.Fatalf("the daemon's proxy port is %d, want %d", st.ProxyPort, port)
	}
	d.port = st.ProxyPort
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
	return runClauderon(t, baseEnv(home), "", args...)
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
func listSessions(t testing.TB, home string) api.SessionList {
	t.Helper()
	var l api.SessionList
	if err := json.Unmarshal([]byte(clOK(t, home, "list", "--json")), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func findSession(l api.SessionList, name string) (session.Session, bool) {
	for _, s := range l.Sessions {
		if s.Name == name {
			return s, true
		}
	}
	return session.Session{}, false
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
