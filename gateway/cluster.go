package gateway

// The cluster gateway: `clauderon gateway --cluster` runs as the
// clauderon-gateway Deployment, the only place session pods may connect
// to. It holds no credential. It reads each pod connection's first
// request head and either carries the connection whole to the daemon's
// proxy over the tunnel (intercepted hosts and plain requests), or asks
// the daemon to authorize a blind CONNECT and then dials the target
// itself, so bulk tunnel bytes never make the trip to the user's host.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/clauderon/clauderon/tunnel"
)

// Cluster serves session pods' proxy connections.
type Cluster struct {
	Tunnel *tunnel.Gateway
	Logger *slog.Logger // nil: discard
	// Dialer connects an authorized blind tunnel; nil means
	// PublicDialer(nil), which reaches only public addresses.
	Dialer *PolicyDialer
	// MaxConns bounds the pod connections served at once; 0 means
	// DefaultMaxConns. Any pod may connect, and a head may take 30 s to
	// come, so without a bound a flood would take every descriptor.
	MaxConns int
	// MaxPerPod bounds one pod's (one source address's) connections, so a
	// pod that holds its connections open cannot take the others' slots;
	// 0 means DefaultMaxPerPod.
	MaxPerPod int
}

// DefaultMaxConns and DefaultMaxPerPod are the bounds' defaults.
const (
	DefaultMaxConns  = 4096
	DefaultMaxPerPod = 256
)

// tooManyMsg answers a connection past MaxConns, written without reading
// anything.
const tooManyMsg = "clauderon: the gateway has too many connections open; retry\n"

var tooMany = fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
	len(tooManyMsg), tooManyMsg)

// noTunnel is the answer when the daemon has no tunnel up: nothing is
// forwarded, and the pod's credential is not read.
const noTunnel = "clauderon: the gateway has no tunnel to the clauderon daemon; " +
	"check that the daemon is running and run `clauderon doctor` on its host, then retry"

// Serve answers pod connections on ln until ctx is done or ln fails.
func (c *Cluster) Serve(ctx context.Context, ln net.Listener) error {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Dialer == nil {
		c.Dialer = PublicDialer(nil)
	}
	max := c.MaxConns
	if max <= 0 {
		max = DefaultMaxConns
	}
	slots := make(chan struct{}, max)
	perPod := c.MaxPerPod
	if perPod <= 0 {
		perPod = DefaultMaxPerPod
	}
	var mu sync.Mutex
	open := map[string]int{} // by source address
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("gateway: accepting on %s: %w", ln.Addr(), err)
		}
		src := sourceOf(conn)
		mu.Lock()
		ok := open[src] < perPod
		if ok {
			open[src]++
		}
		mu.Unlock()
		if ok {
			select {
			case slots <- struct{}{}:
			default:
				ok = false
				mu.Lock()
				if open[src]--; open[src] == 0 {
					delete(open, src)
				}
				mu.Unlock()
			}
		}
		if !ok {
			_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(conn, tooMany)
			conn.Close()
			continue
		}
		go func() {
			defer func() {
				<-slots
				mu.Lock()
				if open[src]--; open[src] == 0 {
					delete(open, src)
				}
				mu.Unlock()
			}()
			c.handle(ctx, conn)
		}()
	}
}

// sourceOf is the address a connection comes from, without its port: one
// pod's.
func sourceOf(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return c.RemoteAddr().String()
}

