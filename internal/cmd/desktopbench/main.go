// Command desktopbench measures the desktop app under Xvfb against a real
// daemon with the real Claude Code (a fake Anthropic upstream): cold start
// to the first painted window, the app's memory idle and with 20 sessions
// listed (the app's process and its WebKit children together), and how
// long a session's state change takes to show in the window. It prints a
// table and asserts nothing. The window's content is read from the
// frontend's reports (desktop.DumpEnv), sent two frames after a change.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/clauderon/clauderon/internal/benchsessions"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/desktop"
	"github.com/clauderon/clauderon/desktop/desktoptest"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/testimage"
)

const (
	canary   = "sk-ant-oat01-CANARY-desktopbench-000000000"
	liveName = "db-live"
)

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "==> "+format+"\n", args...) }

type bench struct {
	cli, app string
	sessions int
	rounds   int
	tmp      string
	home     string
	image    string
	fake     *fakeanthropic.Server
	daemon   *exec.Cmd
	cl       *client.Client
	x        *desktoptest.Display
}

func main() {
	cli := flag.String("clauderon", "bin/clauderon-cli", "the static clauderon CLI (runs the daemon)")
	app := flag.String("app", "bin/clauderon", "the desktop build of clauderon")
	sessions := flag.Int("sessions", 20, "print sessions listed (one more interactive one takes the state changes)")
	rounds := flag.Int("rounds", 5, "rounds of each measurement")
	flag.Parse()
	if *sessions < 1 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "desktopbench: -sessions and -rounds must be at least 1")
		os.Exit(2)
	}
	b := &bench{sessions: *sessions, rounds: *rounds}
	t0 := time.Now()
	err := b.run(*cli, *app)
	b.cleanup()
	logf("desktopbench took %s", time.Since(t0).Round(time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "desktopbench:", err)
		os.Exit(1)
	}
}

func (b *bench) run(cli, app string) (err error) {
	ctx := context.Background()
	if b.cli, err = filepath.Abs(cli); err != nil {
		return err
	}
	if b.app, err = filepath.Abs(app); err != nil {
		return err
	}
	if b.tmp, err = os.MkdirTemp("", "desktopbench"); err != nil {
		return err
	}
	logf("test image (real Claude Code)")
	if b.image, err = testimage.Build(ctx, func(f string, a ...any) { logf(f, a...) }); err != nil {
		return err
	}
	if b.fake, err = fakeanthropic.Start(b.tmp); err != nil {
		return err
	}
	if err := b.startDaemon(); err != nil {
		return err
	}
	if b.x, err = desktoptest.StartXvfb(ctx); err != nil {
		return err
	}

	var res results
	logf("cold start, %d rounds, no session", b.rounds)
	for i := range b.rounds {
		d, err := b.coldStart(ctx, i)
		if err != nil {
			return err
		}
		res.cold = append(res.cold, d)
	}

	a, err := b.startApp(ctx, "steady")
	if err != nil {
		return err
	}
	defer a.Stop()
	if _, err := a.Wait(ctx, "the sessions view", func(r desktop.Report) bool { return r.View == "sessions" }); err != nil {
		return err
	}
	if res.idle, err = settledRSS(a.PID()); err != nil {
		return err
	}

	logf("%d print sessions and an interactive one", b.sessions)
	if err := b.makeSessions(); err != nil {
		return err
	}
	if _, err := a.Wait(ctx, "every session listed", func(r desktop.Report) bool { return len(r.Rows) == b.sessions+1 }); err != nil {
		return err
	}
	if res.listed, err = settledRSS(a.PID()); err != nil {
		return err
	}

	logf("state changes, %d rounds of stop and start", b.rounds)
	if res.change, err = b.stateChanges(ctx, a); err != nil {
		return err
	}
	res.print(b)
	return nil
}

func (b *bench) env() []string {
	return []string{"CLAUDERON_HOME=" + b.home, "CLAUDERON_KEYRING_SERVICE=clauderon-desktopbench"}
}

