// Package flood holds hostile connections open against a proxy, for the
// flood test and the flood benchmark: unauthenticated clients trickling
// headers, and a session's tunnels held open.
package flood

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Flood is a set of connections kept open until Stop.
type Flood struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	open   atomic.Int64
}

// New returns an empty flood.
func New() *Flood {
	f := &Flood{}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

// Open is how many of its connections are connected now (accepted, or
// waiting in the proxy's backlog).
func (f *Flood) Open() int64 { return f.open.Load() }

// Stop closes every connection and waits for them.
func (f *Flood) Stop() { f.cancel(); f.wg.Wait() }

// Done ends when the flood stops.
func (f *Flood) Done() <-chan struct{} { return f.ctx.Done() }

// Keep runs n connections made by dial, each driven by use until it fails,
// and redials, until the flood stops.
func (f *Flood) Keep(n int, dial func() (net.Conn, error), use func(context.Context, net.Conn)) {
	for range n {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for f.ctx.Err() == nil {
				c, err := dial()
				if err != nil {
					select {
					case <-f.ctx.Done():
					case <-time.After(200 * time.Millisecond):
					}
					continue
				}
				f.open.Add(1)
				stop := context.AfterFunc(f.ctx, func() { c.Close() })
				use(f.ctx, c)
				stop()
				c.Close()
				f.open.Add(-1)
			}
		}()
	}
}

// Trickle sends a CONNECT's headers a kilobyte at a time and never ends
// them: an unauthenticated client that wants to hold the proxy.
func Trickle(ctx context.Context, c net.Conn) {
	pad := strings.Repeat("a", 1024)
	if _, err := fmt.Fprintf(c, "CONNECT x.example:443 HTTP/1.1\r\nHost: x.example:443\r\n"); err != nil {
		return
	}
	for ctx.Err() == nil {
		if _, err := fmt.Fprintf(c, "X-Pad: %s\r\n", pad); err != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Tunnel opens a CONNECT to target with the proxy credential auth (a whole
// Proxy-Authorization value) and holds it until the flood stops.
func Tunnel(target, auth string) func(context.Context, net.Conn) {
	return func(ctx context.Context, c net.Conn) {
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n", target, target, auth)
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
		if err != nil {
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return
		}
		<-ctx.Done()
	}
}

// Hold listens on addr and holds every connection open, reading nothing,
// until it is closed: where a flood's tunnels go.
func Hold(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); c.Read(make([]byte, 1)) }()
		}
	}()
	return l, nil
}
