package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	dockerclient "github.com/docker/docker/client"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/session"
)

// The event rows time how long a change takes to reach a subscriber of the
// daemon's event stream (GET /api/v0/events, client.Watch on its socket):
// a Claude Code hook fired inside a real session's container, and the
// engine's own events (a container killed, stopped or started outside
// clauderon, or exiting by itself). Every clock read is the host's
// CLOCK_REALTIME: a container shares the host's clock, and so do the
// engine's event timestamps and the daemon's (each event's time is when
// the daemon published it).

// seen is an event and the moment its line was decoded.
type seen[T any] struct {
	ev T
	at time.Time
}

// eventLog keeps what a stream delivered, for lookups after the fact: the
// times are taken by the reading goroutine, so how soon a lookup runs does
// not change them.
type eventLog[T any] struct {
	mu  sync.Mutex
	evs []seen[T]
	err error // why the stream ended
}

func (l *eventLog[T]) add(ev T) {
	at := time.Now()
	l.mu.Lock()
	l.evs = append(l.evs, seen[T]{ev, at})
	l.mu.Unlock()
}

func (l *eventLog[T]) end(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
}

// await returns the first event read at or after from that ok accepts,
// waiting up to timeout for it.
func (l *eventLog[T]) await(what string, from time.Time, timeout time.Duration, ok func(T) bool) (seen[T], error) {
	deadline := time.Now().Add(timeout)
	for {
		l.mu.Lock()
		for _, s := range l.evs {
			if !s.at.Before(from) && ok(s.ev) {
				l.mu.Unlock()
				return s, nil
			}
		}
		err := l.err
		l.mu.Unlock()
		if err != nil {
			return seen[T]{}, fmt.Errorf("waiting for %s: the stream ended: %w", what, err)
		}
		if time.Now().After(deadline) {
			return seen[T]{}, fmt.Errorf("no %s within %s", what, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// watchDaemon subscribes to cl's event stream until ctx ends.
func watchDaemon(ctx context.Context, cl *client.Client) (*eventLog[api.Event], error) {
	evs, err := cl.Watch(ctx, client.WatchOptions{})
	if err != nil {
		return nil, err
	}
	l := &eventLog[api.Event]{}
	go func() {
		defer evs.Close()
		for {
			ev, err := evs.Next()
			if err != nil {
				l.end(err)
				return
			}
			l.add(ev)
		}
	}()
	// The snapshot comes first: once it is read, the subscription is live.
	if _, err := l.await("the snapshot", time.Time{}, 30*time.Second, func(ev api.Event) bool { return ev.Kind == api.EventSnapshot }); err != nil {
		return nil, err
	}
	return l, nil
}

// engineEvent is one of the engine's container events: its action and the
// engine's own time of it.
type engineEvent struct {
	id, action string
	at         time.Time
}

// watchEngine follows the engine's container events until ctx ends.
func watchEngine(ctx context.Context, cli *dockerclient.Client) *eventLog[engineEvent] {
	msgs, errs := cli.Events(ctx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)))})
	l := &eventLog[engineEvent]{}
	go func() {
		for {
			select {
			case m := <-msgs:
				l.add(engineEvent{id: m.Actor.ID, action: string(m.Action), at: time.Unix(0, m.TimeNano)})
			case err := <-errs:
				l.end(err)
				return
			}
		}
	}()
	return l
}

func statusIs(name string, st api.SessionStatus) func(api.Event) bool {
	return func(ev api.Event) bool {
		return ev.Kind == api.EventChanged && ev.Name == name && ev.Session != nil && ev.Session.Status == st
	}
}

func activityTool(name, tool string) func(api.Event) bool {
	return func(ev api.Event) bool {
		if ev.Kind != api.EventActivity || ev.Name != name {
			return false
		}
		var a api.Activity
		return json.Unmarshal(ev.Activity, &a) == nil && a.Tool == tool
	}
}

// hookInput is what Claude Code writes on a PreToolUse hook's stdin.
func hookInput(tool string) string {
	return fmt.Sprintf(`{"session_id":"sessionbench","transcript_path":"/home/claude/.claude/projects/-workspace/sessionbench.jsonl","cwd":"/workspace","permission_mode":"bypassPermissions","hook_event_name":"PreToolUse","tool_name":%q,"tool_input":{"command":"true"}}`, tool)
}

