package e2e

import (
	"bufio"
	"encoding/json"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
)

// completed runs the built binary's __complete as a shell's completion
// script does and returns the candidates, without their descriptions.
func completed(t *testing.T, home string, args ...string) []string {
	t.Helper()
	out := clOK(t, home, append([]string{"__complete"}, args...)...)
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, ":") {
			name, _, _ := strings.Cut(l, "\t")
			names = append(names, name)
		}
	}
	return names
}

// TestPolishAgainstDaemon: against a real daemon, completion offers the
// sessions' names; status shows the proxy port that --proxy-port 0 picked
// (the proxy answers there); a --json error is JSON with the daemon's
// code; and rm --json prints {"removed": [...]}.
func TestPolishAgainstDaemon(t *testing.T) {
	e := newSessionEnv(t)
	a, b := sname("pol-a"), sname("pol-b")
	for _, n := range []string{a, b} {
		clOK(t, e.home, "create", "--name", n, "--prompt", "hi", "--image", e.image, "--no-workdir")
	}

	for _, cmd := range []string{"attach", "logs", "stop", "rm", "diff", "land", "apply"} {
		if got := completed(t, e.home, cmd, ""); !slices.Equal(got, []string{a, b}) {
			t.Errorf("__complete %s '': %q, want %q", cmd, got, []string{a, b})
		}
	}
	if got := completed(t, e.home, "rm", a, ""); !slices.Equal(got, []string{b}) {
		t.Errorf("__complete rm %s '': %q, want only %s", a, got, b)
	}
	if got := completed(t, e.home, "attach", "pol-b"); !slices.Equal(got, []string{b}) {
		t.Errorf("__complete attach pol-b: %q, want %s", got, b)
	}

	out := clOK(t, e.home, "status", "--json")
	var st api.DaemonStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.ProxyPort == 0 || st.Home != e.home || len(st.ProxyAddrs) == 0 {
		t.Fatalf("status --json: %q (%v)", out, err)
	}
	if text := clOK(t, e.home, "status"); !strings.Contains(text, "port "+strconv.Itoa(st.ProxyPort)) || !strings.Contains(text, e.home) {
		t.Errorf("status: %q, want the port %d and the home", text, st.ProxyPort)
	}
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(st.ProxyPort)))
	if err != nil {
		t.Fatalf("nothing listens on the proxy port status shows: %v", err)
	}
	conn.Write([]byte("CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\n\r\n"))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if !strings.Contains(line, " 407 ") {
		t.Errorf("the proxy port answered %q, want the proxy's 407", line)
	}

	out, errOut, code := cl(t, e.home, "diff", "no-such-session", "--json")
	var je struct{ Error, Code string }
	if err := json.Unmarshal([]byte(errOut), &je); err != nil || code != 1 || out != "" || je.Code != api.CodeNotFound || !strings.Contains(je.Error, "no-such-session") {
		t.Errorf("diff of an unknown session --json: exit %d, stdout %q, stderr %q (%v)", code, out, errOut, err)
	}

	if out := clOK(t, e.home, "list"); strings.Contains(out, "\x1b") {
		t.Errorf("list piped has escapes: %q", out)
	}

	out = clOK(t, e.home, "rm", "--force", "--json", a, b)
	var rm map[string]any
	if err := json.Unmarshal([]byte(out), &rm); err != nil || len(rm) != 1 || !slices.Equal(toStrings(rm["removed"]), []string{a, b}) {
		t.Errorf("rm --json: %q (%v), want exactly {\"removed\": [%s, %s]}", out, err, a, b)
	}
	if got := completed(t, e.home, "attach", ""); len(got) != 0 {
		t.Errorf("after rm, __complete attach '': %q", got)
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
