package proxy

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path"
	"strings"
)

// Usage is what one Messages API response said it used: its model and its
// token counts, as the API's usage object names them.
type Usage struct {
	Model            string
	InputTokens      int64
	OutputTokens     int64
	CacheWriteTokens int64 // cache_creation_input_tokens
	CacheReadTokens  int64 // cache_read_input_tokens
}

// apiUsage is the API's usage object.
type apiUsage struct {
	InputTokens      *int64 `json:"input_tokens"`
	OutputTokens     *int64 `json:"output_tokens"`
	CacheWriteTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadTokens  *int64 `json:"cache_read_input_tokens"`
}

// merge sets the counts a carries; message_delta's are cumulative, so a
// later figure replaces an earlier one.
func (u *Usage) merge(a *apiUsage) {
	if a == nil {
		return
	}
	set := func(dst *int64, v *int64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.InputTokens, a.InputTokens)
	set(&u.OutputTokens, a.OutputTokens)
	set(&u.CacheWriteTokens, a.CacheWriteTokens)
	set(&u.CacheReadTokens, a.CacheReadTokens)
}

// maxUsageJSON bounds the copy a JSON response's meter keeps: a Messages
// answer bigger than this is counted as a request without tokens.
const maxUsageJSON = 8 << 20

// maxSSELine bounds one SSE line the meter keeps; message_start and
// message_delta lines are small, a longer line is a content delta and is
// skipped.
const maxSSELine = 256 << 10

// usageMeter is an http.ResponseWriter that passes every write through at
// once and reads the usage from a copy on the side: whole JSON bodies (up
// to maxUsageJSON), or the SSE stream's message_start and message_delta
// events line by line.
type usageMeter struct {
	http.ResponseWriter
	status int
	kind   int // 0 undecided, 1 JSON, 2 SSE, 3 neither
	buf    []byte
	skip   bool // SSE: the current line is too long to matter
	usage  Usage
	seen   bool // some usage was read
	// total counts an SSE stream's bytes, and final says its message_delta
	// came: a stream cut before it is charged for what it carried.
	total int64
	final bool
	// pending is what an SSE stream wrote since the last flush: it is
	// read after the flush, so that parsing never delays an event.
	pending []byte
}

const (
	meterUndecided = iota
	meterJSON
	meterSSE
	meterNone
)

func (m *usageMeter) WriteHeader(code int) {
	if m.status == 0 && code >= 200 {
		m.status = code
	}
	m.ResponseWriter.WriteHeader(code)
}

func (m *usageMeter) Write(b []byte) (int, error) {
	n, err := m.ResponseWriter.Write(b)
	m.decide()
	if m.kind == meterSSE {
		m.total += int64(n)
		m.pending = append(m.pending, b[:n]...)
		if len(m.pending) > maxSSELine {
			m.drain() // a writer that does not flush: keep the copy small
		}
	} else {
		m.observe(b[:n])
	}
	return n, err
}

// Flush passes on to the client at once (ReverseProxy flushes SSE after
// every write), and only then reads what was written.
func (m *usageMeter) Flush() {
	_ = http.NewResponseController(m.ResponseWriter).Flush()
	m.drain()
}

