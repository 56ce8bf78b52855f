package proxy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAuditEntries(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	c := h.defaultClient()
	do(t, c, newRequest(t, "POST", "https://api.anthropic.com/v1/messages?beta=true&q=QUERYMARK", strings.NewReader(`{"model":"m"}`), nil))
	do(t, c, newRequest(t, "GET", "https://api.anthropic.com/echo/x?QUERYMARK=1", nil, nil))
	h.stop()

	b, _ := os.ReadFile(h.audit.Path())
	if strings.Contains(string(b), "QUERYMARK") {
		t.Errorf("audit log holds a query string:\n%s", b)
	}
	lines := auditLines(t, h.audit.Path())
	want := []string{"time", "session", "host", "method", "path", "status", "duration_ms", "bytes_in", "bytes_out", "auth_injected", "intercepted"}
	var msg, connect map[string]any
	for _, l := range lines {
		keys := make([]string, 0, len(l))
		for k := range l {
			keys = append(keys, k)
		}
		wantKeys := slices.Clone(want)
		if _, ok := l["error"]; ok {
			wantKeys = append(wantKeys, "error")
		}
		slices.Sort(keys)
		slices.Sort(wantKeys)
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("audit line keys %v, want %v", keys, wantKeys)
		}
		switch {
		case l["path"] == "/v1/messages":
			msg = l
		case l["method"] == "CONNECT":
			connect = l
		}
	}
	if msg == nil || connect == nil {
		t.Fatalf("want a line for the request and one for its tunnel, got %v", lines)
	}
	checks := []struct {
		field string
		got   any
		want  any
	}{
		{"session", msg["session"], h.name},
		{"host", msg["host"], "api.anthropic.com:443"},
		{"method", msg["method"], "POST"},
		{"status", msg["status"], float64(200)},
		{"auth_injected", msg["auth_injected"], true},
		{"intercepted", msg["intercepted"], true},
		{"bytes_in", msg["bytes_in"], float64(len(`{"model":"m"}`))},
		{"connect status", connect["status"], float64(200)},
		{"connect intercepted", connect["intercepted"], true},
		{"connect auth_injected", connect["auth_injected"], false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	if n, _ := msg["bytes_out"].(float64); n <= 0 {
		t.Errorf("bytes_out %v", msg["bytes_out"])
	}
	if _, err := time.Parse(time.RFC3339Nano, msg["time"].(string)); err != nil {
		t.Errorf("time %v: %v", msg["time"], err)
	}
	if fi, _ := os.Stat(h.audit.Path()); fi.Mode().Perm() != 0o600 {
		t.Errorf("audit mode %o, want 600", fi.Mode().Perm())
	}
}

func entry(i int) AuditEntry {
	return AuditEntry{Time: time.Now().UTC(), Session: "s", Host: "h:443", Method: "GET", Path: fmt.Sprint("/", i), Status: 200}
}

func TestAuditRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), AuditFile)
	const max = 600
	a, err := OpenAudit(path, max)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for i := range 60 {
		if err := a.Record(entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, p := range []string{path, path + ".1", path + ".2", path + ".3"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if fi.Size() > max {
			t.Errorf("%s is %d bytes, over %d", p, fi.Size(), max)
		}
		total += len(auditLines(t, p))
	}
	if _, err := os.Stat(path + ".4"); !os.IsNotExist(err) {
		t.Errorf("kept more than %d rotated files", auditKeep)
	}
	// The newest lines are in audit.jsonl, the oldest kept in .3.
	cur := auditLines(t, path)
	if cur[len(cur)-1]["path"] != "/59" {
		t.Errorf("last line %v", cur[len(cur)-1])
	}
	if total >= 60 || total < 4 {
		t.Errorf("%d lines kept", total)
	}
}

func TestAuditConcurrent(t *testing.T) {
	for _, max := range []int64{DefaultAuditMaxBytes, 2000} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), AuditFile)
			a, err := OpenAudit(path, max)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := range 50 {
						if err := a.Record(entry(w*1000 + i)); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			n := 0
			for _, p := range []string{path, path + ".1", path + ".2", path + ".3"} {
				if _, err := os.Stat(p); err == nil {
					n += len(auditLines(t, p)) // fails on any torn line
				}
			}
			if max == DefaultAuditMaxBytes && n != 400 {
				t.Errorf("%d lines, want 400", n)
			}
		})
	}
}

func TestAuditFollowsExternalRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), AuditFile)
	a, err := OpenAudit(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Record(entry(1))
	os.Rename(path, path+".old")
	a.Record(entry(2))
	if l := auditLines(t, path); len(l) != 1 || l[0]["path"] != "/2" {
		t.Errorf("after external rotation: %v", l)
	}
	a.Close()
	if err := a.Record(entry(3)); err == nil {
		t.Error("Record after Close succeeded")
	}
}

// TestAuditRotationAcrossProcesses: the daemon and `clauderon exec` each
// hold an Audit on the same file (here two in one process, each with its
// own descriptors, as two processes would). Rotating at the same moment
// must not shift a generation twice: with fewer lines than the kept files
// hold, every line survives, whole.
func TestAuditRotationAcrossProcesses(t *testing.T) {
	line, err := json.Marshal(entry(1000))
	if err != nil {
		t.Fatal(err)
	}
	// About 20 lines a file; 64 lines need 3 rotations, and 4 would need
	// over 70, so nothing is rotated away unless a rotation is doubled.
	max := int64(20 * (len(line) + 1))
	const writers, each = 2, 32
	for round := range 100 {
		path := filepath.Join(t.TempDir(), AuditFile)
		var audits []*Audit
		for range writers {
			a, err := OpenAudit(path, max)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			audits = append(audits, a)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w, a := range audits {
			wg.Go(func() {
				<-start
				for i := range each {
					if err := a.Record(entry(1000 + w*100 + i)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		seen := map[string]bool{}
		for _, p := range []string{path, path + ".1", path + ".2", path + ".3"} {
			if _, err := os.Stat(p); err != nil {
				continue
			}
			for _, l := range auditLines(t, p) { // fails on a torn line
				seen[l["path"].(string)] = true
			}
		}
		if len(seen) != writers*each {
			t.Fatalf("round %d: %d distinct lines kept, want %d", round, len(seen), writers*each)
		}
		if fi, err := os.Stat(path + ".lock"); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("lock file: %v, %v; want mode 600", fi, err)
		}
	}
}

// TestAuditBoundsFields: a huge path, host or error makes a line of bounded
// size, with a marker where a field was cut.
func TestAuditBoundsFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), AuditFile)
	a, err := OpenAudit(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("é", 1<<19) // 1 MiB of two-byte characters
	if err := a.Record(AuditEntry{Time: time.Now(), Session: huge, Host: huge, Method: huge, Path: "/" + huge, Error: huge, Status: 407}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 20<<10 {
		t.Errorf("an audit line of a request with 1 MiB fields is %d bytes", len(b))
	}
	var e AuditEntry
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(e.Path, "bytes cut]") || !utf8.ValidString(e.Path) || !strings.HasPrefix(e.Path, "/é") {
		t.Errorf("the cut path ends %q", e.Path[max(0, len(e.Path)-40):])
	}
}
