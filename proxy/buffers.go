package proxy

import "sync"

// copyBufferSize is the size of the buffers bodies are copied through. A
// large buffer lets one read from the upstream carry many TLS records'
// worth of data, so the copy loop turns fewer times for bulk bodies; it is
// pooled, so a request does not pay for allocating (and zeroing) it.
const copyBufferSize = 256 << 10

// bufferPool is an httputil.BufferPool over a sync.Pool.
type bufferPool struct{ p sync.Pool }

func newBufferPool(size int) *bufferPool {
	bp := &bufferPool{}
	bp.p.New = func() any { b := make([]byte, size); return &b }
	return bp
}

// Get implements httputil.BufferPool.
func (bp *bufferPool) Get() []byte { return *bp.p.Get().(*[]byte) }

// Put implements httputil.BufferPool.
func (bp *bufferPool) Put(b []byte) { bp.p.Put(&b) }
