// Command sessionbench measures, side by side in one run on the real engine,
// `clauderon create` against a plain `docker run` of the same image with the
// same mounts, a print session against the same container run directly with
// the token in its environment, and the daemon's memory; then workspaces:
// create of a large repository against a one-file one and against `git
// worktree add`, and diff and land of a 1,000-file change; how soon a hook
// fired in a session's container and the engine's events reach a subscriber
// of the daemon's event stream (events.go); and the memory of a daemon with
// 100 sessions' state and usage (rss.go). It prints tables.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/clauderon/clauderon/backend/docker"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/benchutil"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/testimage"
)

const canary = "sk-ant-oat01-CANARY-sessionbench-000000000000"

func main() {
	bin := flag.String("clauderon", "bin/clauderon", "the clauderon binary")
	rounds := flag.Int("rounds", 5, "rounds of each timed run")
	many := flag.Int("sessions", 20, "sessions for the memory row")
	basic := flag.Bool("basic", true, "measure create, print and memory against plain docker runs")
	wsOn := flag.Bool("workspaces", true, "measure workspaces: create of a large repository, diff and land")
	mcpOn := flag.Bool("mcp", true, "measure MCP: list_sessions round trips over stdio and HTTP, and create_session against the CLI")
	walls := flag.Bool("walls", true, "measure the sandbox's walls: create with the gateway against the bridge network and docker run, and a session's latency under a flood")
	evOn := flag.Bool("events", true, "measure how soon a hook fired in a session's container, and the engine's events, reach an events subscriber")
	rssOn := flag.Bool("memory", true, "measure the memory of a daemon of its own with -rss-sessions sessions' state and usage")
	hooks := flag.Int("hooks", 100, "hooks fired inside the container for the events rows")
	execRounds := flag.Int("exec-rounds", 30, "rounds of docker exec (the hook, and true) for the events rows")
	engineRounds := flag.Int("engine-rounds", 20, "rounds of docker kill or stop, then start, for the events rows")
	rssSessions := flag.Int("rss-sessions", 100, "print sessions the memory row's daemon holds")
	rssParallel := flag.Int("rss-parallel", 3, "of those, how many are made at a time")
	var ws wsKnobs
	flag.IntVar(&ws.files, "large-files", 20000, "files in the large repository's working tree")
	flag.IntVar(&ws.historyMB, "large-history-mb", 200, "MiB of (incompressible) history in the large repository")
	flag.IntVar(&ws.rounds, "large-rounds", 0, "rounds of each large-repository measurement (default -rounds)")
	flag.IntVar(&ws.edits, "edits", 1000, "files changed for the diff and land rows")
	flag.Parse()
	if ws.rounds <= 0 {
		ws.rounds = *rounds
	}
	b := &bench{rounds: *rounds, many: *many, basic: *basic, walls: *walls, mcp: *mcpOn,
		events: *evOn, hooks: *hooks, execRounds: *execRounds, engineRounds: *engineRounds,
		rss: *rssOn, rssSessions: *rssSessions, rssParallel: *rssParallel}
	if *wsOn {
		b.ws = &ws
	}
	if *rounds < 1 || ws.edits < 2 || *hooks < 1 || *execRounds < 1 || *engineRounds < 1 || *rssSessions < 1 {
		fmt.Fprintln(os.Stderr, "sessionbench: -rounds, -hooks, -exec-rounds, -engine-rounds and -rss-sessions must be at least 1, -edits at least 2")
		os.Exit(2)
	}
	t0 := time.Now()
	err := b.run(*bin)
	b.cleanup()
	logf("sessionbench took %s", time.Since(t0).Round(time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sessionbench:", err)
		os.Exit(1)
	}
}

type bench struct {
	rounds, many int
	basic        bool
	ws           *wsKnobs // nil: no workspace rows
	bin, tmp     string
	home, image  string
	fake         *fakeanthropic.Server
	daemon       *exec.Cmd
	daemons      []*exec.Cmd // every daemon started, b.daemon first
	walls        bool
	mcp          bool
	events       bool
	hooks        int // hooks fired inside the container
	execRounds   int // rounds of docker exec from the host
	engineRounds int // rounds of docker kill/stop and start
	rss          bool
	rssSessions  int
	rssParallel  int
	mcpPort      int
	cl           *client.Client
	containers   []string
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "==> "+format+"\n", args...) }

