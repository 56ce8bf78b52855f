package proxy

import (
	"bufio"
	"crypto/tls"
	"net"
	"sync"
)

// maxRecordPayload is the most plaintext one TLS record carries.
const maxRecordPayload = 16 << 10

// batchConn sits under the client-facing TLS connection. crypto/tls hands
// every record (at most 16 KiB) to the socket with its own write; while a
// large Write is encrypted, batchConn gathers the records and sends them
// with one write instead. On the loopback and bridge links clients use,
// the per-write cost (copy, wakeup of the reader) is a large share of
// moving a big body, so this is what lets bulk responses keep pace.
type batchConn struct {
	net.Conn

	batchMu sync.Mutex // one batch at a time

	// mu guards open and buf and is held while a batch is flushed, so a
	// record encrypted after the batch (an alert from another goroutine)
	// cannot reach the socket before it.
	mu   sync.Mutex
	open bool
	buf  *[]byte
}

// batchBuffers hold a batch; each is a little more than a full copy buffer
// of records.
var batchBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, copyBufferSize+copyBufferSize/maxRecordPayload*64)
	return &b
}}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.open {
		*b.buf = append(*b.buf, p...)
		b.mu.Unlock()
		return len(p), nil
	}
	b.mu.Unlock()
	// Every tls.Conn write holds the TLS connection's own write lock, so
	// this cannot interleave with a batch's records.
	return b.Conn.Write(p)
}

// batch runs write, sending everything it writes to b in one go.
func (b *batchConn) batch(write func() (int, error)) (int, error) {
	b.batchMu.Lock()
	defer b.batchMu.Unlock()
	buf := batchBuffers.Get().(*[]byte)
	b.mu.Lock()
	b.open, b.buf = true, buf
	b.mu.Unlock()

	n, err := write()

	b.mu.Lock()
	defer b.mu.Unlock()
	b.open, b.buf = false, nil
	if len(*buf) > 0 {
		if _, werr := b.Conn.Write(*buf); werr != nil && err == nil {
			n, err = 0, werr
		}
	}
	if cap(*buf) <= 4*copyBufferSize {
		*buf = (*buf)[:0]
		batchBuffers.Put(buf)
	}
	return n, err
}

// batchedTLS is a TLS connection whose large writes go out batched.
type batchedTLS struct {
	*tls.Conn
	raw *batchConn
}

func (t *batchedTLS) Write(p []byte) (int, error) {
	if len(p) <= maxRecordPayload {
		return t.Conn.Write(p) // one record: nothing to gather
	}
	return t.raw.batch(func() (int, error) { return t.Conn.Write(p) })
}

// upstreamReadBuffer is how much one read from an upstream socket may
// take. crypto/tls asks the socket for about one record at a time; a
// buffer under it lets one read syscall fetch several records of a bulk
// body. It stays modest because an idle pooled connection keeps it (with
// HTTP/1.1 upstreams, up to MaxIdleConnsPerHost of them).
const upstreamReadBuffer = 64 << 10

// readBufferedConn reads through a large buffer. It is used for the few,
// pooled upstream connections only, never per client.
type readBufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func newReadBufferedConn(c net.Conn) *readBufferedConn {
	return &readBufferedConn{Conn: c, r: bufio.NewReaderSize(c, upstreamReadBuffer)}
}

func (c *readBufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
