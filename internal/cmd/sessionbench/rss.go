package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	dockerclient "github.com/docker/docker/client"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/internal/benchutil"
	"github.com/clauderon/clauderon/session"
)

// rssRows measures the memory of a daemon of its own (own home: config,
// state, CA, audit log) holding b.rssSessions real sessions with usage:
// print sessions, each made with `clauderon create --print --wait`, so that
// each ran the real Claude Code once in a real container against the fake
// API through the proxy, which metered its answers. Their containers exit
// when the answer is in and are kept, as a finished session's are: 100
// running Claude Codes would need some 20 GB here, and a session without a
// container is not kept (a daemon rebuilds its sessions from the engine's
// labels and marks those whose container is gone failed). The same exits
// give one more event row: a container that exits by itself.
func (b *bench) rssRows(ctx context.Context) error {
	home := filepath.Join(b.tmp, "home-rss")
	d, cl, err := b.startDaemonAt(home, nil)
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	_, idle, err := rssOf(ctx, cl)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	daemonEvents, err := watchDaemon(ctx, cl)
	if err != nil {
		return err
	}
	cli, err := dockerclient.NewClientWithOpts(dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()
	engine := watchEngine(ctx, cli)

	n, par := b.rssSessions, max(b.rssParallel, 1)
	logf("memory: %d print sessions, %d at a time", n, par)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("bench-r%03d", i)
		b.containers = append(b.containers, session.ContainerName(names[i])) // swept by cleanup
	}
	t0 := time.Now()
	createErr := benchutil.CreateAll(ctx, b.bin, home, names, par, func(done, n int) { logf("memory: %d/%d sessions", done, n) },
		"--image", b.image)
	took := time.Since(t0)
	defer func() {
		// Remove them through whichever daemon runs on the home now.
		rm := exec.Command(b.bin, append([]string{"rm", "--force", "--discard"}, names...)...)
		rm.Env = append(os.Environ(), "CLAUDERON_HOME="+home)
		_ = rm.Run()
	}()
	if createErr != nil {
		return createErr
	}
	reqs, tokens, err := checkHundred(ctx, cl, names)
	if err != nil {
		return err
	}

	// Each container's own exit (the engine's die event) → the subscriber
	// seeing the session exited; for a print session the daemon reads its
	// output for the result first.
	var exits []time.Duration
	for _, name := range names {
		got, err := daemonEvents.await(name+" exited", t0, time.Second, statusIs(name, api.StatusExited))
		if err != nil {
			return err
		}
		id := got.ev.Session.ContainerID
		die, err := engine.await("the engine's die event of "+name, t0, time.Second, func(e engineEvent) bool { return e.id == id && e.action == "die" })
		if err != nil {
			return err
		}
		exits = append(exits, got.at.Sub(die.ev.at))
	}
	cancel() // the subscriber goes before the memory is read

	time.Sleep(2 * time.Second)
	_, made, err := rssOf(context.Background(), cl)
	if err != nil {
		return err
	}

	// A daemon started again on the same home rebuilds the sessions from
	// their state files and the engine's labels; listing them reads every
	// session's usage file.
	_ = d.Process.Signal(os.Interrupt)
	_ = d.Wait()
	logf("memory: the daemon again, on the same home")
	_, cl2, err := b.launchDaemon(home)
	if err != nil {
		return err
	}
	if _, _, err := checkHundred(context.Background(), cl2, names); err != nil {
		return fmt.Errorf("after the restart: %w", err)
	}
	time.Sleep(2 * time.Second)
	_, restarted, err := rssOf(context.Background(), cl2)
	if err != nil {
		return err
	}

	fmt.Printf("\n| daemon memory: VmRSS of `clauderon daemon` with a home of its own | measured | goal |\n|---|---|---|\n")
	fmt.Printf("| idle, no session | %.1f MB | |\n", float64(idle)/1024)
	fmt.Printf("| with %d sessions' state and usage, after making them through it | %.1f MB | < 40 MB: %v |\n", n, float64(made)/1024, made < 40*1024)
	fmt.Printf("| the same %d, after a restart on that home (rebuilt from state files and the engine; every usage file read by a list) | %.1f MB | < 40 MB: %v |\n", n, float64(restarted)/1024, restarted < 40*1024)
	fmt.Printf("\nthe %d sessions: print sessions (`create --print --wait --no-workdir`, %d at a time, %s in all), each the real Claude Code in a real container answered by the fake API through the proxy, which metered %d requests and %d tokens among them (every session has usage); their containers exited and are kept, as a finished session's are\n",
		n, par, took.Round(time.Second), reqs, tokens)
	b.printEvents([]latencyRow{
		{fmt.Sprintf("a print session's container exits by itself (the engine's die event) → subscriber sees it exited (the daemon reads its result first; %d others being made alongside)", par-1), exits, "p50 < 50 ms"},
	})
	return nil
}

// checkHundred checks that every one of names is a finished print session
// with usage, and sums that usage.
func checkHundred(ctx context.Context, cl *client.Client, names []string) (reqs, tokens int64, err error) {
	l, err := cl.List(ctx)
	if err != nil {
		return 0, 0, err
	}
	by := map[string]api.Session{}
	for _, s := range l.Sessions {
		by[s.Name] = s
	}
	for _, name := range names {
		s, ok := by[name]
		switch {
		case !ok:
			return 0, 0, fmt.Errorf("session %s is missing", name)
		case s.Status != session.StatusExited:
			return 0, 0, fmt.Errorf("session %s is %s, want exited", name, s.Status)
		case s.Usage == nil || s.Usage.Tokens.Total() == 0:
			return 0, 0, fmt.Errorf("session %s has no usage", name)
		}
		reqs += s.Usage.Tokens.Requests
		tokens += s.Usage.Tokens.Total()
	}
	return reqs, tokens, nil
}

func rssOf(ctx context.Context, cl *client.Client) (pid, kb int, err error) {
	return benchutil.RSS(ctx, cl)
}
