package tunnel

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// State is what doctor shows of the daemon's tunnel.
type State struct {
	Up        bool      `json:"up"`
	Since     time.Time `json:"since"` // when Up last changed
	LastError string    `json:"last_error,omitempty"`
	Connects  int       `json:"connects"` // tunnels brought up so far
}

// ClientConfig is what NewClient needs.
type ClientConfig struct {
	// Intercepted are the hosts the proxy intercepts, sent in the hello.
	Intercepted []string
	// Authorize decides a blind tunnel from its CONNECT head; required.
	Authorize func(head *http.Request) Decision
	Logger    *slog.Logger // nil: discard
	// MinBackoff and MaxBackoff bound the wait between dials; 0 means
	// 200 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
}

// Client is the daemon side of the tunnel: it keeps one tunnel up to the
// gateway, feeds ModeProxy streams to Listener and answers ModeAuthorize
// streams with Authorize.
type Client struct {
	cfg ClientConfig
	log *slog.Logger
	ln  *streamListener

	mu    sync.Mutex
	state State
}

// NewClient returns a Client; it dials nothing until Run.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Authorize == nil {
		return nil, errors.New("tunnel: ClientConfig.Authorize is required")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 200 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, log: log, ln: newStreamListener(), state: State{Since: time.Now()}}, nil
}

// Listener is where ModeProxy streams arrive, for proxy.Serve. It lives as
// long as the Client, across reconnections.
func (c *Client) Listener() net.Listener { return c.ln }

// State returns the tunnel's state now.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *Client) setUp(up bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Up != up {
		c.state.Since = time.Now()
	}
	c.state.Up = up
	if up {
		c.state.Connects++
		c.state.LastError = ""
	}
	if err != nil {
		c.state.LastError = err.Error()
	}
}

// Run keeps a tunnel up, dialling with dial again after each failure with
// capped exponential backoff and jitter, until ctx is done; then it
// returns nil.
func (c *Client) Run(ctx context.Context, dial func(context.Context) (net.Conn, error)) error {
	backoff := c.cfg.MinBackoff
	for {
		start := time.Now()
		err := c.once(ctx, dial)
		if ctx.Err() != nil {
			c.setUp(false, nil)
			return nil
		}
		c.setUp(false, err)
		c.log.Warn("tunnel: down, redialling", slog.String("error", errString(err)), slog.Duration("in", backoff))
		// A tunnel that stayed up a while was healthy: start over fast.
		if time.Since(start) > c.cfg.MaxBackoff {
			backoff = c.cfg.MinBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			c.setUp(false, nil)
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, c.cfg.MaxBackoff)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// once dials, says hello and serves streams until the tunnel breaks.
func (c *Client) once(ctx context.Context, dial func(context.Context) (net.Conn, error)) error {
	conn, err := dial(ctx)
	if err != nil {
		return err
	}
	mux, err := yamux.Client(conn, muxConfig())
	if err != nil {
		conn.Close()
		return err
	}
	defer mux.Close()
	stop := context.AfterFunc(ctx, func() { mux.Close() })
	defer stop()
	hello, err := mux.OpenStream()
	if err != nil {
		return err
	}
	_ = hello.SetWriteDeadline(time.Now().Add(HeadTimeout))
	err = writeJSONLine(hello, Hello{Version: 1, Intercepted: c.cfg.Intercepted})
	hello.Close()
	if err != nil {
		return err
	}
	c.setUp(true, nil)
	c.log.Info("tunnel: up")
	for {
		st, err := mux.AcceptStream()
		if err != nil {
			return err
		}
		go c.serveStream(st)
	}
}

// serveStream reads a stream's mode and hands it on.
func (c *Client) serveStream(st *yamux.Stream) {
	_ = st.SetReadDeadline(time.Now().Add(HeadTimeout))
	var mode [1]byte
	if _, err := st.Read(mode[:]); err != nil {
		st.Close()
		return
	}
	switch mode[0] {
	case ModeProxy:
		// The proxy's own server bounds the head from here on.
		_ = st.SetReadDeadline(time.Time{})
		c.ln.push(streamConn{st})
	case ModeAuthorize:
		c.authorize(st)
	default:
		st.Close()
	}
}

// authorize answers one ModeAuthorize stream.
func (c *Client) authorize(st *yamux.Stream) {
	defer st.Close()
	_, req, err := ReadHead(bufio.NewReaderSize(st, 4<<10), MaxHeadBytes)
	var d Decision
	switch {
	case errors.Is(err, ErrHeadTooLarge):
		d = Decision{Status: http.StatusRequestHeaderFieldsTooLarge, Message: "request head too large"}
	case err != nil:
		d = Decision{Status: http.StatusBadRequest, Message: "malformed request head"}
	default:
		d = c.cfg.Authorize(req)
	}
	_ = st.SetWriteDeadline(time.Now().Add(HeadTimeout))
	if err := WriteDecision(st, d); err != nil || !d.OK {
		return
	}
	// The stream lasts as long as the gateway's tunnel: until the gateway
	// closes it (the tunnel ended, or the yamux session did), or Done says
	// to cut the tunnel, which closing the stream does.
	_ = st.SetReadDeadline(time.Time{})
	ended := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, st)
		close(ended)
	}()
	select {
	case <-ended:
	case <-d.Done:
	}
}

// streamListener is a net.Listener of streams pushed to it.
type streamListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newStreamListener() *streamListener {
	return &streamListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

// push hands c to Accept, or closes it if the listener is closed.
func (l *streamListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *streamListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *streamListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *streamListener) Addr() net.Addr { return tunnelAddr{} }

// tunnelAddr names the tunnel as a listener address.
type tunnelAddr struct{}

func (tunnelAddr) Network() string { return "tunnel" }
func (tunnelAddr) String() string  { return "clauderon-gateway-tunnel" }
