// Package client is the Go client of the clauderon daemon's LocalAPI, used by
// the CLI, the desktop app and the MCP server.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/config"
)

// SocketFile is the LocalAPI socket's name inside CLAUDERON_HOME.
const SocketFile = "clauderon.sock"

// Client talks to the daemon. The zero value uses $CLAUDERON_HOME/clauderon.sock.
type Client struct {
	// Socket is the daemon's unix socket; empty means the default.
	Socket string
	// Dial, when set, connects to the daemon instead of Socket (a test, or
	// an in-process caller with a net.Pipe).
	Dial func(ctx context.Context) (net.Conn, error)
	// Transport, when set, carries every request instead (an in-process
	// caller serving the daemon's handler directly); Dial and Socket are
	// then unused, and attach is not available.
	Transport http.RoundTripper

	once sync.Once
	sock string
	err  error
	hc   *http.Client
}

func (c *Client) init() error {
	c.once.Do(func() {
		c.sock = c.Socket
		if c.Transport != nil {
			c.hc = &http.Client{Transport: c.Transport}
			return
		}
		if c.sock == "" && c.Dial == nil {
			home, err := config.Home()
			if err != nil {
				c.err = err
				return
			}
			c.sock = filepath.Join(home, SocketFile)
		}
		c.hc = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return c.dial(ctx)
			},
			DisableCompression: true,
		}}
	})
	return c.err
}

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	if c.Dial != nil {
		conn, err := c.Dial(ctx)
		if err != nil {
			return nil, &DaemonUnreachableError{Socket: c.sock, Err: err}
		}
		return conn, nil
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.sock)
	if err != nil {
		return nil, &DaemonUnreachableError{Socket: c.sock, Err: err}
	}
	return conn, nil
}

// SocketPath returns the socket the client talks to.
func (c *Client) SocketPath() (string, error) {
	if err := c.init(); err != nil {
		return "", err
	}
	return c.sock, nil
}

// do sends a request and returns the response of a 2xx answer; any other
// answer becomes an *APIError.
func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://clauderon"+api.APIPrefix+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var du *DaemonUnreachableError
		if errors.As(err, &du) {
			return nil, du
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.lost(err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(b))
		if e.Error == "" {
			e.Error = resp.Status
		}
	}
	return &APIError{Status: resp.StatusCode, Code: e.Code, Message: e.Error}
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.do(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return c.lost(err)
	}
	return nil
}

// lost explains a connection to the daemon that broke after the request was
// sent: the daemon may well have done what was asked.
func (c *Client) lost(err error) error {
	return fmt.Errorf("the clauderon daemon at %s stopped answering (%w); what was asked may have happened all the same: check with `clauderon list`, and if the daemon is down, start it again (`clauderon daemon`): sessions survive it", c.sock, err)
}

func sessionPath(name string, rest string) string {
	return "/sessions/" + url.PathEscape(name) + rest
}

// Status describes the running daemon.
func (c *Client) Status(ctx context.Context) (api.DaemonStatus, error) {
	var s api.DaemonStatus
	return s, c.call(ctx, http.MethodGet, "/status", nil, &s)
}

// Create creates and starts a session.
func (c *Client) Create(ctx context.Context, o api.CreateSession) (api.Session, error) {
	var s api.Session
	return s, c.call(ctx, http.MethodPost, "/sessions", o, &s)
}

// List returns every session and the orphaned containers.
func (c *Client) List(ctx context.Context) (api.SessionList, error) {
	var l api.SessionList
	return l, c.call(ctx, http.MethodGet, "/sessions", nil, &l)
}

// Get returns one session.
func (c *Client) Get(ctx context.Context, name string) (api.Session, error) {
	var s api.Session
	return s, c.call(ctx, http.MethodGet, sessionPath(name, ""), nil, &s)
}

// Stop stops a session's container.
func (c *Client) Stop(ctx context.Context, name string) (api.Session, error) {
	var s api.Session
	return s, c.call(ctx, http.MethodPost, sessionPath(name, "/stop"), nil, &s)
}

// Continue gives a finished print session a further turn with prompt, in
// the same conversation and workspace, and returns it running: Wait for
// its result. It returns an error wrapping ErrState when the session
// cannot take one (running, interactive, failed, or on the bridge network).
func (c *Client) Continue(ctx context.Context, name, prompt string) (api.Session, error) {
	var s api.Session
	return s, c.call(ctx, http.MethodPost, sessionPath(name, "/continue"), api.Continue{Prompt: prompt}, &s)
}

// Start starts a stopped or exited interactive session's container again,
// its conversation continued; ErrState when it cannot (running, a print
// session, failed, on the bridge network).
func (c *Client) Start(ctx context.Context, name string) (api.Session, error) {
	var s api.Session
	return s, c.call(ctx, http.MethodPost, sessionPath(name, "/start"), nil, &s)
}

// Restart stops a running interactive session and starts it again, its
// conversation kept.
func (c *Client) Restart(ctx context.Context, name string) (api.Session, error) {
	var s api.Session
	return s, c.call(ctx, http.MethodPost, sessionPath(name, "/restart"), nil, &s)
}

// Remove deletes a session; force removes a running one, discard one whose
// workspace holds work that was never landed or applied.
func (c *Client) Remove(ctx context.Context, name string, force, discard bool) error {
	return c.remove(ctx, name, force, discard, false)
}

