package proxy

import (
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// silentServer accepts TCP connections and never reads, writes or closes
// them until the test ends: an upstream that keeps a tunnel open forever.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// waitGoroutines polls until at most max goroutines run, and fails the test
// if that has not happened by a generous deadline.
func waitGoroutines(t *testing.T, max int, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > max {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%s: %d goroutines still running, want at most %d\n%s", what, runtime.NumGoroutine(), max, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTunnelEndsWhenClientResets: a client that disappears with a reset (a
// removed container's connections do) ends its tunnels even though the
// upstream never says a word; nothing is left running.
func TestTunnelEndsWhenClientResets(t *testing.T) {
	h := newHarness(t, canaryOAuth, allowLoopback)
	addr := silentServer(t)
	const n = 20
	base := runtime.NumGoroutine()
	var clients []net.Conn
	for range n {
		c, _ := openTunnel(t, h, h.name, h.secret, addr)
		io.WriteString(c, "hello\n")
		clients = append(clients, c)
	}
	for _, c := range clients {
		c.(*net.TCPConn).SetLinger(0) // close with a reset
		c.Close()
	}
	waitGoroutines(t, base+2, "after the clients reset")
	h.stop()
	got := 0
	for _, l := range auditLines(t, h.audit.Path()) {
		if l["method"] == "CONNECT" && l["host"] == addr {
			got++
		}
	}
	if got != n {
		t.Errorf("%d audit lines for the tunnels, want %d", got, n)
	}
}

// TestTunnelHalfClose: a client that closes its sending side cleanly still
// gets the upstream's whole answer.
func TestTunnelHalfClose(t *testing.T) {
	h := newHarness(t, canaryOAuth, allowLoopback)
	addr, _ := echoServer(t)
	c, br := openTunnel(t, h, h.name, h.secret, addr)
	io.WriteString(c, "all of it\n")
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(closeWait))
	b, err := io.ReadAll(br)
	if err != nil || string(b) != "all of it\n" {
		t.Fatalf("after half-close: %q, %v", b, err)
	}
}
