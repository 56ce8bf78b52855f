// Package fakeanthropic is a local stand-in for api.anthropic.com: a TLS
// server with its own CA that answers the Messages API (JSON and SSE) and
// records the credentials each request carried. Tests only.
package fakeanthropic

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultReply is the text the fake answers with.
const DefaultReply = "Hello from the fake Anthropic upstream."

// Turn is an answer to a Messages request: a text, or a tool call.
type Turn struct {
	Text    string
	ToolUse *ToolUse
}

// ToolUse is a tool call the fake makes.
type ToolUse struct {
	ID    string
	Name  string
	Input map[string]any
}

// Request is what the fake saw of one request.
type Request struct {
	Method        string
	Path          string
	Authorization string
	APIKey        string
	Beta          string
	ProxyAuth     string
	Header        http.Header
	Body          []byte
	Proto         string
}

// Server is a running fake upstream.
type Server struct {
	Addr   string         // 127.0.0.1:port
	CAFile string         // PEM of the CA that signed its certificate
	Roots  *x509.CertPool // the same CA, as a pool
	Reply  string         // text of every answer; DefaultReply if empty

	// EventGate, when set, is received from before each SSE event after the
	// first, so a test can check that event N arrived before N+1 is sent.
	EventGate chan struct{}

	respond func(body []byte) *Turn // see SetRespond; guarded by mu
	usage   *Usage                  // see SetUsage; guarded by mu

	srv  *httptest.Server
	mu   sync.Mutex
	reqs []Request
}

// Start runs a fake upstream on a loopback port whose certificate is valid
// for api.anthropic.com, localhost and 127.0.0.1. dir receives its CA file.
func Start(dir string) (*Server, error) { return StartAt(dir, "127.0.0.1:0") }

// StartAt is Start on the address addr, such as a bridge gateway's, for
// containers that reach the fake directly.
func StartAt(dir, addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ln.Close()
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fake anthropic test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "api.anthropic.com"},
		DNSNames:     []string{"api.anthropic.com", "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	caFile := filepath.Join(dir, "fake-anthropic-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)

	s := &Server{CAFile: caFile, Roots: roots}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.EnableHTTP2 = true
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{{
		Certificate: [][]byte{leafDER, caDER},
		PrivateKey:  leafKey,
	}}}
	s.srv.StartTLS()
	s.Addr = s.srv.Listener.Addr().String()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Requests returns a copy of every request seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// MessageRequests returns the requests made to /v1/messages.
func (s *Server) MessageRequests() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Path == "/v1/messages" {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) reply() string {
	if s.Reply != "" {
		return s.Reply
	}
	return DefaultReply
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{
		Method:        r.Method,
		Path:          r.URL.Path,
		Authorization: r.Header.Get("Authorization"),
		APIKey:        r.Header.Get("X-Api-Key"),
		Beta:          r.Header.Get("Anthropic-Beta"),
		ProxyAuth:     r.Header.Get("Proxy-Authorization"),
		Header:        r.Header.Clone(),
		Body:          body,
		Proto:         r.Proto,
	})
	s.mu.Unlock()

	switch {
	case r.URL.Path == "/v1/messages" && r.Method == http.MethodPost:
		s.messages(w, body)
	case r.URL.Path == "/v1/messages/count_tokens":
		writeJSON(w, map[string]any{"input_tokens": 10})
	case strings.HasPrefix(r.URL.Path, "/echo/"):
		// For proxy tests: repeat the headers the upstream received.
		writeJSON(w, map[string]any{"headers": r.Header, "path": r.URL.Path, "body_len": len(body)})
	case r.URL.Path == "/big":
		// For throughput: ?n=bytes of zeros.
		n := 0
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", fmt.Sprint(n))
		buf := make([]byte, 64<<10)
		for n > 0 {
			k := min(n, len(buf))
			if _, err := w.Write(buf[:k]); err != nil {
				return
			}
			n -= k
		}
	default:
		// Claude Code asks a few other endpoints at start-up (policy limits,
		// managed settings). A 404 is the real API's "nothing configured";
		// an empty 200 makes it retry with backoff.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "error",
			"error": map[string]any{"type": "not_found_error", "message": "not found"}})
	}
}

// SetRespond makes f pick the answer to each Messages request (its body as
// sent; a nil Turn is the usual text reply). f may be called concurrently.
func (s *Server) SetRespond(f func(body []byte) *Turn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = f
}

// Usage is the token counts every answer reports (see SetUsage).
type Usage struct {
	Input, Output, CacheWrite, CacheRead int64
}

// SetUsage makes every later answer report u: in a JSON answer's usage,
// and in SSE as the API does (message_start has the input and cache counts
// with 1 output token, message_delta the final output count). Without it
// answers report 10 input and 8 output tokens.
func (s *Server) SetUsage(u Usage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usage = &u
}

// usageFigures are the usage objects of a JSON answer, and of SSE's
// message_start and message_delta.
func (s *Server) usageFigures() (whole, start, delta map[string]any) {
	s.mu.Lock()
	u := s.usage
	s.mu.Unlock()
	if u == nil {
		return map[string]any{"input_tokens": 10, "output_tokens": 8},
			map[string]any{"input_tokens": 10, "output_tokens": 1},
			map[string]any{"output_tokens": 8}
	}
	whole = map[string]any{"input_tokens": u.Input, "output_tokens": u.Output,
		"cache_creation_input_tokens": u.CacheWrite, "cache_read_input_tokens": u.CacheRead}
	start = map[string]any{"input_tokens": u.Input, "output_tokens": 1,
		"cache_creation_input_tokens": u.CacheWrite, "cache_read_input_tokens": u.CacheRead}
	return whole, start, map[string]any{"output_tokens": u.Output}
}