// eventRows measures the event rows on b's daemon.
func (b *bench) eventRows(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	daemonEvents, err := watchDaemon(ctx, b.cl)
	if err != nil {
		return err
	}
	cli, err := dockerclient.NewClientWithOpts(dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()
	engine := watchEngine(ctx, cli)

	const name = "bench-events"
	logf("events: session %s", name)
	t0 := time.Now()
	if _, err := b.timeCmd(b.bin, "create", "--name", name, "--prompt", "hello", "--image", b.image, "--no-workdir"); err != nil {
		return err
	}
	defer b.quiet(b.bin, "rm", "--force", name)
	// Claude Code answers the prompt, its own hooks reporting as it goes;
	// the rows start once it waits for input.
	if _, err := daemonEvents.await("Claude Code waiting for input", t0, 2*time.Minute, func(ev api.Event) bool {
		var a api.Activity
		return ev.Kind == api.EventActivity && ev.Name == name && json.Unmarshal(ev.Activity, &a) == nil && a.State == api.ActivityWaitingInput
	}); err != nil {
		return err
	}
	s, err := b.cl.Get(ctx, name)
	if err != nil {
		return err
	}
	ctr := session.ContainerName(name)

	// Hooks fired inside the container: one docker exec runs a bash loop
	// that takes $EPOCHREALTIME (no fork) just before each
	// `clauderon hook PreToolUse` and again when it returned.
	n := b.hooks
	logf("events: %d hooks fired inside the container", n)
	script := "for i in $(seq 1 " + strconv.Itoa(n) + "); do\n" +
		"  t0=$EPOCHREALTIME\n" +
		"  printf '" + hookInput("%s") + "' bench-in-$i | " + gateway.Binary + " hook PreToolUse\n" +
		"  t1=$EPOCHREALTIME\n" +
		"  echo \"$i $t0 $t1\"\n" +
		"  sleep 0.1\n" +
		"done"
	loopStart := time.Now()
	loop := exec.CommandContext(ctx, "docker", "exec", ctr, "bash", "-c", script)
	var loopErr strings.Builder
	loop.Stderr = &loopErr
	out, err := loop.Output()
	if err != nil {
		return fmt.Errorf("the hook loop in %s: %v\n%s%s", ctr, err, out, loopErr.String())
	}
	var inside, publish, run []time.Duration
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			return fmt.Errorf("the hook loop printed %q", line)
		}
		start, err1 := epoch(f[1])
		end, err2 := epoch(f[2])
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("the hook loop printed %q: %w", line, err)
		}
		got, err := daemonEvents.await("activity of hook "+f[0], loopStart, 10*time.Second, activityTool(name, "bench-in-"+f[0]))
		if err != nil {
			return err
		}
		inside = append(inside, got.at.Sub(start))
		publish = append(publish, got.at.Sub(got.ev.Time))
		run = append(run, end.Sub(start))
	}
	if len(inside) != n {
		return fmt.Errorf("the hook loop reported %d hooks of %d", len(inside), n)
	}

	// The same from the host, one docker exec per hook, taking turns with
	// a docker exec of `true`: what docker exec itself costs.
	rounds := b.execRounds
	logf("events: %d rounds of docker exec: the hook, and true", rounds)
	var viaExec, execTrue []time.Duration
	for i := range rounds {
		steps := []func() error{
			func() error {
				tool := fmt.Sprintf("bench-exec-%d", i)
				cmd := exec.CommandContext(ctx, "docker", "exec", "-i", ctr, gateway.Binary, "hook", "PreToolUse")
				cmd.Stdin = strings.NewReader(hookInput(tool))
				t0 := time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("docker exec clauderon hook: %v\n%s", err, out)
				}
				got, err := daemonEvents.await("activity of "+tool, t0, 10*time.Second, activityTool(name, tool))
				if err != nil {
					return err
				}
				viaExec = append(viaExec, got.at.Sub(t0))
				return nil
			},
			func() error {
				t0 := time.Now()
				if out, err := exec.CommandContext(ctx, "docker", "exec", ctr, "true").CombinedOutput(); err != nil {
					return fmt.Errorf("docker exec true: %v\n%s", err, out)
				}
				execTrue = append(execTrue, time.Since(t0))
				return nil
			},
		}
		for j := range steps {
			if err := steps[(i+j)%2](); err != nil {
				return err
			}
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Engine events: the container killed or stopped outside clauderon,
	// taking turns, then started again with docker start.
	rounds = b.engineRounds
	logf("events: %d rounds of docker kill or docker stop, then docker start", rounds)
	var killCall, stopCall, dieEv, startEv, diePublish []time.Duration
	id := s.ContainerID
	for i := range rounds {
		kill := i%2 == 0
		t0 := time.Now()
		if kill {
			err = cli.ContainerKill(ctx, id, "KILL")
		} else {
			secs := 10
			err = cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs})
		}
		if err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
		got, err := daemonEvents.await(name+" exited", t0, 30*time.Second, statusIs(name, api.StatusExited))
		if err != nil {
			return err
		}
		die, err := engine.await("the engine's die event", t0, 10*time.Second, func(e engineEvent) bool { return e.id == id && e.action == "die" })
		if err != nil {
			return err
		}
		if kill {
			killCall = append(killCall, got.at.Sub(t0))
		} else {
			stopCall = append(stopCall, got.at.Sub(t0))
		}
		dieEv = append(dieEv, got.at.Sub(die.ev.at))
		diePublish = append(diePublish, got.at.Sub(got.ev.Time))

		t0 = time.Now()
		if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
			return fmt.Errorf("round %d: docker start: %w", i, err)
		}
		got, err = daemonEvents.await(name+" running", t0, 30*time.Second, statusIs(name, api.StatusRunning))
		if err != nil {
			return err
		}
		start, err := engine.await("the engine's start event", t0, 10*time.Second, func(e engineEvent) bool { return e.id == id && e.action == "start" })
		if err != nil {
			return err
		}
		startEv = append(startEv, got.at.Sub(start.ev.at))
		// Claude Code starts again in the container: let it settle, so
		// that the next round does not share the CPU with it.
		time.Sleep(2 * time.Second)
	}

	b.printEvents([]latencyRow{
		{"hook fired in the container → subscriber: from the hook shell's `$EPOCHREALTIME` just before it runs `clauderon hook PreToolUse` (counts the helper's start-up, its request through the gateway and proxy, the daemon's check and save, and the stream)", inside, "p50 < 50 ms"},
		{"… of which the daemon's publish → the subscriber (the event's own time)", publish, ""},
		{"`clauderon hook PreToolUse` in the container, start to exit (the same shell's timestamps around it; the event is published before it answers 204)", run, ""},
		{"`docker exec -i CONTAINER clauderon hook PreToolUse` from the host → subscriber: from just before the exec (counts docker exec's start-up)", viaExec, ""},
		{"`docker exec CONTAINER true` alone, same rounds, taking turns: docker exec's own cost, for the row above", execTrue, ""},
		{"container killed outside clauderon (`docker kill` API call) → subscriber sees it exited", killCall, ""},
		{"container stopped outside clauderon (`docker stop` API call: counts the container's own exit on SIGTERM) → subscriber sees it exited", stopCall, ""},
		{"the engine's die event (its own timestamp) → subscriber sees exited, both rounds above", dieEv, "p50 < 50 ms"},
		{"… of which the daemon's publish → the subscriber", diePublish, ""},
		{"the engine's start event (`docker start` outside clauderon) → subscriber sees running", startEv, ""},
	})
	return nil
}

