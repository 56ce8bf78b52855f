// Command webbench measures the web UI in headless chromium on loopback
// against a real daemon holding real sessions: how soon a cold load paints
// and shows the session list, how many bytes that load moves, and how soon
// an engine event (a session's container killed or started outside
// clauderon) shows in the page. It prints a table with the goals beside;
// it asserts nothing.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/clauderon/clauderon/internal/benchsessions"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/testimage"
)

const canary = "sk-ant-oat01-CANARY-webbench-0000000000000"

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "==> "+format+"\n", args...) }

type bench struct {
	bin, tmp, home, image string
	sessions, rounds      int
	uiPort                int
	base                  string
	fake                  *fakeanthropic.Server
	daemon                *exec.Cmd
	cl                    *client.Client
	browser               context.Context
}

func main() {
	bin := flag.String("clauderon", "bin/clauderon", "the clauderon binary")
	sessions := flag.Int("sessions", 20, "print sessions in the list (one more interactive one takes the engine events)")
	rounds := flag.Int("rounds", 20, "rounds of each measurement")
	flag.Parse()
	if *sessions < 1 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "webbench: -sessions and -rounds must be at least 1")
		os.Exit(2)
	}
	b := &bench{sessions: *sessions, rounds: *rounds}
	t0 := time.Now()
	err := b.run(*bin)
	b.cleanup()
	logf("webbench took %s", time.Since(t0).Round(time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "webbench:", err)
		os.Exit(1)
	}
}

func (b *bench) run(bin string) (err error) {
	ctx := context.Background()
	if b.bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	if b.tmp, err = os.MkdirTemp("", "webbench"); err != nil {
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
	logf("%d print sessions and an interactive one", b.sessions)
	if err := b.makeSessions(); err != nil {
		return err
	}
	cancel, err := b.startBrowser()
	if err != nil {
		return err
	}
	defer cancel()
	load, err := b.loadRows(ctx)
	if err != nil {
		return err
	}
	ev, err := b.eventRows(ctx)
	if err != nil {
		return err
	}
	printTable(b, load, ev)
	return nil
}

// startDaemon runs the daemon on a new home whose config sends
// api.anthropic.com to the fake and serves the UI on a free port.
func (b *bench) startDaemon() error {
	b.home = filepath.Join(b.tmp, "home")
	if err := os.Mkdir(b.home, 0o700); err != nil {
		return err
	}
	var err error
	if b.uiPort, err = freePort(); err != nil {
		return err
	}
	proxyPort, err := freePort()
	if err != nil {
		return err
	}
	b.base = "http://127.0.0.1:" + strconv.Itoa(b.uiPort)
	// Through a map, so the ui key needs no field of config.Config here.
	c := map[string]any{
		"proxy": map[string]any{"upstreams": map[string]any{"api.anthropic.com": map[string]any{"address": b.fake.Addr, "ca_file": b.fake.CAFile}}},
		"mcp":   map[string]any{"port": -1},
		"ui":    map[string]any{"port": b.uiPort},
	}
	if err := checkConfigKeys(c); err != nil {
		return err
	}
	cfg, _ := json.Marshal(c)
	if err := os.WriteFile(filepath.Join(b.home, config.FileName), cfg, 0o600); err != nil {
		return err
	}
	b.daemon = exec.Command(b.bin, "daemon", "--proxy-port", strconv.Itoa(proxyPort))
	b.daemon.Env = append(os.Environ(), "CLAUDERON_HOME="+b.home, "CLAUDE_CODE_OAUTH_TOKEN="+canary)
	logFile, err := os.OpenFile(b.home+".daemon.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	b.daemon.Stdout, b.daemon.Stderr = logFile, logFile
	if err := b.daemon.Start(); err != nil {
		return err
	}
	b.cl = &client.Client{Socket: filepath.Join(b.home, client.SocketFile)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := b.cl.Status(context.Background()); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("the daemon did not answer within 60 s: %w (log in %s.daemon.log)", err, b.home)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkConfigKeys makes sure the JSON names used above are config.Config's
// own, so a renamed key fails here and not as a silently ignored setting.
func checkConfigKeys(c map[string]any) error {
	raw, _ := json.Marshal(c)
	var cfg config.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	if u := cfg.Proxy.Upstreams["api.anthropic.com"]; u.Address == "" || u.CAFile == "" || cfg.MCP.Port != -1 {
		return fmt.Errorf("config.json keys changed: %s decodes to %+v", raw, cfg)
	}
	return nil
}

// makeSessions creates the print sessions (three at a time: the machine's
// cores are few) and the interactive one.
func (b *bench) makeSessions() error {
	return benchsessions.Make(b.clauderon, "wb", liveName, b.image, b.sessions)
}

const liveName = "wb-live"

func (b *bench) clauderon(args ...string) error {
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+b.home)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("clauderon %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

var loginURLRE = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/login\?token=[A-Za-z0-9_-]+`)

// loginURL mints a one-time login URL with `clauderon ui --print`.
func (b *bench) loginURL() (string, error) {
	cmd := exec.Command(b.bin, "ui", "--print")
	cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+b.home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("clauderon ui --print: %v\n%s", err, out)
	}
	u := loginURLRE.FindString(string(out))
	if u == "" {
		return "", fmt.Errorf("clauderon ui --print printed no login URL: %q", out)
	}
	return u, nil
}

func (b *bench) startBrowser() (context.CancelFunc, error) {
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		return nil, fmt.Errorf("no chromium on PATH (scripts/test-deps.sh installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.Headless, chromedp.WindowSize(1280, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // chromium's sandbox refuses root
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		return nil, err
	}
	b.browser = ctx
	return func() { cancelCtx(); cancelAlloc() }, nil
}

func (b *bench) cleanup() {
	if b.daemon != nil && b.daemon.Process != nil {
		_ = b.clauderon("rm", "--force", liveName)
		for i := range b.sessions {
			_ = b.clauderon("rm", "--force", fmt.Sprintf("wb-%02d", i))
		}
		_ = b.daemon.Process.Signal(os.Interrupt)
		_ = b.daemon.Wait()
	}
	if b.fake != nil {
		b.fake.Close()
	}
	if b.tmp != "" {
		_ = os.RemoveAll(b.tmp)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
