package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The budget of a request to the proxy itself (a CONNECT, or a plain-HTTP
// request), read before its credential is checked. The requests inside an
// intercepted tunnel, sent after it, have the usual limits.
const (
	PreAuthHeaderBytes   = 16 << 10
	PreAuthHeaderTimeout = 5 * time.Second
)

// Serve answers proxy requests on ln until ctx is done or ln fails, then
// closes ln and every connection and waits for in-flight requests to
// finish. Several Serve calls may share a Proxy. It returns nil when ctx
// was canceled.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	return p.serve(ctx, ln, "")
}

// ServeSession is Serve for a listener only session name can reach (its
// container's gateway socket): a request there must authenticate as name,
// so no other session's credential works through it.
func (p *Proxy) ServeSession(ctx context.Context, ln net.Listener, name string) error {
	if name == "" {
		return errors.New("proxy: ServeSession needs a session name")
	}
	return p.serve(ctx, ln, name)
}

// ServeClass is Serve for a listener of a class of sessions (the tunnel
// from a cluster's gateway): only the sessions Config.Class puts in class
// are served there, and they are served nowhere else.
func (p *Proxy) ServeClass(ctx context.Context, ln net.Listener, class string) error {
	if class == "" {
		return errors.New("proxy: ServeClass needs a class")
	}
	return p.serveClass(ctx, ln, "", class)
}

// listenerClass is the context key of the class a listener is for.
type listenerClass struct{}

// listenerClassOf is the class of the request's listener, or "".
func listenerClassOf(r *http.Request) string {
	c, _ := r.Context().Value(listenerClass{}).(string)
	return c
}

// listenerSession is the context key of the session a listener is for.
type listenerSession struct{}

// connKey is the context key of a shared listener's connection.
type connKey struct{}

// adopt moves an authenticated request's connection on a shared listener
// into its session's own pool, so that sessions on the shared listeners
// do not take each other's places, or unauthenticated clients'. It reports
// false when the session's pool is full.
func (p *Proxy) adopt(r *http.Request, name string) bool {
	if p.sessionPool == nil {
		return true
	}
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	lc := limitConnOf(c)
	if lc == nil {
		return true
	}
	pool := p.sessionPool(name)
	if pool == nil {
		return true
	}
	return lc.moveTo(pool)
}

// onlySession is the session the request's listener is for, or "".
func onlySession(r *http.Request) string {
	s, _ := r.Context().Value(listenerSession{}).(string)
	return s
}

func (p *Proxy) serve(ctx context.Context, ln net.Listener, only string) error {
	return p.serveClass(ctx, ln, only, "")
}

func (p *Proxy) serveClass(ctx context.Context, ln net.Listener, only, class string) error {
	p.addSelf(ln)
	defer p.removeSelf(ln)
	defer p.closeIdle()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var inflight sync.WaitGroup
	var mu sync.Mutex
	stopped := false
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			if stopped {
				mu.Unlock()
				w.Header().Set("Connection", "close")
				http.Error(w, "proxy shutting down", http.StatusServiceUnavailable)
				return
			}
			inflight.Add(1)
			mu.Unlock()
			defer inflight.Done()
			p.ServeHTTP(w, r)
		}),
		// Every request here is read before its proxy credential is checked:
		// anyone who can connect gets only a small header budget and a short
		// deadline, so a flood of huge or trickling headers costs little.
		ReadHeaderTimeout: PreAuthHeaderTimeout,
		// net/http reads 4 KiB past MaxHeaderBytes before it refuses.
		MaxHeaderBytes: PreAuthHeaderBytes - 4<<10,
		IdleTimeout:    5 * time.Minute,
		ErrorLog:       p.errLog,
		// Requests, and so hijacked tunnels, end when ctx does.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ConnContext: func(cctx context.Context, c net.Conn) context.Context {
			if class != "" {
				cctx = context.WithValue(cctx, listenerClass{}, class)
			}
			if only == "" {
				return context.WithValue(cctx, connKey{}, c)
			}
			return context.WithValue(cctx, listenerSession{}, only)
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(p.watchRefusals(ln, only)) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		cancel()
	}
	srv.Close()
	if err == nil {
		<-errc
	}
	mu.Lock()
	stopped = true
	mu.Unlock()
	inflight.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("proxy: serving %s: %w", ln.Addr(), err)
	}
	if cerr := context.Cause(ctx); cerr != nil && !errors.Is(cerr, context.Canceled) {
		return cerr
	}
	return nil
}

func (p *Proxy) closeIdle() {
	for _, t := range p.transports {
		t.CloseIdleConnections()
	}
	p.plain.CloseIdleConnections()
}

func (p *Proxy) addSelf(ln net.Listener) {
	a, _ := ln.Addr().(*net.TCPAddr)
	p.selfMu.Lock()
	defer p.selfMu.Unlock()
	p.self[ln] = a
}

