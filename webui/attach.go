package webui

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// attach bridges a WebSocket to a session's TTY: binary messages carry the
// same bytes as `clauderon attach` both ways, and a text message from the
// browser is a resize. Detaching (closing the page) leaves the session
// running.
func (s *Server) attach(w http.ResponseWriter, r *http.Request) {
	// Every browser sends Origin on a WebSocket; a request without one is
	// no page of ours. The guard has checked it equals this server's.
	if r.Header.Get("Origin") == "" {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "a terminal WebSocket needs the Origin of this server"})
		return
	}
	name := r.PathValue("name")
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// Joined before the upgrade so that its errors (no session, not
	// interactive, not running) are the LocalAPI's answers.
	st, err := s.cfg.Attach(ctx, name)
	if err != nil {
		s.cfg.WriteError(w, err)
		return
	}
	var closeOnce sync.Once
	closeStream := func() { closeOnce.Do(func() { st.Close() }) }
	defer closeStream()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{r.Host}, Subprotocols: []string{wsProtocol}})
	if err != nil {
		return // Accept has answered
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20) // a large paste, not more

	// The TTY's output: when it ends, so does the session's side.
	outDone := make(chan error, 1)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := st.Read(buf)
			if n > 0 {
				if werr := conn.Write(ctx, websocket.MessageBinary, buf[:n]); werr != nil {
					outDone <- werr
					return
				}
			}
			if err != nil {
				outDone <- err
				return
			}
		}
	}()
	inDone := make(chan error, 1)
	go func() { inDone <- s.pumpInput(ctx, conn, st, name) }()

	select {
	case <-outDone:
		// The TTY ended (the session stopped) or the browser stopped
		// reading; a close frame to a gone browser fails harmlessly.
		conn.Close(websocket.StatusNormalClosure, "session ended")
	case <-inDone:
		// The browser went away: detach.
	case <-ctx.Done():
		conn.Close(websocket.StatusGoingAway, "the daemon is stopping")
	}
	cancel()
	closeStream()
}

// resizeMsg is the browser's only text message.
type resizeMsg struct {
	Type string `json:"type"`
	Cols uint   `json:"cols"`
	Rows uint   `json:"rows"`
}

// pumpInput copies the browser's keystrokes to the TTY and applies its
// resizes, until the browser closes.
func (s *Server) pumpInput(ctx context.Context, conn *websocket.Conn, st io.Writer, name string) error {
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		switch typ {
		case websocket.MessageBinary:
			if _, err := st.Write(b); err != nil {
				return err
			}
		case websocket.MessageText:
			var m resizeMsg
			if json.Unmarshal(b, &m) != nil || m.Type != "resize" {
				s.cfg.Logger.Debug("web UI terminal: ignored a text message that is no resize", "session", name)
				continue
			}
			if err := s.cfg.Resize(ctx, name, m.Rows, m.Cols); err != nil {
				s.cfg.Logger.Debug("web UI terminal: resize failed", "session", name, "err", err)
			}
		}
	}
}
