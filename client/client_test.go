package client

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
)

// A daemon that dies after taking a request: the error says the request may
// have happened and where to look, not a bare EOF.
func TestDaemonLostMidRequest(t *testing.T) {
	sock := filepath.Join(t.TempDir(), SocketFile)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = http.ReadRequest(bufio.NewReader(conn)) // take it, then die
			conn.Close()
		}
	}()
	c := &Client{Socket: sock}
	_, err = c.Create(context.Background(), api.CreateSession{Name: "x", Prompt: "p"})
	var du *DaemonUnreachableError
	if err == nil || errors.As(err, &du) {
		t.Fatalf("err = %v, want a lost-daemon error", err)
	}
	for _, want := range []string{"stopped answering", "clauderon list", sock} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// No daemon at all is the other error, with how to start one.
	ln.Close()
	_, err = (&Client{Socket: filepath.Join(t.TempDir(), SocketFile)}).Status(context.Background())
	if !errors.As(err, &du) || !strings.Contains(err.Error(), "start it with `clauderon daemon`") {
		t.Errorf("no daemon: err = %v", err)
	}
}

// roundTrip answers every request with one canned response.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestErrorCodes: answers that share a status are told apart by their
// code, through errors.Is, over an injected Transport; and an injected Dial
// is used instead of the socket.
func TestErrorCodes(t *testing.T) {
	for _, tt := range []struct {
		status    int
		code      string
		is, isNot error
	}{
		{409, api.CodeExists, ErrExists, ErrState},
		{409, api.CodeState, ErrState, ErrExists},
		{409, api.CodeUnlanded, ErrUnlanded, ErrExists},
		{422, api.CodeImage, ErrImage, ErrNotFound},
		{404, api.CodeNotFound, ErrNotFound, ErrConflict},
	} {
		c := &Client{Transport: roundTrip(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: tt.status, Body: io.NopCloser(strings.NewReader(`{"error":"nope","code":"` + tt.code + `"}`)), Header: http.Header{}}, nil
		})}
		_, err := c.Get(context.Background(), "x")
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != tt.code || !errors.Is(err, tt.is) || errors.Is(err, tt.isNot) {
			t.Errorf("%d %s: %v (code %q); want errors.Is %v and not %v", tt.status, tt.code, err, ae.Code, tt.is, tt.isNot)
		}
		if tt.status == 409 && !errors.Is(err, ErrConflict) {
			t.Errorf("a 409 is no longer ErrConflict")
		}
	}
	dialed := false
	c := &Client{Dial: func(context.Context) (net.Conn, error) { dialed = true; return nil, errors.New("no daemon here") }}
	var du *DaemonUnreachableError
	if _, err := c.Get(context.Background(), "x"); !errors.As(err, &du) || !dialed {
		t.Errorf("an injected Dial: dialed %v, err %v", dialed, err)
	}
}