// toolUse answers with one tool call, as JSON or as SSE.
func (s *Server) toolUse(w http.ResponseWriter, model, id string, stream bool, t *ToolUse) {
	if t.ID == "" {
		t.ID = fmt.Sprintf("toolu_fake_%d", time.Now().UnixNano())
	}
	input := t.Input
	if input == nil {
		input = map[string]any{}
	}
	usage, startUsage, deltaUsage := s.usageFigures()
	if !stream {
		writeJSON(w, map[string]any{
			"id": id, "type": "message", "role": "assistant", "model": model,
			"content":     []any{map[string]any{"type": "tool_use", "id": t.ID, "name": t.Name, "input": input}},
			"stop_reason": "tool_use", "stop_sequence": nil, "usage": usage,
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fl, _ := w.(http.Flusher)
	args, _ := json.Marshal(input)
	for _, ev := range []event{
		{"message_start", map[string]any{"type": "message_start", "message": map[string]any{
			"id": id, "type": "message", "role": "assistant", "model": model, "content": []any{},
			"stop_reason": nil, "stop_sequence": nil, "usage": startUsage}}},
		{"content_block_start", map[string]any{"type": "content_block_start", "index": 0,
			"content_block": map[string]any{"type": "tool_use", "id": t.ID, "name": t.Name, "input": map[string]any{}}}},
		{"content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "input_json_delta", "partial_json": string(args)}}},
		{"content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}},
		{"message_delta", map[string]any{"type": "message_delta",
			"delta": map[string]any{"stop_reason": "tool_use", "stop_sequence": nil},
			"usage": deltaUsage}},
		{"message_stop", map[string]any{"type": "message_stop"}},
	} {
		b, _ := json.Marshal(ev.data)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.name, b); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

type event struct {
	name string
	data map[string]any
}

func (s *Server) messages(w http.ResponseWriter, body []byte) {
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	_ = json.Unmarshal(body, &req)
	if req.Model == "" {
		req.Model = "claude-sonnet-4-5"
	}
	text := s.reply()
	var tool *ToolUse
	s.mu.Lock()
	respond := s.respond
	s.mu.Unlock()
	if respond != nil {
		if t := respond(body); t != nil {
			text, tool = t.Text, t.ToolUse
		}
	}
	id := fmt.Sprintf("msg_fake_%d", time.Now().UnixNano())
	usage, startUsage, deltaUsage := s.usageFigures()
	if tool != nil {
		s.toolUse(w, req.Model, id, req.Stream, tool)
		return
	}
	if !req.Stream {
		writeJSON(w, map[string]any{
			"id": id, "type": "message", "role": "assistant", "model": req.Model,
			"content":     []any{map[string]any{"type": "text", "text": text}},
			"stop_reason": "end_turn", "stop_sequence": nil, "usage": usage,
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fl, _ := w.(http.Flusher)
	events := []event{
		{"message_start", map[string]any{"type": "message_start", "message": map[string]any{
			"id": id, "type": "message", "role": "assistant", "model": req.Model, "content": []any{},
			"stop_reason": nil, "stop_sequence": nil, "usage": startUsage}}},
		{"content_block_start", map[string]any{"type": "content_block_start", "index": 0,
			"content_block": map[string]any{"type": "text", "text": ""}}},
	}
	for _, word := range strings.SplitAfter(text, " ") {
		events = append(events, event{"content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": word}}})
	}
	events = append(events,
		event{"content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}},
		event{"message_delta", map[string]any{"type": "message_delta",
			"delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil},
			"usage": deltaUsage}},
		event{"message_stop", map[string]any{"type": "message_stop"}},
	)
	for i, ev := range events {
		if i > 0 && s.EventGate != nil {
			<-s.EventGate
		}
		b, _ := json.Marshal(ev.data)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.name, b); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

// MessagesBody is the part of a Messages request body a Respond function
// looks at.
type MessagesBody struct {
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
}

// ParseMessages reads a Messages request body; a body it cannot read is
// empty.
func ParseMessages(body []byte) MessagesBody {
	var m MessagesBody
	_ = json.Unmarshal(body, &m)
	return m
}

// HasTool reports whether the request offers a tool named name.
func (m MessagesBody) HasTool(name string) bool {
	for _, t := range m.Tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// ToolResults are the texts of the tool results in the request's last
// user message.
func (m MessagesBody) ToolResults() []string {
	if len(m.Messages) == 0 {
		return nil
	}
	last := m.Messages[len(m.Messages)-1]
	var blocks []struct {
		Type    string          `json:"type"`
		Content json.RawMessage `json:"content"`
	}
	if last.Role != "user" || json.Unmarshal(last.Content, &blocks) != nil {
		return nil
	}
	var out []string
	for _, b := range blocks {
		if b.Type != "tool_result" {
			continue
		}
		var s string
		if json.Unmarshal(b.Content, &s) == nil {
			out = append(out, s)
			continue
		}
		var parts []struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(b.Content, &parts)
		var all []string
		for _, p := range parts {
			all = append(all, p.Text)
		}
		out = append(out, strings.Join(all, "\n"))
	}
	return out
}
