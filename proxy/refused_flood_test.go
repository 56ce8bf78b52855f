package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRefusedFlood: refused requests through a real listener, with huge
// paths and with a canary token as their proxy credential, never push an
// authenticated line out of audit.jsonl and its rotations, however small
// the log; refused.jsonl counts every one of them, and no log holds the
// token.
func TestRefusedFlood(t *testing.T) {
	clk := newFakeClock() // stopped: the whole flood falls in one window
	audit := openTestAudit(t, 4<<10, clk)
	h := newHarness(t, canaryOAuth, withAudit(audit))
	c := h.defaultClient()
	const before = 5
	for i := range before {
		resp, body := do(t, c, newRequest(t, "GET", fmt.Sprintf("https://api.anthropic.com/echo/before-%d", i), nil, nil))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("authenticated request %d: %d %s", i, resp.StatusCode, body)
		}
	}

	cred := "Proxy-Authorization: Basic " + basic("sess-a", canaryOAuth2) + "\r\n"
	// Over the header budget: net/http answers 431 itself.
	huge := []byte("GET http://example.com/" + strings.Repeat("a", 1<<20) + " HTTP/1.1\r\nHost: example.com\r\n" + cred + "\r\n")
	// Within it: the proxy answers 407, and its line would be 1 KiB.
	long := []byte("GET http://example.com/" + strings.Repeat("b", 8<<10) + " HTTP/1.1\r\nHost: example.com\r\n" + cred + "\r\n")
	const flood = 1000
	statuses := make(chan int, 2*flood)
	var wg sync.WaitGroup
	work := make(chan []byte)
	for range 16 {
		wg.Go(func() {
			for req := range work {
				statuses <- sendRaw(t, h.addr, req)
			}
		})
	}
	for range flood {
		work <- huge
		work <- long
	}
	close(work)
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	// The client may see a reset instead of the 431 while it is still
	// sending a path the proxy stopped reading; it never sees anything else.
	if got[http.StatusProxyAuthRequired] != flood || got[http.StatusRequestHeaderFieldsTooLarge]+got[0] != flood {
		t.Errorf("the flood was answered %v, want %d 407s and %d 431s", got, flood, flood)
	}
	h.stop()
	if err := audit.Close(); err != nil {
		t.Fatal(err)
	}

	kept := map[string]bool{}
	for _, l := range logLines(t, audit.Path()) {
		if l["session"] == h.name {
			kept[l["path"].(string)] = true
		}
		if l["status"] == float64(407) || l["status"] == float64(431) {
			t.Errorf("a refused request in the audit log: %v", l)
		}
	}
	for i := range before {
		if p := fmt.Sprintf("/echo/before-%d", i); !kept[p] {
			t.Errorf("the authenticated line for %s is gone", p)
		}
	}
	refused := logLines(t, refusedPath(audit))
	if n := refusedCount(refused, 407); n != flood {
		t.Errorf("refused.jsonl accounts for %d 407s, want %d", n, flood)
	}
	if n := refusedCount(refused, 431); n != flood {
		t.Errorf("refused.jsonl accounts for %d 431s, want %d", n, flood)
	}
	var lines []string
	for _, l := range refused {
		lines = append(lines, describe(l))
	}
	if len(refused) != 2 || !strings.HasPrefix(lines[1], fmt.Sprintf("%d more refused requests from 127.0.0.1 in 0 s", 2*flood-1)) {
		t.Errorf("refused.jsonl:\n%s\nwant one line in full and one summary of the rest", strings.Join(lines, "\n"))
	}
	assertNoCanary(t, h, filepath.Dir(audit.Path()))
}

// sendRaw sends req on a connection of its own and returns the status of
// the answer, or 0 if the connection was reset first.
func sendRaw(t *testing.T, addr string, req []byte) int {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	// Written aside: the proxy stops reading a request it refuses, and
	// answers before the client is done sending.
	go conn.Write(req)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// assertNoCanary fails if the canary tokens are in any file under dir or
// the harness's proxy log.
func assertNoCanary(t *testing.T, h *harness, dirs ...string) {
	t.Helper()
	logs := map[string]string{"proxy log": h.logs.String()}
	for _, dir := range append(dirs, h.home) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			logs[f] = string(b)
		}
	}
	if len(logs) < 3 {
		t.Fatalf("found only %v to search", logs)
	}
	for what, s := range logs {
		for _, canary := range []string{canaryOAuth, canaryOAuth2, "CANARY", basic("sess-a", canaryOAuth2)} {
			if strings.Contains(s, canary) {
				t.Errorf("%s holds %s", what, canary)
			}
		}
	}
}
