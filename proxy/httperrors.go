package proxy

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"
)

// netHTTPErrorHeaders is what net/http writes between the status line and
// the body of an error it answers itself, without calling the handler. No
// handler's response has it: net/http writes the handler's headers sorted,
// then always Date, before the Content-Type and Connection it adds.
const netHTTPErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// maxServerErrorHead is how much of a connection's first write is looked
// at; net/http's own error answers are shorter.
const maxServerErrorHead = 512

// watchRefusals wraps ln so that the requests net/http refuses itself are
// audited as refused: 431 for headers past the pre-authentication budget;
// 400 for a missing, malformed or repeated Host, or a request it cannot
// parse; 501 for an unknown transfer encoding; 505 for an unknown HTTP
// version.
func (p *Proxy) watchRefusals(ln net.Listener, only string) net.Listener {
	return &refusalListener{Listener: ln, p: p, only: only}
}

type refusalListener struct {
	net.Listener
	p    *Proxy
	only string // the session ln is for, if any
}

func (l *refusalListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &refusalConn{Conn: c, p: l.p, only: l.only}, nil
}

// refusalConn looks at the first bytes the server writes on a connection.
// Only the first: after them the connection carries handlers' responses,
// or a tunnel's bytes, which a client can shape to look like anything. So
// an error net/http answers to a later request on a kept-alive connection
// is not recorded; that client's earlier requests were, by the handler.
type refusalConn struct {
	net.Conn
	p       *Proxy
	only    string
	written atomic.Bool
}

func (c *refusalConn) Write(b []byte) (int, error) {
	if !c.written.Load() && !c.written.Swap(true) {
		// Recorded before the client can read the answer.
		if code, reason, ok := serverError(b); ok {
			addr := connPeerAddr(c.Conn)
			if c.only != "" {
				addr = socketPeer(c.only)
			}
			c.p.recordServerRefusal(addr, code, reason)
		}
	}
	return c.Conn.Write(b)
}

// CloseWrite, ReadFrom and WriteTo keep what the connection underneath
// offers: net/http and tunnels half-close, and io.Copy between two TCP
// connections (a blind tunnel) splices.
func (c *refusalConn) CloseWrite() error { return closeWrite(c.Conn) }

func (c *refusalConn) netConn() net.Conn { return c.Conn }

func (c *refusalConn) ReadFrom(r io.Reader) (int64, error) {
	c.written.Store(true)
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

func (c *refusalConn) WriteTo(w io.Writer) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(c.Conn)
	}
	return io.Copy(w, struct{ io.Reader }{c.Conn})
}

// serverError parses b as an error net/http answered itself: its status
// and its body, which is fixed text naming the reason.
func serverError(b []byte) (code int, reason string, ok bool) {
	head := b[:min(len(b), maxServerErrorHead)]
	rest, ok := bytes.CutPrefix(head, []byte("HTTP/1.1 "))
	if !ok {
		return 0, "", false
	}
	status, body, ok := bytes.Cut(rest, []byte(netHTTPErrorHeaders))
	if !ok || len(status) < 3 || bytes.ContainsAny(status, "\r\n") {
		return 0, "", false
	}
	code, err := strconv.Atoi(string(status[:3]))
	if err != nil || code < 400 {
		return 0, "", false
	}
	return code, string(body), true
}

// recordServerRefusal audits a request net/http refused itself.
func (p *Proxy) recordServerRefusal(addr string, code int, reason string) {
	p.record(&AuditEntry{
		Time:    time.Now(),
		Status:  code,
		Error:   "refused by the HTTP server: " + reason,
		Refused: true,
		Addr:    addr,
	})
}