func (p *Proxy) removeSelf(ln net.Listener) {
	p.selfMu.Lock()
	defer p.selfMu.Unlock()
	delete(p.self, ln)
}

// isSelfTarget reports whether host:port obviously names one of the proxy's
// own listeners, before any connection is made. Names that only resolve to
// the proxy are caught after dialling, by isSelfConn.
func (p *Proxy) isSelfTarget(host, port string) bool {
	host = strings.Trim(host, "[]")
	portNum, err := strconv.Atoi(port)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	local := strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost")
	p.selfMu.RLock()
	defer p.selfMu.RUnlock()
	for _, la := range p.self {
		if la == nil || la.Port != portNum {
			continue
		}
		switch {
		case local && (la.IP.IsLoopback() || la.IP.IsUnspecified()):
			return true
		case ip == nil:
		case la.IP.Equal(ip):
			return true
		case la.IP.IsUnspecified() && (ip.IsLoopback() || ip.IsUnspecified()):
			return true
		}
	}
	return false
}

// isSelfConn reports whether c, just dialled, reached one of the proxy's
// own listeners.
func (p *Proxy) isSelfConn(c net.Conn) bool {
	ra, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return false
	}
	lo, _ := c.LocalAddr().(*net.TCPAddr)
	p.selfMu.RLock()
	defer p.selfMu.RUnlock()
	for _, la := range p.self {
		if la == nil || la.Port != ra.Port {
			continue
		}
		if la.IP.Equal(ra.IP) {
			return true
		}
		// A wildcard listener: the peer is us if it is our own address.
		if la.IP.IsUnspecified() && (ra.IP.IsLoopback() || (lo != nil && lo.IP.Equal(ra.IP))) {
			return true
		}
	}
	return false
}

// dial connects to a rule's upstream and refuses to connect the proxy to
// itself.
func (p *Proxy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return p.dialPolicy(ctx, network, addr, nil)
}

// dialChecked connects where a client asked to go: as dial, and the dial
// policy must allow every address connected to.
func (p *Proxy) dialChecked(ctx context.Context, network, addr string) (net.Conn, error) {
	pol := p.allowDial
	if sp, session := p.sessionDial, dialSession(ctx); sp != nil && session != "" {
		pol = func(host string, ip netip.Addr) error {
			if err := p.allowDial(host, ip); err != nil {
				return err
			}
			return sp(session, host, ip)
		}
	}
	return p.dialPolicy(ctx, network, addr, pol)
}

// sessionKey is the context key of the session a dial is for.
type sessionKey struct{}

// withDialSession marks ctx as a dial on behalf of session.
func withDialSession(ctx context.Context, session string) context.Context {
	return context.WithValue(ctx, sessionKey{}, session)
}

func dialSession(ctx context.Context) string {
	s, _ := ctx.Value(sessionKey{}).(string)
	return s
}

func (p *Proxy) dialPolicy(ctx context.Context, network, addr string, pol DialPolicy) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && p.isSelfTarget(host, port) {
		return nil, fmt.Errorf("%w: %s is this proxy", ErrLoop, addr)
	}
	d := net.Dialer{Timeout: p.dialTimeout, KeepAlive: 30 * time.Second}
	if pol != nil {
		// Control sees the resolved address of each attempt, so a name
		// cannot smuggle a refused address past the check.
		d.Control = pol.control(host)
	}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if p.isSelfConn(c) {
		c.Close()
		return nil, fmt.Errorf("%w: %s is this proxy", ErrLoop, addr)
	}
	return c, nil
}

// ruleTransport dials the rule's upstream, verifies TLS as the rule's host
// against its roots (nil: the system's), and speaks HTTP/2 when offered.
func (p *Proxy) ruleTransport(r Rule) *http.Transport {
	addr := r.upstreamAddr()
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			c, err := p.dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return newReadBufferedConn(c), nil
		},
		TLSClientConfig: &tls.Config{
			ServerName: r.Host,
			RootCAs:    r.RootCAs,
			MinVersion: tls.VersionTLS12,
		},
		ForceAttemptHTTP2: true,
		// Let the upstream send DATA frames of up to 1 MiB instead of 16 KiB:
		// a bulk body then costs far fewer frames, flow-control updates and
		// hand-offs between the connection's reader and the handler (50 MB:
		// ~540 to ~650 MB/s against a Go upstream here).
		HTTP2: &http.HTTP2Config{MaxReadFrameSize: 1 << 20},
		// Relay bodies as the upstream sends them: never ask for gzip on
		// the client's behalf only to inflate it here.
		DisableCompression:  true,
		TLSHandshakeTimeout: 15 * time.Second,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
	}
}