// startDaemon runs the static CLI's daemon on a new home whose config
// sends api.anthropic.com to the fake; the app is then its client, as
// after `make run`.
func (b *bench) startDaemon() error {
	home, err := desktoptest.NewHome(b.tmp)
	if err != nil {
		return err
	}
	b.home = home
	var c map[string]any
	raw, err := os.ReadFile(filepath.Join(home, config.FileName))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	c["proxy"].(map[string]any)["upstreams"] = map[string]any{"api.anthropic.com": map[string]any{"address": b.fake.Addr, "ca_file": b.fake.CAFile}}
	raw, _ = json.Marshal(c)
	if err := os.WriteFile(filepath.Join(home, config.FileName), raw, 0o600); err != nil {
		return err
	}
	b.daemon = exec.Command(b.cli, "daemon")
	b.daemon.Env = append(append(os.Environ(), b.env()...), "CLAUDE_CODE_OAUTH_TOKEN="+canary)
	logFile, err := os.OpenFile(home+".daemon.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	b.daemon.Stdout, b.daemon.Stderr = logFile, logFile
	if err := b.daemon.Start(); err != nil {
		return err
	}
	b.cl = &client.Client{Socket: filepath.Join(home, client.SocketFile)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := b.cl.Status(context.Background()); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("the daemon did not answer within 60 s: %w (log in %s.daemon.log)", err, home)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *bench) startApp(ctx context.Context, tag string) (*desktoptest.App, error) {
	dir := filepath.Join(b.tmp, tag)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return desktoptest.StartApp(b.app, b.x, dir, b.env()...)
}

// coldStart runs the app once and answers the time from its exec to the
// frontend's first report of a rendered view.
func (b *bench) coldStart(ctx context.Context, i int) (time.Duration, error) {
	a, err := b.startApp(ctx, "cold-"+strconv.Itoa(i))
	if err != nil {
		return 0, err
	}
	defer a.Stop()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	d, err := a.Wait(wctx, "the first view", func(r desktop.Report) bool { return r.View != "" })
	if err != nil {
		return 0, err
	}
	return time.Duration(d.Time - a.Started.UnixNano()), nil
}

func (b *bench) makeSessions() error {
	return benchsessions.Make(b.clauderon, "db", liveName, b.image, b.sessions)
}

// stateChanges stops and starts the interactive session and answers, for
// each change, the time from the daemon's event (its own timestamp) to
// the window's report of the row with the new status.
func (b *bench) stateChanges(ctx context.Context, a *desktoptest.App) ([]time.Duration, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	evs, err := b.cl.Watch(wctx, client.WatchOptions{})
	if err != nil {
		return nil, err
	}
	defer evs.Close()
	changed := make(chan api.Event, 64)
	go func() {
		for {
			ev, err := evs.Next()
			if err != nil {
				close(changed)
				return
			}
			if ev.Kind == api.EventChanged && ev.Name == liveName && ev.Session != nil {
				changed <- ev
			}
		}
	}()
	var out []time.Duration
	for i := 0; i < 2*b.rounds; i++ {
		verb, want := "stop", api.StatusStopped
		if i%2 == 1 {
			verb, want = "start", api.StatusRunning
		}
		if err := b.clauderon(verb, liveName); err != nil {
			return nil, err
		}
		var at time.Time
		for at.IsZero() {
			select {
			case ev, ok := <-changed:
				if !ok {
					return nil, fmt.Errorf("the event stream ended")
				}
				if ev.Session.Status == want {
					at = ev.Time
				}
			case <-time.After(time.Minute):
				return nil, fmt.Errorf("no %s event for %s", want, liveName)
			}
		}
		rctx, rcancel := context.WithTimeout(ctx, time.Minute)
		d, err := a.WaitSince(rctx, liveName+" "+string(want), at, func(r desktop.Report) bool {
			for _, row := range r.Rows {
				if row.Name == liveName && status(row.Text) == string(want) {
					return true
				}
			}
			return false
		})
		rcancel()
		if err != nil {
			return nil, err
		}
		out = append(out, time.Duration(d.Time-at.UnixNano()))
	}
	return out, nil
}

// status is the status cell of a row's text (its cells are tab-separated:
// name, mode, status, …).
func status(rowText string) string {
	f := strings.Split(rowText, "\t")
	if len(f) < 3 {
		return ""
	}
	return strings.TrimSpace(f[2])
}

func (b *bench) clauderon(args ...string) error {
	cmd := exec.Command(b.cli, args...)
	cmd.Env = append(os.Environ(), b.env()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("clauderon %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (b *bench) cleanup() {
	if b.daemon != nil && b.daemon.Process != nil {
		_ = b.clauderon("rm", "--force", liveName)
		for i := range b.sessions {
			_ = b.clauderon("rm", "--force", fmt.Sprintf("db-%02d", i))
		}
		_ = b.daemon.Process.Signal(os.Interrupt)
		_ = b.daemon.Wait()
	}
	if b.x != nil {
		b.x.Stop()
	}
	if b.fake != nil {
		b.fake.Close()
	}
	if b.tmp != "" {
		_ = os.RemoveAll(b.tmp)
	}
}