// drain reads the SSE bytes written since the last flush.
func (m *usageMeter) drain() {
	if len(m.pending) > 0 {
		m.observe(m.pending)
		m.pending = m.pending[:0]
	}
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (m *usageMeter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// decide sets the kind of body from the response's status and type, at
// its first write.
func (m *usageMeter) decide() {
	if m.kind == meterUndecided {
		if m.status == 0 {
			m.status = http.StatusOK
		}
		ct := m.Header().Get("Content-Type")
		switch {
		case m.status != http.StatusOK:
			m.kind = meterNone
		case !identity(m.Header().Get("Content-Encoding")):
			m.kind = meterNone // not asked for (Accept-Encoding is removed)
		case strings.HasPrefix(ct, "text/event-stream"):
			m.kind = meterSSE
		case strings.HasPrefix(ct, "application/json"):
			m.kind = meterJSON
		default:
			m.kind = meterNone
		}
	}
}

func (m *usageMeter) observe(b []byte) {
	m.decide()
	switch m.kind {
	case meterJSON:
		if len(m.buf)+len(b) > maxUsageJSON {
			m.kind, m.buf = meterNone, nil
			return
		}
		m.buf = append(m.buf, b...)
	case meterSSE:
		for len(b) > 0 {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				m.keep(b)
				return
			}
			m.keep(b[:i])
			if !m.skip {
				m.sseLine(m.buf)
			}
			m.buf, m.skip = m.buf[:0], false
			b = b[i+1:]
		}
	}
}

// keep adds part of an SSE line to buf, unless the line is too long.
func (m *usageMeter) keep(b []byte) {
	if m.skip {
		return
	}
	if len(m.buf)+len(b) > maxSSELine {
		m.skip, m.buf = true, m.buf[:0]
		return
	}
	m.buf = append(m.buf, b...)
}

// sseLine reads one line of the stream; only data lines of the two events
// that carry usage are decoded.
func (m *usageMeter) sseLine(line []byte) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	data, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return
	}
	data = bytes.TrimLeft(data, " ")
	if !bytes.Contains(data, []byte(`"message_start"`)) && !bytes.Contains(data, []byte(`"message_delta"`)) {
		return
	}
	var ev struct {
		Type    string `json:"type"`
		Message struct {
			Model string    `json:"model"`
			Usage *apiUsage `json:"usage"`
		} `json:"message"`
		Usage *apiUsage `json:"usage"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return
	}
	switch ev.Type {
	case "message_start":
		if ev.Message.Model != "" {
			m.usage.Model = ev.Message.Model
		}
		if ev.Message.Usage != nil {
			m.usage.merge(ev.Message.Usage)
			m.seen = true
		}
	case "message_delta":
		if ev.Usage != nil {
			m.usage.merge(ev.Usage)
			m.seen, m.final = true, true
		}
	}
}

// result is the usage the response reported, once it is complete; ok is
// false when it reported none.
func (m *usageMeter) result() (Usage, bool) {
	m.drain()
	if m.kind == meterSSE && m.seen && !m.final {
		// Cut before its final count (a client that hung up once it had
		// the text): message_start's output figure is 1, while the tokens
		// it carried were billed. A token is at least a quarter of the
		// bytes that carried it, so this counts no less.
		m.usage.OutputTokens = max(m.usage.OutputTokens, m.total/4)
	}
	if m.kind == meterJSON {
		var msg struct {
			Model string    `json:"model"`
			Usage *apiUsage `json:"usage"`
		}
		if json.Unmarshal(m.buf, &msg) == nil && msg.Usage != nil {
			m.usage.Model = msg.Model
			m.usage.merge(msg.Usage)
			m.seen = true
		}
		m.buf = nil
	}
	return m.usage, m.seen
}

// metered reports whether r is a request whose answer's usage is counted:
// a Messages request, its path as the upstream may read it ("//v1/messages",
// "/v1/./messages/" too), so no spelling of it goes uncounted.
func metered(r *http.Request) bool {
	return r.Method == http.MethodPost && apiPath(r) == "/v1/messages"
}

// spends reports whether r may cost the user money, and so is refused once
// a budget is spent: anything but a read or a token count (Messages under
// any spelling, its batches, older completion endpoints, what comes next).
func spends(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return apiPath(r) != "/v1/messages/count_tokens"
}

// apiPath is r's path cleaned as a lenient server would read it.
func apiPath(r *http.Request) string {
	p := path.Clean("/" + r.URL.Path)
	return strings.TrimSuffix(p, "/")
}

// identity reports whether a Content-Encoding leaves the body as it is.
func identity(ce string) bool {
	return ce == "" || strings.EqualFold(ce, "identity")
}
