package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

// usageLog collects what Config.Usage is told.
type usageLog struct {
	mu  sync.Mutex
	got []Usage
	who []string
}

func newUsageLog() *usageLog { return &usageLog{} }

func (l *usageLog) add(session string, u Usage) {
	l.mu.Lock()
	l.got = append(l.got, u)
	l.who = append(l.who, session)
	l.mu.Unlock()
}

func (l *usageLog) all() ([]string, []Usage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.who...), append([]Usage(nil), l.got...)
}

func TestUsageReadFromAnswers(t *testing.T) {
	figures := fakeanthropic.Usage{Input: 1234, Output: 567, CacheWrite: 89, CacheRead: 4321}
	want := Usage{Model: "claude-test-1", InputTokens: 1234, OutputTokens: 567, CacheWriteTokens: 89, CacheReadTokens: 4321}
	for _, tc := range []struct {
		name   string
		stream bool
	}{{"json", false}, {"sse", true}} {
		t.Run(tc.name, func(t *testing.T) {
			log := newUsageLog()
			h := newHarness(t, canaryOAuth, func(c *Config) { c.Usage = log.add })
			h.fake.SetUsage(figures)
			body := `{"model":"claude-test-1","max_tokens":5,"messages":[]}`
			if tc.stream {
				body = `{"model":"claude-test-1","stream":true,"max_tokens":5,"messages":[]}`
			}
			resp, b := do(t, h.defaultClient(), newRequest(t, "POST", "https://api.anthropic.com/v1/messages", strings.NewReader(body), nil))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			// Other paths are not metered.
			do(t, h.defaultClient(), newRequest(t, "POST", "https://api.anthropic.com/v1/messages/count_tokens", strings.NewReader(body), nil))
			h.stop() // waits for the handlers, which report before they return
			who, got := log.all()
			if len(got) != 1 || got[0] != want || who[0] != h.name {
				t.Errorf("usage reported %v %+v, want one for %s: %+v", who, got, h.name, want)
			}
		})
	}
}

func TestUsageMeterSplitWrites(t *testing.T) {
	stream := "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m1\",\"usage\":{\"input_tokens\":7,\"cache_read_input_tokens\":3,\"output_tokens\":1}}}\r\n\r\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"" + strings.Repeat("x", maxSSELine+10) + "\"}}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":42}}\n\n"
	for _, size := range []int{1, 3, 64, len(stream)} {
		rec := &headerRecorder{h: http.Header{"Content-Type": {"text/event-stream"}}}
		m := &usageMeter{ResponseWriter: rec}
		for s := stream; len(s) > 0; {
			k := min(size, len(s))
			m.Write([]byte(s[:k]))
			s = s[k:]
		}
		got, ok := m.result()
		want := Usage{Model: "m1", InputTokens: 7, OutputTokens: 42, CacheReadTokens: 3}
		if !ok || got != want {
			t.Errorf("writes of %d: got %+v %v, want %+v", size, got, ok, want)
		}
		if rec.n != len(stream) {
			t.Errorf("writes of %d: passed on %d bytes, want %d", size, rec.n, len(stream))
		}
	}
	// An error answer reports nothing.
	m := &usageMeter{ResponseWriter: &headerRecorder{h: http.Header{"Content-Type": {"application/json"}}}}
	m.WriteHeader(529)
	m.Write([]byte(`{"type":"error","usage":{"input_tokens":5}}`))
	if u, ok := m.result(); ok {
		t.Errorf("a 529 reported %+v", u)
	}
}

type headerRecorder struct {
	h http.Header
	n int
}

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) WriteHeader(int)             {}
func (r *headerRecorder) Write(b []byte) (int, error) { r.n += len(b); return len(b), nil }

