package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

const (
	handshakeTimeout = 15 * time.Second
	// halfCloseGrace is how long a tunnel waits for one side to finish
	// after the other has closed its side cleanly.
	halfCloseGrace = time.Minute
)

// connect handles CONNECT: an intercepted host gets TLS terminated here,
// any other host a blind TCP tunnel.
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request, e *AuditEntry, c client) {
	host, port, err := splitAuthority(r.Host)
	if err != nil {
		p.fail(w, e, err)
		return
	}
	e.Host = net.JoinHostPort(host, port)
	if p.isSelfTarget(host, port) {
		p.fail(w, e, fmt.Errorf("%w: CONNECT %s is this proxy", ErrLoop, e.Host))
		return
	}
	if rule, ok := p.rules.Match(host); ok {
		e.Intercepted = true
		p.intercept(w, r, e, c, rule)
		return
	}
	if err := p.checkEgress(e, host); err != nil {
		p.fail(w, e, err)
		return
	}
	p.tunnel(w, r, e, c)
}

// tunnel copies bytes between the client and host:port without looking,
// until either side is done, the proxy shuts down or the client's session
// is revoked.
func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request, e *AuditEntry, c client) {
	ctx, release := c.bind(r.Context())
	defer release()
	up, err := p.dialChecked(withDialSession(ctx, c.name), "tcp", e.Host)
	if err != nil {
		p.fail(w, e, dialError(e.Host, e.Host, err))
		return
	}
	conn, err := hijack(w)
	if err != nil {
		up.Close()
		p.fail(w, e, err)
		return
	}
	e.Status = http.StatusOK
	stop := context.AfterFunc(ctx, func() { conn.Close(); up.Close() })
	defer stop()
	e.BytesIn, e.BytesOut = pipe(conn, up)
	conn.Close()
	up.Close()
	e.Error = endReason(ctx)
	p.record(e)
}

// hijack takes over the client connection and tells the client the tunnel
// is open. Bytes the client sent early are kept.
func hijack(w http.ResponseWriter) (net.Conn, error) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, fmt.Errorf("cannot take over the client connection: %w", err)
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	if brw.Reader.Buffered() > 0 {
		return &bufferedConn{Conn: conn, r: brw.Reader}, nil
	}
	return conn, nil
}

// bufferedConn reads what the HTTP server had buffered before the socket.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *bufferedConn) CloseWrite() error { return closeWrite(b.Conn) }

func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// pipe copies both ways until both sides are done and returns the bytes
// the client sent and received. A direction that fails (a reset, a dead
// peer found by keepalive, a close by the proxy) ends the whole tunnel at
// once: nothing more can be delivered, and the other side may stay silent
// forever. One that ends cleanly is half-closed, and the other side then
// has halfCloseGrace to finish.
func pipe(client, up net.Conn) (in, out int64) {
	done := make(chan int64, 1)
	go func() {
		n, err := io.Copy(up, client)
		endDirection(client, up, err)
		done <- n
	}()
	out, err := io.Copy(client, up)
	endDirection(up, client, err)
	return <-done, out
}

// endDirection is called when copying from src to dst stopped with err.
func endDirection(src, dst net.Conn, err error) {
	if err != nil {
		src.Close()
		dst.Close()
		return
	}
	closeWrite(dst)
	// src has said all it will; do not let a silent dst hold the tunnel.
	dst.SetReadDeadline(time.Now().Add(halfCloseGrace))
}

