package desktop

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"sync"
)

// attachment is one in-window terminal's connection, and its flow
// control: Wails queues every event for the page without a bound, so the
// pump stops reading once maxUnacked bytes went out that the page has not
// acknowledged (AttachAck): a session flooding its terminal then waits on
// its own TTY instead of filling the app's memory.
type attachment struct {
	conn   io.ReadWriteCloser
	cancel context.CancelFunc

	mu      sync.Mutex
	cond    *sync.Cond
	unacked int
	waiting bool // the pump waits for the page (tests look)
	stopped bool
}

// maxUnacked is how far the output may run ahead of the page.
const maxUnacked = 1 << 20

func newAttachment(conn io.ReadWriteCloser, cancel context.CancelFunc) *attachment {
	at := &attachment{conn: conn, cancel: cancel}
	at.cond = sync.NewCond(&at.mu)
	return at
}

// sent counts n bytes the page has yet to acknowledge, and waits while it
// is too far behind; false once the attachment is stopped.
func (at *attachment) sent(n int) bool {
	at.mu.Lock()
	defer at.mu.Unlock()
	at.unacked += n
	for at.unacked > maxUnacked && !at.stopped {
		at.waiting = true
		at.cond.Wait()
	}
	at.waiting = false
	return !at.stopped
}

func (at *attachment) ack(n int) {
	at.mu.Lock()
	at.unacked = max(0, at.unacked-n)
	at.cond.Broadcast()
	at.mu.Unlock()
}

// stop ends the attachment and wakes a waiting pump.
func (at *attachment) stop() {
	at.mu.Lock()
	at.stopped = true
	at.cond.Broadcast()
	at.mu.Unlock()
	at.cancel()
	at.conn.Close()
}

// Attach connects the in-window terminal to a session: its output goes to
// the frontend base64-encoded as "clauderon:attach:NAME" events (Wails
// events carry JSON, not bytes), and "clauderon:attach-end:NAME" says the
// stream ended and why.
func (a *App) Attach(name string) error {
	ctx, cancel := context.WithCancel(a.ctx())
	conn, err := a.c.Attach(ctx, name)
	if err != nil {
		cancel()
		return err
	}
	at := newAttachment(conn, cancel)
	a.mu.Lock()
	if old := a.attach[name]; old != nil {
		old.stop()
	}
	a.attach[name] = at
	a.mu.Unlock()
	go a.pump(name, at)
	return nil
}

func (a *App) pump(name string, at *attachment) {
	buf := make([]byte, 32<<10)
	reason := "session ended"
	for {
		n, err := at.conn.Read(buf)
		if n > 0 {
			a.emit.Emit("clauderon:attach:"+name, base64.StdEncoding.EncodeToString(buf[:n]))
			if !at.sent(n) {
				break
			}
		}
		if err != nil {
			if err != io.EOF {
				reason = err.Error()
			}
			break
		}
	}
	a.mu.Lock()
	mine := a.attach[name] == at
	if mine {
		delete(a.attach, name)
	}
	a.mu.Unlock()
	at.stop()
	// A detach the user asked for (AttachClose) or a newer Attach needs
	// no end event: the frontend closed that terminal itself.
	if mine {
		a.emit.Emit("clauderon:attach-end:"+name, reason)
	}
}

func (a *App) attached(name string) (*attachment, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	at := a.attach[name]
	if at == nil {
		return nil, fmt.Errorf("the terminal of %s is not attached", name)
	}
	return at, nil
}

// AttachWrite sends base64-encoded keystrokes to an attached session.
func (a *App) AttachWrite(name, b64 string) error {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return fmt.Errorf("attach input is not base64: %w", err)
	}
	at, err := a.attached(name)
	if err != nil {
		return err
	}
	_, err = at.conn.Write(b)
	return err
}

// AttachAck tells that the page has taken n bytes of a session's output,
// so more may come.
func (a *App) AttachAck(name string, n int) error {
	at, err := a.attached(name)
	if err != nil {
		return err
	}
	at.ack(n)
	return nil
}

// AttachResize sets an attached session's terminal size.
func (a *App) AttachResize(name string, cols, rows uint) error {
	return a.c.Resize(a.ctx(), name, rows, cols)
}

// AttachClose detaches the in-window terminal; the session keeps running.
func (a *App) AttachClose(name string) error {
	a.mu.Lock()
	at := a.attach[name]
	delete(a.attach, name)
	a.mu.Unlock()
	if at == nil {
		return nil
	}
	at.stop()
	return nil
}