// With usage metered, the first SSE event still reaches the client before
// the fake sends the next.
func TestUsageSSENotDelayed(t *testing.T) {
	log := newUsageLog()
	h := newHarness(t, canaryOAuth, func(c *Config) { c.Usage = log.add })
	gate := make(chan struct{})
	h.fake.EventGate = gate
	t.Cleanup(func() { close(gate) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := newRequest(t, "POST", "https://api.anthropic.com/v1/messages",
		strings.NewReader(`{"model":"m","stream":true,"max_tokens":5,"messages":[]}`), nil)
	resp, err := h.defaultClient().Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	var names []string
	for {
		ev, err := readEvent(r)
		if err != nil {
			t.Fatalf("events so far %v, then: %v (does the meter hold the stream back?)", names, err)
		}
		names = append(names, ev)
		if ev == "message_stop" {
			break
		}
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
			t.Fatalf("fake never asked for event %d", len(names)+1)
		}
	}
	io.Copy(io.Discard, resp.Body)
	h.stop()
	if _, got := log.all(); len(got) != 1 || got[0].InputTokens != 10 || got[0].OutputTokens != 8 {
		t.Errorf("usage %+v, want 10 in, 8 out", got)
	}
}

func TestBudgetRefusesMessages(t *testing.T) {
	spent := errors.New("clauderon: session sess-a's budget of $0.01 is spent; raise it with `clauderon budget sess-a 0.02`")
	var mu sync.Mutex
	refuse := true
	h := newHarness(t, canaryOAuth, func(c *Config) {
		c.Budget = func(session string) error {
			mu.Lock()
			defer mu.Unlock()
			if refuse && session == "sess-a" {
				return spent
			}
			return nil
		}
	})
	body := `{"model":"m","max_tokens":5,"messages":[]}`
	resp, b := do(t, h.defaultClient(), newRequest(t, "POST", "https://api.anthropic.com/v1/messages", strings.NewReader(body), nil))
	if resp.StatusCode != http.StatusPaymentRequired || resp.Header.Get("X-Should-Retry") != "false" {
		t.Errorf("status %d, x-should-retry %q; want 402, false", resp.StatusCode, resp.Header.Get("X-Should-Retry"))
	}
	if kind, msg := errorMessage(t, b); kind != "billing_error" || msg != spent.Error() {
		t.Errorf("error %q %q, want billing_error %q", kind, msg, spent)
	}
	if n := len(h.fake.MessageRequests()); n != 0 {
		t.Errorf("the upstream saw %d requests", n)
	}
	if strings.Contains(string(b), canaryOAuth) {
		t.Error("the answer holds the credential")
	}
	// Other endpoints still pass.
	if resp, _ := do(t, h.defaultClient(), newRequest(t, "POST", "https://api.anthropic.com/v1/messages/count_tokens", strings.NewReader(body), nil)); resp.StatusCode != 200 {
		t.Errorf("count_tokens: %d", resp.StatusCode)
	}
	// Another spelling of Messages, or another endpoint that spends, is
	// refused too: the upstream may read it as Messages.
	before := len(h.fake.Requests())
	for _, p := range []string{"/v1/messages/", "//v1/messages", "/v1/./messages", "/v1/messages/batches", "/v1/complete"} {
		if resp, _ := do(t, h.defaultClient(), newRequest(t, "POST", "https://api.anthropic.com"+p, strings.NewReader(body), nil)); resp.StatusCode != http.StatusPaymentRequired {
			t.Errorf("POST %s with the budget spent: %d, want 402", p, resp.StatusCode)
		}
	}
	if n := len(h.fake.Requests()) - before; n != 0 {
		t.Errorf("the upstream saw %d requests of other spellings", n)
	}
	mu.Lock()
	refuse = false
	mu.Unlock()
	if resp, b := do(t, h.defaultClient(), newRequest(t, "POST", "https://api.anthropic.com/v1/messages", strings.NewReader(body), nil)); resp.StatusCode != 200 {
		t.Errorf("after the budget was raised: %d %s", resp.StatusCode, b)
	}
}

// TestUsageOfOtherSpellings: a Messages request spelled as a lenient
// server reads it is counted too.
func TestUsageOfOtherSpellings(t *testing.T) {
	for _, p := range []string{"/v1/messages", "/v1/messages/", "//v1/messages", "/v1/./messages"} {
		r := httptest.NewRequest("POST", "https://api.anthropic.com"+p, nil)
		if !metered(r) {
			t.Errorf("POST %s is not metered", p)
		}
	}
	for _, p := range []string{"/v1/messages/count_tokens", "/v1/models"} {
		if r := httptest.NewRequest("POST", "https://api.anthropic.com"+p, nil); metered(r) {
			t.Errorf("POST %s is metered", p)
		}
	}
	if r := httptest.NewRequest("GET", "https://api.anthropic.com/v1/messages", nil); metered(r) || spends(r) {
		t.Error("a GET is metered or spends")
	}
}

// A request that was streaming when its budget ran out finishes; the
// next one is refused.
func TestBudgetLetsStreamsFinish(t *testing.T) {
	var mu sync.Mutex
	spent := false
	h := newHarness(t, canaryOAuth, func(c *Config) {
		c.Budget = func(string) error {
			mu.Lock()
			defer mu.Unlock()
			if spent {
				return errors.New("clauderon: spent")
			}
			return nil
		}
	})
	gate := make(chan struct{})
	h.fake.EventGate = gate
	t.Cleanup(func() { close(gate) })
	body := `{"model":"m","stream":true,"max_tokens":5,"messages":[]}`
	resp, err := h.defaultClient().Do(newRequest(t, "POST", "https://api.anthropic.com/v1/messages", strings.NewReader(body), nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if ev, err := readEvent(r); err != nil || ev != "message_start" {
		t.Fatalf("first event %q, %v", ev, err)
	}
	mu.Lock()
	spent = true
	mu.Unlock()
	for {
		gate <- struct{}{}
		ev, err := readEvent(r)
		if err != nil {
			t.Fatalf("the stream broke after the budget ran out: %v", err)
		}
		if ev == "message_stop" {
			break
		}
	}
	if resp, _ := do(t, h.defaultClient(), newRequest(t, "POST", "https://api.anthropic.com/v1/messages", strings.NewReader(body), nil)); resp.StatusCode != http.StatusPaymentRequired {
		t.Errorf("the next request: %d, want 402", resp.StatusCode)
	}
}

// flushRecorder notes, at each flush, whether the meter had already read
// the bytes it is flushing.
type flushRecorder struct {
	headerRecorder
	m      *usageMeter
	parsed []bool
}

func (r *flushRecorder) Flush() { r.parsed = append(r.parsed, r.m.seen) }

// TestUsageMeterParsesAfterFlush: an SSE write reaches the client (its
// flush) before the meter parses it, so metering adds nothing to an
// event's time; the usage is read all the same, also when no flush comes.
func TestUsageMeterParsesAfterFlush(t *testing.T) {
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m1\",\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n"
	delta := "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":42}}\n\n"
	rec := &flushRecorder{headerRecorder: headerRecorder{h: http.Header{"Content-Type": {"text/event-stream"}}}}
	m := &usageMeter{ResponseWriter: rec}
	rec.m = m
	m.Write([]byte(start))
	m.Flush()
	if len(rec.parsed) != 1 || rec.parsed[0] {
		t.Errorf("at the first flush the meter had parsed the event already (%v): it delays the stream", rec.parsed)
	}
	if !m.seen || m.usage.Model != "m1" {
		t.Errorf("after the flush the meter has not read message_start: %+v", m.usage)
	}
	m.Write([]byte(delta)) // no flush: result reads it
	if got, ok := m.result(); !ok || got.OutputTokens != 42 || got.InputTokens != 7 {
		t.Errorf("result %+v %v, want 7 in, 42 out", got, ok)
	}
}

// TestMeteringCannotBeEvaded: while a session has budgets, a request that
// may spend but is not metered (batches, completions, a method or path the
// upstream might read leniently) is refused even before anything is spent;
// a metered request reaches the upstream without Accept-Encoding, so its
// answer is never compressed past the meter; a stream cut before its final
// count is charged for the bytes it carried.
func TestMeteringCannotBeEvaded(t *testing.T) {
	log := newUsageLog()
	h := newHarness(t, canaryOAuth, func(c *Config) {
		c.Usage = log.add
		c.Budget = func(string) error { return nil }
	})
	body := `{"model":"m","max_tokens":5,"messages":[]}`
	before := len(h.fake.Requests())
	for _, rq := range []struct{ method, path string }{
		{"POST", "/v1/messages/batches"}, {"POST", "/v1/complete"}, {"post", "/v1/messages"},
		{"POST", "/V1/messages"}, {"POST", "/v1/messages;x"}, {"PUT", "/v1/messages"},
	} {
		resp, b := do(t, h.defaultClient(), newRequest(t, rq.method, "https://api.anthropic.com"+rq.path, strings.NewReader(body), nil))
		if _, msg := errorMessage(t, b); resp.StatusCode != http.StatusPaymentRequired || !strings.Contains(msg, "only POST /v1/messages is metered") {
			t.Errorf("%s %s with budgets: %d %q; want 402, refused as unmetered", rq.method, rq.path, resp.StatusCode, msg)
		}
	}
	if n := len(h.fake.Requests()) - before; n != 0 {
		t.Errorf("the upstream saw %d unmetered spending requests", n)
	}
	for _, p := range []string{"/v1/messages/count_tokens"} {
		if resp, _ := do(t, h.defaultClient(), newRequest(t, "POST", "https://api.anthropic.com"+p, strings.NewReader(body), nil)); resp.StatusCode != 200 {
			t.Errorf("POST %s: %d, want it let through", p, resp.StatusCode)
		}
	}
	if resp, _ := do(t, h.defaultClient(), newRequest(t, "GET", "https://api.anthropic.com/v1/models", nil, nil)); resp.StatusCode == http.StatusPaymentRequired {
		t.Errorf("a GET was refused as spending")
	}

	// Accept-Encoding asked for by the client is not passed on.
	req := newRequest(t, "POST", "https://api.anthropic.com/v1/messages", strings.NewReader(body), nil)
	req.Header.Set("Accept-Encoding", "gzip, br")
	if resp, b := do(t, h.defaultClient(), req); resp.StatusCode != 200 {
		t.Fatalf("messages: %d %s", resp.StatusCode, b)
	}
	reqs := h.fake.MessageRequests()
	if ae := reqs[len(reqs)-1].Header.Get("Accept-Encoding"); ae != "" {
		t.Errorf("the upstream saw Accept-Encoding %q: it may compress the answer past the meter", ae)
	}

	// A compressed answer the meter cannot read reports nothing, and a
	// stream cut before message_delta is charged a quarter of its bytes.
	rec := &headerRecorder{h: http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}}
	m := &usageMeter{ResponseWriter: rec}
	m.Write([]byte("\x1f\x8b garbage"))
	if u, ok := m.result(); ok {
		t.Errorf("a gzip answer reported %+v", u)
	}
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m1\",\"usage\":{\"input_tokens\":1000,\"output_tokens\":1}}}\n\n"
	delta := "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + strings.Repeat("word ", 2000) + "\"}}\n\n"
	m = &usageMeter{ResponseWriter: &headerRecorder{h: http.Header{"Content-Type": {"text/event-stream"}}}}
	m.Write([]byte(start))
	m.Write([]byte(delta))
	u, ok := m.result()
	if want := int64(len(start)+len(delta)) / 4; !ok || u.InputTokens != 1000 || u.OutputTokens != want {
		t.Errorf("a cut stream: %+v %v; want 1000 in and %d out (a quarter of its bytes)", u, ok, want)
	}
}
