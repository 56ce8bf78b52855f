package main

import (
	"context"
	"fmt"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/internal/benchutil"
	"github.com/clauderon/clauderon/session"
)

// rssRows measures the daemon's memory holding b.many Kubernetes sessions:
// print sessions (`create --print --wait`, b.par at a time), each the real
// Claude Code in a pod answered by the fake through the gateway, tunnel
// and proxy. Their pods exit when the answer is in and are kept, as a
// finished session's are, so the node (2 CPUs) runs only b.par at once
// while the daemon keeps the state of all. Then the same after a restart
// on the same home: rebuilt from state files and the cluster's labels.
// idle is the daemon's RSS before the first row.
func (b *bench) rssRows(ctx context.Context, idle int) error {
	n, par := b.many, b.par
	logf("memory: %d Kubernetes print sessions, %d at a time", n, par)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("bench-r%03d", i)
	}
	t0 := time.Now()
	err := benchutil.CreateAll(ctx, b.bin, b.home, names, par, func(done, n int) { logf("memory: %d/%d sessions", done, n) },
		"--backend", "kubernetes", "--image", b.image)
	took := time.Since(t0)
	if err != nil {
		return err
	}
	if err := checkAll(ctx, b.cl, names); err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // settle, as sessionbench's row does
	_, made, err := rssOf(ctx, b.cl)
	if err != nil {
		return err
	}

	logf("memory: the daemon again, on the same home")
	b.stopDaemon()
	if b.daemon, b.cl, err = b.launchDaemon(); err != nil {
		return err
	}
	if err := checkAll(ctx, b.cl, names); err != nil {
		return fmt.Errorf("after the restart: %w", err)
	}
	time.Sleep(2 * time.Second)
	_, restarted, err := rssOf(ctx, b.cl)
	if err != nil {
		return err
	}
	fmt.Printf("\n| daemon memory: VmRSS of `clauderon daemon` (Kubernetes backend on) | measured | goal |\n|---|---|---|\n")
	fmt.Printf("| idle, before the rows above | %.1f MB | |\n", float64(idle)/1024)
	fmt.Printf("| with %d Kubernetes sessions' state, after the rows above and making them through it | %.1f MB | < 60 MB: %v |\n", n, float64(made)/1024, made < 60*1024)
	fmt.Printf("| the same %d, after a restart on that home (rebuilt from state files and the cluster's labels, then listed) | %.1f MB | < 60 MB: %v |\n", n, float64(restarted)/1024, restarted < 60*1024)
	fmt.Printf("\nthe %d sessions: print sessions (`create --backend kubernetes --print --wait --no-workdir`, %d at a time, %s in all), each the real Claude Code in a pod answered by the fake through the cluster gateway, the tunnel and the proxy; their pods exited and are kept, as a finished session's are\n",
		n, par, took.Round(time.Second))
	return nil
}

// checkAll checks that every one of names is listed as a finished
// Kubernetes print session with the fake's reply as its result.
func checkAll(ctx context.Context, cl *client.Client, names []string) error {
	l, err := cl.List(ctx)
	if err != nil {
		return err
	}
	by := map[string]api.Session{}
	for _, s := range l.Sessions {
		by[s.Name] = s
	}
	for _, name := range names {
		s, ok := by[name]
		switch {
		case !ok:
			return fmt.Errorf("session %s is missing", name)
		case s.Backend != api.BackendKubernetes:
			return fmt.Errorf("session %s is on %q, want kubernetes", name, s.Backend)
		case s.Status != session.StatusExited:
			return fmt.Errorf("session %s is %s, want exited", name, s.Status)
		case s.Result == nil:
			return fmt.Errorf("session %s has no result", name)
		}
	}
	return nil
}

func rssOf(ctx context.Context, cl *client.Client) (pid, kb int, err error) {
	return benchutil.RSS(ctx, cl)
}