func (b *bench) run(bin string) (err error) {
	ctx := context.Background()
	if b.bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	if b.tmp, err = os.MkdirTemp("", "sessionbench"); err != nil {
		return err
	}
	logf("test image (real Claude Code)")
	if b.image, err = testimage.Build(ctx, func(f string, a ...any) { logf(f, a...) }); err != nil {
		return err
	}
	be, err := docker.New()
	if err != nil {
		return err
	}
	gw, err := be.Gateway(ctx)
	be.Close()
	if err != nil || gw == "" {
		return fmt.Errorf("no bridge gateway for the fake upstream (%v)", err)
	}
	// The fake listens on the bridge gateway so direct containers reach it too.
	if b.fake, err = fakeanthropic.StartAt(b.tmp, net.JoinHostPort(gw, "0")); err != nil {
		return err
	}
	if err := b.startDaemon(); err != nil {
		return err
	}
	pid, idle, err := b.daemonRSS(ctx)
	if err != nil {
		return err
	}
	logf("daemon pid %d idle", pid)
	if b.basic {
		if err := b.sessions(ctx, idle); err != nil {
			return err
		}
	}
	if b.events {
		if err := b.eventRows(ctx); err != nil {
			return err
		}
	}
	if b.rss {
		if err := b.rssRows(ctx); err != nil {
			return err
		}
	}
	if b.mcp {
		if err := b.mcpRows(ctx); err != nil {
			return err
		}
	}
	if b.walls {
		if err := b.wallRows(ctx); err != nil {
			return err
		}
	}
	if b.ws != nil {
		return b.workspaces(ctx)
	}
	return nil
}

// sessions measures create and print against plain docker runs of the same
// container, and the daemon's memory idle and with b.many sessions.
func (b *bench) sessions(ctx context.Context, idle int) error {
	work := filepath.Join(b.tmp, "work")
	if err := os.Mkdir(work, 0o777); err != nil {
		return err
	}
	// Each measurement runs alone: a container still starting would steal
	// the CPU from the next one. Order alternates between rounds.
	var create, run, printS, printD []time.Duration
	for i := range b.rounds {
		logf("round %d/%d", i+1, b.rounds)
		pair := []func() error{
			func() error {
				n := fmt.Sprintf("bench-i%d", i)
				d, err := b.timeCmd(b.bin, "create", "--name", n, "--prompt", "hello", "--image", b.image, "--workdir", work)
				create = append(create, d)
				return errors.Join(err, b.quiet(b.bin, "rm", "--force", n))
			},
			func() error {
				n := fmt.Sprintf("bench-plain-%d", i)
				d, err := b.timeCmd("docker", b.dockerRun(n, work, false)...)
				run = append(run, d)
				return errors.Join(err, b.quiet("docker", "rm", "-f", n))
			},
			func() error {
				n := fmt.Sprintf("bench-p%d", i)
				d, err := b.timeCmd(b.bin, "create", "--print", "--wait", "--name", n, "--prompt", "hello", "--image", b.image, "--workdir", work)
				printS = append(printS, d)
				return errors.Join(err, b.quiet(b.bin, "rm", "--force", n))
			},
			func() error {
				n := fmt.Sprintf("bench-direct-%d", i)
				d, err := b.timeCmd("docker", b.dockerRun(n, work, true)...)
				printD = append(printD, d)
				return errors.Join(err, b.quiet("docker", "rm", "-f", n))
			},
		}
		if i%2 == 1 {
			pair[0], pair[1], pair[2], pair[3] = pair[1], pair[0], pair[3], pair[2]
		}
		for _, f := range pair {
			if err := f(); err != nil {
				return err
			}
		}
	}
	// Every session round trip above went through the proxy with the canary.
	for _, r := range b.fake.MessageRequests() {
		if r.Authorization != "Bearer "+canary {
			return errors.New("a request reached the fake without the token")
		}
	}

	logf("%d interactive sessions", b.many)
	var names []string
	for i := range b.many {
		names = append(names, fmt.Sprintf("bench-m%d", i))
		if _, err := b.timeCmd(b.bin, "create", "--name", names[i], "--prompt", "hello", "--image", b.image, "--no-workdir"); err != nil {
			return err
		}
	}
	_, loaded, err := b.daemonRSS(ctx)
	if err != nil {
		return err
	}
	// Idle agents still take memory and CPU from the rows that follow.
	if len(names) > 0 {
		if err := b.quiet(b.bin, append([]string{"rm", "--force"}, names...)...); err != nil {
			return err
		}
	}

	fmt.Printf("\n| measurement (median of %d) | clauderon | baseline | ratio | goal |\n|---|---|---|---|---|\n", b.rounds)
	fmt.Printf("| create → running vs `docker run -d` | %.0f ms | %.0f ms | %.2fx | ≤ 1.2x |\n", median(create), median(run), median(create)/median(run))
	fmt.Printf("| print session end to end vs direct run with the token | %.0f ms | %.0f ms | %.2fx | ≤ 1.1x |\n", median(printS), median(printD), median(printS)/median(printD))
	fmt.Printf("| daemon RSS idle | %.1f MB | | | < 30 MB |\n", float64(idle)/1024)
	fmt.Printf("| daemon RSS with %d sessions | %.1f MB | | | |\n", b.many, float64(loaded)/1024)
	return nil
}

