package proxy

import (
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// watchAuth is Sessions that counts per-request checks made after the
// proxy's Run returned.
type watchAuth struct {
	*Sessions
	stopped *atomic.Bool
	late    *atomic.Int32
}

func (w watchAuth) Authorize(name, secret string) bool {
	if w.stopped.Load() {
		w.late.Add(1)
	}
	return w.Sessions.Authorize(name, secret)
}

// TestShutdownWaitsForInterceptedHandlers: Run returns only after every
// request handler inside intercepted tunnels has finished, even when the
// shutdown lands just as a request was read. Clients pipeline requests so
// that some are always about to start when it does.
func TestShutdownWaitsForInterceptedHandlers(t *testing.T) {
	const rounds, conns = 10, 12
	pipelined := strings.Repeat("GET /echo/x HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n", 200)
	for round := range rounds {
		var stopped atomic.Bool
		var late atomic.Int32
		h := newHarness(t, canaryOAuth, func(c *Config) {
			c.Auth = watchAuth{Sessions: c.Auth.(*Sessions), stopped: &stopped, late: &late}
		})
		var wg sync.WaitGroup
		for range conns {
			tc, br := interceptedConn(t, h)
			wg.Go(func() {
				go io.Copy(io.Discard, br) // ends when the proxy closes the connection
				for {
					if _, err := io.WriteString(tc, pipelined); err != nil {
						return
					}
				}
			})
		}
		// Stop once requests are flowing on every connection.
		for len(h.fake.Requests()) < conns*20 {
			time.Sleep(time.Millisecond)
		}
		h.stop()
		stopped.Store(true)
		wg.Wait()
		// A handler that began late also trips the race detector on the
		// WaitGroup that should have waited for it.
		if n := late.Load(); n != 0 {
			t.Fatalf("round %d: %d requests began after Run returned", round, n)
		}
		if logs := h.logs.String(); strings.Contains(logs, "cannot write the audit log") {
			t.Fatalf("round %d: a request finished after Run returned and the audit log closed:\n%s", round, logs)
		}
	}
}