// RemoveTree deletes a session and the sessions it started, theirs too.
func (c *Client) RemoveTree(ctx context.Context, name string, force, discard bool) error {
	return c.remove(ctx, name, force, discard, true)
}

func (c *Client) remove(ctx context.Context, name string, force, discard, recursive bool) error {
	q := url.Values{}
	if recursive {
		q.Set("recursive", "1")
	}
	if force {
		q.Set("force", "1")
	}
	if discard {
		q.Set("discard", "1")
	}
	p := sessionPath(name, "")
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return c.call(ctx, http.MethodDelete, p, nil, nil)
}

// CreateWithProgress creates and starts a session, sending each progress
// line (checking the image, copying the workspace, …) to progress.
func (c *Client) CreateWithProgress(ctx context.Context, o api.CreateSession, progress func(string)) (api.Session, error) {
	resp, err := c.do(ctx, http.MethodPost, "/sessions?progress=1", o)
	if err != nil {
		return api.Session{}, err
	}
	defer resp.Body.Close()
	var s api.Session
	err = readProgress(resp.Body, progress, func(p api.Progress) error {
		if p.Session == nil {
			return errors.New("the daemon ended the create without the session")
		}
		s = *p.Session
		return nil
	})
	return s, err
}

// Diff returns the work in a session's workspace; with patches, each file's
// unified diff, up to maxBytes of them (0: the daemon's default).
func (c *Client) Diff(ctx context.Context, name string, patches bool, maxBytes int) (api.Diff, error) {
	q := url.Values{}
	if patches {
		q.Set("patch", "1")
	}
	if maxBytes > 0 {
		q.Set("max_bytes", strconv.Itoa(maxBytes))
	}
	p := sessionPath(name, "/diff")
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var d api.Diff
	return d, c.call(ctx, http.MethodGet, p, nil, &d)
}

// Land makes a session's work a branch of the user's repository.
func (c *Client) Land(ctx context.Context, name string, l api.Land) (api.BroughtBack, error) {
	var b api.BroughtBack
	return b, c.call(ctx, http.MethodPost, sessionPath(name, "/land"), l, &b)
}

// Egress reports a session's egress policy and its latest denials.
func (c *Client) Egress(ctx context.Context, name string) (api.EgressReport, error) {
	var r api.EgressReport
	return r, c.call(ctx, http.MethodGet, sessionPath(name, "/egress"), nil, &r)
}

// ChangeEgress adds hosts to a running or stopped session's allow list, or
// changes its mode, at once.
func (c *Client) ChangeEgress(ctx context.Context, name string, ch api.EgressChange) (api.EgressReport, error) {
	var r api.EgressReport
	return r, c.call(ctx, http.MethodPost, sessionPath(name, "/egress"), ch, &r)
}

// Apply writes a session's work into the user's working tree, uncommitted.
func (c *Client) Apply(ctx context.Context, name string, a api.Apply) (api.BroughtBack, error) {
	var b api.BroughtBack
	return b, c.call(ctx, http.MethodPost, sessionPath(name, "/apply"), a, &b)
}

// Wait blocks until the session has exited, failed or been deleted.
func (c *Client) Wait(ctx context.Context, name string) (api.Session, error) {
	var s api.Session
	return s, c.call(ctx, http.MethodGet, sessionPath(name, "/wait"), nil, &s)
}

// Logs returns the session's output; with follow, until it exits or ctx ends.
func (c *Client) Logs(ctx context.Context, name string, follow bool) (io.ReadCloser, error) {
	q := ""
	if follow {
		q = "?follow=1"
	}
	resp, err := c.do(ctx, http.MethodGet, sessionPath(name, "/logs"+q), nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Resize sets an interactive session's terminal size.
func (c *Client) Resize(ctx context.Context, name string, rows, cols uint) error {
	return c.call(ctx, http.MethodPost, sessionPath(name, "/resize"), api.Resize{Rows: rows, Cols: cols}, nil)
}

// Doctor runs the daemon's checks against image ("" means the default).
func (c *Client) Doctor(ctx context.Context, image string) (api.Doctor, error) {
	var d api.Doctor
	q := ""
	if image != "" {
		q = "?image=" + url.QueryEscape(image)
	}
	return d, c.call(ctx, http.MethodGet, "/doctor"+q, nil, &d)
}

// BuildImage builds the agent image, sending each progress line to progress.
func (c *Client) BuildImage(ctx context.Context, b api.BuildImage, progress func(string)) error {
	return c.stream(ctx, "/images/build", b, progress)
}

// PullImage pulls an image, sending each progress line to progress.
func (c *Client) PullImage(ctx context.Context, ref string, progress func(string)) error {
	return c.stream(ctx, "/images/pull", api.PullImage{Ref: ref}, progress)
}

func (c *Client) stream(ctx context.Context, path string, in any, progress func(string)) error {
	resp, err := c.do(ctx, http.MethodPost, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readProgress(resp.Body, progress, func(api.Progress) error { return nil })
}

// readProgress reads NDJSON progress lines until the last one, which done
// (or the error it carries) ends.
func readProgress(r io.Reader, progress func(string), done func(api.Progress) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var p api.Progress
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return fmt.Errorf("reading the daemon's progress: %w", err)
		}
		switch {
		case p.Error != "":
			st := p.Status
			if st == 0 {
				st = http.StatusInternalServerError
			}
			return &APIError{Status: st, Message: p.Error}
		case p.Done:
			return done(p)
		case progress != nil:
			progress(p.Line)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("the daemon ended the stream without saying whether it succeeded")
}
