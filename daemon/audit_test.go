package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/proxy"
)

// writeAuditLines writes lines (JSON of proxy.AuditEntry, or raw text) to path.
func writeAuditLines(t *testing.T, path string, lines ...any) {
	t.Helper()
	var b bytes.Buffer
	for _, l := range lines {
		switch v := l.(type) {
		case string:
			b.WriteString(v)
		default:
			j, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(j)
		}
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func cut(s string, n int) string { return s[:min(len(s), n)] }

func entry(sess string, i int) proxy.AuditEntry {
	return proxy.AuditEntry{Time: time.Unix(int64(1000+i), 0).UTC(), Session: sess, Host: "api.anthropic.com:443",
		Method: "POST", Path: fmt.Sprintf("/v1/messages/%d", i), Status: 200, AuthInjected: true, Intercepted: true}
}

// TestReadAudit: one session's lines, newest first across the log and its
// rotations, other sessions' and broken lines skipped, the limit kept,
// an over-long line skipped without being held, the scan bounded.
func TestReadAudit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, proxy.AuditFile)
	// Oldest in .3, newest at the end of audit.jsonl.
	writeAuditLines(t, p+".3", entry("a", 1), entry("b", 2), entry("a", 3))
	writeAuditLines(t, p+".1", entry("a", 4), `{"session":"a", broken`, entry("ab", 5), entry("a", 6))
	writeAuditLines(t, p, entry("a", 7), `{"session":"a","path":"`+strings.Repeat("x", maxAuditLine+10)+`"}`, entry("b", 8), entry("a", 9))

	paths := func(es []api.AuditEntry) string {
		var out []string
		for _, e := range es {
			out = append(out, cut(strings.TrimPrefix(e.Path, "/v1/messages/"), 20))
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		name  string
		sess  string
		limit int
		want  string
	}{
		{"all of a", "a", 50, "9 7 6 4 3 1"},
		{"limited", "a", 3, "9 7 6"},
		{"another session", "b", 50, "8 2"},
		{"a prefix is not the session", "ab", 50, "5"},
		{"none", "c", 50, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, partial, err := readAudit(p, tc.sess, tc.limit)
			if err != nil || partial {
				t.Fatalf("readAudit: partial %v, %v", partial, err)
			}
			if paths(got) != tc.want {
				t.Errorf("got %q, want %q", paths(got), tc.want)
			}
			if got == nil {
				t.Error("no entries must be an empty list, not null")
			}
		})
	}

	// The wire type carries every field of the proxy's line.
	full := proxy.AuditEntry{Time: time.Unix(5, 0).UTC(), Session: "f", Host: "h:1", Method: "GET", Path: "/p", Status: 403,
		DurationMS: 7, BytesIn: 8, BytesOut: 9, AuthInjected: true, Intercepted: true, Error: "e", Addr: "1.2.3.4:5"}
	writeAuditLines(t, filepath.Join(dir, "full"), full)
	got, _, err := readAudit(filepath.Join(dir, "full"), "f", 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	a, _ := json.Marshal(full)
	b, _ := json.Marshal(got[0])
	var am, bm map[string]any
	json.Unmarshal(a, &am)
	json.Unmarshal(b, &bm)
	if !reflect.DeepEqual(am, bm) {
		t.Errorf("the wire entry lost fields:\n got %s\nwant %s", b, a)
	}
}

// TestReadAuditBounded: a log bigger than the scan budget is read from
// its end only, and the answer says it is partial.
func TestReadAuditBounded(t *testing.T) {
	p := filepath.Join(t.TempDir(), proxy.AuditFile)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := json.Marshal(entry("a", 0))
	f.Write(append(old, '\n'))
	filler, _ := json.Marshal(entry("other", 1))
	line := append(filler, '\n')
	for n := 0; n < maxAuditScan+auditChunk; n += len(line) {
		f.Write(line)
	}
	f.Close()
	got, partial, err := readAudit(p, "a", 10)
	if err != nil || len(got) != 0 || !partial {
		t.Errorf("got %d entries, partial %v, %v; want none, partial (the only line of a is past the budget)", len(got), partial, err)
	}
}

// TestAuditRoute: the route's limit bounds, an unknown session with no
// lines is a 404, a removed session's lines stay readable.
func TestAuditRoute(t *testing.T) {
	home := t.TempDir()
	d := startDaemon(t, home)
	c := &client.Client{Socket: d.Socket()}
	ctx := context.Background()
	var lines []any
	for i := range 60 {
		lines = append(lines, entry("gone", i))
	}
	writeAuditLines(t, filepath.Join(home, proxy.AuditFile+".1"), lines...)

	a, err := c.Audit(ctx, "gone", 0)
	if err != nil || len(a.Entries) != defaultAuditLimit || a.Entries[0].Path != "/v1/messages/59" || a.Session != "gone" {
		t.Errorf("default limit: %d entries, first %+v, %v", len(a.Entries), a.Entries, err)
	}
	if a, err = c.Audit(ctx, "gone", 2); err != nil || len(a.Entries) != 2 {
		t.Errorf("limit 2: %d %v", len(a.Entries), err)
	}
	if _, err := c.Audit(ctx, "gone", maxAuditLimit+1); !errors.Is(err, client.ErrBadRequest) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("limit above the maximum: %v", err)
	}
	if _, err := c.Audit(ctx, "nobody", 0); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
	if _, err := c.Audit(ctx, "Bad Name", 0); !errors.Is(err, client.ErrBadRequest) {
		t.Errorf("bad name: %v", err)
	}
}