// handle serves one pod connection.
func (c *Cluster) handle(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(tunnel.HeadTimeout))
	br := bufio.NewReaderSize(conn, 4<<10)
	head, req, err := tunnel.ReadHead(br, tunnel.MaxHeadBytes)
	if err != nil {
		if errors.Is(err, tunnel.ErrHeadTooLarge) {
			answer(conn, http.StatusRequestHeaderFieldsTooLarge, "clauderon: the request's headers are too large")
		} else if !errors.Is(err, io.EOF) {
			answer(conn, http.StatusBadRequest, "clauderon: malformed proxy request")
		}
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	pod := &bufferedConn{Conn: conn, r: br}
	connect := req.Method == http.MethodConnect
	mode := tunnel.ModeProxy
	if connect && !c.Tunnel.Intercepted(req.Host) {
		mode = tunnel.ModeAuthorize
	}
	st, err := c.Tunnel.Open(mode)
	if err != nil {
		c.Logger.Warn("gateway: no tunnel", slog.String("host", logHost(req)))
		answer(conn, http.StatusServiceUnavailable, noTunnel)
		return
	}
	defer st.Close()
	if _, err := st.Write(head); err != nil {
		answer(conn, http.StatusServiceUnavailable, noTunnel)
		return
	}
	if mode == tunnel.ModeProxy {
		c.Logger.Info("gateway: to the daemon's proxy", slog.String("host", logHost(req)), slog.Bool("connect", connect))
		splice(pod, st)
		return
	}
	_ = st.SetReadDeadline(time.Now().Add(tunnel.HeadTimeout))
	d, err := tunnel.ReadDecision(st)
	if err != nil {
		c.Logger.Warn("gateway: no decision from the daemon", slog.String("host", req.Host), slog.String("error", err.Error()))
		answer(conn, http.StatusBadGateway, "clauderon: the daemon did not answer; run `clauderon doctor` on its host")
		return
	}
	if !d.OK {
		c.Logger.Info("gateway: refused by the daemon", slog.String("host", req.Host), slog.Int("status", d.Status))
		answer(conn, d.Status, d.Message)
		return
	}
	up, err := c.Dialer.Dial(ctx, req.Host)
	if err != nil {
		code := http.StatusBadGateway
		if errors.Is(err, ErrDialDenied) {
			code = http.StatusForbidden
		}
		c.Logger.Info("gateway: dial failed", slog.String("host", req.Host), slog.String("error", err.Error()))
		answer(conn, code, "clauderon: "+err.Error())
		return
	}
	defer up.Close()
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	c.Logger.Info("gateway: blind tunnel", slog.String("host", req.Host))
	// The daemon closes the decision's stream to cut the tunnel (its
	// session was revoked, or the daemon is gone); closing it here when
	// the tunnel ends tells the daemon so.
	_ = st.SetReadDeadline(time.Time{})
	go func() {
		_, _ = io.Copy(io.Discard, st)
		conn.Close()
		up.Close()
	}()
	splice(pod, up)
}

// logHost is what a request is logged by: its host:port, never a header.
func logHost(r *http.Request) string {
	if r.Method == http.MethodConnect {
		return r.Host
	}
	return r.URL.Host
}

// answer writes a plain-text HTTP answer and lets the pod read it before
// the connection closes.
func answer(conn net.Conn, code int, msg string) {
	if code < 400 || code > 599 {
		code = http.StatusBadGateway
	}
	extra := ""
	if code == http.StatusProxyAuthRequired {
		extra = "Proxy-Authenticate: Basic realm=\"clauderon\"\r\n"
	}
	body := msg + "\n"
	_, _ = fmt.Fprintf(conn, "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), extra, len(body), body)
	// Read a little of what the pod sent, so that closing does not reset
	// the connection before it reads the answer.
	_ = closeWrite(conn)
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.CopyN(io.Discard, conn, 64<<10)
}

// bufferedConn reads what was buffered while reading the head first.
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

// splice copies both ways until both are done. A direction that fails
// ends both at once; one that ends cleanly is half-closed, and the other
// then has halfCloseGrace to finish, as the proxy's own tunnels.
func splice(a, b net.Conn) {
	done := make(chan struct{})
	go func() {
		_, err := io.Copy(b, a)
		endDirection(a, b, err)
		close(done)
	}()
	_, err := io.Copy(a, b)
	endDirection(b, a, err)
	<-done
}

func endDirection(src, dst net.Conn, err error) {
	if err != nil {
		src.Close()
		dst.Close()
		return
	}
	_ = closeWrite(dst)
	_ = dst.SetReadDeadline(time.Now().Add(halfCloseGrace))
}

// ClusterMain runs `clauderon gateway --cluster [--listen ADDR] [--tunnel ADDR]`
// until SIGTERM or SIGINT.
func ClusterMain(args []string) error {
	listen, tun := ":3128", "127.0.0.1:3129"
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--listen", "--tunnel":
			if i+1 == len(args) {
				return fmt.Errorf("gateway: %s needs a value", a)
			}
			i++
			if a == "--listen" {
				listen = args[i]
			} else {
				tun = args[i]
			}
		default:
			return fmt.Errorf("gateway --cluster: unknown argument %q", a)
		}
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	tln, err := net.Listen("tcp", tun)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	pln, err := net.Listen("tcp", listen)
	if err != nil {
		tln.Close()
		return fmt.Errorf("gateway: %w", err)
	}
	g := tunnel.NewGateway(log)
	errc := make(chan error, 2)
	go func() { errc <- g.Serve(ctx, tln) }()
	go func() { errc <- (&Cluster{Tunnel: g, Logger: log}).Serve(ctx, pln) }()
	log.Info("gateway: listening", slog.String("listen", pln.Addr().String()), slog.String("tunnel", tln.Addr().String()),
		slog.String("pid", strconv.Itoa(os.Getpid())))
	err = <-errc
	stop()
	if err2 := <-errc; err == nil {
		err = err2
	}
	return err
}
