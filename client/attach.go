package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/clauderon/clauderon/api"
)

// Attach connects to an interactive session's terminal: what is written goes
// to its stdin, what is read is its TTY output. Close detaches; the session
// keeps running.
func (c *Client) Attach(ctx context.Context, name string) (io.ReadWriteCloser, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	req, err := http.NewRequest(http.MethodPost, "http://clauderon"+api.APIPrefix+sessionPath(name, "/attach"), nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", api.UpgradeProto)
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clauderon daemon at %s: %w", c.sock, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("clauderon daemon at %s: %w", c.sock, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer conn.Close()
		return nil, readError(resp)
	}
	return &attached{Conn: conn, r: br}, nil
}

// attached reads through the buffered reader that may already hold output.
type attached struct {
	net.Conn
	r *bufio.Reader
}

func (a *attached) Read(p []byte) (int, error) { return a.r.Read(p) }

// CloseWrite closes the session's stdin side.
func (a *attached) CloseWrite() error {
	if cw, ok := a.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
