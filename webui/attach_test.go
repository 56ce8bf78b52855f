package webui

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// pipeStream is a fake TTY: the test holds the other end.
type pipeStream struct{ net.Conn }

// dialWS opens a terminal WebSocket as the page does: with the session
// token as a subprotocol (csrf "" offers none).
func (e *env) dialWS(t *testing.T, c *http.Client, csrf, name, origin string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	protos := []string{wsProtocol}
	if csrf != "" {
		protos = append(protos, tokenPrefix+csrf)
	}
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.base, "http")+"/ui/attach/"+name, &websocket.DialOptions{HTTPClient: c, HTTPHeader: h, Subprotocols: protos})
	if err == nil && ws.Subprotocol() != wsProtocol {
		t.Errorf("the server chose subprotocol %q, want %q (never the token)", ws.Subprotocol(), wsProtocol)
	}
	return ws, resp, err
}

func TestAttachRefusesForeignOrigin(t *testing.T) {
	e := setup(t)
	c, csrf := e.loggedIn(t)
	attached := false
	e.attach = func(string) (io.ReadWriteCloser, error) { attached = true; return nil, errors.New("unused") }
	for _, origin := range []string{"http://evil.com", "http://localhost:1", ""} {
		_, resp, err := e.dialWS(t, c, csrf, "s1", origin)
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: err %v resp %v, want a 403", origin, err, resp)
		}
	}
	// The right origin without the cookie.
	if _, resp, err := e.dialWS(t, http.DefaultClient, csrf, "s1", e.base); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no cookie: err %v resp %v, want a 401", err, resp)
	}
	// The cookie without the session token (a server on another port
	// that caught the cookie), or with a wrong one.
	for _, tok := range []string{"", "wrong"} {
		if _, resp, err := e.dialWS(t, c, tok, "s1", e.base); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("token %q: err %v resp %v, want a 403", tok, err, resp)
		}
	}
	if attached {
		t.Error("Attach was called for a refused WebSocket")
	}
}

func TestAttachError(t *testing.T) {
	e := setup(t)
	c, csrf := e.loggedIn(t)
	e.attach = func(name string) (io.ReadWriteCloser, error) {
		return nil, errors.New("session " + name + " runs in print mode")
	}
	_, resp, err := e.dialWS(t, c, csrf, "p1", e.base)
	if err == nil || resp == nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("err %v resp %v, want the LocalAPI's 409", err, resp)
	}
}

func TestAttachBridges(t *testing.T) {
	e := setup(t)
	c, csrf := e.loggedIn(t)
	tty, far := net.Pipe()
	got := make(chan string, 1)
	e.attach = func(name string) (io.ReadWriteCloser, error) { got <- name; return pipeStream{far}, nil }
	ws, _, err := e.dialWS(t, c, csrf, "i1", e.base)
	if err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != "i1" {
		t.Errorf("attached %q, want i1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Output of the TTY reaches the browser as binary.
	go tty.Write([]byte("hello \x1b[1mworld\x1b[0m"))
	typ, b, err := ws.Read(ctx)
	if err != nil || typ != websocket.MessageBinary || string(b) != "hello \x1b[1mworld\x1b[0m" {
		t.Fatalf("read %v %q %v", typ, b, err)
	}
	// Keystrokes reach the TTY.
	if err := ws.Write(ctx, websocket.MessageBinary, []byte("ls\r")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := io.ReadAtLeast(tty, buf, 3)
	if err != nil || string(buf[:n]) != "ls\r" {
		t.Fatalf("TTY got %q %v", buf[:n], err)
	}
	// A resize.
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"resize","cols":120,"rows":40}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case sz := <-e.resize:
		if sz != [2]uint{120, 40} {
			t.Errorf("resized to %v, want 120x40", sz)
		}
	case <-ctx.Done():
		t.Fatal("no resize")
	}
	// The session ends: the WebSocket closes normally, saying so.
	tty.Close()
	_, _, err = ws.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure || !strings.Contains(err.Error(), "session ended") {
		t.Errorf("after the TTY ended: %v, want close 1000 \"session ended\"", err)
	}
}

func TestDetachClosesStream(t *testing.T) {
	e := setup(t)
	c, csrf := e.loggedIn(t)
	tty, far := net.Pipe()
	e.attach = func(string) (io.ReadWriteCloser, error) { return pipeStream{far}, nil }
	ws, _, err := e.dialWS(t, c, csrf, "i1", e.base)
	if err != nil {
		t.Fatal(err)
	}
	ws.Close(websocket.StatusNormalClosure, "bye")
	// The server's side of the pipe is closed: reading ours ends.
	if _, err := io.ReadAll(tty); err != nil {
		t.Errorf("TTY end after detach: %v", err)
	}
}
