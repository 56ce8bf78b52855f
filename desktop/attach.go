package desktop

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
)

// attachment is one in-window terminal's connection.
type attachment struct {
	conn   io.ReadWriteCloser
	cancel context.CancelFunc
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
	at := &attachment{conn: conn, cancel: cancel}
	a.mu.Lock()
	if old := a.attach[name]; old != nil {
		old.cancel()
		old.conn.Close()
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
	at.cancel()
	at.conn.Close()
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
	at.cancel()
	return at.conn.Close()
}
