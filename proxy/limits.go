package proxy

import (
	"io"
	"net"
	"sync"
	"syscall"
)

// A ConnPool bounds how many connections the listeners that share it hold
// open at once. The daemon gives each session's socket a pool of its own,
// the TCP listeners (anyone on the host can connect there, before any
// credential is checked) another, and puts one global pool below the
// file-descriptor limit over all of them: so one session's flood, or an
// unauthenticated one, fills only its own pool, and never stops another
// session's traffic or the LocalAPI.
type ConnPool struct {
	sem chan struct{}
}

// NewConnPool returns a pool of n places (at least 1).
func NewConnPool(n int) *ConnPool {
	return &ConnPool{sem: make(chan struct{}, max(n, 1))}
}

// Cap is the pool's size.
func (p *ConnPool) Cap() int { return cap(p.sem) }

// InUse is how many of its places are taken.
func (p *ConnPool) InUse() int { return len(p.sem) }

// Limit returns ln, accepting a connection only once every pool has a place
// for it. Until then it does not accept: the connection waits in the
// kernel's backlog, costing the daemon nothing. Closing a connection gives
// its places back.
func Limit(ln net.Listener, pools ...*ConnPool) net.Listener {
	return &limitListener{Listener: ln, pools: pools, done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	pools     []*ConnPool
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	for i, p := range l.pools {
		select {
		case p.sem <- struct{}{}:
		case <-l.done:
			release(l.pools[:i])
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		release(l.pools)
		return nil, err
	}
	return &limitConn{Conn: c, pools: l.pools}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func release(pools []*ConnPool) {
	for _, p := range pools {
		<-p.sem
	}
}

// limitConn gives its places back once, when closed.
type limitConn struct {
	net.Conn
	mu     sync.Mutex
	pools  []*ConnPool
	closed bool
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		release(c.pools)
	}
	return err
}

// moveTo takes the connection's place in its first pool (the one its
// listener gave it) to pool instead, if pool has room, and reports whether
// it is in pool now.
func (c *limitConn) moveTo(pool *ConnPool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || len(c.pools) == 0 {
		return false
	}
	if c.pools[0] == pool {
		return true
	}
	select {
	case pool.sem <- struct{}{}:
	default:
		return false
	}
	<-c.pools[0].sem
	c.pools = append([]*ConnPool{pool}, c.pools[1:]...)
	return true
}

// limitConnOf finds the pooled connection under c's wrappers.
func limitConnOf(c net.Conn) *limitConn {
	for c != nil {
		switch w := c.(type) {
		case *limitConn:
			return w
		case interface{ netConn() net.Conn }:
			c = w.netConn()
		default:
			return nil
		}
	}
	return nil
}

// CloseWrite, ReadFrom and WriteTo keep what the connection underneath
// offers (half-close, and splice for blind tunnels).
func (c *limitConn) CloseWrite() error { return closeWrite(c.Conn) }

func (c *limitConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

func (c *limitConn) WriteTo(w io.Writer) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(c.Conn)
	}
	return io.Copy(w, struct{ io.Reader }{c.Conn})
}

// FileLimit raises the process's soft limit on open files to its hard limit
// (the Go runtime does so too, on Linux) and returns the limit now in force,
// or 0 when it cannot be learned.
func FileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	return lim.Cur
}

// GlobalConnCap is the global pool's size for a file-descriptor limit: a
// tunnel holds two descriptors (the client's and the upstream's), and a
// reserve stays for the LocalAPI, the engine, the audit log and the
// keychain.
func GlobalConnCap(fileLimit uint64) int {
	const reserve = 512
	if fileLimit == 0 || fileLimit > 1<<22 {
		fileLimit = 1 << 22
	}
	if fileLimit <= 2*reserve {
		return max(int(fileLimit)/4, 1)
	}
	return int((fileLimit - reserve) / 2)
}
