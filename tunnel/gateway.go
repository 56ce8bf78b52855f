package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// ErrNoTunnel: no daemon has a tunnel up to this gateway.
var ErrNoTunnel = errors.New("no tunnel from the clauderon daemon is up")

// Gateway is the cluster side: it accepts the daemon's tunnel connections
// and opens a stream on the newest for each pod connection. The zero value
// is not usable; use NewGateway.
type Gateway struct {
	log *slog.Logger

	mu  sync.Mutex
	cur *gatewaySession
}

type gatewaySession struct {
	mux         *yamux.Session
	intercepted map[string]bool
}

// NewGateway returns a Gateway that logs to logger (nil: discard).
func NewGateway(logger *slog.Logger) *Gateway {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Gateway{log: logger}
}

// Serve accepts tunnel connections on ln until ctx is done or ln fails. A
// connection whose hello arrives replaces the tunnel in use: the daemon
// that dialled last is the one that is alive.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer g.drop(nil)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tunnel: accepting on %s: %w", ln.Addr(), err)
		}
		go g.handshake(ctx, c)
	}
}

// handshake reads a new connection's hello and makes it the tunnel.
func (g *Gateway) handshake(ctx context.Context, c net.Conn) {
	mux, err := yamux.Server(c, muxConfig())
	if err != nil {
		c.Close()
		return
	}
	hello, err := readHello(mux)
	if err != nil {
		g.log.Warn("tunnel: refused a connection", slog.String("error", err.Error()))
		mux.Close()
		return
	}
	s := &gatewaySession{mux: mux, intercepted: map[string]bool{}}
	for _, h := range hello.Intercepted {
		s.intercepted[normalizeHost(h)] = true
	}
	g.mu.Lock()
	old := g.cur
	g.cur = s
	g.mu.Unlock()
	if old != nil {
		old.mux.Close()
	}
	g.log.Info("tunnel: up", slog.Int("intercepted_hosts", len(s.intercepted)))
	select {
	case <-mux.CloseChan():
		g.log.Info("tunnel: down")
	case <-ctx.Done():
	}
	g.drop(s)
}

// readHello accepts the hello stream, bounded in time and size.
func readHello(mux *yamux.Session) (Hello, error) {
	type result struct {
		h   Hello
		err error
	}
	ch := make(chan result, 1)
	go func() {
		st, err := mux.AcceptStream()
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer st.Close()
		_ = st.SetReadDeadline(time.Now().Add(HeadTimeout))
		var h Hello
		err = readJSONLine(st, maxHelloBytes, &h)
		ch <- result{h, err}
	}()
	t := time.NewTimer(HeadTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.err == nil && r.h.Version != 1 {
			r.err = fmt.Errorf("tunnel: hello version %d, want 1", r.h.Version)
		}
		return r.h, r.err
	case <-t.C:
		return Hello{}, errors.New("tunnel: no hello in time")
	}
}

// drop forgets s (nil: whatever is current) if it is still the tunnel.
func (g *Gateway) drop(s *gatewaySession) {
	g.mu.Lock()
	cur := g.cur
	if cur != nil && (s == nil || cur == s) {
		g.cur = nil
	}
	g.mu.Unlock()
	if cur != nil && (s == nil || cur == s) {
		cur.mux.Close()
	}
}

func (g *Gateway) current() *gatewaySession {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cur
}

// Up reports whether a tunnel is up.
func (g *Gateway) Up() bool { return g.current() != nil }

// Intercepted reports whether the daemon's proxy intercepts host (a name
// with or without port); false when no tunnel is up.
func (g *Gateway) Intercepted(host string) bool {
	s := g.current()
	return s != nil && s.intercepted[normalizeHost(host)]
}

// Open opens a stream on the tunnel and writes mode on it.
func (g *Gateway) Open(mode byte) (net.Conn, error) {
	s := g.current()
	if s == nil {
		return nil, ErrNoTunnel
	}
	st, err := s.mux.OpenStream()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoTunnel, err)
	}
	if _, err := st.Write([]byte{mode}); err != nil {
		st.Close()
		return nil, fmt.Errorf("%w: %v", ErrNoTunnel, err)
	}
	return streamConn{st}, nil
}

// streamConn is a yamux stream that half-closes as a TCP connection does:
// a yamux Close only sends FIN, and reading goes on until the peer's.
type streamConn struct{ *yamux.Stream }

func (s streamConn) CloseWrite() error { return s.Stream.Close() }

// normalizeHost lower-cases host and drops a port, IPv6 brackets and a
// trailing dot, as the proxy's rules match.
func normalizeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimPrefix(strings.TrimSuffix(host, "]"), "[")
	return strings.ToLower(strings.TrimSuffix(host, "."))
}
