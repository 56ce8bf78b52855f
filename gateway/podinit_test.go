package gateway

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clauderon/clauderon/workspace"
)

func TestPodInitInstallsAndCopies(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.json")
	if err := os.WriteFile(src, []byte(`{"a":1}`), 0o444); err != nil {
		t.Fatal(err)
	}
	bin, dst := filepath.Join(dir, "bin"), filepath.Join(dir, "home", ".claude.json")
	os.Mkdir(filepath.Join(dir, "home"), 0o755)
	if err := PodInit([]string{"--install", bin, "--copy", src + "=" + dst}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode().Perm() != 0o755 || fi.Size() == 0 {
		t.Fatalf("installed binary: %v %v", fi, err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != `{"a":1}` {
		t.Fatalf("copied file: %q %v", b, err)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o600 {
		t.Errorf("copied file mode %v, want 0600 (the session's own user rewrites it)", fi.Mode())
	}
	// A destination planted as a symlink is never written through.
	target := filepath.Join(dir, "outside")
	link := filepath.Join(dir, "home", "link.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := PodInit([]string{"--copy", src + "=" + link}); err == nil {
		t.Error("copied through a symlink")
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("the symlink's target was written: %v", err)
	}
	for _, bad := range [][]string{{"--copy"}, {"--copy", "rel=/x"}, {"--copy", "/x"}, {"--what", "x"}} {
		if err := PodInit(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestPodInitSeed: the workspace goes in with --untar (replacing a failed
// attempt's leftovers), --ready releases --await, and --tar brings it back.
func TestPodInitSeed(t *testing.T) {
	src, vol := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("hello"), 0o644)
	os.Mkdir(filepath.Join(src, "d"), 0o755)
	os.WriteFile(filepath.Join(src, "d", "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	var tarball bytes.Buffer
	if err := workspace.WriteTar(context.Background(), src, &tarball, workspace.TarOptions{}); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(vol, "0")
	os.MkdirAll(filepath.Join(dest, "stale"), 0o755) // a failed attempt's
	if err := podInit([]string{"--untar", dest}, bytes.NewReader(tarball.Bytes()), io.Discard); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "a.txt")); string(b) != "hello" {
		t.Errorf("a.txt %q", b)
	}
	if _, err := os.Stat(filepath.Join(dest, "stale")); !os.IsNotExist(err) {
		t.Errorf("leftovers kept: %v", err)
	}
	marker := filepath.Join(vol, ".ready")
	done := make(chan error, 1)
	go func() { done <- podInit([]string{"--await", marker}, nil, io.Discard) }()
	select {
	case err := <-done:
		t.Fatalf("--await returned before --ready: %v", err)
	default:
	}
	if err := podInit([]string{"--ready", marker}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var back bytes.Buffer
	if err := podInit([]string{"--tar", dest}, nil, &back); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "back")
	if _, err := workspace.ReadTar(context.Background(), &back, out, workspace.TarOptions{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(out, "d", "run.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("run.sh back: %v %v", fi, err)
	}
	for _, bad := range [][]string{{"--untar", "rel"}, {"--hold", "0"}, {"--tar", "x"}} {
		if err := podInit(bad, nil, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestAwaitWalls: the pod counts as walled in only when the API server does
// not answer it and the gateway does; without the API server's address it
// cannot tell, and fails.
func TestAwaitWalls(t *testing.T) {
	listen := func() (string, func()) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		return ln.Addr().String(), func() { ln.Close() }
	}
	closedAddr := func() string {
		a, stop := listen()
		stop()
		return a
	}
	setAPI := func(addr string) {
		h, p, _ := net.SplitHostPort(addr)
		t.Setenv("KUBERNETES_SERVICE_HOST", h)
		t.Setenv("KUBERNETES_SERVICE_PORT", p)
	}
	gw, stopGW := listen()
	defer stopGW()

	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if err := awaitWalls(time.Second, gw); err == nil {
		t.Error("passed without the API server's address")
	}
	setAPI(closedAddr())
	if err := awaitWalls(5*time.Second, gw); err != nil {
		t.Errorf("API server out of reach, gateway up: %v", err)
	}
	if err := awaitWalls(time.Second, closedAddr()); err == nil || !strings.Contains(err.Error(), "cannot reach the gateway") {
		t.Errorf("nothing reachable at all (a network not up yet) passed: %v", err)
	}
	api, stopAPI := listen()
	defer stopAPI()
	setAPI(api)
	if err := awaitWalls(time.Second, gw); err == nil || !strings.Contains(err.Error(), "does not enforce") {
		t.Errorf("API server reachable: %v", err)
	}
}

// TestWaitWallsOverlaps: a policy that drops the API server's packets makes
// each probe wait out its dial timeout. The probes overlap, so the row of
// them costs one timeout, not one per probe; yet a row is only what they
// all found, in the order they started.
func TestWaitWallsOverlaps(t *testing.T) {
	var mu sync.Mutex
	running, most := 0, 0
	dropped := func(addr string) bool {
		if addr == "gw" {
			return true
		}
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(300 * time.Millisecond) // a dropped SYN: no answer until the timeout
		mu.Lock()
		running--
		mu.Unlock()
		return false
	}
	if err := waitWalls(30*time.Second, "api", "gw", dropped); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if most < 2 {
		t.Errorf("at most %d probe of the API server at once: each waited for the one before", most)
	}

	// Walls that come and go never make a row.
	var n atomic.Int64
	flapping := func(addr string) bool {
		if addr == "gw" {
			return true
		}
		return n.Add(1)%2 == 0
	}
	if err := waitWalls(time.Second, "api", "gw", flapping); err == nil {
		t.Error("walls that hold for every other probe passed")
	}
	// Nor do walls held for fewer probes than a row.
	n.Store(0)
	short := func(addr string) bool {
		if addr == "gw" {
			return true
		}
		return n.Add(1)%wallsInARow == 0
	}
	if err := waitWalls(time.Second, "api", "gw", short); err == nil {
		t.Errorf("walls held for %d probes in every %d passed", wallsInARow-1, wallsInARow)
	}
}

// TestWallsEvidence: probes finish in any order; a row must be long
// enough, cover a second from its first start to its last answer, and no
// probe started after it may have found the walls down.
func TestWallsEvidence(t *testing.T) {
	t0 := time.Unix(1000, 0)
	start := func(seq int) time.Time { return t0.Add(time.Duration(seq) * wallsProbeEvery) }
	dropped := func(seq int) probeSpan { return probeSpan{start(seq), start(seq).Add(wallsDialTimeout)} }
	refused := func(seq int) probeSpan { return probeSpan{start(seq), start(seq).Add(time.Millisecond)} }

	// A policy that drops: each probe waits out its dial, so half a second
	// of starts covers the second.
	n := int((wallsHeldFor - wallsDialTimeout) / wallsProbeEvery) // the probe whose answer completes the second
	w := newWallsEvidence()
	for seq := 0; seq < n; seq++ {
		if w.add(seq, dropped(seq), true) {
			t.Fatalf("dropped: proved by %d probes, covering %s", seq+1, dropped(seq).end.Sub(t0))
		}
	}
	if !w.add(n, dropped(n), true) {
		t.Errorf("dropped: %d probes covering %s did not prove the walls", n+1, wallsHeldFor)
	}

	// A policy that refuses: each answers at once, so it takes a second of starts.
	m := int(wallsHeldFor / wallsProbeEvery)
	w = newWallsEvidence()
	for seq := 0; seq < m; seq++ {
		if w.add(seq, refused(seq), true) {
			t.Fatalf("refused: proved by %d probes, covering %s", seq+1, refused(seq).end.Sub(t0))
		}
	}
	if !w.add(m, refused(m), true) {
		t.Errorf("refused: %d probes covering %s did not prove the walls", m+1, wallsHeldFor)
	}

	// Out of order: the later ones first.
	w = newWallsEvidence()
	for seq := n; seq > 0; seq-- {
		if w.add(seq, dropped(seq), true) {
			t.Fatalf("proved before probe 0 finished (at %d)", seq)
		}
	}
	if !w.add(0, dropped(0), true) {
		t.Error("the row was not seen once its first probe finished")
	}

	// A probe started after the row that reached the API server (a
	// dropped SYN takes the dial timeout; a connection is quick, so its
	// answer comes first) outweighs the row.
	w = newWallsEvidence()
	w.add(n+3, refused(n+3), false)
	for seq := 0; seq <= n+2; seq++ {
		if w.add(seq, dropped(seq), true) {
			t.Fatalf("proved at probe %d, though probe %d, started later, reached the API server", seq, n+3)
		}
	}
	for seq := n + 4; seq <= 2*n+4; seq++ {
		if w.add(seq, dropped(seq), true) {
			if seq != 2*n+4 {
				t.Errorf("proved at probe %d, before a full row after the bad one", seq)
			}
			return
		}
	}
	t.Error("a full row after the bad probe did not prove the walls")
}

// TestWaitWallsBlackout: an API server in reach (no policy enforced) that
// is out of reach for a moment is not taken for walls, whether its packets
// are dropped (probes started then time out) or refused (they fail at
// once); the probes after it connect at once.
func TestWaitWallsBlackout(t *testing.T) {
	for _, tc := range []struct {
		name  string
		blink time.Duration
		fail  func()
		gw    time.Duration // how long the gateway takes to answer
	}{
		{"dropped", wallsHeldFor / 2, func() { time.Sleep(wallsDialTimeout) }, 0},
		{"refused", wallsHeldFor * 3 / 4, func() {}, 0},
		// The API server's answer, not the slower gateway's, is when a
		// probe learnt the walls held.
		{"refused, slow gateway", wallsHeldFor * 3 / 4, func() {}, 2 * wallsDialTimeout / 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Now()
			reaches := func(addr string) bool {
				if addr == "gw" {
					time.Sleep(tc.gw)
					return true
				}
				if time.Since(t0) < tc.blink {
					tc.fail()
					return false
				}
				return true
			}
			if err := waitWalls(3*time.Second, "api", "gw", reaches); err == nil || !strings.Contains(err.Error(), "does not enforce") {
				t.Errorf("an API server out of reach for %s passed as walls: %v", tc.blink, err)
			}
		})
	}
}
