package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clauderon/clauderon/workspace"
)

// PodInit is what a session pod runs of clauderon on Kubernetes
// (`clauderon pod-init`, from the gateway's image, or the copy it
// installed). In the pod's init container:
//   - --install DST copies its own binary to DST, where the session's
//     container runs it for its hooks;
//   - --copy SRC=DST copies a file given in the pod's ConfigMap (mounted
//     read-only) to where the container may rewrite it;
//   - --await-walls SECONDS [--gateway HOST:PORT] waits until the
//     sessions' NetworkPolicy holds for this pod (the API server no longer
//     answers it, and the gateway does), and fails
//     past SECONDS, so no session runs where the policy is not enforced;
//   - --await MARKER waits until MARKER exists: the daemon is filling the
//     workspace volume through exec (--untar) and makes MARKER (--ready)
//     when it is done; a pod started again finds it and goes on at once.
//
// Through exec, one action at a time:
//   - --untar DEST extracts the tar on stdin (the daemon's copy of the
//     workspace) into DEST, replacing what a failed attempt left there;
//   - --ready MARKER makes MARKER;
//   - --tar DIR writes DIR as a tar to stdout (the daemon reads it as the
//     agent's: workspace.ReadTar trusts none of it);
//   - --hold SECONDS sleeps (a pod that only lends its volume to --tar).
//
// In doctor's probe pod, --probe HOST:PORT asks the gateway there for a
// tunnel to api.anthropic.com without a credential: the daemon's proxy,
// reached through the gateway and the tunnel, answers 407, which proves
// the way; the gateway alone answers 503, and a NetworkPolicy that blocks
// the pod lets nothing through.
//
// It reads and writes only the paths it is given, and follows no symlink
// in a destination.
func PodInit(args []string) error { return podInit(args, os.Stdin, os.Stdout) }

