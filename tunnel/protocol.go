// Package tunnel carries a cluster gateway's intercepted-host connections
// back to the daemon's proxy over one connection the daemon opens to the
// gateway (through a port-forward), multiplexed with yamux.
//
// The daemon is the yamux client and opens exactly one stream, the hello,
// naming the hosts its proxy intercepts. Every other stream is opened by
// the gateway, one per pod connection, and starts with a mode byte:
//
//   - ModeProxy ('P'): the pod's bytes follow, from its first request head
//     on, unread, both ways; the daemon serves them as any proxy listener's
//     connection.
//   - ModeAuthorize ('A'): the pod's CONNECT head follows; the daemon
//     answers one JSON Decision line and closes the stream. On OK the
//     gateway opens the blind tunnel itself, so its bytes never cross here,
//     and both keep the stream open while the tunnel lasts: the gateway
//     closes it when the tunnel ends, the daemon when the session's
//     credential is revoked, which cuts the tunnel as the proxy cuts its own.
//
// Nothing that crosses the tunnel is a credential the gateway keeps: the
// pod's Proxy-Authorization is read only by the daemon.
package tunnel

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/hashicorp/yamux"
)

// Stream modes: the first byte of every stream the gateway opens.
const (
	ModeProxy     byte = 'P'
	ModeAuthorize byte = 'A'
)

// Bounds of what is read from a peer before anyone has authenticated it:
// the same budget as the proxy's own listeners (proxy.PreAuthHeaderBytes).
const (
	MaxHeadBytes  = 16 << 10
	HeadTimeout   = 30 * time.Second
	maxHelloBytes = 64 << 10
	maxDecision   = 16 << 10
)

// ErrHeadTooLarge: a request head past MaxHeadBytes.
var ErrHeadTooLarge = errors.New("request head too large")

// Hello is what the daemon says first on a new tunnel.
type Hello struct {
	Version int `json:"v"`
	// Intercepted are the hosts the daemon's proxy intercepts (lower case,
	// no port): CONNECTs to them must reach it whole, as ModeProxy.
	Intercepted []string `json:"intercepted"`
}

// Decision is the daemon's answer to a ModeAuthorize stream.
type Decision struct {
	OK bool `json:"ok"`
	// Status and Message are what the pod is answered when !OK.
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	// Done, on the daemon's side, is closed when an allowed tunnel must
	// be cut (its session was revoked); nil when it never is.
	Done <-chan struct{} `json:"-"`
}

// writeJSONLine writes v as one line.
func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// readJSONLine reads one line of at most max bytes into v.
func readJSONLine(r io.Reader, max int, v any) error {
	br := bufio.NewReader(io.LimitReader(r, int64(max)+1))
	line, err := br.ReadBytes('\n')
	if err != nil {
		if len(line) > max {
			return fmt.Errorf("tunnel: a line over %d bytes", max)
		}
		return fmt.Errorf("tunnel: reading a line: %w", err)
	}
	return json.Unmarshal(line, v)
}

// WriteDecision answers a ModeAuthorize stream.
func WriteDecision(w io.Writer, d Decision) error { return writeJSONLine(w, d) }

// ReadDecision reads the daemon's answer to a ModeAuthorize stream.
func ReadDecision(r io.Reader) (Decision, error) {
	var d Decision
	err := readJSONLine(r, maxDecision, &d)
	return d, err
}

// ReadHead reads a request head (through the empty line) from br, at most
// max bytes, and returns its raw bytes and the parsed request. What follows
// the head stays in br.
func ReadHead(br *bufio.Reader, max int) ([]byte, *http.Request, error) {
	var head []byte
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if len(head) > max {
			return nil, nil, fmt.Errorf("%w: over %d bytes", ErrHeadTooLarge, max)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if len(line) <= 2 && (string(line) == "\n" || string(line) == "\r\n") && len(head) > len(line) {
			break
		}
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		return nil, nil, err
	}
	return head, req, nil
}

// muxConfig is both sides' yamux configuration.
func muxConfig() *yamux.Config {
	c := yamux.DefaultConfig()
	// A port-forward that dies silently must be noticed, so the daemon
	// redials and the gateway answers 503 instead of hanging pods.
	c.EnableKeepAlive = true
	c.KeepAliveInterval = 10 * time.Second
	// A half-closed stream lives as long as a proxy tunnel's half-close
	// grace (a minute), then a little.
	c.StreamCloseTimeout = 90 * time.Second
	// yamux logs only its own errors, but never to a stderr someone may
	// collect; callers log what matters.
	c.LogOutput = nil
	c.Logger = log.New(io.Discard, "", 0)
	return c
}
