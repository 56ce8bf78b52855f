// Package desktoptest runs the real desktop app under Xvfb for the window
// tests and desktopbench: it builds the binaries, starts a private X
// display, runs the app with the report dump on (desktop.DumpEnv) and
// waits on what the frontend reports it shows.
package desktoptest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clauderon/clauderon/desktop"
)

// Tags answers the desktop build's tags for the WebKitGTK installed, or
// an error naming what is missing.
func Tags() (string, error) {
	if exec.Command("pkg-config", "--exists", "gtk+-3.0").Run() != nil {
		return "", errors.New("GTK 3 is not installed (libgtk-3-dev)")
	}
	switch {
	case exec.Command("pkg-config", "--exists", "webkit2gtk-4.1").Run() == nil:
		return "desktop,production,webkit2_41", nil
	case exec.Command("pkg-config", "--exists", "webkit2gtk-4.0").Run() == nil:
		return "desktop,production", nil
	}
	return "", errors.New("WebKitGTK is not installed (libwebkit2gtk-4.1-dev)")
}

// Build builds the module at root into out: the desktop app with the
// desktop tags, the static CLI with tags "".
func Build(root, out, tags string) error {
	cmd := exec.Command("go", "build", "-tags", tags, "-o", out, ".")
	cmd.Dir = root
	cmd.Env = os.Environ()
	if tags == "" {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	} else {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=1")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -tags %q: %v\n%s", tags, err, b)
	}
	return nil
}

// Display is a private Xvfb server.
type Display struct {
	Name string // ":N"
	cmd  *exec.Cmd
}

// StartXvfb starts Xvfb on a display number it picks itself (-displayfd),
// so tests running at once never share one.
func StartXvfb(ctx context.Context) (*Display, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, "Xvfb", "-displayfd", "3", "-screen", "0", "1280x900x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("Xvfb: %w", err)
	}
	w.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("Xvfb did not say its display: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("Xvfb said display %q", line)
	}
	return &Display{Name: ":" + strconv.Itoa(n), cmd: cmd}, nil
}

// Stop ends the X server.
func (d *Display) Stop() {
	d.cmd.Process.Kill()
	d.cmd.Wait()
}

// Screenshot saves the whole screen as a PNG (ImageMagick's import) once
// it has settled: WebKit paints in a process of its own, so the DOM's
// report can come a frame or two before the pixels reach the X server.
// It takes shots until two in a row are the same (at most 20).
func (d *Display) Screenshot(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var prev []byte
	for i := 0; i < 20; i++ {
		if b, err := exec.Command("import", "-display", d.Name, "-window", "root", path).CombinedOutput(); err != nil {
			return fmt.Errorf("import -window root: %v: %s", err, b)
		}
		cur, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Equal(cur, prev) {
			return nil
		}
		prev = cur
		time.Sleep(100 * time.Millisecond) // the next frame
	}
	return nil
}

// ArtifactsDir is where screenshots go: $CLAUDERON_TEST_ARTIFACTS, else
// $TMPDIR/clauderon-screens.
func ArtifactsDir() string {
	if d := os.Getenv("CLAUDERON_TEST_ARTIFACTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "clauderon-screens")
}

// FreePort answers a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// NewHome makes a private CLAUDERON_HOME under dir whose config.json puts
// the proxy on a free port and turns the web UI and MCP endpoint off, so
// the tests' daemons never meet another's.
func NewHome(dir string) (string, error) {
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", err
	}
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	conf := fmt.Sprintf(`{"proxy": {"port": %d}, "ui": {"port": -1}, "mcp": {"port": -1}}`, port)
	return home, os.WriteFile(filepath.Join(home, "config.json"), []byte(conf), 0o600)
}

// App is the desktop app running on a Display.
type App struct {
	Started time.Time
	Dump    string
	cmd     *exec.Cmd
	log     *lockedBuffer
	done    chan struct{}
	err     error
}

// StartApp runs the desktop binary with no arguments on display with env
// added to the environment, its reports appended to a file under dir.
func StartApp(bin string, d *Display, dir string, env ...string) (*App, error) {
	a := &App{Dump: filepath.Join(dir, "dump.jsonl"), log: &lockedBuffer{}, done: make(chan struct{})}
	a.cmd = exec.Command(bin)
	a.cmd.Env = append(append(os.Environ(), "DISPLAY="+d.Name, "WAYLAND_DISPLAY=", desktop.DumpEnv+"="+a.Dump), env...)
	a.cmd.Stdout = a.log
	a.cmd.Stderr = a.log
	a.Started = time.Now()
	if err := a.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { a.err = a.cmd.Wait(); close(a.done) }()
	return a, nil
}

// PID is the app's process id.
func (a *App) PID() int { return a.cmd.Process.Pid }

// Log answers what the app printed.
func (a *App) Log() string { return a.log.String() }

// Stop asks the app to quit (SIGTERM, as a session logout does) and waits.
func (a *App) Stop() error {
	select {
	case <-a.done:
		return a.err
	default:
	}
	a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		a.cmd.Process.Kill()
		<-a.done
		return errors.New("the app did not quit within 20 s of SIGINT")
	}
	return a.err
}

// Wait waits until a report satisfies ok, and answers it with when it
// arrived. It fails when the app exits first or ctx ends.
func (a *App) Wait(ctx context.Context, what string, ok func(desktop.Report) bool) (desktop.Dumped, error) {
	return a.WaitSince(ctx, what, time.Time{}, ok)
}

// WaitSince is Wait for the reports that arrived at since or later.
func (a *App) WaitSince(ctx context.Context, what string, since time.Time, ok func(desktop.Report) bool) (desktop.Dumped, error) {
	var last desktop.Dumped
	seen := 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		b, _ := os.ReadFile(a.Dump)
		lines := bytes.Split(b, []byte("\n"))
		for ; seen < len(lines)-1; seen++ { // the last is "" or being written
			var d desktop.Dumped
			if json.Unmarshal(lines[seen], &d) != nil {
				continue
			}
			last = d
			if (since.IsZero() || d.Time >= since.UnixNano()) && ok(d.Report) {
				return d, nil
			}
		}
		select {
		case <-a.done:
			return last, fmt.Errorf("waiting for %s: the app exited (%v); last report %+v; its log:\n%s", what, a.err, last.Report, a.Log())
		case <-ctx.Done():
			return last, fmt.Errorf("waiting for %s: %w; last report %+v; the app's log:\n%s", what, ctx.Err(), last.Report, a.Log())
		case <-tick.C:
		}
	}
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