func podInit(args []string, stdin io.Reader, stdout io.Writer) error {
	var install, await, untar, ready, tarDir, probe, gatewayAddr string
	var hold, walls time.Duration
	var copies [][2]string
	for i := 0; i < len(args); i++ {
		if i+1 >= len(args) {
			return fmt.Errorf("pod-init: %s needs a value", args[i])
		}
		v := args[i+1]
		switch args[i] {
		case "--install":
			install = v
		case "--copy":
			src, dst, ok := strings.Cut(v, "=")
			if !ok || !filepath.IsAbs(src) || !filepath.IsAbs(dst) {
				return fmt.Errorf("pod-init: --copy %q: want SRC=DST, both absolute", v)
			}
			copies = append(copies, [2]string{src, dst})
		case "--await", "--untar", "--ready", "--tar":
			if !filepath.IsAbs(v) {
				return fmt.Errorf("pod-init: %s %q: want an absolute path", args[i], v)
			}
			switch args[i] {
			case "--await":
				await = v
			case "--untar":
				untar = v
			case "--ready":
				ready = v
			case "--tar":
				tarDir = v
			}
		case "--probe":
			probe = v
		case "--gateway":
			gatewayAddr = v
		case "--await-walls":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return fmt.Errorf("pod-init: --await-walls %q: want a number of seconds", v)
			}
			walls = time.Duration(n) * time.Second
		case "--hold":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return fmt.Errorf("pod-init: --hold %q: want a number of seconds", v)
			}
			hold = time.Duration(n) * time.Second
		default:
			return fmt.Errorf("pod-init: unknown argument %q", args[i])
		}
		i++
	}
	if walls > 0 {
		t0 := time.Now()
		if err := awaitWalls(walls, gatewayAddr); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "pod-init: the sessions' NetworkPolicy holds (checked in %s)\n", time.Since(t0).Round(time.Millisecond))
	}
	if install != "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("pod-init: %w", err)
		}
		if err := copyFile(self, install, 0o755); err != nil {
			return err
		}
	}
	for _, c := range copies {
		if err := copyFile(c[0], c[1], 0o600); err != nil {
			return err
		}
	}
	ctx := context.Background()
	switch {
	case probe != "":
		return probeProxy(probe, stdout)
	case untar != "":
		// Ours from an attempt that did not finish: the daemon sends all again.
		if err := os.RemoveAll(untar); err != nil {
			return fmt.Errorf("pod-init: %w", err)
		}
		if _, err := workspace.ReadTar(ctx, stdin, untar, workspace.TarOptions{MaxBytes: 1 << 40}); err != nil {
			return fmt.Errorf("pod-init: untar into %s: %w", untar, err)
		}
		// The session's user writes it; ReadTar made it 0700, as its own.
		return os.Chmod(untar, 0o755)
	case ready != "":
		f, err := os.OpenFile(ready, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("pod-init: %w", err)
		}
		return f.Close()
	case tarDir != "":
		bw := bufio.NewWriterSize(stdout, 256<<10)
		if err := workspace.WriteTar(ctx, tarDir, bw, workspace.TarOptions{MaxBytes: 1 << 40}); err != nil {
			return fmt.Errorf("pod-init: tar of %s: %w", tarDir, err)
		}
		return bw.Flush()
	case hold > 0:
		time.Sleep(hold)
	}
	for await != "" {
		if _, err := os.Lstat(await); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("pod-init: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode) // O_EXCL: never through a symlink
	if err != nil {
		return fmt.Errorf("pod-init: %w", err)
	}
	_, err = io.Copy(out, in)
	err = errors.Join(err, out.Close())
	if err != nil {
		return fmt.Errorf("pod-init: writing %s: %w", dst, err)
	}
	return nil
}

// probeProxy is --probe: it reports what answered a credential-less
// CONNECT at addr.
func probeProxy(addr string, stdout io.Writer) error {
	// First, that the NetworkPolicy holds.
	if err := awaitWalls(15*time.Second, addr); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "the API server is out of reach, as the NetworkPolicy says")
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return fmt.Errorf("pod-init: probe: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\n\r\n"); err != nil {
		return fmt.Errorf("pod-init: probe: %w", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("pod-init: probe: no answer from %s: %w", addr, err)
	}
	line = strings.TrimSpace(line)
	fmt.Fprintln(stdout, line)
	if !strings.HasPrefix(line, "HTTP/1.1 407") {
		return fmt.Errorf("pod-init: probe: %s answered %q, not the proxy's 407", addr, line)
	}
	return nil
}

// awaitWalls waits until the sessions' NetworkPolicy holds for this pod:
// the API server, which every pod is told of, no longer answers it, while
// the gateway (when given) does, for every probe over a second, so a
// network that is not up yet is not taken for one that walls the pod in.
// A network plugin may program a new pod's rules a moment after it starts,
// so this waits up to within; past it the policy does not hold, and a
// session must not run.
func awaitWalls(within time.Duration, gateway string) error {
	h, p := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if h == "" || p == "" {
		return fmt.Errorf("pod-init: the pod is not told where the API server is (KUBERNETES_SERVICE_HOST), so it cannot check that the sessions' NetworkPolicy holds")
	}
	return waitWalls(within, net.JoinHostPort(h, p), gateway, func(addr string) bool {
		c, err := net.DialTimeout("tcp", addr, wallsDialTimeout)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

const (
	// wallsDialTimeout is how long a probe waits for a connection: a
	// policy that drops, rather than refuses, answers no probe sooner. A
	// handshake with an API server in reach takes milliseconds, and a
	// longer wait would not try again before a dropped SYN's first resend
	// (at 1 s) anyway.
	wallsDialTimeout = 500 * time.Millisecond
	// wallsProbeEvery is how often a probe starts. Probes overlap, so a
	// dropping policy costs every session's start one dial timeout, not one
	// per probe in the row.
	wallsProbeEvery = 50 * time.Millisecond
	// A row is wallsInARow probes or more, one after another by start,
	// each finding the walls, from the first one's start to the last
	// answer among them at least wallsHeldFor apart, with no probe started
	// after them finding none: the walls must have held for a second,
	// whether the policy drops (each probe waits out its dial) or refuses
	// (each answers at once), so an API server out of reach for a moment
	// (a blip on a cluster that enforces nothing) is not taken for walls.
	wallsInARow  = 5
	wallsHeldFor = time.Second
	// wallsInFlight bounds the probes running at once.
	wallsInFlight = 32
)

// wallsEvidence is what the finished probes, in any order, say.
type wallsEvidence struct {
	held map[int]probeSpan // the probes that found the walls, by start order
	bad  int               // the latest-started probe that did not; -1 when none
}

// probeSpan is when a probe started and when it had its answer.
type probeSpan struct{ start, end time.Time }

func newWallsEvidence() *wallsEvidence {
	return &wallsEvidence{held: map[int]probeSpan{}, bad: -1}
}

// add records probe seq and reports whether a row now proves the walls.
func (w *wallsEvidence) add(seq int, span probeSpan, walled bool) bool {
	if !walled {
		w.bad = max(w.bad, seq)
		return false
	}
	w.held[seq] = span
	lo, hi := seq, seq
	for _, ok := w.held[lo-1]; ok; _, ok = w.held[lo-1] {
		lo--
	}
	for _, ok := w.held[hi+1]; ok; _, ok = w.held[hi+1] {
		hi++
	}
	// A probe started later that found no walls outweighs any before it.
	lo = max(lo, w.bad+1)
	if hi-lo+1 < wallsInARow {
		return false
	}
	last := w.held[lo].end
	for i := lo + 1; i <= hi; i++ {
		if e := w.held[i].end; e.After(last) {
			last = e
		}
	}
	return last.Sub(w.held[lo].start) >= wallsHeldFor
}

// waitWalls is awaitWalls with the API server's address and the reach test given.
func waitWalls(within time.Duration, api, gateway string, reaches func(addr string) bool) error {
	type result struct {
		seq         int
		span        probeSpan
		apiUp, gwUp bool
	}
	results := make(chan result)
	done := make(chan struct{})
	defer close(done)
	probe := func(seq int) {
		start := time.Now()
		apiEnd := make(chan time.Time, 1) // the API server's answer, not the gateway's, ends the span
		var apiUp bool
		go func() { apiUp = reaches(api); apiEnd <- time.Now() }()
		gwUp := gateway == "" || reaches(gateway)
		end := <-apiEnd
		r := result{seq: seq, span: probeSpan{start, end}, apiUp: apiUp, gwUp: gwUp}
		select {
		case results <- r:
		case <-done:
		}
	}
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(wallsProbeEvery)
	defer tick.Stop()
	ev := newWallsEvidence()
	var latest *result // the latest-started probe that finished, for the error
	next, inFlight := 1, 1
	go probe(0)
	for {
		select {
		case r := <-results:
			inFlight--
			if latest == nil || r.seq > latest.seq {
				latest = &r
			}
			if ev.add(r.seq, r.span, !r.apiUp && r.gwUp) {
				return nil
			}
		case <-tick.C:
			if inFlight < wallsInFlight {
				go probe(next)
				next++
				inFlight++
			}
		case <-deadline.C:
			switch {
			case latest == nil:
				return fmt.Errorf("pod-init: no check of the sessions' NetworkPolicy finished within %s", within)
			case latest.apiUp:
				return fmt.Errorf("pod-init: a session pod still reaches the API server at %s directly after %s: the cluster does not enforce the sessions' NetworkPolicy (its network plugin must support NetworkPolicy, and `clauderon k8s setup --apply` must have made it)", api, within)
			case !latest.gwUp:
				return fmt.Errorf("pod-init: a session pod cannot reach the gateway at %s after %s: its network is not up, or the NetworkPolicy does not let it through", gateway, within)
			}
			return fmt.Errorf("pod-init: the sessions' NetworkPolicy did not hold steadily for %s within %s: the API server at %s was out of reach only at times", wallsHeldFor, within, api)
		}
	}
}
