package mcpserver

import (
	"context"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// progress sends MCP progress notifications for one request, when the
// caller asked for them with a progress token; otherwise it does nothing.
type progress struct {
	ctx   context.Context
	srv   *server.MCPServer
	token mcp.ProgressToken
	mu    sync.Mutex
	n     float64
}

func newProgress(ctx context.Context, req mcp.CallToolRequest) *progress {
	p := &progress{ctx: ctx, srv: server.ServerFromContext(ctx)}
	if m := req.Params.Meta; m != nil {
		p.token = m.ProgressToken
	}
	return p
}

// send reports one step. A notification that cannot be sent is dropped:
// progress is advice, never a reason to fail the call.
func (p *progress) send(msg string) {
	if p.token == nil || p.srv == nil {
		return
	}
	p.mu.Lock()
	p.n++
	n := p.n
	p.mu.Unlock()
	_ = p.srv.SendNotificationToClient(p.ctx, string(mcp.MethodNotificationProgress), map[string]any{
		"progressToken": p.token,
		"progress":      n,
		"message":       visible(msg),
	})
}

// heartbeat sends msg(elapsed) every interval until ctx ends or the
// returned stop is called.
func (p *progress) heartbeat(ctx context.Context, every time.Duration, msg func(time.Duration) string) (stop func()) {
	if p.token == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.send(msg(time.Since(start)))
			}
		}
	}()
	return func() { cancel(); <-done }
}