func (b *bench) startDaemon() (err error) {
	b.home = filepath.Join(b.tmp, "home")
	if b.mcpPort, err = freePort(); err != nil {
		return err
	}
	b.daemon, b.cl, err = b.startDaemonAt(b.home, func(c *config.Config) { c.MCP.Port = b.mcpPort })
	return err
}

// startDaemonAt runs a daemon for a new home, whose config.json sends
// api.anthropic.com to the fake and is then changed by edit (if not nil).
func (b *bench) startDaemonAt(home string, edit func(*config.Config)) (*exec.Cmd, *client.Client, error) {
	if err := os.Mkdir(home, 0o700); err != nil {
		return nil, nil, err
	}
	c := config.Config{Proxy: config.Proxy{Upstreams: map[string]config.Upstream{
		"api.anthropic.com": {Address: b.fake.Addr, CAFile: b.fake.CAFile},
	}}}
	if edit != nil {
		edit(&c)
	}
	cfg, _ := json.Marshal(c)
	if err := os.WriteFile(filepath.Join(home, config.FileName), cfg, 0o600); err != nil {
		return nil, nil, err
	}
	return b.launchDaemon(home)
}

// launchDaemon runs a daemon for home, which has its config.json already,
// and waits until it answers.
func (b *bench) launchDaemon(home string) (*exec.Cmd, *client.Client, error) {
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	d := exec.Command(b.bin, "daemon", "--proxy-port", strconv.Itoa(port))
	d.Env = append(os.Environ(), "CLAUDERON_HOME="+home, "CLAUDE_CODE_OAUTH_TOKEN="+canary)
	logFile, err := os.OpenFile(home+".daemon.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	d.Stdout, d.Stderr = logFile, logFile
	if err := d.Start(); err != nil {
		return nil, nil, err
	}
	b.daemons = append(b.daemons, d)
	cl := &client.Client{Socket: filepath.Join(home, client.SocketFile)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := cl.Status(context.Background()); err == nil {
			return d, cl, nil
		} else if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("the daemon for %s did not answer within 60 s: %w", home, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *bench) daemonRSS(ctx context.Context) (pid, kb int, err error) { return rssOf(ctx, b.cl) }

// dockerRun is the plain engine run a session corresponds to: same image,
// same mounts. direct runs print mode with the token in the environment,
// straight to the fake upstream.
func (b *bench) dockerRun(name, work string, direct bool) []string {
	cj := filepath.Join(b.tmp, name+".claude.json")
	_ = os.WriteFile(cj, []byte(`{"hasCompletedOnboarding": true}`), 0o666)
	b.containers = append(b.containers, name)
	args := []string{"run", "--name", name, "--user", "claude", "--workdir", "/workspace",
		"--add-host", "host.docker.internal:host-gateway",
		"-v", filepath.Join(b.home, "ca-bundle.pem") + ":/etc/clauderon/ca-bundle.pem:ro",
		"-v", filepath.Join(b.home, "proxy-ca.pem") + ":/etc/clauderon/proxy-ca.pem:ro",
		"-v", cj + ":/home/claude/.claude.json",
		"-v", work + ":/workspace",
		"-e", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "-e", "DISABLE_AUTOUPDATER=1"}
	if !direct {
		return append(args, "-d", "-t", "-i", "-e", "CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-clauderon-proxy-placeholder",
			b.image, "claude", "--dangerously-skip-permissions", "--", "hello")
	}
	_, port, _ := net.SplitHostPort(b.fake.Addr)
	return append(args, "-e", "CLAUDE_CODE_OAUTH_TOKEN="+canary,
		"-v", b.fake.CAFile+":/etc/fake-ca.pem:ro", "-e", "NODE_EXTRA_CA_CERTS=/etc/fake-ca.pem",
		"--add-host", "api.anthropic.com:host-gateway", "-e", "ANTHROPIC_BASE_URL=https://api.anthropic.com:"+port,
		b.image, "claude", "--dangerously-skip-permissions", "--print", "--verbose", "--output-format", "stream-json", "--", "hello")
}

func (b *bench) cleanup() {
	if b.cl != nil {
		if l, err := b.cl.List(context.Background()); err == nil {
			for _, s := range l.Sessions {
				_ = b.cl.Remove(context.Background(), s.Name, true, true)
			}
		}
	}
	if len(b.containers) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f"}, b.containers...)...).Run()
	}
	for _, d := range b.daemons {
		if d.Process != nil {
			_ = d.Process.Signal(os.Interrupt)
			_ = d.Wait()
		}
	}
	if b.fake != nil {
		b.fake.Close()
	}
	if b.tmp != "" {
		os.RemoveAll(b.tmp)
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

func (b *bench) timeCmd(name string, args ...string) (time.Duration, error) {
	return benchutil.TimeCmd(b.home, name, args...)
}

// quiet runs a clean-up command between measurements.
func (b *bench) quiet(name string, args ...string) error {
	return benchutil.Quiet(b.home, name, args...)
}
