package proxy

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openTestAudit opens an audit log in a fresh directory, timed by clk.
func openTestAudit(t *testing.T, maxBytes int64, clk *fakeClock) *Audit {
	t.Helper()
	a, err := openAudit(filepath.Join(t.TempDir(), AuditFile), maxBytes, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// withAudit has the harness's proxy write to a instead of its own log.
func withAudit(a *Audit) harnessOpt { return func(c *Config) { c.Audit = a } }

func refusedPath(a *Audit) string { return filepath.Join(filepath.Dir(a.Path()), RefusedFile) }

// logLines reads the lines of the log at path and of its rotations, oldest
// first.
func logLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i := auditKeep; i >= 0; i-- {
		p := path
		if i > 0 {
			p += "." + strconv.Itoa(i)
		}
		if _, err := os.Stat(p); err == nil {
			out = append(out, auditLines(t, p)...)
		}
	}
	return out
}

// refusedCount is how many requests with status the lines of refused.jsonl
// account for, in full and in summaries.
func refusedCount(lines []map[string]any, status int) int {
	n := 0
	for _, l := range lines {
		if _, ok := l["summary"]; !ok {
			if l["status"] == float64(status) {
				n++
			}
			continue
		}
		if s, ok := l["statuses"].(map[string]any); ok {
			c, _ := s[strconv.Itoa(status)].(float64)
			n += int(c)
		}
	}
	return n
}

// describe is a line of refused.jsonl in short: "ADDR STATUS" for a request
// in full, the summary and its count for a summary.
func describe(l map[string]any) string {
	if s, ok := l["summary"]; ok {
		return fmt.Sprintf("%v (count %v)", s, l["count"])
	}
	return fmt.Sprintf("%v %v", l["addr"], l["status"])
}

// TestRefusedFold: per client host, the first refused request of a window is
// written in full and the rest are one summary when the window ends, or
// when the log closes.
func TestRefusedFold(t *testing.T) {
	type req struct {
		at     time.Duration // since the start
		addr   string
		status int
	}
	const s = time.Second
	tests := []struct {
		name    string
		reqs    []req
		closeAt time.Duration
		want    []string
	}{
		{
			name:    "N in one window: one in full, one summary of N-1",
			reqs:    []req{{0, "10.0.0.1:1000", 407}, {1 * s, "10.0.0.1:1001", 407}, {2 * s, "10.0.0.1:1002", 407}, {9 * s, "10.0.0.1:1003", 407}, {9 * s, "10.0.0.1:1004", 407}},
			closeAt: 30 * s,
			want:    []string{"10.0.0.1:1000 407", "4 more refused requests from 10.0.0.1 in 10 s (count 4)"},
		},
		{
			name:    "a lone request has no summary",
			reqs:    []req{{0, "10.0.0.1:1000", 407}},
			closeAt: 30 * s,
			want:    []string{"10.0.0.1:1000 407"},
		},
		{
			name:    "a request after the window opens the next",
			reqs:    []req{{0, "10.0.0.1:1", 407}, {1 * s, "10.0.0.1:2", 407}, {10 * s, "10.0.0.1:3", 431}, {11 * s, "10.0.0.1:4", 431}, {12 * s, "10.0.0.1:5", 400}},
			closeAt: 30 * s,
			want: []string{
				"10.0.0.1:1 407", "1 more refused request from 10.0.0.1 in 10 s (count 1)",
				"10.0.0.1:3 431", "2 more refused requests from 10.0.0.1 in 10 s (count 2)",
			},
		},
		{
			name:    "hosts are counted apart",
			reqs:    []req{{0, "10.0.0.1:1", 407}, {0, "10.0.0.2:1", 407}, {1 * s, "10.0.0.2:2", 407}, {2 * s, "10.0.0.1:2", 407}, {3 * s, "10.0.0.2:3", 407}},
			closeAt: 30 * s,
			want: []string{
				"10.0.0.1:1 407", "10.0.0.2:1 407",
				"1 more refused request from 10.0.0.1 in 10 s (count 1)",
				"2 more refused requests from 10.0.0.2 in 10 s (count 2)",
			},
		},
		{
			name:    "close writes the summary of an open window",
			reqs:    []req{{0, "10.0.0.1:1", 407}, {1 * s, "10.0.0.1:2", 407}, {2 * s, "10.0.0.1:3", 407}},
			closeAt: 4 * s,
			want:    []string{"10.0.0.1:1 407", "2 more refused requests from 10.0.0.1 in 4 s (count 2)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			start := clk.now()
			a := openTestAudit(t, 0, clk)
			moveTo := func(at time.Duration) {
				clk.advance(start.Add(at).Sub(clk.now()))
				a.refused.sweep() // as the timer would, had it fired by now
			}
			for _, r := range tt.reqs {
				moveTo(r.at)
				if err := a.Record(AuditEntry{Time: clk.now(), Method: "GET", Status: r.status, Refused: true, Addr: r.addr}); err != nil {
					t.Fatal(err)
				}
			}
			moveTo(tt.closeAt)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range auditLines(t, refusedPath(a)) {
				got = append(got, describe(l))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("refused.jsonl:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if l := auditLines(t, a.Path()); len(l) != 0 {
				t.Errorf("refused requests in the audit log: %v", l)
			}
		})
	}
}

// TestRefusedManyHosts: past maxRefusedAddrs hosts with a window open, the
// others share one window, so the tracked hosts stay bounded.
func TestRefusedManyHosts(t *testing.T) {
	clk := newFakeClock()
	a := openTestAudit(t, 0, clk)
	const extra = 5
	for i := range maxRefusedAddrs + extra {
		addr := fmt.Sprintf("10.%d.%d.1:4000", i/256, i%256)
		if err := a.Record(AuditEntry{Time: clk.now(), Status: 407, Refused: true, Addr: addr}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(a.refused.windows); n > maxRefusedAddrs+1 {
		t.Errorf("%d windows open, want at most %d", n, maxRefusedAddrs+1)
	}
	clk.advance(refusedWindow)
	a.Close()
	lines := auditLines(t, refusedPath(a))
	if len(lines) != maxRefusedAddrs+2 {
		t.Fatalf("%d lines, want %d in full and one summary", len(lines), maxRefusedAddrs+1)
	}
	got, want := describe(lines[len(lines)-1]), fmt.Sprintf("%d more refused requests from other addresses in 10 s (count %d)", extra-1, extra-1)
	if got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

// TestRefusedSummaryCounts: a summary counts statuses and the session names
// the refused requests claimed.
func TestRefusedSummaryCounts(t *testing.T) {
	clk := newFakeClock()
	a := openTestAudit(t, 0, clk)
	for _, e := range []AuditEntry{
		{Status: 407, Session: "gone"}, {Status: 407, Session: "gone"}, {Status: 407, Session: "gone"},
		{Status: 407}, {Status: 431}, {Status: 400},
	} {
		e.Refused, e.Addr = true, "10.0.0.1:1"
		if err := a.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	lines := auditLines(t, refusedPath(a))
	if len(lines) != 2 {
		t.Fatalf("lines %v, want one in full and a summary", lines)
	}
	sum := lines[1]
	if got := fmt.Sprint(sum["statuses"], sum["sessions"]); got != "map[400:1 407:3 431:1] map[gone:2]" {
		t.Errorf("summary statuses and sessions %s", got)
	}
}
