package client

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/session"
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
	_, err = c.Create(context.Background(), session.Options{Name: "x", Prompt: "p"})
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