// intercept terminates the client's TLS with a leaf for the rule's host and
// serves the requests inside, each checked and injected on its own.
func (p *Proxy) intercept(w http.ResponseWriter, r *http.Request, e *AuditEntry, c client, rule Rule) {
	leaf, err := p.ca.Leaf(rule.Host)
	if err != nil {
		p.fail(w, e, fmt.Errorf("leaf certificate for %s: %w", rule.Host, err))
		return
	}
	raw, err := hijack(w)
	if err != nil {
		p.fail(w, e, err)
		return
	}
	e.Status = http.StatusOK
	// Everything below, the requests inside included, ends when the proxy
	// shuts down or the session is revoked.
	ctx, release := c.bind(r.Context())
	defer release()
	counted := &countConn{Conn: raw}
	batched := &batchConn{Conn: counted}
	tc := tls.Server(batched, &tls.Config{
		Certificates: []tls.Certificate{*leaf},
		NextProtos:   []string{"http/1.1"},
		MinVersion:   tls.VersionTLS12,
		// Clients sit on the same host; small first records only slow
		// down bulk bodies there.
		DynamicRecordSizingDisabled: true,
	})
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		raw.Close()
		e.Error = "TLS handshake with the client failed: " + err.Error()
		if why := endReason(ctx); why != "" {
			e.Error = why
		}
		e.BytesIn, e.BytesOut = counted.in.Load(), counted.out.Load()
		p.record(e)
		return
	}
	ln := newOneConnListener(&batchedTLS{Conn: tc, raw: batched})
	authority := e.Host
	// served counts the connection's serving goroutine and each handler.
	// Serve calls ConnState(StateNew) before it starts that goroutine and
	// returns, so the count is up before served.Wait can run; a handler
	// counts itself while the connection's count is held (StateClosed
	// comes after the last handler), which keeps a handler that outlives
	// StateHijacked (a proxied protocol upgrade) counted too.
	var served sync.WaitGroup
	inner := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, ir *http.Request) {
			served.Add(1)
			defer served.Done()
			p.serveIntercepted(w, ir, c, rule, authority)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				served.Add(1)
			case http.StateClosed, http.StateHijacked:
				served.Done()
			}
		},
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          p.errLog,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	stop := context.AfterFunc(ctx, func() { inner.Close() })
	_ = inner.Serve(ln)
	// Serve returns once the connection is closed, or at once if shutdown
	// won the race; closing the listener then closes an unserved conn.
	ln.Close()
	stop()
	inner.Close()
	served.Wait() // a shutdown can close the connection under a running handler
	e.BytesIn, e.BytesOut = counted.in.Load(), counted.out.Load()
	e.Error = endReason(ctx)
	p.record(e)
}

// serveIntercepted handles one request inside an intercepted tunnel. The
// session is checked again every time, so revocation is immediate.
func (p *Proxy) serveIntercepted(w http.ResponseWriter, r *http.Request, c client, rule Rule, authority string) {
	e := &AuditEntry{Time: time.Now(), Session: c.name, Host: authority, Method: r.Method, Path: r.URL.Path, Intercepted: true}
	if !p.auth.Authorize(c.name, c.secret) {
		w.Header().Set("Connection", "close")
		p.fail(w, e, fmt.Errorf("%w: session %q is no longer authorized", ErrProxyAuth, c.name))
		return
	}
	p.inject(w, r, e, rule)
}

// countConn counts raw bytes in each direction.
type countConn struct {
	net.Conn
	in, out atomic.Int64
}

func (c *countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.Add(int64(n))
	return n, err
}

func (c *countConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.out.Add(int64(n))
	return n, err
}

// oneConnListener hands one connection to an http.Server, then reports
// closed once that connection is closed, which ends Serve.
type oneConnListener struct {
	conn net.Conn
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newOneConnListener(c net.Conn) *oneConnListener {
	l := &oneConnListener{ch: make(chan net.Conn, 1), done: make(chan struct{})}
	l.conn = &notifyConn{Conn: c, l: l}
	l.ch <- l.conn
	return l
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close is called by http.Server.Close as well as when the connection ends.
func (l *oneConnListener) Close() error {
	l.once.Do(func() {
		// If the server never accepted the connection, close it here.
		select {
		case c := <-l.ch:
			c.(*notifyConn).Conn.Close()
		default:
		}
		close(l.done)
	})
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.conn.LocalAddr() }

// notifyConn closes its listener when it is closed.
type notifyConn struct {
	net.Conn
	l *oneConnListener
}

func (n *notifyConn) Close() error {
	err := n.Conn.Close()
	n.l.Close()
	return err
}

// dialError wraps a failure to reach an upstream, keeping loop and policy
// refusals.
func dialError(host, addr string, err error) error {
	if errors.Is(err, ErrLoop) {
		return err
	}
	if errors.Is(err, ErrDialDenied) {
		// Drop net.OpError's "dial tcp 127.0.0.1:22:" prefix; the policy's
		// text already names the host and the address.
		return policyError(err)
	}
	if host == addr {
		return fmt.Errorf("%w: cannot reach %s: %v", ErrUpstream, host, err)
	}
	return fmt.Errorf("%w: cannot reach %s at %s: %v", ErrUpstream, host, addr, err)
}