// epoch reads bash's $EPOCHREALTIME (seconds.microseconds).
func epoch(s string) (time.Time, error) {
	sec, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 6 {
		return time.Time{}, fmt.Errorf("not $EPOCHREALTIME: %q", s)
	}
	a, err1 := strconv.ParseInt(sec, 10, 64)
	us, err2 := strconv.ParseInt(frac, 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return time.Time{}, err
	}
	return time.Unix(a, us*1000), nil
}

// latencyRow is one row of the event table.
type latencyRow struct {
	what string
	d    []time.Duration
	goal string
}

func (b *bench) printEvents(rows []latencyRow) {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "\n| event → `GET /api/v0/events` subscriber (client.Watch on the daemon's socket; real session, real engine) | p50 | p90 | n | goal |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		if len(r.d) == 0 {
			fmt.Fprintf(w, "| %s | – | – | 0 | %s |\n", r.what, r.goal)
			continue
		}
		goal := r.goal
		if goal != "" {
			goal = fmt.Sprintf("%s: %v", goal, pctDur(r.d, 50) < 50)
		}
		fmt.Fprintf(w, "| %s | %.1f ms | %.1f ms | %d | %s |\n", r.what, pctDur(r.d, 50), pctDur(r.d, 90), len(r.d), goal)
	}
}
